import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** Every timestamp is `timestamp with time zone` and maps to a JavaScript `Date`. */
const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** Privileged roles that can be assigned and activated. `settings` is validated by `RoleSettings`. */
export const roles = pgTable('roles', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull().unique(),
  description: text('description').notNull().default(''),
  builtin: boolean('builtin').notNull().default(false),
  settings: jsonb('settings').notNull().default({}),
  createdAt: instant('created_at').notNull().defaultNow(),
  updatedAt: instant('updated_at').notNull().defaultNow(),
  /**
   * Set when an administrator deletes the role. The row stays because past assignments,
   * activations and audit events refer to it; its slug and name get a suffix so they can be reused.
   */
  deletedAt: instant('deleted_at'),
});

/**
 * A user's standing relation to a role. At most one row per user and role is `current`;
 * removed and expired rows stay for the record.
 */
export const assignments = pgTable(
  'assignments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    roleId: uuid('role_id')
      .notNull()
      .references(() => roles.id),
    userId: text('user_id').notNull(),
    kind: text('kind', { enum: ['eligible', 'active'] }).notNull(),
    status: text('status', { enum: ['current', 'removed', 'expired'] }).notNull(),
    startsAt: instant('starts_at').notNull(),
    endsAt: instant('ends_at'),
    assignedBy: text('assigned_by').notNull(),
    reason: text('reason'),
    createdAt: instant('created_at').notNull().defaultNow(),
    endedAt: instant('ended_at'),
    endedBy: text('ended_by'),
    /**
     * How many of the end notices (14 days, then 1 day before `endsAt`) were sent or skipped.
     * The conditional update on this count sends each notice once however many workers race.
     */
    endNoticesSent: integer('end_notices_sent').notNull().default(0),
  },
  (table) => [
    uniqueIndex('assignments_one_current_per_user_role')
      .on(table.roleId, table.userId)
      .where(sql`status = 'current'`),
    index('assignments_user_idx').on(table.userId),
    index('assignments_current_ends_at_idx')
      .on(table.endsAt)
      .where(sql`status = 'current' and ends_at is not null`),
  ],
);

/**
 * One time-bound use of an eligible assignment. The partial unique index makes "at most one
 * open activation per user and role" hold under concurrent requests, not only in code.
 */
export const activations = pgTable(
  'activations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    roleId: uuid('role_id')
      .notNull()
      .references(() => roles.id),
    userId: text('user_id').notNull(),
    assignmentId: uuid('assignment_id')
      .notNull()
      .references(() => assignments.id),
    status: text('status', {
      enum: ['pending_approval', 'active', 'expired', 'deactivated', 'denied', 'cancelled', 'timed_out', 'failed'],
    }).notNull(),
    requestedAt: instant('requested_at').notNull(),
    /** For a pending request, the window it would have if approved now; set for real on approval. */
    startsAt: instant('starts_at').notNull(),
    endsAt: instant('ends_at').notNull(),
    durationMinutes: integer('duration_minutes').notNull(),
    justification: text('justification'),
    ticketSystem: text('ticket_system'),
    ticketNumber: text('ticket_number'),
    /** When an undecided request times out; `null` for activations that needed no approval. */
    requestExpiresAt: instant('request_expires_at'),
    nextReminderAt: instant('next_reminder_at'),
    remindersSent: integer('reminders_sent').notNull().default(0),
    decidedBy: text('decided_by'),
    decidedAt: instant('decided_at'),
    decisionReason: text('decision_reason'),
    endedAt: instant('ended_at'),
    endedBy: text('ended_by'),
  },
  (table) => [
    uniqueIndex('activations_one_open_per_user_role')
      .on(table.roleId, table.userId)
      .where(sql`status in ('pending_approval', 'active')`),
    index('activations_active_ends_at_idx').on(table.endsAt).where(sql`status = 'active'`),
    index('activations_user_idx').on(table.userId, table.requestedAt),
    index('activations_pending_idx').on(table.requestExpiresAt).where(sql`status = 'pending_approval'`),
  ],
);

/**
 * Who may decide a pending request, fixed when it is filed. `source` says why: named in the
 * role's settings (`user`), a member of one of its user groups (`group`), or an active Privileged
 * Role Administrator standing in because the role names nobody (`pra`).
 */
