import { describe, expect, it } from 'vitest';
import type { RecentActivation, RequestDetails } from '../../src/services/approvals.js';
import { renderApprovalMessage } from '../../src/slack/approval-messages.js';

const NOW = new Date('2026-12-06T12:00:00Z');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

function details(recent: RecentActivation[], recentCount = recent.length): RequestDetails {
  return {
    activation: {
      id: '00000000-0000-4000-8000-000000000001',
      roleId: '00000000-0000-4000-8000-000000000002',
      userId: 'UREQUEST1',
      assignmentId: '00000000-0000-4000-8000-000000000003',
      status: 'pending_approval',
      requestedAt: NOW,
      startsAt: NOW,
      endsAt: new Date(NOW.getTime() + 60 * MINUTE),
      durationMinutes: 60,
      justification: 'INC-7',
      ticketSystem: null,
      ticketNumber: null,
      requestExpiresAt: null,
      nextReminderAt: null,
      remindersSent: 0,
      decidedBy: null,
      decidedAt: null,
      decisionReason: null,
      endedAt: null,
      endedBy: null,
    },
    roleName: 'Billing Administrator',
    approverIds: ['UAPPROVE1'],
    recent,
    recentCount,
  };
}

function ended(startsAgoMs: number, plannedMinutes: number, lastedMs: number, status: 'expired' | 'deactivated' = 'deactivated'): RecentActivation {
  const startsAt = new Date(NOW.getTime() - startsAgoMs);
  return {
    startsAt,
    endsAt: new Date(startsAt.getTime() + plannedMinutes * MINUTE),
    endedAt: new Date(startsAt.getTime() + lastedMs),
    durationMinutes: plannedMinutes,
    status,
  };
}

/** Reads the "Activations started" field of the rendered DM. */
function recentField(input: RequestDetails): string {
  const json = JSON.stringify(renderApprovalMessage(input).blocks);
  const match = /\*Activations started, last 30 days\*\\n([^"]*)"/.exec(json);
  if (match?.[1] === undefined) throw new Error(`no recent activations field in ${json}`);
  return match[1];
}

describe('approval DM recent activations', () => {
  it('says none when nothing started', () => {
    expect(recentField(details([]))).toBe('None');
  });

  it('uses the singular for one', () => {
    expect(recentField(details([ended(DAY, 120, 2 * 60 * MINUTE)]))).toMatch(/^1 activation: /);
  });

  it('shows the real length of an ended one', () => {
    const text = recentField(details([ended(DAY, 120, 3 * MINUTE)]));
    expect(text).toContain('(lasted 3 minutes)');
    expect(text).not.toContain('2 hours');
  });

  it('says under a minute for a short one', () => {
    expect(recentField(details([ended(DAY, 120, 20_000)]))).toContain('(lasted under a minute)');
  });

  it('caps a late expiry at the planned end', () => {
    expect(recentField(details([ended(DAY, 60, 61 * MINUTE, 'expired')]))).toContain('(lasted 1 hour)');
  });

  it('shows the planned duration while active', () => {
    const startsAt = new Date(NOW.getTime() - 10 * MINUTE);
    const active: RecentActivation = {
      startsAt,
      endsAt: new Date(startsAt.getTime() + 120 * MINUTE),
      endedAt: null,
      durationMinutes: 120,
      status: 'active',
    };
    expect(recentField(details([active]))).toContain('(active, 2 hours planned)');
  });

  it('counts those past the listed five', () => {
    const recent = Array.from({ length: 7 }, (_, index) => ended((index + 1) * DAY, 60, 30 * MINUTE));
    const text = recentField(details(recent, 60));
    expect(text).toMatch(/^60 activations: /);
    expect(text).toMatch(/, and 55 more$/);
  });
});

describe('cancelled request outcome', () => {
  const cancelledBy = (endedBy: string) => {
    const base = details([]);
    const rendered = renderApprovalMessage({ ...base, activation: { ...base.activation, status: 'cancelled', endedAt: NOW, endedBy } });
    return JSON.stringify(rendered.blocks);
  };

  it('names the requester', () => {
    expect(cancelledBy('UREQUEST1')).toContain('Cancelled by the requester');
  });

  it('names an administrator', () => {
    const text = cancelledBy('UADMIN001');
    expect(text).toContain('Cancelled by <@UADMIN001>');
    expect(text).not.toContain('eligibility');
  });

  it('mentions nobody for the system', () => {
    const text = cancelledBy('system');
    expect(text).toContain('Cancelled');
    expect(text).not.toContain('<@system>');
  });
});
