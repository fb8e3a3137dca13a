/**
 * Learning-rate schedule of BERT fine-tuning: linear warmup from 0 to the peak over `warmupSteps`,
 * then linear decay to 0 at `totalSteps`.
 */
export interface LinearSchedule {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
}

/** Learning rate at step s (0-based: the rate used for the (s+1)-th update). */
export function linearWarmupDecay(s: LinearSchedule, step: number): number {
  const t = step + 1;
  if (s.warmupSteps > 0 && t <= s.warmupSteps) return (s.peak * t) / s.warmupSteps;
  const rest = Math.max(1, s.totalSteps - s.warmupSteps);
  return s.peak * Math.max(0, (s.totalSteps - t) / rest);
}
