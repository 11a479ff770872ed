import type { Change, MeterView } from './events';
import type { SigningSecret } from './signing';

/** What a mapping and filter see of the event being delivered. */
export interface EventContext {
  type: string;
  sequence: number;
  changes: Change[] | null;
  occurred_at: string;
}

/** A partner endpoint as the outbox and the workers use it (loaded from config/destinations/*.yaml). */
export interface OutboundDestination {
  name: string;
  url: string;
  enabled: boolean;
  matchesEvent(type: string): boolean;
  filter(meter: MeterView, event: EventContext): Promise<boolean>;
  secrets: SigningSecret[];
  timeoutMs: number;
  ratePerSecond: number | null;
  concurrency: number;
  retryScheduleMs: number[];
  jitter: number;
  deadOn: number[];
  pauseAfterFailures: number;
  headers: Record<string, string>;
  render(meter: MeterView, event: EventContext): Promise<Record<string, unknown>>;
  version: string;
}

/** A destination as loaded from its file: what the outbox and workers use, plus where it came from. */
export interface Destination extends OutboundDestination {
  file: string;
  /** Patterns as written (`meter.created`, `meter.enrollment.*`, `*`). */
  events: string[];
  /** Secrets and header values taken from the environment, for the log redactor. */
  sensitiveValues: string[];
}

/** The current destinations (hot-reloaded underneath). */
export interface DestinationSource {
  all(): OutboundDestination[];
  get(name: string): OutboundDestination | undefined;
}
