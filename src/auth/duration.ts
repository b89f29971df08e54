import { BurrowError } from '../core/errors.js';
import { DURATION_FORMS, parseDuration as parseCoreDuration } from '../core/duration.js';

/**
 * A token lifetime (`--expires`, the admin API's `"expires"`): any duration of core/duration.ts
 * (`30d`, `12h`, `90m`, `45s`, `2w`, `1y`, …) → milliseconds, `never` → null. Zero is refused: a
 * token that is expired when made is a mistake. Throws BURROW_ERR_BAD_REQUEST naming the forms.
 */
export function parseDuration(text: string, flag = '--expires'): number | null {
  const ms = parseCoreDuration(text, flag);
  if (ms === 0)
    throw new BurrowError(
      'BURROW_ERR_BAD_REQUEST',
      `${flag} "${text.slice(0, 40)}" must be ${DURATION_FORMS}, more than 0`,
    );
  return ms;
}
