/**
 * The whole `burrow server` (composeServer: SQLite in memory, a public TCP port range of `tcpPorts`
 * ports at a random base) as a bench child role: listens on 127.0.0.1, answers the profiling IPC and
 * prints BENCH_READY {"port"}. bench/tcp-expose and bench/http-bulk run it.
 */
import { exitWithParent, likeBurrowCli, ready, serveProfiling } from './child.js';

export async function runComposedServer(tcpPorts: number): Promise<void> {
  likeBurrowCli('server');
  const { composeServer } = await import('../../src/app/compose.js');
  const from = 30000 + Math.floor(Math.random() * 9900);
  const composed = await composeServer({
    port: 0,
    address: '127.0.0.1',
    db: 'sqlite::memory:',
    tcpPorts: `${from}-${from + tcpPorts - 1}`,
    logLevel: 'silent',
    processMetrics: false,
  });
  const { main } = await composed.listen();
  serveProfiling();
  ready({ port: main.port });
  exitWithParent();
}
