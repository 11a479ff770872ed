import assert from 'node:assert/strict';
import { METER_EVENT_TYPES } from '../../src/domain/events';
import { compileEventPatterns, typesMatching } from '../../src/mapping/event-patterns';
import { destinationOf, deviceMeter, eventOf, SECRET, siteMeter, v1Meter } from '../helpers/destinations';

describe('destination subscriptions and filters', () => {
  it('matches event types exactly or with * standing for any text', () => {
    const matches = compileEventPatterns(['meter.created', 'meter.enrollment.*']);
    assert.deepEqual(
      METER_EVENT_TYPES.filter(matches),
      ['meter.created', 'meter.enrollment.global-status.updated', 'meter.enrollment.activated', 'meter.enrollment.participation-status.updated', 'meter.enrollment.required-actions.updated', 'meter.enrollment.group.updated'],
    );
    assert.deepEqual(METER_EVENT_TYPES.filter(compileEventPatterns(['*'])), [...METER_EVENT_TYPES]);
    assert.deepEqual(typesMatching('*.updated'), [
      'meter.partner-reference.updated',
      'meter.enrollment.global-status.updated',
      'meter.enrollment.participation-status.updated',
      'meter.enrollment.required-actions.updated',
      'meter.enrollment.group.updated',
      'meter.details.updated',
      'meter.readiness.updated',
    ]);
    // Dots are literal: meter.created does not match meterXcreated, nor a longer type.
    const exact = compileEventPatterns(['meter.created']);
    assert.equal(exact('meterXcreated'), false);
    assert.equal(exact('meter.created.again'), false);
    assert.deepEqual(typesMatching('meter.enrolment.*'), []);
  });

  it('exposes the subscription on the destination', () => {
    const dest = destinationOf(`url: https://x.example\nevents: [meter.archived, "meter.readiness.*"]\nsecrets: [${SECRET}]\n`);
    assert.deepEqual(dest.events, ['meter.archived', 'meter.readiness.*']);
    assert.equal(dest.matchesEvent('meter.readiness.overdue'), true);
    assert.equal(dest.matchesEvent('meter.created'), false);
  });

  it('passes every meter when there is no filter', async () => {
    const dest = destinationOf(`url: https://x.example\nevents: ["*"]\nsecrets: [${SECRET}]\n`);
    assert.equal(await dest.filter(deviceMeter(), eventOf()), true);
  });

  it('filters with a JSONata expression over the meter, $event and $destination', async () => {
    const caiso = destinationOf(`url: https://x.example\nevents: ["*"]\nsecrets: [${SECRET}]\nfilter: 'transmission_region = "CAISO"'\n`);
    assert.deepEqual(await Promise.all([siteMeter(), deviceMeter(), v1Meter()].map((m) => caiso.filter(m, eventOf()))), [true, false, true]);

    const tagged = destinationOf(`url: https://x.example\nevents: ["*"]\nsecrets: [${SECRET}]\nfilter: '"summer-2025" in tags'\n`);
    assert.deepEqual(await Promise.all([siteMeter(), deviceMeter()].map((m) => tagged.filter(m, eventOf()))), [true, false]);

    const byEvent = destinationOf(`url: https://x.example\nevents: ["*"]\nsecrets: [${SECRET}]\nfilter: |\n  $event.type != "meter.details.updated" or "customer.city" in $event.changes.path\n`);
    assert.equal(await byEvent.filter(siteMeter(), eventOf('meter.created')), true);
    assert.equal(await byEvent.filter(siteMeter(), eventOf('meter.details.updated', 'x', [{ path: 'customer.city', from: 'a', to: 'b' }])), true);
    assert.equal(await byEvent.filter(siteMeter(), eventOf('meter.details.updated', 'x', [{ path: 'device.device_model', from: 'a', to: 'b' }])), false);
  });

  it("uses JSONata's truthiness: empty text, zero, an empty list and nothing are false", async () => {
    const results = [];
    for (const expr of ['""', '0', '[]', 'customer.nothing', '"x"', '[0, 1]', '{"a": 1}']) {
      const dest = destinationOf(`url: https://x.example\nevents: ["*"]\nsecrets: [${SECRET}]\nfilter: '${expr}'\n`);
      results.push(await dest.filter(siteMeter(), eventOf()));
    }
    assert.deepEqual(results, [false, false, false, false, true, true, true]);
  });
});
