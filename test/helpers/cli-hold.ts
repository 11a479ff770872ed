/**
 * Preloaded into a CLI child (`node -r tsx/cjs -r test/helpers/cli-hold.ts bin/leap-connector.js ...`):
 * loads the connector's modules, says `ready` on fd 3, then blocks until the test writes a line
 * on stdin. Starting a child costs over a second of module loading; holding it warm lets a test
 * restart "immediately" after a kill (while the dead holder's lease is still valid) and start two
 * children at the same instant. bin/leap-connector.js then runs unchanged, from the module cache.
 */
import { readSync, writeSync } from 'node:fs';
import '../../src/main';

const pause = new Int32Array(new SharedArrayBuffer(4));
writeSync(3, 'ready\n');
const byte = Buffer.alloc(1);
for (;;) {
  let n: number;
  try {
    n = readSync(0, byte, 0, 1, null);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    Atomics.wait(pause, 0, 0, 5);
    continue;
  }
  // The test went away without saying go: do nothing rather than sync unattended.
  if (n === 0) process.exit(2);
  if (byte[0] === 0x0a) break;
}
