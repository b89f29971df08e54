/** tunely test helpers: a burrow server with the tunely adapter, and the REAL tunely CLI as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  createTunelyAdapter,
  type TunelyAdapter,
  type TunelyAdapterOptions,
} from '../../../src/adapters/tunely/index.js';
import type { BurrowServer } from '../../../src/app/server.js';
import { startServer } from '../../helpers/harness.js';

/** tunely@0.2.1's CLI (node_modules/.bin/tunely points here). */
export const TUNELY_CLI = fileURLToPath(new URL('../../../node_modules/tunely/dist/cli.js', import.meta.url));

export const TOKEN = 'tun_demoTokenForTests0000000000000000000';
export const OTHER_TOKEN = 'tun_otherTokenForTests000000000000000000';

export interface TunelyServer {
  server: BurrowServer;
  adapter: TunelyAdapter;
  port: number;
  wsUrl: string;
}

export async function startTunelyServer(options: TunelyAdapterOptions = {}): Promise<TunelyServer> {
  const adapter = createTunelyAdapter({ tokens: { [TOKEN]: 'demo', [OTHER_TOKEN]: 'other' }, ...options });
  const { server, port } = await startServer({ adapters: [adapter] });
  return { server, adapter, port, wsUrl: `ws://127.0.0.1:${port}${adapter.path}` };
}

export interface Agent {
  child: ChildProcess;
  /** Everything printed so far (stdout + stderr). */
  output(): string;
  /** Resolves when the output matches (rejects after timeoutMs, with the output). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  /** Kill (SIGKILL by default) and wait for exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Run `tunely connect --server … --token … --target …` [--force] [--reconnect s]. */
export function runTunely(o: {
  server: string;
  token: string;
  target: string;
  force?: boolean;
  reconnectSeconds?: number;
}): Agent {
  const args = [TUNELY_CLI, 'connect', '--server', o.server, '--token', o.token, '--target', o.target];
  if (o.force) args.push('--force');
  if (o.reconnectSeconds !== undefined) args.push('--reconnect', String(o.reconnectSeconds));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (c: Buffer): void => {
    out += c.toString('utf8');
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = once(child, 'exit');
  return {
    child,
    output: () => out,
    waitFor(re, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (re.test(out)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`tunely output did not match ${String(re)} within ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
  };
}

/** Start tunely and wait until it printed that it is connected. */
export async function connectTunely(o: Parameters<typeof runTunely>[0]): Promise<Agent> {
  const agent = runTunely(o);
  await agent.waitFor(/已连接: domain=/);
  return agent;
}
