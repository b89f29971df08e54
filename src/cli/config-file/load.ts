/**
 * `burrow start`'s config file (burrow.yml): read, parse (YAML, through the `yaml` package), check
 * every key and value — each problem with its line, all of them at once — and turn each tunnel into
 * the options openTunnels() takes, through the same functions `burrow http` and `burrow tcp` use for
 * their flags (httpTunnelOptions, tcpTunnelOptions). The file speaks the CLI's words:
 *
 *   server: https://tunnels.example.com
 *   token: ${BURROW_TOKEN}
 *   tunnels:
 *     web: { http: 3000, subdomain: myapp }
 *     db:  { tcp: 5432 }
 */
import { readFile, stat } from 'node:fs/promises';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type YAMLMap,
} from 'yaml';
import { isBurrowError } from '../../core/errors.js';
import { MAX_TUNNELS_PER_SESSION } from '../../wire/mux/limits.js';
import type { TunnelEntry } from '../../client/burrow/open-tunnels.js';
import { usageError } from '../errors.js';
import { parseServerUrl } from '../util.js';
import { httpTunnelOptions, type HttpFlags } from '../commands/http.js';
import { tcpTunnelOptions, type TcpFlags } from '../commands/tcp.js';
import { FIRST_CONNECT_TIMEOUT_MS } from '../../client/burrow/limits.js';
import { DEFAULT_SERVER } from '../commands/connecting.js';
import { interpolate } from './interpolate.js';
import { DEFAULT_CONFIG_FILE, MAX_CONFIG_FILE_BYTES } from './limits.js';
import { didYouMean } from './suggest.js';
import {
  keyValue,
  notATunnelKey,
  TUNNEL_KINDS,
  tunnelKeys,
  type FileValue,
  type FileTunnelKind,
} from './tunnel-keys.js';

/** A tunnel's name in the file: what `burrow start NAME` and the `tunnel` field of --json events carry. */
const TUNNEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const TOP_KEYS = ['server', 'token', 'tunnels'] as const;

/** One problem of the file, where it is. */
export interface Problem {
  line: number;
  col: number;
  message: string;
}

