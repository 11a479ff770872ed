import { canonicalJson, sha256Hex } from '../../domain/canonical-json';
import type { Clock } from '../../domain/clock';
import { meterView, type MeterView } from '../../domain/events';
import {
  partnerMove,
  READINESS_STATES,
  readinessView,
  requirementOf,
  deviceKey,
  type ReadinessAnswerInput,
  type ReadinessRecord,
  type ReadinessState,
  type ReadinessView,
} from '../../domain/readiness';
import { AppError, ConflictError, NotFoundError } from '../../errors';
import type { IdempotencyStore } from '../../stores/idempotency-store';
import type { MeterStore, StoredMeter } from '../../stores/meter-store';
import type { ReadinessStore, ReadinessTransition } from '../../stores/readiness-store';
import type { Transactor, Tx } from '../../stores/transaction';
import { storedMeter } from '../sync/compare';
import type { EventSink } from '../sync/page-writer';
import type { ReadinessChange, ReadinessWriter } from './readiness-writer';

/** A meter that needs no readiness (not ACTIVE, no upcoming market group) cannot be answered. */
export class ReadinessNotRequiredError extends AppError {
  constructor(meterId: string) {
    super(409, 'readiness_not_required', `Meter ${meterId} needs no readiness confirmation: it is not ACTIVE and has no upcoming market group`, { meter_id: meterId });
  }
}

/** A batch item: one meter by id, or every meter with a partner reference. */
export type BatchItem = ReadinessAnswerInput & ({ meter_id: string; partner_reference?: undefined } | { partner_reference: string; meter_id?: undefined });

export type BatchResult =
  | { index: number; outcome: 'applied' | 'unchanged'; meter_ids: string[]; not_required_meter_ids?: string[] }
  | { index: number; outcome: 'error'; code: string; message: string; details?: unknown };

export interface BatchAnswer {
  results: BatchResult[];
  applied: number;
  unchanged: number;
  errors: number;
}

export interface MeterReadiness extends ReadinessView {
  history: ReadinessTransition[];
}

export interface ReadinessListEntry {
  meter_id: string;
  partner_reference: string | null;
  readiness: ReadinessView;
}

export interface ReadinessPage {
  state: ReadinessState;
  meters: ReadinessListEntry[];
  /** Meters in each state; not_required counts only meters that needed readiness once. */
  counts: Record<ReadinessState, number>;
  next_after: string | null;
}

/** The most single answers written in one transaction. */
const GROUP_COMMIT_MAX = 200;

type SingleOutcome = { outcome: 'applied' | 'unchanged'; readiness: ReadinessView };

interface SingleAnswer {
  meterId: string;
  answer: ReadinessAnswerInput;
  keyName: string;
  resolve: (outcome: SingleOutcome) => void;
  reject: (err: unknown) => void;
}

/** An Idempotency-Key's stored answers are kept this long. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** The same key sent again while the first request is still being answered, or with another body. */
class AnswerStoredMeanwhile extends Error {}

/**
 * The partner's side of readiness: answers for one meter or a batch, what a meter's readiness is
 * and who is in which state. Every answer is one transaction: its record, history, events and
 * outbox rows commit together or not at all.
 */
export class ReadinessService {
  constructor(
    private readonly deps: {
      transactor: Transactor;
      meters: MeterStore;
      readiness: ReadinessStore;
      idempotency: IdempotencyStore;
      writer: ReadinessWriter;
      clock: Clock;
      /** The outbox, asked whether a destination will render readiness events. */
      sink?: EventSink;
    },
  ) {}

  /** Answers waiting for the transaction now being written, and whether one is. */
  private waiting: SingleAnswer[] = [];
  private writing = false;

