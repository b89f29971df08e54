import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.js';
import { storeConformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'burrow-store-'));
let fresh = 0;

storeConformance({
  name: 'SQLite file',
  open: () => openStore(`sqlite:${join(dir, 'main', 'burrow.db')}`),
  openFresh: (migrateTo) => openStore(`sqlite:${join(dir, `fresh-${++fresh}.db`)}`, migrateTo ? { migrateTo } : {}),
  reopenFresh: () => openStore(`sqlite:${join(dir, `fresh-${fresh}.db`)}`),
  cleanup: async () => rmSync(dir, { recursive: true, force: true }),
});
