#!/usr/bin/env bash
# Side by side: `adamame-train sft` (default tiny model) and PyTorch + transformers
# doing the same steps. Needs a release build, `adamame-data build` output in DATA,
# and torch + transformers + pyarrow for the second half. Numbers: docs/bench-sft.md.
set -euo pipefail
DATA=${1:-adamame-out}
STEPS=${2:-60}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/adamame-train}
OUT=$(mktemp -d)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "adamame-train peak RSS %M KB, %e s wall" "$BIN" sft --data "$DATA" --out "$OUT/run" --max-steps "$STEPS" --quiet
python3 - "$OUT/run/metrics.jsonl" <<'PY'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])][1:]
print(json.dumps({"adamame_tokens_per_s": sum(x["tokens"] for x in m) / sum(x["tokens"] / x["tokens_per_s"] for x in m)}))
PY
echo "load between: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "torch peak RSS %M KB, %e s wall" python3 "$(dirname "$0")/bench_sft_torch.py" "$OUT/run/final" "$DATA" "$STEPS"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$OUT"
