/**
 * composeServer(): the whole `burrow server` — the core plus accounts (SQLite by default), the pipe,
 * TCP access (limrun), tunely, tiflis and localtunnel edges — from one options object.
 * createServer() stays the minimal core; this is what the CLI runs.
 */
import type { AddressInfo } from 'node:net';
import { Accounts } from '../auth/accounts.js';
import { accountsAdmission } from '../auth/admission.js';
import { createTcpWsAdapter, parseTcpTargetSpec } from '../adapters/tcp-ws/index.js';
import { createLocaltunnelAdapter } from '../adapters/localtunnel/index.js';
import { validateRegistrationKey } from '../adapters/tiflis/keys.js';
import { createTunelyAdapter, tunelyVerifierFromTokens } from '../adapters/tunely/index.js';
import type { PipeAdapter } from '../adapters/pipe/adapter.js';
import { isReservedPath } from '../adapters/pipe/reserved.js';
import { isPrefixed, PIPE_API_PREFIX } from '../wire/pipe/target.js';
import { BurrowError } from '../core/errors.js';
import { sendError } from '../server/http/pages.js';
import { presentedToken } from '../server/presented-token.js';
import type { ServerAdapter } from '../server/adapter.js';
import { validateComposeOptions, type ComposeOptions } from './compose-config.js';
import { createConsoleAdapter } from '../console/console.js';

export type { ComposeOptions };
import type { ServerOptions } from '../server/config.js';
import { createServer, type BurrowServer } from '../server/server.js';
import { resolveServerConfig as resolveServerConfig } from '../server/config.js';
import type { ClusterNode } from '../cluster/index.js';
import type { clusterPipe as ClusterPipe } from './cluster-pipe.js';
import type { clusterTcp as ClusterTcp } from './cluster-tcp.js';
import { databaseCertificates } from './acme-store.js';

export interface ComposedServer {
  readonly server: BurrowServer;
  readonly accounts: Accounts;
  readonly pipe: PipeAdapter | undefined;
  /** This node of a cluster (--cluster), else undefined. */
  readonly cluster: ClusterNode | undefined;
  /** Listen on the main port (and the pipe port when configured). */
  listen(): Promise<{ main: AddressInfo; pipeUrl?: string }>;
  close(): Promise<void>;
}

const COMPOSE_KEYS = [
  'db',
  'revocationPollMs',
  'tokenClock',
  'auth',
  'adminToken',
  'pipe',
  'pipeHosts',
  'pipePort',
  'tcpTargets',
  'tcpResumeGraceMs',
  'tcpResumeBufferBytes',
  'registrationKey',
  'tiflisPath',
  'tunelyPath',
  'tunnelPort',
  'maxSockets',
  'cluster',
] as const;

/** The createServer() part of a compose configuration (what composeServer passes on to it). */
export function serverOptionsOnly(options: ComposeOptions): ServerOptions {
  const core: ServerOptions = { ...options };
  for (const k of COMPOSE_KEYS) delete (core as Record<string, unknown>)[k];
  return core;
}

