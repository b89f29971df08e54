/**
 * The CLI's one environment-variable mechanism: every flag is an `Option` declared with commander's
 * `Option.env()` (so `--help` shows `(env: BURROW_…)` the same way everywhere), built by flag().
 *
 * normalizeEnv() runs before every action (a preAction hook in src/cli.ts) and adds what commander
 * lacks: a boolean read from the environment is true only for 1/true/yes/on (commander takes any
 * value, even 0, as true), and the seeds' own variable names (PORT, HOST, LOG_LEVEL …) are read when
 * the BURROW_* one is unset, through the flag's own parser.
 */
import { InvalidArgumentError, Option, type Command } from './commander.js';
import { usageError } from './errors.js';

export interface FlagSpec {
  /** The BURROW_* variable (shown by --help). */
  env: string;
  /** Other names read when `env` is unset, in order (the seeds' names). */
  aliases?: readonly string[];
  /** Parse and validate a value (throw commander's InvalidArgumentError). */
  parse?: (value: string, previous: never) => unknown;
  default?: unknown;
  /** How --help shows the default when it is not the value itself. */
  defaultDescription?: string;
  choices?: readonly string[];
}

const ALIASES = new WeakMap<Option, readonly string[]>();

const TRUE = /^(1|true|yes|on)$/i;

/** A flag with its environment variable(s), parser, default and choices. */
export function flag(flags: string, description: string, spec: FlagSpec): Option {
  const aliases = spec.aliases ?? [];
  let text = description;
  // a default the library applies (not commander): shown the way commander shows its own
  if (spec.default === undefined && spec.defaultDescription !== undefined)
    text += ` (default: ${spec.defaultDescription})`;
  if (aliases.length) text += ` [also env ${aliases.join(', ')}]`;
  const o = new Option(flags, text).env(spec.env);
  if (spec.parse) o.argParser(spec.parse as (value: string, previous: unknown) => unknown);
  if (spec.default !== undefined) o.default(spec.default, spec.defaultDescription);
  if (spec.choices) o.choices(spec.choices);
  if (aliases.length) ALIASES.set(o, aliases);
  return o;
}

function isBoolean(o: Option): boolean {
  return !o.required && !o.optional;
}

/** Apply the environment rules commander lacks (see the file comment) to the command about to run. */
export function normalizeEnv(cmd: Command): void {
  for (const o of cmd.options) {
    const key = o.attributeName();
    const source = cmd.getOptionValueSource(key);
    if (source === 'env' && isBoolean(o) && o.envVar) {
      const on = TRUE.test(process.env[o.envVar] ?? '');
      cmd.setOptionValueWithSource(key, o.negate ? !on : on, 'env');
      continue;
    }
    if (source !== undefined && source !== 'default') continue;
    for (const name of ALIASES.get(o) ?? []) {
      const raw = process.env[name];
      if (raw === undefined || raw === '') continue;
      cmd.setOptionValueWithSource(key, aliasValue(o, name, raw), 'env');
      break;
    }
  }
}

function aliasValue(o: Option, name: string, raw: string): unknown {
  if (isBoolean(o)) return o.negate ? !TRUE.test(raw) : TRUE.test(raw);
  const fix = `Set ${name} to a valid value, or unset it (see \`${o.flags}\` in --help).`;
  if (o.argChoices && !o.argChoices.includes(raw))
    throw usageError(`${name}="${raw}" is not one of ${o.argChoices.join(', ')}`, fix);
  if (!o.parseArg) return raw;
  try {
    return o.parseArg(raw, undefined);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw usageError(`${name}="${raw}": ${err.message}`, fix);
    throw err;
  }
}
