/**
 * The three pipe servers bench/pipe.ts and bench/idle-memory.ts compare, each started as its users
 * start it: from plain `node` (no tsx, whose loader adds ~90 MiB to a process) and burrow's built
 * dist/ (`npm run build` first), on 127.0.0.1 and a free port, so their RSS compares servers:
 *   piping-server   node node_modules/piping-server/dist/src/index.js --host 127.0.0.1 --http-port P
 *   burrow          node dist/cli.js pipe serve --address 127.0.0.1 --port P
 *   burrow-server   node dist/cli.js server --address 127.0.0.1 --port P (SQLite in a temporary
 *                   folder, the pipe at /api/v1/pipe/)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PIPE_SERVERS = ['piping-server', 'burrow', 'burrow-server'] as const;
/**
 * bench/pipe.ts's reference rows beside them (throughput, not idle memory):
 *   piping-server-settled  piping-server with glibc's malloc thresholds settled in its environment
 *                          (MALLOC_TRIM_THRESHOLD_ and MALLOC_MMAP_THRESHOLD_ = 256 MiB): the peer
 *                          at its best, the state it reaches by itself only after some transfers
 *   floor                  the least a Node pipe server does (bench/lib/pipe-floor.ts, under tsx)
 */
export const PIPE_REFERENCES = ['piping-server-settled', 'floor'] as const;
export type PipeServerKind = (typeof PIPE_SERVERS)[number] | (typeof PIPE_REFERENCES)[number];
/** The environment that settles glibc's thresholds from the start (what burrow's CLI does from inside). */
const SETTLED_MALLOC = { MALLOC_TRIM_THRESHOLD_: '268435456', MALLOC_MMAP_THRESHOLD_: '268435456' };

export interface StartedServer {
  readonly kind: PipeServerKind;
  readonly child: ChildProcess;
  readonly port: number;
  /** `http://127.0.0.1:P` plus the pipe's prefix (`/api/v1/pipe` on a whole server). */
  readonly base: string;
  /** The command line, for the bench's notes. */
  readonly command: string;
  stop(): Promise<void>;
}

const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/cli.js');

/** VmRSS of a process in MiB (Linux /proc), 0 when it is gone. */
/** `burrow server` on 127.0.0.1:port with its SQLite file in `dir`, logging warnings only (after dist/cli.js). */
export function serverCliArgs(port: number, dir: string): string[] {
  return [
    'server',
    '--address',
    '127.0.0.1',
    '--port',
    String(port),
    '--db',
    `sqlite:${join(dir, 'burrow.db')}`,
    '--log-level',
    'warn',
  ];
}

export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Connect until the port accepts (no request: an idle server's RSS is read before its first one). */
async function waitListening(port: number, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`port ${port}: the server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`port ${port}: not listening after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startPipeServer(kind: PipeServerKind, nodeArgs: string[] = []): Promise<StartedServer> {
  if (kind.startsWith('burrow') && !existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const port = await freePort();
  let dir: string | undefined;
  let args: string[];
  let prefix = '';
  let env: NodeJS.ProcessEnv | undefined;
  if (kind === 'piping-server' || kind === 'piping-server-settled') {
    if (kind === 'piping-server-settled') env = { ...process.env, ...SETTLED_MALLOC };
    args = [
      join(ROOT, 'node_modules/piping-server/dist/src/index.js'),
      '--host',
      '127.0.0.1',
      '--http-port',
      String(port),
    ];
  } else if (kind === 'floor') {
    args = ['--import', 'tsx', join(ROOT, 'bench/lib/pipe-floor.ts'), '--port', String(port)];
  } else if (kind === 'burrow') {
    args = [CLI, 'pipe', 'serve', '--address', '127.0.0.1', '--port', String(port)];
  } else {
    dir = mkdtempSync(join(tmpdir(), 'burrow-bench-'));
    args = [CLI, ...serverCliArgs(port, dir)];
    prefix = '/api/v1/pipe';
  }
  // piping-server logs every request at info: its own cost, as its users run it. Output is kept
  // only to explain a server that does not start.
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(env ? { env } : {}),
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const base = `http://127.0.0.1:${port}${prefix}`;
  await waitListening(port, child).catch((err: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${kind}: ${err.message}\n${stderr}`);
  });
  return {
    kind,
    child,
    port,
    base,
    command: `${
      env
        ? Object.entries(SETTLED_MALLOC)
            .map(([k, v]) => `${k}=${v} `)
            .join('')
        : ''
    }node ${[...nodeArgs, ...args].map((a) => a.replace(ROOT, '')).join(' ')}`,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
