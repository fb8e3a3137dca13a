/**
 * A small, strict argument parser: `--name value`, `--name=value`, boolean `--flag`, positionals.
 * Each option is defined once: its type, help, default (shown by --help, filled in when absent) and
 * check (applied before any work starts). Unknown options are an error listing the known ones.
 */
export type OptionKind = 'string' | 'number' | 'boolean';

/** Checks of a number option. */
export type OptionCheck = 'positive-int' | 'non-negative-int' | 'int' | 'positive' | 'non-negative' | 'fraction';

export interface OptionSpec {
  kind: OptionKind;
  help: string;
  /** Filled in when the option is absent, and shown by --help. */
  default?: string | number | boolean;
  check?: OptionCheck;
}

const CHECKS: Record<OptionCheck, [(n: number) => boolean, string]> = {
  'positive-int': [(n) => Number.isInteger(n) && n > 0, 'a positive integer'],
  'non-negative-int': [(n) => Number.isInteger(n) && n >= 0, 'an integer >= 0'],
  int: [(n) => Number.isInteger(n), 'an integer'],
  positive: [(n) => n > 0, 'a number > 0'],
  'non-negative': [(n) => n >= 0, 'a number >= 0'],
  fraction: [(n) => n >= 0 && n <= 1, 'a number in [0, 1]'],
};

export interface ParsedArgs {
  options: Record<string, string | number | boolean>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>, command: string): ParsedArgs {
  const all: Record<string, OptionSpec> = { ...spec, backend: { kind: 'string', help: 'tfjs backend' } };
  const options: Record<string, string | number | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const s = all[name];
    if (!s) {
      throw new Error(`advlm ${command}: unknown option --${name}. Known options: ${Object.keys(all).map((k) => `--${k}`).join(', ')}`);
    }
    let raw: string | undefined;
    if (s.kind === 'boolean') {
      raw = eq >= 0 ? a.slice(eq + 1) : 'true';
      if (raw !== 'true' && raw !== 'false') throw new Error(`advlm ${command}: --${name} takes no value (or =true/=false)`);
      options[name] = raw === 'true';
      continue;
    }
    raw = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new Error(`advlm ${command}: --${name} needs a value (${s.help})`);
    if (s.kind === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new Error(`advlm ${command}: --${name} must be a number, got '${raw}'`);
      if (s.check && !CHECKS[s.check][0](n)) throw new Error(`advlm ${command}: --${name} must be ${CHECKS[s.check][1]}, got ${raw} (${s.help})`);
      options[name] = n;
    } else options[name] = raw;
  }
  for (const [name, s] of Object.entries(all)) if (options[name] === undefined && s.default !== undefined) options[name] = s.default;
  return { options, positionals };
}

export function helpText(command: string, summary: string, spec: Record<string, OptionSpec>): string {
  const lines = Object.entries(spec).map(([k, s]) => `  --${k}${s.kind === 'boolean' ? '' : ` <${s.kind}>`}`.padEnd(28) + s.help + (s.default !== undefined && s.kind !== 'boolean' ? ` (default ${s.default})` : ''));
  return `advlm ${command}: ${summary}\n\noptions:\n${lines.join('\n')}\n  --backend <name>`.padEnd(0) + '\n';
}
