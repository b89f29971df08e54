import { resolve } from 'node:path';
import { BurrowError } from '../core/errors.js';
import { DEFAULT_DB_URL, PG_DEFAULT_SCHEMA } from './limits.js';

export type StoreTarget =
  | { readonly backend: 'sqlite'; readonly path: string }
  | {
      readonly backend: 'postgres';
      /** Connection string for `pg`, without burrow's own `schema` parameter. */
      readonly connectionString: string;
      readonly schema: string;
      /** The URL with its password replaced (safe to print and log). */
      readonly display: string;
    };

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** The database URL to use: the flag, else BURROW_DB, else DEFAULT_DB_URL. */
export function resolveDbUrl(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined && flag !== '') return flag;
  const fromEnv = env['BURROW_DB'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return DEFAULT_DB_URL;
}

/**
 * Understand a --db value:
 * `sqlite:./data/burrow.db`, `sqlite:/abs/path.db`, `sqlite:///abs/path.db`, `sqlite::memory:`,
 * a bare file path, or `postgres://user:pass@host:5432/db?schema=burrow` (also `postgresql://`).
 */
export function parseDbUrl(url: string, cwd: string = process.cwd()): StoreTarget {
  const value = url.trim();
  if (value === '' || value === ':memory:' || value === 'sqlite::memory:') {
    return value === '' ? parseDbUrl(DEFAULT_DB_URL, cwd) : { backend: 'sqlite', path: ':memory:' };
  }
  if (/^postgres(ql)?:\/\//i.test(value)) return parsePostgres(value);
  let path: string;
  if (/^sqlite:/i.test(value)) path = value.slice('sqlite:'.length);
  else if (/^file:/i.test(value)) path = value.slice('file:'.length);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new BurrowError(
      'BURROW_ERR_INVALID_CONFIG',
      `--db "${value.split('://')[0]}://…" is not supported: use sqlite:/path/to/file.db or postgres://user@host/db`,
    );
  } else path = value;
  if (path.startsWith('//')) path = path.slice(2);
  if (path === '') {
    throw new BurrowError('BURROW_ERR_INVALID_CONFIG', '--db sqlite: needs a file path, e.g. sqlite:./data/burrow.db');
  }
  return { backend: 'sqlite', path: path === ':memory:' ? path : resolve(cwd, path) };
}

function parsePostgres(value: string): StoreTarget {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new BurrowError('BURROW_ERR_INVALID_CONFIG', '--db is not a valid postgres:// URL');
  }
  const schema = parsed.searchParams.get('schema') ?? PG_DEFAULT_SCHEMA;
  if (!SCHEMA_RE.test(schema)) {
    throw new BurrowError(
      'BURROW_ERR_INVALID_CONFIG',
      `--db ?schema="${schema.slice(0, 80)}" must be lowercase letters, digits and underscores`,
    );
  }
  parsed.searchParams.delete('schema');
  const connectionString = parsed.toString();
  const shown = new URL(parsed.toString());
  if (shown.password !== '') shown.password = '***';
  if (schema !== PG_DEFAULT_SCHEMA) shown.searchParams.set('schema', schema);
  return { backend: 'postgres', connectionString, schema, display: shown.toString() };
}
