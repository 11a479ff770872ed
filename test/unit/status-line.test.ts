import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { StatusLine, statusText, type StatusFigures } from '../../src/compose/status-line';

const figures: StatusFigures = { meters: 12_345, lastSync: { status: 'succeeded', finishedAt: '2026-12-07T12:03:04.567Z' }, delivered: 1234, pending: 56, dead: 2, ready: 96, awaiting: 132, overdue: 0 };

describe('the demo status line', () => {
  it('says the portfolio, the last sync, deliveries and readiness in one short line', () => {
    assert.equal(statusText(figures), 'meters 12,345 · sync ok 12:03:04 · delivered 1,234, queued 56, dead 2 · ready 96, awaiting 132');
    assert.equal(statusText({ ...figures, lastSync: null, overdue: 3 }), 'meters 12,345 · sync pending · delivered 1,234, queued 56, dead 2 · ready 96, awaiting 132, overdue 3');
    assert.equal(statusText({ ...figures, lastSync: { status: 'failed', finishedAt: null } }).split(' · ')[1], 'sync failed');
    assert.ok(statusText({ ...figures, meters: 1_000_000, delivered: 99_999_999, pending: 9_999_999, dead: 999_999, awaiting: 999_999, ready: 999_999, overdue: 999_999 }).length < 120);
  });

  it('redraws in place, keeps going when a read fails, and ends its line when stopped', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => (text += b.toString()));
    let calls = 0;
    const line = new StatusLine(out, async () => {
      calls += 1;
      if (calls === 2) throw new Error('database busy');
      return { ...figures, delivered: calls };
    }, 20);
    line.start();
    await new Promise((resolve) => setTimeout(resolve, 110));
    line.stop();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const frames = text.split('\r\x1b[2K').filter(Boolean);
    assert.ok(calls >= 3, `drawn ${calls} times`);
    assert.ok(frames.length >= 2);
    assert.ok(frames.every((f) => f.startsWith('meters 12,345')), 'each frame is one whole line');
    assert.ok(!frames.some((f) => f.includes('delivered 2,')), 'a failed read draws nothing');
    assert.ok(text.endsWith('\n') && !text.slice(0, -1).includes('\n'), 'one line, ended once');
  });
});
