#!/usr/bin/env python3
"""Whole-trace language: our `--lid lingua` against lingua-py.

    pip install lingua-language-detector
    cargo run --release -p adamame-pipeline --example bench_lang -- --dump-stripped /tmp/stripped.jsonl
    python3 pipeline/tests/parity/lingua_parity.py /tmp/stripped.jsonl

The dump holds every real trace of ../shared/data/traces after our math
stripping, with lingua-rs's whole-text verdict (`lingua_rs`) and the
`trace_lang` of our default measures under `--lid lingua` (`ours`). Here
lingua-py, restricted to the same 15 languages, judges the same stripped
text. Prints the agreement of each with lingua-py and the disagreements.
"""
import json
import sys
from collections import Counter

from lingua import Language, LanguageDetectorBuilder

LANGS = ["ar", "bn", "de", "en", "es", "fr", "ja", "ko", "pt", "ru", "sw", "te", "th", "vi", "zh"]


def main(path: str) -> int:
    by_code = {l.iso_code_639_1.name.lower(): l for l in Language.all()}
    detector = LanguageDetectorBuilder.from_languages(*[by_code[c] for c in LANGS]).build()
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    agree_rs = agree_ours = 0
    diffs = Counter()
    for i, r in enumerate(rows):
        lang = detector.detect_language_of(r["text"])
        py = lang.iso_code_639_1.name.lower() if lang is not None else "unknown"
        agree_rs += py == r["lingua_rs"]
        agree_ours += py == r["ours"]
        if py != r["ours"]:
            diffs[(r["query"], r["ours"], py)] += 1
            print(f"row {i} (query {r['query']}): ours {r['ours']} lingua-py {py} lingua-rs {r['lingua_rs']}")
    n = len(rows)
    print(f"lingua-rs vs lingua-py: {agree_rs}/{n} = {agree_rs / n:.4f}")
    print(f"ours (--lid lingua trace_lang) vs lingua-py: {agree_ours}/{n} = {agree_ours / n:.4f}")
    print("disagreements (query, ours, lingua-py):", dict(diffs))
    return 0 if agree_ours / n >= 0.995 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/stripped.jsonl"))
