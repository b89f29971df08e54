/**
 * glibc's malloc gives the top of its heap back to the kernel as soon as 128 KiB of it is free
 * (M_TRIM_THRESHOLD) and then takes it again: in a process that moves a stream of 64 KiB socket
 * buffers (allocated, written, freed, thousands a second) that is a brk() shrink and grow and fresh
 * zeroed pages to fault in for nearly every buffer. Measured on a full `burrow server`: a 500 MiB
 * `curl -T` through its pipe took 2.2–2.5 s, and 0.69–0.80 s with MALLOC_TRIM_THRESHOLD_=256 MiB in
 * the environment (pipe serve 1.06–1.26 → 0.68–0.91 s).
 *
 * The environment variable must be set before the process starts, so the CLI cannot set its own.
 * glibc adjusts its thresholds by itself when an mmap()ed block is freed (the mmap threshold becomes
 * that block's size, the trim threshold twice it, for blocks up to 32 MiB on 64-bit): one 30 MiB
 * allocation freed at start does that, after which buffers stay in the heap (a 500 MiB pipe
 * transfer: 0.68–0.86 s). The freeing needs a garbage collection now, so this runs one — once, at
 * start, in the CLI's long-running commands only. Nothing happens where the operator set
 * MALLOC_TRIM_THRESHOLD_ or MALLOC_MMAP_THRESHOLD_ themselves, or off Linux.
 *
 * The servers (`burrow server`, `pipe serve`) wait for their first traffic instead
 * (deferMallocThresholds, then mallocFirstTraffic at the first tunnel stream or pipe transfer):
 * once the thresholds are raised glibc keeps what start-up freed, 1.5 MiB of an idle server's RSS
 * (bench/idle-memory.ts: 63.4 → 61.9) that a server nobody uses yet need not hold.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/** The block allocated and freed to move glibc's thresholds (≤ its 32 MiB cap for the adjustment). */
export const MALLOC_PRIMER_BYTES = 30 * 1024 * 1024;

/** Raise glibc's trim and mmap thresholds for this process (see the file's comment). Returns whether it ran. */
export function settleMallocThresholds(env: NodeJS.ProcessEnv = process.env): boolean {
  if (!applies(env)) return false;
  let primer: Buffer | undefined = Buffer.allocUnsafeSlow(MALLOC_PRIMER_BYTES);
  primer[0] = 1;
  primer = undefined;
  collect(); // frees the primer's memory now
  return true;
}

/** A full collection, now (a context made after the flag has gc()). */
function collect(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

function applies(env: NodeJS.ProcessEnv): boolean {
  if (process.platform !== 'linux') return false;
  return env['MALLOC_TRIM_THRESHOLD_'] === undefined && env['MALLOC_MMAP_THRESHOLD_'] === undefined;
}

let deferred = false;

/**
 * Settle the thresholds at this process's first traffic (mallocFirstTraffic) rather than now.
 * The collection the primer brought with it still runs now: without it the idle server held
 * 0.8 MiB more and pipe serve 0.4 (bench/idle-memory.ts).
 */
export function deferMallocThresholds(env: NodeJS.ProcessEnv = process.env): void {
  deferred = applies(env);
  if (deferred) collect();
}

/**
 * A server starts carrying bytes (a tunnel stream opens, a pipe transfer starts): settle the
 * thresholds if deferMallocThresholds asked for it, once, right after the current event. Costs a
 * boolean test on every later call; does nothing in a process that did not defer (the SDK's).
 */
export function mallocFirstTraffic(): void {
  if (!deferred) return;
  deferred = false;
  setImmediate(settleMallocThresholds);
}
