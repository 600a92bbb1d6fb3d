#!/usr/bin/env bash
# Builds the tools and curates the embedded sample corpus into ./adamame-out.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build --release --workspace --bins
"$ADAMAME_BIN/adamame-data" build "$@"
