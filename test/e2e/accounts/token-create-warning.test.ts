/**
 * `burrow token create --server …` says when the server it talks to runs with --auth none (agents
 * connect without a token there, so a new token changes nothing until it runs with --auth token).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../helpers/cli.js';
import { ADMIN_TOKEN, BACKENDS, composedStack } from './helpers.js';

const sqlite = BACKENDS[0]!;

async function create(url: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = runCli(['token', 'create', '--label', 'w', '--server', url, '--admin-token', ADMIN_TOKEN, '--json']);
  const code = await cli.exited;
  return { code, stdout: cli.lines.join('\n'), stderr: cli.stderr() };
}

describe('token create against a server with --auth none', () => {
  const stack = composedStack(sqlite, { auth: 'none' });
  it('warns on stderr and says so in the JSON', async () => {
    const r = await create(stack.srv.url);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /warning: .*--auth none/);
    const out = JSON.parse(r.stdout) as { secret: string; serverAuth: string };
    assert.match(out.secret, /^brw_/);
    assert.equal(out.serverAuth, 'none');
  });
});

describe('token create against a server with --auth token', () => {
  const stack = composedStack(sqlite, { auth: 'token' });
  it('has nothing to warn about', async () => {
    const r = await create(stack.srv.url);
    assert.equal(r.code, 0);
    assert.doesNotMatch(r.stderr, /warning/);
    assert.equal((JSON.parse(r.stdout) as { serverAuth: string }).serverAuth, 'token');
  });
});
