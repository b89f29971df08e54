/**
 * docs/PROTOCOL.md must stay exact: its frame-type table, its limits table and its hex dumps are
 * checked against src/wire/mux/ here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { encodeFrame, encodeJsonFrame, encodeWindow, FrameType } from '../../src/wire/mux/frames.js';
import * as limits from '../../src/wire/mux/limits.js';

const doc = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');

/** `hexdump -C`-style lines, as printed in the doc. */
function hexdump(b: Buffer): string[] {
  const out: string[] = [];
  for (let i = 0; i < b.length; i += 16) {
    const c = [...b.subarray(i, i + 16)];
    const hex = c.map((x) => x.toString(16).padStart(2, '0'));
    const h = (hex.slice(0, 8).join(' ') + '  ' + hex.slice(8).join(' ')).padEnd(49);
    const a = c.map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    out.push(`${i.toString(16).padStart(8, '0')}  ${h} |${a}|`);
  }
  return out;
}

function assertDumped(name: string, frame: Buffer): void {
  const lines = doc.split('\n').map((l) => l.trimEnd());
  for (const line of hexdump(frame)) {
    assert.ok(lines.includes(line.trimEnd()), `${name}: line missing from docs/PROTOCOL.md:\n${line}`);
  }
}

test('every frame type is in the table with its code', () => {
  for (const [name, code] of Object.entries(FrameType)) {
    const hex = `0x${code.toString(16).padStart(2, '0')}`;
    assert.match(doc, new RegExp(`\\| \`${hex}\` +\\| ${name} +\\|`), `${name} (${hex})`);
  }
});

test('every protocol limit is in the limits table with its value', () => {
  for (const [name, value] of Object.entries(limits)) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${name}\``));
    assert.ok(row, `${name} is missing from the limits table`);
    const cell = row.split('|')[2]!.replace(/[\s\u00a0\u202f]/g, '');
    const shown = Number(/^\d+/.exec(cell)?.[0]);
    assert.equal(shown, value, `${name}: the doc says ${cell}`);
  }
});

test('the worked examples are what encodeFrame produces', () => {
  assertDumped('HELLO', encodeJsonFrame(FrameType.HELLO, 0, { v: 1, client: 'burrow/0.1.0', window: 4194304 }));
  assertDumped(
    'OPEN',
    encodeJsonFrame(FrameType.OPEN, 2, {
      tunnelId: '3f0c2a4e-9d1b-4f7a-8c55-0e6b7d2f9a10',
      kind: 'http',
      remoteAddress: '203.0.113.7',
    }),
  );
  assertDumped(
    'DATA',
    encodeFrame(FrameType.DATA, 2, Buffer.from('GET / HTTP/1.1\r\nHost: swift-otter-4821.localhost\r\n\r\n')),
  );
  assertDumped('WINDOW', encodeWindow(2, 1024 * 1024));
  assertDumped('END', encodeFrame(FrameType.END, 2));
});
