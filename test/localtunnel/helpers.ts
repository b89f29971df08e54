/** Helpers for the localtunnel/pipenet compatibility tests: real CLIs as child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createLocaltunnelAdapter,
  type LocaltunnelAdapter,
  type LocaltunnelAdapterOptions,
} from '../../src/adapters/localtunnel/index.js';
import type { ServerOptions } from '../../src/server/config.js';
import { startServer } from '../helpers/harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const LT_BIN = path.join(root, 'node_modules/localtunnel/bin/lt.js');
export const PIPENET_BIN = path.join(root, 'node_modules/pipenet/dist/cli.js');

export const SKIP_SLOW = process.env['BURROW_SKIP_SLOW'] === '1';

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
): Promise<Cli & { url: string }> {
  const cli = runCli(PIPENET_BIN, ['client', '--port', String(localPort), '--host', serverUrl, ...extra]);
  const m = await cli.waitFor(/your url is: (\S+)/);
  return { ...cli, url: m[1]! };
}

/** Wait until a condition holds (polling, for pool sockets to connect). */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
