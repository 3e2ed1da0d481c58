import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ServiceContext } from '../services/context.js';
import { recordSecurityChannelOk, recordSecurityChannelProblem } from '../services/security-channel.js';
import { isChannelProblem, type SendNotice } from '../slack/notice-sender.js';
import type { Deliver } from './outbox-dispatcher.js';
import { scheduleExpiry, type Queues } from './queues.js';

/**
 * Routes each kind of outbox row to where it goes: Slack for notices, BullMQ for jobs. Posts to
 * the security channel also keep its recorded status current, so a channel the app cannot post
 * to shows on `/readyz` and the dashboard while its posts wait.
 */
export function createDeliver(
  sendNotice: SendNotice,
  queues: Queues,
  clock: Clock,
  context: Pick<ServiceContext, 'db' | 'securityChannelId'>,
  logger: Logger,
): Deliver {
  return async ({ id, item }) => {
    switch (item.kind) {
      case 'notice': {
        const to = item.payload.to;
        const channelId = 'channelId' in to ? to.channelId : undefined;
        const isSecurityChannel = channelId !== undefined && channelId === context.securityChannelId;
        try {
          await sendNotice({ outboxId: id, to, notice: item.payload.notice });
        } catch (error) {
          if (isSecurityChannel && isChannelProblem(error)) {
            logger.error(
              { channelId, slackError: error.code, outboxId: id },
              'cannot post to the security channel; posts wait until an administrator fixes PIM_SECURITY_CHANNEL or invites the app',
            );
            await recordSecurityChannelProblem(context.db, channelId, error.code, clock.now()).catch(
              (recordError: unknown) => logger.warn({ err: recordError }, 'could not record the security channel problem'),
            );
          }
          throw error;
        }
        // The post went through: a failure to record that must not fail the delivery, or the
        // outbox would post it again.
        if (isSecurityChannel) {
          await recordSecurityChannelOk(context.db, channelId, clock.now()).catch((recordError: unknown) =>
            logger.warn({ err: recordError }, 'could not record that the security channel works'),
          );
        }
        return;
      }
      case 'expire_activation':
        await scheduleExpiry(queues, clock, item.payload.activationId, new Date(item.payload.endsAt));
        return;
    }
  };
}
