import type { Clock } from '../../domain/clock';
import { NotFoundError } from '../../errors';
import type { Logger } from '../../logger';
import type { DeliveryAdminStore } from '../../stores/deliveries/admin-store';
import type { AttemptStore } from '../../stores/deliveries/attempt-store';
import type { Attempt, Delivery, DeliveryFilter } from '../../stores/deliveries/rows';

export type { DeliveryFilter };
import type { DestinationState, DestinationStateStore } from '../../stores/destination-state-store';
import type { ReplayJob } from '../../stores/replay-job-store';
import type { DestinationSource } from '../../domain/destination';
import type { RejectedFile } from '../../mapping/destinations';

export interface DeliveryView {
  id: string;
  destination: string;
  event_id: number | null;
  event_type: string;
  meter_id: string;
  sequence: number;
  status: string;
  created_at: string;
  next_attempt_at: string | null;
  attempts: number;
  last_attempt_at: string | null;
  last_status: number | null;
  last_error_class: string | null;
  last_error: string | null;
  delivered_at: string | null;
  dead_at: string | null;
  dead_reason: string | null;
  replays: number;
}

export interface AttemptView {
  attempt: number;
  trigger: string;
  started_at: string;
  duration_ms: number;
  url: string;
  request_headers: Record<string, string>;
  status_code: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
  error_class: string | null;
  error_message: string | null;
  outcome: string;
}

export interface DestinationView {
  name: string;
  url: string;
  enabled: boolean;
  configured: boolean;
  state: 'active' | 'paused' | 'disabled';
  paused_reason: string | null;
  paused_at: string | null;
  queue_depth: number;
  in_flight: number;
  dead: number;
  delivered: number;
  oldest_pending_at: string | null;
  last_success_at: string | null;
  last_failure_at: string | null;
  consecutive_failures: number;
  next_probe_at: string | null;
  pauses: number;
  resumes: number;
  /** The problems of the destination's file when its current text was refused on reload; empty otherwise. */
  file_problems: string[];
  /** `last_good` while a refused edit leaves the previous version running. */
  version_in_force: 'current' | 'last_good';
}

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

export function deliveryView(d: Delivery): DeliveryView {
  return {
    id: d.id,
    destination: d.destination,
    event_id: d.eventId,
    event_type: d.eventType,
    meter_id: d.meterId,
    sequence: d.sequence,
    status: d.status,
    created_at: d.createdAt.toISOString(),
    next_attempt_at: d.status === 'pending' ? d.nextAttemptAt.toISOString() : null,
    attempts: d.attempts,
    last_attempt_at: iso(d.lastAttemptAt),
    last_status: d.lastStatus,
    last_error_class: d.lastErrorClass,
    last_error: d.lastError,
    delivered_at: iso(d.deliveredAt),
    dead_at: iso(d.deadAt),
    dead_reason: d.deadReason,
    replays: d.replays,
  };
}

function attemptView(a: Attempt): AttemptView {
  return {
    attempt: a.attempt,
    trigger: a.trigger,
    started_at: a.startedAt.toISOString(),
    duration_ms: a.durationMs,
    url: a.url,
    request_headers: a.requestHeaders,
    status_code: a.statusCode,
    response_headers: a.responseHeaders,
    response_body: a.responseBody,
    error_class: a.errorClass,
    error_message: a.errorMessage,
    outcome: a.outcome,
  };
}

export function replayJobView(j: ReplayJob): Record<string, unknown> {
  return {
    id: j.id,
    status: j.status,
    dry_run: j.dryRun,
    filter: j.filter,
    cap: j.cap,
    matched: j.matched,
    replayed: j.replayed,
    skipped: j.skipped,
    skipped_because: { in_flight: j.skipped - j.skippedUnrenderable, unrenderable: j.skippedUnrenderable },
    requested_by: j.requestedBy,
    created_at: j.createdAt.toISOString(),
    started_at: iso(j.startedAt),
    finished_at: iso(j.finishedAt),
    error: j.error,
  };
}

/** Deliveries, attempts and destination health for support staff; pausing and resuming by hand. */
export class DeliveryAdminService {
  constructor(
    private readonly deps: {
      deliveries: DeliveryAdminStore;
      attempts: AttemptStore;
      states: DestinationStateStore;
      destinations: DestinationSource;
      clock: Clock;
      logger: Logger;
      notify: () => void;
      /** Destination files refused on reload (the folder-backed registry). */
      rejected?: () => readonly RejectedFile[];
    },
  ) {}

