#!/usr/bin/env bash
# Installs what the tests need, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/install-python-tools.sh
bash scripts/fetch-lid-model.sh     # fastText's lid.176.ftz, for the fasttext backend's tests
# The end-to-end tests drive the binaries: build them first.
cargo build --release --workspace --bins
cargo test --release --workspace "$@"
