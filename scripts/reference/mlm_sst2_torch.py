"""Independent PyTorch cross-check of the project's pre-training result (not part of the library).

The question it answers: is "MLM pre-training on data/pretrain does not beat random initialisation on
SST-2" a property of the recipe and the corpus, or a bug in our TypeScript implementation? This file
re-implements the same recipe from scratch in PyTorch (BERT tiny: 2 layers, hidden 128, 2 heads,
post-LayerNorm, exact GELU, tied MLM head; 15% masking 80/10/10 with the MLM softmax and the random
replacements over the corpus's tokens; AdamW with no decay on biases and LayerNorm, linear warmup and
decay, clipping at 1; SST-2 fine-tuning from the pooled [CLS], batch 32, lr 1e-4, 3 epochs, best epoch
on dev) and runs about five times faster than the wasm backend, so it can also look further ahead.

Needs Debian's python3-torch (with libopenblas0-pthread) and the data file written by
export_data.ts. Example (one core):

    npx tsx scripts/reference/export_data.ts /tmp/advlm-reference.json
    OMP_NUM_THREADS=1 python3 scripts/reference/mlm_sst2_torch.py pretrain --steps 6339 --lr 1e-3 --save /tmp/pt.pt
    OMP_NUM_THREADS=1 python3 scripts/reference/mlm_sst2_torch.py finetune --init /tmp/pt.pt --seed 0
    OMP_NUM_THREADS=1 python3 scripts/reference/mlm_sst2_torch.py finetune --seed 0      # random init

On IMDB (imdb_data.py writes the data; see SCOUTING-imdb.md for the runs), e.g. the first 3,000 steps of
a 50,000-step schedule with a 1,000-step warmup:

    /usr/bin/python3 scripts/reference/imdb_data.py --imdb data/imdb --out /tmp/advlm-imdb
    OMP_NUM_THREADS=1 python3 scripts/reference/mlm_sst2_torch.py pretrain --data /tmp/advlm-imdb-128.json \
        --steps 3000 --schedule-steps 50000 --warmup 1000 --lr 2e-3 --save /tmp/imdb.pt
    OMP_NUM_THREADS=1 python3 scripts/reference/mlm_sst2_torch.py finetune --data /tmp/advlm-imdb-128.json \
        --init /tmp/imdb.pt --limit 1000 --seed 0

Differences from the library: its own random streams (masks, dropout, order), so figures match in
distribution, not digit for digit; no length bucketing in fine-tuning; dev masks drawn once with seed 777.
"""
import argparse
import json
import math
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('mode', choices=['pretrain', 'finetune'])
ap.add_argument('--data', default='/tmp/advlm-reference.json')
ap.add_argument('--steps', type=int, default=6339, help='pre-training steps')
ap.add_argument('--batch-size', type=int, default=8, help='pre-training sequences per step')
ap.add_argument('--lr', type=float, default=1e-3, help='pre-training peak learning rate')
ap.add_argument('--warmup', type=float, default=0.06, help='warmup: a fraction of the schedule if below 1, else steps')
ap.add_argument('--schedule-steps', type=int, default=0, help='length of the linear decay schedule (default --steps); '
                'larger than --steps scouts the start of a longer run')
ap.add_argument('--beta2', type=float, default=0.999, help='Adam beta2 (pre-training)')
ap.add_argument('--init-range', type=float, default=0.02, help='standard deviation of the initial weights')
ap.add_argument('--threads', type=int, default=0, help='torch threads (default: leave as OMP_NUM_THREADS sets it)')
ap.add_argument('--eval-every', type=int, default=1000)
ap.add_argument('--save', default='', help='where to save the pre-trained weights')
ap.add_argument('--init', default='', help='fine-tune from these weights (default: random)')
ap.add_argument('--ft-lr', type=float, default=1e-4)
ap.add_argument('--epochs', type=int, default=3)
ap.add_argument('--limit', type=int, default=0, help='use only the first N SST-2 training sentences')
ap.add_argument('--seed', type=int, default=0)
args = ap.parse_args()
if args.threads:
    torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
