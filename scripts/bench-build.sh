#!/usr/bin/env bash
# Build throughput on the real traces, replicated to >= 100,000 records, per
# language-ID backend, with peak memory; beside it the release's Python filter
# (lingua-py + Math-Verify) on the 2,250 original traces, in the same run
# (median of three), and every build's ratio to it. The same filter also runs
# with lingua-py 1.x (pure Python, in its own virtual environment): the
# release does not pin a lingua version, and 1.x and 2.x (Rust underneath)
# differ fivefold in speed with the same decisions. Last, the default build
# and the lingua-py 2 filter take turns three times, each pair's ratio
# printed: a machine whose speed drifts within minutes moves both sides of a
# pair alike, where the table above sets a build against a median taken
# minutes later.
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
sync # so the first build does not pay for writing back the copy
input_records=$((copies * real))
echo "input: $input_records records ($((bytes / 1000000)) MB), $(nproc) cores"

run() { # label, args...
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$ADAMAME_BIN/adamame-data" build --quiet --out "$work/out" "$@"
  read -r secs kb < "$work/time"
  local n
  n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['source_records'])" "$work/out/manifest.json")
  local rate
  rate=$(echo "$n / $secs" | bc -l)
  printf '%s\t%s\n' "$label" "$rate" >> "$work/rates"
  printf '%-38s %8.1f s %10.0f records/s %8.0f MB peak RSS\n' "$label" "$secs" "$rate" "$(echo "$kb / 1024" | bc -l)"
}

for lid in lingua whatlang; do
  run "build --lid $lid (default preset)" -i "$work/big.jsonl" --lid "$lid"
  run "build --lid $lid --threads 1" -i "$work/big.jsonl" --lid "$lid" --threads 1
done
run "build --preset paper" -i "$work/big.jsonl" --preset paper
run "build --preset paper --threads 1" -i "$work/big.jsonl" --preset paper --threads 1
run "memory check: 1/4 of the input" -i "$work/big.jsonl" --shard 0/4

# The rate the Python filter prints on stderr, from its output on stdin.
traces_per_s() { grep -o '[0-9.]* traces/s' | cut -d' ' -f1; }

# The Python figure moves by about 10% from run to run: the median of three.
python_filter() { # label, python interpreter; prints the median rate last
  echo "release filter (Python: $1 + Math-Verify), one core, original traces, 3 runs:" >&2
  for i in 1 2 3; do
    /usr/bin/time -f "%e s, %M KB peak RSS" "$2" scripts/release_filter.py "${traces[@]}" \
      2> "$work/python$i" > /dev/null
    cat "$work/python$i" >&2
  done
  cat "$work"/python[123] | traces_per_s | sort -n | sed -n 2p
}
lingua1="$HOME/.cache/adamame/venv-lingua1"
if [ ! -x "$lingua1/bin/python" ]; then
  python3 -m venv "$lingua1"
  "$lingua1/bin/pip" install --quiet --disable-pip-version-check "lingua-language-detector<2" math-verify
fi
lingua_version() { "$1" -c 'import importlib.metadata as m; print(m.version("lingua-language-detector"))'; }
python_rate=$(python_filter "lingua-py $(lingua_version python3)" python3)
echo "median: $python_rate traces/s"
python1_rate=$(python_filter "lingua-py $(lingua_version "$lingua1/bin/python")" "$lingua1/bin/python")
echo "median: $python1_rate traces/s"
echo "against the Python filter (target: 50x), with lingua-py 2 | lingua-py 1:"
while IFS=$'\t' read -r label rate; do
  printf '  %-38s %6.1fx | %6.1fx\n' "$label" "$(echo "$rate / $python_rate" | bc -l)" \
    "$(echo "$rate / $python1_rate" | bc -l)"
done < "$work/rates"

# Side by side in turns: build, filter, three times; the median pair ratio.
echo "default build and lingua-py 2 filter in turns (pair ratios):"
: > "$work/pairs"
for i in 1 2 3; do
  /usr/bin/time -f "%e" -o "$work/time" "$ADAMAME_BIN/adamame-data" build --quiet \
    --out "$work/out" -i "$work/big.jsonl"
  build_rate=$(echo "$input_records / $(cat "$work/time")" | bc -l)
  filter_rate=$(python3 scripts/release_filter.py "${traces[@]}" 2>&1 >/dev/null | traces_per_s)
  ratio=$(echo "$build_rate / $filter_rate" | bc -l)
  printf '  pair %d: %8.0f records/s, %6.1f traces/s, %5.1fx\n' "$i" "$build_rate" "$filter_rate" "$ratio"
  echo "$ratio" >> "$work/pairs"
done
printf '  median pair ratio: %.1fx (target: 50x)\n' "$(sort -n "$work/pairs" | sed -n 2p)"
