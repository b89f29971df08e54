/**
 * `burrow pipe send | receive | progress`: moving bytes from a terminal. Errors print in the one
 * format (pipe-errors.ts), a closed stdout is a normal end, a binary body is not dumped on a
 * terminal, and the meter counts from the first byte (pipe-meter.ts).
 */
import { createReadStream, createWriteStream, fstatSync, openSync, closeSync } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pipe, type PipeClientOptions } from '../../app/pipe.js';
import { BINARY_SNIFF_BYTES, DEFAULT_PIPE_SERVER as DEFAULT_SERVER } from '../../client/pipe/limits.js';
import { formatBytes, formatDuration, formatProgress } from '../../client/pipe/progress-format.js';
import { usageError } from '../errors.js';
import { EXIT_OK, reportPipeError, unreadableFile } from './pipe-errors.js';
import { PipeMeter } from './pipe-meter.js';
import { envFirst } from '../util.js';
import { serverTrust } from './connecting.js';
import { PIPE_API_PREFIX } from '../../app/pipe.js';

export interface PipeServerFlags {
  server?: string;
  token?: string;
  /** --ca: PEM file of the CA(s) an https:// server's certificate is checked against. */
  ca?: string;
  /** --insecure: no check of the server's certificate. */
  insecure?: boolean;
}