random.seed(args.seed)
data = json.load(open(args.data))
V, H, HEADS, LAYERS, DROP = data['vocabSize'], 128, 2, 2, 0.1
special = set(data['special'])


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(H, H) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(H, eps=1e-12), nn.LayerNorm(H, eps=1e-12)
        self.f1, self.f2 = nn.Linear(H, 4 * H), nn.Linear(4 * H, H)

    def forward(self, x, bias):  # x [B,T,H], bias [B,1,1,T]
        B, T, _ = x.shape
        d = H // HEADS
        split = lambda t: t.view(B, T, HEADS, d).transpose(1, 2)  # [B,h,T,d]
        scores = split(self.q(x)) @ split(self.k(x)).transpose(-1, -2) / math.sqrt(d) + bias  # [B,h,T,T]
        probs = F.dropout(scores.softmax(-1), DROP, self.training)
        ctx = (probs @ split(self.v(x))).transpose(1, 2).reshape(B, T, H)  # [B,T,H]
        x = self.ln1(x + F.dropout(self.o(ctx), DROP, self.training))
        return self.ln2(x + F.dropout(self.f2(F.gelu(self.f1(x))), DROP, self.training))


class Bert(nn.Module):
    def __init__(self):
        super().__init__()
        self.word, self.pos, self.token_type = nn.Embedding(V, H), nn.Embedding(512, H), nn.Embedding(2, H)
        self.ln = nn.LayerNorm(H, eps=1e-12)
        self.layers = nn.ModuleList([Layer() for _ in range(LAYERS)])
        self.mlm_dense, self.mlm_ln, self.mlm_bias = nn.Linear(H, H), nn.LayerNorm(H, eps=1e-12), nn.Parameter(torch.zeros(V))
        self.pooler, self.classifier = nn.Linear(H, H), nn.Linear(H, 2)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, 0, args.init_range)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def encode(self, ids, mask):  # ids, mask [B,T] -> [B,T,H]
        T = ids.shape[1]
        x = self.word(ids) + self.pos(torch.arange(T))[None] + self.token_type(torch.zeros_like(ids))
        x = F.dropout(self.ln(x), DROP, self.training)
        bias = (1 - mask[:, None, None, :]) * -1e4
        for layer in self.layers:
            x = layer(x, bias)
        return x


def lr_at(step, total, peak, warmup):
    w = int(warmup) if warmup >= 1 else int(total * warmup)
    return peak * step / max(1, w) if step < w else peak * max(0.0, (total - step) / max(1, total - w))


def adamw(model, lr, beta2=0.999):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and 'ln' not in n]
    rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and 'ln' not in n)]
    return torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': rest, 'weight_decay': 0.0}], lr=lr, betas=(0.9, beta2), eps=1e-6)


def padded(rows):
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), data['padId'])
    mask = torch.zeros(len(rows), T)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, mask


model = Bert()
if args.init:
    model.load_state_dict(torch.load(args.init))

