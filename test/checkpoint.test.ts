import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { disposeParams, initParams, loadCheckpoint, namedParams, saveCheckpoint, toHfConfig } from '../src/model';
import { f16ToF32, parseSafetensors, readSafetensors, serializeSafetensors, toFloat16Bits, writeSafetensors } from '../src/model/safetensors';
import { TINY_CONFIGS, backend, expectNoLeak } from './helpers';

const TINY = { ...TINY_CONFIGS.micro, vocabSize: 40, maxPositions: 10 };
const FIXTURE = path.join(__dirname, 'fixtures', 'bert-tiny-random');

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-ckpt-'));
}

test('safetensors: bytes round-trip, header aligned to 8, F16/BF16 read as float32', () => {
  const t = new Map([['a.weight', { shape: [2, 3], values: Float32Array.from([1, -2, 3.5, 0, 1e-3, -7]) }], ['b', { shape: [1], values: Float32Array.from([42]) }]]);
  const buf = serializeSafetensors(t);
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0);
  const back = parseSafetensors(buf, 'mem');
  assert.deepEqual(Array.from(back.tensors.get('a.weight')!.values), Array.from(t.get('a.weight')!.values));
  // hand-made half-precision file: F16 1.0 = 0x3c00, -2.0 = 0xc000; BF16 1.0 = 0x3f80, 0.5 = 0x3f00; I64 skipped
  const header = JSON.stringify({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, bf: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] }, position_ids: { dtype: 'I64', shape: [1], data_offsets: [8, 16] } });
  const hb = Buffer.from(header);
  const raw = Buffer.alloc(8 + hb.length + 16);
  raw.writeBigUInt64LE(BigInt(hb.length), 0);
  hb.copy(raw, 8);
  const o = 8 + hb.length;
  raw.writeUInt16LE(0x3c00, o); raw.writeUInt16LE(0xc000, o + 2); raw.writeUInt16LE(0x3f80, o + 4); raw.writeUInt16LE(0x3f00, o + 6);
  const half = parseSafetensors(raw, 'half');
  assert.deepEqual(Array.from(half.tensors.get('h')!.values), [1, -2]);
  assert.deepEqual(Array.from(half.tensors.get('bf')!.values), [1, 0.5]);
  assert.deepEqual(half.skipped, ['position_ids']);
  assert.throws(() => parseSafetensors(Buffer.from('nonsense!!'), 'junk.safetensors'), /junk.safetensors: not a safetensors file/);
});

test('float16 writing: every float16 value round-trips, halfway values round to even, overflow is infinity, underflow zero', () => {
  // all 63,488 finite float16 values (both signs, subnormals included) come back with their own bits
  const finite = Array.from({ length: 0x10000 }, (_, h) => h).filter((h) => (h & 0x7c00) !== 0x7c00);
  const back = toFloat16Bits(Float32Array.from(finite, f16ToF32));
  for (let i = 0; i < finite.length; i++) if (back[i] !== finite[i]) assert.fail(`0x${finite[i].toString(16)} came back as 0x${back[i].toString(16)}`);
  // the midpoint between two neighbours (exact in float32) goes to the one with an even last bit
  const mids: number[] = [];
  const expected: number[] = [];
  for (const h of [0x0000, 0x0001, 0x0002, 0x03ff, 0x0400, 0x3bff, 0x3c00, 0x3c01, 0x7bfe, 0x8001, 0xbc00]) {
    mids.push((f16ToF32(h) + f16ToF32(h + 1)) / 2);
    expected.push(h & 1 ? h + 1 : h);
    // a hair further from zero always goes to the neighbour further from zero
    mids.push(Math.fround(((f16ToF32(h) + f16ToF32(h + 1)) / 2) * (1 + 2 ** -20)));
    expected.push(h + 1);
  }
  assert.deepEqual(Array.from(toFloat16Bits(Float32Array.from(mids))).map((h) => h.toString(16)), expected.map((h) => h.toString(16)));
  const special = toFloat16Bits(Float32Array.from([65504, 65519, 65520, 1e6, -1e6, Infinity, 2 ** -25, 2 ** -25 * 1.01, 1e-10, -0, NaN]));
  assert.deepEqual(Array.from(special).map((h) => h.toString(16)), ['7bff', '7bff', '7c00', '7c00', 'fc00', '7c00', '0', '1', '0', '8000', '7e00']);
});

test('saveCheckpoint with dtype F16: half the bytes, and every weight within 2^-11 of itself', async () => {
  await backend();
  const dir = tmpDir();
  const p = initParams(TINY, { numLabels: 2, seed: 5 });
  await saveCheckpoint(p, path.join(dir, 'f32'));
  await saveCheckpoint(p, path.join(dir, 'f16'), { dtype: 'F16' });
  const size = (d: string) => fs.statSync(path.join(dir, d, 'model.safetensors')).size;
  const file = readSafetensors(path.join(dir, 'f16', 'model.safetensors'));
  const weights = [...file.tensors.values()].reduce((a, t) => a + t.values.length, 0);
  assert.ok(size('f32') - size('f16') > 2 * weights - 64, `${size('f32')} vs ${size('f16')} bytes for ${weights} weights`);
  const loaded = loadCheckpoint(path.join(dir, 'f16'));
  const a = namedParams(p);
  const b = namedParams(loaded.params);
  let moved = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i][1].dataSync();
    const y = b[i][1].dataSync();
    for (let j = 0; j < x.length; j++) {
      assert.ok(Math.abs(x[j] - y[j]) <= 2 ** -11 * Math.abs(x[j]) + 2 ** -25, `${a[i][0]}[${j}]: ${x[j]} -> ${y[j]}`);
      if (x[j] !== y[j]) moved++;
    }
  }
  assert.ok(moved > 0, 'the weights were rounded (a float32 file would not move any)');
  disposeParams(p);
  disposeParams(loaded.params);
  fs.rmSync(dir, { recursive: true });
});

