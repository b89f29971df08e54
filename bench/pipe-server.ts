// Child process for bench/pipe.ts: runs one pipe implementation on 127.0.0.1:0 and prints {"port":N}.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { createPipeHandler } from '../src/app/pipe.js';

type Handler = (req: unknown, res: unknown) => void;
const kind = process.argv[2];
let handler: Handler;
if (kind === 'burrow') {
  handler = createPipeHandler() as unknown as Handler;
} else if (kind === 'piping-server') {
  const require = createRequire(import.meta.url);
  const piping = require('piping-server') as { Server: new () => { generateHandler(https: boolean): Handler } };
  handler = new piping.Server().generateHandler(false);
} else {
  throw new Error(`unknown implementation ${kind}`);
}
const server = createServer({ requestTimeout: 0 }, handler as Parameters<typeof createServer>[1]);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
