/**
 * HTTP bulk through burrow, against burrow's own TCP path, the two-hop floor and pipenet, in one run.
 *
 *   node --import tsx bench/http-bulk.ts [--mib 256] [--rounds 3] [--only down,down-chunked,up,up-chunked]
 *                                        [--client curl|node] [--profile DIR [--profile-row http|tcp]]
 *
 * One origin (bench/lib/origin.ts: GET /zeros?bytes=N[&chunked=1], POST /sink) is reached by the same
 * client: curl by default, as users move files (Node's http client, --client node, reads a
 * Content-Length body at about a quarter of curl's speed on loopback, so it would measure itself):
 * - direct;
 * - two bare Node pipe proxies in a row (bench/lib/pipe-proxy.ts: the floor of any two-hop design);
 * - burrow tcp: one burrow server (composeServer with --tcp-ports) and one agent process holding an
 *   exposeTcp tunnel to the origin — the HTTP bytes go through burrow's raw TCP path (a public port);
 * - burrow http: the same server and agent process holding an openTunnel HTTP tunnel to the origin —
 *   the visitor's connection through the relay (src/server/http/relay.ts);
 * - pipenet 1.4.3 (its server and client, pool of 10).
 * Each case runs every row once per round, the row order rotating each round; medians shown, with
 * the server + agent CPU seconds per GiB. Targets (issue 19, 1): burrow http ≥ 0.9× burrow tcp and
 * ≥ 2× pipenet, same run. --profile DIR writes a CPU profile of the burrow server and agent for the
 * burrow http (or tcp) row of the first round of each case.
 */
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, ftruncateSync } from 'node:fs';
import { download, median, upload, type DownloadSample, type Target } from './lib/load.js';
import { argNumber, argValue, exitWithParent, likeBurrowCli, ready, serveProfiling } from './lib/child.js';
import { LIB_DIR, ROOT, spawnChild, stopAll, type Child } from './lib/procs.js';
import { runComposedServer } from './lib/composed-server.js';
import { spawnPipenetClient, startServers } from './lib/setups.js';

async function runAgent(): Promise<void> {
  likeBurrowCli('client');
  const { exposeTcp } = await import('../src/client/burrow/expose-tcp.js');
  const { openTunnel } = await import('../src/client/burrow/open-tunnel.js');
  const server = argValue('server')!;
  const port = argNumber('port', 0);
  const tcp = await exposeTcp({ port, localHost: '127.0.0.1', server, reconnect: false });
  const http = await openTunnel({ port, localHost: '127.0.0.1', server, subdomain: 'bulk' });
  http.on('error', () => {});
  serveProfiling();
  ready({ tcpPort: Number(new URL(tcp.tcpAddress!).port), httpHost: new URL(http.url).host });
  exitWithParent();
}

/** user + system CPU seconds of a process so far (Linux /proc; 0 where unavailable). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

type CaseName = 'down' | 'down-chunked' | 'up' | 'up-chunked';
const CASES: Record<CaseName, string> = {
  down: 'download, Content-Length',
  'down-chunked': 'download, chunked',
  up: 'upload, Content-Length',
  'up-chunked': 'upload, chunked',
};

interface Row {
  target: Target;
  /** Processes whose CPU counts for this row (the hops, not the origin or the client). */
  pids: (number | undefined)[];
}

const TIMEOUT_MS = 120_000;

/** One transfer with Node's http client (--client node). */
function runNode(c: CaseName, t: Target, bytes: number): Promise<DownloadSample> {
  if (c === 'down') return download(t, bytes, TIMEOUT_MS);
  if (c === 'down-chunked') return download(t, bytes, TIMEOUT_MS, true);
  if (c === 'up') return upload(t, bytes, TIMEOUT_MS);
  return upload(t, bytes, TIMEOUT_MS, true);
}

/**
 * One transfer with curl, as users move files (the default client): `curl URL -o /dev/null` down,
 * `curl -T file` up (Content-Length from the file's size; chunked with Transfer-Encoding: chunked),
 * Expect: 100-continue as curl sends it. Speed from curl's own -w timings.
 */