  /**
   * The partner's answer for one meter; the same answer again changes nothing. Answers that
   * arrive while a transaction is being written go together in the next one (group commit): each
   * keeps its own outcome and error, and none is answered before its transaction commits.
   */
  answer(meterId: string, answer: ReadinessAnswerInput, keyName: string): Promise<SingleOutcome> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ meterId, answer, keyName, resolve, reject });
      this.writeWaiting();
    });
  }

  private writeWaiting(): void {
    if (this.writing || !this.waiting.length) return;
    // One answer per meter in a transaction: a second one for the same meter waits for the next,
    // so that each answer has its own history row and event.
    const group: SingleAnswer[] = [];
    const later: SingleAnswer[] = [];
    const meters = new Set<string>();
    for (const w of this.waiting) {
      if (group.length < GROUP_COMMIT_MAX && !meters.has(w.meterId)) {
        group.push(w);
        meters.add(w.meterId);
      } else later.push(w);
    }
    this.waiting = later;
    this.writing = true;
    this.writeGroup(group)
      .then(
        (outcomes) => group.forEach((w, i) => (outcomes[i] instanceof Error ? w.reject(outcomes[i]) : w.resolve(outcomes[i] as SingleOutcome))),
        (err: unknown) => group.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.writing = false;
        this.writeWaiting();
      });
  }

  private writeGroup(group: readonly SingleAnswer[]): Promise<(SingleOutcome | Error)[]> {
    return this.deps.transactor.run(async (tx) => {
      const now = this.deps.clock.now();
      const heads = await this.deps.meters.getHeads(
        group.map((g) => g.meterId),
        tx,
      );
      const work = new Work(this.deps, tx, now);
      await work.preload([...heads.values()]);
      const staged: ({ outcome: 'applied' | 'unchanged'; ref: number } | Error)[] = [];
      for (const g of group) {
        const head = heads.get(g.meterId);
        if (!head) {
          staged.push(new NotFoundError('meter', g.meterId));
          continue;
        }
        const r = await work.answer(head, g.answer, `partner:${g.keyName}`);
        staged.push(r === 'not_required' ? new ReadinessNotRequiredError(g.meterId) : { outcome: r, ref: head.ref });
      }
      await work.commit();
      return staged.map((s) => (s instanceof Error ? s : { outcome: s.outcome, readiness: readinessView(work.record(s.ref)) }));
    });
  }

  /**
   * Answers for up to 1,000 items, in order. Valid items are applied in one transaction; an item
   * that cannot be applied (unknown meter, no readiness needed, invalid) changes nothing. With an
   * Idempotency-Key the first answer is stored and given again for the same body.
   */
  async answerBatch(items: readonly (BatchItem | { invalid: { code: string; message: string; details?: unknown } })[], keyName: string, idempotencyKey?: string, body?: unknown): Promise<{ status: number; body: BatchAnswer; replayed: boolean }> {
    const id = idempotencyKey ? { scope: 'readiness.batch', keyName, key: idempotencyKey } : null;
    const requestHash = sha256Hex(canonicalJson(body ?? items));
    const stored = async (): Promise<{ status: number; body: BatchAnswer; replayed: boolean } | null> => {
      if (!id) return null;
      const found = await this.deps.idempotency.find(id, new Date(this.deps.clock.now().getTime() - IDEMPOTENCY_TTL_MS));
      if (!found) return null;
      if (found.requestHash !== requestHash) throw new ConflictError('This Idempotency-Key was used with another request body; send a new key for a new request', { code: 'idempotency_key_reused' });
      return { status: found.status, body: found.body as BatchAnswer, replayed: true };
    };
    const before = await stored();
    if (before) return before;
    try {
      return await this.deps.transactor.run(async (tx) => {
        const now = this.deps.clock.now();
        const answer = await this.applyBatch(tx, items, keyName, now);
        if (id && !(await this.deps.idempotency.save(tx, id, { requestHash, status: 200, body: answer }, now, new Date(now.getTime() - IDEMPOTENCY_TTL_MS)))) throw new AnswerStoredMeanwhile();
        return { status: 200, body: answer, replayed: false };
      });
    } catch (err) {
      if (!(err instanceof AnswerStoredMeanwhile)) throw err;
      const after = await stored();
      if (!after) throw new ConflictError('A request with this Idempotency-Key is being answered; send it again in a moment', { code: 'idempotency_key_in_use' });
      return after;
    }
  }

  private async applyBatch(tx: Tx, items: readonly (BatchItem | { invalid: { code: string; message: string; details?: unknown } })[], keyName: string, now: Date): Promise<BatchAnswer> {
    const valid = items.filter((i): i is BatchItem => !('invalid' in i));
    const byId = await this.deps.meters.getHeads(
      valid.flatMap((i) => (i.meter_id !== undefined ? [i.meter_id] : [])),
      tx,
    );
    const byReference = await this.deps.meters.headsByPartnerReference(
      valid.flatMap((i) => (i.partner_reference !== undefined ? [i.partner_reference] : [])),
      tx,
    );
    const work = new Work(this.deps, tx, now);
    await work.preload([...byId.values(), ...[...byReference.values()].flat()]);
    const results: BatchResult[] = [];
    const source = `partner:${keyName}` as const;
    for (const [index, item] of items.entries()) {
      if ('invalid' in item) {
        results.push({ index, outcome: 'error', ...item.invalid });
        continue;
      }
      const heads = item.meter_id !== undefined ? [byId.get(item.meter_id)].filter((h): h is StoredMeter => h !== undefined) : (byReference.get(item.partner_reference) ?? []);
      if (!heads.length) {
        const what = item.meter_id !== undefined ? `meter ${item.meter_id}` : `a meter with partner_reference ${item.partner_reference}`;
        results.push({ index, outcome: 'error', code: 'not_found', message: `No ${what} is stored` });
        continue;
      }
      const outcomes = [];
      for (const h of heads) outcomes.push({ meterId: h.meterId, r: await work.answer(h, item, source) });
      const answered = outcomes.filter((o) => o.r !== 'not_required');
      if (!answered.length) {
        results.push({ index, outcome: 'error', code: 'readiness_not_required', message: `${heads.length === 1 ? `Meter ${heads[0]!.meterId} needs` : `None of the ${heads.length} meters needs`} no readiness confirmation: not ACTIVE and no upcoming market group` });
        continue;
      }
      const skipped = outcomes.filter((o) => o.r === 'not_required').map((o) => o.meterId);
      results.push({
        index,
        outcome: answered.some((o) => o.r === 'applied') ? 'applied' : 'unchanged',
        meter_ids: answered.map((o) => o.meterId),
        ...(skipped.length ? { not_required_meter_ids: skipped } : {}),
      });
    }
    await work.commit();
    return {
      results,
      applied: results.filter((r) => r.outcome === 'applied').length,
      unchanged: results.filter((r) => r.outcome === 'unchanged').length,
      errors: results.filter((r) => r.outcome === 'error').length,
    };
  }

  /** A meter's readiness with its history (newest first); a meter never tracked shows what it would be. */
  async forMeter(meter: StoredMeter): Promise<MeterReadiness> {
    const stored = await this.deps.readiness.get(meter.ref);
    if (stored) return { ...readinessView(stored), history: await this.deps.readiness.history(meter.ref) };
    const req = requirementOf(storedMeter(meter), this.deps.clock.now());
    const view = readinessView(null);
    return { ...view, state: req.required ? 'awaiting' : 'not_required', required_by: req.by, history: [] };
  }

  /** Meters in a state, the longest in it first, with the count in each state. */
  async oldest(state: ReadinessState, limit: number): Promise<{ meters: ReadinessListEntry[]; counts: Record<ReadinessState, number> }> {
    const [rows, stored] = await Promise.all([this.deps.readiness.oldestIn(state, limit), this.deps.readiness.counts()]);
    return {
      meters: rows.map((r) => ({ meter_id: r.meterId, partner_reference: r.partnerReference, readiness: readinessView(r) })),
      counts: Object.fromEntries(READINESS_STATES.map((s) => [s, stored[s] ?? 0])) as Record<ReadinessState, number>,
    };
  }

  async list(state: ReadinessState, limit: number, after?: string): Promise<ReadinessPage> {
    const rows = await this.deps.readiness.listByState(state, limit + 1, after);
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const stored = await this.deps.readiness.counts();
    const counts = Object.fromEntries(READINESS_STATES.map((s) => [s, stored[s] ?? 0])) as Record<ReadinessState, number>;
    return {
      state,
      meters: page.map((r) => ({ meter_id: r.meterId, partner_reference: r.partnerReference, readiness: readinessView(r) })),
      counts,
      next_after: more ? page[page.length - 1]!.meterId : null,
    };
  }
}

