//! Hostile input for `verify::check` (issue 3): every case must come back with
//! a verdict and a reason, quickly, without panicking. Plus property tests:
//! arbitrary strings and LaTeX-like token soups never panic.

use adamame_pipeline::verify::{check, check_with, last_boxed, Reason, VerifyConfig};
use proptest::prelude::*;
use std::time::{Duration, Instant};

/// Runs one check and returns its verdict, asserting it took < `limit`.
fn timed(gold: &str, resp: &str, limit: Duration) -> adamame_pipeline::verify::Verdict {
    let t = Instant::now();
    let v = check(gold, resp);
    let dt = t.elapsed();
    assert!(
        dt < limit,
        "took {dt:?} for gold {:?}… response {:?}…",
        &gold[..gold.len().min(40)],
        &resp[..resp.len().min(40)]
    );
    assert_eq!(v.correct, v.reason == Reason::Equal);
    v
}

const FAST: Duration = Duration::from_millis(500);

#[test]
fn empty_and_blank() {
    assert_eq!(timed("", "", FAST).reason, Reason::NoGold);
    assert_eq!(timed("5", "", FAST).reason, Reason::NoAnswer);
    assert_eq!(timed("5", "   \n\t ", FAST).reason, Reason::NoAnswer);
    assert_eq!(timed("  ", "5", FAST).reason, Reason::NoGold);
    assert_eq!(timed("$$", "5", FAST).reason, Reason::NoGold);
    assert!(!timed("5", "\\boxed{}", FAST).correct);
}

#[test]
fn unclosed_boxes() {
    for r in [
        "\\boxed{",
        "\\boxed{5",
        "\\boxed{\\boxed{",
        "\\boxed{{{{{",
        "\\fbox{",
        "\\boxed",
        "text \\boxed{ \\frac{1}{2",
    ] {
        let v = timed("5", r, FAST);
        assert!(!v.correct || r == "\\boxed{5", "{r}: {v:?}");
    }
    assert_eq!(last_boxed("\\boxed{"), Some(""));
    // a truncated final box still carries its content
    assert!(timed("5", "so the answer is \\boxed{5", FAST).correct);
}

#[test]
fn deep_nesting() {
    for depth in [60usize, 200, 5_000] {
        let braces = format!("{}5{}", "{".repeat(depth), "}".repeat(depth));
        let v = timed("5", &format!("\\boxed{{{braces}}}"), FAST);
        if depth <= 60 {
            assert!(v.correct, "depth {depth}: {v:?}");
        } else {
            assert!(
                matches!(
                    v.reason,
                    Reason::BudgetExceeded | Reason::Unparseable | Reason::NotEqual
                ),
                "depth {depth}: {v:?}"
            );
        }
        let parens = format!("{}5{}", "(".repeat(depth), ")".repeat(depth));
        timed("5", &format!("\\boxed{{{parens}}}"), FAST);
        timed(&braces, "\\boxed{5}", FAST);
        let unbalanced = "{".repeat(depth);
        timed("5", &format!("\\boxed{{{unbalanced}"), FAST);
        let minus = format!("\\boxed{{{}5}}", "-".repeat(depth));
        timed("5", &minus, FAST);
        let pow = format!("\\boxed{{{}2}}", "2^".repeat(depth));
        timed("5", &pow, FAST);
    }
}

#[test]
fn megabyte_inputs() {
    let digits = "1".repeat(1 << 20);
    let limit = Duration::from_secs(2);
    let v = timed("5", &digits, limit);
    assert!(!v.correct);
    let v = timed("5", &format!("\\boxed{{{digits}}}"), limit);
    assert_eq!(v.reason, Reason::BudgetExceeded);
    let v = timed(&digits, "\\boxed{5}", limit);
    assert!(!v.correct);
    let v = timed(
        "5",
        &format!("{} \\boxed{{5}}", "x ".repeat(1 << 19)),
        limit,
    );
    assert!(v.correct, "{v:?}");
    let v = timed("5", &"\\boxed{".repeat(100_000), limit);
    assert!(!v.correct);
    let v = timed("5", &"$".repeat(1 << 20), limit);
    assert!(!v.correct);
    let v = timed("5", &"答案是".repeat(100_000), limit);
    assert!(!v.correct);
    let cfg = VerifyConfig {
        last_number_fallback: true,
        ..VerifyConfig::default()
    };
    let t = Instant::now();
    let v = check_with("5", &format!("{} 5", "1 + ".repeat(200_000)), &cfg);
    assert!(t.elapsed() < limit);
    assert_eq!(v.correct, v.reason == Reason::Equal);
}