/** The pipe base URL: a bare server URL gets `/api/v1/pipe`, which every burrow pipe mount accepts. */
export function pipeBase(server: string | undefined): string {
  const raw = server ?? envFirst('BURROW_PIPE_SERVER', 'BURROW_SERVER') ?? DEFAULT_SERVER;
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw usageError(`--server ${raw} is not a URL`, 'Give the server as http://host:port, https://host or host:port.');
  }
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path === '' ? PIPE_API_PREFIX : path}`;
}

/** The SDK options every pipe client command passes: server and token. */
export function clientOptions(f: PipeServerFlags): PipeClientOptions {
  const tls = serverTrust(f, (line) => process.stderr.write(`${line}\n`));
  return { server: pipeBase(f.server), ...(f.token ? { token: f.token } : {}), ...(tls ? { tls } : {}) };
}

/**
 * A requested stop (Ctrl-C, SIGTERM) of a transfer: `stop()` ends it, and the command exits 0
 * without an error line (issue 15: a requested stop is success).
 */
function onStopRequest(stop: () => void): { readonly requested: boolean; dispose(): void } {
  let requested = false;
  const handler = (): void => {
    requested = true;
    stop();
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return {
    get requested() {
      return requested;
    },
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

export interface SendFlags extends PipeServerFlags {
  n?: number;
  contentType?: string;
  filename?: string;
  quiet?: boolean;
}

/** Opens the file to send up front, so a missing file or a folder is a clear error, not a stack. */
function openFile(file: string): { body: Readable; size: number } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw unreadableFile(file, err as NodeJS.ErrnoException);
  }
  const st = fstatSync(fd);
  if (st.isDirectory()) {
    closeSync(fd);
    throw unreadableFile(file, Object.assign(new Error('EISDIR'), { code: 'EISDIR' }));
  }
  return { body: createReadStream('', { fd }), size: st.size };
}

export async function runSend(path: string, file: string | undefined, f: SendFlags): Promise<number> {
  let body: Readable;
  let size: number | undefined;
  let s: ReturnType<typeof pipe.send>;
  const fromStdin = file === undefined || file === '-';
  try {
    if (fromStdin) body = process.stdin;
    else ({ body, size } = openFile(file));
  } catch (err) {
    return reportPipeError(err);
  }
  const meter = new PipeMeter('sent', { quiet: f.quiet, total: size, waitForBegin: true });
  try {
    s = pipe.send(path, meter, {
      ...clientOptions(f),
      ...(f.n !== undefined ? { n: f.n } : {}),
      ...(size !== undefined ? { contentLength: size } : {}),
      ...(f.contentType !== undefined ? { contentType: f.contentType } : {}),
      ...(f.filename !== undefined
        ? { filename: f.filename }
        : !fromStdin
          ? { filename: file.split(/[\\/]/).pop() ?? file }
          : {}),
    });
  } catch (err) {
    body.destroy();
    return reportPipeError(err);
  }
  // the body's read errors reach the SDK through the meter (it cuts the upload and rejects `done`)
  pipeline(body, meter).catch((err: unknown) => meter.destroy(err as Error));
  s.on('error', () => {}); // the failure is read from `done`
  meter.status(`waiting for ${f.n ?? 1} receiver(s)...`);
  let partial = '';
  s.on('data', (c: Buffer) => {
    partial += c.toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('[INFO] Streaming')) meter.begin();
      meter.log(line);
    }
  });
  const sent = s;
  const stop = onStopRequest(() => {
    body.destroy();
    sent.destroy(); // ends the upload: the server cuts the receivers (they see a truncated body)
  });
  try {
    await s.done;
    meter.finish(true);
    return EXIT_OK;
  } catch (err) {
    meter.finish(false);
    body.destroy();
    return stop.requested ? EXIT_OK : reportPipeError(err);
  } finally {
    stop.dispose();
  }
}

export interface ReceiveFlags extends PipeServerFlags {
  n?: number;
  output?: string;
  quiet?: boolean;
}

/** Refuses to pass a binary body on to a terminal (as curl does): a NUL or invalid UTF-8 early on. */
class BinaryGuard extends Transform {
  #seen = 0;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.#seen < BINARY_SNIFF_BYTES) {
      const head = chunk.subarray(0, BINARY_SNIFF_BYTES - this.#seen);
      this.#seen += head.length;
      let binary = head.includes(0);
      try {
        this.#decoder.decode(head, { stream: true });
      } catch {
        binary = true;
      }
      if (binary) {
        cb(
          usageError(
            'the body is binary and standard output is a terminal',
            'Save it with -o FILE (or redirect: > FILE); pass -o - to print it to the terminal anyway.',
          ),
        );
        return;
      }
    }
    cb(null, chunk);
  }
}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

export async function runReceive(path: string, f: ReceiveFlags): Promise<number> {
  const toStdout = f.output === undefined || f.output === '-';
  let r: ReturnType<typeof pipe.receive>;
  try {
    r = pipe.receive(path, { ...clientOptions(f), ...(f.n !== undefined ? { n: f.n } : {}) });
  } catch (err) {
    return reportPipeError(err);
  }
  const meter = new PipeMeter('received', { quiet: f.quiet });
  void r.response.then((info) => (meter.total = info.contentLength)).catch(() => {});
  const out = toStdout ? process.stdout : createWriteStream(f.output!);
  const stages: NodeJS.ReadWriteStream[] = [meter];
  if (toStdout && f.output === undefined && process.stdout.isTTY) stages.push(new BinaryGuard());
  // a reader that went away (`| head -c 100`) is a normal end, now and for late writes
  const onOutError = (): void => {};
  if (toStdout) process.stdout.on('error', onOutError);
  const received = r;
  const stop = onStopRequest(() => received.destroy());
  try {
    await pipeline([r, ...stages, out]);
    meter.finish(true);
    return EXIT_OK;
  } catch (err) {
    meter.finish(false);
    r.destroy();
    if (stop.requested) return EXIT_OK;
    if (toStdout && isErrno(err, 'EPIPE')) return EXIT_OK;
    if (!toStdout && typeof (err as NodeJS.ErrnoException).code === 'string' && (err as Error).name !== 'BurrowError') {
      const e = err as NodeJS.ErrnoException;
      if (e.syscall !== undefined)
        return reportPipeError(
          usageError(
            `cannot write ${f.output}: ${e.code === 'EISDIR' ? 'it is a directory' : e.message}`,
            'Give -o a file name in a folder you can write to.',
          ),
        );
    }
    return reportPipeError(err);
  } finally {
    stop.dispose();
  }
}

export async function runProgress(path: string, f: PipeServerFlags & { json?: boolean }): Promise<number> {
  const tty = !f.json && process.stdout.isTTY ? process.stdout : undefined;
  const ac = new AbortController();
  const stop = onStopRequest(() => ac.abort());
  try {
    for await (const ev of pipe.watch(path, { ...clientOptions(f), signal: ac.signal })) {
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
    return EXIT_OK;
  } catch (err) {
    return stop.requested ? EXIT_OK : reportPipeError(err);
  } finally {
    stop.dispose();
  }
}
