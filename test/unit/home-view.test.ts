import { describe, expect, it } from 'vitest';
import { DEFAULT_ROLE_SETTINGS } from '../../src/domain/role-settings.js';
import type { AdminDashboard, Dashboard } from '../../src/services/dashboard.js';
import type { RoleSummary } from '../../src/services/roles.js';
import { buildRolesModal } from '../../src/slack/admin/roles-modal.js';
import { buildRolePage } from '../../src/slack/admin/role-page.js';
import { VIEW_BLOCK_LIMIT } from '../../src/slack/blocks.js';
import { HOME_ACTIONS } from '../../src/slack/home/actions.js';
import { buildListModal } from '../../src/slack/home/list-modal.js';
import { buildHomeView } from '../../src/slack/home/view.js';
import { APPROVE_ACTION } from '../../src/slack/approval-messages.js';
import { REQUEST_CANCEL_ACTION } from '../../src/slack/notice-messages.js';

const NOW = new Date('2026-03-01T12:00:00Z');

function role(index: number): RoleSummary {
  return {
    id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
    slug: `role-${index}`,
    name: `Role ${index}`,
    description: '',
    builtin: false,
    settings: DEFAULT_ROLE_SETTINGS,
    eligibleCount: index % 3,
    activeCount: index % 2,
    permanentCount: 0,
  };
}

function entry(index: number) {
  return { roleId: role(index).id, roleSlug: `role-${index}`, roleName: `Role ${index}`, endsAt: null };
}

function dashboard(overrides: Partial<Dashboard> = {}): Dashboard {
  return {
    userId: 'UVIEWER',
    now: NOW,
    status: { eligible: [], active: [], pending: [] },
    approvals: [],
    uncheckedApprovals: undefined,
    reviewItems: [],
    admin: undefined,
    ...overrides,
  };
}

function admin(overrides: Partial<AdminDashboard> = {}): AdminDashboard {
  return {
    canChange: true,
    roles: [role(1), role(2)],
    alerts: [],
    reviews: [],
    recentActivationCount: 0,
    recentActivations: [],
    deactivatedHolders: [],
    securityChannelProblem: undefined,
    failedDeliveries: 0,
    ...overrides,
  };
}

function text(view: { blocks: unknown[] }): string {
  return JSON.stringify(view.blocks);
}

