import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { JsonBodyError, readJsonBody, sendJson } from '../../src/core/http-json.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
let handler: Handler = (_req, res) => {
  res.end();
};
const server = createServer((req, res) => void handler(req, res));
let port = 0;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function call(
  method: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingMessage['headers']; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: '/', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

void test('sendJson answers JSON with length, no-store and a trailing newline', async () => {
  handler = (_req, res) => sendJson(res, 201, { a: 'é' });
  const r = await call('GET');
  assert.equal(r.status, 201);
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers['content-length'], String(Buffer.byteLength('{"a":"é"}\n')));
  assert.equal(r.text, '{"a":"é"}\n');
});

void test('sendJson: extra headers replace defaults, newline off, HEAD sends no body', async () => {
  handler = (req, res) =>
    sendJson(res, 200, [1], {
      head: req.method === 'HEAD',
      newline: false,
      headers: { 'Content-Type': 'application/json', Allow: 'GET' },
    });
  const get = await call('GET');
  assert.equal(get.text, '[1]');
  assert.equal(get.headers['content-type'], 'application/json');
  assert.equal(get.headers.allow, 'GET');
  const head = await call('HEAD');
  assert.equal(head.text, '');
  assert.equal(head.headers['content-length'], '3');
});

void test('sendJson after the head went out only ends the response', async () => {
  handler = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('partial');
    sendJson(res, 500, { error: 'late' });
  };
  const r = await call('GET');
  assert.equal(r.status, 200);
  assert.equal(r.text, 'partial');
});

/** Runs readJsonBody in the handler and answers with what it returned or threw. */
function echoBody(options?: { requireJsonType?: boolean }): Handler {
  return async (req, res) => {
    try {
      sendJson(res, 200, { value: await readJsonBody(req, 16, options) });
    } catch (err) {
      assert.ok(err instanceof JsonBodyError);
      sendJson(res, 400, { problem: err.problem });
    }
  };
}

void test('readJsonBody parses a JSON body; an empty body is {}', async () => {
  handler = echoBody();
  assert.equal((await call('POST', '{"x":[1,2]}')).text, '{"value":{"x":[1,2]}}\n');
  assert.equal((await call('POST')).text, '{"value":{}}\n');
});

void test('readJsonBody refuses too large (declared or streamed), bad JSON, and a wrong type when asked', async () => {
  handler = echoBody();
  assert.equal((await call('POST', JSON.stringify({ long: 'x'.repeat(40) }))).text, '{"problem":"too-large"}\n');
  assert.equal(
    (await call('POST', '{"a":"bcdefghijklmnop"}', { 'Transfer-Encoding': 'chunked' })).text,
    '{"problem":"too-large"}\n',
  );
  assert.equal((await call('POST', '{nope')).text, '{"problem":"not-json"}\n');
  handler = echoBody({ requireJsonType: true });
  assert.equal((await call('POST', '{}', { 'Content-Type': 'text/plain' })).text, '{"problem":"not-json-type"}\n');
  assert.equal((await call('POST', '{}', { 'Content-Type': 'application/json' })).text, '{"value":{}}\n');
});
