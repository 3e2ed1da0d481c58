import { and, desc, eq, gte, inArray, sql } from 'drizzle-orm';
import { activations, assignments, directoryUsers, roles } from '../../db/schema.js';
import type { Executor } from '../../db/client.js';
import type { Clock } from '../clock.js';
import { readAccess } from './access.js';
import type { GroupSource } from './approver-membership.js';
import { listRequestsForApprover, type PendingRequest, type UncheckedRequests } from './approver-requests.js';
import { countOutbox } from './outbox.js';
import { readSecurityChannelStatus } from './security-channel.js';
import { summarizeRoles, type RoleSummary } from './roles.js';
import { readUserStatus, type UserStatus } from './status.js';

/** How far back the administrators' dashboard counts activations. */
export const RECENT_ACTIVATION_DAYS = 7;
/** Recent activations listed by name on the dashboard; the rest are counted. */
const LISTED_RECENT_ACTIVATIONS = 5;

/** An open alert as the dashboard lists it. */
export interface AlertSummary {
  id: string;
  title: string;
  raisedAt: Date;
}

/** An ongoing access review as the dashboard lists it. */
export interface ReviewSummary {
  id: string;
  name: string;
  endsAt: Date;
  undecidedCount: number;
}

/** An access review decision waiting for the viewer. */
export interface ReviewItem {
  reviewId: string;
  reviewName: string;
  subjectUserId: string;
  roleName: string;
  endsAt: Date;
}

/** An activation started in the last `RECENT_ACTIVATION_DAYS` days. */
export interface RecentActivation {
  userId: string;
  roleName: string;
  startsAt: Date;
  status: string;
}

/** Administration part of the dashboard, for active Privileged Role Administrators and Security Administrators. */
export interface AdminDashboard {
  /** True for an active Privileged Role Administrator; Security Administrators only look. */
  canChange: boolean;
  roles: RoleSummary[];
  alerts: AlertSummary[];
  reviews: ReviewSummary[];
  recentActivationCount: number;
  recentActivations: RecentActivation[];
  /** Users Slack reported deactivated who still hold current assignments. */
  deactivatedHolders: { userId: string; roleNames: string[] }[];
  /** Slack's error for held-back security channel posts, or `undefined` while posts go through. */
  securityChannelProblem: { channelId: string; error: string; since: Date } | undefined;
  /** Outbox rows (messages and jobs) given up on after their retries, which someone must look at. */
  failedDeliveries: number;
}

/** Everything the viewer's Home tab shows, read at one moment. */
export interface Dashboard {
  userId: string;
  now: Date;
  status: UserStatus;
  approvals: PendingRequest[];
  /** Requests for the viewer left out because Slack could not list their approver groups. */
  uncheckedApprovals: UncheckedRequests | undefined;
  reviewItems: ReviewItem[];
  /** Present only for active Privileged Role Administrators and Security Administrators. */
  admin: AdminDashboard | undefined;
}

/** Reads the administrators' part of the dashboard; `canChange` is the viewer's. */
export type AdminDashboardReader = (canChange: boolean) => Promise<AdminDashboard>;

/** Readers a dashboard uses besides the database. */
export interface DashboardSources {
  /** Lets a caller that builds many dashboards at once read the administrators' part, the same for everyone, once. */
  readAdmin?: AdminDashboardReader;
  /**
   * Reads the members of approver groups. Without it, requests sent to the viewer through an
   * approver group are left out of the approvals and counted as unchecked.
   */
  groups?: GroupSource;
}

/** Reads the viewer's dashboard from the database at `now`. */
export async function readDashboard(db: Executor, userId: string, now: Date, sources: DashboardSources = {}): Promise<Dashboard> {
  const readAdmin = sources.readAdmin ?? ((canChange: boolean) => readAdminDashboard(db, now, canChange));
  const access = await readAccess(db, userId, now);
  const seesAdmin = access.isActivePra || access.isActiveSecurityAdmin;
  const approvals = await listRequestsForApprover(db, userId, now, sources.groups);
  return {
    userId,
    now,
    status: await readUserStatus(db, userId, now),
    approvals: approvals.requests,
    uncheckedApprovals: approvals.unchecked,
    reviewItems: await listReviewItems(db, userId),
    admin: seesAdmin ? await readAdmin(access.isActivePra) : undefined,
  };
}

