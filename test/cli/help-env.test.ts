/**
 * One env-var mechanism, honest help (issue 15): every flag of `server`, `http`, `client`, `tcp`,
 * `connect` and the admin commands' shared flags shows its variable in `--help` as
 * `(env: BURROW_…)` (commander's Option.env()), and docs/configuration.md names the same variable
 * (and the seeds' aliases, `[also env …]`) in that flag's table row.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { NOT_BUILT, runCli } from './dist.js';

const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

interface HelpOption {
  flag: string;
  env: string[];
  text: string;
}

/** The options of a commander help text, continuation lines joined. */
export function helpOptions(help: string): HelpOption[] {
  const section = help.split(/^Options:\n/m)[1] ?? '';
  const entries: string[] = [];
  for (const line of section.split('\n')) {
    if (/^ {2}-/.test(line)) entries.push(line.trim());
    else if (/^ {3,}\S/.test(line) && entries.length) entries[entries.length - 1] += ` ${line.trim()}`;
  }
  return entries
    .map((text) => {
      const flag = /(--[a-z0-9-]+)/.exec(text)?.[1] ?? '';
      const env = [...text.matchAll(/env: ([A-Z0-9_]+)\)/g)].map((m) => m[1]!);
      const also = /\[also env ([A-Z0-9_, ]+)\]/.exec(text)?.[1];
      if (also) env.push(...also.split(',').map((s) => s.trim()));
      return { flag, env, text };
    })
    .filter((o) => o.flag !== '--help');
}

/** The docs table rows that document a flag (its first cell names it). */
function docRows(flag: string): string[] {
  return doc.split('\n').filter((l) => new RegExp('^\\| (?:`-[A-Za-z0-9]`, )?`' + flag + '(?: <[^>]+>)?`').test(l));
}

void it('the help parser joins wrapped lines and reads env and aliases', () => {
  const help =
    'Usage: x\n\nOptions:\n  -p, --port <port>  port [also env PORT] (default:\n                     8080, env: BURROW_PORT)\n  --json             json (env: BURROW_JSON)\n  -h, --help         help\n';
  assert.deepEqual(
    helpOptions(help).map((o) => [o.flag, o.env]),
    [
      ['--port', ['BURROW_PORT', 'PORT']],
      ['--json', ['BURROW_JSON']],
    ],
  );
});

const COMMANDS: string[][] = [
  ['server'],
  ['http'],
  ['client'],
  ['tcp'],
  ['connect'],
  ['token', 'list'],
  ['token', 'create'],
  ['name', 'reserve'],
  ['name', 'access'],
  ['pipe', 'serve'],
  ['pipe', 'send'],
  ['pipe', 'receive'],
  ['pipe', 'progress'],
  ['pipe', 'url'],
  ['pipe', 'forward-tcp'],
  ['start'],
  ['config', 'check'],
  ['config', 'init'],
];

void describe('--help and docs/configuration.md agree on every variable', { skip: NOT_BUILT }, () => {
  for (const command of COMMANDS) {
    void it(`burrow ${command.join(' ')}`, async () => {
      const r = await runCli([...command, '--help'], { env: { COLUMNS: '100' } });
      assert.equal(r.code, 0, r.stderr);
      const options = helpOptions(r.stdout);
      assert.ok(options.length > 0, `no options parsed from: ${r.stdout}`);
      const noEnv = options.filter((o) => o.env.length === 0).map((o) => o.flag);
      assert.deepEqual(noEnv, [], `flags without (env: …) in burrow ${command.join(' ')} --help`);
      for (const o of options) {
        const rows = docRows(o.flag);
        assert.ok(rows.length > 0, `${o.flag} has no row in docs/configuration.md`);
        for (const name of o.env)
          assert.ok(
            rows.some((row) => row.includes(`\`${name}`)),
            `docs/configuration.md: the row of ${o.flag} does not name ${name}`,
          );
      }
    });
  }
});

void it(
  'a value from a seed variable goes through the flag parser and names the variable',
  { skip: NOT_BUILT },
  async () => {
    const r = await runCli(['server'], { env: { BURROW_LOG_LEVEL: undefined, LOG_LEVEL: 'loud' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*LOG_LEVEL="loud"/m);
  },
);

void it('a boolean variable is true only for 1/true/yes/on', { skip: NOT_BUILT }, async () => {
  // BURROW_JSON=0 must not turn --json on: the (failing) run prints human lines, not JSON
  const off = await runCli(['http', '3000', '--server', '127.0.0.1:1', '--connect-timeout', '100ms'], {
    env: { BURROW_JSON: '0' },
  });
  assert.match(off.stdout, /^connecting to /m);
  const on = await runCli(['http', '3000', '--server', '127.0.0.1:1', '--connect-timeout', '100ms'], {
    env: { BURROW_JSON: 'yes' },
  });
  assert.match(on.stdout, /^\{"event":"connecting"/m);
});
