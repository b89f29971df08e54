/** Load helpers: autocannon runs (programmatic API), a timed download, a JSON GET, medians. */
import http from 'node:http';
import { createRequire } from 'node:module';

interface AutocannonResult {
  requests: { average: number; total: number; sent: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
interface AutocannonInstance {
  on(ev: 'response', fn: (client: object, status: number) => void): void;
}
type Autocannon = (
  o: {
    url: string;
    connections: number;
    duration: number;
    pipelining?: number;
    timeout?: number;
    overallRate?: number;
    headers: Record<string, string>;
  },
  cb: (err: Error | null, r: AutocannonResult) => void,
) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface Target {
  name: string;
  port: number;
  /** Host header (`<name>.localhost:<port>` for tunnels). */
  host: string;
  /** More request headers (e.g. Authorization for a tunnel with a Basic-auth rule). */
  headers?: Record<string, string>;
}

export interface RpsSample {
  /** 2xx answers a second: an error page answered fast (a peer whose pool broke) is not a request served. */
  rps: number;
  p50: number;
  p99: number;
  /** 2xx answers in the run. */
  total: number;
  /** Requests sent but not answered when the run ended (≤ connections: stalled connections). */
  unanswered: number;
  /** Connections (of `connections`) that got at least one response. */
  served: number;
  non2xx: number;
  errors: number;
}

export async function runRps(
  t: Target,
  connections: number,
  durationS: number,
  /** Requests a second over all connections (autocannon's overallRate); unbounded when left out. */
  rate?: number,
): Promise<RpsSample> {
  const served = new Set<object>();
  const r = await new Promise<AutocannonResult>((resolve, reject) => {
    const inst = autocannon(
      {
        url: `http://127.0.0.1:${t.port}/`,
        connections,
        duration: durationS,
        timeout: 10,
        headers: { ...t.headers, host: t.host },
        ...(rate !== undefined ? { overallRate: rate } : {}),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    inst.on('response', (client) => served.add(client));
  });
  const ok = r.requests.total - r.non2xx;
  return {
    rps: ok / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: ok,
    unanswered: r.requests.sent - r.requests.total,
    served: served.size,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

export interface LatencySample {
  /** Microseconds from sending a request to its last response byte. */
  p50: number;
  p99: number;
  count: number;
}

/**
 * Unloaded latency: `count` GET / one after another on one keep-alive connection, each timed from
 * the request to the end of its response (µs, hrtime). Nothing else is in flight.
 */
/** How long one of sequentialLatency's requests may go unanswered. */
const SEQUENTIAL_TIMEOUT_MS = 10_000;

export async function sequentialLatency(t: Target, count: number): Promise<LatencySample> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const start = process.hrtime.bigint();
      await new Promise<void>((resolve, reject) => {
        const req = http.get(
          { host: '127.0.0.1', port: t.port, path: '/', headers: { ...t.headers, host: t.host }, agent },
          (res) => {
            res.on('data', () => {});
            res.on('end', () => resolve());
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        // a setup whose tunnel died (pipenet's client has) must fail the row, not hang the bench
        req.setTimeout(SEQUENTIAL_TIMEOUT_MS, () =>
          req.destroy(new Error(`request ${i + 1} of ${count}: no answer within ${SEQUENTIAL_TIMEOUT_MS} ms`)),
        );
      });
      times.push(Number(process.hrtime.bigint() - start) / 1000);
    }
  } finally {
    agent.destroy();
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(count * 0.5)]!, p99: times[Math.floor(count * 0.99)]!, count };
}

export interface DownloadSample {
  bytes: number;
  seconds: number;
  mibps: number;
  ok: boolean;
  error?: string;
}

/** One GET /zeros?bytes=N (fresh connection); counts the bytes received and the time to the last one. */
export function download(t: Target, bytes: number, timeoutMs: number, chunked = false): Promise<DownloadSample> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    let got = 0;
    let done = false;
    const finish = (ok: boolean, error?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const s: DownloadSample = { bytes: got, seconds, mibps: got / 1048576 / seconds, ok: ok && got === bytes };
      if (error ?? got !== bytes) s.error = error ?? `short body: ${got} of ${bytes}`;
      resolve(s);
    };
    const req = http.get(
      {
        host: '127.0.0.1',
        port: t.port,
        path: `/zeros?bytes=${bytes}${chunked ? '&chunked=1' : ''}`,
        headers: { host: t.host },
        agent: false,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          finish(false, `status ${res.statusCode}`);
          return;
        }
        res.on('data', (c: Buffer) => (got += c.length));
        res.on('end', () => finish(true));
        res.on('error', (e) => finish(false, e.message));
      },
    );
    req.on('error', (e) => finish(false, e.message));
    const timer = setTimeout(() => {
      req.destroy();
      finish(false, `timeout after ${timeoutMs} ms`);
    }, timeoutMs);
  });
}

const UPLOAD_CHUNK = Buffer.alloc(256 * 1024);

/**
 * POST `bytes` zero bytes to /sink (with Content-Length, or chunked), writing 256 KiB chunks with
 * backpressure; done when the origin answers how many bytes it read.
 */
export function upload(t: Target, bytes: number, timeoutMs: number, chunked = false): Promise<DownloadSample> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    let done = false;
    const finish = (got: number, error?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const s: DownloadSample = { bytes: got, seconds, mibps: got / 1048576 / seconds, ok: !error && got === bytes };
      if (error ?? got !== bytes) s.error = error ?? `origin read ${got} of ${bytes}`;
      resolve(s);
    };
    const req = http.request(
      {
        host: '127.0.0.1',
        port: t.port,
        method: 'POST',
        path: '/sink',
        headers: {
          host: t.host,
          'content-type': 'application/octet-stream',
          ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(bytes) }),
        },
        agent: false,
      },
      (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => {
          try {
            finish((JSON.parse(b) as { bytes: number }).bytes);
          } catch {
            finish(0, `status ${res.statusCode}: ${b.slice(0, 200)}`);
          }
        });
      },
    );
    req.on('error', (e) => finish(0, e.message));
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, UPLOAD_CHUNK.length);
        left -= n;
        if (!req.write(n === UPLOAD_CHUNK.length ? UPLOAD_CHUNK : UPLOAD_CHUNK.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
    const timer = setTimeout(() => {
      req.destroy();
      finish(0, `timeout after ${timeoutMs} ms`);
    }, timeoutMs);
  });
}

export function getJson(port: number, path: string, host = `127.0.0.1:${port}`): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(b) as Record<string, unknown>);
        } catch {
          reject(new Error(`${path}: not JSON (${res.statusCode}): ${b.slice(0, 200)}`));
        }
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${path}: timeout`)));
    req.on('error', reject);
  });
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
