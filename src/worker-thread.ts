import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread that runs `entry(parentPort)`, exported by the module `file` (its path without
 * the extension). Under tsx (the TypeScript sources) the thread registers tsx too, by its resolved
 * path: the thread's own require would look for it from the working directory. Compiled, it loads
 * the .js. No node options of the process go with it: its preloaded modules are not the thread's.
 */
export function startThread(file: string, entry: string, options: Omit<WorkerOptions, 'eval' | 'execArgv'> = {}): Worker {
  const module = `${file}${path.extname(__filename)}`;
  const tsx = module.endsWith('.ts') ? `require(${JSON.stringify(require.resolve('tsx/cjs'))});` : '';
  return new Worker(`${tsx}require(${JSON.stringify(module)}).${entry}(require('node:worker_threads').parentPort);`, { ...options, eval: true, execArgv: [] });
}
