/**
 * bench/soak: one burrow server under a modest, mixed, hostile-ish load for a while, watching that
 * nothing fails, leaks or grows.
 *
 *   npm run build && node --import tsx bench/soak.ts [--minutes 10 | --seconds 90] [--interval 60]
 *                                                   [--restart-every 60] [--only small,ws,…]
 *                                                   [--cli path/to/another/build/dist/cli.js]
 *
 * Processes: the built CLI's `burrow server` (sqlite in memory, --tcp-ports), four `burrow http`
 * agents (soak-main, soak-restart, soak-aban, soak-drop) and one `burrow tcp` agent (soak-tcp), each
 * a child; the origins (HTTP + WebSocket + SSE + TCP echo, bench/lib/soak-origin.ts) in another;
 * the visitors in this process, all on 127.0.0.1 with Host headers (`soak-main.localhost`).
 *
 * Concurrently for the duration, every loop bounded in count and time (see LOOPS below):
 * keep-alive small GETs, uploads (Content-Length and chunked) and downloads checked by byte count
 * and SHA-256, short WebSocket sessions and one long-lived WebSocket (echoes checked), SSE (every
 * event, in order), TCP echo through the `burrow tcp` public port, pipe transfers on the server's
 * own host, the soak-restart agent stopped (SIGTERM, with three 64 MiB downloads in flight) and
 * started again with the same --subdomain every --restart-every seconds (its visitors' 502/503s and
 * cut connections inside the restart window are counted apart as expected; a 404, or a name refused
 * for more than 15 s, is an error), visitors that abandon a slow POST (with and without a body), GET,
 * DELETE or PUT after 0.5 s (the origin counts arrivals per request id), and requests the origin
 * drops unanswered (must be a 502). `--only` keeps some columns' loops (e.g. `--only sse,drop`);
 * `--cli` soaks another build (e.g. an older commit's, built elsewhere).
 *
 * Every --interval it prints one table row: operations done per kind, errors, expected failures,
 * the server's RSS and open fds (/proc, median of 1 s samples over the interval), its event-loop
 * delay p99 over the interval (burrow_nodejs_eventloop_lag_p99_seconds from /metrics) and
 * the load average. At the end: every tunnel's openStreams after a settle, duplicate arrivals of
 * abandoned requests, and the verdicts (errors = 0; RSS and fds within ±10 % of the first
 * interval's; openStreams = 0; duplicates = 0). Exits 1 if any verdict fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSocket } from 'ws';
import { argNumber, argValue } from './lib/child.js';
import { ROOT, spawnChild } from './lib/procs.js';
import { CLI_JS, loopbackServerArgs, procSample, startCli, type CliProc, type ProcSample } from './lib/soak-procs.js';
import { Tally } from './lib/soak-tally.js';
import {
  abandon,
  call,
  download,
  dropped,
  echoOnce,
  openWs,
  pipeTransfer,
  smallGet,
  sse,
  tcpEcho,
  upload,
  wsSession,
  type Target,
} from './lib/soak-visitors.js';
import { patternBytes } from './lib/soak-data.js';

const MiB = 1 << 20;
const durationS = argNumber('seconds', argNumber('minutes', 10) * 60);
const intervalS = argNumber('interval', 60);
const restartEveryS = argNumber('restart-every', 60);
/** A restart whose agent is not back (name refused) within this long is an error. */
const MAX_RESTART_GAP_MS = 15_000;
/** Allowed drift of RSS and fds from the first interval's value. */
const DRIFT = 0.1;
const SETTLE_MS = 6_000;

/** Table columns: each sums some kinds; `--only` names columns. */
const COLS: [string, string[]][] = [
  ['small', ['small GET', 'small GET (restarting agent)']],
  ['upload', ['upload']],
  ['download', ['download', 'download (restarting agent)']],
  ['ws', ['ws session', 'ws long-lived']],
  ['sse', ['sse']],
  ['tcp', ['tcp echo']],
  ['pipe', ['pipe']],
  ['abandoned', ['abandoned']],
  ['drop', ['origin drop (502)']],
  ['restart', ['agent restart']],
];
const only = argValue('only')?.split(',');
for (const o of only ?? [])
  if (!COLS.some(([c]) => c === o)) throw new Error(`--only: no "${o}" (one of ${COLS.map(([c]) => c).join(', ')})`);
