import { Worker } from 'node:worker_threads';

/**
 * Copies SQLite's write-ahead log back into the database file from a worker thread, so the
 * connector's own connection never does it inside a commit. Left to SQLite, the commit that
 * crosses `wal_autocheckpoint` copies and fsyncs tens of megabytes while every request, timer and
 * delivery of the process waits (a third of a first sync's database time).
 *
 * The worker opens its own connection and keeps running PASSIVE checkpoints right behind the
 * writer: each copies what is committed without taking the write lock, so writers go on; once the
 * log is fully copied, the next writer starts it again from the beginning. The main connection
 * keeps a higher `wal_autocheckpoint` as a backstop should this worker fall behind.
 */
export interface Checkpointer {
  /** Resolves once the worker has closed its connection (or was gone already). */
  stop(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.filename, { fileMustExist: true });
  db.pragma('busy_timeout = 1000');
} catch (err) {
  // Said here in words: an error thrown out of a worker reaches the parent without its message.
  parentPort.postMessage({ error: String((err && err.message) || err), fatal: true });
  process.exit(1);
}
let timer = null;
let delay = workerData.minIntervalMs;
function tick() {
  let copied = 0;
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    copied = r.checkpointed > 0 && r.log > 0 ? r.checkpointed : 0;
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
  // Right behind the writer while it writes; backing off to a check a second when it is quiet.
  delay = copied > 0 ? workerData.minIntervalMs : Math.min(workerData.maxIntervalMs, delay * 2);
  timer = setTimeout(tick, delay);
}
timer = setTimeout(tick, delay);
parentPort.on('message', (m) => {
  if (m === 'stop') { clearTimeout(timer); db.close(); process.exit(0); }
});
`;

export interface CheckpointerOptions {
  filename: string;
  /** How often to checkpoint while the log grows, and at most how long to wait while it does not. */
  minIntervalMs?: number;
  maxIntervalMs?: number;
  onError?: (message: string) => void;
}

/** How long a stopping worker may take to close its connection before it is terminated. */
const STOP_TIMEOUT_MS = 2000;

export function startCheckpointer(opts: CheckpointerOptions): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      driver: require.resolve('better-sqlite3'),
      filename: opts.filename,
      minIntervalMs: opts.minIntervalMs ?? 20,
      maxIntervalMs: opts.maxIntervalMs ?? 1000,
    },
  });
  // A connector that is otherwise done must not be kept alive by its checkpointer.
  worker.unref();
  // Said once: a checkpoint that fails keeps failing the same way every few milliseconds.
  let told = false;
  const tell = (message: string): void => {
    if (told) return;
    told = true;
    opts.onError?.(message);
  };
  worker.on('message', (m: { error?: string }) => {
    if (m.error) tell(m.error);
  });
  // A checkpointer that cannot run leaves checkpoints to SQLite's own (wal_autocheckpoint).
  worker.on('error', (err: unknown) => tell(err instanceof Error ? err.message : `the checkpointer failed: ${JSON.stringify(err)}`));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopping: Promise<void> | null = null;
  return {
    stop() {
      if (stopping) return stopping;
      // Held until it has closed its connection: a process that exits first kills the worker with
      // the database open, and the -wal and -shm files stay behind the clean close of our own.
      worker.ref();
      worker.postMessage('stop');
      const stuck = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      stuck.unref();
      stopping = exited.then(() => clearTimeout(stuck));
      return stopping;
    },
  };
}
