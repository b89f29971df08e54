/**
 * bench/tcp-expose: raw TCP direct vs through `burrow tcp` (a public TCP port on the burrow server,
 * one multiplexed stream per connection to the agent, which dials the local service), and vs the
 * WebSocket access to the same tunnel (`burrow connect URL --mode multiplexed`, → /tcp/<name>), and the
 * floors: two and three bare Node pipe proxies in a row.
 *
 *   node --import tsx bench/tcp-expose.ts [--size-mib 1024] [--conns 100] [--exchanges 200] [--rounds 3]
 *                                         [--write] [--cpu-prof DIR] [--composed-server]
 *
 * Processes: the targets (a sink that acks after N bytes, a source, an echo) run in a child process;
 * the burrow server is the built CLI, `burrow server --tcp-ports …` (without dist/, composeServer in a
 * child through tsx, whose larger heap changes its garbage collection; --composed-server asks for that
 * one anyway); the agents are the built CLI,
 * `burrow tcp PORT`, one per target (without dist/, one child running exposeTcp ×3 through tsx,
 * whose larger heap changes its garbage collection); the WebSocket access clients are the built CLI
 * too, `burrow connect`, one per target (without dist/, startTcpTunnel in this process); the load
 * (the clients) runs in this process.
 * 1) one stream up: an 8-byte length, then N bytes; the sink answers one byte once it has all N.
 *    One stream down: an 8-byte length to the source, which sends N bytes.
 * 2) request/response: --conns connections in parallel, each doing --exchanges sequential 64-byte
 *    echo round trips.
 * Every round measures the paths in turn; the table shows medians and same-round ratios, and the CPU
 * seconds per GiB the hops used for the one-stream transfers (/proc): burrow server + agent (+ the
 * access clients on the WebSocket path), or the proxies.
 * --write replaces the "## tcp expose" section of bench/RESULTS.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { argNumber, argValue, exitWithParent, likeBurrowCli, ready } from './lib/child.js';
import { ROOT, spawnChild, stopAll, type Child } from './lib/procs.js';
import { runComposedServer } from './lib/composed-server.js';
import { CLI_JS, loopbackServerArgs, startCli, type CliProc } from './lib/soak-procs.js';
import { MSG, reqRes, runTargets, streamDown, streamUp, targetFlags } from './lib/tcp-targets.js';

// ---------------------------------------------------------------- child roles

async function runAgent(): Promise<void> {
  likeBurrowCli('client');
  const { exposeTcp } = await import('../src/client/burrow/expose-tcp.js');
  const server = argValue('server')!;
  const out: Record<string, { port: number; wsUrl: string; token: string }> = {};
  for (const name of ['sink', 'source', 'echo']) {
    const t = await exposeTcp({ port: argNumber(name, 0), localHost: '127.0.0.1', server, reconnect: false });
    out[name] = { port: Number(new URL(t.tcpAddress!).port), wsUrl: t.wsUrl!, token: t.accessToken! };
  }
  ready(out);
  exitWithParent();
}

// ---------------------------------------------------------------- parent

/** Through one port, `conns` connections doing `exchanges` round trips each. */
function reqResOn(port: number, conns: number, exchanges: number): ReturnType<typeof reqRes> {
  return reqRes(
    Array.from({ length: conns }, () => port),
    exchanges,
  );
}

/** user + system CPU seconds of a process so far (Linux /proc; 0 where unavailable). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
  } catch {
    return 0;
  }
}

interface Sample {
  up: number;
  down: number;
  perSec: number;
  p50: number;
  p99: number;
  /** CPU seconds per GiB moved, burrow server + agent, during the upload / download. */
  cpuUp: number;
  cpuDown: number;
}