function runCurl(c: CaseName, t: Target, bytes: number, file: string): Promise<DownloadSample> {
  const base = `http://127.0.0.1:${t.port}`;
  const args = ['-s', '-S', '--fail', '-H', `Host: ${t.host}`, '-w', '\n%{size_download} %{size_upload} %{time_total}'];
  if (c === 'down' || c === 'down-chunked') {
    args.push('-o', '/dev/null', `${base}/zeros?bytes=${bytes}${c === 'down-chunked' ? '&chunked=1' : ''}`);
  } else {
    if (c === 'up-chunked') args.push('-H', 'Transfer-Encoding: chunked');
    args.push('-X', 'POST', '-T', file, `${base}/sink`);
  }
  return new Promise((resolve) => {
    execFile('curl', args, { timeout: TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const lines = stdout.trimEnd().split('\n');
      const [down, up, total] = lines[lines.length - 1]!.split(' ').map(Number) as [number, number, number];
      const moved = c.startsWith('down') ? down : ((JSON.parse(lines[0] ?? '{}') as { bytes?: number }).bytes ?? 0);
      const s: DownloadSample = {
        bytes: moved,
        seconds: total,
        mibps: moved / 1048576 / total,
        ok: !err && moved === bytes,
      };
      if (!s.ok) s.error = err ? `${err.message} ${stderr}` : `moved ${moved} of ${bytes} (sent ${up})`;
      resolve(s);
    });
  });
}

