import { BurrowError } from '../core/errors.js';
import { validateName } from '../server/names.js';

const LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Longest full domain name (RFC 1035). */
export const MAX_DOMAIN_LENGTH = 253;

/**
 * A name that can be reserved or allowed on a token: a tunnel name (`myapp`, validated like any
 * tunnel name) or a full domain (`app.example.com`). Returns it lowercased.
 */
export function normalizeReservableName(input: string): string {
  const name = input.trim().toLowerCase().replace(/\.$/, '');
  if (!name.includes('.')) return validateName(name);
  if (name.length > MAX_DOMAIN_LENGTH || !name.split('.').every((l) => LABEL_RE.test(l))) {
    throw new BurrowError(
      'BURROW_ERR_INVALID_NAME',
      `"${input.slice(0, 80)}" is not a valid domain (labels of a–z, 0–9 and hyphens, ${MAX_DOMAIN_LENGTH} characters at most)`,
    );
  }
  return name;
}

/**
 * A pattern in a token's allowed names: exact (`myapp`), or with one `*` at the start
 * (`*.example.com`) or at the end (`alice-*`). Returns it lowercased.
 */
export function normalizeNamePattern(input: string): string {
  const p = input.trim().toLowerCase();
  const stars = p.split('*').length - 1;
  if (stars === 0) return normalizeReservableName(p);
  if (stars === 1 && (p.startsWith('*') || p.endsWith('*')) && p.length > 1 && /^[a-z0-9.*-]+$/.test(p)) return p;
  throw new BurrowError(
    'BURROW_ERR_INVALID_NAME',
    `--name "${input.slice(0, 80)}": use an exact name, or one * at the start or end (alice-*, *.example.com)`,
  );
}

export function matchesNamePattern(pattern: string, name: string): boolean {
  if (pattern.startsWith('*')) {
    const suffix = pattern.slice(1);
    return name.length > suffix.length && name.endsWith(suffix);
  }
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    return name.length > prefix.length && name.startsWith(prefix);
  }
  return pattern === name;
}
