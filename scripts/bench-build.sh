#!/usr/bin/env bash
# Build throughput on the real traces, replicated to >= 100,000 records, per
# language-ID backend, with peak memory; beside it the release's Python filter
# (lingua-py + Math-Verify) on the 2,250 original traces, in the same run.
#
#   bash scripts/bench-build.sh [RECORDS]      (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
records="${1:-100000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -p adamame-pipeline --bin adamame-data >/dev/null
python3 -m pip install --quiet --disable-pip-version-check lingua-language-detector math-verify

traces=(../shared/data/traces/s1-mgsm/*/*.jsonl)
cat "${traces[@]}" > "$work/real.jsonl"
real=$(wc -l < "$work/real.jsonl")
copies=$(( (records + real - 1) / real ))
for _ in $(seq "$copies"); do cat "$work/real.jsonl"; done > "$work/big.jsonl"
bytes=$(stat -c %s "$work/big.jsonl")
echo "input: $((copies * real)) records ($((bytes / 1000000)) MB), $(nproc) cores"

run() { # label, args...
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$ADAMAME_BIN/adamame-data" build --quiet --out "$work/out" "$@"
  read -r secs kb < "$work/time"
  local n
  n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['source_records'])" "$work/out/manifest.json")
  printf '%-38s %8.1f s %10.0f records/s %8.0f MB peak RSS\n' "$label" "$secs" "$(echo "$n / $secs" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
}

for lid in lingua whatlang; do
  run "build --lid $lid (default preset)" -i "$work/big.jsonl" --lid "$lid"
  run "build --lid $lid --threads 1" -i "$work/big.jsonl" --lid "$lid" --threads 1
done
run "build --preset paper" -i "$work/big.jsonl" --preset paper
run "build --preset paper --threads 1" -i "$work/big.jsonl" --preset paper --threads 1
run "memory check: 1/4 of the input" -i "$work/big.jsonl" --shard 0/4

echo "release filter (Python: lingua-py + Math-Verify), one core, original traces:"
/usr/bin/time -f "%e s, %M KB peak RSS" python3 scripts/release_filter.py "${traces[@]}" > /dev/null
