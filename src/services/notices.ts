/**
 * Messages that services owe to people, as data. Services write them to the outbox; the Slack
 * adapter renders them into Block Kit when it delivers them, so services stay free of Block Kit.
 * Times are ISO-8601 strings because notices are stored as JSON.
 */
export type Notice =
  | {
      type: 'activation_started';
      activationId: string;
      userId: string;
      roleName: string;
      endsAt: string;
      durationMinutes: number;
      approvedBy: string | null;
      /** Whether it ends early, when the eligible assignment ends. Absent in rows of older versions. */
      endsWithEligibility?: boolean;
    }
  | {
      type: 'activation_announced';
      activationId: string;
      userId: string;
      roleName: string;
      startsAt: string;
      endsAt: string;
      durationMinutes: number;
      justification: string | null;
      ticket: string | null;
      approvedBy: string | null;
      /** Whether it ends early, when the eligible assignment ends. Absent in rows of older versions. */
      endsWithEligibility?: boolean;
    }
  | {
      type: 'activation_ended';
      activationId: string;
      userId: string;
      roleName: string;
      reason: 'expired' | 'deactivated' | 'eligibility_removed' | 'assignment_expired';
      endedBy: string;
      endedAt: string;
    }
  | {
      type: 'assignment_added';
      /** The assignee, or an administrator told of someone else's new assignment. */
      audience: 'assignee' | 'administrator';
      assignmentId: string;
      userId: string;
      roleName: string;
      kind: 'eligible' | 'active';
      endsAt: string | null;
      assignedBy: string;
      reason: string | null;
    }
  | {
      type: 'assignment_removed';
      assignmentId: string;
      userId: string;
      roleName: string;
      kind: 'eligible' | 'active';
      removedBy: string;
      reason: string | null;
    }
  | {
      type: 'request_filed';
      activationId: string;
      userId: string;
      roleName: string;
      durationMinutes: number;
      approverIds: string[];
      expiresAt: string;
    }
  | {
      type: 'request_closed';
      activationId: string;
      userId: string;
      roleName: string;
      outcome: 'denied' | 'timed_out' | 'cancelled';
      decidedBy: string;
      reason: string | null;
    }
  | {
      type: 'approval_reminder';
      activationId: string;
      requesterId: string;
      roleName: string;
      requestedAt: string;
      expiresAt: string;
    }
  | {
      type: 'admins_bootstrapped';
      userIds: string[];
      roleNames: string[];
      /** How they were chosen; absent in notices written before `/pim setup` existed. */
      via?: 'PIM_ADMINS' | 'setup';
    }
  | {
      /** A time-bound assignment ends in `leadDays` days. */
      type: 'assignment_ending';
      assignmentId: string;
      userId: string;
      roleName: string;
      kind: 'eligible' | 'active';
      endsAt: string;
      leadDays: number;
    }
  | {
      type: 'assignment_expired';
      assignmentId: string;
      userId: string;
      roleName: string;
      kind: 'eligible' | 'active';
      endedAt: string;
    }
  | {
      /**
       * To the security channel: the last active Privileged Role Administrator assignment is
       * time-bound, so when it ends nobody can manage slack-pim until someone is bootstrapped.
       */
      type: 'last_admin_expiring';
      assignmentId: string;
      userId: string;
      endsAt: string;
      stage: 'assigned' | 'notice' | 'expired';
    };

/** Recipient of a notice: a user's DM with the app, or the configured security channel. */
export type NoticeRecipient = { userId: string } | { channelId: string };
