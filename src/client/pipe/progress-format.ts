/** Pure formatting of transfer progress for terminals (the CLI prints; this only builds strings). */

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

export interface ProgressLine {
  bytes: number;
  /** Known total, if any. */
  total: number | undefined;
  elapsedMs: number;
  /** Terminal columns available. */
  columns?: number;
  label?: string;
  /** Bytes per second to show (default: bytes / elapsed). */
  rate?: number;
  /** Seconds left to show (default: from the rate and the total). */
  eta?: number | undefined;
}

/** `label [#####-----]  45%  12.3 MiB / 27.0 MiB  5.1 MiB/s  ETA 3s` (bar only with a known total). */
export function formatProgress(p: ProgressLine): string {
  const rate = p.rate ?? (p.elapsedMs > 0 ? (p.bytes * 1000) / p.elapsedMs : 0);
  const parts: string[] = [];
  if (p.label) parts.push(p.label);
  if (p.total !== undefined && p.total > 0) {
    const frac = Math.min(1, p.bytes / p.total);
    const width = Math.max(10, Math.min(30, (p.columns ?? 80) - 60));
    const filled = Math.round(frac * width);
    parts.push(
      `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`,
      `${String(Math.floor(frac * 100)).padStart(3)}%`,
    );
    parts.push(`${formatBytes(p.bytes)} / ${formatBytes(p.total)}`);
    parts.push(`${formatBytes(Math.round(rate))}/s`);
    const eta = 'eta' in p ? p.eta : rate > 0 ? (p.total - p.bytes) / rate : undefined;
    parts.push(`ETA ${eta === undefined ? '--' : formatDuration(eta)}`);
  } else {
    parts.push(formatBytes(p.bytes), `${formatBytes(Math.round(rate))}/s`, formatDuration(p.elapsedMs / 1000));
  }
  return parts.join('  ');
}
