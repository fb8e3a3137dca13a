/** A training method's options on the command line: `--method freelb --K 3 --alpha 0.1`. */
import { methodDefinition } from '../adversarial/methods';
import { OptionSpec } from './args';

/** The options of a method as command-line options (one line per option, from its registry entry). */
export function methodOptions(name: string | undefined): Record<string, OptionSpec> {
  if (!name) return {};
  const def = methodDefinition(name); // unknown method: an error listing the known ones
  // no default here: the registry fills in the method's defaults, so only options given on the command line are passed
  return Object.fromEntries(Object.entries(def.options).map(([k, d]) => [k, { kind: d.kind, help: `${def.name}: ${d.help} (default ${JSON.stringify((def.defaults as Record<string, unknown>)[k])})` } as OptionSpec]));
}

/** The --method value, read before the full parse (the method's own options depend on it). */
export function methodArg(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--method') return argv[i + 1];
    if (argv[i].startsWith('--method=')) return argv[i].slice('--method='.length);
  }
  return undefined;
}

