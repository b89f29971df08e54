/**
 * bench/idle-memory: the RSS of an idle `burrow server` (embedded defaults, SQLite), an idle
 * `burrow pipe serve` and the real piping-server, each started from plain node and dist/ (bench/
 * pipe-server.ts), read from /proc/<pid>/status once it listens and has settled, before any request.
 * ROUNDS rounds, the order rotating; medians, with the targets of issues 16 and 19:
 * server ≤ 60 MiB, pipe serve ≤ 50 MiB and ≤ piping-server's.
 *
 *   npm run build && node --import tsx bench/idle-memory.ts [--rounds 5] [--settle-ms 3000]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { PIPE_SERVERS, rssMiB, startPipeServer, type PipeServerKind } from './pipe-server.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, 'settle-ms': { type: 'string', default: '3000' } },
});
const ROUNDS = Number(values.rounds);
const SETTLE_MS = Number(values['settle-ms']);

const rss = new Map<PipeServerKind, number[]>(PIPE_SERVERS.map((k) => [k, []]));
const commands = new Map<PipeServerKind, string>();
for (let r = 0; r < ROUNDS; r++) {
  for (let i = 0; i < PIPE_SERVERS.length; i++) {
    const kind = PIPE_SERVERS[(i + r) % PIPE_SERVERS.length]!;
    const s = await startPipeServer(kind);
    commands.set(kind, s.command);
    await new Promise((res) => setTimeout(res, SETTLE_MS));
    rss.get(kind)!.push(rssMiB(s.child.pid!));
    await s.stop();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const med = (k: PipeServerKind): number => median(rss.get(k)!);
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');

console.log(
  `node ${process.version}; RSS ${SETTLE_MS} ms after listening, no request; median of ${ROUNDS} rotating rounds; load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}\n`,
);
console.log('| server | command | RSS MiB (median) | per round |');
console.log('|---|---|---:|---|');
for (const k of PIPE_SERVERS) {
  console.log(
    `| ${k} | \`${commands.get(k)}\` | ${med(k).toFixed(1)} | ${rss
      .get(k)!
      .map((x) => x.toFixed(1))
      .join(' / ')} |`,
  );
}
console.log('\n| target | measured | result |');
console.log('|---|---:|---|');
console.log(
  `| burrow server ≤ 60 MiB | ${med('burrow-server').toFixed(1)} MiB | ${verdict(med('burrow-server') <= 60)} |`,
);
console.log(`| burrow pipe serve ≤ 50 MiB | ${med('burrow').toFixed(1)} MiB | ${verdict(med('burrow') <= 50)} |`);
const ratio = med('burrow') / med('piping-server');
console.log(
  `| burrow pipe serve ≤ piping-server | ${ratio.toFixed(2)}× (${med('burrow').toFixed(1)} vs ${med('piping-server').toFixed(1)} MiB) | ${verdict(ratio <= 1)} |`,
);
