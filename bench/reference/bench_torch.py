"""PyTorch reference for `npm run bench`: the same training steps, timed the same way.

For comparison only, never a dependency of advlm. The model is the independent from-scratch
PyTorch BERT of test/fixtures/make_bert_fixture.py (functions over a weights dict; imported, with
its CONFIG set to the size benchmarked), trained as advlm's trainer does:

  vanilla         one forward and backward pass of the mean loss
  freelb          FreeLB-K (Zhu et al., ICLR 2020, Algorithm 1, as src/adversarial/freelb_zhu_2020.ts):
                  delta_0 = U(-1, 1) * mask * init_mag / sqrt(L * D) (L = the example's real tokens),
                  then for t = 1..K: the parameter gradient of L(X + delta_{t-1}) / K accumulated, and,
                  except after the last pass, delta ascends along its gradient normalised per example
                  (l2 over T x D) and is projected onto ||delta||_2 <= eps
  gaussian-noise  one pass at X + N(0, sigma^2)
  pgd             PGD-K (Madry et al. 2018): K ascent steps with gradients to delta only, then the
                  parameter gradient at delta_K
  freeat          FreeAT with m replays (Shafahi et al. 2019): m passes, each followed by clipping,
                  an AdamW update and an ascent step of delta (m updates per minibatch)
  yopo            YOPO-K-n (Zhang et al. 2019), as test/fixtures/make_yopo_alum_fixture.py: K full
                  passes; before each pass after the first, n ascent steps through the embeddings and
                  layer 0 only, driven by the previous pass's gradient at layer 0's output
  alum            ALUM's paper variant (Liu et al. 2020): a clean forward, K ascent steps on
                  KL(p_clean || p_adv) to delta only, one adversarial forward, one backward of
                  L + alpha * symmetric KL
  ascc, rift      the ASCC adversary (Dong et al. 2021: Adam on the convex weights, 10 steps, in
                  evaluation mode) and the training step, from test/fixtures/make_ascc_rift_fixture.py
                  (imported), on the candidates advlm built from the counter-fitted lists (the bench's
                  data file carries them); RIFT adds the frozen teacher's forward and the
                  class-conditional InfoNCE through per-class projection heads (D -> 512 -> 256)
  then            clipping to global norm 1, AdamW (lr 1e-4, weight decay 0.01 except biases and
                  LayerNorm, eps 1e-6)

The radii are advlm's defaults; they do not change the work. The MLM shape runs vanilla and FreeLB
only (the other methods' MLM rows are advlm-only).

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
import make_ascc_rift_fixture as ascc_ref  # noqa: E402  (its ASCC adversary and ASCC/RIFT training step)

# the model sizes of src/model/config.ts (CONFIGS)
SIZES = {
    "tiny": {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2, "intermediate_size": 512},
    "mini": {"num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 4, "intermediate_size": 1024},
}
# advlm's defaults (src/adversarial/*.ts): the passes are what costs; the radii are theirs too
FREELB = {"K": 3, "alpha": 0.085, "eps": 0.17, "init_mag": 0.17}
PGD = {"K": 3, "alpha": 0.0213, "eps": 0.0426, "init_mag": 0.0426}
FREEAT = {"replays": 3, "alpha": 0.085, "eps": 0.17, "init_mag": 0.17}
YOPO = {"K": 3, "n": 2, "alpha": 0.0213, "eps": 0.0426}
ALUM = {"alpha": 1.0, "sigma": 1e-5, "eta": 1e-3, "K": 1, "eps": 1e-5}
NOISE_SIGMA = 0.01
ASCC = {"beta": 4.0, "attackSteps": 10, "attackLr": 1.0}
RIFT = {"wKl": 10.0, "wMi": 0.1, "headHidden": 512, "headOut": 256}
TASK_ONLY = ("gaussian-noise", "pgd", "freeat", "yopo", "alum", "ascc", "rift")
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


def l2_start(batch, mag, gen):
    """FreeLB's reference init: U(-1, 1) * mask * mag / sqrt(L * D), [B, T, D]."""
    mask = batch["mask"].to(torch.float32)[:, :, None]
    B, T = batch["ids"].shape
    D = bert.CONFIG["hidden_size"]
    lengths = mask.sum(dim=(1, 2))
    return (torch.rand(B, T, D, generator=gen) * 2 - 1) * mask * (mag / torch.sqrt(lengths * D))[:, None, None]


def l2_ascend(delta, g, mask, alpha, eps):
    """delta + alpha g / ||g||, projected onto ||delta||_2 <= eps (norms per example over T x D)."""
    g = g * mask
    n = per_example_l2(g).clamp(min=NORM_CLAMP)[:, None, None]
    step = delta + alpha * g / n
    sn = per_example_l2(step).clamp(min=NORM_CLAMP)[:, None, None]
    return step * torch.clamp(eps / sn, max=1.0)


