#!/usr/bin/env python3
"""Generate pipeline/corpus/bad-input.jsonl: a small, deliberately broken input corpus.

Used by tests of `adamame-data build --input ...` to check that bad lines are
reported and skipped (never a crash, never a silently dropped good record).
It mixes 20 well-formed raw generation records (same schema and generator as
default.jsonl, see make_corpus.py) with malformed lines.  Deterministic; Python
3.11+, standard library only.  Licence: Apache-2.0 (our own work).

    python3 pipeline/corpus/make_bad_input.py            # writes bad-input.jsonl here
    python3 pipeline/corpus/make_bad_input.py --out X

The script prints one line per output line: `<line number>\t<kind>`; the same
table is in README.md.  Kinds starting with "good" are valid records; every other
line should be rejected (or, for `huge_boxed`, handled within the verifier's
budget: it is a valid record whose only candidate is ~1.6 MB of `\\boxed{`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_corpus  # noqa: E402

SEED = 7
HUGE_CHARS = 1_600_000  # decoded length of the huge candidate's `\boxed{` run


def good_records(n: int = 20) -> list[str]:
    lines, _ = make_corpus.build(seed=SEED, per_lang=6)
    out, seen = [], set()
    for line in lines:
        rid = json.loads(line)["id"]
        if rid not in seen:
            seen.add(rid)
            out.append(line)
    # take records round-robin across languages so all six appear
    by_lang: dict[str, list[str]] = {}
    for line in out:
        by_lang.setdefault(json.loads(line)["lang"], []).append(line)
    picked, i = [], 0
    while len(picked) < n:
        for lang in make_corpus.LANGS:
            if i < len(by_lang.get(lang, [])) and len(picked) < n:
                picked.append(by_lang[lang][i])
        i += 1
    return [p.replace('"id": "', '"id": "bad-input-', 1) for p in picked]


def dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def build() -> list[tuple[str, bytes]]:
    good = [g.encode("utf-8") for g in good_records()]
    q = {"id": "x-1", "lang": "fr", "question": "Combien font 2 + 2 ?", "gold": "4",
         "candidates": ["<think>\n2 + 2 = 4\n</think>\n\nLa réponse est \\boxed{4}."]}

    def without(field):
        d = dict(q, id=f"missing-{field}")
        del d[field]
        return dumps(d)

    bad = [
        ("malformed_json:truncated_object", b'{"id": "bad-1", "lang": "fr", "question": "Combien'),
        ("malformed_json:trailing_comma", b'{"id": "bad-2", "lang": "en", "gold": "4", "candidates": [],}'),
        ("malformed_json:single_quotes", b"{'id': 'bad-3', 'lang': 'en', 'gold': '4'}"),
        ("malformed_json:bare_words", b"this is not json at all"),
        ("invalid_utf8", b'{"id": "bad-utf8", "lang": "fr", "question": "caf\xc3 \xff\xfe au lait", "gold": "1", '
                         b'"candidates": ["\\\\boxed{1}"]}'),
        ("missing_field:question", without("question")),
        ("missing_field:gold", without("gold")),
        ("missing_field:candidates", without("candidates")),
        ("wrong_type:gold_object", dumps(dict(q, id="gold-object", gold={"value": 4}))),
        ("wrong_type:candidates_string", dumps(dict(q, id="candidates-string", candidates=q["candidates"][0]))),
        ("not_object:number", b"42"),
        ("not_object:array", b'[1, 2, 3]'),
        ("not_object:null", b"null"),
        ("empty_line", b""),
    ]
    huge = dict(q, id="huge-boxed", candidates=["<think>\n2 + 2 = 4\n</think>\n\n"
                                                  + "\\boxed{" * (HUGE_CHARS // len("\\boxed{"))])
    bad.append(("huge_boxed", dumps(huge)))

    # Interleave: good records spread between the bad lines.
    out: list[tuple[str, bytes]] = []
    gi = 0
    for i, (kind, line) in enumerate(bad):
        take = 2 if i < 5 else 1
        for _ in range(take):
            if gi < len(good):
                out.append(("good", good[gi]))
                gi += 1
        out.append((kind, line))
    out += [("good", g) for g in good[gi:]]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad-input.jsonl"))
    args = ap.parse_args()
    lines = build()
    with open(args.out, "wb") as f:
        for _, line in lines:
            f.write(line + b"\n")
    for i, (kind, _) in enumerate(lines, 1):
        print(f"{i}\t{kind}")
    print(f"wrote {args.out}: {len(lines)} lines, {os.path.getsize(args.out)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