#[test]
fn malformed_latex() {
    for r in [
        "\\boxed{\\frac{1}}",
        "\\boxed{\\frac}",
        "\\boxed{\\frac{}{}}",
        "\\boxed{\\frac{1}{}}",
        "\\boxed{\\sqrt}",
        "\\boxed{\\sqrt[}",
        "\\boxed{\\sqrt[3]}",
        "\\boxed{\\begin{pmatrix}}",
        "\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 \\end{pmatrix}}",
        "\\boxed{\\left(}",
        "\\boxed{\\right)}",
        "\\boxed{^^^}",
        "\\boxed{_}",
        "\\boxed{\\text{}}",
        "\\boxed{\\text{",
        "\\boxed{1 +}",
        "\\boxed{* 2}",
        "\\boxed{()}",
        "\\boxed{[}",
        "\\boxed{\\{}",
        "\\boxed{|}",
        "\\boxed{\\}}",
        "\\boxed{\\\\}",
        "\\boxed{\\}",
        "\\",
        "$",
        "\\(",
        "\\[",
        "\\boxed{x = }",
        "\\boxed{\\log_}",
        "\\boxed{\\binom{5}}",
        "\\boxed{2^}",
        "\\boxed{%}",
        "\\boxed{\\pm}",
        "\\boxed{,,,}",
        "\\boxed{\\frac{1}{2}{3}}",
    ] {
        let v = timed("5", r, FAST);
        assert!(!v.correct, "{r}: {v:?}");
    }
}

#[test]
fn undefined_values() {
    for (g, r) in [
        ("1", "\\boxed{1/0}"),
        ("1", "\\boxed{\\frac{1}{0}}"),
        ("1", "\\boxed{0/0}"),
        ("1", "\\boxed{\\sqrt{-1}}"),
        ("1", "\\boxed{\\ln(0)}"),
        ("1", "\\boxed{\\log_1 5}"),
        ("1", "\\boxed{\\infty - \\infty}"),
        ("1", "\\boxed{NaN}"),
        ("\\frac{1}{0}", "\\boxed{\\frac{1}{0}}"),
        ("x/0", "\\boxed{x/0}"),
    ] {
        let v = timed(g, r, FAST);
        assert!(!v.correct, "{g} vs {r}: {v:?}");
    }
    assert_eq!(check("1", "\\boxed{1/0}").reason, Reason::Undefined);
}

#[test]
fn huge_exponents() {
    for r in [
        "\\boxed{10^{10^{10}}}",
        "\\boxed{2^{2^{2^{2^{2^{2}}}}}}",
        "\\boxed{9^{9^{9}}!}",
        "\\boxed{(10^{100})!}",
        "\\boxed{10^{-10^{10}}}",
        "\\boxed{10^{10^{10}} - 10^{10^{10}}}",
        "\\boxed{\\binom{10^{10}}{5}}",
        "\\boxed{1000000!}",
        "\\boxed{x^{10^{10}}}",
    ] {
        let v = timed("5", r, FAST);
        assert!(!v.correct, "{r}: {v:?}");
        timed(r, "\\boxed{5}", FAST);
        timed(r, r, FAST);
    }
    // a big but exact power still works
    assert!(check("1024", "\\boxed{2^{10}}").correct);
    assert!(check("1267650600228229401496703205376", "\\boxed{2^{100}}").correct);
}

