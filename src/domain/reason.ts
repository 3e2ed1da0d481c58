/**
 * Characters that open and close a quoted segment in command text. Straight quotes may arrive
 * as curly ones when the operating system substitutes smart quotes. Apostrophes are excluded
 * because reasons contain them.
 */
export const QUOTE_CHARACTERS: ReadonlySet<string> = new Set(['"', '\u201C', '\u201D']);

/**
 * Returns true when `text` is missing or contains only whitespace and quote characters, as in
 * `""` or `“ ”`. Every rule that requires a reason or justification treats such text as missing.
 */
export function isBlankReason(text: string | null | undefined): boolean {
  if (text === null || text === undefined) return true;
  return [...text].every((character) => /\s/.test(character) || QUOTE_CHARACTERS.has(character));
}
