// Child process for bench/pipe.ts: runs one pipe implementation on 127.0.0.1:0 and prints
// {"port":N,"prefix":"…"}. burrow: `burrow pipe serve`'s listener; burrow-server: a whole
// `burrow server` (composeServer, SQLite in a temporary folder, pipe at /api/v1/pipe/).
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createPipeHandler, listenPipe } from '../src/app/pipe.js';
import { composeServer } from '../src/app/compose.js';

type Handler = (req: unknown, res: unknown) => void;
const kind = process.argv[2];
const ready = (port: number, prefix = ''): void => {
  process.stdout.write(`${JSON.stringify({ port, prefix })}\n`);
};
if (kind === 'burrow') {
  const l = await listenPipe(createPipeHandler(), { port: 0, address: '127.0.0.1' });
  ready(l.port);
} else if (kind === 'burrow-server') {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-bench-'));
  const composed = await composeServer({
    db: `sqlite:${join(dir, 'burrow.db')}`,
    address: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    processMetrics: false,
  });
  const { main } = await composed.listen();
  ready(main.port, '/api/v1/pipe');
} else if (kind === 'piping-server') {
  const require = createRequire(import.meta.url);
  const piping = require('piping-server') as { Server: new () => { generateHandler(https: boolean): Handler } };
  const server = createServer({ requestTimeout: 0 }, piping.Server.prototype.generateHandler.call(new piping.Server(), false) as Parameters<typeof createServer>[1]);
  server.listen(0, '127.0.0.1', () => ready((server.address() as AddressInfo).port));
} else {
  throw new Error(`unknown implementation ${kind}`);
}
process.on('SIGTERM', () => process.exit(0));
