import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTcpTunnel } from '@limrun/api/tunnel';
import { dial, echo, mountAdapter, readBytes, startTarget } from './helpers.js';

test('smoke: limrun client echo both modes', async () => {
  const target = await startTarget(echo);
  const m = await mountAdapter({ targets: [{ name: 'echo', host: '127.0.0.1', port: target.port, token: 'secret' }] });
  for (const mode of ['singleton', 'multiplexed'] as const) {
    const t = await startTcpTunnel(`ws://127.0.0.1:${m.port}/tcp/echo`, 'secret', '127.0.0.1', 0, { mode, logLevel: 'none' });
    const s = await dial(t.address.port);
    s.write('hello');
    assert.equal((await readBytes(s, 5)).toString(), 'hello');
    s.destroy();
    t.close();
  }
  await m.close();
  await target.close();
});
