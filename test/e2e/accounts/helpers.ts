/**
 * Issue 6 end-to-end helpers: a composed `burrow server` (accounts + core) on a real database,
 * SQLite (a temporary file) always and PostgreSQL (its own schema, dropped afterwards) when
 * BURROW_TEST_DATABASE_URL is set.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { after, before } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { composeServer, type ComposeOptions, type ComposedServer } from '../../../src/app/compose.js';
import { openTunnel, type OpenTunnelOptions, type Tunnel } from '../../../src/index.js';
import { closeHttp, request, startOrigin, type Reply } from '../../helpers/harness.js';

export const PG_URL = process.env['BURROW_TEST_DATABASE_URL'] || undefined;
export const PG_SKIP = PG_URL
  ? false
  : 'PostgreSQL variant skipped: BURROW_TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)';

export const ADMIN_TOKEN = 'admin-secret-0123456789abcdef';

/** One database for a group of tests: `url` is passed as --db; `cleanup` removes it. */
export interface TestDb {
  readonly url: string;
  cleanup(): Promise<void>;
}

export interface Backend {
  readonly name: 'SQLite' | 'PostgreSQL';
  /** false, or the reason this backend is skipped. */
  readonly skip: false | string;
  create(): Promise<TestDb>;
}

function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('schema', schema);
  return u.toString();
}

export const BACKENDS: Backend[] = [
  {
    name: 'SQLite',
    skip: false,
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'burrow-accounts-e2e-'));
      return {
        url: `sqlite:${join(dir, 'burrow.db')}`,
        async cleanup() {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    skip: PG_SKIP,
    async create() {
      const schema = `burrow_test_${randomBytes(6).toString('hex')}`;
      return {
        url: withSchema(PG_URL!, schema),
        async cleanup() {
          const client = new pg.Client({ connectionString: PG_URL });
          await client.connect();
          try {
            await client.query(`drop schema if exists "${schema}" cascade`);
          } finally {
            await client.end();
          }
        },
      };
    },
  },
];

export interface Running {
  composed: ComposedServer;
  port: number;
  url: string;
}

/** Compose and start a server on 127.0.0.1, any port. */
export async function startComposed(db: string, options: ComposeOptions = {}): Promise<Running> {
  const composed = await composeServer({
    db,
    auth: 'token',
    adminToken: ADMIN_TOKEN,
    address: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    processMetrics: false,
    resumeGraceMs: 0,
    ...options,
  });
  const { main } = await composed.listen();
  return { composed, port: main.port, url: `http://127.0.0.1:${main.port}` };
}

/** A local origin answering 200 "origin:<path>" and echoing what it saw of Authorization. */
export async function startEchoOrigin(): Promise<{
  server: http.Server;
  port: number;
  seen: http.IncomingHttpHeaders[];
}> {
  const seen: http.IncomingHttpHeaders[] = [];
  const o = await startOrigin((req, res) => {
    seen.push(req.headers);
    res.setHeader('x-saw-authorization', req.headers.authorization === undefined ? 'no' : 'yes');
    res.end(`origin:${req.url ?? ''}`);
  });
  return { ...o, seen };
}

export type EchoOrigin = Awaited<ReturnType<typeof startEchoOrigin>>;

/** What a suite of accounts tests shares: a fresh database, the composed server on it, an echo origin. */
export interface ComposedStack {
  readonly db: TestDb;
  readonly srv: Running;
  readonly origin: EchoOrigin;
}

/**
 * The suite fixture: registers before() (database, server with `options`, origin) and after()
 * (all three closed) in the calling describe(); read the parts inside tests.
 */
export function composedStack(backend: Backend, options: ComposeOptions = {}): ComposedStack {
  let db: TestDb | undefined;
  let srv: Running | undefined;
  let origin: EchoOrigin | undefined;
  before(async () => {
    db = await backend.create();
    srv = await startComposed(db.url, options);
    origin = await startEchoOrigin();
  });
  after(async () => {
    await srv?.composed.close();
    if (origin) await closeHttp(origin.server);
    await db?.cleanup();
  });
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('composedStack: used outside its describe() tests');
    return v;
  };
  return {
    get db() {
      return started(db);
    },
    get srv() {
      return started(srv);
    },
    get origin() {
      return started(origin);
    },
  };
}

/** openTunnel with no reconnects by default (tests want refusals at once). */
export function tunnel(
  serverUrl: string,
  originPort: number,
  options: Partial<OpenTunnelOptions> = {},
): Promise<Tunnel> {
  return openTunnel({
    server: serverUrl,
    port: originPort,
    localHost: '127.0.0.1',
    reconnect: false,
    requestEvents: false,
    ...options,
  });
}

/** GET through the tunnel (Host header = the tunnel's host). */
export function visit(
  port: number,
  t: Tunnel | string,
  path = '/',
  headers: Record<string, string> = {},
): Promise<Reply> {
  const host = typeof t === 'string' ? t : new URL(t.url).host;
  return request(port, host, path, { headers });
}

/** JSON call to the admin API. */
export async function admin(
  port: number,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = ADMIN_TOKEN,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: unknown }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await request(port, `127.0.0.1:${port}`, `/api/admin${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  let json: unknown;
  try {
    json = JSON.parse(r.body.toString('utf8'));
  } catch {
    json = r.body.toString('utf8');
  }
  return { status: r.status, headers: r.headers, json };
}

/** Rejects with the error openTunnel threw, or fails when it resolved. */
export async function refusal(p: Promise<Tunnel>): Promise<{ code: string; message: string }> {
  try {
    const t = await p;
    t.close();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected openTunnel to be refused, but it opened');
}

export { request };
