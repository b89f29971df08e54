/**
 * docs/configuration.md lists every flag the CLI registers: this runs `burrow server --help` and
 * `burrow http --help` (and `client`, `connect`) as child processes and looks for each long flag.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cliArgs } from '../helpers/cli.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

/** Long flags from commander's help: the option lines start with `-x, --flag` or `--flag`. */
export function longFlags(help: string): string[] {
  const flags = new Set<string>();
  for (const line of help.split('\n')) {
    const m = /^ {2}(?:-[A-Za-z0-9], )?(--[a-z0-9][a-z0-9-]*)/.exec(line);
    if (m && m[1] !== '--help') flags.add(m[1]!);
  }
  return [...flags];
}

async function help(command: string): Promise<string> {
  const args = cliArgs(...(command ? [command] : []), '--help');
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return stdout;
}

test('the help parser finds long flags', () => {
  const sample =
    'Options:\n  -p, --port <port>   port\n  --trust-proxy       honour\n                      --not-a-flag\n  -h, --help  help\n';
  assert.deepEqual(longFlags(sample), ['--port', '--trust-proxy']);
});

/** Commands whose flags this page documents; one missing from `burrow --help` (not built yet) is skipped. */
const DOCUMENTED = ['server', 'http', 'client', 'tcp', 'connect'];
let topHelp: Promise<string> | undefined;

for (const command of DOCUMENTED) {
  test(`every long flag of \`burrow ${command} --help\` is in docs/configuration.md`, async (t) => {
    const commands = await (topHelp ??= help(''));
    if (!new RegExp(`^ {2}${command} `, 'm').test(commands)) {
      t.skip(`no \`burrow ${command}\` command in this build`);
      return;
    }
    const flags = longFlags(await help(command));
    assert.ok(flags.length > 0, `no flags parsed from burrow ${command} --help`);
    const missing = flags.filter((f) => !new RegExp('`(?:-[A-Za-z0-9]`, `)?' + f + '(?![a-z0-9-])').test(doc));
    assert.deepEqual(missing, [], `add these \`burrow ${command}\` flags to docs/configuration.md`);
  });
}
