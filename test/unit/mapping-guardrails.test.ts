import assert from 'node:assert/strict';
import { MappingError } from '../../src/errors';
import { destinationOf, destinationText, eventOf, siteMeter } from '../helpers/destinations';

/** Render and return the MappingError; a hang would fail the test through mocha's timeout. */
async function failure(mapping: string, settings = ''): Promise<MappingError> {
  const dest = destinationOf(destinationText(mapping, settings));
  try {
    await dest.render(siteMeter(), eventOf());
  } catch (err) {
    assert.ok(err instanceof MappingError, `expected a MappingError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the guardrails to stop the expression');
}

describe('mapping guardrails', () => {
  it('stops an endless (tail-)recursive expression with the timeout', async () => {
    const err = await failure(`  loop: { expr: '($f := function($n) { $f($n + 1) }; $f(0))' }\n`);
    assert.equal(err.code, 'mapping_failed');
    assert.equal(err.field, '/mapping/loop');
    assert.match(err.message, /field \/mapping\/loop \(expr\) failed for meter 5d1f\S+: JSONata D1012: Evaluation timeout after 250 milliseconds\. Check for infinite loop \(a guardrail stopped it\)/);
  });

  it('stops deep non-tail recursion with the stack limit', async () => {
    const err = await failure(`  deep: { expr: '($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))' }\n`);
    assert.match(err.message, /JSONata D1011: Stack overflow\. Check for non-terminating recursive function\..*\(a guardrail stopped it\)/);
  });

  it('stops a runaway sequence', async () => {
    const err = await failure(`  big: { expr: '[1..5000000]' }\n`);
    assert.match(err.message, /JSONata D2015: The maximum sequence length of \d+ was exceeded\..*\(a guardrail stopped it\)/);
  });

  it('stops a looping filter too, naming the filter', async () => {
    const dest = destinationOf(destinationText('  id: meter_id\n', `filter: '($f := function($n) { $f($n) }; $f(0))'\n`));
    await assert.rejects(dest.filter(siteMeter(), eventOf()), (err: unknown) => {
      assert.ok(err instanceof MappingError);
      assert.equal(err.field, '/filter');
      assert.match(err.message, /filter failed for meter 5d1f\S+: JSONata D1012: Evaluation timeout/);
      return true;
    });
  });

  it('rejects a record too large to send', async () => {
    const err = await failure(`  huge: { expr: '$pad("", 1100000, "x")' }\n`);
    assert.match(err.message, /the mapped record for meter 5d1f\S+ is 1100\d{3} bytes, over the 1048576-byte limit/);
  });

  it('still evaluates legitimate recursion and ranges within the limits', async () => {
    const dest = destinationOf(destinationText(`  sum: { expr: '($f := function($n) { $n = 0 ? 0 : $n + $f($n - 1) }; $f(20))' }\n  n: { expr: '$count([1..50000])' }\n`));
    assert.deepEqual(await dest.render(siteMeter(), eventOf()), { sum: 210, n: 50000 });
  });
});
