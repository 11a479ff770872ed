import type { MeterView } from '../domain/events';
import { meterView } from '../domain/events';
import type { GroupAssignment } from '../domain/meter';
import { NotFoundError } from '../errors';
import type { EventStore } from '../stores/event-store';
import type { MeterFilter, MeterStore, StoredMeter } from '../stores/meter-store';
import { storedMeter } from './sync/compare';
import type { MeterReadiness } from './readiness/readiness-service';

/** A stored meter as the API shows it: normalized fields, actions, group assignments, bookkeeping. */
export interface MeterRecord {
  meter: MeterView;
  sequence: number;
  complete: boolean;
  first_seen_at: string;
  last_seen_at: string;
  last_changed_at: string;
  missing_since: string | null;
  /** The partner's dispatch readiness, with its history (on a single meter's answer). */
  readiness?: MeterReadiness;
}

export interface MeterPage {
  meters: MeterRecord[];
  /** Pass as `after` for the next page; null on the last. */
  next_after: string | null;
}

export class MeterQueryService {
  constructor(private readonly deps: { meters: MeterStore; events: EventStore; readiness?: { forMeter(s: StoredMeter): Promise<MeterReadiness> } }) {}

  private record(s: StoredMeter, groups?: GroupAssignment[]): MeterRecord {
    const meter = meterView(storedMeter(s));
    return {
      meter: groups ? { ...meter, group_assignments: groups } : meter,
      sequence: s.sequence,
      complete: s.raw.v1 !== null || (s.raw.details !== null && s.raw.enrollment !== null),
      first_seen_at: s.firstSeenAt.toISOString(),
      last_seen_at: s.lastSeenAt.toISOString(),
      last_changed_at: s.lastChangedAt.toISOString(),
      missing_since: s.missingSince?.toISOString() ?? null,
    };
  }

  async get(meterId: string): Promise<MeterRecord> {
    const s = await this.deps.meters.get(meterId);
    if (!s) throw new NotFoundError('meter', meterId);
    const record = this.record(s);
    return this.deps.readiness ? { ...record, readiness: await this.deps.readiness.forMeter(s) } : record;
  }

  /** Meters whose id or partner reference starts with the text, or whose Leap data contains it. */
  async search(text: string, limit: number): Promise<MeterRecord[]> {
    return (await this.deps.meters.search(text, limit)).map((s) => this.record(s));
  }

  async list(filter: MeterFilter, limit: number, after?: string): Promise<MeterPage> {
    const rows = await this.deps.meters.list(filter, { limit: limit + 1, after });
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    return { meters: page.map((s) => this.record(s)), next_after: more ? page[page.length - 1]!.meterId : null };
  }
}
