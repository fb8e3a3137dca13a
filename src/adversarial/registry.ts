/**
 * The method registry: each method file defines itself once with `defineMethod` (name, one-line
 * summary, citation, which objectives it trains, default config, one documented option per config
 * key); the registry validates configs before any work starts and rebuilds a method from
 * `(name, JSON config)`. Import methods through `src/adversarial/methods.ts`, which loads every
 * method file so that the registry is complete.
 */
import { Method, MethodContext, MethodSpec, MethodStep, Objective, OptionDoc, TaskKind } from './method';

export interface MethodDefinition<C extends object> {
  name: string;
  summary: string;
  citation?: string;
  objectives: readonly Objective[];
  /** The kinds of task it can fine-tune, if not every kind (the fine-tuning config checks this up front). */
  taskKinds?: readonly TaskKind[];
  defaults: C;
  options: { [K in keyof C]: OptionDoc };
  /** Checks across options (after each option's own checks); throws with a message that says what to change. */
  validate?(config: C): void;
  /**
   * Why this method (with this config) cannot share a minibatch with data-parallel workers
   * (src/train/data_parallel.ts), or undefined if it can. The CLI reads it before the backend starts,
   * to choose the default number of workers.
   */
  singleWorker?(config: C): string | undefined;
  makeStep(config: C, context: MethodContext): MethodStep;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const REGISTRY = new Map<string, MethodDefinition<any>>();

/**
 * Throws unless the method fine-tunes tasks of this kind (`taskKinds`, absent: every kind). The
 * fine-tuning config calls it before any work; `makeStep` calls it again for callers that build
 * steps themselves.
 */
export function checkTaskKind(method: { name: string; taskKinds?: readonly TaskKind[] }, kind: TaskKind, taskName?: string): void {
  if (method.taskKinds && !method.taskKinds.includes(kind)) {
    throw new Error(`method '${method.name}' fine-tunes ${method.taskKinds.join(' and ')} tasks only; ${taskName ?? 'this'} is a ${kind} task`);
  }
}

/** Registers a method and returns its constructor: `freelb({ K: 3 })`. */
export function defineMethod<C extends object>(def: MethodDefinition<C>): (config?: Partial<C>) => Method<C> {
  if (REGISTRY.has(def.name)) throw new Error(`a method named '${def.name}' is already registered`);
  for (const k of Object.keys(def.defaults)) if (!(k in def.options)) throw new Error(`method '${def.name}': option '${k}' has no documentation`);
  REGISTRY.set(def.name, def);
  return (config = {}) => buildMethod(def, config as Record<string, unknown>);
}

/** Names of the registered methods. */
export function methodNames(): string[] {
  return [...REGISTRY.keys()];
}

export function methodDefinition(name: string): MethodDefinition<object> {
  const def = REGISTRY.get(name);
  if (!def) throw new Error(`unknown method '${name}'; known methods: ${methodNames().join(', ')}`);
  return def;
}

/** Rebuilds a method from its name and JSON config (unknown names, unknown options and bad values are errors). */
export function methodFromJson(name: string, config: Record<string, unknown> = {}): Method {
  return buildMethod(methodDefinition(name), config) as unknown as Method;
}

/** A method given as a value, as JSON, or by name alone. */
export function resolveMethod(m: Method | MethodSpec | string | undefined, fallback = 'vanilla'): Method {
  if (m === undefined) return methodFromJson(fallback);
  if (typeof m === 'string') return methodFromJson(m);
  if ('makeStep' in m) return methodFromJson(m.name, m.config as Record<string, unknown>); // re-validated, same result
  return methodFromJson(m.name, m.config ?? {});
}

/** The JSON form of a method (for identities, records and workers). */
export function methodSpec(m: Method): Required<MethodSpec> {
  return { name: m.name, config: { ...(m.config as Record<string, unknown>) } };
}

function checkOption(method: string, key: string, value: unknown, doc: OptionDoc): void {
  const where = `method '${method}', option ${key}`;
  if (doc.kind === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${where} must be a finite number, got ${JSON.stringify(value)} (${doc.help})`);
    if (doc.integer && !Number.isInteger(value)) throw new Error(`${where} must be an integer, got ${value} (${doc.help})`);
    if (doc.min !== undefined && (doc.exclusiveMin ? value <= doc.min : value < doc.min)) {
      throw new Error(`${where} must be ${doc.exclusiveMin ? '>' : '>='} ${doc.min}, got ${value} (${doc.help})`);
    }
  } else if (doc.kind === 'boolean') {
    if (typeof value !== 'boolean') throw new Error(`${where} must be true or false, got ${JSON.stringify(value)}`);
  } else {
    if (typeof value !== 'string') throw new Error(`${where} must be a string, got ${JSON.stringify(value)}`);
    if (doc.choices && !doc.choices.includes(value)) throw new Error(`${where} must be one of ${doc.choices.join(', ')}; got '${value}'`);
  }
}

function buildMethod<C extends object>(def: MethodDefinition<C>, partial: Record<string, unknown>): Method<C> {
  const known = Object.keys(def.defaults);
  for (const k of Object.keys(partial)) {
    if (!known.includes(k)) {
      throw new Error(`method '${def.name}' has no option '${k}'; ${known.length ? `its options are ${known.join(', ')}` : 'it takes no options'}`);
    }
  }
  const config = { ...def.defaults } as C;
  for (const [k, v] of Object.entries(partial)) if (v !== undefined) (config as Record<string, unknown>)[k] = v;
  for (const k of known) checkOption(def.name, k, (config as Record<string, unknown>)[k], def.options[k as keyof C]);
  def.validate?.(config);
  const singleWorker = def.singleWorker?.(config);
  return Object.freeze({
    name: def.name,
    config: Object.freeze({ ...config }) as C,
    objectives: def.objectives,
    ...(def.taskKinds ? { taskKinds: def.taskKinds } : {}),
    ...(singleWorker ? { singleWorker } : {}),
    makeStep: (context: MethodContext) => {
      if (!def.objectives.includes(context.objective)) {
        throw new Error(`method '${def.name}' trains ${def.objectives.join(' or ')}, not ${context.objective}`);
      }
      if (context.objective === 'task' && context.taskKind) checkTaskKind(def, context.taskKind);
      return def.makeStep(config, context);
    },
  });
}