async function measure(
  name: string,
  ports: { sink: number; source: number; echo: number },
  bytes: number,
  conns: number,
  exchanges: number,
  pids: (number | undefined)[],
): Promise<Sample> {
  const gib = bytes / 1024 ** 3;
  const cpu = (): number => pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0);
  let c0 = cpu();
  const up = await streamUp(ports.sink, bytes);
  const cpuUp = (cpu() - c0) / gib;
  c0 = cpu();
  const down = await streamDown(ports.source, bytes);
  const cpuDown = (cpu() - c0) / gib;
  const rr = await reqResOn(ports.echo, conns, exchanges);
  const sample = { up, down, ...rr, cpuUp, cpuDown };
  process.stdout.write(`${name}: ${JSON.stringify(sample)}\n`);
  return sample;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const sizeMiB = argNumber('size-mib', 1024);
  const conns = argNumber('conns', 100);
  const exchanges = argNumber('exchanges', 200);
  const rounds = argNumber('rounds', 3);
  const bytes = sizeMiB * 1024 * 1024;
  const self = path.relative(path.join(ROOT, 'bench', 'lib'), path.join(ROOT, 'bench', 'tcp-expose.ts'));
  const children: Child<unknown>[] = [];
  const startLoad = loadavg();
  const startedAt = new Date();
  const cliAgents: CliProc[] = [];
  try {
    const targets = spawnChild<{ sink: number; source: number; echo: number }>('targets', self, ['--role', 'targets']);
    children.push(targets);
    const t = await targets.ready;
    // --cpu-prof DIR: profile the server, the agents and the access clients (written on exit).
    const profDir = argValue('cpu-prof');
    const prof = profDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] } : {};
    let port: number;
    let serverPid: number | undefined;
    if (existsSync(CLI_JS) && !process.argv.includes('--composed-server')) {
      const from = 30000 + Math.floor(Math.random() * 9900);
      const s = await startCli(
        'burrow server',
        loopbackServerArgs(from, 50),
        /listening on [\d.]+:(\d+)/,
        60_000,
        CLI_JS,
        prof.nodeArgs ?? [],
      );
      cliAgents.push(s);
      port = Number(s.match[1]);
      serverPid = s.pid;
    } else {
      const server = spawnChild<{ port: number }>('server', self, ['--role', 'server'], prof);
      children.push(server);
      port = (await server.ready).port;
      serverPid = server.proc.pid;
    }
    type Exposed = Record<'sink' | 'source' | 'echo', { port: number; wsUrl: string; token: string }>;
    // the agents: the built CLI as a user runs it (`burrow tcp PORT`, one per target), or without a
    // build this file's agent role (exposeTcp ×3 in one process, through tsx, whose own heap is
    // enough to change the agent's garbage collection: see bench/RESULTS.md, the heap headroom)
    let x: Exposed;
    let agentPids: (number | undefined)[];
    if (existsSync(CLI_JS)) {
      const server = `http://127.0.0.1:${port}`;
      const ready = /"event":"ready".*"tcpAddress":"tcp:\/\/[^"]*:(\d+)","wsUrl":"([^"]+)","accessToken":"([^"]+)"/;
      const one = async (name: 'sink' | 'source' | 'echo'): Promise<{ port: number; wsUrl: string; token: string }> => {
        const a = await startCli(
          `burrow tcp (${name})`,
          ['tcp', String(t[name]), '--server', server, '--local-host', '127.0.0.1', '--json'],
          ready,
          60_000,
          CLI_JS,
          prof.nodeArgs ?? [],
        );
        cliAgents.push(a);
        return { port: Number(a.match[1]), wsUrl: a.match[2]!, token: a.match[3]! };
      };
      x = { sink: await one('sink'), source: await one('source'), echo: await one('echo') };
      agentPids = cliAgents.filter((a) => a.name.startsWith('burrow tcp')).map((a) => a.pid);
    } else {
      const agent = spawnChild<Exposed>(
        'agent',
        self,
        ['--role', 'agent', '--server', `http://127.0.0.1:${port}`, ...targetFlags(t)],
        prof,
      );
      children.push(agent);
      x = await agent.ready;
      agentPids = [agent.proc.pid];
    }
    const burrowPids = [serverPid, ...agentPids];

    // the WebSocket access clients: the built CLI as a user runs it (`burrow connect URL --mode
    // multiplexed`, one per target, each its own process like the proxies of the floor rows); without a
    // build, in this process (as `burrow connect` would run it: malloc thresholds), beside the load
    type Access = Record<'sink' | 'source' | 'echo', number>;
    let access: Access;
    let accessPids: (number | undefined)[] = [];
    let closeAccess: () => void = () => {};
    if (existsSync(CLI_JS)) {
      const ready = /"event":"ready".*"port":(\d+)/;
      const one = async (name: 'sink' | 'source' | 'echo'): Promise<number> => {
        const c = await startCli(
          `burrow connect (${name})`,
          [
            'connect',
            x[name].wsUrl,
            '--token',
            x[name].token,
            '--mode',
            'multiplexed',
            '--json',
            '--log-level',
            'error',
          ],
          ready,
          60_000,
          CLI_JS,
          prof.nodeArgs ?? [],
        );
        cliAgents.push(c);
        accessPids.push(c.pid);
        return Number(c.match[1]);
      };
      access = { sink: await one('sink'), source: await one('source'), echo: await one('echo') };
    } else {
      likeBurrowCli('client');
      const { startTcpTunnel } = await import('../src/client/tcp-ws/tcp-tunnel.js');
      const opts = { mode: 'multiplexed' as const, logLevel: 'none' as const };
      const ws = {
        sink: await startTcpTunnel(x.sink.wsUrl, x.sink.token, '127.0.0.1', 0, opts),
        source: await startTcpTunnel(x.source.wsUrl, x.source.token, '127.0.0.1', 0, opts),
        echo: await startTcpTunnel(x.echo.wsUrl, x.echo.token, '127.0.0.1', 0, opts),
      };
      access = { sink: ws.sink.address.port, source: ws.source.address.port, echo: ws.echo.address.port };
      accessPids = [];
      closeAccess = () => Object.values(ws).forEach((w) => w.close());
    }
    // the floor: two bare Node TCP proxies in the server's and the agent's places (no WebSocket, no mux)
    const near = spawnChild<{ ports: number[] }>('pipe-near', 'pipe-proxy.ts', [
      '--ports',
      `${t.sink},${t.source},${t.echo}`,
    ]);
    children.push(near);
    const n = (await near.ready).ports;
    const far = spawnChild<{ ports: number[] }>('pipe-far', 'pipe-proxy.ts', ['--ports', n.join(',')]);
    children.push(far);
    const p = (await far.ready).ports;
    // and a third in front of them: the floor of three hops, as many as the WebSocket access has (the
    // access client, the server, the agent)
    const front = spawnChild<{ ports: number[] }>('pipe-front', 'pipe-proxy.ts', ['--ports', p.join(',')]);
    children.push(front);
    const q = (await front.ready).ports;
    const paths: [string, { sink: number; source: number; echo: number }, (number | undefined)[]][] = [
      ['direct', t, []],
      [
        'two bare Node pipe proxies (the floor of two hops)',
        { sink: p[0]!, source: p[1]!, echo: p[2]! },
        [far.proc.pid, near.proc.pid],
      ],
      ['burrow tcp (public port)', { sink: x.sink.port, source: x.source.port, echo: x.echo.port }, burrowPids],
      [
        'burrow tcp via WebSocket access (burrow client, multiplexed)',
        access,
        // the access clients' CPU too when they are processes of their own
        [...burrowPids, ...accessPids],
      ],
      [
        'three bare Node pipe proxies in a row (the floor of three hops)',
        { sink: q[0]!, source: q[1]!, echo: q[2]! },
        [front.proc.pid, far.proc.pid, near.proc.pid],
      ],
    ];

    process.stdout.write(
      `one stream: ${sizeMiB} MiB; request/response: ${conns} connections × ${exchanges} × ${MSG} B; ${rounds} round(s)\n`,
    );
    const samples = paths.map((): Sample[] => []);
    for (let round = 0; round < rounds; round++) {
      for (const [i, [name, ports, pids]] of paths.entries()) {
        samples[i]!.push(await measure(name, ports, bytes, conns, exchanges, pids));
      }
    }
    closeAccess();
    const endLoad = loadavg();

    const d = samples[0]!;
    const f = (n: number, digits = 0): string => n.toFixed(digits);
    const pick = (xs: Sample[], k: keyof Sample): number => median(xs.map((s) => s[k]));
    /** Median of the same-round ratios to direct, and the ratios themselves. */
    const vs = (xs: Sample[], k: 'up' | 'down' | 'perSec'): string => {
      const r = xs.map((s, i) => s[k] / d[i]![k]);
      return `${f(median(r), 2)}× (${r.map((v) => f(v, 2)).join(' / ')})`;
    };
    const table = [
      '| path | upload MiB/s | vs direct, same round | download MiB/s | vs direct, same round | exchanges/s | vs direct | p50 ms | p99 ms | hop CPU s/GiB up / down (server + agent (+ access client), or the proxies) |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...paths.map(([name], i) => {
        const xs = samples[i]!;
        const cpu = i === 0 ? '—' : `${f(pick(xs, 'cpuUp'), 2)} / ${f(pick(xs, 'cpuDown'), 2)}`;
        return `| ${name} | ${f(pick(xs, 'up'))} | ${i === 0 ? '1.00×' : vs(xs, 'up')} | ${f(pick(xs, 'down'))} | ${i === 0 ? '1.00×' : vs(xs, 'down')} | ${f(pick(xs, 'perSec'))} | ${i === 0 ? '1.00×' : vs(xs, 'perSec').split(' ')[0]} | ${f(pick(xs, 'p50'), 2)} | ${f(pick(xs, 'p99'), 2)} | ${cpu} |`;
      }),
    ].join('\n');
    process.stdout.write(`\n${table}\n`);
    // issue 19 (4): one stream through burrow against the two-hop floor, same round, both ways
    const floor = samples[1]!;
    const targetLines = (['up', 'down'] as const).flatMap((k) =>
      (
        [
          [2, 0.9, '19.4-tcp', 'public port'],
          [3, 0.8, '19.4-ws', 'WebSocket access'],
        ] as const
      ).map(([i, want, id, label]) => {
        const r = median(samples[i]!.map((s, j) => s[k] / floor[j]![k]));
        return `- ${r >= want ? 'PASS' : 'MISS'} ${id}-${k} one stream ${k === 'up' ? 'upload' : 'download'}, ${label}: ${f(r, 2)}× two bare hops, same round (target ≥ ${want})`;
      }),
    );
    // the bound of the WebSocket access's target: three bare hops against two, and the access against three
    const three = samples[4]!;
    const bound = (['up', 'down'] as const).map((k) => {
      const floors = median(three.map((s, j) => s[k] / floor[j]![k]));
      const ws = median(samples[3]!.map((s, j) => s[k] / three[j]![k]));
      return `- ${k === 'up' ? 'upload' : 'download'}: three bare hops reach ${f(floors, 2)}× two bare hops; the WebSocket access ${f(ws, 2)}× three bare hops (same round)`;
    });
    process.stdout.write(
      `\nTargets (issue 19, 4):\n\n${targetLines.join('\n')}\n\nThe WebSocket access has three JavaScript hops:\n\n${bound.join('\n')}\n`,
    );
    if (process.argv.includes('--write')) {
      writeResults(table, { sizeMiB, conns, exchanges, rounds, startLoad, endLoad, startedAt });
    }
  } finally {
    await Promise.all(cliAgents.map((a) => a.stop()));
    await stopAll(children);
  }
}

