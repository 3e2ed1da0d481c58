/**
 * Returns `value` with every string in it made storable in PostgreSQL: NUL characters, which
 * `text` and `jsonb` reject, and lone UTF-16 surrogates, which `jsonb` rejects, become U+FFFD.
 * Parts without such characters are returned as they are, so a request without them is not copied.
 */
export function withStorableText<T>(value: T): T {
  return storable(value) as T;
}

function storable(value: unknown): unknown {
  if (typeof value === 'string') return isStorable(value) ? value : value.replaceAll('\u0000', '\uFFFD').toWellFormed();
  if (Array.isArray(value)) {
    let changed = false;
    const items = value.map((item) => {
      const cleaned = storable(item);
      if (cleaned !== item) changed = true;
      return cleaned;
    });
    return changed ? items : value;
  }
  if (isPlainObject(value)) {
    let changed = false;
    const entries = Object.entries(value).map(([key, item]) => {
      const cleanedKey = storable(key) as string;
      const cleaned = storable(item);
      if (cleanedKey !== key || cleaned !== item) changed = true;
      return [cleanedKey, cleaned] as const;
    });
    return changed ? Object.fromEntries(entries) : value;
  }
  return value;
}

// A command's form body comes from `querystring.parse`, which makes objects without a prototype.
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isStorable(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}
