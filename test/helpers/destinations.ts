import assert from 'node:assert/strict';
import { meterView, type MeterView } from '../../src/domain/events';
import { normalizeV1 } from '../../src/domain/normalize-v1';
import { normalizeV2 } from '../../src/domain/normalize-v2';
import type { Destination, EventContext } from '../../src/domain/destination';
import { parseDestination } from '../../src/mapping/load-destination';
import { formatProblem } from '../../src/config/yaml-source';
import { v1SearchAnswer, v2DetailsGetAnswer, v2EnrollmentGetAnswer, v2EnrollmentSearchAnswer } from '../fixtures/leap-examples';

/** The Standard Webhooks test-vector secret (24 bytes). */
export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** Three lines of settings and `mapping:`, so a mapping's first field is on line 5. */
export function destinationText(mapping: string, settings = ''): string {
  return `url: https://partner.example.com/hooks\nevents: ["*"]\nsecrets: [${SECRET}]\n${settings}mapping:\n${mapping}`;
}

export function problemsOf(text: string, file = 'partner.yaml', env: NodeJS.ProcessEnv = {}): string[] {
  return parseDestination(text, file, { env }).problems.map(formatProblem);
}

/** A destination from YAML text; fails the test with every problem when there are any. */
export function destinationOf(text: string, file = 'partner.yaml', env: NodeJS.ProcessEnv = {}): Destination {
  const parsed = parseDestination(text, file, { env });
  assert.deepEqual(parsed.problems.map(formatProblem), []);
  return parsed.destination!;
}

/** Leap's v2 examples for one CAISO battery site: details plus the enrollment example re-keyed to it. */
export function siteMeter(): MeterView {
  const enrollment = v2EnrollmentGetAnswer();
  Object.assign(enrollment, { meter_id: '5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d', partner_reference: 'site-000123' });
  return meterView(normalizeV2(v2DetailsGetAnswer(), enrollment));
}

/** Leap's v2 enrollment search example alone: a device with no details yet. */
export function deviceMeter(): MeterView {
  return meterView(normalizeV2(null, v2EnrollmentSearchAnswer().meters[0]!));
}

/** Leap's v1 search example: per-trade-date market groups for 2025-06-14..16. */
export function v1Meter(): MeterView {
  return meterView(normalizeV1(v1SearchAnswer().results[0]!));
}

export function eventOf(type = 'meter.created', occurredAt = '2025-06-14T16:00:00.000Z', changes: EventContext['changes'] = null, sequence = 1): EventContext {
  return { type, sequence, changes, occurred_at: occurredAt };
}

/** Render one mapping (YAML lines under `mapping:`) for a meter. */
export async function render(mapping: string, meter: MeterView = siteMeter(), event: EventContext = eventOf(), settings = ''): Promise<Record<string, unknown>> {
  return destinationOf(destinationText(mapping, settings)).render(meter, event);
}
