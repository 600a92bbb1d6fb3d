#!/usr/bin/env python3
"""An independent re-implementation of the AdaMame release's SFT filter, for
comparison with `adamame-data build --preset paper` (agreement and speed).

Per response, in order: split into reasoning and answer (<think>...</think>;
s1 transcript markers; else the last blank line), `\\boxed{` present in the
answer, Math-Verify `verify(parse("$gold$"), parse(answer))`, and lingua (the
release's language set) on the math-stripped reasoning equal to the query
language. Unlike the release, math is stripped but ASCII words are kept.

Input: s1 JSON lines (`language`, `output`, `gold_answer`). Output: one JSON
line per record `{"keep": bool, "reason": ...}` on stdout; the rate on stderr.

    pip install lingua-language-detector math-verify
    python3 scripts/release_filter.py ../shared/data/traces/s1-mgsm/32B_system/fr.jsonl
"""
import json
import re
import sys
import time

from lingua import IsoCode639_1, LanguageDetectorBuilder
from math_verify import parse, verify

LANGS = "fr ja ko th pt ar en es vi zh bn sw te de ru".split()

MATH = [
    re.compile(r"\$\$.*?\$\$", re.S),
    re.compile(r"\$[^$]*\$"),
    re.compile(r"\\\[.*?\\\]", re.S),
    re.compile(r"\\\(.*?\\\)", re.S),
    re.compile(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.S),
    re.compile(r"\\[a-zA-Z]+(\{[^{}]*\})*"),
    re.compile(r"[0-9]+([.,][0-9]+)*"),
    re.compile(r"[+\-*/=<>^_{}()\[\]|×÷·%]"),
]


def detector():
    """lingua restricted to the release's language set."""
    return LanguageDetectorBuilder.from_iso_codes_639_1(
        *[getattr(IsoCode639_1, code.upper()) for code in LANGS]
    ).build()


def strip_math(text):
    for pattern in MATH:
        text = pattern.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def split(output):
    if "</think>" in output:
        before, _, answer = output.rpartition("</think>")
        return before.rpartition("<think>")[2], answer
    if "<|im_start|>think" in output:
        body = output.split("<|im_start|>think", 1)[1]
        if "<|im_start|>answer" in body:
            reasoning, answer = body.split("<|im_start|>answer", 1)
            return reasoning, answer.replace("<|im_end|>", "")
        output = body.replace("<|im_end|>", "")
    output = output.rstrip()
    if "\n\n" not in output:
        return None
    reasoning, _, answer = output.rpartition("\n\n")
    return reasoning, answer


def main():
    lid = detector()
    start = time.perf_counter()
    n = 0
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                n += 1
                parts = split(rec["output"])
                if parts is None or not parts[1].strip():
                    print(json.dumps({"keep": False, "reason": "no_answer"}))
                    continue
                reasoning, answer = parts
                if "\\boxed" not in answer:
                    print(json.dumps({"keep": False, "reason": "no_boxed"}))
                    continue
                if not verify(parse("$" + str(rec["gold_answer"]) + "$"), parse(answer)):
                    print(json.dumps({"keep": False, "reason": "wrong_answer"}))
                    continue
                lang = lid.detect_language_of(strip_math(reasoning))
                code = lang.iso_code_639_1.name.lower() if lang else "unknown"
                if code != rec["language"]:
                    print(json.dumps({"keep": False, "reason": "wrong_language", "trace_lang": code}))
                    continue
                print(json.dumps({"keep": True, "reason": None}))
    elapsed = time.perf_counter() - start
    print(f"{n} traces in {elapsed:.1f}s: {n / elapsed:.1f} traces/s", file=sys.stderr)


if __name__ == "__main__":
    main()