if args.mode == 'pretrain':
    train = data['train']
    dev_sets = data.get('devSets') or {'dev': data['dev']}  # IMDB data (imdb_data.py): the dev reviews at each length
    seen = {t for s in train for t in s}
    for d in dev_sets.values():
        seen.update(t for s in d for t in s)
    corpus = torch.tensor(sorted(seen - special))  # the output vocabulary
    row_of = torch.full((V,), -1, dtype=torch.long)
    row_of[corpus] = torch.arange(len(corpus))
    special_ids = torch.tensor(sorted(special))

    def mlm_batch(rows, gen):
        ids, mask = padded(rows)
        chosen = (torch.rand(ids.shape, generator=gen) < 0.15) & (mask > 0) & ~torch.isin(ids, special_ids)
        labels, x, r = ids[chosen], ids.clone(), torch.rand(ids.shape, generator=gen)
        x[chosen & (r < 0.8)] = data['maskId']
        rand = chosen & (r >= 0.8) & (r < 0.9)
        x[rand] = corpus[torch.randint(len(corpus), (int(rand.sum()),), generator=gen)]
        return x, mask, chosen, labels

    def mlm_loss(x, mask, chosen, labels):
        h = model.encode(x, mask)[chosen]  # [M,H]
        h = model.mlm_ln(F.gelu(model.mlm_dense(h)))
        logits = h @ torch.index_select(model.word.weight, 0, corpus).t() + model.mlm_bias[corpus]  # [M,|corpus|]
        target = row_of[labels]
        return F.cross_entropy(logits, target), (logits.argmax(-1) == target).float().sum()

    def dev_batches_of(dev):
        gen_dev = torch.Generator().manual_seed(777)
        return [mlm_batch(dev[i:i + 32], gen_dev) for i in range(0, len(dev), 32)]

    dev_batches = {name: dev_batches_of(d) for name, d in dev_sets.items()}
    counts = torch.bincount(torch.tensor([t for s in train for t in s]), minlength=V)[corpus].double() + 1
    log_unigram = (counts / counts.sum()).log()
    for name, batches in dev_batches.items():
        labels = torch.cat([b[3] for b in batches])
        print('dev %s: %d sequences, %d masked tokens, unigram cross-entropy %.4f (output vocabulary %d)' % (
            name, len(dev_sets[name]), len(labels), -log_unigram[row_of[labels]].mean().item(), len(corpus)), flush=True)

    def evaluate(batches):
        model.eval()
        loss = correct = n = 0
        with torch.no_grad():
            for b in batches:
                l, c = mlm_loss(*b)
                loss, correct, n = loss + l.item() * len(b[3]), correct + c.item(), n + len(b[3])
        model.train()
        return loss / n, correct / n

    schedule = args.schedule_steps or args.steps
    opt, gen, order, t0 = adamw(model, args.lr, args.beta2), torch.Generator().manual_seed(args.seed), [], time.time()
    train_loss = tokens = 0
    cpu0 = time.process_time()
    for step in range(args.steps):
        if len(order) < args.batch_size:
            order += random.sample(range(len(train)), len(train))
        rows = [train[order.pop()] for _ in range(args.batch_size)]
        for g in opt.param_groups:
            g['lr'] = lr_at(step, schedule, args.lr, args.warmup)
        tokens += sum(len(r) for r in rows)
        loss, _ = mlm_loss(*mlm_batch(rows, gen))
        train_loss += loss.item()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % args.eval_every == 0:
            train_time, cpu_time = time.time() - t0, time.process_time() - cpu0
            dev = ', '.join('dev %s MLM loss %.4f accuracy %.4f' % (name, *evaluate(b)) for name, b in dev_batches.items())
            print(f'step {step + 1} ({tokens / 1e6:.2f} M tokens): train %.4f, %s (%.0fs, CPU %.0fs)' % (
                train_loss / args.eval_every, dev, train_time, cpu_time), flush=True)
            # the times printed leave out evaluation
            train_loss, t0, cpu0 = 0, t0 + (time.time() - t0 - train_time), cpu0 + (time.process_time() - cpu0 - cpu_time)
    if args.save:
        torch.save(model.state_dict(), args.save)
else:
    train = data['sstTrain'][:args.limit] if args.limit else data['sstTrain']
    dev = data['sstDev']

    def logits_of(rows):
        ids, mask = padded([r['ids'] for r in rows])
        cls = model.encode(ids, mask)[:, 0]  # [B,H]
        return model.classifier(F.dropout(torch.tanh(model.pooler(cls)), DROP, model.training))  # [B,2]

    total, opt, step, best = args.epochs * math.ceil(len(train) / 32), adamw(model, args.ft_lr), 0, 0.0
    for epoch in range(args.epochs):
        idx = list(range(len(train)))
        random.shuffle(idx)
        for i in range(0, len(idx), 32):
            rows = [train[j] for j in idx[i:i + 32]]
            for g in opt.param_groups:
                g['lr'] = lr_at(step, total, args.ft_lr, 0.1)
            loss = F.cross_entropy(logits_of(rows), torch.tensor([r['y'] for r in rows]))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
        model.eval()
        with torch.no_grad():
            correct = sum((logits_of(dev[i:i + 128]).argmax(-1) == torch.tensor([r['y'] for r in dev[i:i + 128]])).sum().item() for i in range(0, len(dev), 128))
        model.train()
        best = max(best, correct / len(dev))
        print(f'epoch {epoch + 1}: SST-2 dev accuracy %.4f' % (correct / len(dev)), flush=True)
    print('best %.4f' % best)
