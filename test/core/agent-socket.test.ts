/**
 * core/agent-socket.ts: the net.Socket surface http.Agent pools, written once for MuxStream and the
 * localtunnel pool lease. Includes the regression for the lease's old setTimeout, which added a
 * 'timeout' listener on every setTimeout(0, cb) (Node's http client calls it on each reuse).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { PassThrough } from 'node:stream';
import { AgentSocket } from '../../src/core/agent-socket.js';

/** An AgentSocket whose writes go to `toServer` and whose reads come from `fromServer`. */
function pair(): { socket: AgentSocket; toServer: PassThrough; fromServer: PassThrough; idles: number[] } {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const idles: number[] = [];
  const socket = new AgentSocket({
    allowHalfOpen: true,
    onIdle: () => idles.push(Date.now()),
    read() {
      fromServer.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      toServer.write(chunk, cb);
    },
  });
  fromServer.on('data', (c: Buffer) => socket.push(c));
  return { socket, toServer, fromServer, idles };
}

void test('ref/unref mark the socket busy/idle; onIdle hears each move to idle once', () => {
  const { socket, idles } = pair();
  assert.equal(socket.idle, false);
  socket.unref();
  socket.unref();
  assert.equal(socket.idle, true);
  assert.equal(idles.length, 1);
  socket.ref();
  assert.equal(socket.idle, false);
  socket.unref();
  assert.equal(idles.length, 2);
  socket.destroy();
});

void test('setTimeout fires after quiet time, touch() pushes it back, setTimeout(0, cb) removes cb', async () => {
  const { socket } = pair();
  let fired = 0;
  const cb = (): void => {
    fired++;
  };
  socket.setTimeout(40, cb);
  const touching = setInterval(() => socket.touch(), 10);
  await new Promise((r) => setTimeout(r, 80));
  clearInterval(touching);
  assert.equal(fired, 0, 'activity kept it alive');
  await new Promise((r) => setTimeout(r, 70));
  assert.equal(fired, 1);
  socket.setTimeout(0, cb);
  assert.equal(socket.listenerCount('timeout'), 0);
  socket.destroy();
});

void test('regression: a pooled socket reused by http.Agent does not pile up timeout listeners', async () => {
  const { socket, toServer, fromServer } = pair();
  // a minimal keep-alive server on the other end: one response per request head
  let buffered = '';
  toServer.on('data', (c: Buffer) => {
    buffered += c.toString('latin1');
    let end: number;
    while ((end = buffered.indexOf('\r\n\r\n')) !== -1) {
      buffered = buffered.slice(end + 4);
      fromServer.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5\r\n\r\nok');
    }
  });
  let created = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, timeout: 1000 });
  agent.createConnection = () => {
    created++;
    return socket;
  };
  const counts: number[] = [];
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve, reject) => {
      http
        .get({ agent, host: 'x', path: `/${i}` }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
    await new Promise((r) => setImmediate(r));
    counts.push(socket.listenerCount('timeout'));
  }
  assert.equal(created, 1, 'one socket served every request');
  assert.ok(counts.at(-1)! <= counts[0]! + 1, `timeout listeners stay flat: ${counts.join(',')}`);
  agent.destroy();
  socket.destroy();
});