/**
 * Returns an `AdminDashboardReader` for Home tabs opened at about the same moment: viewers who
 * request it while a read is running share that read, and the next viewer after it ends starts a
 * new one. A burst of
 * administrators opening their tabs then costs one role table in memory instead of one each.
 */
export function concurrentAdminDashboard(db: Executor, clock: Clock): AdminDashboardReader {
  let running: Promise<AdminDashboard> | undefined;
  return async (canChange) => {
    if (running === undefined) {
      const reading = readAdminDashboard(db, clock.now(), false);
      running = reading;
      const clear = () => {
        if (running === reading) running = undefined;
      };
      reading.then(clear, clear);
    }
    return { ...(await running), canChange };
  };
}

/** Returns an `AdminDashboardReader` that reads the database once at `now` and serves every viewer from that read. */
export function sharedAdminDashboard(db: Executor, now: Date): AdminDashboardReader {
  let shared: Promise<AdminDashboard> | undefined;
  return async (canChange) => {
    shared ??= readAdminDashboard(db, now, false);
    return { ...(await shared), canChange };
  };
}

/** Reads the administrators' part of the dashboard. */
export async function readAdminDashboard(db: Executor, now: Date, canChange: boolean): Promise<AdminDashboard> {
  const since = new Date(now.getTime() - RECENT_ACTIVATION_DAYS * 24 * 60 * 60_000);
  const started = and(inArray(activations.status, ['active', 'expired', 'deactivated']), gte(activations.startsAt, since));
  const [count] = await db.select({ count: sql<number>`count(*)::int` }).from(activations).where(started);
  const recent = await db
    .select({ userId: activations.userId, roleName: roles.name, startsAt: activations.startsAt, status: activations.status })
    .from(activations)
    .innerJoin(roles, eq(roles.id, activations.roleId))
    .where(started)
    .orderBy(desc(activations.startsAt))
    .limit(LISTED_RECENT_ACTIVATIONS);
  return {
    canChange,
    roles: await summarizeRoles(db, now),
    alerts: await listOpenAlerts(db),
    reviews: await listOngoingReviews(db),
    recentActivationCount: count?.count ?? 0,
    recentActivations: recent,
    deactivatedHolders: await listDeactivatedHolders(db),
    securityChannelProblem: await readSecurityChannelProblem(db),
    failedDeliveries: (await countOutbox(db)).failed,
  };
}

async function readSecurityChannelProblem(db: Executor): Promise<AdminDashboard['securityChannelProblem']> {
  const status = await readSecurityChannelStatus(db);
  if (status?.problem == null) return undefined;
  return { channelId: status.channelId, error: status.problem.error, since: new Date(status.problem.since) };
}

/** Lists users Slack reported deactivated who still hold current assignments, with those roles. */
export async function listDeactivatedHolders(db: Executor): Promise<{ userId: string; roleNames: string[] }[]> {
  const rows = await db
    .select({ userId: assignments.userId, roleName: roles.name })
    .from(assignments)
    .innerJoin(directoryUsers, eq(directoryUsers.userId, assignments.userId))
    .innerJoin(roles, eq(roles.id, assignments.roleId))
    .where(and(eq(assignments.status, 'current'), eq(directoryUsers.deactivated, true)))
    .orderBy(assignments.userId, roles.name);
  const byUser = new Map<string, string[]>();
  for (const row of rows) byUser.set(row.userId, [...(byUser.get(row.userId) ?? []), row.roleName]);
  return [...byUser].map(([userId, roleNames]) => ({ userId, roleNames }));
}

// NOTE: alerts and access reviews are not built yet, so these readers return nothing. The Home
// tab already has their sections; they fill in once these readers query real tables.
async function listOpenAlerts(_db: Executor): Promise<AlertSummary[]> {
  return [];
}

async function listOngoingReviews(_db: Executor): Promise<ReviewSummary[]> {
  return [];
}

async function listReviewItems(_db: Executor, _reviewerId: string): Promise<ReviewItem[]> {
  return [];
}