export const approvalApprovers = pgTable(
  'approval_approvers',
  {
    activationId: uuid('activation_id')
      .notNull()
      .references(() => activations.id),
    approverId: text('approver_id').notNull(),
    source: text('source', { enum: ['user', 'group', 'pra'] }).notNull(),
  },
  (table) => [
    uniqueIndex('approval_approvers_pk').on(table.activationId, table.approverId),
    index('approval_approvers_approver_idx').on(table.approverId),
  ],
);

/** The DM each approver received for a request, so every copy can be updated once it is decided. */
export const approvalMessages = pgTable(
  'approval_messages',
  {
    activationId: uuid('activation_id')
      .notNull()
      .references(() => activations.id),
    approverId: text('approver_id').notNull(),
    channelId: text('channel_id').notNull(),
    ts: text('ts').notNull(),
  },
  (table) => [uniqueIndex('approval_messages_pk').on(table.activationId, table.approverId)],
);

/**
 * The requester's "waiting for approval" DM of a request, so that closing the request rewrites it
 * without its Cancel button. Kept apart from `approval_messages`, because the requester is never
 * an approver of their own request.
 */
export const requesterMessages = pgTable('requester_messages', {
  activationId: uuid('activation_id')
    .primaryKey()
    .references(() => activations.id),
  channelId: text('channel_id').notNull(),
  ts: text('ts').notNull(),
});

/**
 * Append-only, hash-chained record of every change. `hash` covers `prevHash` and the event's
 * canonical JSON, so editing or deleting a row breaks the chain from that row on.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    occurredAt: instant('occurred_at').notNull(),
    actorId: text('actor_id').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    roleId: uuid('role_id'),
    subjectUserId: text('subject_user_id'),
    reason: text('reason'),
    before: jsonb('before'),
    after: jsonb('after'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull().unique(),
  },
  (table) => [
    index('audit_events_subject_idx').on(table.subjectUserId, table.id),
    index('audit_events_target_idx').on(table.targetType, table.targetId),
  ],
);

/**
 * Side effects owed by committed changes: Slack messages and queue jobs. Rows are written in
 * the same transaction as the change and delivered after commit by the outbox dispatcher.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    createdAt: instant('created_at').notNull().defaultNow(),
    kind: text('kind').notNull(),
    payload: jsonb('payload').notNull(),
    availableAt: instant('available_at').notNull().defaultNow(),
    lockedUntil: instant('locked_until'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    deliveredAt: instant('delivered_at'),
    failedAt: instant('failed_at'),
  },
  (table) => [
    // The dispatcher's claim: messages and jobs, oldest first, past any waiting Home refreshes.
    index('outbox_pending_messages_idx')
      .on(table.id)
      .where(sql`kind <> 'home_refresh' and delivered_at is null and failed_at is null`),
    // The Home refresher's claim.
    index('outbox_pending_home_refresh_idx')
      .on(table.id)
      .where(sql`kind = 'home_refresh' and delivered_at is null and failed_at is null`),
  ],
);

/**
 * Users who have opened the app's Home tab at least once. Slack sends `app_home_opened` each
 * time the tab is opened, and the app publishes it then, so background refreshes go only to
 * these users: for anyone else, the next open builds the tab anyway.
 */
export const homeTabViewers = pgTable('home_tab_viewers', {
  userId: text('user_id').primaryKey(),
  firstOpenedAt: instant('first_opened_at').notNull().defaultNow(),
});

/** Small key-value facts about this installation, such as whether the role catalog was seeded. */
export const appState = pgTable('app_state', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: instant('updated_at').notNull().defaultNow(),
});

/**
 * What slack-pim knows about Slack users beyond their id: the manager recorded by an
 * administrator (a reviewer for access reviews), and whether Slack reported the account
 * deactivated (`users.info` returned `deleted: true`) the last time it was looked up.
 */
export const directoryUsers = pgTable(
  'directory_users',
  {
    userId: text('user_id').primaryKey(),
    managerId: text('manager_id'),
    managerSetBy: text('manager_set_by'),
    deactivated: boolean('deactivated').notNull().default(false),
    /** When a lookup last saw the account deactivated; `null` while it is active. */
    deactivatedSeenAt: instant('deactivated_seen_at'),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (table) => [index('directory_users_deactivated_idx').on(table.userId).where(sql`deactivated`)],
);
