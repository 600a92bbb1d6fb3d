"""Checks that transformers loads an SFT `final/` folder (model and tokenizer) and gives
the same per-token log-probabilities as `adamame-train logprobs` on it. Needs
`pip install torch transformers`; not part of CI.

    python3 trainer/scripts/check_sft_final.py adamame-runs/sft/final path/to/adamame-train [data-dir]
"""
import json, subprocess, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

FINAL = sys.argv[1] if len(sys.argv) > 1 else "adamame-runs/sft/final"
BIN = sys.argv[2] if len(sys.argv) > 2 else "adamame-train"
DATA = sys.argv[3] if len(sys.argv) > 3 else None

texts = [
    "<|user|>\nRaisonnez étape par étape.\n\nCombien font 48 + 24 ?\n<|assistant|>\n<think>\n48 + 24 = 72\n</think>\n\nLa réponse est \\boxed{72}.<|endoftext|>",
    "ひなたさんはビー玉を45個持っています。25個もらいました。 45 + 25 = 70",
    "자동차가 시속 45km로 3시간 동안 달렸습니다. ระยะทาง = 135",
]
if DATA:  # a few curated rows rendered as the plain template renders them
    import pyarrow.parquet as pq, glob
    t = pq.read_table(sorted(glob.glob(f"{DATA}/data/train-*.parquet"))[0]).slice(0, 5).to_pylist()
    texts += [f"<|user|>\n{r['prompt']}\n<|assistant|>\n<think>\n{r['reasoning']}\n</think>\n\n{r['answer']}<|endoftext|>" for r in t]

model = AutoModelForCausalLM.from_pretrained(FINAL, dtype=torch.float32).eval()
tok = AutoTokenizer.from_pretrained(FINAL)
ours = subprocess.run([BIN, "logprobs", "--model", FINAL], input="".join(json.dumps({"text": t}) + "\n" for t in texts),
                      capture_output=True, text=True, check=True).stdout.splitlines()
worst = 0.0
for text, line in zip(texts, ours):
    mine = json.loads(line)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert ids == mine["tokens"], "tokenizations differ"
    with torch.no_grad():
        lp = torch.log_softmax(model(torch.tensor([ids])).logits[0].double(), -1)
    hf = torch.tensor([lp[i - 1, ids[i]].item() for i in range(1, len(ids))])
    diff = (hf - torch.tensor(mine["logprobs"]).double()).abs().max().item()
    worst = max(worst, diff)
    print(f"{len(ids):4d} tokens  max |Δ logprob| {diff:.2e}")
print(f"{len(texts)} texts, worst {worst:.2e}")
assert worst <= 1e-3, worst
