/**
 * The keys of a tunnel in `burrow start`'s file are the long flags of its command (`subdomain`,
 * `basic-auth`, `allow-ip`, `local-https` …): read from the command's own flag definitions
 * (addHttpFlags, addTcpFlags), and each value goes through that flag's own parser — the file and the
 * command line are one pipeline, so a flag added to `burrow http` is a key of the file at once.
 */
import { Command, type Option } from '../commander.js';
import { addHttpFlags } from '../commands/http.js';
import { addTcpFlags } from '../commands/tcp.js';
import { collect } from '../util.js';

export type FileTunnelKind = 'http' | 'tcp';
export const TUNNEL_KINDS: readonly FileTunnelKind[] = ['http', 'tcp'];

/** Flags of `burrow http`/`burrow tcp` that are not a tunnel's key, and why. */
const NOT_TUNNEL_KEYS: Readonly<Record<string, string>> = {
  server: 'the server is given once, at the top of the file (`server:`): one connection carries every tunnel',
  token: 'the token is given once, at the top of the file (`token:`): one connection carries every tunnel',
  json: '--json is a flag of `burrow start` itself',
  'connect-timeout': '--connect-timeout is a flag of `burrow start` itself',
  protocol: "burrow start speaks burrow's own protocol (`burrow http --protocol localtunnel` runs on its own)",
  qr: '--qr is a flag of `burrow start` itself',
  ca: '--ca is a flag of `burrow start` itself (BURROW_CA): one connection carries every tunnel',
  insecure: '--insecure is a flag of `burrow start` itself: one connection carries every tunnel',
};

/** A scalar of the file, after ${ENV} interpolation. */
export type FileValue = string | number | boolean | null;

interface KeyOption {
  option: Option;
  /** The attribute the command's action would see (commander's attributeName()). */
  attribute: string;
}

/** One key of a tunnel entry: the flag(s) it stands for (`inspect` may be both --inspect and --no-inspect). */
export interface TunnelKey {
  key: string;
  positive: KeyOption | undefined;
  negative: KeyOption | undefined;
}

const cache = new Map<FileTunnelKind, Map<string, TunnelKey>>();

/** The keys a tunnel of this kind takes, by name. */
export function tunnelKeys(kind: FileTunnelKind): ReadonlyMap<string, TunnelKey> {
  let keys = cache.get(kind);
  if (keys) return keys;
  keys = new Map();
  const cmd = kind === 'http' ? addHttpFlags(new Command('http')) : addTcpFlags(new Command('tcp'));
  for (const option of cmd.options) {
    const long = option.long?.replace(/^--/, '');
    if (!long) continue;
    const name = option.negate ? long.replace(/^no-/, '') : long;
    if (name in NOT_TUNNEL_KEYS) continue;
    const ko: KeyOption = { option, attribute: option.attributeName() };
    const k = keys.get(name) ?? { key: name, positive: undefined, negative: undefined };
    if (option.negate) k.negative = ko;
    else k.positive = ko;
    keys.set(name, k);
  }
  cache.set(kind, keys);
  return keys;
}

/** Why a flag of the command is not a key of the file (undefined when it is not such a flag). */
export function notATunnelKey(key: string): string | undefined {
  return NOT_TUNNEL_KEYS[key];
}

const TRUE = /^(true|yes|on|1)$/i;
const FALSE = /^(false|no|off|0)$/i;

function asBoolean(v: FileValue): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && TRUE.test(v)) return true;
  if (typeof v === 'string' && FALSE.test(v)) return false;
  return undefined;
}

const takesValue = (o: Option): boolean => o.required || o.optional;
const isList = (o: Option): boolean => o.parseArg === (collect as unknown);

/** The value as its flag's parser takes it: the same checks and the same result as on the command line. */
function parseOne(o: Option, raw: string, previous: unknown): unknown {
  if (o.argChoices && !o.argChoices.includes(raw)) throw new Error(`expected one of ${o.argChoices.join(', ')}`);
  return o.parseArg ? o.parseArg(raw, previous) : raw;
}

/**
 * One key's value → [attribute, value] as the command's action would get it, or a problem message.
 * `value` is a scalar or, for a repeatable flag, a list of scalars.
 */
export function keyValue(k: TunnelKey, value: FileValue | FileValue[]): [string, unknown] | string {
  const p = k.positive?.option;
  if (Array.isArray(value)) {
    if (!p || !isList(p)) return 'takes one value, not a list';
    let acc: unknown = undefined;
    for (const item of value) {
      if (item === null || typeof item === 'boolean' || Array.isArray(item)) return 'takes a list of values';
      try {
        acc = parseOne(p, String(item), acc);
      } catch (err) {
        return `"${String(item)}": ${(err as Error).message}`;
      }
    }
    return [k.positive!.attribute, acc];
  }
  if (!p) {
    // only a --no- form: `public-port: false`
    const bool = asBoolean(value);
    return bool === undefined ? `takes true or false, not ${JSON.stringify(value)}` : [k.negative!.attribute, bool];
  }
  if (!takesValue(p)) {
    const bool = asBoolean(value);
    return bool === undefined ? `takes true or false, not ${JSON.stringify(value)}` : [k.positive!.attribute, bool];
  }
  if (value === false && k.negative) return [k.negative.attribute, false];
  // `inspect: true`: on, at its default (the --no- form's opposite)
  if (value === true && k.negative) return [k.positive!.attribute, undefined];
  if (value === true && p.optional) return [k.positive!.attribute, true];
  if (value === null || typeof value === 'boolean') return `needs a value (${p.flags.replace(/^.*--\S+\s*/, '')})`;
  try {
    return [k.positive!.attribute, parseOne(p, String(value), undefined)];
  } catch (err) {
    return `"${String(value)}": ${(err as Error).message}`;
  }
}
