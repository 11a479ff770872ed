/**
 * What the HTTP face (app.ts) needs of the simulator. Simulator implements it and createApp takes
 * it, so simulator.ts imports app.ts and never the reverse.
 */
import type { Logger } from '../logger';
import type { LeapActionCode, PartnerActionCode, PreferenceName, StatusName } from './catalog';
import type { AdvanceSummary } from './evolve';
import type { FaultConfig, Faults } from './faults';
import type { SearchRequest } from './filters';
import type { AuthorizeOptions } from './portfolio';
import type { MeterViews, Renderer } from './render';
import type { SimulatorStateReport } from './report';
import type { SearchKind, SearchOutcome } from './search';
import type { MeterStore } from './state';
import type { LeapEnvelope, LeapWebhooks } from './webhooks';

/** The Leap API's state (auth, faults, searches, views, webhooks) and the /_sim scenario helpers. */
export interface ServedSimulator {
  readonly apiKey: string;
  readonly accountId: string;
  readonly logger: Logger;
  readonly store: MeterStore;
  readonly renderer: Renderer;
  readonly faults: Faults;
  readonly webhooks: LeapWebhooks;
  now(): Date;
  recordRequest(route: string, status: number): void;
  search(kind: SearchKind, request: SearchRequest): SearchOutcome;
  pageBody(kind: SearchKind, indices: readonly number[], nextPageToken: string | undefined): Buffer;
  advance(hours: number): AdvanceSummary;
  state(): SimulatorStateReport;
  setFaults(f: FaultConfig): void;
  clearFaults(): void;
  events(): LeapEnvelope[];
  meterIds(filter: { status?: StatusName; limit?: number }): string[];
  authorize(options: AuthorizeOptions): string[];
  meter(meterId: string): MeterViews;
  setStatus(meterId: string, status: StatusName): void;
  activate(meterId: string, marketGroup?: string): void;
  addPartnerAction(meterId: string, code: PartnerActionCode, options: { keepStatus?: boolean }): void;
  clearPartnerActions(meterId: string, code?: PartnerActionCode): void;
  setLeapActions(meterId: string, codes: LeapActionCode[]): void;
  setMarketGroup(meterId: string, marketGroup: string, options: { fromTradeDate?: string }): void;
  setParticipation(meterId: string, preference: PreferenceName, options: { end?: Date }): void;
  editDetails(meterId: string, parts: { address?: boolean; tariff?: boolean; device?: boolean }): void;
  archive(meterId: string): void;
  setPartnerReference(meterId: string, reference: string): void;
  addUnknownField(meterId: string, name: string, value: unknown, parts?: ('details' | 'enrollment' | 'v1')[]): void;
}