export async function composeServer(options: ComposeOptions = {}): Promise<ComposedServer> {
  const core = serverOptionsOnly(options);
  // every problem at once, before the database (./data/burrow.db by default) is created
  validateComposeOptions(options, core);
  if (options.registrationKey !== undefined) validateRegistrationKey(options.registrationKey);
  const targets = (options.tcpTargets ?? []).map(parseTcpTargetSpec);

  const accounts = await Accounts.open({
    db: options.db,
    auth: options.auth,
    adminToken: options.adminToken,
    logger: options.logger,
    revocationPollMs: options.revocationPollMs,
    now: options.tokenClock,
  });
  // cluster mode (--cluster): the registry is shared through Redis; ioredis loads only then
  let cluster: ClusterNode | undefined;
  // the cluster's wrappers of the pipe and tcp-ws edges load with it (they import ws through its peers)
  let clusterPipe: typeof ClusterPipe | undefined;
  let clusterTcp: typeof ClusterTcp | undefined;
  if (options.cluster) {
    try {
      const { startClusterNode } = await import('../cluster/index.js');
      ({ clusterPipe } = await import('./cluster-pipe.js'));
      ({ clusterTcp } = await import('./cluster-tcp.js'));
      const config = resolveServerConfig(core);
      const worker = options.cluster.worker;
      cluster = await startClusterNode({
        ...options.cluster,
        window: config.window,
        maxTunnels: config.maxTunnels,
        peerListen: worker !== undefined ? { address: config.address, index: worker } : undefined,
      });
      core.registry = cluster.registry;
      // public TCP addresses name this node (its own host), not the load balancer's
      core.tcpPublicHost ??= cluster.publicHost;
      // --new-tunnels-per-minute counts a client's tunnels on every node
      core.newTunnelLimiter ??= cluster.newTunnelLimiter(config.newTunnelsPerMinute);
    } catch (err) {
      await accounts.close();
      throw err;
    }
  }
  // ACME certificates live in the database (shared by every node) unless --acme-dir names a folder
  if (core.acme && core.acme.dir === undefined && core.acme.store === undefined) {
    core.acme = { ...core.acme, store: databaseCertificates(accounts.store) };
  }
  let server: BurrowServer;
  try {
    server = createServer({ ...core, admission: accountsAdmission(accounts) });
  } catch (err) {
    await cluster?.shutdown();
    await accounts.close();
    throw err;
  }
  const adminApi = accounts.adminAdapter(server.logger);
  const adapters: ServerAdapter[] = [adminApi];
  if (cluster) {
    adapters.push(cluster.adapter);
    // requests another node forwards here (the pipe's rendezvous) go through this node's server
    cluster.registry.localHttp = (req, res) => server.handleRequest(req, res);
    cluster.registry.localUpgrade = (req, socket, head) => server.handleUpgrade(req, socket, head);
    // an operator's close on another node of a tunnel here
    cluster.registry.closeLocal = (tunnelId) => server.closeTunnel(tunnelId);
  }

  let pipe: PipeAdapter | undefined;
  // an edge switched off is not loaded (--no-pipe; tiflis without --registration-key): an idle server's memory
  if (options.pipe !== false) {
    const { createPipeAdapter } = await import('../adapters/pipe/adapter.js');
    pipe = createPipeAdapter({ pipeHosts: options.pipeHosts ?? [] });
    const served = accounts.auth === 'token' ? gatePipe(pipe, accounts, server) : pipe;
    // a cluster's nodes meet per pipe path on one node (the first arrival's)
    adapters.push(cluster && clusterPipe ? clusterPipe(served, cluster) : served);
  }
  const tcpWs = createTcpWsAdapter({
    targets,
    registryTokens: (t) => server.tcpAccessToken(t),
    failedAuth: accounts.tokens.limiter.forSurface('tcp-ws'),
    ...(options.tcpResumeGraceMs !== undefined ? { detachedGraceMs: options.tcpResumeGraceMs } : {}),
    ...(options.tcpResumeBufferBytes !== undefined ? { detachedBufferBytes: options.tcpResumeBufferBytes } : {}),
  });
  // a cluster carries /tcp/<name> of a tunnel another node holds to that node
  adapters.push(cluster && clusterTcp ? clusterTcp(tcpWs, cluster) : tcpWs);
  const tunely = createTunelyAdapter({
    verifyToken: tunelyVerifierFromTokens(accounts.tokens),
    ...(options.tunelyPath ? { path: options.tunelyPath } : {}),
  });
  adapters.push(tunely);
  if (options.registrationKey !== undefined) {
    const [{ createTiflisAdapter }, { SqlWorkstationStore }] = await Promise.all([
      import('../adapters/tiflis/adapter.js'),
      import('./tiflis-workstations.js'),
    ]);
    adapters.push(
      createTiflisAdapter({
        registrationKey: options.registrationKey,
        store: new SqlWorkstationStore(accounts.store),
        failedAuth: accounts.tokens.limiter.forSurface('tiflis'),
        // a cluster carries a device to the node where its workstation is online
        ...(cluster ? { cluster: cluster.registry.tiflis } : {}),
        ...(options.tiflisPath ? { wsPath: options.tiflisPath } : {}),
        ...(options.publicUrl ? { publicBaseUrl: options.publicUrl } : {}),
      }),
    );
  }
  // the web console at /admin (on with --admin-token; else /admin says how to turn it on). After the
  // pipe (on a --pipe-host every path is a pipe, /admin too), before localtunnel (whose `/<name>`
  // handshake would take /admin).
  const webConsole = createConsoleAdapter({
    admin: options.adminToken !== undefined ? adminApi : undefined,
    domains: server.config.domains,
    adapterStats: () => Object.assign({}, ...adapters.map((a) => a.stats?.() ?? {})) as Record<string, number>,
    inFlight: () => adapters.flatMap((a) => a.inFlight?.() ?? []),
  });
  adapters.push(webConsole);
  // localtunnel's `/<name>` handshake catches single-segment paths: it goes last.
  adapters.push(
    createLocaltunnelAdapter({
      admission: accountsAdmission(accounts),
      ...(options.tunnelPort !== undefined ? { tunnelPort: options.tunnelPort } : {}),
      ...(options.maxSockets !== undefined ? { maxSockets: options.maxSockets } : {}),
      ...(options.address ? { address: options.address } : {}),
      // a cluster's node names itself in the handshake: the client's pool sockets must reach it
      ...(cluster ? { ip: cluster.publicHost } : {}),
    }),
  );
  for (const a of adapters) server.use(a);
  accounts.tokens.on('revoked', (tokenId: string) => {
    server.revokeToken(tokenId);
    // tunely agents are held by the adapter (it has no revokeToken hook): close them too.
    tunely.disconnectToken(tokenId);
  });

  return {
    server,
    accounts,
    pipe,
    cluster,
    async listen() {
      const main = await server.listen();
      let pipeUrl: string | undefined;
      if (pipe && options.pipePort !== undefined) {
        const l = await pipe.listen({
          port: options.pipePort,
          ...(options.address ? { address: options.address } : {}),
        });
        pipeUrl = l.url;
      }
      return pipeUrl ? { main, pipeUrl } : { main };
    },
    async close() {
      // an open console's live stream is not work to drain: end it first, or close() waits it out
      webConsole.endLive();
      // a node of a cluster says it is draining first, so that the other nodes stop sending it work
      await cluster?.beginDrain(server.config.drainTimeoutMs);
      await server.close();
      await cluster?.shutdown();
      await accounts.close();
    },
  };
}