/** Whether the kind's column is on (all are, without --only). */
const enabled = (kind: string): boolean => !only || COLS.some(([c, ks]) => only.includes(c) && ks.includes(kind));

if (!existsSync(CLI_JS)) {
  console.error(`${CLI_JS} is missing: run \`npm run build\` first`);
  process.exit(2);
}

const git = (args: string[]): string => {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
};
const fmtLoad = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
const loadStart = loadavg();
const startedIso = new Date().toISOString();
console.log(
  `bench/soak (${CLI_JS}): ${durationS} s, rows every ${intervalS} s, agent restart every ${restartEveryS} s; ` +
    `${startedIso}; git ${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', 'src']) ? ' (src/ modified)' : ''}; ` +
    `node ${process.version}; load ${fmtLoad(loadStart)}`,
);

// ---------------------------------------------------------------- processes

const origin = spawnChild<{ port: number; tcpPort: number }>('soak-origin', 'soak-origin.ts');
const { port: originPort, tcpPort: originTcpPort } = await origin.ready;
const tcpFrom = 40000 + Math.floor(Math.random() * 9000);
const server = await startCli(
  'server',
  loopbackServerArgs(tcpFrom, 10, '--domain', 'localhost', '--log-level', 'warn'),
  /listening on 127\.0\.0\.1:(\d+)/,
);
const port = Number(server.match[1]);
const serverUrl = `http://127.0.0.1:${port}`;
const own: Target = { port, host: `127.0.0.1:${port}` };
const tunnel = (name: string): Target => ({ port, host: `${name}.localhost` });

const startHttpAgent = (name: string): Promise<CliProc> =>
  startCli(
    name,
    ['http', `http://127.0.0.1:${originPort}`, '--server', serverUrl, '--subdomain', name],
    /^Forwarding (\S+) ->/,
  );
const HTTP_TUNNELS = ['soak-main', 'soak-restart', 'soak-aban', 'soak-drop'] as const;
const [mainAgent, firstRestartAgent, abanAgent, dropAgent, tcpAgent] = await Promise.all([
  ...HTTP_TUNNELS.map((n) => startHttpAgent(n)),
  startCli(
    'soak-tcp',
    ['tcp', `127.0.0.1:${originTcpPort}`, '--server', serverUrl, '--name', 'soak-tcp', '--json'],
    /"event":"ready"/,
  ),
]);
let restartAgent = firstRestartAgent!;
const tcpReady = JSON.parse(tcpAgent!.match.input) as { tcpAddress?: string; name: string };
if (!tcpReady.tcpAddress) throw new Error(`soak-tcp has no public port: ${tcpAgent!.match.input}`);
const tcpPort = Number(new URL(tcpReady.tcpAddress).port);
console.log(
  `server pid ${server.pid} on ${serverUrl}; origin :${originPort} (tcp :${originTcpPort}); ` +
    `tunnels ${HTTP_TUNNELS.join(', ')}, ${tcpReady.name} (public tcp :${tcpPort})`,
);

// ---------------------------------------------------------------- the loops

const KINDS = [
  'small GET',
  'small GET (restarting agent)',
  'upload',
  'download',
  'download (restarting agent)',
  'ws session',
  'ws long-lived',
  'sse',
  'tcp echo',
  'pipe',
  'abandoned',
  'origin drop (502)',
  'agent restart',
];
const tally = new Tally(KINDS);
const t0 = tally.startedAt;
const deadline = t0 + durationS * 1000;
const keepAlive = (): http.Agent => new http.Agent({ keepAlive: true, maxSockets: 8 });
const mainKA = keepAlive();
const restartKA = keepAlive();
const ownKA = keepAlive();
const abandoned: { id: string; method: string }[] = [];

