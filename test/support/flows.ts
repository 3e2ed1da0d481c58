/**
 * Steps that integration tests repeat against a running test app: a command and its reply, a
 * decision button and its reply, a role's settings, an activation's status.
 */
import { expect } from 'vitest';
import { DEFAULT_ROLE_SETTINGS, type RoleSettings } from '../../src/domain/role-settings.js';
import { listRoles } from '../../src/services/roles.js';
import { updateRoleSettings } from '../../src/services/role-settings.js';
import { messageText, replyTo, type TestApp } from './harness.js';

/** Sends `/pim <text>` as `userId` and returns the reply the app sent to its response URL. */
export async function commandReply(app: TestApp, userId: string, text: string): Promise<string> {
  const result = await app.sender.command(userId, text);
  expect(result.status).toBe(200);
  return replyTo(app.fake, result.responseUrl);
}

/** Clicks a decision button (Approve, Deny, Cancel) of a request and returns the reply to the click. */
export async function decisionReply(app: TestApp, userId: string, actionId: string, activationId: string): Promise<string> {
  const result = await app.sender.action(userId, { actionId, value: activationId, blockId: `decide:${activationId}`, actionType: 'button' });
  expect(result.status).toBe(200);
  const call = await app.fake.waitFor('response_url', (candidate) => candidate.url === result.responseUrl);
  return messageText(call.body);
}

/** Changes the settings of the role whose slug starts with `slug`, as `actorId`, keeping the rest. */
export async function configureRole(app: TestApp, actorId: string, slug: string, change: Partial<RoleSettings>): Promise<void> {
  const role = (await listRoles(app.runtime.context.db)).find((candidate) => candidate.slug.startsWith(slug));
  if (role === undefined) throw new Error(`no role ${slug}`);
  await updateRoleSettings(app.runtime.context, {
    actorId,
    roleId: role.id,
    settings: { ...DEFAULT_ROLE_SETTINGS, ...role.settings, ...change },
  });
}

/** Reads an activation's or request's status, or `undefined` when there is no such row. */
export async function activationStatus(app: TestApp, activationId: string): Promise<string | undefined> {
  const [row] = await app.sql<{ status: string }[]>`select status from activations where id = ${activationId}`;
  return row?.status;
}