#[test]
fn many_symbols_and_long_lists() {
    let vars: String = ('a'..='z').map(|c| format!("{c}+")).collect::<String>() + "1";
    timed(&vars, &format!("\\boxed{{{vars}}}"), FAST);
    let list: String = (0..5000)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    timed(&list, &format!("\\boxed{{{list}}}"), Duration::from_secs(2));
    let tuple = format!("({list})");
    timed(
        &tuple,
        &format!("\\boxed{{{tuple}}}"),
        Duration::from_secs(2),
    );
}

#[test]
fn check_is_thread_safe() {
    let cases: Vec<(String, String)> = (0..64)
        .map(|i| (i.to_string(), format!("so \\boxed{{{i}}}")))
        .collect();
    std::thread::scope(|s| {
        for chunk in cases.chunks(8) {
            s.spawn(move || {
                for (g, r) in chunk {
                    assert!(check(g, r).correct);
                }
            });
        }
    });
}

fn token_soup() -> impl Strategy<Value = String> {
    let tokens = vec![
        "\\boxed{",
        "}",
        "{",
        "\\frac",
        "\\dfrac",
        "\\sqrt",
        "^",
        "_",
        "(",
        ")",
        "[",
        "]",
        "\\{",
        "\\}",
        "1",
        "0",
        "9",
        "42",
        ",",
        ".",
        "-",
        "+",
        "*",
        "/",
        "=",
        "<",
        ">",
        "\\le",
        "\\ge",
        "\\neq",
        "x",
        "y",
        "e",
        "i",
        "\\pi",
        "\\infty",
        "%",
        "\\%",
        "$",
        "$$",
        "\\(",
        "\\)",
        "\\[",
        "\\]",
        "\\left",
        "\\right",
        "\\text{",
        "\\mathrm{",
        "答案是",
        "答え:",
        "๑",
        "٣",
        "১",
        "７",
        "万",
        " ",
        "\n",
        "\\begin{pmatrix}",
        "\\end{pmatrix}",
        "&",
        "\\\\",
        "!",
        "\\cdot",
        "\\times",
        "\\div",
        "10^{10^{10}}",
        "\\,",
        "\\!",
        "{,}",
        "'",
        "**",
        "The answer is",
        "Answer:",
        "Ответ:",
        "\\pm",
        "\\cup",
        "\\in",
        "\\approx",
        "|",
        "\\sin",
        "\\log_",
        "\\ln",
        "\\binom",
        "\\fbox{",
        "\\boxed ",
        "<|im_start|>answer",
        "</think>",
        "dollars",
        "ドル",
        "\\$",
        "€",
        "1,000",
        "4,5",
        "0.333333",
        "\\frac{1}{0}",
        "\\sqrt{-1}",
        "9!",
    ];
    prop::collection::vec(prop::sample::select(tokens), 0..48).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn random_strings_never_panic(gold in ".{0,64}", resp in "(?s).{0,400}") {
        let v = check(&gold, &resp);
        prop_assert_eq!(v.correct, v.reason == Reason::Equal);
        let _ = last_boxed(&resp);
    }

    #[test]
    fn latex_soup_never_panics(gold in token_soup(), resp in token_soup()) {
        let t = Instant::now();
        let v = check(&gold, &resp);
        prop_assert!(t.elapsed() < Duration::from_millis(500));
        prop_assert_eq!(v.correct, v.reason == Reason::Equal);
        let cfg = VerifyConfig { last_number_fallback: true, ..VerifyConfig::default() };
        let w = check_with(&resp, &gold, &cfg);
        prop_assert_eq!(w.correct, w.reason == Reason::Equal);
    }

    #[test]
    fn an_integer_matches_itself_boxed(n in any::<i64>()) {
        let v = check(&n.to_string(), &format!("So the result is \\boxed{{{n}}}."));
        prop_assert!(v.correct, "{:?}", v);
    }

    #[test]
    fn a_fraction_matches_its_decimal(p in 1i64..1000, q in 1i64..64) {
        let dec = format!("{:.10}", p as f64 / q as f64);
        let v = check(&format!("\\frac{{{p}}}{{{q}}}"), &format!("\\boxed{{{dec}}}"));
        prop_assert!(v.correct, "{}/{} vs {}: {:?}", p, q, dec, v);
    }
}
