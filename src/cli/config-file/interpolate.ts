/**
 * `${NAME}` in a value of the config file: the environment variable NAME. `${NAME:-text}` gives
 * `text` when NAME is unset or empty; `$${` is a literal `${`. An unset variable without a default is
 * a problem of the file (a token left empty would fail later, and less clearly).
 */

const REF = /\$\$\{|\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface Interpolated {
  value: string;
  /** What went wrong, one message per bad reference. */
  problems: string[];
}

export function interpolate(text: string, env: NodeJS.ProcessEnv = process.env): Interpolated {
  const problems: string[] = [];
  const value = text.replace(REF, (whole, inner: string | undefined) => {
    if (inner === undefined) return '${'; // $${
    const sep = inner.indexOf(':-');
    const name = sep === -1 ? inner : inner.slice(0, sep);
    if (!NAME.test(name)) {
      problems.push(
        `"${whole}" is not a variable reference: write \${NAME} or \${NAME:-default} (letters, digits, _), or $\${ for a literal \${`,
      );
      return whole;
    }
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (sep !== -1) return inner.slice(sep + 2);
    problems.push(
      `the environment variable ${name} is not set (\${${name}}); set it, or give a default: \${${name}:-…}`,
    );
    return '';
  });
  return { value, problems };
}
