// Patches postgres.js (npm package `postgres`, 3.4.x) after install, so that a Postgres restart
// during a transaction cannot crash slack-pim.
//
// The defect: `nextWrite` runs from a setImmediate after the connection closed and calls
// `socket.write` on `null`. The TypeError is thrown outside any promise, so it ends the process.
// A transaction whose connection dies sends ROLLBACK on that closed connection and triggers it.
// `closed()` also cancels a pending write without clearing `nextWriteTimer`, which leaves the
// connection unable to send its next start-up message after it reconnects.
// The upstream reports (github.com/porsager/postgres issues 1154 and 1208) were open when
// this was written; remove the script once a postgres.js release guards nextWrite.
//
// The patch makes a write on a closed connection reject its queries with CONNECTION_CLOSED,
// and resets the write buffer when the connection closes. It is idempotent, and it fails the
// install when the code it expects is missing, so a postgres.js upgrade gets a second look.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MARKER = '/* slack-pim: guarded nextWrite */';
const root = fileURLToPath(new URL('../node_modules/postgres/', import.meta.url));
const files = ['src/connection.js', 'cjs/src/connection.js', 'cf/src/connection.js'].map((file) => root + file);

const replacements = [
  {
    from: '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    to: [
      `  function nextWrite(fn) { ${MARKER}`,
      '    if (socket === null) {',
      '      nextWriteTimer !== null && clearImmediate(nextWriteTimer)',
      '      chunk = nextWriteTimer = null',
      "      error(Errors.connection('CONNECTION_CLOSED', options))",
      '      return false',
      '    }',
      '    const x = socket.write(chunk, fn)',
    ].join('\n'),
  },
  {
    from: '    clearImmediate(nextWriteTimer)\n    socket.removeListener(\'data\', data)\n    socket.removeListener(\'connect\', connected)\n    idleTimer.cancel()',
    to: "    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    socket.removeListener('data', data)\n    socket.removeListener('connect', connected)\n    idleTimer.cancel()",
  },
];

let patched = 0;
for (const file of files) {
  if (!existsSync(file)) continue;
  let source = readFileSync(file, 'utf8');
  if (source.includes(MARKER)) continue;
  for (const { from, to } of replacements) {
    if (!source.includes(from)) {
      process.stderr.write(`patch-postgres: ${file} does not contain the expected code; review scripts/patch-postgres.mjs for this postgres.js version\n`);
      process.exit(1);
    }
    source = source.replace(from, to);
  }
  writeFileSync(file, source);
  patched += 1;
}
if (patched > 0) process.stdout.write(`patch-postgres: guarded nextWrite in ${patched} file(s)\n`);
