/**
 * Which cells a process runs: shard i of n takes the cells whose index is i modulo n (every n-th
 * cell, starting at i; i counts from 0). Given as `--shard i/n`, or read from a Slurm job array.
 *
 * Slurm numbers array tasks by the ids written in `--array`: `--array=0-1` runs two tasks with
 * SLURM_ARRAY_TASK_ID 0 and 1, SLURM_ARRAY_TASK_COUNT 2, SLURM_ARRAY_TASK_MIN 0 and
 * SLURM_ARRAY_TASK_STEP 1; `--array=1-4` gives ids 1..4 (MIN 1); `--array=0-10:2` ids 0, 2, ..., 10
 * (STEP 2, COUNT 6). The shard is (ID - MIN) / STEP of COUNT, so any evenly spaced range works. A
 * list such as `--array=1,4,6` is not evenly spaced (STEP is 1 there, COUNT 3): its ids cannot be
 * mapped to shards, which is an error asking for a range or an explicit --shard. (Checked against
 * Slurm 22.05's sbatch on a local cluster: test/sweep_slurm.test.ts.)
 */

export interface Shard {
  index: number;
  count: number;
  /** Where it came from (for logs and records). */
  source: 'flag' | 'slurm' | 'none';
}

export const NO_SHARD: Shard = { index: 0, count: 1, source: 'none' };

/** Parses "i/n" (0 <= i < n). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`--shard must be i/n with 0 <= i < n (e.g. 0/4), got '${text}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new Error(`--shard ${text}: need 0 <= i < n (shards count from 0, as Slurm's --array=0-${Math.max(count - 1, 0)} does)`);
  return { index, count, source: 'flag' };
}

/** The shard of a Slurm array task, from its environment; undefined outside a job array. */
export function slurmShard(env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  const idText = env.SLURM_ARRAY_TASK_ID;
  if (idText === undefined || idText === '') return undefined;
  const num = (name: string, fallback?: number): number => {
    const v = env[name];
    if (v === undefined || v === '') {
      if (fallback !== undefined) return fallback;
      throw new Error(`SLURM_ARRAY_TASK_ID is set but ${name} is not: this Slurm is too old to say how many array tasks there are; give --shard i/n`);
    }
    const x = Number(v);
    if (!Number.isInteger(x)) throw new Error(`${name}=${v} is not an integer`);
    return x;
  };
  const id = num('SLURM_ARRAY_TASK_ID');
  const count = num('SLURM_ARRAY_TASK_COUNT');
  const min = num('SLURM_ARRAY_TASK_MIN', 0);
  const step = num('SLURM_ARRAY_TASK_STEP', 1);
  const index = (id - min) / (step || 1);
  if (!(Number.isInteger(index) && index >= 0 && index < count)) {
    throw new Error(
      `Slurm array task ${id} (array ids ${min}..${env.SLURM_ARRAY_TASK_MAX ?? '?'} step ${step}, ${count} tasks) does not map to one of ${count} shards: ` +
        `submit an evenly spaced range such as --array=0-${count - 1}, or pass --shard i/n explicitly`,
    );
  }
  return { index, count, source: 'slurm' };
}

/** --shard if given, else the Slurm array task, else the whole grid. */
export function resolveShard(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Shard {
  if (flag !== undefined) return parseShard(flag);
  return slurmShard(env) ?? NO_SHARD;
}

/** The items of a shard: every count-th, starting at index. */
export function shardItems<T>(items: readonly T[], shard: Shard): T[] {
  return items.filter((_, i) => i % shard.count === shard.index);
}

/** "2/4" or "all". */
export function shardText(shard: Shard): string {
  return shard.count === 1 ? 'all' : `${shard.index}/${shard.count}`;
}
