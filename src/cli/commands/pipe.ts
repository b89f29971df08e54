/**
 * `burrow pipe serve|send|receive|progress|url|health`: the zero-storage pipe from a terminal.
 * send/receive draw a progress bar (bytes, rate, ETA) on stderr when it is a terminal and stay
 * quiet in pipes and CI. A thin shell over src/adapters/pipe (library + SDK).
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import type { Command } from 'commander';
import { createLogger } from '../../core/logger.js';
import { createPipeHandler, listenPipe, PIPE_API_PREFIX, pipe, type PipeOptions } from '../../app/pipe.js';
import { MAX_RECEIVERS } from '../../wire/pipe/limits.js';
import { formatBytes, formatDuration, formatProgress } from '../../client/pipe/progress-format.js';
import { envFirst, parseDurationMs, parseIntArg, printError } from '../util.js';

const DEFAULT_SERVER = 'http://localhost:8080';
/** How often a terminal progress bar is redrawn, in ms. */
const REDRAW_MS = 100;

interface ServerFlags {
  server?: string;
}

/** The pipe base URL: a bare server URL gets `/api/v1/pipe`, which every burrow pipe mount accepts. */
export function pipeBase(server: string | undefined): string {
  const raw = server ?? envFirst('BURROW_PIPE_SERVER', 'BURROW_SERVER') ?? DEFAULT_SERVER;
  const url = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path === '' ? PIPE_API_PREFIX : path}`;
}

function addServerFlag(cmd: Command): Command {
  return cmd.option(
    '-s, --server <url>',
    `burrow server or pipe URL (env BURROW_PIPE_SERVER, BURROW_SERVER; default ${DEFAULT_SERVER})`,
  );
}

/** Counts bytes passing through and redraws a progress line on a TTY. */
class Meter extends Transform {
  bytes = 0;
  private readonly started = Date.now();
  private last = 0;
  constructor(
    private readonly label: string,
    private total: number | undefined,
    private readonly tty: NodeJS.WriteStream | undefined,
  ) {
    super();
  }
  setTotal(total: number | undefined): void {
    this.total = total;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    const now = Date.now();
    if (this.tty && now - this.last >= REDRAW_MS) {
      this.last = now;
      this.draw();
    }
    cb(null, chunk);
  }
  draw(final = false): void {
    if (!this.tty) return;
    const line = formatProgress({
      bytes: this.bytes,
      total: this.total,
      elapsedMs: Date.now() - this.started,
      columns: this.tty.columns,
      label: this.label,
    });
    this.tty.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
  }
}

function ttyStderr(quiet: boolean | undefined): NodeJS.WriteStream | undefined {
  return !quiet && process.stderr.isTTY ? process.stderr : undefined;
}

interface SendFlags extends ServerFlags {
  n?: number;
  contentType?: string;
  filename?: string;
  quiet?: boolean;
}

export async function runSend(path: string, file: string | undefined, f: SendFlags): Promise<number> {
  const tty = ttyStderr(f.quiet);
  let body: Readable;
  let size: number | undefined;
  if (file === undefined || file === '-') {
    body = process.stdin;
  } else {
    size = statSync(file).size;
    body = createReadStream(file);
  }
  const meter = new Meter('send', size, tty);
  body.pipe(meter);
  const s = pipe.send(path, meter, {
    server: pipeBase(f.server),
    ...(f.n !== undefined ? { n: f.n } : {}),
    ...(size !== undefined ? { contentLength: size } : {}),
    ...(f.contentType !== undefined ? { contentType: f.contentType } : {}),
    ...(f.filename !== undefined
      ? { filename: f.filename }
      : file && file !== '-'
        ? { filename: file.split(/[\\/]/).pop() ?? file }
        : {}),
  });
  s.on('data', (c: Buffer) => {
    if (!tty) return;
    // Server [INFO] lines go above the bar.
    tty.write(`\r\x1b[K${c.toString('utf8')}`);
    meter.draw();
  });
  try {
    await s.done;
    meter.draw(true);
    return 0;
  } catch (err) {
    if (tty) tty.write('\n');
    return printError(err);
  }
}

interface ReceiveFlags extends ServerFlags {
  n?: number;
  output?: string;
  quiet?: boolean;
}

export async function runReceive(path: string, f: ReceiveFlags): Promise<number> {
  const tty = ttyStderr(f.quiet);
  const r = pipe.receive(path, { server: pipeBase(f.server), ...(f.n !== undefined ? { n: f.n } : {}) });
  const meter = new Meter('receive', undefined, tty);
  void r.response.then((info) => meter.setTotal(info.contentLength)).catch(() => {});
  const out = f.output === undefined || f.output === '-' ? process.stdout : createWriteStream(f.output);
  try {
    await pipeline(r, meter, out);
    meter.draw(true);
    return 0;
  } catch (err) {
    if (tty) tty.write('\n');
    return printError(err);
  }
}

export async function runProgress(path: string, f: ServerFlags & { json?: boolean }): Promise<number> {
  const tty = !f.json && process.stdout.isTTY ? process.stdout : undefined;
  try {
    for await (const ev of pipe.watch(path, { server: pipeBase(f.server) })) {
      if (!tty) {
        process.stdout.write(`${JSON.stringify({ event: ev.event, ...ev.data })}\n`);
        continue;
      }
      const d = ev.data;
      const bytes = Number(d.bytesTransferred ?? 0);
      const total = typeof d.totalBytes === 'number' ? d.totalBytes : undefined;
      if (ev.event === 'done') {
        const secs = Number(d.duration ?? 0) / 1000;
        tty.write(
          `\r\x1b[K${String(d.state)}: ${formatBytes(bytes)} in ${formatDuration(secs)} (${formatBytes(Number(d.avgSpeed ?? 0))}/s)${typeof d.reason === 'string' ? ` - ${d.reason}` : ''}\n`,
        );
      } else if (ev.event === 'state' && d.state !== 'streaming') {
        tty.write(
          `\r\x1b[K${String(d.state)}: sender ${d.hasSender ? 'connected' : 'not connected'}, receivers ${String(d.activeReceivers)}${typeof d.expectedReceivers === 'number' ? `/${d.expectedReceivers}` : ''}`,
        );
      } else {
        const elapsed = Number(d.elapsed ?? 0);
        tty.write(
          `\r${formatProgress({ bytes, total, elapsedMs: elapsed, columns: tty.columns, label: 'streaming' })}\x1b[K`,
        );
      }
    }
    return 0;
  } catch (err) {
    return printError(err);
  }
}

export function runUrl(path: string, f: ServerFlags & { n?: number }): number {
  const u = pipe.urls(pipeBase(f.server), path, f.n);
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

export async function runHealth(f: ServerFlags): Promise<number> {
  try {
    const h = await pipe.health({ server: pipeBase(f.server) });
    process.stdout.write(`${JSON.stringify(h, null, 2)}\n`);
    return h.status === 'ok' ? 0 : 1;
  } catch (err) {
    return printError(err);
  }
}

interface ServeFlags {
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
    return printError(err);
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

function exit(code: number): void {
  process.exitCode = code;
}

export function registerPipeCommands(program: Command): void {
  const cmd = program.command('pipe').description('zero-storage streaming transfers (piping-server compatible)');
  const nArg = parseIntArg(1, MAX_RECEIVERS);

  cmd
    .command('serve')
    .description('run the pipe service alone (bare /<path>, like piping-server)')
    .option('-p, --port <port>', 'port to listen on (env BURROW_PIPE_PORT, PORT; default 8080)', parseIntArg(0, 65535))
    .option('-a, --address <address>', 'bind address (env BURROW_PIPE_ADDRESS, HOST; default all interfaces)')
    .option('--max-pending <n>', 'most pipes waiting for peers (default 1000)', parseIntArg(1, 1_000_000))
    .option('--max-active <n>', 'most pipes streaming at once (default 1000)', parseIntArg(1, 1_000_000))
    .option('--pending-timeout <duration>', 'evict half-pipes after this long (default 5m)', parseDurationMs)
    .option('--idle-timeout <duration>', 'close streaming pipes idle this long (default 5m)', parseDurationMs)
    .option('--log-level <level>', 'fatal|error|warn|info|debug|silent (env LOG_LEVEL; default info)')
    .action(async (o: Partial<ServeFlags>) => {
      const port = o.port ?? Number(envFirst('BURROW_PIPE_PORT', 'PORT') ?? 8080);
      const address = o.address ?? envFirst('BURROW_PIPE_ADDRESS', 'HOST');
      const logLevel = o.logLevel ?? envFirst('LOG_LEVEL') ?? 'info';
      exit(await runServe({ ...o, port, logLevel, ...(address !== undefined ? { address } : {}) }));
    });

  addServerFlag(
    cmd
      .command('send')
      .description('send a file (or stdin) to <path>; waits for the receiver(s)')
      .argument('<path>', 'pipe path, e.g. mysecret123')
      .argument('[file]', 'file to send, or - for stdin (default stdin)')
      .option('-n, --n <count>', 'number of receivers (1-256, all peers must agree)', nArg)
      .option('--content-type <type>', 'Content-Type receivers get')
      .option('--filename <name>', 'file name receivers get (default: the file name)')
      .option('-q, --quiet', 'no progress bar'),
  ).action(async (path: string, file: string | undefined, o: SendFlags) => exit(await runSend(path, file, o)));

  addServerFlag(
    cmd
      .command('receive')
      .description('receive <path> to stdout or a file; waits for the sender')
      .argument('<path>', 'pipe path')
      .option('-o, --output <file>', 'write to this file (default stdout)')
      .option('-n, --n <count>', 'number of receivers (1-256, all peers must agree)', nArg)
      .option('-q, --quiet', 'no progress bar'),
  ).action(async (path: string, o: ReceiveFlags) => exit(await runReceive(path, o)));

  addServerFlag(
    cmd
      .command('progress')
      .description('watch a transfer live (takes no receiver slot); JSON lines when not a terminal')
      .argument('<path>', 'pipe path')
      .option('--json', 'print one JSON object per event'),
  ).action(async (path: string, o: ServerFlags & { json?: boolean }) => exit(await runProgress(path, o)));

  addServerFlag(
    cmd
      .command('url')
      .description('print the send/receive/progress/video URLs and curl lines for <path>')
      .argument('<path>', 'pipe path')
      .option('-n, --n <count>', 'number of receivers', nArg),
  ).action((path: string, o: ServerFlags & { n?: number }) => exit(runUrl(path, o)));

  addServerFlag(cmd.command('health').description("print the pipe service's health JSON")).action(
    async (o: ServerFlags) => exit(await runHealth(o)),
  );
}
