import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { toBoltLogger, withoutPayload } from '../../src/slack/bolt-logger.js';

const PAYLOAD = '{"type":"view_submission","view":{"state":{"values":{"justification":{"value":{"value":"rotate the vault key"}}}}}}';

describe('withoutPayload', () => {
  const cases = [
    `http request body: {"channel":"C1","text":"rotate the vault key"}`,
    `http request result: {"ok":true,"message":{"text":"rotate the vault key"}}`,
    `Received a message on the WebSocket: ${PAYLOAD}`,
    `Unable to parse an incoming WebSocket message (will ignore): SyntaxError, ${PAYLOAD}`,
    `Sending a WebSocket message: {"envelope_id":"e1","payload":{"errors":{"reason":"rotate the vault key"}}}`,
    `Calling ack() - type: interactive, envelope_id: e1, data: {"response_action":"errors","errors":{"reason":"rotate the vault key"}}`,
  ];

  for (const message of cases) {
    it(`drops the payload of "${message.slice(0, 30)}"`, () => {
      const filtered = withoutPayload(message);
      expect(filtered).not.toContain('rotate the vault key');
      expect(filtered).toContain('[omitted');
    });
  }

  it('keeps messages without a payload', () => {
    expect(withoutPayload("apiCall('chat.postMessage') start")).toBe("apiCall('chat.postMessage') start");
    expect(withoutPayload('http request url: http://127.0.0.1/api/chat.postMessage')).toBe('http request url: http://127.0.0.1/api/chat.postMessage');
  });
});

describe('toBoltLogger', () => {
  it('writes debug lines without the payload', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = toBoltLogger(createLogger('debug', sink));
    logger.debug(`Received a message on the WebSocket: ${PAYLOAD}`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('Received a message on the WebSocket');
    expect(lines[0]).not.toContain('rotate the vault key');
  });
});
