import type jsonata from 'jsonata';
import type { SourcePosition } from '../config/yaml-source';
import type { Destination, EventContext } from '../domain/destination';
import { parseDuration } from '../domain/duration';
import type { MeterView } from '../domain/events';
import type { SigningSecret } from '../domain/signing';
import { MappingError } from '../errors';
import type { DestinationFile } from './destination-schema';
import { compileEventPatterns } from './event-patterns';
import { errorIndex, evaluate, isJsonataFailure, truthy } from './expressions';
import { MAX_RECORD_BYTES, renderFields, type CompiledField } from './field-mapping';

export interface CompiledFilter {
  expr: jsonata.Expression;
  text: string;
  position: (index: number) => SourcePosition | null;
}

export interface DestinationParts {
  name: string;
  file: string;
  spec: DestinationFile;
  secrets: SigningSecret[];
  filter: CompiledFilter | null;
  fields: CompiledField[];
  version: string;
  headerSecrets: string[];
}

/** A destination compiled from its file; immutable, so a reload swaps whole objects. */
export class LoadedDestination implements Destination {
  readonly name: string;
  readonly file: string;
  readonly description: string | null;
  readonly url: string;
  readonly enabled: boolean;
  readonly events: string[];
  readonly secrets: SigningSecret[];
  readonly timeoutMs: number;
  readonly ratePerSecond: number | null;
  readonly concurrency: number;
  readonly retryScheduleMs: number[];
  readonly jitter: number;
  readonly deadOn: number[];
  readonly pauseAfterFailures: number;
  readonly headers: Record<string, string>;
  readonly version: string;
  readonly sensitiveValues: string[];
  private readonly matcher: (type: string) => boolean;
  private readonly filterExpr: CompiledFilter | null;
  private readonly fields: CompiledField[];

  constructor(p: DestinationParts) {
    this.name = p.name;
    this.file = p.file;
    this.description = p.spec.description ?? null;
    this.url = p.spec.url;
    this.enabled = p.spec.enabled;
    this.events = [...p.spec.events];
    this.secrets = p.secrets;
    this.timeoutMs = parseDuration(p.spec.timeout);
    this.ratePerSecond = p.spec.rate_limit_per_second;
    this.concurrency = p.spec.concurrency;
    this.retryScheduleMs = p.spec.retry.schedule.map(parseDuration);
    this.jitter = p.spec.retry.jitter;
    this.deadOn = [...p.spec.dead_on];
    this.pauseAfterFailures = p.spec.pause_after_failures;
    this.headers = { ...p.spec.headers };
    this.version = p.version;
    this.sensitiveValues = [...p.secrets.map((s) => s.secret), ...p.headerSecrets];
    this.matcher = compileEventPatterns(this.events);
    this.filterExpr = p.filter;
    this.fields = p.fields;
    Object.freeze(this.events);
    Object.freeze(this.headers);
  }

  matchesEvent(type: string): boolean {
    return this.matcher(type);
  }

  async filter(meter: MeterView, event: EventContext): Promise<boolean> {
    if (!this.filterExpr) return true;
    try {
      return truthy(await evaluate(this.filterExpr.expr, meter, this.bindings(event)));
    } catch (err) {
      const failure = isJsonataFailure(err) ? err : { code: 'error', message: err instanceof Error ? err.message : String(err) };
      const pos = this.filterExpr.position(errorIndex(failure, this.filterExpr.text));
      const where = pos ? `${this.file}:${pos.line}:${pos.col}` : this.file;
      throw new MappingError(`destination "${this.name}": filter failed for meter ${meter.meter_id}: JSONata ${failure.code}: ${failure.message} [${where}]`, {
        destination: this.name,
        field: '/filter',
        meter_id: meter.meter_id,
        position: where,
        cause_code: failure.code,
      });
    }
  }

  async render(meter: MeterView, event: EventContext): Promise<Record<string, unknown>> {
    const record = await renderFields(this.fields, { destination: this.name, meter, bindings: this.bindings(event), started: Date.now() });
    const size = Buffer.byteLength(JSON.stringify(record));
    if (size > MAX_RECORD_BYTES) {
      throw new MappingError(`destination "${this.name}": the mapped record for meter ${meter.meter_id} is ${size} bytes, over the ${MAX_RECORD_BYTES}-byte limit`, {
        destination: this.name,
        field: '/mapping',
        meter_id: meter.meter_id,
      });
    }
    return record;
  }

  private bindings(event: EventContext) {
    return { event: { type: event.type, sequence: event.sequence, changes: event.changes, occurred_at: event.occurred_at }, destination: this.name };
  }
}
