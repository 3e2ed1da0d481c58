import { request as httpRequest } from 'node:http';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import { SANDBOX_PEOPLE, SECURITY_CHANNEL_ID } from '../../src/sandbox/seed.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/start.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { createTestEnvironment, TEST_REDIS_URL, type TestEnvironment } from '../support/harness.js';
import { listeningAddresses } from '../support/listening-sockets.js';

const ALEX = SANDBOX_PEOPLE.eligibleAdmin.id;
const MORGAN = SANDBOX_PEOPLE.manager.id;
const SAM = SANDBOX_PEOPLE.securityAnalyst.id;
// The browser's zone; dates in messages must be shown in it, whatever the server's zone is.
const BROWSER_TIME_ZONE = 'Asia/Tokyo';
const UI_TIMEOUT_MS = 10_000;
// expect.poll gives up after 1 s by default (vitest 4.1), too soon on a loaded machine, so the
// polls wait as long as the page's own waits.
const UI_POLL = { timeout: UI_TIMEOUT_MS };

let environment: TestEnvironment;
let sandbox: Sandbox;
let browser: TestBrowser;
let page: Page;

beforeAll(async () => {
  environment = createTestEnvironment();
  sandbox = await startSandbox(
    {
      port: 0,
      databaseUrl: environment.databaseUrl,
      redisUrl: TEST_REDIS_URL,
      redisPrefix: environment.redisPrefix,
      logLevel: 'silent',
    },
    systemClock,
    createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
  );
  browser = await launchBrowser({ timezoneId: BROWSER_TIME_ZONE });
  page = await browser.context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
});

afterAll(async () => {
  await browser?.close();
  await sandbox?.stop();
  await environment?.destroy();
});

async function openAs(userId: string, place: string): Promise<void> {
  await page.goto(`${sandbox.url}?as=${userId}&c=${place}`);
  await page.locator('#connection.live').waitFor();
}

async function typeCommand(text: string): Promise<void> {
  await page.locator('#composer-input').fill(text);
  await page.keyboard.press('Enter');
}

// Files a Global Administrator request from the Home tab's Activate button and the modal.
async function requestGlobalAdministrator(justification: string): Promise<void> {
  await openAs(ALEX, 'home');
  await page.locator('.home-view').waitFor();
  await page.locator('.block-section', { hasText: 'Global Administrator' }).getByRole('button', { name: 'Activate' }).click();
  await modal().waitFor();
  expect(await modal().locator('select').inputValue()).toBe('global-administrator');
  await modal().locator('[data-block-id="duration"] input').fill('2h');
  await modal().locator('[data-block-id="justification"] textarea').fill(justification);
  await modal().getByRole('button', { name: 'Activate' }).click();
  await expect.poll(() => page.locator('dialog.modal[open]').count(), UI_POLL).toBe(0);
}

function modal() {
  return page.locator('dialog.modal[open]');
}

describe('sandbox network', () => {
  it('binds the page and the app behind it to 127.0.0.1 only', async () => {
    const appPort = sandbox.runtime()?.port;
    if (appPort === undefined) throw new Error('the sandbox app is not running');

    expect(await listeningAddresses(sandbox.port)).toEqual(['127.0.0.1']);
    expect(await listeningAddresses(appPort)).toEqual(['127.0.0.1']);
  });

  it('rejects a Host that is not a loopback name', async () => {
    const port = sandbox.port;
    const rejected = [`attacker.example:${port}`, `localhost.attacker.example:${port}`, `127.0.0.1.nip.io:${port}`, `localhost:${port + 1}`, 'localhost'];
    for (const host of rejected) {
      const command = await sendWithHost(host, 'POST', '/sandbox/command', { userId: ALEX, channelId: 'C0GENERAL', text: 'status' });
      expect(command, host).toMatchObject({ status: 403, body: expect.stringContaining('Host must be localhost') });
      expect((await sendWithHost(host, 'GET', '/')).status, host).toBe(403);
      expect((await sendWithHost(host, 'POST', '/api/auth.test')).status, host).toBe(403);
    }
  });

  it('serves the page under each loopback name', async () => {
    for (const host of [`localhost:${sandbox.port}`, `127.0.0.1:${sandbox.port}`, `[::1]:${sandbox.port}`, `LocalHost:${sandbox.port}`]) {
      expect((await sendWithHost(host, 'GET', '/')).status, host).toBe(200);
    }
  });
});

