/**
 * Summaries of a similarity matrix whose rows belong to groups (e.g. the occurrences of "bank"
 * labelled with their sense): are members of a group more similar to each other than to the rest?
 *
 * - within: mean similarity over pairs i < j in the same group;
 * - across: mean over pairs i < j in different groups;
 * - all: mean over all pairs i < j (for one word's occurrences: its "self-similarity",
 *   Ethayarajh, EMNLP 2019; 1 for a static embedding);
 * - nearestNeighbourAgreement: the fraction of rows whose most similar other row (ties: the first)
 *   is in the same group (leave-one-out 1-nearest-neighbour accuracy).
 */

export interface GroupStats {
  group: string;
  /** Members of the group. */
  count: number;
  /** Mean similarity between the group's members (NaN for a group of one). */
  within: number;
  /** Mean similarity of the group's members to the other rows. */
  across: number;
}

export interface GroupSimilarity {
  within: number;
  across: number;
  all: number;
  withinPairs: number;
  acrossPairs: number;
  nearestNeighbourAgreement: number;
  /** Per group, in order of first appearance. */
  groups: GroupStats[];
}

function checkSquare(what: string, m: readonly (readonly number[])[]): number {
  if (!Array.isArray(m) || m.length < 2) throw new Error(`${what}: expected an N x N similarity matrix with N >= 2`);
  m.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== m.length) throw new Error(`${what}: row ${i} has ${Array.isArray(row) ? row.length : 'no'} entries, expected ${m.length} (a square matrix)`);
    if (!row.every(Number.isFinite)) throw new Error(`${what}: row ${i} contains a non-finite value`);
  });
  return m.length;
}

/** Within-group vs across-group similarity of `sim` [N, N] with `groups` [N] (see the file header). */
export function groupSimilarity(sim: readonly (readonly number[])[], groups: readonly string[]): GroupSimilarity {
  const N = checkSquare('groupSimilarity', sim);
  if (groups.length !== N) throw new Error(`groupSimilarity: ${groups.length} group labels for a ${N} x ${N} matrix; give one label per row`);
  const names = [...new Set(groups)];
  if (names.length < 2) throw new Error(`groupSimilarity needs at least two groups to compare within and across (got only ${JSON.stringify(names[0])})`);
  let within = 0;
  let across = 0;
  let all = 0;
  let nw = 0;
  let na = 0;
  const per = new Map(names.map((g) => [g, { within: 0, nw: 0, across: 0, na: 0, count: 0 }]));
  for (let i = 0; i < N; i++) {
    per.get(groups[i])!.count += 1;
    for (let j = i + 1; j < N; j++) {
      const s = sim[i][j];
      all += s;
      if (groups[i] === groups[j]) {
        within += s;
        nw += 1;
        const g = per.get(groups[i])!;
        g.within += s;
        g.nw += 1;
      } else {
        across += s;
        na += 1;
        for (const k of [i, j]) {
          const g = per.get(groups[k])!;
          g.across += s;
          g.na += 1;
        }
      }
    }
  }
  if (nw === 0) throw new Error('groupSimilarity: every group has a single member, so there is no within-group pair; give groups of two or more');
  let agree = 0;
  for (let i = 0; i < N; i++) {
    let best = -1;
    for (let j = 0; j < N; j++) if (j !== i && (best < 0 || sim[i][j] > sim[i][best])) best = j;
    if (groups[best] === groups[i]) agree += 1;
  }
  return {
    within: within / nw,
    across: across / na,
    all: all / (nw + na),
    withinPairs: nw,
    acrossPairs: na,
    nearestNeighbourAgreement: agree / N,
    groups: names.map((group) => {
      const g = per.get(group)!;
      return { group, count: g.count, within: g.nw ? g.within / g.nw : NaN, across: g.na ? g.across / g.na : NaN };
    }),
  };
}