/**
 * The moves of one transaction: each meter's readiness as the earlier answers of the same request
 * left it (a batch may name a meter twice), written once at the end.
 */
class Work {
  private readonly records = new Map<number, ReadinessRecord | null>();
  private readonly changes = new Map<number, ReadinessChange>();
  private readonly views = new Map<number, MeterView>();

  /** Read each meter for the events only when a destination will render them (see EventSink.wants). */
  private readonly needsViews: boolean;

  constructor(
    private readonly deps: { meters: MeterStore; readiness: ReadinessStore; writer: ReadinessWriter; sink?: EventSink },
    private readonly tx: Tx,
    private readonly now: Date,
  ) {
    this.needsViews = deps.sink?.wants?.('meter.readiness.updated') ?? true;
  }

  record(ref: number): ReadinessRecord | null {
    return this.records.get(ref) ?? null;
  }

  async answer(head: StoredMeter, answer: ReadinessAnswerInput, source: `partner:${string}`): Promise<'applied' | 'unchanged' | 'not_required'> {
    let current = await this.load(head);
    if (!current || current.state === 'not_required') {
      // A meter stored before readiness was tracked, or not swept yet: what it needs now.
      const view = await this.view(head);
      const req = requirementOf(view, this.now);
      if (!req.required) return 'not_required';
      const awaiting: ReadinessRecord = { state: 'awaiting', since: this.now, source: 'sync', reason: null, deviceIds: null, effectiveAt: null, requiredBy: req.by, requiredUntil: req.until, deviceKey: deviceKey(view), overdueNotified: false };
      this.stage(head, current, awaiting);
      current = awaiting;
    }
    const r = partnerMove(current, answer, source, this.now);
    if (r.kind !== 'applied') return r.kind;
    this.stage(head, current, r.move.next);
    return 'applied';
  }

