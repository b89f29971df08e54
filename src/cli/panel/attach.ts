/**
 * attachPanel(): the live status panel of `burrow http` and `burrow start` when stdout is a terminal.
 * One call after the tunnel (or the group) is open: it listens to the agent (session state, visitor
 * connections, latency) and the tunnels (requests), and redraws the panel in place. With --json, in
 * a pipe or on a dumb terminal it does nothing: those keep the line-per-event output.
 */
import type { Tunnel } from '../../client/burrow/open-tunnel.js';
import type { TunnelGroup } from '../../client/burrow/open-tunnels.js';
import type { RequestEvent } from '../../wire/mux/messages.js';
import type { Inspector } from '../../client/inspector/inspector.js';
import type { ExchangeSummary } from '../../client/inspector/views.js';
import { renderPanel } from './render.js';
import { PanelState, type PanelTunnel } from './state.js';
import { LiveRegion } from './terminal.js';

/** The shortest time between two redraws, in ms (a burst of requests is one redraw). */
export const PANEL_REDRAW_MS = 100;
/** The panel is redrawn at least this often, in ms (rates, the reconnect countdown, the latency). */
export const PANEL_TICK_MS = 1000;

/** Whether the panel shows: stdout is a terminal (not dumb) and --json is off. */
export function panelWanted(o: { json?: boolean | undefined }): boolean {
  return o.json !== true && process.stdout.isTTY === true && process.env['TERM'] !== 'dumb';
}

/** Colours unless NO_COLOR is set (https://no-color.org: any non-empty value). */
function colorWanted(): boolean {
  return !process.env['NO_COLOR'];
}

export interface PanelOptions {
  json?: boolean | undefined;
  /** The request inspector's URL (default: those of the tunnels' inspectors). */
  inspector?: string | undefined;
}

/** A running panel; it stops by itself when the tunnel closes. */
export interface Panel {
  stop(): void;
}

/** The tunnels to show, read at every redraw (a reconnect may change an address). */
function tunnelsOf(source: Tunnel | TunnelGroup): PanelTunnel[] {
  if (!('members' in source)) return [{ label: undefined, url: source.url, local: localOf(source) }];
  return source.members.map((m) =>
    m.kind === 'http'
      ? { label: m.name, url: m.tunnel.url, local: localOf(m.tunnel) }
      : {
          label: m.name,
          url: m.tunnel.tcpAddress ?? m.tunnel.wsUrl ?? '',
          local: `${m.tunnel.target.host}:${m.tunnel.target.port}`,
        },
  );
}

function localOf(t: Tunnel): string {
  return `${t.target.https ? 'https' : 'http'}://${t.target.host}:${t.target.port}`;
}

/** Show the panel for an open tunnel or group (undefined when it is not wanted: see panelWanted). */
export function attachPanel(source: Tunnel | TunnelGroup, options: PanelOptions = {}): Panel | undefined {
  if (!panelWanted(options)) return undefined;
  const now = (): number => Date.now();
  const state = new PanelState(now());
  const region = new LiveRegion(process.stdout, process.stderr);
  const color = colorWanted();
  const draw = (): void => {
    scheduled = undefined;
    state.tunnels.splice(0, state.tunnels.length, ...tunnelsOf(source));
    state.rttMs = source.agent.rttMs ?? state.rttMs;
    region.draw(renderPanel(state, { now: now(), width: region.columns, height: region.rows, color }));
  };
  let scheduled: NodeJS.Timeout | undefined;
  const soon = (): void => {
    scheduled ??= setTimeout(draw, PANEL_REDRAW_MS);
  };

  const agent = source.agent;
  const onConnected = (): void => {
    state.session = { state: 'online' };
    soon();
  };
  const onDisconnected = (e: { message: string }): void => {
    state.session = { state: 'reconnecting', attempt: 0, nextAt: now(), reason: e.message };
    soon();
  };
  const onRetry = (r: { attempt: number; delayMs: number; error: { message: string } }): void => {
    state.session = { state: 'reconnecting', attempt: r.attempt, nextAt: now() + r.delayMs, reason: r.error.message };
    soon();
  };
  const onStream = (_spec: unknown, stream: { once(event: 'close', fn: () => void): unknown }): void => {
    state.connectionOpened(now());
    stream.once('close', () => {
      state.connectionClosed();
      soon();
    });
    soon();
  };
  agent.on('connected', onConnected);
  agent.on('disconnected', onDisconnected);
  agent.on('reconnecting', onRetry);
  agent.on('stream', onStream);
  // each request once: from the tunnel's inspector when it has one (it parses them on this side),
  // else from the server's request events
  const http: { tunnel: Tunnel; label: string | undefined }[] =
    'members' in source
      ? source.members.flatMap((m) => (m.kind === 'http' ? [{ tunnel: m.tunnel, label: m.name }] : []))
      : [{ tunnel: source, label: undefined }];
  const record = (
    r: { method: string; path: string; status: number; durationMs: number },
    label: string | undefined,
  ): void => {
    state.request({ method: r.method, path: r.path, status: r.status, durationMs: r.durationMs, tunnel: label }, now());
    soon();
  };
  const unlisten: (() => void)[] = [];
  const inspectors = new Set<Inspector>();
  for (const { tunnel, label } of http) {
    if (tunnel.inspector) inspectors.add(tunnel.inspector);
    else {
      const fn = (r: RequestEvent): void => record(r, label);
      tunnel.on('request', fn);
      unlisten.push(() => tunnel.off('request', fn));
    }
  }
  for (const inspector of inspectors) {
    const fn = (ex: ExchangeSummary): void => {
      if (ex.replayOf !== null || ex.status === null) return; // a replay did not come through the tunnel
      const t = http.find((h) => h.tunnel.inspector === inspector && h.tunnel.name === ex.tunnel);
      record({ method: ex.method, path: ex.path, status: ex.status, durationMs: ex.durationMs ?? 0 }, t?.label);
    };
    inspector.on('exchange', fn);
    unlisten.push(() => inspector.off('exchange', fn));
  }
  state.inspector = options.inspector ?? ([...inspectors].map((i) => i.url).join(', ') || undefined);

  const tick = setInterval(draw, PANEL_TICK_MS);
  tick.unref();
  region.start();
  draw();

  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(tick);
    clearTimeout(scheduled);
    agent.off('connected', onConnected);
    agent.off('disconnected', onDisconnected);
    agent.off('reconnecting', onRetry);
    agent.off('stream', onStream);
    for (const off of unlisten) off();
    process.off('exit', stop);
    state.session = { state: 'closed' };
    draw();
    region.stop();
  };
  source.once('close', stop);
  process.once('exit', stop); // the cursor is shown again whatever ends the process
  return { stop };
}

/**
 * What `burrow http` and `burrow start` show once their tunnels are ready: with --qr a QR code of
 * each public HTTP URL (not with --json), then, on a terminal, the live panel.
 */
export async function showPanel(
  source: Tunnel | TunnelGroup,
  f: { json?: boolean | undefined; qr?: boolean | undefined },
  out: (line: string) => void = (l) => void process.stdout.write(l + '\n'),
): Promise<Panel | undefined> {
  if (f.qr && f.json !== true) {
    const { qrLines } = await import('./qr.js');
    const urls =
      'members' in source
        ? source.members.flatMap((m) => (m.kind === 'http' ? [`${m.name}: ${m.tunnel.url}`] : []))
        : [source.url];
    for (const u of urls) out([u, ...qrLines(u.replace(/^[^:]+: /, ''))].join('\n'));
  }
  return attachPanel(source, { json: f.json });
}
