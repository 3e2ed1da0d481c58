import { describe, expect, it } from 'vitest';
import type { ActivationRow } from '../../src/services/activation-records.js';
import type { RequestDetails } from '../../src/services/approvals.js';
import { SYSTEM_ACTOR } from '../../src/services/audit.js';
import { REQUEST_CANCEL_ACTION } from '../../src/slack/notice-messages.js';
import { renderClosedRequestMessage } from '../../src/slack/requester-messages.js';

const NOW = new Date('2026-12-06T12:00:00Z');
const REQUESTER = 'UREQUEST1';
const APPROVER = 'UAPPROVE1';

function details(change: Partial<ActivationRow>): RequestDetails {
  return {
    activation: {
      id: '00000000-0000-4000-8000-000000000001',
      roleId: '00000000-0000-4000-8000-000000000002',
      userId: REQUESTER,
      assignmentId: '00000000-0000-4000-8000-000000000003',
      status: 'pending_approval',
      requestedAt: NOW,
      startsAt: NOW,
      endsAt: new Date(NOW.getTime() + 60 * 60_000),
      durationMinutes: 60,
      justification: 'INC-7',
      ticketSystem: null,
      ticketNumber: null,
      requestExpiresAt: new Date(NOW.getTime() + 24 * 60 * 60_000),
      nextReminderAt: null,
      remindersSent: 0,
      decidedBy: null,
      decidedAt: null,
      decisionReason: null,
      endedAt: null,
      endedBy: null,
      ...change,
    },
    roleName: 'Billing <Administrator>',
    approverIds: [APPROVER],
    recent: [],
    recentCount: 0,
  };
}

function render(change: Partial<ActivationRow>): { text: string; blocks: string } {
  const message = renderClosedRequestMessage(details(change));
  if (message === undefined) throw new Error(`no message for ${change.status ?? 'pending_approval'}`);
  return { text: message.text, blocks: JSON.stringify(message.blocks) };
}

describe('closed request message', () => {
  it('is undefined while the request is pending', () => {
    expect(renderClosedRequestMessage(details({}))).toBeUndefined();
  });

  it.each([
    ['active', { decidedBy: APPROVER, decidedAt: NOW }, `was approved by <@${APPROVER}>`],
    ['expired', { decidedBy: APPROVER, decidedAt: NOW }, `was approved by <@${APPROVER}>`],
    ['denied', { decidedBy: APPROVER, decidedAt: NOW, decisionReason: 'not now' }, `was denied by <@${APPROVER}>`],
    ['cancelled', { endedBy: REQUESTER, endedAt: NOW }, 'You cancelled your request for'],
    ['cancelled', { endedBy: APPROVER, endedAt: NOW }, `was cancelled by <@${APPROVER}>`],
    ['timed_out', { endedBy: SYSTEM_ACTOR, endedAt: NOW }, 'timed out'],
    ['failed', {}, 'could not be completed'],
  ] as const)('says %s %#', (status, change, outcome) => {
    const message = render({ status, ...change });
    expect(message.text).toContain(outcome);
    expect(message.blocks).not.toContain(REQUEST_CANCEL_ACTION);
    expect(message.blocks).not.toContain('"actions"');
  });

  it('escapes the role name and shows the decision time', () => {
    const message = render({ status: 'timed_out', endedBy: SYSTEM_ACTOR, endedAt: NOW });
    expect(message.text).toContain('*Billing &lt;Administrator&gt;*');
    expect(message.text).toContain(`<!date^${NOW.getTime() / 1000}^`);
  });

  it('names no user for a cancel by the system', () => {
    const message = render({ status: 'cancelled', endedBy: SYSTEM_ACTOR, endedAt: NOW });
    expect(message.text).toContain('*Billing &lt;Administrator&gt;* was cancelled <!date^');
    expect(message.text).not.toContain('<@');
  });
});
