"""PyTorch reference for `npm run bench`: the same training steps, timed the same way.

For comparison only, never a dependency of advlm. The model is the independent from-scratch
PyTorch BERT of test/fixtures/make_bert_fixture.py (functions over a weights dict; imported, with
its CONFIG set to the size benchmarked), trained as advlm's trainer does:

  vanilla     one forward and backward pass of the mean loss
  freelb      FreeLB-K (Zhu et al., ICLR 2020, Algorithm 1, as src/adversarial/freelb_zhu_2020.ts):
              delta_0 = U(-1, 1) * mask * init_mag / sqrt(L * D) (L = the example's real tokens),
              then for t = 1..K: the parameter gradient of L(X + delta_{t-1}) / K accumulated, and,
              except after the last pass, delta ascends along its gradient normalised per example
              (l2 over T x D) and is projected onto ||delta||_2 <= eps
  then        clipping to global norm 1, AdamW (lr 1e-4, weight decay 0.01 except biases and
              LayerNorm, eps 1e-6)

  fine-tuning  the pooled [CLS] -> classifier (2 labels), mean cross-entropy
  MLM          the masked positions -> the MLM head over the corpus's output vocabulary (the tied
               word-embedding rows of those tokens and their biases), mean cross-entropy

Differences from advlm's step: the fixture's encoder has no dropout (eval mode), so these steps
skip the dropout masks advlm draws (and FreeLB's mask replay); the rest is the same arithmetic.

Input: the bench's data file (scripts/bench.ts writes it: token ids, labels, MLM labels, output
vocabulary). Output: one JSON object per line per (config, shape, method): wall time per step and
the process's CPU time per step (every thread). Example:

    /usr/bin/python3 bench/reference/bench_torch.py --data /tmp/bench-data.json --threads 2
"""
import argparse
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "fixtures"))
import make_bert_fixture as bert  # noqa: E402  (the project's independent PyTorch BERT)

