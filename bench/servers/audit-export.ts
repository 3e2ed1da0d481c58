/**
 * Runs `exportAuditCsv` of the events since `BENCH_EXPORT_SINCE` into a sink that counts bytes,
 * in a process of its own so its peak resident memory is the export's.
 */
import { Writable } from 'node:stream';
import { readMemory, sendToDriver, serveDriver } from '../support/ipc.js';

sendToDriver({ type: 'starting', atMs: Date.now() });
const { connectDatabase } = await import('../../db/client.js');
const { exportAuditCsv } = await import('../../src/services/audit-query.js');

const url = process.env.BENCH_DATABASE_URL;
const since = process.env.BENCH_EXPORT_SINCE;
if (url === undefined || since === undefined) throw new Error('BENCH_DATABASE_URL and BENCH_EXPORT_SINCE are set by bench/run.ts');
const database = connectDatabase(url, { maxConnections: 1 });
serveDriver(() => database.close());
sendToDriver({ type: 'ready', port: 0, atMs: Date.now() });

let bytes = 0;
let lineBreaks = 0;
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    bytes += chunk.length;
    for (const byte of chunk) if (byte === 0x0a) lineBreaks += 1;
    done();
  },
});
const rssBeforeBytes = readMemory().rssBytes;
const startedAt = performance.now();
await exportAuditCsv(database.sql, { since: new Date(since) }, sink);
const elapsedMs = performance.now() - startedAt;
// The header is one line; no seeded field contains a line break.
sendToDriver({
  type: 'result',
  result: { elapsedMs, bytes, rows: lineBreaks - 1, rssBeforeBytes, maxRssBytes: readMemory().maxRssBytes },
});
