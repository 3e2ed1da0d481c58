import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const SOURCE_FOLDER = fileURLToPath(new URL('../../src/', import.meta.url));
// An emoji code as message text writes it: `:name:` between whitespace, quotes, backticks or parentheses.
const EMOJI_CODE = /(?<=^|[\s`'"(]):([a-z0-9_+-]+):(?=[\s`'")]|$)/gm;

// Returns each emoji code in the app's TypeScript with the files that use it.
async function emojiCodesInSource(): Promise<Map<string, string[]>> {
  const codes = new Map<string, string[]>();
  const files = (await readdir(SOURCE_FOLDER, { recursive: true })).filter((file) => file.endsWith('.ts'));
  for (const file of files) {
    const text = await readFile(`${SOURCE_FOLDER}${file}`, 'utf8');
    for (const match of text.matchAll(EMOJI_CODE)) {
      const name = match[1] ?? '';
      codes.set(name, [...(codes.get(name) ?? []), file]);
    }
  }
  return codes;
}

describe('sandbox emoji table', () => {
  it('has every emoji the app uses', async () => {
    // The page is plain JavaScript with no type declarations, so it is loaded by URL.
    const page = (await import(pathToFileURL(`${SOURCE_FOLDER}sandbox/page/emoji.js`).href)) as { EMOJI: Record<string, string> };
    const codes = await emojiCodesInSource();

    expect(codes.size).toBeGreaterThan(5);
    const missing = [...codes].filter(([name]) => page.EMOJI[name] === undefined).map(([name, files]) => `:${name}: in ${files.join(', ')}`);
    expect(missing).toEqual([]);
  });
});
