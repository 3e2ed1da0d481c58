import type { z } from 'zod';
import type { UserError } from '../errors.js';

/**
 * Parses a value from a Slack payload that the clicking user can forge (a button value, a view's
 * `private_metadata`). A value that does not fit `schema` throws `error`, so the user gets a plain
 * message and the log a warning rather than an error with a reference id.
 */
export function parseClientValue<T>(schema: z.ZodType<T>, raw: unknown, error: UserError): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw error;
  return parsed.data;
}

/** Parses JSON text from a Slack payload like {@link parseClientValue}. Text that is not JSON throws `error` too. */
export function parseClientJson<T>(schema: z.ZodType<T>, raw: string | undefined, error: UserError): T {
  let value: unknown;
  try {
    value = JSON.parse(raw ?? '');
  } catch {
    throw error;
  }
  return parseClientValue(schema, value, error);
}
