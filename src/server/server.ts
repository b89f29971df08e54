/**
 * createServer(): one port serves everything. Requests whose Host is <name>.<domain> go to that
 * tunnel; the server's own host serves the API and every adapter's endpoints.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { BurrowError } from '../core/errors.js';
import { sendJson } from '../core/http-json.js';
import { NewTunnelLimiter } from '../core/new-tunnel-limiter.js';
import { createLogger, type Logger } from '../core/logger.js';
import { VERSION } from '../version.js';
import type { ServerAdapter, ServerContext } from './adapter.js';
import { createAgentEndpoint } from './agent/endpoint.js';
import { handleApi } from './api.js';
import { resolveServerConfig, type ServerConfig, type ServerOptions } from './config.js';
import type { ServerHooks, TunnelInfo } from './hooks.js';
import { domainOf, forwardedProto, hostOf, portAddressOf, remoteAddressOf, stripPort, tunnelNameFor } from './host.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { errorResponseBytes, internalError, parserError, rejectUpgrade, sendError } from './http/pages.js';
import { ConnectionCap } from './http/connection-cap.js';
import { interceptConnections } from './http/socket-handoff.js';
import { ALPN_PROTOCOLS, createH2Visitors, type H2Visitors } from './http/h2.js';
import { HEAD_CHECK_INTERVAL_MS, RELAY_IDLE_TIMEOUT_MS } from './limits.js';
import { landingHtml, landingJson, wantsHtml } from './landing.js';
import { TunnelProxy } from './http/proxy.js';
import { Exchange } from './http/exchange.js';
import { HttpRelay } from './http/relay.js';
import { TcpExpose } from './agent/tcp-expose.js';
import { AcmeManager } from './tls/acme.js';
import { createPlainHttpPort } from './tls/http-port.js';
import {
  MemoryTunnelRegistry,
  missingTunnelAnswer,
  type PortTarget,
  type RegisteredTunnel,
  type TunnelRegistry,
} from './registry.js';

export interface BurrowServer {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly registry: TunnelRegistry;
  readonly metrics: ServerMetrics;
  readonly context: ServerContext;
  /** The Node server created by listen() (undefined when mounted). */
  readonly httpServer: http.Server | undefined;
  /** Automatic TLS (options.acme): its certificates and renewal, undefined when off. */
  readonly acme: AcmeManager | undefined;
  /** Request handler, to mount into an existing http.Server / Express / Fastify. */
  readonly handleRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** Upgrade handler, to mount with server.on('upgrade', …). */
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Mount both handlers on an existing server (and answer its parse errors from the error table). */
  attach(server: http.Server): void;
  /** Listen on config.port/address (or the given ones). Resolves with the bound address. */
  listen(port?: number, address?: string): Promise<AddressInfo>;
  /** The URL of the server's own host, e.g. http://localhost:8080. */
  readonly url: string;
  readonly shuttingDown: boolean;
  /** Add an edge after creation (before or after listen). */
  use(adapter: ServerAdapter): void;
  /** The WebSocket access token of a `burrow tcp` tunnel (for the /tcp/<name> endpoint). */
  tcpAccessToken(tunnel: RegisteredTunnel): string | undefined;
  /** Disconnect every agent and tunnel opened with this token (after a revocation). Returns how many. */
  revokeToken(tokenId: string): number;
  /**
   * Close one live tunnel (an operator's action), by id: its name is free at once, a burrow agent is
   * told (UNREGISTER, BURROW_ERR_TUNNEL_CLOSED) and does not bring it back; other edges' clients see
   * their connection end. False when no live tunnel has that id.
   */
  closeTunnel(tunnelId: string): boolean;
  /** Graceful stop: refuse new work, drain in-flight requests (up to drainTimeoutMs), close agents. */
  close(): Promise<void>;
}

type TunnelLookup =
  | { tunnel: RegisteredTunnel; target?: PortTarget | undefined; miss?: undefined }
  | { tunnel?: undefined; miss: { error: BurrowError; headers: Record<string, string> }; name: string };