def freelb_grads(w, batch, loss_of, gen):
    """FreeLB-K: returns the mean loss; leaves the mean of the K passes' parameter gradients in .grad."""
    c = FREELB
    K = c["K"]
    mask = batch["mask"].to(torch.float32)[:, :, None]  # [B, T, 1]
    delta = l2_start(batch, c["init_mag"], gen)
    total = 0.0
    for t in range(1, K + 1):
        d = delta.clone().requires_grad_(True)
        loss = loss_of(w, batch, d) / K
        loss.backward()  # parameter gradients accumulate in .grad; d.grad is the ascent direction (times 1/K)
        total += float(loss)
        if t < K:
            delta = l2_ascend(d.detach(), d.grad, mask, c["alpha"], c["eps"])
    return total


def pgd_grads(w, batch, gen):
    c = PGD
    mask = batch["mask"].to(torch.float32)[:, :, None]
    delta = l2_start(batch, c["init_mag"], gen)
    for _ in range(c["K"]):
        d = delta.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(task_loss(w, batch, d), d)  # to delta only
        delta = l2_ascend(d.detach(), g, mask, c["alpha"], c["eps"])
    task_loss(w, batch, delta).backward()


def layer0_out(w, word, batch):
    """The output of layer 0 alone: the fixture's encoder with its layer count set to 1 for the call."""
    layers = bert.CONFIG["num_hidden_layers"]
    bert.CONFIG["num_hidden_layers"] = 1
    try:
        return bert.encode_from_embeddings(w, word, batch["types"], batch["mask"])[0][1]
    finally:
        bert.CONFIG["num_hidden_layers"] = layers


def yopo_grads(w, batch, gen):
    """YOPO-K-n: the p of each pass drives n inner steps through the embeddings and layer 0."""
    c = YOPO
    K = c["K"]
    mask = batch["mask"].to(torch.float32)[:, :, None]
    B, T = batch["ids"].shape
    delta = torch.zeros(B, T, bert.CONFIG["hidden_size"])
    p = None
    X0 = bert.embed_tokens(w, batch["ids"]).detach()  # the inner steps' input (no gradient to V)
    for j in range(K):
        if j > 0:
            for _ in range(c["n"]):
                d = delta.clone().requires_grad_(True)
                h1 = layer0_out(w, X0 + d, batch)  # embeddings + layer 0 only (the library's partial pass)
                (g,) = torch.autograd.grad((p * h1).sum(), d)
                delta = l2_ascend(d.detach(), g, mask, c["alpha"], c["eps"])
        x = bert.embed_tokens(w, batch["ids"]) + delta
        hs, _ = bert.encode_from_embeddings(w, x, batch["types"], batch["mask"])
        hs[1].retain_grad()
        loss = torch.nn.functional.cross_entropy(bert.classify(w, bert.pool(w, hs[-1])), batch["labels"]) / K
        loss.backward()
        p = hs[1].grad.detach() * K  # dL / d(layer-0 output) of this pass


def alum_grads(w, batch, gen):
    """ALUM's paper variant: clean forward, K ascent steps on KL(p_clean || p_adv) (clipped to eps), one backward."""
    c = ALUM
    f = torch.nn.functional
    mask = batch["mask"].to(torch.float32)[:, :, None]
    X = bert.embed_tokens(w, batch["ids"])
    logits_at = lambda word: bert.classify(w, bert.pool(w, bert.encode_from_embeddings(w, word, batch["types"], batch["mask"])[0][-1]))  # noqa: E731
    clean = logits_at(X)
    delta = torch.randn(X.shape, generator=gen) * c["sigma"] * mask
    for _ in range(c["K"]):
        d = delta.clone().requires_grad_(True)
        adv = logits_at(X.detach() + d)
        lc = f.log_softmax(clean.detach(), -1)
        (g,) = torch.autograd.grad((lc.exp() * (lc - f.log_softmax(adv, -1))).sum(), d)
        delta = torch.clamp(d.detach() + c["eta"] * g * mask, -c["eps"], c["eps"])
    adv = logits_at(X + delta)
    sym = f.kl_div(f.log_softmax(clean, -1), f.softmax(adv.detach(), -1), reduction="batchmean") + f.kl_div(
        f.log_softmax(adv, -1), f.softmax(clean.detach(), -1), reduction="batchmean"
    )
    (f.cross_entropy(clean, batch["labels"]) + c["alpha"] * sym).backward()


