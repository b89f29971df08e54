/**
 * The documented deployment, for real: examples/deploy/nginx.conf (TLS, upstream keep-alive pool)
 * in front of `burrow server --domain example.com --trust-proxy --secure`, two `burrow http` agents
 * connecting through nginx over wss, visitors over https. nginx pools its upstream connections
 * across hosts, so one connection to burrow carries requests for several tunnels and the API.
 * Skips (and says so) when nginx is not installed; .ci/run installs it.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import { closeHttp, startOrigin } from '../helpers/harness.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { selfSignedCert } from '../helpers/tls.js';
import { freePort } from '../helpers/net.js';
import { waitUntil } from '../helpers/wait.js';

const CONF = fileURLToPath(new URL('../../examples/deploy/nginx.conf', import.meta.url));

function hasNginx(): boolean {
  return spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).status === 0;
}

function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const listening = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  return waitUntil(listening, { timeoutMs, what: `something listening on ${port}` });
}

void test('nginx in front (the documented config): tunnels, API, WebSocket and SSE over one upstream pool', async (t) => {
  if (!hasNginx()) {
    t.skip('nginx is not installed (apt-get install -y nginx-light); .ci/run installs it');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'burrow-nginx-e2e-'));
  const { cert, key } = selfSignedCert(dir, 'example.com', ['DNS:example.com', 'DNS:*.example.com', 'IP:127.0.0.1']);

  const [burrowPort, httpsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const conf = readFileSync(CONF, 'utf8')
    .replace(/^user .*$/m, '')
    .replace('pid /run/nginx.pid;', `pid ${join(dir, 'nginx.pid')};\nerror_log ${join(dir, 'error.log')};`)
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${burrowPort};`)
    .replace('listen 80;', `listen 127.0.0.1:${httpPort};`)
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`)
    .replace(/^\s*listen \[::\].*$/gm, '')
    .replace('/etc/letsencrypt/live/example.com/fullchain.pem', cert)
    .replace('/etc/letsencrypt/live/example.com/privkey.pem', key)
    .replace('http {', `http {\n    access_log off;\n    client_body_temp_path ${dir};\n    proxy_temp_path ${dir};`);
  writeFileSync(join(dir, 'nginx.conf'), conf);

  const children: (CliProcess | { child: ChildProcess })[] = [];
  const origins: Awaited<ReturnType<typeof startOrigin>>[] = [];
  let nginx: ChildProcess | undefined;
  try {
    const server = runCli([
      'server',
      '--port',
      String(burrowPort),
      '--address',
      '127.0.0.1',
      '--domain',
      'example.com',
      '--trust-proxy',
      '--secure',
      '--log-level',
      'warn',
    ]);
    children.push(server);
    nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', `${dir}/`, '-g', 'daemon off;'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let nginxErr = '';
    nginx.stderr?.on('data', (c: Buffer) => (nginxErr += c.toString()));
    await Promise.all([waitForPort(burrowPort, 20_000), waitForPort(httpsPort)]).catch((err: Error) => {
      throw new Error(`${err.message}; nginx: ${nginxErr}; burrow: ${server.stderr()}`);
    });

    const seen: string[] = [];
    for (const name of ['alpha', 'beta']) {
      const origin = await startOrigin((req, res) => {
        seen.push(
          `${name} ${req.url} ${String(req.headers['x-forwarded-for'])} ${String(req.headers['x-forwarded-proto'])}`,
        );
        if (req.url === '/events') {
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          res.write('data: first\n\n');
          return;
        }
        res.end(`${name} says ${req.url}`);
      });
      origins.push(origin);
      const wss = new WebSocketServer({ server: origin.server });
      wss.on('connection', (sock) => sock.on('message', (m, binary) => sock.send(m, { binary })));
      const agent = runCli(
        ['http', String(origin.port), '--server', `https://127.0.0.1:${httpsPort}`, '--subdomain', name, '--json'],
        { NODE_EXTRA_CA_CERTS: cert },
      );
      children.push(agent);
      const ready = JSON.parse(await agent.nextLine((l) => l.includes('"ready"'))) as { url: string };
      assert.equal(ready.url, `https://${name}.example.com`);
    }

    // visitors over https with a keep-alive agent: nginx reuses its upstream connections across hosts
    const agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca: readFileSync(cert) });
    const get = (host: string, path: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = https.get(
          { host: '127.0.0.1', port: httpsPort, path, servername: host, headers: { host }, agent },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
      });
    const hosts = ['alpha.example.com', 'beta.example.com', 'example.com'];
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) => get(hosts[i % 3]!, i % 3 === 2 ? '/health' : `/r${i}`)),
    );
    for (let i = 0; i < replies.length; i++) {
      const r = replies[i]!;
      assert.equal(r.status, 200, `request ${i}: ${r.body}`);
      if (i % 3 === 0) assert.equal(r.body, `alpha says /r${i}`);
      else if (i % 3 === 1) assert.equal(r.body, `beta says /r${i}`);
      else assert.match(r.body, /"status":"healthy"/);
    }
    // X-Forwarded-For is the visitor (nginx's $proxy_add_x_forwarded_for), proto https
    assert.ok(
      seen.filter((s) => s.startsWith('alpha /r')).every((s) => s.endsWith(' 127.0.0.1 https')),
      seen.join('\n'),
    );
    const unknown = await get('nosuch.example.com', '/');
    assert.equal(unknown.status, 404);

    // SSE: the first event arrives while the response stays open
    const firstEvent = await new Promise<string>((resolve, reject) => {
      const req = https.get(
        {
          host: '127.0.0.1',
          port: httpsPort,
          path: '/events',
          servername: 'beta.example.com',
          headers: { host: 'beta.example.com' },
          ca: readFileSync(cert),
        },
        (res) => {
          res.setEncoding('utf8');
          res.once('data', (c: string) => {
            resolve(c);
            req.destroy();
          });
        },
      );
      req.on('error', reject);
    });
    assert.equal(firstEvent, 'data: first\n\n');

    // a WebSocket through nginx and burrow, echoed by the origin
    const ws = new WebSocket(`wss://127.0.0.1:${httpsPort}/ws`, {
      headers: { host: 'alpha.example.com' },
      ca: readFileSync(cert),
    });
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('through nginx and burrow'));
      ws.on('message', (m: Buffer) => resolve(m.toString()));
      ws.on('error', reject);
      ws.on('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    });
    assert.equal(echoed, 'through nginx and burrow');
    ws.terminate();
    agent.destroy();
  } finally {
    nginx?.kill('SIGTERM');
    for (const c of children) c.child.kill('SIGTERM');
    for (const o of origins) await closeHttp(o.server);
    rmSync(dir, { recursive: true, force: true });
  }
});