/**
 * With --auth token the pipe is for token holders too: transfers need a token with the `pipe`
 * kind (Authorization: Bearer, X-Burrow-Token or ?token=). Pages, preflight and health stay open.
 */
function gatePipe(pipe: PipeAdapter, accounts: Accounts, server: BurrowServer): ServerAdapter {
  return {
    name: 'pipe',
    start: (ctx) => pipe.start(ctx),
    close: () => pipe.close(),
    stats: () => pipe.stats(),
    inFlight: () => pipe.inFlight(),
    claimsHost: (h) => pipe.isPipeHost(h),
    handleRequest(req, res, url) {
      const onPipeHost = pipe.isPipeHost(req.headers.host);
      if (!onPipeHost && !isPrefixed(url.pathname)) return false;
      const path = isPrefixed(url.pathname) ? url.pathname.slice(PIPE_API_PREFIX.length) || '/' : url.pathname;
      if (req.method === 'OPTIONS' || path === '/health' || isReservedPath(path))
        return pipe.handleRequest(req, res, url);
      // no pause(): an unread request buffers by itself, and the pipe decides when to read it
      const address = server.context.clientAddress(req);
      accounts.tokens.verify(presentedToken(req), { kind: 'pipe', address }).then(
        () => {
          pipe.handleRequest(req, res, url);
        },
        (err: unknown) => {
          const e = err instanceof BurrowError ? err : new BurrowError('BURROW_ERR_UNAUTHORIZED', String(err));
          const retry = (err as { retryAfter?: number }).retryAfter;
          const headers: Record<string, string> =
            retry !== undefined
              ? { 'Retry-After': String(retry) }
              : { 'WWW-Authenticate': 'Bearer realm="burrow pipe"' };
          sendError(req, res, e, headers);
          req.resume();
        },
      );
      return true;
    },
  };
}
