import { afterEach, describe, expect, it, vi } from 'vitest';
import { listMembersOrNone, MISSING_GROUP_WARNING_INTERVAL_MS } from '../../src/services/approver-membership.js';
import { UnknownUserGroupError, type Directory } from '../../src/services/context.js';
import { captureLog } from '../support/log-capture.js';

const WARNING = 'approver group not found in Slack; counted as empty';

// Slack's side: every group it is asked for is gone, as `usergroups.users.list` reports with `no_such_subteam`.
const emptyWorkspace: Directory = {
  listUserGroupMembers: (groupId) => Promise.reject(new UnknownUserGroupError(groupId)),
};

afterEach(() => {
  vi.useRealTimers();
});

describe('missing approver group warning', () => {
  it('logged once per interval', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const log = captureLog('info');
    const source = { directory: emptyWorkspace, logger: log.logger };

    for (let read = 0; read < 3; read++) expect(await listMembersOrNone(source, 'SMISSWARN1')).toEqual([]);
    expect(log.find(WARNING)).toHaveLength(1);

    vi.advanceTimersByTime(MISSING_GROUP_WARNING_INTERVAL_MS);
    expect(await listMembersOrNone(source, 'SMISSWARN1')).toEqual([]);
    expect(log.find(WARNING)).toHaveLength(2);
  });

  it('logged for each group', async () => {
    const log = captureLog('info');
    const source = { directory: emptyWorkspace, logger: log.logger };

    await listMembersOrNone(source, 'SMISSWARN2');
    await listMembersOrNone(source, 'SMISSWARN3');

    expect(log.find(WARNING).map((line) => line.groupId)).toEqual(['SMISSWARN2', 'SMISSWARN3']);
  });
});
