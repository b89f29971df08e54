/**
 * Every performance target in one table: runs the benches one after another (each starts its own
 * processes and measures burrow beside its floor or peer in the same run), collects the lines where
 * they state a verdict (PASS/MISS), and prints them together at the end.
 *
 *   node --import tsx bench/targets.ts [--quick] [--only http,http-cpu,http-bulk,tcp-expose,idle-memory,tunnels]
 *
 * Each bench's own output goes to stderr as it runs (its tables are the measurements behind each
 * verdict). --quick passes each bench its short settings. A bench that is not in this checkout is
 * named as skipped. Exit code 0 whatever the verdicts (it measures; CI does not run it).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt === -1 ? undefined : new Set((process.argv[onlyAt + 1] ?? '').split(','));

/** The benches and their arguments (full, quick). */
const BENCHES: { name: string; file: string; args: string[]; quickArgs: string[] }[] = [
  { name: 'http', file: 'http.ts', args: [], quickArgs: ['--quick'] },
  { name: 'http-cpu', file: 'http-cpu.ts', args: ['--rounds', '3'], quickArgs: ['--duration', '2', '--sequential', '500'] },
  { name: 'http-bulk', file: 'http-bulk.ts', args: [], quickArgs: ['--mib', '64', '--rounds', '1'] },
  { name: 'tcp-expose', file: 'tcp-expose.ts', args: ['--size-mib', '512'], quickArgs: ['--size-mib', '128', '--rounds', '1'] },
  { name: 'idle-memory', file: 'idle-memory.ts', args: [], quickArgs: [] },
  { name: 'tunnels', file: 'tunnels.ts', args: [], quickArgs: [] },
];

function run(file: string, args: string[]): Promise<{ lines: string[]; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('bench', file), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let rest = '';
    child.stdout.on('data', (c: Buffer) => {
      process.stderr.write(c);
      rest += c.toString();
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const l of parts) if (verdict(l)) lines.push(l);
    });
    child.stderr.on('data', (c: Buffer) => process.stderr.write(c));
    child.on('close', (code) => {
      if (verdict(rest)) lines.push(rest);
      resolve({ lines, code });
    });
  });
}

/**
 * A line that states a verdict: `- PASS|MISS <id> …` (http, http-cpu, http-bulk, tcp-expose), a table
 * row ending in `| PASS |`/`| MISS |` (idle-memory) or a line with `(PASS …)`/`(MISS …)` (tunnels).
 */
function verdict(line: string): boolean {
  return /^- (PASS|MISS) /.test(line) || /\| (PASS|MISS) \|\s*$/.test(line) || /\((PASS|MISS) [^)]*\)/.test(line);
}

/** The verdict of a collected line, and its text without the verdict word. */
function split(line: string): [string, string] {
  const m = /^- (PASS|MISS) (.*)$/.exec(line);
  if (m) return [m[1]!, m[2]!];
  const v = /\b(PASS|MISS)\b/.exec(line)![1]!;
  const text = line
    .replace(/\|\s*(PASS|MISS)\s*\|\s*$/, '')
    .replace(/^\|\s*/, '')
    .replace(/\s*\|\s*/g, ': ')
    .replace(/\*\*/g, '');
  return [v, text];
}

const rows: string[] = [];
const started = new Date();
const load: number[] = [os.loadavg()[0]!];
for (const b of BENCHES) {
  if (only && !only.has(b.name)) continue;
  if (!existsSync(path.join(root, 'bench', b.file))) {
    rows.push(`| ${b.name} | — | skipped (bench/${b.file} is not in this checkout) |`);
    continue;
  }
  process.stderr.write(`\n=== bench/${b.file} ${(quick ? b.quickArgs : b.args).join(' ')}\n`);
  const { lines, code } = await run(b.file, quick ? b.quickArgs : b.args);
  load.push(os.loadavg()[0]!);
  if (code !== 0) rows.push(`| ${b.name} | — | FAILED (exit ${code}; its output is above) |`);
  for (const l of lines) {
    const [v, text] = split(l);
    rows.push(`| ${b.name} | ${v} | ${text.replace(/\|/g, '\\|')} |`);
  }
}
const pass = rows.filter((r) => r.includes('| PASS |')).length;
const miss = rows.filter((r) => r.includes('| MISS |')).length;
process.stdout.write(
  [
    '',
    `Targets, ${started.toISOString()} · Node ${process.version} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    `Command: node --import tsx bench/targets.ts ${process.argv.slice(2).join(' ')}`.trimEnd(),
    `Load (1-min) between benches: ${load.map((l) => l.toFixed(1)).join(', ')}`,
    '',
    '| bench | verdict | target and measure (same run, ratios against the floor or peer beside it) |',
    '|---|---|---|',
    ...rows,
    '',
    `${pass} PASS, ${miss} MISS`,
    '',
  ].join('\n'),
);
