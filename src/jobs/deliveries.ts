import type { WebClient } from '@slack/web-api';
import type { Database } from '../../db/client.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Directory } from '../services/context.js';
import { recordSecurityChannelOk, recordSecurityChannelProblem } from '../services/security-channel.js';
import { sendApprovalRequest, updateApprovalMessages } from '../slack/approval-sender.js';
import { isChannelProblem, type SendNotice } from '../slack/notice-sender.js';
import { sendRequestFiledNotice } from '../slack/request-filed-sender.js';
import type { Deliver } from './outbox-dispatcher.js';
import { scheduleAssignmentTimer, scheduleExpiry, scheduleRequestTimer, type Queues } from './queues.js';

/** Delivery targets: Slack for messages, BullMQ for jobs. */
export interface DeliveryTargets {
  sendNotice: SendNotice;
  /** A client that never retries by itself, so every attempt goes through the outbox. */
  client: WebClient;
  db: Database;
  /** Slack's user groups, to check an approver asked through one before their DM goes out. */
  directory: Directory;
  queues: Queues;
  clock: Clock;
  logger: Logger;
  securityChannelId: string | undefined;
}

/**
 * Routes each kind of outbox row to its target. Posts to the security channel also keep its
 * recorded status current, so a channel the app cannot post to shows on `/readyz` and the
 * dashboard while its posts wait.
 */
export function createDeliver(targets: DeliveryTargets): Deliver {
  const channelOk = new SecurityChannelOkMarks();
  return async ({ id, item }) => {
    switch (item.kind) {
      case 'notice': {
        const { to, notice } = item.payload;
        if (notice.type === 'request_filed') {
          await sendRequestFiledNotice(targets, { outboxId: id, to, notice });
          return;
        }
        await deliverNotice(targets, channelOk, id, item.payload);
        return;
      }
      case 'expire_activation':
        await scheduleExpiry(targets.queues, targets.clock, item.payload.activationId, new Date(item.payload.endsAt));
        return;
      case 'approval_request':
        await sendApprovalRequest(targets, item.payload);
        return;
      case 'approval_update':
        await updateApprovalMessages(targets.client, targets.db, item.payload.activationId);
        return;
      case 'request_timer':
        await scheduleRequestTimer(targets.queues, targets.clock, item.payload);
        return;
      case 'assignment_timer':
        await scheduleAssignmentTimer(targets.queues, targets.clock, item.payload);
        return;
    }
  };
}

/** How long a recorded "security channel works" is trusted before a successful post records it again. */
const CHANNEL_OK_RECORD_INTERVAL_MS = 30_000;

/**
 * Spares a Postgres write after every security post: once this process recorded that the
 * channel works, it records that again only after an interval or after it saw a problem. A
 * problem recorded by another process is therefore cleared within the interval.
 */
class SecurityChannelOkMarks {
  private recordedAt: number | undefined;

  isFresh(): boolean {
    return this.recordedAt !== undefined && Date.now() - this.recordedAt < CHANNEL_OK_RECORD_INTERVAL_MS;
  }

  recorded(): void {
    this.recordedAt = Date.now();
  }

  problem(): void {
    this.recordedAt = undefined;
  }
}

async function deliverNotice(
  targets: DeliveryTargets,
  channelOk: SecurityChannelOkMarks,
  outboxId: number,
  payload: Extract<Parameters<Deliver>[0]['item'], { kind: 'notice' }>['payload'],
): Promise<void> {
  const { to, notice } = payload;
  const channelId = 'channelId' in to ? to.channelId : undefined;
  const isSecurityChannel = channelId !== undefined && channelId === targets.securityChannelId;
  try {
    await targets.sendNotice({ outboxId, to, notice });
  } catch (error) {
    if (isSecurityChannel && isChannelProblem(error)) {
      channelOk.problem();
      targets.logger.error(
        { channelId, slackError: error.code, outboxId },
        'cannot post to the security channel; posts wait until an administrator fixes PIM_SECURITY_CHANNEL or invites the app',
      );
      await recordSecurityChannelProblem(targets.db, channelId, error.code, targets.clock.now()).catch(
        (recordError: unknown) => targets.logger.warn({ err: recordError }, 'could not record the security channel problem'),
      );
    }
    throw error;
  }
  // The post went through: a failure to record that must not fail the delivery, or the outbox
  // would post it again.
  if (isSecurityChannel && !channelOk.isFresh()) {
    await recordSecurityChannelOk(targets.db, channelId, targets.clock.now()).then(
      () => channelOk.recorded(),
      (recordError: unknown) => targets.logger.warn({ err: recordError }, 'could not record that the security channel works'),
    );
  }
}
