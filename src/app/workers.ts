/**
 * `burrow server --workers N|auto`: N node processes of one cluster on one machine, sharing one
 * port (node:cluster: the primary accepts and hands connections out round-robin). Each worker is a
 * node like any other (its own id, `<id>-w<i>`, its own peer port for the other nodes' links); the
 * primary only starts them, replaces one that dies, and passes a stop on to them.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from '../core/logger.js';

/** The worker's index, in the environment of a worker process. */
const WORKER_ENV = 'BURROW_WORKER_INDEX';
/** The message the primary sends a worker to stop (drain and exit). */
const STOP_MESSAGE = 'burrow:stop';
/** Most workers (--workers); `auto` is the machine's available parallelism. */
export const MAX_WORKERS = 256;
/** A worker that exits on its own is started again after this long. */
export const WORKER_RESTART_DELAY_MS = 1_000;

/** --workers: a count from 1 to MAX_WORKERS, or `auto`. */
export function workerCount(value: number | 'auto'): number {
  return value === 'auto' ? Math.min(MAX_WORKERS, availableParallelism()) : value;
}

/** In a worker process: its index; else undefined (the primary, or no --workers). */
export function workerIndex(): number | undefined {
  const v = process.env[WORKER_ENV];
  return cluster.isWorker && v !== undefined ? Number(v) : undefined;
}

/** In a worker: resolves when the primary asks it to stop. */
export function primaryStop(): Promise<void> {
  return new Promise((resolve) => {
    process.on('message', (m) => {
      if (m === STOP_MESSAGE) resolve();
    });
  });
}

/**
 * In the primary: start `count` workers (this same command, with WORKER_ENV set), replace one that
 * exits unasked, and on `stop` ask each to stop and wait for all. Resolves with 0, or 1 when a
 * worker failed to start at all (its error is in the log).
 */
export async function superviseWorkers(count: number, logger: Logger, stop: Promise<void>): Promise<number> {
  let stopping = false;
  const live = new Set<Worker>();
  let failedAtStart = false;
  const start = (i: number): void => {
    const w = cluster.fork({ [WORKER_ENV]: String(i) });
    live.add(w);
    let listening = false;
    w.once('listening', () => (listening = true));
    w.once('exit', (code, signal) => {
      live.delete(w);
      if (stopping) return;
      if (!listening) {
        // a configuration error repeats on every start: stop everything
        failedAtStart = true;
        logger.error({ worker: i, code, signal }, 'a worker failed to start: stopping');
        void stopAll();
        return;
      }
      logger.warn({ worker: i, code, signal }, `worker ${i} exited: starting it again`);
      setTimeout(() => {
        if (!stopping) start(i);
      }, WORKER_RESTART_DELAY_MS).unref();
    });
  };
  let allGone: () => void = () => {};
  const gone = new Promise<void>((r) => (allGone = r));
  const stopAll = async (): Promise<void> => {
    stopping = true;
    for (const w of live) if (w.isConnected()) w.send(STOP_MESSAGE);
    const check = setInterval(() => {
      if (live.size === 0) {
        clearInterval(check);
        allGone();
      }
    }, 50);
  };
  for (let i = 0; i < count; i++) start(i);
  await Promise.race([stop.then(stopAll), gone]);
  await gone;
  return failedAtStart ? 1 : 0;
}
