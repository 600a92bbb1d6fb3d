"""PyTorch + transformers twin of bench_model.rs: same config, same thread count,
same steps (forward + backward + AdamW, full fine-tuning, f32) and generation."""
import json, os, sys, time

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

batch, seq, steps = (int(a) for a in (sys.argv[1:4] + ["8", "512", "3"][len(sys.argv[1:4]):]))
torch.set_num_threads(int(os.environ.get("BENCH_THREADS", os.cpu_count())))
torch.manual_seed(0)
cfg = Qwen2Config(vocab_size=8192, hidden_size=256, intermediate_size=768, num_hidden_layers=8,
                  num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=2048,
                  rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                  tie_word_embeddings=True)
model = Qwen2ForCausalLM(cfg)
params = sum(p.numel() for p in model.parameters())
opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
ids = torch.randint(0, 8192, (batch, seq))

def step():
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)

model.train()
step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
train_tps = batch * seq * steps / (time.perf_counter() - t0)

model.eval()
prompt = torch.tensor([[(i * 31 % 8000) + 1 for i in range(16)]])
gen = []
for rows, sample in [(1, False), (8, True)]:
    p = prompt.repeat(rows, 1)
    t0 = time.perf_counter()
    with torch.no_grad():
        out = model.generate(p, attention_mask=torch.ones_like(p), max_new_tokens=128, min_new_tokens=128,
                             do_sample=sample, temperature=1.0 if sample else None, top_p=1.0 if sample else None,
                             top_k=0 if sample else None, pad_token_id=0)
    gen.append((out.shape[1] - 16) * rows / (time.perf_counter() - t0))
print(json.dumps({"impl": "PyTorch + transformers", "torch": torch.__version__, "params": params, "batch": batch,
                  "seq": seq, "steps": steps, "train_tokens_per_s": round(train_tps, 1),
                  "greedy_b1_tokens_per_s": round(gen[0], 1), "sampled_b8_tokens_per_s": round(gen[1], 1)}))
