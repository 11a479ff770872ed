import assert from 'node:assert/strict';
import { SyncBusyError } from '../../src/services/sync/sync-errors';

describe('the sync busy answer', () => {
  it('names the holder and its lease when another process holds it, and no undefined when this process does', () => {
    assert.equal(new SyncBusyError('host:42:abc', new Date('2026-12-07T12:00:00Z')).message, 'a sync is already running (held by host:42:abc, its lease lasting until 2026-12-07T12:00:00.000Z unless renewed); try again when it has finished');
    const own = new SyncBusyError('this process', null);
    assert.equal(own.message, 'a sync is already running (held by this process); try again when it has finished');
    assert.equal(own.status, 409);
    assert.deepEqual(own.details, { holder: 'this process', expires_at: null });
  });
});