export function createServer(options: ServerOptions = {}): BurrowServer {
  const config = resolveServerConfig(options);
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const metrics = createMetrics({ defaultMetrics: options.processMetrics ?? true });
  const registry: TunnelRegistry = options.registry ?? new MemoryTunnelRegistry({ maxTunnels: config.maxTunnels });
  // One per-client limit on new tunnels for every edge (burrow, localtunnel, tunely, tiflis).
  const newTunnels =
    options.newTunnelLimiter ??
    new NewTunnelLimiter({
      perMinute: config.newTunnelsPerMinute,
      onLimited: (info) => logger.warn(info, 'new tunnels refused: too many from this address within a minute'),
    });
  const hooks: ServerHooks = {};
  if (options.onTunnelCreated) hooks.onTunnelCreated = options.onTunnelCreated;
  if (options.onTunnelClosed) hooks.onTunnelClosed = options.onTunnelClosed;
  if (options.onRequest) hooks.onRequest = options.onRequest;
  if (options.onResponse) hooks.onResponse = options.onResponse;
  const startedAt = Date.now();
  let boundPort = config.port;
  let httpServer: http.Server | undefined;
  let shuttingDown = false;
  let inFlight = 0;
  let drainResolve: (() => void) | undefined;

  const scheme = config.secure ? 'https' : 'http';
  const portSuffix = (): string => {
    if (config.publicUrl) return config.publicUrl.port ? `:${config.publicUrl.port}` : '';
    if (config.secure) return '';
    return boundPort === 80 ? '' : `:${boundPort}`;
  };

  const ctx: ServerContext = {
    logger,
    registry,
    metrics,
    hooks,
    publicUrlFor(name, req) {
      const d = (req && domainOf(hostOf(req), config.domains)) ?? config.domains[0]!;
      return `${scheme}://${name}.${d}${portSuffix()}`;
    },
    baseUrlFor(req) {
      if (config.publicUrl) return config.publicUrl.origin;
      const host = req?.headers.host;
      return host ? `${scheme}://${host}` : `${scheme}://${config.domains[0]}${portSuffix()}`;
    },
    clientAddress: (req) => remoteAddressOf(req, config.trustProxy),
    sendError,
    rejectUpgrade,
    closeTunnel: (id) => closeLiveTunnel(id),
    takeNewTunnel(address, edge, opts) {
      try {
        return newTunnels.take(address, { edge, ...opts });
      } catch (err) {
        metrics.newTunnelsRefused.inc({ protocol: edge });
        throw err;
      }
    },
  };

  const exchange = new Exchange({ logger, metrics, hooks, requestTimeoutMs: config.requestTimeoutMs });
  const proxy = new TunnelProxy({
    exchange,
    trustProxy: config.trustProxy,
    proto: (req) => {
      const p = config.trustProxy ? req.headers['x-forwarded-proto'] : undefined;
      return (
        forwardedProto(Array.isArray(p) ? p[0] : p) ??
        (config.secure || (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http')
      );
    },
    clientAddress: (req) => remoteAddressOf(req, config.trustProxy),
  });

  // The fast path for burrow HTTP tunnels when the server listens itself (see relay.ts): one
  // visitor connection = one stream, request heads re-written, responses passed through.
  const relay = new HttpRelay({
    exchange,
    headTimeoutMs: config.headTimeoutMs,
    maxHeaderBytes: config.maxHeaderBytes,
    trustProxy: config.trustProxy,
    secure: config.secure,
    route(hostValue) {
      if (shuttingDown) return undefined;
      const found = lookupTunnel(stripPort(hostValue).toLowerCase().replace(/\.$/, ''));
      const t = found?.tunnel;
      // misses go to Node's server (it answers them); message transports and per-request streams
      // (localtunnel pools) take the proxy
      if (!t || !t.streamPerConnection || t.kind !== 'http' || !t.openStream || t.handleRequest) {
        return undefined;
      }
      return { tunnel: t, target: found.target };
    },
    onActive(delta) {
      inFlight += delta;
      if (inFlight === 0 && drainResolve) drainResolve();
    },
  });

  const info = (t: RegisteredTunnel): TunnelInfo => ({
    id: t.id,
    name: t.name,
    url: t.url,
    protocol: t.protocol,
    kind: t.kind,
  });
  registry.on('created', (t) => {
    metrics.tunnels.inc({ protocol: t.protocol });
    hooks.onTunnelCreated?.(info(t));
  });
  registry.on('closed', (t) => {
    metrics.tunnels.dec({ protocol: t.protocol });
    proxy.forget(t);
    logger.info({ tunnel: t.name, kind: t.kind, protocol: t.protocol }, 'tunnel closed'); // as registration is
    hooks.onTunnelClosed?.(info(t));
  });

  const tcpExpose = new TcpExpose({
    range: config.tcpPorts,
    address: config.address,
    publicHost: options.tcpPublicHost,
    logger,
    secure: config.secure,
    baseUrlFor: (req) => ctx.baseUrlFor(req),
    // a dropped `burrow tcp` agent that comes back within the grace keeps its port and token
    resumeGraceMs: config.resumeGraceMs,
    // only a dropped agent's port is kept: after a goodbye it is released (the name's short hold is no resume)
    isNameHeld: (n) => registry.holdOf(n)?.reason === 'resume',
    ports: registry.tcpPorts,
  });
  const agentEndpoint = createAgentEndpoint({
    onTcpTunnel: (t, r, up) => tcpExpose.onRegistered(t, r, up),
    onTunnelGone: (t) => tcpExpose.onGone(t),
    window: config.window,
    resumeGraceMs: config.resumeGraceMs,
    maxStreamsPerTunnel: config.maxStreamsPerTunnel,
    pingIntervalMs: config.pingIntervalMs,
    deadPeerTimeoutMs: config.deadPeerTimeoutMs,
    ...(options.admission ? { admission: options.admission } : {}),
  });
  const adapters: ServerAdapter[] = [agentEndpoint];
  const started = new Set<ServerAdapter>();
  const startAdapter = (a: ServerAdapter): void => {
    if (started.has(a)) return;
    started.add(a);
    const r = a.start?.(ctx);
    if (r instanceof Promise)
      r.catch((err: unknown) => logger.error({ adapter: a.name, err }, 'adapter failed to start'));
  };
  for (const a of options.adapters ?? []) adapters.push(a);
  for (const a of adapters) startAdapter(a);

  const adapterStats = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const a of adapters) Object.assign(out, a.stats?.());
    return out;
  };

  function ownedByAdapter(host: string): boolean {
    for (const a of adapters) if (a.claimsHost?.(host)) return true;
    return false;
  }

  /**
   * What a host on a tunnel domain addresses: a live tunnel (perhaps one of its other local ports,
   * `<name>-http-<port>`), or the answer for a miss. Undefined: not a tunnel host.
   */
  function lookupTunnel(host: string): TunnelLookup | undefined {
    const label = ownedByAdapter(host) ? undefined : tunnelNameFor(host, config.domains);
    if (label === undefined) return undefined;
    const plain = registry.get(label);
    if (plain) return { tunnel: plain };
    const addressed = portAddressOf(label);
    if (!addressed) return { miss: missingTunnelAnswer(registry, label), name: label };
    const tunnel = registry.get(addressed.name);
    if (!tunnel) return { miss: missingTunnelAnswer(registry, addressed.name), name: addressed.name };
    if (!tunnel.allowsPort?.(addressed.port)) {
      const error = new BurrowError(
        'BURROW_ERR_PORT_NOT_ALLOWED',
        `port ${addressed.port} of tunnel "${addressed.name}" is not open to visitors`,
      );
      return { miss: { error, headers: {} }, name: addressed.name };
    }
    return { tunnel, target: { port: addressed.port, tls: addressed.tls } };
  }

  /**
   * May automatic TLS obtain a certificate for this host? The server's own hosts (its domains, hosts
   * an edge claims) and live or reserved tunnels only: never any name a stranger sends in SNI.
   */
  function certificateAllowed(host: string): boolean {
    if (config.domains.includes(host) || ownedByAdapter(host)) return true;
    const found = lookupTunnel(host);
    if (found?.tunnel) return true;
    const label = tunnelNameFor(host, config.domains);
    return label !== undefined && registry.holdOf(portAddressOf(label)?.name ?? label) !== undefined;
  }
  let plainHttp: http.Server | undefined;
  let h2Visitors: H2Visitors | undefined;
  const acme = config.acme
    ? new AcmeManager({
        config: config.acme,
        logger,
        registry: metrics.registry,
        allows: certificateAllowed,
        domains: config.domains,
        // the own host's certificate also answers clients that send no SNI (an IP address URL)
        onCertificate: (c) => {
          if (c.name === config.domains[0] && httpServer instanceof https.Server) {
            httpServer.setSecureContext({ cert: c.cert, key: c.key });
          }
        },
      })
    : undefined;

  function closeLiveTunnel(tunnelId: string): boolean {
    const t = registry.getById(tunnelId);
    if (!t) return false;
    const err = new BurrowError('BURROW_ERR_TUNNEL_CLOSED', `tunnel ${t.name} was closed by the server's operator`);
    if (!agentEndpoint.closeTunnel(tunnelId, err)) {
      t.close(err.message);
      registry.remove(t);
    }
    logger.info({ tunnel: t.name, tunnelId, protocol: t.protocol }, 'tunnel closed by the operator');
    return true;
  }

  function trackRequest(res: ServerResponse): void {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0 && drainResolve) drainResolve();
    });
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    trackRequest(res);
    routeRequest(req, res, false);
  }

  /** `resolved`: a shared registry (registry.resolve) was already asked about a missing name. */
  function routeRequest(req: IncomingMessage, res: ServerResponse, resolved: boolean): void {
    const found = lookupTunnel(hostOf(req));
    if (found) {
      if (!found.tunnel) {
        if (!resolved && registry.resolve) {
          const again = (): void => routeRequest(req, res, true);
          registry.resolve(found.name).then(again, again);
          return;
        }
        // both paths land here (the relay hands misses to Node): 404 only for names nobody holds
        metrics.errors.inc({ code: found.miss.error.code });
        sendError(req, res, found.miss.error, found.miss.headers);
        return;
      }
      if (shuttingDown) res.setHeader('Connection', 'close');
      proxy.handleRequest(found.tunnel, req, res, found.target);
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://burrow.invalid');
    } catch {
      sendError(req, res, new BurrowError('BURROW_ERR_BAD_REQUEST', 'unparseable request target'));
      return;
    }
    try {
      if (
        handleApi(req, res, url, {
          registry,
          metrics,
          version: VERSION,
          startedAt,
          shuttingDown: () => shuttingDown,
          adapterStats,
          agents: () => agentEndpoint.connections,
        })
      ) {
        return;
      }
      for (const a of adapters) if (a.handleRequest?.(req, res, url)) return;
    } catch (err) {
      logger.error({ err }, 'request handler failed');
      sendError(req, res, internalError(err));
      return;
    }
    if (url.pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      if (config.landing) {
        res.writeHead(302, { Location: config.landing }).end();
        return;
      }
      const page = { url: `${scheme}://${req.headers.host ?? 'localhost'}`, version: VERSION, tunnels: registry.size };
      if (wantsHtml(req)) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : landingHtml(page));
        return;
      }
      sendJson(res, 200, landingJson(page), { head: req.method === 'HEAD' });
      return;
    }
    sendError(
      req,
      res,
      new BurrowError('BURROW_ERR_BAD_REQUEST', `no route for ${req.method} ${url.pathname} on the server's own host`),
      {},
    );
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    routeUpgrade(req, socket, head, false);
  }

  function routeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, resolved: boolean): void {
    if (shuttingDown) {
      rejectUpgrade(socket, new BurrowError('BURROW_ERR_SHUTTING_DOWN'));
      return;
    }
    const found = lookupTunnel(hostOf(req));
    if (found) {
      if (!found.tunnel) {
        if (!resolved && registry.resolve) {
          const again = (): void => routeUpgrade(req, socket, head, true);
          registry.resolve(found.name).then(again, again);
          return;
        }
        metrics.errors.inc({ code: found.miss.error.code });
        rejectUpgrade(socket, found.miss.error, found.miss.headers);
        return;
      }
      proxy.handleUpgrade(found.tunnel, req, socket, head, found.target);
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://burrow.invalid');
    } catch {
      rejectUpgrade(socket, new BurrowError('BURROW_ERR_BAD_REQUEST', 'unparseable request target'));
      return;
    }
    try {
      for (const a of adapters) if (a.handleUpgrade?.(req, socket, head, url)) return;
    } catch (err) {
      logger.error({ err }, 'upgrade handler failed');
      rejectUpgrade(socket, internalError(err));
      return;
    }
    rejectUpgrade(socket, new BurrowError('BURROW_ERR_BAD_REQUEST', `no WebSocket endpoint at ${url.pathname}`));
  }

  const server: BurrowServer = {
    config,
    logger,
    registry,
    metrics,
    context: ctx,
    get httpServer() {
      return httpServer;
    },
    acme,
    handleRequest,
    handleUpgrade,
    attach(s) {
      s.on('request', handleRequest);
      s.on('upgrade', handleUpgrade);
      // bytes Node's parser refuses get the answer the relay's parser gives the same bytes
      s.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
        if (!socket.writable) return socket.destroy();
        const e = parserError(err, config);
        metrics.errors.inc({ code: e.code });
        socket.end(errorResponseBytes(e));
      });
    },
    get url() {
      return `${scheme}://${config.domains[0] === 'localhost' ? 'localhost' : config.domains[0]}${portSuffix()}`;
    },
    get shuttingDown() {
      return shuttingDown;
    },
    use(adapter) {
      adapters.push(adapter);
      startAdapter(adapter);
    },
    tcpAccessToken: (t) => tcpExpose.tokenFor(t),
    revokeToken(tokenId) {
      let n = agentEndpoint.closeTunnelsOf((p) => p.tokenId === tokenId);
      for (const t of registry.list()) {
        if (t.tokenId === tokenId) {
          t.close('token revoked');
          registry.remove(t);
          n++;
        }
      }
      for (const a of adapters) n += a.revokeToken?.(tokenId) ?? 0;
      if (n) logger.info({ tokenId, closed: n }, 'token revoked: agents disconnected');
      return n;
    },
    closeTunnel: (id) => closeLiveTunnel(id),
    listen(port = config.port, address = config.address) {
      const serverOpts: http.ServerOptions = {
        maxHeaderSize: config.maxHeaderBytes,
        requestTimeout: 0,
        // Node checks this from the first byte of each head, every HEAD_CHECK_INTERVAL_MS
        headersTimeout: config.headTimeoutMs,
        connectionsCheckingInterval: Math.min(HEAD_CHECK_INTERVAL_MS, config.headTimeoutMs),
        keepAliveTimeout: RELAY_IDLE_TIMEOUT_MS,
        noDelay: true,
      };
      // where burrow terminates TLS itself, ALPN offers h2 beside http/1.1 (h2.ts)
      const tlsOpts = { ...serverOpts, ALPNProtocols: ALPN_PROTOCOLS };
      const s = options.tls
        ? https.createServer({ ...tlsOpts, cert: options.tls.cert, key: options.tls.key })
        : acme
          ? https.createServer({ ...tlsOpts, SNICallback: acme.sniCallback })
          : http.createServer(serverOpts);
      httpServer = s;
      const h2 =
        s instanceof https.Server
          ? (h2Visitors = createH2Visitors({ handleRequest, logger, maxHeaderBytes: config.maxHeaderBytes }))
          : undefined;
      server.attach(s);
      // One client address holds at most --max-connections-per-ip sockets (behind a trusted proxy
      // every connection is the proxy's: the cap is the proxy's job there).
      const cap = new ConnectionCap(config.trustProxy ? 0 : config.maxConnectionsPerIp, (key, first) => {
        metrics.errors.inc({ code: 'BURROW_ERR_CONNECTION_LIMIT' });
        if (first) {
          logger.warn(
            { client: key, limit: config.maxConnectionsPerIp, code: 'BURROW_ERR_CONNECTION_LIMIT' },
            'visitor connections refused: this address holds the most allowed (--max-connections-per-ip)',
          );
        }
      });
      // Every new connection meets the relay first; what it does not carry goes on to Node's own
      // HTTP server with its bytes put back (socket-handoff.ts).
      interceptConnections(s, (socket, handOff) => {
        if (!cap.admit(socket)) {
          socket.destroy();
          return;
        }
        if (h2 && (socket as TLSSocket).alpnProtocol === 'h2') h2.accept(socket);
        else relay.accept(socket, handOff);
      });
      const main = new Promise<AddressInfo>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, address, () => {
          s.off('error', reject);
          const addr = s.address() as AddressInfo;
          boundPort = addr.port;
          logger.info({ port: addr.port, address: addr.address, domains: config.domains }, 'burrow server listening');
          resolve(addr);
        });
      });
      const plainHttpPort = config.plainHttpPort;
      if (plainHttpPort === undefined || !(s instanceof https.Server)) return main;
      return main.then(async (addr) => {
        await acme?.start();
        plainHttp = createPlainHttpPort({
          challengeAnswer: (token) => acme?.challengeAnswer(token),
          httpsPort: () => (config.publicUrl?.port ? Number(config.publicUrl.port) : boundPort),
        });
        await listenPlain(plainHttp, plainHttpPort, address);
        const plainPort = (plainHttp.address() as AddressInfo).port;
        logger.info(
          { port: plainPort, ...(config.acme ? { directory: config.acme.directoryUrl } : {}) },
          acme
            ? 'acme: plain HTTP port serves challenges and redirects to HTTPS'
            : 'plain HTTP port redirects to HTTPS',
        );
        return addr;
      });
    },
    async close() {
      if (shuttingDown) return;
      shuttingDown = true;
      httpServer?.close();
      acme?.close();
      plainHttp?.close();
      plainHttp?.closeAllConnections();
      relay.shutdown();
      h2Visitors?.close();
      if (inFlight > 0 && config.drainTimeoutMs > 0) {
        await new Promise<void>((resolve) => {
          drainResolve = resolve;
          setTimeout(resolve, config.drainTimeoutMs).unref();
        });
      }
      for (const a of adapters) {
        try {
          await a.close?.();
        } catch (err) {
          logger.warn({ adapter: a.name, err }, 'adapter close failed');
        }
      }
      for (const t of registry.list()) {
        t.close('server shutting down');
        registry.remove(t);
      }
      await tcpExpose.close();
      registry.close();
      relay.destroyAll();
      httpServer?.closeAllConnections();
      logger.info('burrow server closed');
    },
  };
  return server;
}

/** Listen on the plain HTTP port; a port that cannot be had is a configuration error naming --http-port. */
function listenPlain(s: http.Server, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EACCES' ? 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : err.message;
      reject(
        new BurrowError('BURROW_ERR_INVALID_CONFIG', `cannot listen on --http-port ${port}: ${why}`, {
          fix: 'Give burrow that port (root, setcap cap_net_bind_service=+ep on node, or a port forward 80 → --http-port), or pick a free one. With --acme, HTTP-01 validation reaches the server on port 80.',
        }),
      );
    });
    s.listen(port, address, () => resolve());
  });
}
