import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('without a bot token selects the sandbox', () => {
    const loaded = loadConfig({});

    expect(loaded).toMatchObject({ ok: true, mode: 'sandbox' });
  });

  it('sandbox keeps to its own database and Redis prefix', () => {
    const loaded = loadConfig({ DATABASE_URL: 'postgres://db.internal:5432/pim', PIM_REDIS_PREFIX: 'prod', PORT: '4000' });

    expect(loaded).toEqual({
      ok: true,
      mode: 'sandbox',
      config: {
        port: 4000,
        databaseUrl: 'postgres://db.internal:5432/pim_sandbox',
        redisUrl: 'redis://127.0.0.1:6379',
        redisPrefix: 'prod-sandbox',
        logLevel: 'info',
      },
    });
  });

  it('sandbox by default uses pim_sandbox', () => {
    const loaded = loadConfig({});

    if (!loaded.ok || loaded.mode !== 'sandbox') throw new Error('expected the sandbox configuration');
    expect(loaded.config.databaseUrl).toBe('postgres://localhost:5432/pim_sandbox');
  });

  it.each([
    ['SLACK_SIGNING_SECRET', 'secret'],
    ['SLACK_APP_TOKEN', 'xapp-1'],
    ['SLACK_API_URL', 'http://127.0.0.1:1/api/'],
    ['PIM_PROCESS', 'web'],
  ])(
    '%s without a bot token is a problem',
    (variable, value) => {
      const loaded = loadConfig({ [variable]: value });

      expect(loaded.ok).toBe(false);
      expect(loaded.ok ? [] : loaded.problems.join('\n')).toContain(`${variable}:`);
    },
  );

  it('with a bot token selects Slack and needs the signing secret', () => {
    const loaded = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' });

    expect(loaded.ok).toBe(false);
    expect(loaded.ok ? '' : loaded.problems.join('\n')).toContain('SLACK_SIGNING_SECRET: missing');
  });

  it('with a bot token and secret selects Slack', () => {
    const loaded = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' });

    expect(loaded).toMatchObject({ ok: true, mode: 'slack', config: { slack: { botToken: 'xoxb-1' } } });
  });

  it('uses prepared statements unless DATABASE_PREPARED_STATEMENTS is off', () => {
    const slack = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' };

    expect(loadConfig(slack)).toMatchObject({ ok: true, config: { databasePreparedStatements: true } });
    expect(loadConfig({ ...slack, DATABASE_PREPARED_STATEMENTS: 'off' })).toMatchObject({
      ok: true,
      config: { databasePreparedStatements: false },
    });
    const wrong = loadConfig({ ...slack, DATABASE_PREPARED_STATEMENTS: 'false' });
    expect(wrong.ok).toBe(false);
    expect(wrong.ok ? '' : wrong.problems.join('\n')).toContain('DATABASE_PREPARED_STATEMENTS: must be on or off');
  });
});
