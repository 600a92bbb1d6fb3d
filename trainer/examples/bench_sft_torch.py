"""PyTorch + transformers doing the default `adamame-train sft` steps: the same Qwen2
config (read from a run's final/config.json), tokenizer, template, cutoff, batch size,
length buckets, AdamW, cosine schedule and clipping, f32 on the CPU. Prints tokens/s
(unpadded tokens, as metrics.jsonl counts them, first step excluded) and peak RSS.

    python3 trainer/examples/bench_sft_torch.py RUN/final DATA_DIR STEPS
"""
import glob, json, math, random, resource, sys, time
import pyarrow.parquet as pq
import torch
from tokenizers import Tokenizer
from transformers import Qwen2Config, Qwen2ForCausalLM

final, data, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.manual_seed(0); random.seed(0)
torch.set_num_threads(2)
tok = Tokenizer.from_file(f"{final}/tokenizer.json")
cfg = Qwen2Config(**json.load(open(f"{final}/config.json")))
model = Qwen2ForCausalLM(cfg).float().train()
eos = tok.token_to_id("<|endoftext|>")
rows = []
for f in sorted(glob.glob(f"{data}/data/train-*.parquet")):
    for r in pq.read_table(f, columns=["prompt", "reasoning", "answer"]).to_pylist():
        p = tok.encode(f"<|user|>\n{r['prompt']}\n<|assistant|>\n<think>\n", add_special_tokens=False).ids
        a = tok.encode(f"{r['reasoning'].rstrip()}\n</think>\n\n{r['answer'].strip()}<|endoftext|>", add_special_tokens=False).ids
        rows.append(((p + a)[:512], len(p)))  # no prompt of the default corpus reaches 512
batches = []
for w in range(0, len(rows), 1024):
    win = rows[w:w + 1024]; random.shuffle(win); win.sort(key=lambda r: len(r[0]))
    bs = [win[i:i + 16] for i in range(0, len(win), 16)]; random.shuffle(bs); batches += bs
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
warm = math.ceil(0.05 * 310)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / max(1, warm) if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / (310 - warm))))
tokens, seconds, losses = 0, 0.0, []
for step in range(steps):
    b = batches[step % len(batches)]
    L = max(len(r[0]) for r in b)
    ids = torch.tensor([r[0] + [eos] * (L - len(r[0])) for r in b])
    labels = torch.tensor([[-100] * r[1] + r[0][r[1]:] + [-100] * (L - len(r[0])) for r in b])
    t0 = time.perf_counter()
    loss = model(input_ids=ids, labels=labels).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step(); sched.step(); opt.zero_grad(set_to_none=True)
    dt = time.perf_counter() - t0
    losses.append(loss.item())
    if step > 0:
        tokens += sum(len(r[0]) for r in b); seconds += dt
print(json.dumps({"tokens_per_s": tokens / seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "first_loss": losses[0], "last_loss": losses[-1], "steps": steps}))