/** Run `op` every `pauseMs` until the deadline (and at most duration/pause + 1 times). */
async function loop(
  kind: string,
  pauseMs: number,
  restarting: boolean,
  op: (i: number) => Promise<number | void>,
): Promise<void> {
  if (!enabled(kind)) return;
  const max = Math.ceil((durationS * 1000) / pauseMs) + 1;
  for (let i = 0; i < max && Date.now() < deadline; i++) {
    const start = Date.now();
    try {
      const bytes = await op(i);
      tally.ok(kind, bytes ?? 0);
    } catch (err) {
      tally.fail(kind, (err as Error).message ?? String(err), start, restarting);
    }
    await sleep(Math.max(0, Math.min(pauseMs, deadline - Date.now())));
  }
}

/** One WebSocket held open for the whole run; a message echoed each second; reopened if lost. */
function longLivedWs(): Promise<void> {
  let ws: WebSocket | undefined;
  return loop('ws long-lived', 1_000, false, async (i) => {
    if (!ws || ws.readyState !== ws.OPEN) {
      const lost = ws !== undefined;
      ws = await openWs(tunnel('soak-main'));
      if (lost) throw new Error('closed by itself (reopened)');
    }
    await echoOnce(ws, patternBytes(64, i));
  }).finally(() => ws?.close(1000));
}

async function restartLoop(): Promise<void> {
  if (!enabled('agent restart')) return;
  const maxRestarts = Math.ceil(durationS / restartEveryS) + 1;
  for (let k = 0; k < maxRestarts; k++) {
    const at = t0 + (restartEveryS / 2 + k * restartEveryS) * 1000;
    if (at >= deadline) return;
    await sleep(at - Date.now());
    const start = Date.now();
    try {
      await restartOnce();
      tally.ok('agent restart');
    } catch (err) {
      tally.fail('agent restart', (err as Error).message, start, false);
    }
  }
}

const restartLog: string[] = [];
/** 64 MiB downloads started 0.5 s before each SIGTERM, so the agent stops with data queued. */
const BUSY_DOWNLOADS = 3;
const busyDownloads: Promise<void>[] = [];
async function restartOnce(): Promise<void> {
  const closeWindow = tally.openWindow();
  const start = Date.now();
  const atS = Math.round((start - t0) / 1000);
  try {
    // stop it busy: large downloads in flight (their cut connections are expected)
    for (let k = 0; k < BUSY_DOWNLOADS; k++) {
      const begin = Date.now();
      busyDownloads.push(
        download(RESTART, false, 64 * MiB, 0, false).then(
          () => tally.ok('download (restarting agent)', 64 * MiB),
          (err: Error) => tally.fail('download (restarting agent)', err.message, begin, true),
        ),
      );
    }
    await sleep(500);
    const code = await restartAgent.stop('SIGTERM');
    const stopMs = Date.now() - start;
    const refusals = new Map<string, number>();
    for (;;) {
      try {
        restartAgent = await startHttpAgent('soak-restart');
        break;
      } catch (err) {
        const msg = String((err as Error).message);
        const cause = /BURROW_ERR_[A-Z_]+/.exec(msg)?.[0] ?? msg.split('\n')[0]!.slice(0, 80);
        refusals.set(cause, (refusals.get(cause) ?? 0) + 1);
        if (Date.now() - start > 120_000) throw new Error(`not back after 120 s (${cause})`);
        await sleep(1_000);
      }
    }
    const gapMs = Date.now() - start;
    // what the new agent said before it was ready (retries, refusals), if anything
    const said = restartAgent
      .output()
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('Forwarding'))
      .slice(0, 3)
      .join(' / ');
    const refused = [...refusals].map(([c, n]) => `${c} ×${n}`).join(', ');
    restartLog.push(
      `t=${atS}s: old agent exited (${code}) ${(stopMs / 1000).toFixed(1)} s after SIGTERM, new one ready ` +
        `${(gapMs / 1000).toFixed(1)} s after${refused ? `; refused ${refused}` : ''}${said ? `; it said: ${said.slice(0, 300)}` : ''}`,
    );
    if (gapMs > MAX_RESTART_GAP_MS)
      throw new Error(`back only after ${Math.round(gapMs / 1000)} s (refused ${refused})`);
  } finally {
    closeWindow();
  }
}

