import type { Clock } from '../clock.js';
import type { SendNotice } from '../slack/notice-sender.js';
import type { Deliver } from './outbox-dispatcher.js';
import { scheduleExpiry, type Queues } from './queues.js';

/** Routes each kind of outbox row to where it goes: Slack for notices, BullMQ for jobs. */
export function createDeliver(sendNotice: SendNotice, queues: Queues, clock: Clock): Deliver {
  return async ({ item }) => {
    switch (item.kind) {
      case 'notice':
        await sendNotice(item.payload.to, item.payload.notice);
        return;
      case 'expire_activation':
        await scheduleExpiry(queues, clock, item.payload.activationId, new Date(item.payload.endsAt));
        return;
    }
  };
}
