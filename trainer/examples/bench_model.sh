#!/usr/bin/env bash
# Side-by-side throughput of adamame's model layer and PyTorch + transformers on
# the same ~8.4M-parameter Qwen2 config, same machine, same thread count.
# Needs `pip install torch transformers`. Usage (from the repo root):
#   bash trainer/examples/bench_model.sh [batch] [seq] [steps]
set -euo pipefail
BATCH=${1:-8}; SEQ=${2:-512}; STEPS=${3:-2}
THREADS=${BENCH_THREADS:-$(nproc)}
cargo build --release -q -p adamame-trainer --example bench_model
TARGET=${CARGO_TARGET_DIR:-target}
for cmd in "$TARGET/release/examples/bench_model $BATCH $SEQ $STEPS" \
           "python3 trainer/examples/bench_model_torch.py $BATCH $SEQ $STEPS"; do
  out=$(BENCH_THREADS=$THREADS RAYON_NUM_THREADS=$THREADS /usr/bin/time -f 'PEAK_RSS_KB %M' $cmd 2>&1)
  json=$(grep '^{' <<<"$out")
  rss=$(grep -o 'PEAK_RSS_KB [0-9]*' <<<"$out" | cut -d' ' -f2)
  echo "${json%\}}, \"peak_rss_mb\": $((rss / 1024)), \"threads\": $THREADS}"
done