const MAIN = tunnel('soak-main');
const RESTART = tunnel('soak-restart');
const ABAN = tunnel('soak-aban');
const DROP = tunnel('soak-drop');
const UPLOAD_MIB = [1, 3, 6];
const DOWNLOAD_MIB = [2, 8, 16, 32];
/** Abandoned requests rotate through these (with a small body, or Content-Length: 0). */
const ABANDONED: { method: string; body: boolean }[] = [
  { method: 'POST', body: false },
  { method: 'GET', body: false },
  { method: 'DELETE', body: false },
  { method: 'PUT', body: true },
  { method: 'POST', body: true },
];
const runId = Date.now().toString(36);

/** LOOPS: what runs concurrently, and how often (each pauses this long between operations). */
const loops: Promise<void>[] = [
  ...[0, 1, 2].map(() => loop('small GET', 25, false, () => smallGet(MAIN, mainKA))),
  ...[0, 1].map(() => loop('small GET (restarting agent)', 25, true, () => smallGet(RESTART, restartKA))),
  loop('upload', 1_000, false, (i) => upload(MAIN, mainKA, UPLOAD_MIB[i % 3]! * MiB, i * 4099, i % 2 === 1)),
  loop('download', 1_000, false, (i) => download(MAIN, mainKA, DOWNLOAD_MIB[i % 4]! * MiB, i % 7, i % 2 === 0)),
  loop('download (restarting agent)', 500, true, (i) => download(RESTART, restartKA, 8 * MiB, 0, i % 4 === 0)),
  loop('ws session', 500, false, (i) => wsSession(MAIN, 10, i)),
  longLivedWs(),
  loop('sse', 500, false, () => sse(MAIN, mainKA, 20, 20)),
  loop('tcp echo', 1_000, false, (i) => tcpEcho(tcpPort, 2 * MiB, i * 13)),
  loop('pipe', 1_000, false, (i) => pipeTransfer(own, ownKA, `soak-${runId}-${i}`, 4 * MiB, i * 31)),
  loop('abandoned', 500, false, async (i) => {
    const a = ABANDONED[i % ABANDONED.length]!;
    const method = `${a.method}${a.body ? ' with a body' : ''}`;
    const id = `${runId}-${i}-${a.method}`;
    abandoned.push({ id, method });
    await abandon(ABAN, a.method, a.body, id, 500);
  }),
  loop('origin drop (502)', 2_000, false, () => dropped(DROP)),
  restartLoop(),
];

// ---------------------------------------------------------------- sampling and rows

const samples: { t: number; s: ProcSample }[] = [];
const sampler = setInterval(() => {
  const s = procSample(server.pid);
  if (s) samples.push({ t: Date.now(), s });
  if (samples.length > 600) samples.splice(0, samples.length - 600);
}, 1_000);
const benchLoop = monitorEventLoopDelay({ resolution: 10 });
benchLoop.enable();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

