/** "Did you mean …?" for a key the file does not know. */

/** Edits (insert, delete, replace, swap of two neighbours) between two words. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known word closest to `word` (case and `_`/`-` ignored), when it is close enough to be the one
 * meant: at most a third of its letters differ (and at most 3), or one starts with the other.
 */
export function closest(word: string, known: Iterable<string>): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/_/g, '-');
  const w = norm(word);
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const n = norm(k);
    const dist = n === w ? 0 : n.startsWith(w) || w.startsWith(n) ? 1 : distance(w, n);
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return bestD <= Math.min(3, Math.max(1, Math.floor(w.length / 3))) ? best : undefined;
}

/** ` (did you mean "x"?)`, or nothing. */
export function didYouMean(word: string, known: Iterable<string>): string {
  const k = closest(word, known);
  return k === undefined ? '' : ` (did you mean "${k}"?)`;
}