# the model sizes of src/model/config.ts (CONFIGS)
SIZES = {
    "tiny": {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2, "intermediate_size": 512},
    "mini": {"num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 4, "intermediate_size": 1024},
}
# advlm's FreeLB defaults (src/adversarial/freelb_zhu_2020.ts), K = 3
FREELB = {"K": 3, "alpha": 0.1, "eps": 0.6, "init_mag": 1.0}
NORM_CLAMP = 1e-8


def build_model(size, vocab_size, seq_len):
    """Random weights of the fixture's layout at the given size (the module's CONFIG set accordingly)."""
    bert.CONFIG.update(SIZES[size], vocab_size=vocab_size, max_position_embeddings=max(seq_len, 512))
    bert.NUM_LABELS = 2
    w = bert.make_weights(torch.Generator().manual_seed(1))
    for v in w.values():
        v.requires_grad_(True)
    return w


def task_loss(w, batch, delta=None):
    x = bert.embed_tokens(w, batch["ids"])
    if delta is not None:
        x = x + delta
    hs, _ = bert.encode_from_embeddings(w, x, batch["types"], batch["mask"])
    return torch.nn.functional.cross_entropy(bert.classify(w, bert.pool(w, hs[-1])), batch["labels"])


def mlm_loss(w, batch, delta=None):
    x = bert.embed_tokens(w, batch["ids"])
    if delta is not None:
        x = x + delta
    hs, _ = bert.encode_from_embeddings(w, x, batch["types"], batch["mask"])
    D = hs[-1].shape[-1]
    rows = hs[-1].reshape(-1, D)[batch["positions"]]  # [M, D]
    out = batch["output_ids"]
    # the head over the output vocabulary: the tied decoder's rows and the biases of those tokens
    head = dict(w)
    head["cls.predictions.decoder.weight"] = w["bert.embeddings.word_embeddings.weight"][out]
    head["cls.predictions.bias"] = w["cls.predictions.bias"][out]
    return torch.nn.functional.cross_entropy(bert.mlm_logits(head, rows), batch["targets"])


def per_example_l2(x):
    return x.reshape(x.shape[0], -1).norm(dim=1)  # [B]


def freelb_grads(w, batch, loss_of, gen):
    """FreeLB-K: returns the mean loss; leaves the mean of the K passes' parameter gradients in .grad."""
    c = FREELB
    K = c["K"]
    mask = batch["mask"].to(torch.float32)[:, :, None]  # [B, T, 1]
    B, T = batch["ids"].shape
    D = bert.CONFIG["hidden_size"]
    lengths = mask.sum(dim=(1, 2))  # [B]
    delta = (torch.rand(B, T, D, generator=gen) * 2 - 1) * mask * (c["init_mag"] / torch.sqrt(lengths * D))[:, None, None]
    total = 0.0
    for t in range(1, K + 1):
        d = delta.clone().requires_grad_(True)
        loss = loss_of(w, batch, d) / K
        loss.backward()  # parameter gradients accumulate in .grad; d.grad is the ascent direction (times 1/K)
        total += float(loss)
        if t < K:
            g = d.grad * mask
            n = per_example_l2(g).clamp(min=NORM_CLAMP)[:, None, None]
            step = d.detach() + c["alpha"] * g / n
            sn = per_example_l2(step).clamp(min=NORM_CLAMP)[:, None, None]
            delta = step * torch.clamp(c["eps"] / sn, max=1.0)
    return total


def run_row(w, batch, shape, method, warmup, steps, gen):
    params = [v for v in w.values() if v.requires_grad]
    no_decay = [v for k, v in w.items() if k.endswith(".bias") or "LayerNorm" in k]
    decay = [v for v in params if all(v is not n for n in no_decay)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-4, eps=1e-6)
    loss_of = mlm_loss if shape == "mlm" else task_loss

    def step():
        opt.zero_grad(set_to_none=True)
        if method == "freelb":
            freelb_grads(w, batch, loss_of, gen)
        else:
            loss_of(w, batch).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    cpu0 = time.process_time()
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return times, (time.process_time() - cpu0) * 1000 / steps


def batches(data):
    T = data["seqLen"]
    ids = torch.tensor(data["task"]["inputIds"])
    task = {"ids": ids, "types": torch.zeros_like(ids), "mask": torch.ones_like(ids), "labels": torch.tensor(data["task"]["labels"])}
    m = data["mlm"]
    mids = torch.tensor(m["inputIds"])
    labels = torch.tensor(m["labels"]).reshape(-1)
    positions = (labels != -100).nonzero().reshape(-1)
    out = torch.tensor(data["outputIds"])
    column = torch.full((data["vocabSize"],), -1, dtype=torch.long)
    column[out] = torch.arange(len(out))
    mlm = {
        "ids": mids,
        "types": torch.tensor(m["tokenTypeIds"]),
        "mask": torch.tensor(m["attentionMask"]),
        "positions": positions,
        "targets": column[labels[positions]],
        "output_ids": out,
    }
    assert bool((mlm["targets"] >= 0).all()), "an MLM target outside the output vocabulary"
    return {"finetune": task, "mlm": mlm}, T


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="the bench's data file (written by scripts/bench.ts)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--configs", default="tiny")
    ap.add_argument("--shapes", default="finetune,mlm")
    ap.add_argument("--methods", default="vanilla,freelb")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.data) as f:
        data = json.load(f)
    by_shape, T = batches(data)
    for size in args.configs.split(","):
        for shape in args.shapes.split(","):
            for method in args.methods.split(","):
                w = build_model(size, data["vocabSize"], T)
                gen = torch.Generator().manual_seed(2)
                times, cpu_ms = run_row(w, by_shape[shape], shape, method, args.warmup, args.steps, gen)
                ms = sum(times) / len(times)
                B = by_shape[shape]["ids"].shape[0]
                row = {
                    "engine": "torch", "torch": torch.__version__, "threads": torch.get_num_threads(), "config": size, "shape": shape,
                    "method": method, "batch": B, "seqLen": T, "msPerStep": ms, "cpuMsPerStep": cpu_ms, "stepMs": times, "tokensPerSec": B * T / (ms / 1000),
                }
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
