import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { FakeSlack } from '../support/fake-slack.js';
import { createTestEnvironment, startTestApp, TestClock, type TestApp, type TestEnvironment } from '../support/harness.js';

// The app's clock starts 5 s ahead of PostgreSQL's, as on a host whose clock drifted.
const SKEW_MS = 5_000;

let environment: TestEnvironment;
let fake: FakeSlack;
let app: TestApp;
const clock = new TestClock();
const logLines: string[] = [];

beforeAll(async () => {
  environment = createTestEnvironment();
  fake = await FakeSlack.start();
  clock.offsetMs = SKEW_MS;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  app = await startTestApp({ environment, fake, clock, logger: createLogger('warn', sink) });
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await environment?.destroy();
});

async function readiness(): Promise<{ status: number; warnings: Record<string, string> }> {
  const response = await fetch(`${app.baseUrl}/readyz`);
  const body = (await response.json()) as { warnings: Record<string, string> };
  return { status: response.status, warnings: body.warnings };
}

describe('clock skew against PostgreSQL', () => {
  it('warns at start-up', () => {
    const warning = logLines.map((line) => JSON.parse(line) as { msg: string; clockSkewMs?: number }).find((line) => line.clockSkewMs !== undefined);
    expect(warning?.msg).toContain('5.0 s ahead of PostgreSQL');
    expect(warning?.clockSkewMs).toBeGreaterThan(4_000);
  });

  it('warns in readyz, still ready', async () => {
    const ahead = await readiness();
    expect(ahead.status).toBe(200);
    expect(ahead.warnings.clock).toContain('5.0 s ahead of');

    clock.offsetMs = -SKEW_MS;
    const behind = await readiness();
    expect(behind.warnings.clock).toContain('5.0 s behind');

    clock.offsetMs = 0;
    const synchronized = await readiness();
    expect(synchronized.warnings.clock).toBeUndefined();
  });
});
