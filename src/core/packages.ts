/**
 * npm packages that ship CommonJS, loaded with require() where they are first used. Imported as ESM,
 * Node 20 loads such a package file by file through its ESM loader, which costs resident memory
 * (measured in an idle `node dist/cli.js server`, bench/idle-memory.ts); and a server that has not
 * accepted a WebSocket yet has not loaded ws at all. Types come from `import type`.
 */
import { createRequire } from 'node:module';
import type * as WsPackage from 'ws';

const load = createRequire(import.meta.url);

/** ws (with bufferutil when installed): the WebSocket server of the agent endpoint and the edges. */
export function wsPackage(): typeof WsPackage {
  return load('ws') as typeof WsPackage;
}