async function serverLoopP99Ms(): Promise<number | undefined> {
  try {
    const r = await call(own, { path: '/metrics', agent: false, timeoutMs: 10_000, keepText: 1 << 20 });
    const m = /^burrow_nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? ([\d.e+-]+)$/m.exec(r.text);
    return m ? Number(m[1]) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

interface Row {
  label: string;
  done: Map<string, number>;
  errors: number;
  expected: number;
  rss: number;
  fds: number;
  /** The server's CPU use over the interval, % of one core. */
  cpuPct: number;
  loopP99: number | undefined;
  benchP99: number;
  load: number;
}
const rows: Row[] = [];
let lastDone = tally.doneByKind();
let lastTotals = tally.totals();

console.log(
  `\n| t | ${COLS.map(([c]) => c).join(' | ')} | errors | expected (restart) | server RSS MiB | server fds | server CPU % | server loop p99 ms | bench loop p99 ms | load 1m |`,
);
console.log(`|---|${COLS.map(() => '---:').join('|')}|---:|---:|---:|---:|---:|---:|---:|---:|`);

let lastCpu = { t: Date.now(), cpuS: procSample(server.pid)?.cpuS ?? 0 };
function cpuPct(): number {
  const now = { t: Date.now(), cpuS: procSample(server.pid)?.cpuS ?? lastCpu.cpuS };
  const pct = ((now.cpuS - lastCpu.cpuS) / Math.max(0.001, (now.t - lastCpu.t) / 1000)) * 100;
  lastCpu = now;
  return pct;
}

let lastRowAt = t0;
async function takeRow(label: string): Promise<Row> {
  // RSS swings with GC under 64 MiB bursts: the interval's median, not one reading
  const recent = samples.filter((x) => x.t > lastRowAt);
  const use = recent.length ? recent : samples.slice(-1);
  lastRowAt = Date.now();
  const done = tally.doneByKind();
  const delta = new Map([...done].map(([k, n]) => [k, n - (lastDone.get(k) ?? 0)]));
  const totals = tally.totals();
  const row: Row = {
    label,
    done: delta,
    errors: totals.errors - lastTotals.errors,
    expected: totals.expected - lastTotals.expected,
    rss: median(use.map((x) => x.s.rss)),
    fds: median(use.map((x) => x.s.fds)),
    cpuPct: cpuPct(),
    loopP99: await serverLoopP99Ms(),
    benchP99: benchLoop.percentile(99) / 1e6,
    load: loadavg()[0]!,
  };
  benchLoop.reset();
  lastDone = done;
  lastTotals = totals;
  rows.push(row);
  const cells = COLS.map(([, ks]) => ks.reduce((n, k) => n + (delta.get(k) ?? 0), 0));
  console.log(
    `| ${label} | ${cells.join(' | ')} | ${row.errors} | ${row.expected} | ${(row.rss / MiB).toFixed(1)} | ${row.fds} | ${row.cpuPct.toFixed(0)} | ` +
      `${row.loopP99 === undefined ? 'n/a' : row.loopP99.toFixed(1)} | ${row.benchP99.toFixed(1)} | ${row.load.toFixed(2)} |`,
  );
  return row;
}

const intervals = Math.floor(durationS / intervalS);
let rowTimerDone = Promise.resolve();
for (let k = 1; k <= intervals; k++) {
  const at = t0 + k * intervalS * 1000;
  if (at >= deadline) break;
  rowTimerDone = rowTimerDone.then(async () => {
    await sleep(Math.max(0, at - Date.now()));
    await takeRow(`${Math.round((at - t0) / 1000)} s`);
  });
}
await Promise.all(loops);
await Promise.all(busyDownloads);
await rowTimerDone;
await takeRow(`end (${Math.round((Date.now() - t0) / 1000)} s)`);
clearInterval(sampler);
const loadEnd = loadavg();

// ---------------------------------------------------------------- after the load

// the visitors' idle keep-alive connections are streams too (one per connection): close them first
for (const a of [mainKA, restartKA, ownKA]) a.destroy();
await sleep(SETTLE_MS);
const tunnelNames = [...HTTP_TUNNELS, tcpReady.name];
async function openStreams(): Promise<Map<string, number | string>> {
  const out = new Map<string, number | string>();
  for (const name of tunnelNames) {
    try {
      const r = await call(own, { path: `/api/tunnels/${name}/status`, agent: false, timeoutMs: 10_000 });
      out.set(
        name,
        r.status === 200 ? (JSON.parse(r.text) as { openStreams: number }).openStreams : `HTTP ${r.status}`,
      );
    } catch (err) {
      out.set(name, (err as Error).message);
    }
  }
  return out;
}
let streams = await openStreams();
for (let i = 0; i < 10 && [...streams.values()].some((v) => v !== 0); i++) {
  await sleep(1_000);
  streams = await openStreams();
}

const { arrivals } = await origin.request<{ arrivals: Record<string, number> }>({ cmd: 'arrivals' });
const dupByMethod = new Map<string, number>();
let reached = 0;
let dupTotal = 0;
for (const a of abandoned) {
  const n = arrivals[a.id] ?? 0;
  if (n > 0) reached++;
  if (n > 1) {
    dupTotal++;
    dupByMethod.set(a.method, (dupByMethod.get(a.method) ?? 0) + 1);
  }
}

// ---------------------------------------------------------------- report

const totals = tally.totals();
console.log(`\nload average: start ${fmtLoad(loadStart)}, end ${fmtLoad(loadEnd)}`);
{
  const cpu = (pid: number | undefined): string => (pid === undefined ? '?' : (procSample(pid)?.cpuS ?? 0).toFixed(0));
  const bench = process.cpuUsage();
  console.log(
    `CPU seconds over the run: server ${cpu(server.pid)}, agents ${[
      mainAgent,
      restartAgent,
      abanAgent,
      dropAgent,
      tcpAgent,
    ]
      .map((a) => `${a!.name} ${cpu(a!.pid)}`)
      .join(', ')} (soak-restart: the last one), origins ${cpu(origin.proc.pid)}, ` +
      `visitors (this process) ${((bench.user + bench.system) / 1e6).toFixed(0)}; wall ${Math.round((Date.now() - t0) / 1000)} s`,
  );
}
console.log('done per kind (total, MiB moved):');
for (const [k, c] of tally.kinds)
  console.log(`  ${k}: ${c.done}${c.bytes >= MiB ? ` (${(c.bytes / MiB).toFixed(0)} MiB)` : ''}`);
console.log(`errors: ${totals.errors}`);
for (const l of tally.describe('errors')) console.log(`  ${l}`);
console.log(`expected during agent restarts: ${totals.expected}`);
for (const l of tally.describe('expected')) console.log(`  ${l}`);
console.log('agent restarts:');
for (const l of restartLog) console.log(`  ${l}`);
console.log(
  `abandoned requests: ${abandoned.length}, reached the origin ${reached}, more than once ${dupTotal}` +
    (dupTotal ? ` (${[...dupByMethod].map(([m, n]) => `${m} ${n}`).join(', ')})` : ''),
);
console.log(
  `openStreams after the load + ${SETTLE_MS / 1000} s: ${[...streams].map(([n, v]) => `${n} ${v}`).join(', ')}`,
);

const verdicts: [string, boolean | undefined, string][] = [];
verdicts.push(['errors = 0', totals.errors === 0, String(totals.errors)]);
const base = rows.length > 1 ? rows[0] : undefined;
for (const [what, get, unit] of [
  ['server RSS', (r: Row) => r.rss / MiB, ' MiB'],
  ['server fds', (r: Row) => r.fds, ''],
] as const) {
  if (!base) {
    verdicts.push([`${what} within ±10 % after warm-up`, undefined, 'run shorter than two intervals']);
    continue;
  }
  const b = get(base);
  const worst = rows.slice(1).reduce((w, r) => (Math.abs(get(r) - b) > Math.abs(w - b) ? get(r) : w), b);
  const drift = (worst - b) / b;
  verdicts.push([
    `${what} within ±10 % after warm-up`,
    Math.abs(drift) <= DRIFT,
    `${b.toFixed(unit ? 1 : 0)}${unit} at ${base.label}, furthest ${worst.toFixed(unit ? 1 : 0)}${unit} (${drift >= 0 ? '+' : ''}${(drift * 100).toFixed(1)} %)`,
  ]);
}
const leaked = [...streams].filter(([, v]) => v !== 0);
verdicts.push([
  'openStreams = 0',
  leaked.length === 0,
  leaked.length ? leaked.map(([n, v]) => `${n} ${v}`).join(', ') : 'all 0',
]);
verdicts.push([
  'abandoned requests reaching the origin twice = 0',
  dupTotal === 0,
  `${dupTotal} of ${abandoned.length}`,
]);
const p99s = rows.map((r) => r.loopP99).filter((x): x is number => x !== undefined);
console.log(
  `server event-loop delay p99 per interval: ${p99s.length ? p99s.map((x) => x.toFixed(1)).join(', ') + ' ms' : 'n/a (no burrow_nodejs_eventloop_lag_p99_seconds in /metrics)'}`,
);
console.log('\nverdicts:');
for (const [name, ok, detail] of verdicts)
  console.log(`  ${ok === undefined ? 'N/A ' : ok ? 'PASS' : 'FAIL'} ${name}: ${detail}`);

await Promise.all([mainAgent, restartAgent, abanAgent, dropAgent, tcpAgent].map((a) => a!.stop('SIGTERM', 5_000)));
await server.stop('SIGTERM', 10_000);
await origin.stop();
process.exit(verdicts.some(([, ok]) => ok === false) ? 1 : 0);
