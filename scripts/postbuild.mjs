// Makes the CLI entry executable and copies non-TypeScript assets (pages) next to the build.
import { chmodSync, cpSync, existsSync } from 'node:fs';
const cli = new URL('../dist/cli.js', import.meta.url);
if (existsSync(cli)) chmodSync(cli, 0o755);
for (const dir of ['pipe/assets', 'server/assets']) {
  const from = new URL(`../src/${dir}`, import.meta.url);
  if (existsSync(from)) cpSync(from, new URL(`../dist/${dir}`, import.meta.url), { recursive: true });
}
