/**
 * `burrow pipe url | health | help-cheatsheet`: the small client commands (serve: pipe-serve.ts).
 * Loaded only when one of them runs (pipe.ts registers the flags).
 */
import { cheatSheet, pipe } from '../../app/pipe.js';
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

export function runCheatSheet(f: PipeServerFlags): number {
  try {
    process.stdout.write(cheatSheet(pipeBase(f.server), { version: VERSION }));
    return 0;
  } catch (err) {
    return reportPipeError(err);
  }
}
