"""Opens an `adamame-data build` output folder with the dataframe tools users
reach for, and checks each sees the same rows and types. Prints one JSON line.

    python3 tests/python/read_output.py OUT_DIR
"""
import json
import sys

import datasets
import duckdb
import polars as pl
import pyarrow.parquet as pq

out = sys.argv[1]
manifest = json.load(open(f"{out}/manifest.json"))
train = manifest["splits"]["train"]
validation = manifest["splits"]["validation"]

table = pq.read_table(f"{out}/data")
assert table.num_rows == train + validation, (table.num_rows, train, validation)
meta = pq.read_metadata(next(f"{out}/{s['path']}" for s in manifest["shards"]))
keys = {k.decode() for k in meta.metadata}
assert {"huggingface", "ARROW:schema", "adamame.schema_version"} <= keys, keys
assert meta.row_group(0).column(0).statistics is not None

frame = pl.read_parquet(f"{out}/data/train-*.parquet")
assert frame.height == train, (frame.height, train)
assert frame.schema["cs_langs"] == pl.List(pl.String), frame.schema["cs_langs"]
assert frame.schema["correct"] == pl.Boolean

con = duckdb.connect()
n, langs = con.execute(
    f"select count(*), count(distinct query_lang) from read_parquet('{out}/data/*.parquet')"
).fetchone()
assert n == train + validation, n

ds = datasets.load_dataset(out)
assert ds["train"].num_rows == train, ds
assert ("validation" in ds) == (validation > 0), ds
assert ds["train"].features["cs_langs"].feature.dtype == "string", ds["train"].features
assert ds["train"].features["source_row"].dtype == "int64"
row = ds["train"][0]
assert row["query_lang"] == row["trace_lang"] and row["correct"] is True

# The rejects are LZ4 (LZ4_RAW) where the data is zstd: every tool opens them.
rejected = manifest["rejected_records"]
assert pq.read_table(f"{out}/rejects").num_rows == rejected
assert pl.read_parquet(f"{out}/rejects/*.parquet").height == rejected
assert con.execute(
    f"select count(*) from read_parquet('{out}/rejects/*.parquet') where reason <> ''"
).fetchone()[0] == rejected
print(json.dumps({"rows": n, "languages": langs, "train": ds["train"].num_rows,
                  "validation": ds["validation"].num_rows if validation else 0}))