  async list(filter: DeliveryFilter, limit: number, before?: string): Promise<{ deliveries: DeliveryView[]; next_before: string | null }> {
    const rows = await this.deps.deliveries.list(filter, { limit: limit + 1, before });
    const page = rows.slice(0, limit);
    return { deliveries: page.map(deliveryView), next_before: rows.length > limit ? page[page.length - 1]!.id : null };
  }

  async get(id: string): Promise<DeliveryView & { body: string; attempts_log: AttemptView[] }> {
    const d = await this.deps.deliveries.get(id);
    if (!d) throw new NotFoundError('delivery', id);
    return { ...deliveryView(d), body: d.body, attempts_log: (await this.deps.attempts.list(id)).map(attemptView) };
  }

  async destinations(): Promise<DestinationView[]> {
    const [states, queues] = await Promise.all([this.deps.states.all(), this.deps.deliveries.queueStats()]);
    const stateBy = new Map(states.map((s) => [s.name, s]));
    const queueBy = new Map(queues.map((q) => [q.destination, q]));
    const names = new Set([...this.deps.destinations.all().map((d) => d.name), ...queueBy.keys()]);
    const refused = new Map((this.deps.rejected?.() ?? []).flatMap((r) => (r.keeps ? [[r.keeps.name, r.problems] as const] : [])));
    return [...names].sort().map((name) => {
      const d = this.deps.destinations.get(name);
      const s: DestinationState | undefined = stateBy.get(name);
      const q = queueBy.get(name);
      return {
        name,
        url: d?.url ?? '',
        enabled: d?.enabled ?? false,
        configured: Boolean(d),
        state: !d || !d.enabled ? 'disabled' : s?.paused ? 'paused' : 'active',
        paused_reason: s?.pausedReason ?? null,
        paused_at: iso(s?.pausedAt ?? null),
        queue_depth: q?.pending ?? 0,
        in_flight: q?.delivering ?? 0,
        dead: q?.dead ?? 0,
        delivered: q?.delivered ?? 0,
        oldest_pending_at: iso(q?.oldestPendingAt ?? null),
        last_success_at: iso(s?.lastSuccessAt ?? null),
        last_failure_at: iso(s?.lastFailureAt ?? null),
        consecutive_failures: s?.consecutiveFailures ?? 0,
        next_probe_at: iso(s?.probeAt ?? null),
        pauses: s?.pauses ?? 0,
        resumes: s?.resumes ?? 0,
        file_problems: refused.get(name) ?? [],
        version_in_force: refused.has(name) ? 'last_good' : 'current',
      };
    });
  }

  /** Attempts of the last `windowMs`, per destination: delivered, and failed (to be retried, or dead). */
  async recentOutcomes(windowMs: number): Promise<Map<string, { delivered: number; failed: number }>> {
    const out = new Map<string, { delivered: number; failed: number }>();
    for (const r of await this.deps.attempts.outcomesSince(new Date(this.deps.clock.now().getTime() - windowMs))) {
      const entry = out.get(r.destination) ?? { delivered: 0, failed: 0 };
      if (r.outcome === 'delivered') entry.delivered += r.attempts;
      else if (r.outcome === 'retry' || r.outcome === 'dead') entry.failed += r.attempts;
      out.set(r.destination, entry);
    }
    return out;
  }

  private known(name: string): void {
    if (!this.deps.destinations.get(name)) throw new NotFoundError('destination', name);
  }

  async pause(name: string, by: string): Promise<DestinationView> {
    this.known(name);
    if (await this.deps.states.pause(name, 'manual', this.deps.clock.now(), null, 0)) this.deps.logger.warn(`destination ${name} paused by hand`, { destination: name, by });
    return (await this.destinations()).find((d) => d.name === name)!;
  }

  async resume(name: string, by: string): Promise<DestinationView> {
    this.known(name);
    if (await this.deps.states.resume(name, this.deps.clock.now())) this.deps.logger.info(`destination ${name} resumed by hand`, { destination: name, by });
    this.deps.notify();
    return (await this.destinations()).find((d) => d.name === name)!;
  }
}
