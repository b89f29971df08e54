import { randomInt } from 'node:crypto';
import { BurrowError } from '../core/errors.js';
import { NAME_MAX_LENGTH, NAME_MIN_LENGTH } from '../core/limits.js';

/** Names the server keeps for itself; agents may not claim them. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'api',
  'admin',
  'www',
  'app',
  'dashboard',
  'status',
  'health',
  'metrics',
  'mail',
  'smtp',
  'ftp',
  'ns1',
  'ns2',
  'root',
  'localhost',
  'burrow',
  'pipe',
  'static',
  'assets',
  'docs',
  'help',
]);

const NAME_RE = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
/** Names that read as a port-addressed hostname (server/host.ts portAddressOf) cannot be claimed. */
const PORT_ADDRESS_NAME_RE = /-https?-\d+$/;

/** Throws BURROW_ERR_INVALID_NAME / BURROW_ERR_NAME_RESERVED with a message that says how to fix it. */
export function validateName(name: string): string {
  if (typeof name !== 'string' || name.length < NAME_MIN_LENGTH || name.length > NAME_MAX_LENGTH) {
    throw new BurrowError(
      'BURROW_ERR_INVALID_NAME',
      `"${String(name).slice(0, 80)}" must be ${NAME_MIN_LENGTH}–${NAME_MAX_LENGTH} characters long`,
    );
  }
  if (!NAME_RE.test(name)) {
    throw new BurrowError(
      'BURROW_ERR_INVALID_NAME',
      `"${name}" may contain only lowercase letters, digits and hyphens, and may not start or end with a hyphen`,
    );
  }
  if (RESERVED_NAMES.has(name)) throw new BurrowError('BURROW_ERR_NAME_RESERVED', `"${name}"`);
  if (PORT_ADDRESS_NAME_RE.test(name)) {
    throw new BurrowError(
      'BURROW_ERR_INVALID_NAME',
      `"${name}" is how a port of another tunnel is addressed (<name>-http-<port>, <name>-https-<port>): choose a name that does not end in -http-<digits> or -https-<digits>`,
    );
  }
  return name;
}

const ADJECTIVES = [
  'amber',
  'brave',
  'calm',
  'clever',
  'cosy',
  'crisp',
  'dusty',
  'eager',
  'fancy',
  'gentle',
  'glad',
  'golden',
  'happy',
  'jolly',
  'keen',
  'lively',
  'lucky',
  'mellow',
  'merry',
  'misty',
  'nimble',
  'noble',
  'polite',
  'proud',
  'quick',
  'quiet',
  'rapid',
  'rosy',
  'shiny',
  'silent',
  'silver',
  'sleepy',
  'smooth',
  'snowy',
  'sunny',
  'swift',
  'tidy',
  'vivid',
  'warm',
  'witty',
  'young',
  'zesty',
];
const NOUNS = [
  'badger',
  'beaver',
  'bison',
  'otter',
  'falcon',
  'ferret',
  'fox',
  'gecko',
  'hare',
  'heron',
  'koala',
  'lemur',
  'lynx',
  'marmot',
  'mole',
  'moose',
  'newt',
  'owl',
  'panda',
  'puffin',
  'rabbit',
  'raven',
  'seal',
  'shrew',
  'sparrow',
  'squirrel',
  'stoat',
  'swan',
  'tapir',
  'tiger',
  'turtle',
  'vole',
  'walrus',
  'weasel',
  'wombat',
  'yak',
];

/** A random readable name such as "swift-otter-4821" (always passes validateName). */
export function randomName(): string {
  const a = ADJECTIVES[randomInt(ADJECTIVES.length)]!;
  const n = NOUNS[randomInt(NOUNS.length)]!;
  return `${a}-${n}-${randomInt(1000, 10000)}`;
}