def ascc_batch(batch):
    """The fixture's batch layout (its functions read these keys) with the bench's candidates."""
    return {"ids": batch["ids"], "tt": batch["types"], "am": batch["mask"], "labels": batch["labels"], "cand": batch["cand"], "cmask": batch["cmask"]}


def configure_ascc_ref(batch):
    """Sets the fixture module's constants to advlm's defaults and this batch (its functions read them)."""
    ascc_ref.ATTACK.update(attackSteps=ASCC["attackSteps"], attackLr=ASCC["attackLr"])
    ascc_ref.RIFT.update(wMi=RIFT["wMi"])
    ascc_ref.NUM_CLASSES = 2
    ascc_ref.LABELS = batch["labels"].tolist()
    ascc_ref.B = batch["ids"].shape[0]


def ascc_grads(w, b, gen, heads=None, teacher=None):
    """The ASCC adversary, then CE + beta KL (ASCC) or + w_kl KL + w_mi L_NCE (RIFT), one backward.
    b: the batch in the fixture's layout (ascc_batch), the module configured (configure_ascc_ref)."""
    B, T, S = b["cand"].shape
    # torch's kaiming_normal_ on [B, T, S, 1]: N(0, 2 / (T S))
    w0 = torch.randn(B, T, S, generator=gen) * (2.0 / (T * S)) ** 0.5
    _, a, _ = ascc_ref.attack(w, b, w0)
    if heads is None:
        loss, _ = ascc_ref.train_step(w, b, a, ASCC["beta"])
    else:
        loss, _ = ascc_ref.train_step(w, b, a, RIFT["wKl"], mi=(heads, teacher))
    loss.backward()


def rift_heads(gen):
    D = bert.CONFIG["hidden_size"]
    heads = {}
    for who in ("student", "teacher"):
        for c in range(2):
            for layer, (i, o) in (("0", (D, RIFT["headHidden"])), ("2", (RIFT["headHidden"], RIFT["headOut"]))):
                bound = 1 / i**0.5
                heads[f"rift.{who}.{c}.{layer}.weight"] = ((torch.rand(o, i, generator=gen) * 2 - 1) * bound).requires_grad_(True)
                heads[f"rift.{who}.{c}.{layer}.bias"] = ((torch.rand(o, generator=gen) * 2 - 1) * bound).requires_grad_(True)
    return heads


def run_row(w, batch, shape, method, warmup, steps, gen):
    heads = rift_heads(gen) if method == "rift" else {}
    if method in ("ascc", "rift"):
        configure_ascc_ref(batch)
        fixture_batch = ascc_batch(batch)
    teacher = {k: v.detach().clone() for k, v in w.items()} if method == "rift" else None
    named = {**w, **heads}
    params = [v for v in named.values() if v.requires_grad]
    no_decay = [v for k, v in named.items() if k.endswith(".bias") or "LayerNorm" in k]
    decay = [v for v in params if all(v is not n for n in no_decay)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-4, eps=1e-6)
    loss_of = mlm_loss if shape == "mlm" else task_loss

    def update():
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    def step():
        opt.zero_grad(set_to_none=True)
        if method == "freelb":
            freelb_grads(w, batch, loss_of, gen)
        elif method == "gaussian-noise":
            shape = (*batch["ids"].shape, bert.CONFIG["hidden_size"])
            loss_of(w, batch, torch.randn(shape, generator=gen) * NOISE_SIGMA).backward()
        elif method == "pgd":
            pgd_grads(w, batch, gen)
        elif method == "freeat":
            c = FREEAT
            mask = batch["mask"].to(torch.float32)[:, :, None]
            delta = l2_start(batch, c["init_mag"], gen)
            for r in range(c["replays"]):
                if r > 0:
                    opt.zero_grad(set_to_none=True)
                d = delta.clone().requires_grad_(True)
                loss_of(w, batch, d).backward()
                delta = l2_ascend(d.detach(), d.grad, mask, c["alpha"], c["eps"])
                if r < c["replays"] - 1:
                    update()
        elif method == "yopo":
            yopo_grads(w, batch, gen)
        elif method == "alum":
            alum_grads(w, batch, gen)
        elif method == "ascc":
            ascc_grads(w, fixture_batch, gen)
        elif method == "rift":
            ascc_grads(w, fixture_batch, gen, heads=heads, teacher=teacher)
        else:
            loss_of(w, batch).backward()
        update()

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
    cand = data["task"]["candidates"]
    task = {
        "ids": ids, "types": torch.zeros_like(ids), "mask": torch.ones_like(ids), "labels": torch.tensor(data["task"]["labels"]),
        "cand": torch.tensor(cand["ids"]), "cmask": torch.tensor(cand["mask"], dtype=torch.float32),
    }
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
                if shape == "mlm" and method in TASK_ONLY:
                    continue
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
