#!/usr/bin/env python3
"""An independent re-implementation of the paper's evaluation metrics, to set
beside `adamame-data score --preset paper --json` (every metric within 0.05).

Input: candidate files, JSON lines {"question", "lang", "answer" (gold),
"candidates": ["<think>trace</think>answer", ...]}. Output: one JSON object
{"per_language": {lang: {metric: value}}} on stdout.

Definitions (ADAMAME.md, "Evaluation"): pass@1 / pass@k with Math-Verify on
the last \\boxed{} of the answer, else of the trace; on the math-stripped
trace, with lingua over the paper's languages: consistency (whole trace is
the query language), code-switch rate (lingua's multi-language detection
finds 2+ languages), LPR (every non-empty line is the query language or
undetectable), WPR over LPR-passing candidates (non-Latin query language: no
run of 2+ Latin letters; Latin one: no letter outside the Latin blocks), LCPR
(harmonic mean), mean reasoning tokens as characters / 4.

    pip install lingua-language-detector math-verify
    python3 scripts/paper_metrics.py candidates.jsonl
"""
import json
import re
import sys
import unicodedata
from collections import defaultdict

from math_verify import parse, verify

# The same language set, math patterns and detector as the release filter.
from release_filter import MATH, detector

LATIN_LANGS = {"fr", "pt", "en", "es", "vi", "sw", "de"}
LATIN_RUN = re.compile(r"[A-Za-z]{2,}")


def strip_math(text):
    """Math out, line breaks kept (LPR is per line)."""
    for pattern in MATH:
        text = pattern.sub(" ", text)
    return text


def last_boxed(text):
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1 : j]
    return None


def code(lang):
    return lang.iso_code_639_1.name.lower() if lang else None


def non_latin_letter(ch):
    return ch.isalpha() and "LATIN" not in unicodedata.name(ch, "")


def main():
    det = detector()
    per = defaultdict(lambda: defaultdict(list))
    for path in sys.argv[1:]:
        for line in open(path, encoding="utf-8"):
            rec = json.loads(line)
            lang, gold = rec["lang"], str(rec["answer"])
            correct = []
            for cand in rec["candidates"]:
                if "</think>" in cand:
                    trace, _, answer = cand.rpartition("</think>")
                    trace = trace.replace("<think>", "")
                else:
                    trace, answer = cand.replace("<think>", ""), ""
                boxed = last_boxed(answer) or last_boxed(trace)
                ok = boxed is not None and verify(parse("$" + gold + "$"), parse("$" + boxed + "$"))
                correct.append(bool(ok))
                stripped = strip_math(trace)
                p = per[lang]
                p["consistency"].append(code(det.detect_language_of(stripped)) == lang)
                langs = {code(r.language) for r in det.detect_multiple_languages_of(stripped)}
                p["code_switch"].append(len(langs) >= 2)
                lines = [l for l in stripped.split("\n") if l.strip()]
                lp = all(code(det.detect_language_of(l)) in (lang, None) for l in lines)
                p["lpr"].append(lp)
                if lp:
                    if lang in LATIN_LANGS:
                        wp = not any(non_latin_letter(ch) for ch in stripped)
                    else:
                        wp = LATIN_RUN.search(stripped) is None
                    p["wpr"].append(wp)
                p["tokens"].append(len(trace) / 4)
            per[lang]["pass1"].append(correct[0] if correct else False)
            per[lang]["passk"].append(any(correct))
    out = {}
    for lang, p in per.items():
        mean = lambda xs: sum(xs) / len(xs) if xs else 0.0
        lpr, wpr = mean(p["lpr"]), mean(p["wpr"])
        out[lang] = {
            "pass@1": mean(p["pass1"]),
            "pass@k": mean(p["passk"]),
            "consistency": mean(p["consistency"]),
            "code_switch_rate": mean(p["code_switch"]),
            "lpr": lpr,
            "wpr": wpr,
            "lcpr": 2 * lpr * wpr / (lpr + wpr) if lpr + wpr else 0.0,
            "mean_reasoning_tokens": mean(p["tokens"]),
        }
    print(json.dumps({"per_language": out}, indent=1))


if __name__ == "__main__":
    main()
