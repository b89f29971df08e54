import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { rawHttpResponse, refuseUpgrade } from '../../src/core/raw-response.js';

void test('rawHttpResponse writes the status line, headers in order, a blank line and the body', () => {
  assert.equal(
    rawHttpResponse(426, { 'Content-Length': 2, Connection: 'close' }, 'no'),
    'HTTP/1.1 426 Upgrade Required\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno',
  );
  assert.equal(rawHttpResponse(503, {}), 'HTTP/1.1 503 Service Unavailable\r\n\r\n');
  assert.equal(rawHttpResponse(599, {}), 'HTTP/1.1 599 Error\r\n\r\n');
});

void test('refuseUpgrade writes the response and ends the socket; a destroyed socket is left alone', async () => {
  const socket = new PassThrough();
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve) => socket.once('end', resolve));
  refuseUpgrade(socket, 'HTTP/1.1 400 Bad Request\r\n\r\n');
  await ended;
  assert.equal(Buffer.concat(chunks).toString(), 'HTTP/1.1 400 Bad Request\r\n\r\n');
  socket.destroy();

  const gone = new PassThrough();
  gone.destroy();
  assert.doesNotThrow(() => refuseUpgrade(gone, 'x'));
});
