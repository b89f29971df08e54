/**
 * V8 counts the array buffers a process allocates (every socket read is a fresh 64 KiB one) against
 * its old generation's allocation limit, young ones included, and lets up to 32 MiB of young buffers
 * pile up before a scavenge frees them (2 × its largest semi-space, a constant). A heap whose limit
 * is less than that above its live size — a `burrow server` holds ~11 MiB with a limit ~21 MiB, V8
 * grows the limit by a factor of its live size — starts incremental marking and a full mark-compact
 * every 10 MiB streamed: measured, 100 mark-compacts during 3 GiB through one TCP tunnel, the
 * server's CPU per GiB 1.4–2.1 s against 0.7–0.8 s for a bare `socket.pipe()` hop, whose heap is
 * too small for V8 to mark incrementally at all. A small Node process never sees this; a server
 * with a real module graph does.
 *
 * So `burrow server` keeps its old generation's limit at least HEAP_HEADROOM_BYTES above the live
 * heap while the heap is small, from the moment it listens: after each full collection V8's
 * `--heap-growing-percent` (read whenever V8 recomputes the limit, so settable at run time) is set to
 * give that headroom, and cleared (V8's own growing factor) once the live heap is
 * HEAP_HEADROOM_MAX_LIVE_BYTES or more, where V8's factor gives as much. An idle server allocates
 * nothing and keeps its heap; under load the old generation may hold up to the headroom in garbage
 * before a collection, which is the point. Nothing changes where the operator passed their own
 * --heap-growing-percent. `burrow pipe serve` (4–5 mark-compacts per 512 MiB without it, at the same
 * CPU) and the client commands (an agent holds ~7.5 MiB, just under the 8 MiB from which V8 marks
 * incrementally: 1–2 mark-compacts per 3 GiB) do not use it.
 */
import v8 from 'node:v8';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

/** Old-generation room kept above the live heap: the 32 MiB of young buffers V8 allows, and half again. */
export const HEAP_HEADROOM_BYTES = 48 * 1024 * 1024;
/** From this live old generation up, V8's own growing factor decides (the flag is cleared). */
export const HEAP_HEADROOM_MAX_LIVE_BYTES = 64 * 1024 * 1024;

/** The old generation's live bytes (every space but the young one). */
function liveOldBytes(): number {
  let n = 0;
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name !== 'new_space') n += s.space_used_size;
  return n;
}

/** The --heap-growing-percent that keeps HEAP_HEADROOM_BYTES above `live` bytes (0: V8's own factor). */
export function headroomPercent(live: number): number {
  if (live >= HEAP_HEADROOM_MAX_LIVE_BYTES || live <= 0) return 0;
  return Math.ceil((HEAP_HEADROOM_BYTES / live) * 100);
}

let observer: PerformanceObserver | undefined;
let current = 0;

function apply(): void {
  const p = headroomPercent(liveOldBytes());
  if (p === current) return;
  current = p;
  v8.setFlagsFromString(`--heap-growing-percent=${p}`);
}

/**
 * Keep the headroom from now on (see the file's comment); call once the command has started.
 * Returns false where the operator set their own --heap-growing-percent.
 */
export function keepHeapHeadroom(execArgv: readonly string[] = process.execArgv): boolean {
  if (observer) return true;
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return false;
  apply();
  observer = new PerformanceObserver((list) => {
    if (list.getEntries().some(isMajor)) apply();
  });
  observer.observe({ entryTypes: ['gc'] });
  return true;
}

function isMajor(e: PerformanceEntry): boolean {
  return (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
}
