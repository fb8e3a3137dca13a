/**
 * A data-parallel worker thread (src/train/data_parallel.ts): builds a replica of the model and the
 * method from their JSON, then for each shard it is sent copies the main thread's current weights
 * from shared memory, runs the method's step, writes the gradients into its shared buffer, replies
 * with the scalars and raises its flag.
 */
import { isMainThread, workerData } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { methodFromJson } from '../adversarial/methods'; // the index registers every method
import type { StepInfo } from '../adversarial/method';
import { disposeModelBatch, initParams, namedParams } from '../model';
import { loadTokenizer } from '../tokenizer';
import { ShardArrays, ShardReply, WorkerSetup, shardBatch } from './data_parallel';

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Serves shards until the thread ends. */
export async function serveShards(setup: WorkerSetup): Promise<void> {
  const port = setup.port;
  const flag = new Int32Array(setup.flag);
  const weights = new Float32Array(setup.weights);
  const grads = new Float32Array(setup.grads);
  try {
    await initBackend({ log: false, threads: setup.threads });
    const params = initParams(setup.config, { ...setup.heads, seed: 0 }); // values come from the main thread each step
    const named = namedParams(params);
    const names = named.map(([n]) => n);
    const sizes = named.map(([, v]) => v.size);
    if (names.join('\n') !== setup.names.join('\n') || sizes.join() !== setup.sizes.join()) throw new Error('the replica\'s parameters differ from the main thread\'s (names or sizes)');
    const method = methodFromJson(setup.method.name, setup.method.config);
    const step = method.makeStep({ params, objective: setup.objective, taskKind: setup.taskKind, tokenizer: loadTokenizer(setup.tokenizerFile) });
    port.on('message', ({ shard, info }: { shard: ShardArrays; info: StepInfo }) => {
      let reply: ShardReply;
      try {
        const t0 = performance.now();
        let at = 0;
        for (const [, v] of named) {
          const value = tf.tensor(weights.subarray(at, at + v.size), v.shape, 'float32');
          v.assign(value);
          value.dispose();
          at += v.size;
        }
        const batch = shardBatch(shard);
        try {
          const t1 = performance.now();
          const r = step.step(batch, info);
          const loss = r.loss.dataSync()[0]; // the step's work is done here, not in the copy below
          const t2 = performance.now();
          const present = names.map((n) => r.grads.has(n));
          at = 0;
          named.forEach(([n, v]) => {
            if (r.grads.has(n)) grads.set(r.grads.get(n)!.dataSync() as Float32Array, at);
            at += v.size;
          });
          const metrics = Object.fromEntries(Object.entries(r.metrics).map(([k, x]) => [k, x.dataSync()[0]]));
          reply = { loss, metrics, present, ms: { copyIn: t1 - t0, shard: t2 - t1, copyOut: performance.now() - t2 } };
          tf.dispose([r.loss, ...r.grads.values(), ...Object.values(r.metrics)]);
        } finally {
          disposeModelBatch(batch);
        }
      } catch (e) {
        reply = { loss: NaN, metrics: {}, present: [], ms: { copyIn: 0, shard: 0, copyOut: 0 }, error: errorText(e) };
      }
      port.postMessage(reply);
      Atomics.store(flag, 0, 2);
      Atomics.notify(flag, 0);
    });
    port.postMessage({ ready: true });
  } catch (e) {
    port.postMessage({ error: errorText(e) });
  }
}

// started as a worker by dataParallel; imported anywhere else (a notebook, a test), it does nothing
const data = workerData as { setup?: WorkerSetup } | null;
if (!isMainThread && data?.setup) void serveShards(data.setup);
