import { describe, expect, it } from 'vitest';
import { withStorableText } from '../../src/slack/storable-text.js';

describe('withStorableText', () => {
  it('replaces NUL characters', () => {
    expect(withStorableText({ text: 'a\u0000b\u0000' })).toEqual({ text: 'a\uFFFDb\uFFFD' });
  });

  it('replaces lone surrogates', () => {
    expect(withStorableText(['x\uD800', '\uDC00y'])).toEqual(['x\uFFFD', '\uFFFDy']);
  });

  it('cleans nested values and keys', () => {
    const body = { view: { state: { values: { 'block\u0000': { input: { value: 'why\u0000' } } } } }, ok: 1 };
    expect(withStorableText(body)).toEqual({ view: { state: { values: { 'block\uFFFD': { input: { value: 'why\uFFFD' } } } } }, ok: 1 });
  });

  it('cleans objects without a prototype', () => {
    const form = Object.assign(Object.create(null) as Record<string, string>, { text: 'why\u0000' });
    expect(withStorableText(form)).toEqual({ text: 'why\uFFFD' });
  });

  it('returns clean input as it is', () => {
    const body = { text: 'activate billing 1h "ticket 42" \u{1F512}', list: [1, true, null, { a: 'b' }] };
    expect(withStorableText(body)).toBe(body);
  });

  it('copies only what changes', () => {
    const untouched = { a: 'b' };
    const cleaned = withStorableText({ untouched, text: '\u0000' });
    expect(cleaned.text).toBe('\uFFFD');
    expect(cleaned.untouched).toBe(untouched);
  });
});