test('save then load gives the same parameters and the same outputs; config.json is HuggingFace BertConfig', async () => {
  await backend();
  const dir = tmpDir();
  const p = initParams(TINY, { numLabels: 3, seed: 4 });
  await saveCheckpoint(p, dir, { extraConfig: { id2label: { 0: 'a', 1: 'b', 2: 'c' } }, advlm: { note: 'test' } });
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.num_hidden_layers, 2);
  assert.equal(cfg.num_labels, 3);
  assert.deepEqual(cfg.architectures, ['BertForSequenceClassification']);
  assert.equal(cfg.advlm.note, 'test');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'model.safetensors']); // no temporary files left
  const loaded = loadCheckpoint(dir);
  assert.deepEqual(loaded.config, TINY);
  const a = namedParams(p);
  const b = namedParams(loaded.params);
  assert.deepEqual(a.map(([n]) => n), b.map(([n]) => n));
  for (let i = 0; i < a.length; i++) assert.deepEqual(Array.from(a[i][1].dataSync()), Array.from(b[i][1].dataSync()), a[i][0]);
  disposeParams(p);
  disposeParams(loaded.params);
  fs.rmSync(dir, { recursive: true });
});

test('loading an MLM checkpoint for classification initialises the new head and reports the unused one', async () => {
  await backend();
  await expectNoLeak(() => {
    const r = loadCheckpoint(path.join(FIXTURE, 'mlm'), { numLabels: 2, mlm: false, seed: 1 });
    assert.deepEqual(r.newlyInitialised.sort(), ['bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'classifier.bias', 'classifier.weight']);
    assert.ok(r.unused.includes('cls.predictions.bias'));
    assert.ok(r.params.classifier && !r.params.mlm);
    disposeParams(r.params);
  }, 'loading and disposing a checkpoint');
});

test('old gamma/beta names and prefix-less (BertModel) checkpoints load', async () => {
  await backend();
  const dir = tmpDir();
  const src = readSafetensors(path.join(FIXTURE, 'model.safetensors'));
  const renamed = new Map([...src.tensors].filter(([n]) => n.startsWith('bert.')).map(([n, t]) => [n.replace(/^bert\./, '').replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), t]));
  writeSafetensors(path.join(dir, 'model.safetensors'), renamed);
  fs.copyFileSync(path.join(FIXTURE, 'config.json'), path.join(dir, 'config.json'));
  const r = loadCheckpoint(dir, { numLabels: 3 });
  assert.deepEqual(r.newlyInitialised.sort(), ['classifier.bias', 'classifier.weight']);
  const ref = loadCheckpoint(FIXTURE);
  assert.deepEqual(Array.from(r.params.embeddings.layerNorm.weight.dataSync()), Array.from(ref.params.embeddings.layerNorm.weight.dataSync()));
  disposeParams(r.params);
  disposeParams(ref.params);
  fs.rmSync(dir, { recursive: true });
});

test('a wrong checkpoint is an error that lists every missing, unexpected and wrongly shaped tensor', async () => {
  await backend();
  const dir = tmpDir();
  const src = readSafetensors(path.join(FIXTURE, 'model.safetensors'));
  const t = new Map(src.tensors);
  t.delete('bert.encoder.layer.1.output.dense.weight');
  t.delete('bert.embeddings.LayerNorm.bias');
  t.set('bert.encoder.layer.7.extra.weight', { shape: [1], values: Float32Array.from([1]) });
  t.set('bert.embeddings.position_embeddings.weight', { shape: [4, 128], values: new Float32Array(512) });
  writeSafetensors(path.join(dir, 'model.safetensors'), t);
  fs.copyFileSync(path.join(FIXTURE, 'config.json'), path.join(dir, 'config.json'));
  await expectNoLeak(() => {
    assert.throws(() => loadCheckpoint(dir), (e: Error) => {
      assert.match(e.message, /missing \(2\): .*bert\.embeddings\.LayerNorm\.bias.*bert\.encoder\.layer\.1\.output\.dense\.weight/);
      assert.match(e.message, /unexpected \(1\): bert\.encoder\.layer\.7\.extra\.weight/);
      assert.match(e.message, /wrongly shaped \(1\): bert\.embeddings\.position_embeddings\.weight: checkpoint \[4,128\], model \[64,128\]/);
      return true;
    });
  }, 'a failed load');
  // a folder without weights, and one whose config is not BERT
  fs.rmSync(path.join(dir, 'model.safetensors'));
  fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), '');
  assert.throws(() => loadCheckpoint(dir), /model\.safetensors is missing \(found pytorch_model\.bin: convert/);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...toHfConfig(TINY), model_type: 'gpt2' }));
  assert.throws(() => loadCheckpoint(dir), /model_type is 'gpt2'/);
  assert.throws(() => loadCheckpoint(path.join(dir, 'nope')), /does not exist/);
  fs.rmSync(dir, { recursive: true });
});
