/**
 * `burrow pipe serve`: the pipe service alone. It loads the service's own modules only, not the
 * `burrow/pipe` entry (whose client SDK, forward-tcp and progress bar a server never uses): an
 * idle `burrow pipe serve` is measured against piping-server's RSS (bench/idle-memory.ts).
 */
import { lazyLogger } from '../../core/logger.js';
import { createPipeHandler } from '../../adapters/pipe/handler.js';
import type { PipeOptions } from '../../adapters/pipe/options.js';
import { listenPipe } from '../../adapters/pipe/serve.js';
import { reportPipeError } from './pipe-errors.js';
import { releaseStartupMemory } from '../startup-memory.js';

export interface ServeFlags {
  port: number;
  address?: string;
  maxPending?: number;
  maxActive?: number;
  pendingTimeout?: number;
  idleTimeout?: number;
  logLevel?: string;
}

export async function runServe(f: ServeFlags): Promise<number> {
  const logger = lazyLogger({ level: (f.logLevel ?? 'info') as 'info' });
  const options: PipeOptions = { logger };
  if (f.maxPending !== undefined) options.maxPendingPipes = f.maxPending;
  if (f.maxActive !== undefined) options.maxActivePipes = f.maxActive;
  if (f.pendingTimeout !== undefined) options.pendingTimeoutMs = f.pendingTimeout;
  if (f.idleTimeout !== undefined) options.activeIdleTimeoutMs = f.idleTimeout;
  let listener;
  try {
    listener = await listenPipe(createPipeHandler(options), {
      port: f.port,
      ...(f.address !== undefined ? { address: f.address } : {}),
    });
  } catch (err) {
    return reportPipeError(err);
  }
  process.stdout.write(
    `burrow pipe listening on ${listener.url}\n  send:    curl -T file ${listener.url}/mypath\n  receive: curl ${listener.url}/mypath\n`,
  );
  // started (after the banner: a first write to a piped stdout loads node's stream modules)
  releaseStartupMemory();
  const l = listener;
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      void l.close().then(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
