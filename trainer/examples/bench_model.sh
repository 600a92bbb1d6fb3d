#!/usr/bin/env bash
# Side-by-side throughput of adamame's model layer and PyTorch + transformers on
# the same ~8.4M-parameter Qwen2 config, same machine, same thread count.
# Needs `pip install torch transformers`. Usage (from the repo root):
#   bash trainer/examples/bench_model.sh [batch] [seq] [steps]
# ROUNDS=N (default 3) alternates the two N times and ends with the median of
# each figure and their ratios: single runs on a shared 2-core machine move
# by ±10% with the machine's load, PyTorch's more than ours.
set -euo pipefail
BATCH=${1:-8}; SEQ=${2:-512}; STEPS=${3:-2}
THREADS=${BENCH_THREADS:-$(nproc)}
ROUNDS=${ROUNDS:-3}
cargo build --release -q -p adamame-trainer --example bench_model
TARGET=${CARGO_TARGET_DIR:-target}
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for _ in $(seq "$ROUNDS"); do
  for cmd in "$TARGET/release/examples/bench_model $BATCH $SEQ $STEPS" \
             "python3 trainer/examples/bench_model_torch.py $BATCH $SEQ $STEPS"; do
    out=$(BENCH_THREADS=$THREADS RAYON_NUM_THREADS=$THREADS /usr/bin/time -f 'PEAK_RSS_KB %M' $cmd 2>&1)
    json=$(grep '^{' <<<"$out")
    rss=$(grep -o 'PEAK_RSS_KB [0-9]*' <<<"$out" | cut -d' ' -f2)
    echo "${json%\}}, \"peak_rss_mb\": $((rss / 1024)), \"threads\": $THREADS}" | tee -a "$results"
  done
done
python3 - "$results" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
ours = [r for r in runs if r["impl"].startswith("adamame")]
torch = [r for r in runs if not r["impl"].startswith("adamame")]
print(f"median of {len(ours)} rounds (ours / PyTorch, ratio; per-round ratios):")
for key in ["train_tokens_per_s", "greedy_b1_tokens_per_s", "sampled_b8_tokens_per_s", "peak_rss_mb"]:
    a = statistics.median(r[key] for r in ours)
    b = statistics.median(r[key] for r in torch)
    per = ", ".join(f"{x[key] / y[key]:.2f}" for x, y in zip(ours, torch))
    print(f"  {key:26} {a:9.1f} / {b:9.1f}  {a / b:5.2f}x  ({per})")
PY
