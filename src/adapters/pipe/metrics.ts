/** The pipe's Prometheus gauges, read from the handler's counters at scrape time. */
import type { Registry } from 'prom-client';
import { promClient } from '../../core/packages.js';
import type { PipeHandler } from './handler.js';

/** Registers `burrow_pipe_*` on `registry` (once per registry). */
export function registerPipeMetrics(registry: Registry, handler: PipeHandler): void {
  if (registry.getSingleMetric('burrow_pipe_pipes')) return;
  const { Gauge } = promClient();
  const registers = [registry];
  new Gauge({
    name: 'burrow_pipe_pipes',
    help: 'Pipes by state: pending (waiting for peers), active (streaming)',
    labelNames: ['state'],
    registers,
    collect() {
      const s = handler.stats();
      this.set({ state: 'pending' }, s.pending);
      this.set({ state: 'active' }, s.active);
    },
  });
  new Gauge({
    name: 'burrow_pipe_spectators',
    help: 'Connected ?progress spectators',
    registers,
    collect() {
      this.set(handler.stats().spectators);
    },
  });
  new Gauge({
    name: 'burrow_pipe_transfers',
    help: 'Finished transfers since start, by outcome',
    labelNames: ['outcome'],
    registers,
    collect() {
      const s = handler.stats();
      this.set({ outcome: 'complete' }, s.transfersCompleted);
      this.set({ outcome: 'failed' }, s.transfersFailed);
    },
  });
  new Gauge({
    name: 'burrow_pipe_bytes',
    help: 'Bytes moved from senders since start',
    registers,
    collect() {
      this.set(handler.stats().bytesTransferred);
    },
  });
}