function writeResults(
  table: string,
  o: {
    sizeMiB: number;
    conns: number;
    exchanges: number;
    rounds: number;
    startLoad: number[];
    endLoad: number[];
    startedAt: Date;
  },
): void {
  const file = path.join(ROOT, 'bench', 'RESULTS.md');
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = '# Benchmark results\n';
  }
  const section = [
    '## tcp expose',
    '',
    `Command: \`node --import tsx bench/tcp-expose.ts --write\` (defaults: \`--size-mib ${o.sizeMiB} --conns ${o.conns} --exchanges ${o.exchanges} --rounds ${o.rounds}\`;`,
    '`--cpu-prof DIR` profiles the server, the agents and the WebSocket access clients).',
    'Targets (a sink that acks after N bytes, a source, an echo) and the burrow server (composeServer with',
    '--tcp-ports, no TLS) run in child processes, the agents are the built CLI (`burrow tcp PORT`, one per',
    'target), and so are the WebSocket access clients (`burrow connect URL --mode multiplexed`); the load',
    'runs in the bench process. "Upload"/"download": one connection,',
    `${o.sizeMiB} MiB client → target / target → client. "Exchanges": ${o.conns} connections in parallel, each`,
    `doing ${o.exchanges} sequential ${MSG}-byte echo round trips. Each round measures direct, two bare Node`,
    'pipe proxies in a row (`bench/lib/pipe-proxy.ts` in two processes, in the places of the server and the',
    'agent: the floor of any design with two hops), the public port, the WebSocket access and three bare',
    'proxies in a row (the floor of three hops, as many as the WebSocket access has) in that',
    'order; the table shows medians over the rounds (the first round of a',
    'fresh server and agent is the slowest), the same-round ratios to direct in brackets, and the CPU',
    'time (user + system, /proc) the burrow server and agent spent per GiB moved: unlike MiB/s it holds',
    'up on a shared machine. 2-core VM shared with other jobs, so MiB/s, and most of all the direct',
    'row, are noisy.',
    '',
    `Run: ${o.startedAt.toISOString()}, Node ${process.version}; load average (1, 5, 15 min) ${fmtLoad(o.startLoad)} at the start,`,
    `${fmtLoad(o.endLoad)} at the end.`,
    '',
    table,
    '',
    ...READING,
    '',
  ].join('\n');
  const re = /^## tcp expose\n[\s\S]*?(?=^## |(?![\s\S]))/m;
  text = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(file, text);
  process.stdout.write(`wrote the "## tcp expose" section of ${file}\n`);
}