/** The file has problems: every one of them, in file order. */
export class ConfigFileError extends Error {
  readonly file: string;
  readonly problems: readonly Problem[];
  constructor(file: string, problems: Problem[]) {
    super(`${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
    this.file = file;
    this.problems = [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
  }

  /** `file:line:col: message`, one line per problem (the form editors and compilers use). */
  lines(): string[] {
    return this.problems.map((p) => `${this.file}:${p.line}:${p.col}: ${p.message}`);
  }
}

/** A tunnel of the file, ready for openTunnels(). */
export interface FileTunnel {
  name: string;
  kind: FileTunnelKind;
  /** The kind key's value: `3000`, `http://localhost:3000`, `5432` … */
  target: string;
  entry: TunnelEntry;
  /** `--print-requests` asked for this tunnel. */
  printRequests: boolean;
}

export interface ConfigFile {
  file: string;
  /** From the file (flags and variables of `burrow start` win over it). */
  server: string | undefined;
  token: string | undefined;
  tunnels: FileTunnel[];
}

/** What the command line says over the file. */
export interface ConfigOverrides {
  server?: string | undefined;
  token?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/**
 * Read and check a config file. Throws ConfigFileError with every problem, or a usage error when the
 * file cannot be read at all.
 */
export async function loadConfigFile(file: string, overrides: ConfigOverrides = {}): Promise<ConfigFile> {
  const fix = `Give the file with --config FILE (or BURROW_CONFIG); \`burrow config init\` writes a starter ${DEFAULT_CONFIG_FILE}.`;
  let text: string;
  try {
    const st = await stat(file);
    if (st.isFile() && st.size > MAX_CONFIG_FILE_BYTES)
      throw usageError(
        `${file} is ${st.size} bytes: larger than MAX_CONFIG_FILE_BYTES (${MAX_CONFIG_FILE_BYTES})`,
        fix,
      );
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isBurrowError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message;
    throw usageError(`cannot read the config file ${file}: ${why}`, fix);
  }
  return parseConfigFile(text, file, overrides);
}

/** Check a config file's text (see loadConfigFile). */
export async function parseConfigFile(
  text: string,
  file: string,
  overrides: ConfigOverrides = {},
): Promise<ConfigFile> {
  const env = overrides.env ?? process.env;
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  const at = (node: Node | null | undefined, message: string): void => {
    const { line, col } = lc.linePos(node?.range?.[0] ?? 0);
    problems.push({ line, col, message });
  };
  // a syntax error often brings more on its line: the first one of each line says it
  const lines = new Set<number>();
  for (const e of doc.errors) {
    const { line, col } = lc.linePos(e.pos[0]);
    if (lines.has(line)) continue;
    lines.add(line);
    const hint =
      /flow-map-start|flow-map-end/.test(e.message) && /\$\{/.test(text)
        ? ' (quote a ${VAR} inside { }: "${VAR}")'
        : '';
    problems.push({
      line,
      col,
      message: `YAML: ${e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '')}${hint}`,
    });
  }
  if (problems.length) throw new ConfigFileError(file, problems);

  const config: ConfigFile = { file, server: undefined, token: undefined, tunnels: [] };
  const root = resolve(doc, doc.contents);
  if (!isMap(root)) {
    at(root, `the file must be a mapping with ${TOP_KEYS.join(', ')} (\`burrow config init\` writes an example)`);
    throw new ConfigFileError(file, problems);
  }
  /** A scalar's value with ${ENV} replaced (problems reported at the node). */
  const scalar = (node: Node | null): FileValue => {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v === 'string') {
      const r = interpolate(v, env);
      for (const p of r.problems) at(node, p);
      return r.value;
    }
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
    return null;
  };

  let tunnelsNode: Node | null = null;
  for (const pair of root.items) {
    const keyNode = pair.key as Node | null;
    const key = isScalar(keyNode) ? String(keyNode.value) : '';
    const value = resolve(doc, pair.value as Node | null);
    if (key === 'server' || key === 'token') {
      if (!isScalar(value) || value.value === null || typeof value.value === 'boolean') {
        at(value ?? keyNode, `${key}: needs a text value`);
        continue;
      }
      const v = String(scalar(value));
      if (key === 'token') config.token = v;
      else {
        try {
          config.server = parseServerUrl(v);
        } catch (err) {
          at(value, `server: ${(err as Error).message}`);
        }
      }
    } else if (key === 'tunnels') tunnelsNode = value;
    else {
      const hint =
        notATunnelKey(key) === undefined && TUNNEL_KINDS.includes(key as FileTunnelKind)
          ? ' (tunnels go under `tunnels:`, each with a name)'
          : didYouMean(key, TOP_KEYS);
      at(keyNode, `unknown key "${key}"${hint}; the file's keys are ${TOP_KEYS.join(', ')}`);
    }
  }
  if (tunnelsNode === null) at(root, 'no `tunnels:` — the file lists its tunnels under `tunnels:`');
  else if (!isMap(tunnelsNode) || tunnelsNode.items.length === 0)
    at(tunnelsNode, '`tunnels:` must map names to tunnels, e.g. `web: { http: 3000 }`');
  else if (tunnelsNode.items.length > MAX_TUNNELS_PER_SESSION)
    at(
      tunnelsNode,
      `${tunnelsNode.items.length} tunnels: one connection carries at most MAX_TUNNELS_PER_SESSION (${MAX_TUNNELS_PER_SESSION})`,
    );

  const server = overrides.server ?? config.server ?? DEFAULT_SERVER;
  const token = overrides.token ?? config.token;
  const pending: Promise<void>[] = [];
  if (isMap(tunnelsNode)) {
    for (const pair of tunnelsNode.items) {
      const nameNode = pair.key as Node | null;
      const name = isScalar(nameNode) ? String(nameNode.value) : '';
      if (!TUNNEL_NAME.test(name)) {
        at(
          nameNode,
          `"${name}" is not a tunnel name: 1–63 of letters, digits, ".", "_", "-", starting with a letter or digit`,
        );
        continue;
      }
      const body = resolve(doc, pair.value as Node | null);
      if (!isMap(body)) {
        at(body ?? nameNode, `tunnels.${name}: needs its kind and target, e.g. \`${name}: { http: 3000 }\``);
        continue;
      }
      const tunnel = readTunnel(doc, name, nameNode, body, { at, scalar, problemCount: () => problems.length });
      if (!tunnel) continue;
      const { kind, target, flags, targetNode } = tunnel;
      // the command's own flags → options path: the target and the values' combinations are checked there
      pending.push(
        (kind === 'http'
          ? httpTunnelOptions(target, {
              ...flags,
              server,
              token,
              connectTimeout: FIRST_CONNECT_TIMEOUT_MS,
            } as HttpFlags).then((o) => entry(name, 'http', o))
          : tcpTunnelOptions(target, {
              ...flags,
              server,
              token,
              connectTimeout: FIRST_CONNECT_TIMEOUT_MS,
            } as TcpFlags).then((o) => entry(name, 'tcp', o))
        ).then(
          (e) => {
            config.tunnels.push({ name, kind, target, entry: e, printRequests: flags['printRequests'] === true });
          },
          (err: unknown) => {
            if (!isBurrowError(err)) throw err;
            const detail = err.detail ?? err.message;
            at(/target|port|local service|host/i.test(err.fix) ? targetNode : nameNode, `tunnels.${name}: ${detail}`);
          },
        ),
      );
    }
  }
  await Promise.all(pending);
  if (problems.length) throw new ConfigFileError(file, problems);
  // in file order (the checks above finish in any order)
  const order = new Map(
    (isMap(tunnelsNode) ? tunnelsNode.items : []).map((p, i) => [isScalar(p.key) ? String(p.key.value) : '', i]),
  );
  config.tunnels.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  return config;
}

/** The openTunnels() entry of a tunnel: its command's options less the connection's. */
function entry(name: string, kind: FileTunnelKind, o: { server?: string; token?: string }): TunnelEntry {
  const { server: _s, token: _t, ...options } = o;
  return { kind, name, options } as TunnelEntry;
}

interface Reporters {
  at: (node: Node | null | undefined, message: string) => void;
  problemCount: () => number;
  scalar: (node: Node | null) => FileValue;
}

/** A tunnel entry's kind key, target and flags (attribute → parsed value), or undefined after problems. */
function readTunnel(
  doc: Document,
  name: string,
  nameNode: Node | null,
  body: YAMLMap,
  { at, scalar, problemCount }: Reporters,
): { kind: FileTunnelKind; target: string; targetNode: Node | null; flags: Record<string, unknown> } | undefined {
  const kinds = body.items.filter(
    (p) => isScalar(p.key) && TUNNEL_KINDS.includes(String(p.key.value) as FileTunnelKind),
  );
  if (kinds.length !== 1) {
    at(
      kinds.length ? (kinds[1]!.key as Node) : nameNode,
      kinds.length
        ? `tunnels.${name}: one kind per tunnel (http or tcp), not ${kinds.length}`
        : `tunnels.${name}: no kind — give \`http: <port|url>\` or \`tcp: <port>\``,
    );
  }
  const kind = kinds.length ? (String((kinds[0]!.key as { value: unknown }).value) as FileTunnelKind) : undefined;
  let target: string | undefined;
  let targetNode: Node | null = null;
  const flags: Record<string, unknown> = {};
  for (const pair of body.items) {
    const keyNode = pair.key as Node | null;
    const key = isScalar(keyNode) ? String(keyNode.value) : '';
    const value = resolve(doc, pair.value as Node | null);
    if (TUNNEL_KINDS.includes(key as FileTunnelKind)) {
      if (key !== kind) continue;
      targetNode = value;
      const before = problemCount();
      const v = isScalar(value) ? scalar(value) : undefined;
      if (problemCount() > before) continue;
      if (typeof v === 'string' || typeof v === 'number') target = String(v);
      else {
        at(value ?? keyNode, `tunnels.${name}.${key}: needs the local service: a port, host:port or URL`);
      }
      continue;
    }
    if (kind === undefined) continue;
    const keys = tunnelKeys(kind);
    const k = keys.get(key);
    if (!k) {
      const why = notATunnelKey(key);
      at(
        keyNode,
        why
          ? `tunnels.${name}: "${key}" is not a key of a tunnel: ${why}`
          : `tunnels.${name}: unknown key "${key}" for a${kind === 'http' ? 'n' : ''} ${kind} tunnel${didYouMean(key, keys.keys())}`,
      );
      continue;
    }
    let raw: FileValue | FileValue[];
    if (isSeq(value)) raw = value.items.map((item) => scalar(resolve(doc, item as Node | null)));
    else if (isScalar(value)) raw = scalar(value);
    else {
      at(value ?? keyNode, `tunnels.${name}.${key}: takes a value, not a mapping`);
      continue;
    }
    const r = keyValue(k, raw);
    if (typeof r === 'string') {
      at(value ?? keyNode, `tunnels.${name}.${key}: ${r}`);
    } else flags[r[0]] = r[1];
  }
  if (kind === undefined || target === undefined) return undefined;
  // a key's problem leaves the key out: the target and the other keys are still checked together
  return { kind, target, targetNode, flags };
}

/** An alias (`*anchor`) → the node it names. */
function resolve(doc: Document, node: Node | null | undefined): Node | null {
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? null;
  return node ?? null;
}
