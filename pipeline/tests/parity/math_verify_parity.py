#!/usr/bin/env python3
"""Math-Verify parity run over the real traces (issue 3).

For every trace in ``--traces`` (default ``../shared/data/traces`` relative to
the repository root) this takes the answer part of ``output`` (the text after
the last ``<|im_start|>answer``; without one, the last chat segment, i.e. the
reasoning) and asks Hugging Face Math-Verify

    verify(parse("$" + gold + "$"), parse(answer_part))

It writes one JSON line per trace to ``--out`` (default
``pipeline/tests/fixtures/verify_mathverify_verdicts.jsonl``):

    {"source": "s1-mgsm/14B_NxN/es.jsonl", "line": 0, "gold": "18",
     "mv_pred": ["18", "18"], "mv_correct": true}

and prints Math-Verify's throughput (verifications per second, parse of both
sides + verify, single process).  The Rust side
(``pipeline/tests/verify_parity.rs`` and ``examples/bench_verify.rs``) uses the
same answer-part rule, see ``adamame_pipeline::verify::answer_part``.

Reproduce:
    pip install math-verify
    python3 pipeline/tests/parity/math_verify_parity.py
"""

import argparse
import glob
import json
import os
import sys
import time

from math_verify import parse, verify

ANSWER_TAG = "<|im_start|>answer"
SEG_TAG = "<|im_start|>"
END_TAG = "<|im_end|>"


def answer_part(output: str) -> str:
    """Mirror of ``adamame_pipeline::verify::answer_part``."""
    k = output.rfind(ANSWER_TAG)
    if k >= 0:
        rest = output[k + len(ANSWER_TAG):]
    else:
        k = output.rfind(SEG_TAG)
        if k < 0:
            rest = output
        else:
            rest = output[k + len(SEG_TAG):]
            # drop the role name ("think", "assistant", ...) on the header line
            i = 0
            while i < len(rest) and rest[i].isascii() and rest[i].isalpha():
                i += 1
            rest = rest[i:]
    e = rest.find(END_TAG)
    if e >= 0:
        rest = rest[:e]
    return rest


def gold_str(g) -> str:
    if isinstance(g, str):
        return g
    if isinstance(g, bool):
        return str(g).lower()
    if isinstance(g, float) and g.is_integer():
        return str(int(g))
    return str(g)


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.abspath(os.path.join(here, "..", "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", default=os.path.join(repo, "..", "shared", "data", "traces"))
    ap.add_argument(
        "--out",
        default=os.path.join(repo, "pipeline", "tests", "fixtures", "verify_mathverify_verdicts.jsonl"),
    )
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()

    files = sorted(glob.glob(os.path.join(args.traces, "**", "*.jsonl"), recursive=True))
    if not files:
        print(f"no traces under {args.traces}", file=sys.stderr)
        return 1
    items = []
    for f in files:
        rel = os.path.relpath(f, args.traces)
        with open(f, encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if not line.strip():
                    continue
                r = json.loads(line)
                items.append((rel, i, gold_str(r["gold_answer"]), answer_part(r["output"])))
    if args.limit:
        items = items[: args.limit]

    rows = []
    t0 = time.perf_counter()
    for rel, i, gold, ans in items:
        g = parse("$" + gold + "$")
        p = parse(ans)
        ok = bool(verify(g, p))
        rows.append(
            {"source": rel, "line": i, "gold": gold, "mv_pred": [str(x) for x in p], "mv_correct": ok}
        )
    dt = time.perf_counter() - t0

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    n = len(rows)
    correct = sum(r["mv_correct"] for r in rows)
    print(
        json.dumps(
            {
                "traces": n,
                "mv_correct": correct,
                "seconds": round(dt, 3),
                "verifications_per_second": round(n / dt, 1) if dt > 0 else None,
                "out": os.path.relpath(args.out, repo),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
