/**
 * The processes bench/http and bench/http-cpu both load: the origin, a burrow server with one agent
 * tunnel to the origin, and pipenet's server with its client for the same origin, each in a child;
 * optionally the `localtunnel` npm client on pipenet's server too.
 */
import { spawnChild, type Child } from './procs.js';

export interface TunnelSetups {
  origin: Child<{ port: number }>;
  server: Child<{ port: number }>;
  agent: Child<{ urls: string[] }>;
  pnServer: Child<{ port: number }>;
  pnClient: Child<{ url: string; id: string }>;
  /** The `localtunnel` npm client on pipenet's server (only with { localtunnel: true }). */
  ltClient?: Child<{ url: string; id: string }>;
  /** Its tunnel id on pipenet's server. */
  lt?: { url: string; id: string };
  originPort: number;
  burrowPort: number;
  pnPort: number;
  /** The burrow tunnel's URL. */
  burrowUrl: string;
  /** pipenet's tunnel id and URL. */
  pn: { url: string; id: string };
}

/** Start them all; `track` gets every child as it is spawned (so the caller can stop them). */
export async function startTunnelSetups(
  track: <T>(c: Child<T>) => Child<T>,
  nodeArgs: string[] = [],
  extra: { localtunnel?: boolean } = {},
): Promise<TunnelSetups> {
  const { origin, server, pnServer, originPort, burrowPort, pnPort } = await startServers(
    track,
    'burrow-server.ts',
    [],
    nodeArgs,
  );
  const agent = track(
    spawnChild<{ urls: string[] }>(
      'burrow-agent',
      'burrow-agent.ts',
      ['--server', `http://127.0.0.1:${burrowPort}`, '--port', String(originPort), '--count', '1'],
      { nodeArgs },
    ),
  );
  const pnClient = track(spawnPipenetClient('pipenet-client', 'pipenet-client.ts', pnPort, originPort));
  const [{ urls }, pn] = await Promise.all([agent.ready, pnClient.ready]);
  const setups: TunnelSetups = {
    origin,
    server,
    agent,
    pnServer,
    pnClient,
    originPort,
    burrowPort,
    pnPort,
    burrowUrl: urls[0]!,
    pn,
  };
  if (extra.localtunnel) {
    setups.ltClient = track(spawnPipenetClient('localtunnel-client', 'localtunnel-client.ts', pnPort, originPort));
    setups.lt = await setups.ltClient.ready;
  }
  return setups;
}

/**
 * A client of pipenet's server (its own `pipenet-client.ts`, or `localtunnel-client.ts`: both speak
 * localtunnel's protocol) for the origin at 127.0.0.1:originPort. Ready with {"url", "id"}.
 */
export function spawnPipenetClient(
  name: string,
  script: string,
  pnPort: number,
  originPort: number,
): Child<{ url: string; id: string }> {
  return spawnChild<{ url: string; id: string }>(name, script, [
    '--server',
    `http://127.0.0.1:${pnPort}`,
    '--port',
    String(originPort),
  ]);
}

/**
 * The origin, a burrow server (the child script `script` with `args`) and pipenet's server, each in
 * its own child, once all three listen.
 */
export async function startServers(
  track: <T>(c: Child<T>) => Child<T>,
  script: string,
  args: string[] = [],
  nodeArgs: string[] = [],
): Promise<{
  origin: Child<{ port: number }>;
  server: Child<{ port: number }>;
  pnServer: Child<{ port: number }>;
  originPort: number;
  burrowPort: number;
  pnPort: number;
}> {
  const origin = track(spawnChild<{ port: number }>('origin', 'origin.ts'));
  const server = track(spawnChild<{ port: number }>('burrow-server', script, args, { nodeArgs }));
  const pnServer = track(spawnChild<{ port: number }>('pipenet-server', 'pipenet-server.ts'));
  const [{ port: originPort }, { port: burrowPort }, { port: pnPort }] = await Promise.all([
    origin.ready,
    server.ready,
    pnServer.ready,
  ]);
  return { origin, server, pnServer, originPort, burrowPort, pnPort };
}
