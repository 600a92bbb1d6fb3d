#!/usr/bin/env bash
# Python readers the end-to-end tests open our Parquet with (pyarrow, polars,
# DuckDB, Hugging Face datasets). Installed from PyPI; skipped when present.
set -euo pipefail
if python3 -c "import pyarrow, polars, duckdb, datasets" 2>/dev/null; then
  exit 0
fi
python3 -m pip install --quiet --disable-pip-version-check pyarrow polars duckdb datasets
