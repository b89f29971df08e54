/**
 * Issue 13, defect 12: stopping a busy agent lost its goodbye. The GOAWAY sat behind the download
 * data in the WebSocket's buffer, the agent cut its socket right after queueing it and the CLI exited
 * at once, so the server saw a drop and held the name for the whole resume grace (60 s): restarting
 * `burrow http --subdomain x` was refused with NAME_TAKEN. Now the goodbye jumps the data queue and
 * the CLI waits (at most GOODBYE_TIMEOUT_MS) for the close handshake.
 *
 * Runs the built CLI (`node dist/cli.js`, so `npm run build` first) as a child process, with four
 * large downloads in flight, SIGTERMs it and starts it again at once, several times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { closeHttp, startOrigin, startServer } from '../helpers/harness.js';
import { decodeJson, FrameDecoder, FrameType } from '../../src/wire/mux/frames.js';
import { MuxSession } from '../../src/wire/mux/mux.js';

const DIST_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const DOWNLOADS = 4;
const DOWNLOAD_BYTES = 512 * 1024 * 1024;
/** Each download must have received this much before the agent is stopped: the pipe is full. */
const LOADED_BYTES = 8 * 1024 * 1024;
const TRIES = 4;

interface Agent {
  child: ChildProcess;
  /** The first JSON line: {"event":"ready",…}, or the exit code when the CLI stopped first. */
  ready: Promise<{ name: string; url: string } | { exit: number | null; stderr: string }>;
  exited: Promise<number | null>;
}

function startAgent(serverUrl: string, originPort: number, name: string): Agent {
  const child = spawn(
    process.execPath,
    [
      DIST_CLI,
      'http',
      String(originPort),
      '--server',
      serverUrl,
      '--subdomain',
      name,
      '--local-host',
      '127.0.0.1',
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<{ name: string; url: string } | { exit: number | null; stderr: string }>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const ev = JSON.parse(line) as { event: string; name: string; url: string };
      if (ev.event === 'ready') resolve(ev);
    });
    void exited.then((exit) => resolve({ exit, stderr }));
  });
  return { child, ready, exited };
}

/** DOWNLOADS concurrent downloads; resolves `loaded` once each has received LOADED_BYTES. */
function startDownloads(port: number, host: string): { loaded: Promise<void>; stop: () => void } {
  const requests: http.ClientRequest[] = [];
  let full = 0;
  let markLoaded!: () => void;
  const loaded = new Promise<void>((resolve) => (markLoaded = resolve));
  for (let i = 0; i < DOWNLOADS; i++) {
    const req = http.get({ host: '127.0.0.1', port, path: `/big/${i}`, headers: { host }, agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      let got = 0;
      res.on('data', (c: Buffer) => {
        const before = got;
        got += c.length;
        if (before < LOADED_BYTES && got >= LOADED_BYTES && ++full === DOWNLOADS) markLoaded();
      });
      res.on('error', () => {}); // cut when the agent stops
    });
    req.on('error', () => {});
    requests.push(req);
  }
  return { loaded, stop: () => requests.forEach((r) => r.destroy()) };
}

test(
  'agent goodbye under load: a SIGTERMed busy agent restarted at once gets its name back, every time',
  { skip: existsSync(DIST_CLI) ? false : 'dist/cli.js missing: run `npm run build` first' },
  async (t) => {
    const { server, port, url } = await startServer();
    t.after(() => server.close());
    const block = Buffer.alloc(64 * 1024, 0x61);
    const origin = await startOrigin((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(DOWNLOAD_BYTES) });
      let sent = 0;
      const pump = (): void => {
        while (sent < DOWNLOAD_BYTES && !res.destroyed) {
          sent += block.length;
          if (!res.write(block)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    t.after(() => closeHttp(origin.server));

    const name = 'goodbye-load';
    let agent = startAgent(url, origin.port, name);
    t.after(() => agent.child.kill('SIGKILL'));
    for (let i = 0; i < TRIES; i++) {
      const ready = await agent.ready;
      assert.ok('name' in ready, `try ${i}: the agent was refused (exit ${JSON.stringify(ready)})`);
      assert.equal(ready.name, name, `try ${i}`);
      const downloads = startDownloads(port, new URL(ready.url).host);
      await downloads.loaded;
      agent.child.kill('SIGTERM');
      assert.equal(await agent.exited, 0, `try ${i}: a signal is a clean stop`);
      downloads.stop();
      agent = startAgent(url, origin.port, name);
    }
    const last = await agent.ready;
    assert.ok('name' in last, `last start: the agent was refused (${JSON.stringify(last)})`);
    assert.equal(last.name, name);
    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0);
  },
);

test('agent goodbye under load: GOAWAY jumps the frames the session still queues, and nothing follows it', async () => {
  const sent: Buffer[] = [];
  const session = new MuxSession({ send: (d) => (sent.push(d), true) }, { role: 'server' });
  const stream = session.openStream({ tunnelId: 't', kind: 'http' });
  stream.write(Buffer.from('queued, not sent yet'));
  assert.equal(sent.length, 0, 'small frames wait for the end of the turn');
  let closed: unknown;
  session.once('close', (err) => (closed = err));
  session.goAway({ code: 'BURROW_ERR_SHUTTING_DOWN', message: 'client closing' });
  assert.equal(sent.length, 1, 'the GOAWAY left at once');
  const frames = new FrameDecoder().push(sent[0]!);
  assert.deepEqual(
    frames.map((f) => f.type),
    [FrameType.GOAWAY],
    'the GOAWAY goes ahead of the queued OPEN and DATA (the peer ignores them after it)',
  );
  assert.equal(decodeJson(frames[0]!)['code'], 'BURROW_ERR_SHUTTING_DOWN');
  assert.ok(session.closed);
  assert.equal(closed, undefined);
  assert.ok(stream.destroyed);
  stream.write(Buffer.from('late'));
  await new Promise((r) => setImmediate(r));
  assert.equal(sent.length, 1, 'nothing is sent after the goodbye');
});
