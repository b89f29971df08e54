/**
 * Raw clients for the per-client limit tests (issue 13, defects 5–7): each can bind a chosen
 * loopback source address (127.0.0.2, 127.0.0.3 …), so one test plays several client addresses.
 */
import http from 'node:http';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { decodeJson, encodeJsonFrame, FrameDecoder, FrameType } from '../../src/wire/mux/frames.js';
import { PROTOCOL_VERSION } from '../../src/wire/mux/limits.js';

export interface HelloAnswer {
  /** WELCOME received (the token was accepted). */
  welcome: boolean;
  /** The GOAWAY error, when refused. */
  error?: { code: string; message: string };
  /** The WebSocket close code, when refused (4401 unauthorized, 4429 rate limited). */
  closeCode?: number;
}

/** One burrow agent HELLO on /api/v1/agent from `localAddress`; resolves with the server's answer. */
export async function rawHello(port: number, token: string, localAddress = '127.0.0.1'): Promise<HelloAnswer> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/agent`, { localAddress });
  await once(ws, 'open');
  const decoder = new FrameDecoder();
  const answer: HelloAnswer = { welcome: false };
  return new Promise((resolve) => {
    ws.on('message', (data: Buffer) => {
      for (const f of decoder.push(data)) {
        if (f.type === FrameType.WELCOME) {
          answer.welcome = true;
          ws.close(1000);
        } else if (f.type === FrameType.GOAWAY) {
          const e = decodeJson(f);
          answer.error = { code: String(e['code']), message: String(e['message']) };
        }
      }
    });
    ws.on('close', (code) => {
      if (!answer.welcome) answer.closeCode = code;
      resolve(answer);
    });
    ws.send(encodeJsonFrame(FrameType.HELLO, 0, { v: PROTOCOL_VERSION, client: 'limit-test', token }));
  });
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An HTTP request to the server's own host from `localAddress`. */
export function fromAddress(
  port: number,
  path: string,
  localAddress: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        localAddress,
        method: options.method ?? 'GET',
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
