/** `${VAR}`, `${VAR:-default}`, and `$$` for a literal dollar. */
const VAR = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replace environment references in every string of a parsed YAML value. An unset variable
 * without a default is a problem at its path (reported through `problem`), never a silent empty.
 */
export function substituteEnv(value: unknown, at: (string | number)[], env: NodeJS.ProcessEnv, problem: (p: (string | number)[], m: string) => void): unknown {
  if (typeof value === 'string') {
    return value.replace(VAR, (match, name: string | undefined, fallback: string | undefined) => {
      if (match === '$$') return '$';
      const v = env[name!];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      if (v === '') return '';
      problem(at, `refers to \${${name}}, which is not set (write \${${name}:-default} to allow it to be missing)`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, [...at, i], env, problem));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, [...at, k], env, problem);
    return out;
  }
  return value;
}

/** Does this string use `${VAR}`? (values taken from the environment are treated as secrets) */
export function refersToEnv(text: string): boolean {
  return /\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}/.test(text);
}