async function main(): Promise<void> {
  const mib = argNumber('mib', 256);
  const rounds = argNumber('rounds', 3);
  const only = (argValue('only') ?? Object.keys(CASES).join(',')).split(',') as CaseName[];
  for (const c of only)
    if (!(c in CASES)) throw new Error(`--only: unknown case ${c} (${Object.keys(CASES).join(', ')})`);
  const profileDir = argValue('profile');
  const profileRow = argValue('profile-row') ?? 'http';
  const client = argValue('client') ?? 'curl';
  if (client !== 'curl' && client !== 'node') throw new Error('--client curl|node');
  const bytes = mib * 1024 * 1024;
  // the upload body, a sparse file of zeros (read from the page cache)
  const file = path.join(os.tmpdir(), `burrow-bench-bulk-${process.pid}`);
  const fd = openSync(file, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
  const run = (c: CaseName, t: Target): Promise<DownloadSample> =>
    client === 'curl' ? runCurl(c, t, bytes, file) : runNode(c, t, bytes);
  const self = path.relative(LIB_DIR, path.join(ROOT, 'bench', 'http-bulk.ts'));
  const children: Child<unknown>[] = [];
  const track = <T>(c: Child<T>): Child<T> => {
    children.push(c);
    return c;
  };
  const load: number[] = [];
  const startedAt = new Date();
  try {
    const { server, pnServer, originPort, burrowPort, pnPort } = await startServers(track, self, ['--role', 'server']);
    const agent = track(
      spawnChild<{ tcpPort: number; httpHost: string }>('burrow-agent', self, [
        '--role',
        'agent',
        '--server',
        `http://127.0.0.1:${burrowPort}`,
        '--port',
        String(originPort),
      ]),
    );
    const pnClient = track(spawnPipenetClient('pipenet-client', 'pipenet-client.ts', pnPort, originPort));
    const far = track(spawnChild<{ port: number }>('pipe-far', 'pipe-proxy.ts', ['--port', String(originPort)]));
    const farPort = (await far.ready).port;
    const near = track(spawnChild<{ port: number }>('pipe-near', 'pipe-proxy.ts', ['--port', String(farPort)]));
    const [{ tcpPort, httpHost }, pn, { port: nearPort }] = await Promise.all([
      agent.ready,
      pnClient.ready,
      near.ready,
    ]);
    const hops = [server.proc.pid, agent.proc.pid];
    const rows: Row[] = [
      { target: { name: 'direct', port: originPort, host: `127.0.0.1:${originPort}` }, pids: [] },
      {
        target: { name: 'two bare Node pipe proxies (floor)', port: nearPort, host: `127.0.0.1:${nearPort}` },
        pids: [near.proc.pid, far.proc.pid],
      },
      { target: { name: 'burrow tcp (public port)', port: tcpPort, host: `127.0.0.1:${tcpPort}` }, pids: hops },
      { target: { name: 'burrow http (relay)', port: burrowPort, host: httpHost }, pids: hops },
      {
        target: { name: 'pipenet', port: pnPort, host: `${pn.id}.localhost:${pnPort}` },
        pids: [pnServer.proc.pid, pnClient.proc.pid],
      },
    ];
    const results = new Map<string, { mibps: number[]; cpu: number[]; failed: number }>();
    const key = (c: CaseName, r: Row): string => `${c}\u0000${r.target.name}`;
    for (const c of only) {
      for (let round = 0; round < rounds; round++) {
        const order = rows.map((_, i) => rows[(i + round) % rows.length]!);
        for (const row of order) {
          load.push(os.loadavg()[0]!);
          const profiling = profileDir && round === 0 && row.target.name.startsWith(`burrow ${profileRow}`);
          if (profiling) {
            await Promise.all([server.request({ cmd: 'profile-start' }), agent.request({ cmd: 'profile-start' })]);
          }
          const c0 = row.pids.reduce<number>((s, p) => s + cpuSeconds(p), 0);
          const s = await run(c, row.target);
          const cpu = row.pids.reduce<number>((s, p) => s + cpuSeconds(p), 0) - c0;
          if (profiling) {
            const dir = path.resolve(profileDir);
            await Promise.all([
              server.request(
                { cmd: 'profile-stop', file: path.join(dir, `server-${profileRow}-${c}.cpuprofile`) },
                30_000,
              ),
              agent.request(
                { cmd: 'profile-stop', file: path.join(dir, `agent-${profileRow}-${c}.cpuprofile`) },
                30_000,
              ),
            ]);
          }
          const r = results.get(key(c, row)) ?? { mibps: [], cpu: [], failed: 0 };
          if (s.ok) {
            r.mibps.push(s.mibps);
            r.cpu.push(cpu / (bytes / 1024 ** 3));
          } else {
            r.failed++;
            process.stderr.write(`${c} ${row.target.name}: ${s.error}\n`);
          }
          results.set(key(c, row), r);
        }
      }
    }

    const out: string[] = [];
    out.push(
      `Date: ${startedAt.toISOString()}  ·  Node ${process.version}  ·  ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    );
    out.push(`Command: node --import tsx bench/http-bulk.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
    out.push(`Load (1-min) during the rows: ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}`);
    out.push('');
    out.push(
      `${mib} MiB per transfer with ${client === 'curl' ? 'curl' : "Node's http client"}, ${rounds} rounds (medians; row order rotates each round)`,
    );
    out.push('');
    out.push(
      '| case | setup | MiB/s | vs direct | vs burrow tcp | vs pipenet | hop CPU s/GiB | per-round MiB/s | failed |',
    );
    out.push('|---|---|---:|---:|---:|---:|---:|---|---:|');
    const verdicts: string[] = [];
    for (const c of only) {
      const med = (name: string): number => median(results.get(`${c}\u0000${name}`)?.mibps ?? []);
      const direct = med(rows[0]!.target.name);
      const tcp = med(rows[2]!.target.name);
      const pipenet = med(rows[4]!.target.name);
      for (const row of rows) {
        const r = results.get(key(c, row))!;
        const m = median(r.mibps);
        out.push(
          `| ${CASES[c]} | ${row.target.name} | ${m.toFixed(0)} | ${(m / direct).toFixed(2)}× | ${(m / tcp).toFixed(2)}× | ` +
            `${(m / pipenet).toFixed(2)}× | ${row.pids.length ? median(r.cpu).toFixed(2) : '—'} | ` +
            `${r.mibps.map((x) => x.toFixed(0)).join(' / ')} | ${r.failed} |`,
        );
      }
      const http = med(rows[3]!.target.name);
      const vsTcp = http / tcp;
      const vsPn = http / pipenet;
      verdicts.push(
        `- ${vsTcp >= 0.9 ? 'PASS' : 'MISS'} 19.1-${c}-tcp ${CASES[c]}: burrow http ${vsTcp.toFixed(2)}× burrow tcp (target ≥ 0.9)`,
        `- ${vsPn >= 2 ? 'PASS' : 'MISS'} 19.1-${c}-pipenet ${CASES[c]}: burrow http ${vsPn.toFixed(2)}× pipenet (target ≥ 2)`,
      );
    }
    out.push('', 'Targets (issue 19, 1):', '', ...verdicts);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    rmSync(file, { force: true });
    await stopAll(children);
  }
}

const role = argValue('role');
if (role === 'server') await runComposedServer(10);
else if (role === 'agent') await runAgent();
else await main();
