/**
 * Regression (issue 13, defect 14): singleton mode carries one local connection at a time and used
 * to close a second one silently (a debug line nobody sees). It now logs a warning that says why
 * and how to carry more (`--mode multiplexed`), and the first connection keeps working.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { SINGLETON_REFUSED_MESSAGE, startTcpTunnel } from '../../src/client/tcp-ws/tcp-tunnel.js';
import { createLogger } from '../../src/core/logger.js';
import { dial, echo, mountAdapter, readBytes, startTarget } from '../compat/tcp-ws/helpers.js';
import { runDistCli } from './dist-cli.js';

const TOKEN = 'singleton-token';

async function setup() {
  const target = await startTarget(echo);
  const m = await mountAdapter({ targets: [{ name: 'dev', host: '127.0.0.1', port: target.port, token: TOKEN }] });
  return {
    url: `ws://127.0.0.1:${m.port}/tcp/dev`,
    async close() {
      await m.close();
      await target.close();
    },
  };
}

/** A JSON logger whose lines are kept, with a wait for the first line matching a predicate. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      for (const w of waiters.splice(0)) w();
      cb();
    },
  });
  const logger = createLogger({ level: 'info', name: 'test', destination: sink });
  const next = (pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      const check = (): void => {
        const hit = lines.find(pred);
        if (hit) resolve(hit);
        else waiters.push(check);
      };
      check();
    });
  return { logger, lines, next };
}

test('singleton-second-connection-logged: a second local connection is closed with a warning naming --mode multiplexed', async (t) => {
  const s = await setup();
  t.after(() => s.close());
  const log = capturingLogger();
  const tunnel = await startTcpTunnel(s.url, TOKEN, '127.0.0.1', 0, { logger: log.logger });
  t.after(() => tunnel.close());

  const first = await dial(tunnel.address.port);
  t.after(() => first.destroy());
  first.write('one');
  assert.equal((await readBytes(first, 3)).toString(), 'one');

  const second = await dial(tunnel.address.port);
  second.on('error', () => {});
  await once(second, 'close');
  const warn = await log.next((l) => l['msg'] === SINGLETON_REFUSED_MESSAGE);
  assert.equal(warn['level'], 40, 'warn');
  assert.match(String(warn['msg']), /singleton mode carries one local connection at a time/);
  assert.match(String(warn['msg']), /--mode multiplexed/);
  assert.match(String(warn['remote']), /^127\.0\.0\.1:\d+$/);
  assert.equal(log.lines.filter((l) => l['msg'] === SINGLETON_REFUSED_MESSAGE).length, 1);

  // the first connection is untouched
  first.write('still here');
  assert.equal((await readBytes(first, 10)).toString(), 'still here');
  assert.equal(tunnel.stats().connections, 1);
});

test('singleton-second-connection-logged: `burrow connect` prints the warning on stderr', async (t) => {
  const s = await setup();
  t.after(() => s.close());
  const cwd = mkdtempSync(join(tmpdir(), 'burrow-singleton-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const cli = runDistCli(['connect', s.url, '--token', TOKEN], { cwd });
  t.after(() => cli.child.kill('SIGKILL'));
  const [, port] = await cli.waitFor(/Listening on 127\.0\.0\.1:(\d+)/);
  const first = await dial(Number(port));
  t.after(() => first.destroy());
  first.write('one');
  assert.equal((await readBytes(first, 3)).toString(), 'one');
  const second = await dial(Number(port));
  second.on('error', () => {});
  await once(second, 'close');
  await cli.waitFor(/refused a second local connection/);
  assert.match(cli.output(), /singleton mode carries one local connection at a time; use --mode multiplexed/);
});
