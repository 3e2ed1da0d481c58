import type { WebClient } from '@slack/web-api';
import type { Database } from '../../db/client.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { sendApprovalRequest, updateApprovalMessages } from '../slack/approval-sender.js';
import type { SendNotice } from '../slack/notice-sender.js';
import type { Deliver } from './outbox-dispatcher.js';
import { publishHome } from '../slack/home/publish.js';
import { scheduleAssignmentTimer, scheduleExpiry, scheduleRequestTimer, type Queues } from './queues.js';

/** Delivery targets: Slack for messages, BullMQ for jobs. */
export interface DeliveryTargets {
  sendNotice: SendNotice;
  client: WebClient;
  db: Database;
  queues: Queues;
  clock: Clock;
  logger: Logger;
}

/** Routes each kind of outbox row to its target. */
export function createDeliver(targets: DeliveryTargets): Deliver {
  return async ({ item }) => {
    switch (item.kind) {
      case 'notice':
        await targets.sendNotice(item.payload.to, item.payload.notice);
        return;
      case 'expire_activation':
        await scheduleExpiry(targets.queues, targets.clock, item.payload.activationId, new Date(item.payload.endsAt));
        return;
      case 'approval_request':
        await sendApprovalRequest(targets.client, targets.db, targets.logger, item.payload);
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
      case 'home_refresh':
        await publishHome(targets.client, targets.db, targets.clock, item.payload.userId);
        return;
    }
  };
}
