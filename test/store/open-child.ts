// Child process for open-race.test.ts: open (and migrate) the database given as argv[2], then exit.
import { openStore } from '../../src/store/open.js';

const store = await openStore(process.argv[2]);
await store.close();
