/**
 * bench/connect-upload: one large upload through the WebSocket access, as users run it: a local
 * client → `burrow connect URL --mode multiplexed` → `burrow server` → `burrow tcp` → a sink, all the
 * built CLI. Prints MiB/s and the CPU seconds per GiB of the `burrow connect` process and of the
 * server, for --rounds transfers after a warm-up. --connect-cli runs `burrow connect` from another
 * build (path to its dist/cli.js), to compare a change of the client alone in alternating runs.
 *
 *   npm run build && node --import tsx bench/connect-upload.ts [--mib 1024] [--rounds 3] [--connect-cli PATH]
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import { loadavg } from 'node:os';
import path from 'node:path';
import { argNumber, argValue } from './lib/child.js';
import { CLI_JS, procSample, startCli, type CliProc } from './lib/soak-procs.js';

const mib = argNumber('mib', 1024);
const rounds = argNumber('rounds', 3);
const connectCli = path.resolve(argValue('connect-cli') ?? CLI_JS);
if (!existsSync(CLI_JS) || !existsSync(connectCli)) {
  process.stderr.write(`bench/connect-upload runs the built CLI: npm run build first (${CLI_JS}, ${connectCli})\n`);
  process.exit(2);
}

/** A sink on a free port: reads everything, closes when the sender does. */
const sink = net.createServer((s) => {
  s.resume();
  s.on('end', () => s.end());
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const sinkPort = (sink.address() as net.AddressInfo).port;

/** Write `bytes` to 127.0.0.1:port in 64 KiB chunks, with backpressure; resolves with MiB/s. */
function push(port: number, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 7);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let left = Math.ceil(bytes / chunk.length);
    const s = net.connect(port, '127.0.0.1', () => {
      const go = (): void => {
        while (left > 0) {
          left--;
          if (!s.write(chunk)) return void s.once('drain', go);
        }
        s.end();
      };
      go();
    });
    s.resume();
    s.on('error', reject);
    s.on('close', () => resolve(bytes / 1024 ** 2 / ((performance.now() - t0) / 1000)));
  });
}

const procs: CliProc[] = [];
try {
  const server = await startCli(
    'burrow server',
    ['server', '--port', '0', '--address', '127.0.0.1', '--db', 'sqlite::memory:'],
    /listening on [^:]+:(\d+)/,
  );
  procs.push(server);
  const serverUrl = `http://127.0.0.1:${server.match[1]}`;
  const agent = await startCli(
    'burrow tcp',
    ['tcp', String(sinkPort), '--server', serverUrl, '--local-host', '127.0.0.1', '--json'],
    /"event":"ready".*"wsUrl":"([^"]+)","accessToken":"([^"]+)"/,
  );
  procs.push(agent);
  const client = await startCli(
    'burrow connect',
    ['connect', agent.match[1]!, '--token', agent.match[2]!, '--mode', 'multiplexed', '--json', '--log-level', 'error'],
    /"event":"ready".*"port":(\d+)/,
    30_000,
    connectCli,
  );
  procs.push(client);
  const localPort = Number(client.match[1]);
  await push(localPort, 256 * 1024 ** 2); // warm-up
  const cpu = (p: CliProc): number => procSample(p.pid)?.cpuS ?? 0;
  process.stdout.write(
    `burrow connect from ${connectCli}; ${mib} MiB × ${rounds}; load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )}\n\n| round | MiB/s | burrow connect CPU s/GiB | server CPU s/GiB | agent CPU s/GiB |\n|---:|---:|---:|---:|---:|\n`,
  );
  const gib = mib / 1024;
  for (let r = 1; r <= rounds; r++) {
    const before = procs.map(cpu);
    const rate = await push(localPort, mib * 1024 ** 2);
    const [s, a, c] = procs.map((p, i) => ((cpu(p) - before[i]!) / gib).toFixed(2));
    process.stdout.write(`| ${r} | ${rate.toFixed(0)} | ${c} | ${s} | ${a} |\n`);
  }
} finally {
  await Promise.all(procs.map((p) => p.stop()));
  sink.close();
}
