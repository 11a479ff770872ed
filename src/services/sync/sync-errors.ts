import { AppError } from '../../errors';

/** The lease one sync at a time holds, across every process that shares the database. */
export const SYNC_LEASE = 'sync';

/** Another process (or this one) holds the sync lease. */
export class SyncBusyError extends AppError {
  constructor(holder: string | null, expiresAt: Date | null) {
    const by = holder ? ` (held by ${holder}${expiresAt ? `, its lease lasting until ${expiresAt.toISOString()} unless renewed` : ''})` : '';
    super(409, 'sync_in_progress', `a sync is already running${by}; try again when it has finished`, { holder, expires_at: expiresAt?.toISOString() ?? null });
  }
}

export class SyncStoppedError extends AppError {
  constructor() {
    super(503, 'sync_stopped', 'the sync was stopped (shutdown) after its last committed page; the next run resumes from there');
  }
}

export class SyncLeaseLostError extends AppError {
  constructor() {
    super(409, 'sync_lease_lost', 'the sync lease expired and may be held by another process; this run stopped without committing further pages');
  }
}
