/**
 * One JSON-lines record per training run: configuration, seed, backend, versions, per-epoch metrics
 * and wall time. Appended to runs/runs.jsonl (or a file of the caller's choice) when a run ends.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { appendLine } from '../util/atomic';
import { backendReport } from '../backend';
import { environmentInfo } from '../environment';
import { projectRoot } from '../paths';

export interface EpochRecord {
  epoch: number;
  step: number;
  trainLoss: number;
  /** Epoch means of the method's per-step metrics (and gradNorm). */
  metrics?: Record<string, number>;
  dev?: Record<string, number>;
  seconds: number;
}

export interface RunRecord {
  id: string;
  command: string;
  method: string;
  task?: string;
  seed: number;
  config: Record<string, unknown>;
  backend: string;
  versions: Record<string, string>;
  startedAt: string;
  /** The run's identity (src/train/run_identity.ts): its id and every setting that changes the result. */
  identity?: { id: string; fields: Record<string, unknown> };
  epochs: EpochRecord[];
  /** Every per-step metric of the method (and gradNorm), one array each. */
  steps?: Record<string, number[]>;
  wallSeconds: number;
  result?: Record<string, unknown>;
}

/** runs/runs.jsonl in the project, or the file named by ADVLM_RUNS_FILE. */
export function defaultRunsFile(): string {
  return process.env.ADVLM_RUNS_FILE || path.join(projectRoot(), 'runs', 'runs.jsonl');
}

export function newRunRecord(command: string, method: string, seed: number, config: Record<string, unknown>, task?: string): RunRecord {
  const startedAt = new Date().toISOString();
  const info = environmentInfo({ tools: false });
  return {
    id: `${command}-${task ?? method}-${startedAt.replace(/[:.]/g, '-')}-s${seed}`,
    command,
    method,
    task,
    seed,
    config,
    backend: backendReport()?.name ?? tf.getBackend(),
    versions: { node: process.version, ...info.packages },
    startedAt,
    epochs: [],
    wallSeconds: 0,
  };
}

export function appendRunRecord(record: RunRecord, file = defaultRunsFile()): void {
  appendLine(file, JSON.stringify(record));
}