  /** Read the records and meters of a batch in a few queries instead of two per meter. */
  async preload(heads: readonly StoredMeter[]): Promise<void> {
    const fresh = heads.filter((h) => !this.records.has(h.ref));
    if (!fresh.length) return;
    const records = await this.deps.readiness.getMany(
      fresh.map((h) => h.ref),
      this.tx,
    );
    for (const h of fresh) this.records.set(h.ref, records.get(h.ref) ?? null);
    // Meters are read when a destination will render their events, or to find out what one without a record needs.
    const read = this.needsViews ? fresh : fresh.filter((h) => !this.records.get(h.ref) || this.records.get(h.ref)!.state === 'not_required');
    for (const full of await this.deps.meters.withRaw(read, this.tx)) this.views.set(full.ref, meterView(storedMeter(full)));
  }

  /** The staged moves of each meter, as one change from what was stored to where it ends. */
  async commit(): Promise<void> {
    await this.deps.writer.apply(this.tx, [...this.changes.values()], this.now);
  }

  private stage(head: StoredMeter, current: ReadinessRecord | null, next: ReadinessRecord): void {
    const first = this.changes.get(head.ref);
    const view = (): MeterView => {
      const v = this.views.get(head.ref);
      if (!v) throw new Error(`meter ${head.meterId} was not read for its readiness event`);
      return v;
    };
    this.changes.set(head.ref, { ref: head.ref, meterId: head.meterId, sequence: head.sequence, view, current: first ? first.current : current, move: { next, overdue: false } });
    this.records.set(head.ref, next);
  }

  private async load(head: StoredMeter): Promise<ReadinessRecord | null> {
    if (!this.records.has(head.ref)) this.records.set(head.ref, (await this.deps.readiness.get(head.ref, this.tx)) ?? null);
    if (this.needsViews) await this.view(head);
    return this.records.get(head.ref)!;
  }

  private async view(head: StoredMeter): Promise<MeterView> {
    let view = this.views.get(head.ref);
    if (!view) {
      const [full] = await this.deps.meters.withRaw([head], this.tx);
      view = meterView(storedMeter(full!));
      this.views.set(head.ref, view);
    }
    return view;
  }
}