function request(index: number) {
  const id = `10000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
  return {
    roleName: 'Billing Administrator',
    activation: {
      id,
      userId: `UREQ${index}`,
      roleId: role(1).id,
      assignmentId: id,
      status: 'pending_approval' as const,
      requestedAt: NOW,
      startsAt: NOW,
      endsAt: NOW,
      durationMinutes: 60,
      justification: 'INC-1',
      ticketSystem: null,
      ticketNumber: null,
      requestExpiresAt: NOW,
      nextReminderAt: null,
      remindersSent: 0,
      decidedBy: null,
      decidedAt: null,
      decisionReason: null,
      endedAt: null,
      endedBy: null,
    },
  };
}

describe('home view', () => {
  it('shows an eligible user Activate buttons and no administration', () => {
    const view = buildHomeView(dashboard({ status: { eligible: [entry(1)], active: [], pending: [] } }));
    expect(text(view)).toContain(HOME_ACTIONS.activate);
    expect(text(view)).toContain('role-1');
    expect(text(view)).not.toContain('Administration');
  });

  it('shows active roles with end times and Deactivate, pending with Cancel', () => {
    const view = buildHomeView(
      dashboard({
        status: {
          eligible: [],
          active: [{ ...entry(2), endsAt: NOW, source: 'activation', activationId: 'a1' }],
          pending: [{ ...entry(3), requestedAt: NOW, activationId: 'p1' }],
        },
      }),
    );
    expect(text(view)).toContain(HOME_ACTIONS.deactivate);
    expect(text(view)).toContain('<!date^');
    expect(text(view)).toContain(REQUEST_CANCEL_ACTION);
  });

  it('shows an approver the requests with Approve and Deny', () => {
    const view = buildHomeView(dashboard({ approvals: [request(1)] }));
    expect(text(view)).toContain(APPROVE_ACTION);
    expect(text(view)).toContain('Requests waiting for you');
  });

  it('shows a reviewer the review items waiting', () => {
    const view = buildHomeView(
      dashboard({ reviewItems: [{ reviewId: 'r1', reviewName: 'Q1 review', subjectUserId: 'UBOB', roleName: 'Role 1', endsAt: NOW }] }),
    );
    expect(text(view)).toContain('Access review decisions waiting for you');
  });

  it('gives a PRA the role table and admin buttons', () => {
    const view = buildHomeView(dashboard({ admin: admin() }));
    expect(text(view)).toContain('Administration');
    expect(text(view)).toContain(HOME_ACTIONS.createRole);
    expect(text(view)).toContain(HOME_ACTIONS.openRole);
    expect(text(view)).toContain('Open alerts');
    expect(text(view)).toContain('Ongoing access reviews');
    expect(text(view)).toContain('Activations in the last 7 days');
  });

  it('gives a Security Administrator the table without admin buttons', () => {
    const view = buildHomeView(dashboard({ admin: admin({ canChange: false }) }));
    expect(text(view)).toContain(HOME_ACTIONS.openRole);
    expect(text(view)).not.toContain(HOME_ACTIONS.createRole);
    expect(text(view)).toContain('change nothing except alerts');
  });

  it('flags deactivated users who still hold roles', () => {
    const view = buildHomeView(dashboard({ admin: admin({ deactivatedHolders: [{ userId: 'UGONE', roleNames: ['Role 1'] }] }) }));
    expect(text(view)).toContain('Deactivated Slack users');
    expect(text(view)).toContain('<@UGONE>');
  });

  it('stays within 100 blocks for a PRA with 500 roles and long lists', () => {
    const many = Array.from({ length: 500 }, (_, index) => index);
    const view = buildHomeView(
      dashboard({
        status: {
          eligible: many.map(entry),
          active: many.map((index) => ({ ...entry(index), source: 'activation' as const, activationId: `a${index}` })),
          pending: many.map((index) => ({ ...entry(index), requestedAt: NOW, activationId: `p${index}` })),
        },
        approvals: many.slice(0, 50).map(request),
        reviewItems: many.map((index) => ({ reviewId: `r${index}`, reviewName: 'Q1', subjectUserId: 'UBOB', roleName: 'Role', endsAt: NOW })),
        admin: admin({
          roles: many.map(role),
          alerts: many.map((index) => ({ id: `al${index}`, title: 'Too many admins', raisedAt: NOW })),
          reviews: many.map((index) => ({ id: `rv${index}`, name: 'Q1', endsAt: NOW, undecidedCount: 3 })),
          deactivatedHolders: many.map((index) => ({ userId: `UGONE${index}`, roleNames: ['Role 1'] })),
        }),
      }),
    );
    expect(view.blocks.length).toBeLessThanOrEqual(VIEW_BLOCK_LIMIT);
    expect(text(view)).toContain('All 500 roles');
    expect(text(view)).toContain('490 more roles not shown here');
    expect(text(view)).toContain('Show all 500');
    expect(text(view)).not.toContain('do not fit here');
  });
});

describe('paged modals', () => {
  it('role table pages stay within 100 blocks and page to the end', () => {
    const roles = Array.from({ length: 500 }, (_, index) => role(index));
    const first = buildRolesModal(roles, 0);
    const last = buildRolesModal(roles, 99);
    expect(first.blocks.length).toBeLessThanOrEqual(VIEW_BLOCK_LIMIT);
    expect(text(first)).toContain('Page 1 of 13');
    expect(text(last)).toContain('Page 13 of 13');
    expect(text(last)).toContain('Role 499');
  });

  it('role page lists holders with who assigned them, read-only for Security Administrators', () => {
    const holders = Array.from({ length: 120 }, (_, index) => ({
      userId: `UH${index}`,
      kind: 'eligible' as const,
      source: 'assignment' as const,
      assignmentId: `20000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      startsAt: NOW,
      endsAt: null,
      assignedBy: 'UADMIN',
    }));
    const editable = buildRolePage(role(1), holders, { canChange: true, page: 0 });
    const readOnly = buildRolePage(role(1), holders, { canChange: false, page: 2 });
    expect(editable.blocks.length).toBeLessThanOrEqual(VIEW_BLOCK_LIMIT);
    expect(text(editable)).toContain('assigned by <@UADMIN>');
    expect(text(editable)).toContain('role_holder_menu');
    expect(text(readOnly)).not.toContain('role_holder_menu');
    expect(text(readOnly)).toContain('Page 3 of 3');
  });

  it('list modal shows a whole Home list a page at a time', () => {
    const eligible = Array.from({ length: 450 }, (_, index) => entry(index));
    const view = buildListModal(dashboard({ status: { eligible, active: [], pending: [] } }), { kind: 'eligible', page: 1 });
    expect(view.blocks.length).toBeLessThanOrEqual(VIEW_BLOCK_LIMIT);
    expect(text(view)).toContain('Page 2 of 3');
    expect(text(view)).toContain('Role 200');
  });
});

describe('delivery problems on the administrators\' dashboard', () => {
  it('warns about a security channel that rejects posts and about failed deliveries', () => {
    const view = buildHomeView(
      dashboard({
        admin: admin({
          securityChannelProblem: { channelId: 'CSEC0001', error: 'not_in_channel', since: NOW },
          failedDeliveries: 3,
        }),
      }),
    );
    expect(text(view)).toContain('Posts to the security channel <#CSEC0001> are held back');
    expect(text(view)).toContain('not_in_channel');
    expect(text(view)).toContain('3 message(s) or job(s) could not be delivered');
  });

  it('shows no warning when deliveries work', () => {
    const view = buildHomeView(dashboard({ admin: admin() }));
    expect(text(view)).not.toContain('held back');
    expect(text(view)).not.toContain('could not be delivered');
  });
});