const fmtLoad = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' / ');

/** What the numbers mean; kept with the bench so that --write reproduces the section. */
const READING = [
  'Reading (measured 2026-11-22): the ≥ 0.5× one-stream target is not met; on this 2-core VM it is',
  'at or beyond what any relay with two extra loopback hops reaches. Direct is one kernel copy between two',
  'processes; through burrow every byte also crosses client → server and server → agent, and the',
  "kernel's share (system time) is about 60 % of the server's and the agent's CPU. Two bare Node relays",
  'in the same places (`socket.pipe(socket)` in two processes, no WebSocket, no mux; the second row of',
  'the table, measured in every run) reached 0.21–0.30× direct upload and 0.41–0.50× download when first',
  'measured, spending 2.1–2.6 CPU s/GiB between them;',
  "burrow's server + agent now spend about 2.7 (upload) / 3.1 (download) CPU s/GiB, within 20–30 % of",
  'that floor. The first round after start is the slowest (JIT, TCP buffer growth): the first',
  '~400 MiB cost up to twice the CPU per GiB of the later ones.',
  '',
  'What moved the numbers: an all-zero WebSocket mask on the agent (no masked copy of each message, no',
  'unmask on the server) and DATA frames of 16 KiB or more sent as header + payload, the two fragments',
  'of one WebSocket message, read back fragment by fragment (no copy on either side; the wire format',
  'is unchanged). A/B against the code before them, 5 alternating rounds of 512 MiB each way, load',
  '3–5: server + agent CPU 3.04 → 2.72 s/GiB upload, 3.85 → 3.12 s/GiB download; 383 → 469 and 314 →',
  '398 MiB/s. Where the rest goes (`--cpu-prof`): the sender spends 27–35 % of its busy time in',
  '`writev` to the WebSocket (the kernel copy, and waking the receiver); the receiver 32–36 % in the',
  'write to the next socket, 7–10 % in `ws` joining a message that spans two 64 KiB socket reads, and',
  'about 6 % sending WINDOW credits (one small write per MiB read, each waking the sender). Tried and',
  'dropped: joining the chunks of one event-loop turn into 256 KiB DATA frames (one copy, fewer',
  'messages) cost more CPU than it saved; crediting every half window instead of every quarter saved',
  '2–5 % (within noise) but would change the flow-control rule in docs/PROTOCOL.md.',
];

const role = argValue('role');
if (role === 'targets') await runTargets();
else if (role === 'server') await runComposedServer(50);
else if (role === 'agent') await runAgent();
else await main();
