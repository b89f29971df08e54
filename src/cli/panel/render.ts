/** The status panel's lines for a state, a terminal size and a clock: pure (tests call it directly). */
import { RATE_WINDOW_S, type PanelState, type RequestRow } from './state.js';

export interface RenderOptions {
  now: number;
  /** Terminal columns: no line is longer (a wrapped line would break the redraw in place). */
  width: number;
  /** Terminal rows: the last-requests list is cut to fit. */
  height: number;
  /** ANSI colours (off with NO_COLOR). */
  color: boolean;
}

const STYLE = {
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
} as const;
const RESET = '\x1b[0m';
const LABEL_WIDTH = 14;
/** Lines the panel keeps free below itself, so the terminal never scrolls while it redraws. */
const SPARE_ROWS = 1;

type Style = keyof typeof STYLE;

// eslint-disable-next-line no-control-regex -- an ANSI escape sequence starts with ESC
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/y;

/** Cut a line to `width` visible characters (escape sequences kept, colour reset after a cut). */
export function fit(line: string, width: number): string {
  let out = '';
  let visible = 0;
  let i = 0;
  while (i < line.length) {
    ANSI.lastIndex = i;
    const m = ANSI.exec(line);
    if (m) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(line.codePointAt(i)!);
    if (visible >= width) return out.includes('\x1b[') ? out + RESET : out;
    out += ch;
    visible++;
    i += ch.length;
  }
  return out;
}

const seconds = (ms: number): number => Math.max(0, Math.ceil(ms / 1000));

export function renderPanel(s: PanelState, o: RenderOptions): string[] {
  const paint = (style: Style, text: string): string => (o.color ? `${STYLE[style]}${text}${RESET}` : text);
  const row = (label: string, value: string): string => paint('dim', label.padEnd(LABEL_WIDTH)) + value;
  const lines: string[] = [];
  lines.push(`${paint('bold', 'burrow')}  ${paint('dim', '(Ctrl-C to stop)')}`, '');

  const session =
    s.session.state === 'online'
      ? paint('green', 'online')
      : s.session.state === 'closed'
        ? paint('red', 'closed')
        : paint(
            'yellow',
            `reconnecting in ${seconds(s.session.nextAt - o.now)}s (attempt ${s.session.attempt}: ${s.session.reason})`,
          );
  lines.push(row('Session', session));
  lines.push(row('Latency', s.rttMs === undefined ? paint('dim', '-') : `${Math.round(s.rttMs)} ms`));
  const labelWidth = Math.max(0, ...s.tunnels.map((t) => t.label?.length ?? 0));
  s.tunnels.forEach((t, i) => {
    const name = t.label === undefined ? '' : `${paint('bold', t.label.padEnd(labelWidth))}  `;
    lines.push(row(i === 0 ? 'Forwarding' : '', `${name}${paint('cyan', t.url)} -> ${t.local}`));
  });
  if (s.inspector !== undefined) lines.push(row('Inspector', paint('cyan', s.inspector)));
  lines.push('');
  const rate = (r: number): string => `${r.toFixed(2)}/s`;
  lines.push(
    row(
      'Connections',
      `${s.connections.total} total   ${s.connections.open} open   ${rate(s.connectionRate.rate(o.now))}`,
    ),
  );
  lines.push(row('Requests', `${s.requests.total} total   ${rate(s.requestRate.rate(o.now))}`));
  lines.push(row('', paint('dim', `(rates: per second over the last ${RATE_WINDOW_S} s)`)));
  lines.push('', paint('bold', 'Last requests'));
  const room = Math.max(0, o.height - SPARE_ROWS - lines.length);
  if (s.last.length === 0) {
    if (room > 0) lines.push(paint('dim', '  none yet'));
  } else {
    const withTunnel = s.tunnels.length > 1;
    for (const r of s.last.slice(0, room)) lines.push(requestLine(r, o.width, withTunnel, paint));
  }
  return lines.map((l) => fit(l, Math.max(1, o.width - 1)));
}

function requestLine(
  r: RequestRow,
  width: number,
  withTunnel: boolean,
  paint: (style: Style, text: string) => string,
): string {
  const status = String(r.status);
  const colour: Style = r.status >= 500 ? 'red' : r.status >= 400 ? 'yellow' : r.status >= 300 ? 'cyan' : 'green';
  const ms = `${r.durationMs < 10 ? r.durationMs.toFixed(1) : Math.round(r.durationMs)} ms`.padStart(9);
  const tunnel = withTunnel && r.tunnel !== undefined ? `  ${r.tunnel}` : '';
  // method (7) + path + status (3) + ms (9), with gaps
  const pathWidth = Math.max(8, width - 2 - 8 - 2 - 3 - 9 - tunnel.length - 2);
  const path = r.path.length > pathWidth ? `${r.path.slice(0, pathWidth - 1)}…` : r.path.padEnd(pathWidth);
  return `  ${r.method.padEnd(7)} ${path}  ${paint(colour, status)}${ms}${tunnel}`;
}
