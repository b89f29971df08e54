/**
 * npm packages that ship CommonJS, loaded with require() where they are first used. Imported as ESM,
 * Node 20 loads such a package file by file through its ESM loader, which costs resident memory
 * (measured in an idle `node dist/cli.js server`, bench/idle-memory.ts); and a server that has not
 * accepted a WebSocket yet has not loaded ws at all. Types come from `import type`.
 */
import { createRequire } from 'node:module';
import type * as WsPackage from 'ws';
import type * as PromPackage from 'prom-client';
import type * as PinoPackage from 'pino';
import type BusboyPackage from 'busboy';

const load = createRequire(import.meta.url);

/** ws (with bufferutil when installed): the WebSocket server of the agent endpoint and the edges. */
export function wsPackage(): typeof WsPackage {
  return load('ws') as typeof WsPackage;
}

/** prom-client: the server's metrics (/metrics). */
export function promClient(): typeof PromPackage {
  return load('prom-client') as typeof PromPackage;
}

/** pino: every log line. */
export function pinoPackage(): typeof PinoPackage {
  return load('pino') as typeof PinoPackage;
}

/** busboy: the pipe's multipart/form-data uploads (loaded at the first one). */
export function busboyPackage(): typeof BusboyPackage {
  return load('busboy') as typeof BusboyPackage;
}
