/**
 * Small structural checkers for the deployment examples (no nginx/Caddy/systemd/Docker/TOML
 * libraries needed). Each returns a list of problems; empty means it passes.
 */

/** Fenced code blocks whose info string names a file: ```lang title="examples/deploy/x"``` */
export function titledCodeBlocks(markdown: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```\S*\s+title="([^"]+)"\s*$/.exec(lines[i]!);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j] !== '```') body.push(lines[j++]!);
    if (j >= lines.length) throw new Error(`unclosed code block for ${open[1]}`);
    blocks.set(open[1]!, body.join('\n') + '\n');
    i = j;
  }
  return blocks;
}

/** nginx: balanced braces, every statement ends with ';' or opens/closes a block. */
export function checkNginxStructure(text: string): string[] {
  const problems: string[] = [];
  let depth = 0;
  text.split('\n').forEach((raw, n) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    if (line === '}') depth--;
    else if (line.endsWith('{')) depth++;
    else if (!line.endsWith(';') && !/^'.*'\s+'.*';?$/.test(line)) problems.push(`line ${n + 1}: missing ';': ${line}`);
    if (depth < 0) problems.push(`line ${n + 1}: unbalanced '}'`);
  });
  if (depth !== 0) problems.push(`unbalanced braces (depth ${depth} at end)`);
  return problems;
}

const CADDY_DIRECTIVES: Record<string, ReadonlySet<string>> = {
  global: new Set(['email', 'acme_dns', 'acme_ca', 'admin', 'servers', 'log', 'debug', 'grace_period', 'auto_https']),
  site: new Set([
    'tls',
    'reverse_proxy',
    'encode',
    'log',
    'header',
    'handle',
    'route',
    'respond',
    'redir',
    'request_body',
  ]),
  tls: new Set(['dns', 'protocols', 'ciphers', 'issuer', 'resolvers', 'propagation_timeout', 'propagation_delay']),
  reverse_proxy: new Set([
    'to',
    'flush_interval',
    'stream_close_delay',
    'stream_timeout',
    'transport',
    'header_up',
    'header_down',
    'lb_policy',
    'health_uri',
    'trusted_proxies',
    'request_buffers',
    'response_buffers',
  ]),
  transport: new Set([
    'dial_timeout',
    'read_timeout',
    'write_timeout',
    'keepalive',
    'response_header_timeout',
    'versions',
    'tls',
  ]),
};

/** Caddyfile: balanced braces; known directives in global options, site, tls, reverse_proxy and transport blocks. */
export function checkCaddyfile(text: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  let sites = 0;
  text.split('\n').forEach((raw, n) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const where = `line ${n + 1}`;
    if (line === '}') {
      if (stack.pop() === undefined) problems.push(`${where}: unbalanced '}'`);
      return;
    }
    const opens = line.endsWith('{');
    const words = line.replace(/\s*\{$/, '').split(/\s+/);
    const name = words[0] ?? '';
    if (stack.length === 0) {
      if (line === '{') stack.push('global');
      else if (opens) {
        sites++;
        stack.push('site');
        for (const addr of words) if (!/^[\w.*:/-]+,?$/.test(addr)) problems.push(`${where}: bad site address ${addr}`);
      } else problems.push(`${where}: directive outside a block: ${line}`);
      return;
    }
    const context = stack[stack.length - 1]!;
    const known = CADDY_DIRECTIVES[context];
    if (known === undefined) {
      // Inside a provider's block (e.g. dns cloudflare { … }): free-form.
      if (opens) stack.push('free');
      return;
    }
    if (!known.has(name)) problems.push(`${where}: unknown directive "${name}" in ${context} block`);
    if (opens) stack.push(name in CADDY_DIRECTIVES ? name : 'free');
  });
  if (stack.length !== 0) problems.push(`unbalanced braces: ${stack.length} block(s) not closed`);
  if (sites === 0) problems.push('no site block');
  return problems;
}

export type Ini = Map<string, [key: string, value: string][]>;

/** systemd unit file → sections of key/value pairs (repeated keys kept in order). */
export function parseUnit(text: string): { ini: Ini; problems: string[] } {
  const ini: Ini = new Map();
  const problems: string[] = [];
  let section: [string, string][] | undefined;
  text.split('\n').forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = [];
      ini.set(header[1]!, section);
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!kv) return problems.push(`line ${n + 1}: not Key=Value: ${line}`);
    if (!section) return problems.push(`line ${n + 1}: key outside a section`);
    section.push([kv[1]!, kv[2]!]);
  });
  return { ini, problems };
}

export function unitValues(ini: Ini, section: string, key: string): string[] {
  return (ini.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

const DOCKER_INSTRUCTIONS = new Set([
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
]);

export interface DockerInstruction {
  op: string;
  args: string;
  line: number;
}

/** Dockerfile → instructions (continuation lines joined); unknown instructions are problems. */
export function parseDockerfile(text: string): { instructions: DockerInstruction[]; problems: string[] } {
  const instructions: DockerInstruction[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const start = i + 1;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1).trimEnd() + ' ' + lines[++i]!.trim();
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) {
      problems.push(`line ${start}: not an instruction: ${line}`);
      continue;
    }
    const op = m[1]!.toUpperCase();
    if (!DOCKER_INSTRUCTIONS.has(op)) problems.push(`line ${start}: unknown instruction ${m[1]}`);
    instructions.push({ op, args: m[2]!, line: start });
  }
  return { instructions, problems };
}

export type Toml = Map<string, Map<string, string>>;

/**
 * A TOML subset (what fly.toml uses): comments, [table], [[array.of.tables]], key = value with
 * strings, numbers, booleans and one-line arrays. Array tables get an index suffix (#0, #1…).
 */
export function parseTomlish(text: string): { tables: Toml; problems: string[] } {
  const tables: Toml = new Map([['', new Map()]]);
  const problems: string[] = [];
  const counts = new Map<string, number>();
  let current = tables.get('')!;
  text.split('\n').forEach((raw, n) => {
    const line = raw.replace(/^(([^"#]|"[^"]*")*)#.*$/, '$1').trim();
    if (line === '') return;
    const where = `line ${n + 1}`;
    let m = /^\[\[([\w.-]+)\]\]$/.exec(line);
    if (m) {
      const i = counts.get(m[1]!) ?? 0;
      counts.set(m[1]!, i + 1);
      current = new Map();
      tables.set(`${m[1]}#${i}`, current);
      return;
    }
    m = /^\[([\w.-]+)\]$/.exec(line);
    if (m) {
      if (tables.has(m[1]!)) problems.push(`${where}: table [${m[1]}] defined twice`);
      current = new Map();
      tables.set(m[1]!, current);
      return;
    }
    m = /^([\w-]+)\s*=\s*(.+)$/.exec(line);
    if (!m) return problems.push(`${where}: not key = value: ${line}`);
    const [, key, value] = m as unknown as [string, string, string];
    if (current.has(key)) problems.push(`${where}: duplicate key ${key}`);
    if (!/^("[^"\\]*"|-?\d+(\.\d+)?|true|false|\[.*\])$/.test(value))
      problems.push(`${where}: bad value for ${key}: ${value}`);
    current.set(key, value.startsWith('"') ? value.slice(1, -1) : value);
  });
  return { tables, problems };
}
