/**
 * A run's identity: every setting that changes its result (task, method and its config, batch size,
 * lengths, data limits, seed, schedule, and the initial weights by the SHA-256 of their file, not
 * their path), as canonical JSON (keys sorted, undefined left out). Its hash is the run's id: the
 * default output folder carries it, a resume checks it, records and checkpoints store it, and a
 * sweep asks "is this cell done?" with it.
 *
 * Settings that must not change the result (save interval, progress display, output folder,
 * number of workers) are recorded elsewhere and kept out of the identity.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export interface RunIdentity {
  /** sha256 of the canonical JSON of `fields`, hex (64 characters). */
  id: string;
  fields: Record<string, unknown>;
}

/** JSON with object keys sorted at every level and undefined values left out. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : sortKeys(x)));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`a run setting is ${v}: settings must be finite numbers`);
  return v;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function runIdentity(fields: Record<string, unknown>): RunIdentity {
  const canonical = canonicalJson(fields);
  return { id: sha256(canonical), fields: JSON.parse(canonical) };
}

/** The first characters of an id, for folder names. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

const digestCache = new Map<string, { size: number; mtimeMs: number; digest: string }>();

/** SHA-256 of a checkpoint folder's weights file (cached per file while its size and mtime hold). */
export function checkpointDigest(dir: string, weightsFile = 'model.safetensors'): string {
  const file = path.resolve(dir, weightsFile);
  if (!fs.existsSync(file)) throw new Error(`no weights at ${file}: a checkpoint folder holds config.json and ${weightsFile}`);
  const st = fs.statSync(file);
  const hit = digestCache.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.digest;
  const digest = sha256(fs.readFileSync(file));
  digestCache.set(file, { size: st.size, mtimeMs: st.mtimeMs, digest });
  return digest;
}

/** Paths where two identities differ, each as "path: was A, now B". */
export function identityDifferences(saved: unknown, now: unknown, at = ''): string[] {
  const show = (x: unknown) => (x === undefined ? 'unset' : JSON.stringify(x));
  if (saved && now && typeof saved === 'object' && typeof now === 'object' && !Array.isArray(saved) && !Array.isArray(now)) {
    const keys = [...new Set([...Object.keys(saved as object), ...Object.keys(now as object)])].sort();
    return keys.flatMap((k) => identityDifferences((saved as Record<string, unknown>)[k], (now as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
  }
  return canonicalJson(saved ?? null) === canonicalJson(now ?? null) ? [] : [`${at || '(root)'}: was ${show(saved)}, now ${show(now)}`];
}
