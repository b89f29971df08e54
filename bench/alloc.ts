/**
 * bench/alloc: bytes allocated per proxied request in the burrow server and its agent — garbage
 * included, which is what the garbage collector pays for. V8's sampling heap profiler (through the
 * inspector protocol, objects that minor and major collections freed kept in the profile) runs in both
 * while 50 connections load the same origin, server and agent as bench/http-cpu (the tunnel asks for
 * request EVENTs, the SDK's default). Prints bytes per request and the functions that allocate most.
 * Sampling makes it an estimate, but one that holds still between runs where CPU time per request
 * swings by ±15–20 %: run it on the builds before and after a change to the data path.
 *
 *   node --import tsx bench/alloc.ts [--duration 5] [--rounds 3] [--top 12] [--interval 1024] [--save DIR]
 *
 * --save DIR writes the last round's profiles (DIR/server.heapprofile, DIR/agent.heapprofile; Chrome
 * DevTools opens them) for the call stacks behind an allocation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadavg } from 'node:os';
import WebSocket from 'ws';
import { argNumber, argValue } from './lib/child.js';
import { runRps, type Target } from './lib/load.js';
import { spawnChild, stopAll, type Child } from './lib/procs.js';

const durationS = argNumber('duration', 5);
const rounds = argNumber('rounds', 3);
const top = argNumber('top', 12);
/** Mean bytes between samples (V8's default is 32 KiB; smaller samples more objects of a request). */
const interval = argNumber('interval', 1024);
const saveDir = argValue('save');

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** A port free now on loopback (for an inspector, which needs it on the command line). */
async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** One process's inspector: a tiny CDP client over its WebSocket. */
async function inspectorOf(
  port: number,
): Promise<{ call: (method: string, params?: object) => Promise<unknown>; close: () => void }> {
  const [first] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(first!.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data) => {
    const m = JSON.parse((data as Buffer).toString()) as { id?: number; result?: unknown; error?: { message: string } };
    const p = m.id === undefined ? undefined : pending.get(m.id);
    if (!p) return;
    pending.delete(m.id!);
    if (m.error) p.reject(new Error(m.error.message));
    else p.resolve(m.result);
  });
  return {
    call: (method, params = {}) =>
      new Promise((resolve, reject) => {
        pending.set(++id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Total sampled bytes and the self bytes of each function (`name file:line`). */
function summarize(head: ProfileNode): { total: number; byFunction: Map<string, number> } {
  const byFunction = new Map<string, number>();
  let total = 0;
  const walk = (n: ProfileNode): void => {
    if (n.selfSize > 0) {
      total += n.selfSize;
      const f = n.callFrame;
      const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c);
  };
  walk(head);
  return { total, byFunction };
}

const children: Child<unknown>[] = [];
try {
  const [serverInspect, agentInspect] = [await freePort(), await freePort()];
  const origin = spawnChild<{ port: number }>('origin', 'origin.ts');
  const server = spawnChild<{ port: number }>('burrow-server', 'burrow-server.ts', [], {
    nodeArgs: [`--inspect=127.0.0.1:${serverInspect}`],
  });
  children.push(origin, server);
  const [{ port: originPort }, { port: serverPort }] = await Promise.all([origin.ready, server.ready]);
  const agent = spawnChild<{ urls: string[] }>(
    'burrow-agent',
    'burrow-agent.ts',
    ['--server', `http://127.0.0.1:${serverPort}`, '--port', String(originPort), '--count', '1'],
    { nodeArgs: [`--inspect=127.0.0.1:${agentInspect}`] },
  );
  children.push(agent);
  const { urls } = await agent.ready;
  const target: Target = { name: 'burrow', port: serverPort, host: new URL(urls[0]!).host };
  const processes = [
    { name: 'server', inspector: await inspectorOf(serverInspect) },
    { name: 'agent', inspector: await inspectorOf(agentInspect) },
  ];
  await runRps(target, 50, 2); // warm-up: optimized code, grown heaps
  process.stdout.write(
    `node ${process.version}; 50 connections, ${durationS} s per round, sampling every ${interval} B; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n\n| round | req/s | server B/request | agent B/request |\n|---|---:|---:|---:|\n`,
  );
  const last = new Map<string, ReturnType<typeof summarize>>();
  for (let r = 1; r <= rounds; r++) {
    for (const p of processes) {
      await p.inspector.call('HeapProfiler.enable');
      await p.inspector.call('HeapProfiler.startSampling', {
        samplingInterval: interval,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    }
    const sample = await runRps(target, 50, durationS);
    const per: number[] = [];
    for (const p of processes) {
      const { profile } = (await p.inspector.call('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } };
      const s = summarize(profile.head);
      last.set(p.name, s);
      if (saveDir !== undefined && r === rounds) {
        mkdirSync(saveDir, { recursive: true });
        writeFileSync(path.join(saveDir, `${p.name}.heapprofile`), JSON.stringify(profile));
      }
      per.push(s.total / sample.total);
    }
    process.stdout.write(`| ${r} | ${sample.rps.toFixed(0)} | ${per[0]!.toFixed(0)} | ${per[1]!.toFixed(0)} |\n`);
  }
  for (const [name, s] of last) {
    process.stdout.write(
      `\nLast round, ${name}: the ${top} functions that allocate most (self, % of sampled bytes)\n\n`,
    );
    for (const [fn, bytes] of [...s.byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(`- ${((100 * bytes) / s.total).toFixed(1)} % ${fn}\n`);
    }
  }
  for (const p of processes) p.inspector.close();
} finally {
  await stopAll(children);
}