// Sends a request to the sandbox on 127.0.0.1 with the given Host header, which node:http sends as given.
async function sendWithHost(host: string, method: string, path: string, body?: object): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port: sandbox.port,
        method,
        path,
        headers: { host, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
        timeout: UI_TIMEOUT_MS,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no reply to ${method} ${path} within ${UI_TIMEOUT_MS} ms`)));
    request.on('error', reject);
    request.end(payload);
  });
}

describe('sandbox page', () => {
  it('shows the seeded assignment DMs in the app messages', async () => {
    await openAs(ALEX, 'app');

    const messages = page.locator('.message');
    await expect.poll(() => messages.count(), UI_POLL).toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.locator('.messages').innerText(), UI_POLL).toContain('You are now eligible for Global Administrator');
    expect(await page.locator('.mention').first().innerText()).toBe('@Priya Raman');
  });

  it('opens the Home tab with an Activate button per eligible role', async () => {
    await openAs(ALEX, 'home');

    const home = page.locator('.home-view');
    await home.waitFor();
    expect(await home.innerText()).toContain('Global Administrator');
    expect(await home.locator('button', { hasText: 'Activate' }).count()).toBe(2);
  });

  it('answers a typed command with an ephemeral reply', async () => {
    await openAs(ALEX, 'C0GENERAL');
    await typeCommand('/pim status');

    const reply = page.locator('.message.ephemeral').last();
    await reply.waitFor();
    expect(await reply.innerText()).toContain('Only visible to you');
    expect(await reply.innerText()).toContain('Your privileged roles');
  });

  it('rejects a command other than /pim without calling the app', async () => {
    await openAs(ALEX, 'C0GENERAL');
    await typeCommand('/frobnicate now');

    await expect.poll(() => page.locator('#status').innerText(), UI_POLL).toContain('/frobnicate is not a valid command');
  });

  it('shows field errors from the app inside the modal', async () => {
    await openAs(ALEX, 'C0GENERAL');
    await typeCommand('/pim activate global 99h');

    await modal().waitFor();
    await modal().locator('textarea').fill('Check the error path');
    await modal().getByRole('button', { name: 'Activate' }).click();

    const error = modal().locator('[data-block-id="duration"] .input-error');
    await expect.poll(() => error.innerText(), UI_POLL).toContain('can be activated for at most 8 hours');
    await modal().getByRole('button', { name: 'Close' }).click();
    await modal().waitFor({ state: 'detached' }).catch(() => undefined);
    await expect.poll(() => page.locator('dialog.modal[open]').count(), UI_POLL).toBe(0);
  });

  it('activates a role without approval at once', async () => {
    await openAs(ALEX, 'C0GENERAL');
    await typeCommand('/pim activate billing 1h renew the subscriptions');

    const reply = page.locator('.message.ephemeral', { hasText: 'is active for 1 hour' });
    await reply.waitFor();
    expect(await reply.innerText()).toContain('Billing Administrator');
  });

  it('denies a request with the reason asked in the Deny modal', async () => {
    await requestGlobalAdministrator('Look at the audit settings');

    await openAs(MORGAN, 'app');
    const request = page.locator('.message', { hasText: 'Approval requested' }).last();
    await request.getByRole('button', { name: 'Deny' }).click();
    await modal().waitFor();
    await modal().getByRole('button', { name: 'Deny' }).click();
    await expect.poll(() => modal().locator('.input-error').first().innerText(), UI_POLL).toContain('required');
    await modal().locator('textarea').fill('Use the read-only role for audits');
    await modal().getByRole('button', { name: 'Deny' }).click();
    await expect.poll(() => page.locator('dialog.modal[open]').count(), UI_POLL).toBe(0);
    await expect.poll(() => request.innerText(), UI_POLL).toContain('Denied by @Morgan Lee');

    await openAs(ALEX, 'app');
    await page.locator('.message', { hasText: 'Use the read-only role for audits' }).waitFor();
  });

  it('activates Global Administrator once the manager approves', async () => {
    await requestGlobalAdministrator('Patch the production database');

    await openAs(MORGAN, 'app');
    const request = page.locator('.message', { hasText: 'Approval requested' }).last();
    expect(await request.innerText()).toContain('Patch the production database');
    await request.getByRole('button', { name: 'Approve' }).click();
    await page.locator('.message.ephemeral', { hasText: 'You approved' }).waitFor();
    await expect.poll(() => request.innerText(), UI_POLL).toContain('Approved by @Morgan Lee');
    expect(await request.getByRole('button', { name: 'Approve' }).count()).toBe(0);

    await openAs(ALEX, 'app');
    const dm = page.locator('.message', { hasText: 'is active for you until' }).filter({ hasText: 'Global Administrator' });
    await dm.waitFor();
    const date = dm.locator('.slack-date').first();
    const epoch = Number(await date.getAttribute('data-epoch'));
    expect(await date.innerText()).toContain(expectedTime(epoch, BROWSER_TIME_ZONE));

    await openAs(SAM, SECURITY_CHANNEL_ID);
    const post = page.locator('.message', { hasText: 'activated Global Administrator' });
    await post.waitFor();
    expect(await post.innerText()).toContain('@Alex Kim');
    expect(await post.innerText()).toContain('Patch the production database');
  });

  it('reset empties the conversations and seeds the story again', async () => {
    await openAs(ALEX, 'app');
    await page.getByRole('button', { name: 'Reset sandbox' }).click();
    await page.locator('#confirm-dialog').getByRole('button', { name: 'Reset' }).click();

    await expect.poll(() => page.locator('#status').innerText(), { timeout: 30_000 }).toContain('starts afresh');
    await expect.poll(() => page.locator('.messages').innerText(), UI_POLL).toContain('You are now eligible for Global Administrator');
    expect(await page.locator('.messages').innerText()).not.toContain('is active for you until');
    expect(await page.locator('.messages').innerText()).not.toContain('Use the read-only role for audits');
  });
});

// The time part of Slack's `{time}` token in a zone, as the page writes it.
function expectedTime(epochSeconds: number, timeZone: string): string {
  return new Date(epochSeconds * 1000).toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit', timeZone });
}
