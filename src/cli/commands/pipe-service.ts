/**
 * `burrow pipe serve | url | health | help-cheatsheet`: the service and the small client commands.
 * Loaded only when one of them runs (pipe.ts registers the flags).
 */
import { createLogger } from '../../core/logger.js';
import { cheatSheet, createPipeHandler, listenPipe, pipe, type PipeOptions } from '../../app/pipe.js';
import { VERSION } from '../../version.js';
import { reportPipeError } from './pipe-errors.js';
import { clientOptions, pipeBase, type PipeServerFlags } from './pipe-transfer.js';

export function runUrl(path: string, f: PipeServerFlags & { n?: number }): number {
  let u: ReturnType<typeof pipe.urls>;
  try {
    u = pipe.urls(pipeBase(f.server), path, f.n);
  } catch (err) {
    return reportPipeError(err);
  }
  process.stdout.write(
    [
      `send:      ${u.send}`,
      `receive:   ${u.receive}`,
      `progress:  ${u.progress}`,
      `video:     ${u.video}`,
      '',
      `# send`,
      u.curlSend,
      `# receive`,
      u.curlReceive,
      `# watch`,
      u.curlProgress,
      '',
    ].join('\n'),
  );
  return 0;
}

export async function runHealth(f: PipeServerFlags): Promise<number> {
  try {
    const h = await pipe.health(clientOptions(f));
    process.stdout.write(`${JSON.stringify(h, null, 2)}\n`);
    return h.status === 'ok' ? 0 : 1;
  } catch (err) {
    return reportPipeError(err);
  }
}

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
  const logger = createLogger({ level: (f.logLevel ?? 'info') as 'info' });
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
  const l = listener;
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      void l.close().then(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export function runCheatSheet(f: PipeServerFlags): number {
  try {
    process.stdout.write(cheatSheet(pipeBase(f.server), { version: VERSION }));
    return 0;
  } catch (err) {
    return reportPipeError(err);
  }
}
