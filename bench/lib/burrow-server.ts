/**
 * burrow server (child process) on 127.0.0.1 at a free port. Prints BENCH_READY {"port"}.
 * IPC message {"cmd":"gc"} runs a full GC (when started with --expose-gc) and answers
 * {"mem": process.memoryUsage()}, so the idle-tunnel scenario measures settled memory.
 */
import { createServer } from '../../src/app/server.js';
import { AccessPolicy } from '../../src/auth/access-policy.js';
import { toAccessInput } from '../../src/auth/admission.js';
import { OPEN_ADMISSION } from '../../src/server/admission.js';
import { exitWithParent, likeBurrowCli, ready, serveProfiling } from './child.js';

likeBurrowCli('server');

const server = createServer({
  address: '127.0.0.1',
  port: 0,
  logLevel: 'silent',
  processMetrics: false,
  // the benches open up to thousands of tunnels from one address (scenario c): not a flood here
  newTunnelsPerMinute: 1_000_000,
  // …over one agent connection each, all from 127.0.0.1 (the per-address cap is 256 by default)
  maxConnectionsPerIp: 0,
  // agents' visitor rules (--basic-auth …) compiled as the accounts admission does, without a store
  admission: {
    ...OPEN_ADMISSION,
    async admit(req) {
      const input = toAccessInput(req.access);
      return { name: req.name, access: input ? AccessPolicy.fromInput(input) : undefined };
    },
  },
});
const addr = await server.listen();
ready({ port: addr.port });

process.on('message', (m: { cmd?: string }) => {
  if (m?.cmd !== 'gc') return;
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
  process.send?.({ mem: process.memoryUsage(), gc: Boolean(g) });
});
serveProfiling();
exitWithParent();
