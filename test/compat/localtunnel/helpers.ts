/** Helpers for the localtunnel/pipenet compatibility tests: real CLIs as child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createLocaltunnelAdapter,
  type LocaltunnelAdapter,
  type LocaltunnelAdapterOptions,
} from '../../../src/adapters/localtunnel/index.js';
import type { ServerOptions } from '../../../src/server/config.js';
import http from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { startOrigin, startServer } from '../../helpers/harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const LT_BIN = path.join(root, 'node_modules/localtunnel/bin/lt.js');
export const PIPENET_BIN = path.join(root, 'node_modules/pipenet/dist/cli.js');

/**
 * The environment that makes a client process's socket idle timeouts `divisor` times shorter (a
 * preload; see fast-socket-timeouts.mjs): pipenet's 30 s pool-socket idle limit becomes 30 s / divisor.
 */
export function fastSocketTimeouts(divisor: number): Record<string, string> {
  const preload = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fast-socket-timeouts.mjs'));
  const inherited = process.env['NODE_OPTIONS'] ?? '';
  return {
    NODE_OPTIONS: `${inherited} --import=${preload.href}`.trim(),
    BURROW_TEST_SOCKET_TIMEOUT_DIVISOR: String(divisor),
  };
}

export async function startLtServer(adapterOptions: LocaltunnelAdapterOptions = {}, serverOptions: ServerOptions = {}) {
  const adapter: LocaltunnelAdapter = createLocaltunnelAdapter({ address: '127.0.0.1', ...adapterOptions });
  const s = await startServer({ ...serverOptions, adapters: [adapter] });
  await adapter.ready();
  return { ...s, adapter };
}

export interface Cli {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first capture group of the first line matching re. */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
  kill: () => Promise<void>;
}

export function runCli(bin: string, args: string[], env: Record<string, string> = {}): Cli {
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  const waiters: (() => void)[] = [];
  const onChunk = (c: Buffer): void => {
    out += c.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', onChunk);
  child.stderr.on('data', onChunk);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      for (const w of waiters.splice(0)) w();
      resolve(code);
    });
  });
  const waitFor = (re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in output:\n${out}`)), timeoutMs);
      const check = (): void => {
        const m = re.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m);
          return;
        }
        if (child.exitCode !== null) {
          clearTimeout(timer);
          reject(new Error(`process exited (${child.exitCode}) before ${re}; output:\n${out}`));
          return;
        }
        waiters.push(check);
      };
      check();
    });
  return {
    child,
    output: () => out,
    waitFor,
    exited,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit').catch(() => {});
    },
  };
}

/** `lt --port P --host H [extra]`, resolved once it printed its URL. */
export async function startLt(
  serverUrl: string,
  localPort: number,
  extra: string[] = [],
): Promise<Cli & { url: string }> {
  const cli = runCli(LT_BIN, ['--port', String(localPort), '--host', serverUrl, ...extra]);
  const m = await cli.waitFor(/your url is: (\S+)/);
  return { ...cli, url: m[1]! };
}

/** `pipenet client --port P --host H [extra]`, resolved once it printed its URL. */
export async function startPipenet(
  serverUrl: string,
  localPort: number,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<Cli & { url: string }> {
  const cli = runCli(PIPENET_BIN, ['client', '--port', String(localPort), '--host', serverUrl, ...extra], env);
  const m = await cli.waitFor(/your url is: (\S+)/);
  return { ...cli, url: m[1]! };
}

/** Deterministic binary payload with every byte value (invalid UTF-8 on purpose). */
export function binaryPayload(size: number, seed = 7): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = (x >> 16) & 0xff;
  }
  return b;
}

/** An origin with the routes the compatibility tests use (and a WebSocket echo on any path). */
export async function startTestOrigin(): Promise<{ server: http.Server; port: number; wss: WebSocketServer }> {
  const o = await startOrigin((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/echo') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'x-method': req.method ?? '',
          'x-host': req.headers.host ?? '',
        });
        res.end(body);
      });
      return;
    }
    if (u.pathname === '/bin') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(binaryPayload(Number(u.searchParams.get('size') ?? 65536)));
      return;
    }
    if (u.pathname === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const t = setInterval(() => {
        res.write(`part ${n}\n`);
        if (++n === 5) {
          clearInterval(t);
          res.end();
        }
      }, 20);
      return;
    }
    if (u.pathname === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      let n = 0;
      const t = setInterval(() => {
        res.write(`data: event ${n}\n\n`);
        if (++n === 4) {
          clearInterval(t);
          res.end();
        }
      }, 300);
      req.on('close', () => clearInterval(t));
      return;
    }
    res.end(`hello ${req.method} ${req.url} host=${req.headers.host}`);
  });
  const wss = new WebSocketServer({ server: o.server });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  return { ...o, wss };
}

/** Open a WebSocket to a tunnel through the burrow server and echo one binary and one text message. */
export async function wsEcho(port: number, host: string): Promise<{ text: string; binary: Buffer }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { host } });
  await once(ws, 'open');
  const got: { text?: string; binary?: Buffer } = {};
  const done = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) got.binary = data;
      else got.text = data.toString();
      if (got.binary && got.text !== undefined) resolve();
    });
  });
  ws.send('hello ws');
  ws.send(binaryPayload(1000, 3));
  await done;
  ws.close();
  return { text: got.text!, binary: got.binary! };
}

/** Read an SSE response, recording when each event arrives. */
export function readSse(port: number, host: string, path = '/sse'): Promise<{ events: string[]; times: number[] }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const req = http.request(
      { host: '127.0.0.1', port, path, headers: { host, accept: 'text/event-stream' }, agent: false },
      (res) => {
        const events: string[] = [];
        const times: number[] = [];
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let i: number;
          while ((i = buf.indexOf('\n\n')) !== -1) {
            events.push(buf.slice(0, i));
            times.push(Date.now() - started);
            buf = buf.slice(i + 2);
          }
        });
        res.on('end', () => resolve({ events, times }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
