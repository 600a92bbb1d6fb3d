//! Answer verification: a multilingual, thread-safe Math-Verify in Rust.
//!
//! [`check`] takes a gold answer (a bare answer such as `18`, `\frac{1}{2}`,
//! `$[0, 1)$`) and a free-text response, finds the response's final answer
//! ([`extract`]), normalizes it ([`normalize`]), parses both sides into an
//! AST ([`expr`]) and decides equality ([`compare`]): exact rationals for
//! numbers, rounding to 6 significant digits for floats, seeded random-point
//! evaluation for symbolic expressions, ordered tuples, unordered sets,
//! intervals, relations and matrices.
//!
//! All work is bounded by a [`Budget`] (input length, nesting depth, steps)
//! instead of signals, so `check` is safe to call from many threads and
//! returns a [`Verdict`] with a [`Reason`] for any input, never panicking.

pub mod compare;
pub mod expr;
pub mod extract;
pub mod normalize;
pub mod numeral;
pub mod rational;

pub use expr::Budget;
pub use extract::last_boxed;

use crate::jsonl::{map_lines, str_field, LineStats};
use compare::{is_collection, Cmp};
use expr::{Node, PErr, Steps};
use normalize::NormOpts;
use std::io::{BufRead, Write};

/// Verification settings.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyConfig {
    /// `10%` equals `0.1` (Math-Verify: yes).
    pub percent_as_fraction: bool,
    /// `10%` equals `10` (Math-Verify: yes for integers).
    pub percent_face_value: bool,
    /// Significant digits kept when a float literal meets a non-terminating
    /// or irrational value (`1/3` vs `0.333333`).
    pub float_sig_digits: usize,
    /// Relative tolerance accepted in the same situation (guards rounding
    /// boundaries such as 0.4999995 vs 0.5000004).
    pub float_rel_tol: f64,
    /// Take the last number / expression of a long response when there is no
    /// box, cue or math environment (Math-Verify always does; off by default).
    pub last_number_fallback: bool,
    /// A response of at most this many characters counts as a bare answer:
    /// it may be parsed whole, or its last number taken (0 disables).
    pub short_answer_chars: usize,
    /// Look for localized answer cues ("the answer is", "ответ:", "答案是" …).
    pub answer_cues: bool,
    /// Read number words as numbers (`\boxed{quinze}`, "the answer is
    /// twenty-one"); off by default because words like "one" are common in prose.
    pub number_words: bool,
    /// Work limits.
    pub budget: Budget,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            percent_as_fraction: true,
            percent_face_value: true,
            float_sig_digits: 6,
            float_rel_tol: 1e-6,
            last_number_fallback: false,
            short_answer_chars: 160,
            answer_cues: true,
            number_words: false,
            budget: Budget::default(),
        }
    }
}

impl VerifyConfig {
    /// Math-Verify's extraction: the last number of any response counts.
    pub fn math_verify_like() -> Self {
        VerifyConfig {
            last_number_fallback: true,
            ..VerifyConfig::default()
        }
    }
}

/// Why a verdict came out as it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The answers are equal.
    Equal,
    /// Both sides parsed and differ.
    NotEqual,
    /// No answer found in the response.
    NoAnswer,
    /// The gold answer is empty or unusable.
    NoGold,
    /// An answer was found but could not be parsed (and its text differs).
    Unparseable,
    /// A work limit was hit (length, depth, steps, digits, exponents).
    BudgetExceeded,
    /// The comparison is undefined (division by zero, NaN, infinities).
    Undefined,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Equal => "equal",
            Reason::NotEqual => "not_equal",
            Reason::NoAnswer => "no_answer",
            Reason::NoGold => "no_gold",
            Reason::Unparseable => "unparseable",
            Reason::BudgetExceeded => "budget_exceeded",
            Reason::Undefined => "undefined",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The answer text taken from the response.
    pub extracted: Option<String>,
    /// Its normalized form (the parsed expression, printed).
    pub normalized: Option<String>,
    pub correct: bool,
    pub reason: Reason,
}

impl Verdict {
    fn new(extracted: Option<String>, normalized: Option<String>, reason: Reason) -> Verdict {
        Verdict {
            extracted,
            normalized,
            correct: reason == Reason::Equal,
            reason,
        }
    }
}

/// The answer part of a chat transcript: the text after the last
/// `<|im_start|>answer` (up to `<|im_end|>`); without one, the last chat
/// segment without its role name (the reasoning). Mirrors
/// `pipeline/tests/parity/math_verify_parity.py`.
pub fn answer_part(output: &str) -> &str {
    const ANSWER: &str = "<|im_start|>answer";
    const SEG: &str = "<|im_start|>";
    const END: &str = "<|im_end|>";
    let rest = if let Some(k) = output.rfind(ANSWER) {
        &output[k + ANSWER.len()..]
    } else if let Some(k) = output.rfind(SEG) {
        let r = &output[k + SEG.len()..];
        let n = r.bytes().take_while(|c| c.is_ascii_alphabetic()).count();
        &r[n..]
    } else {
        output
    };
    match rest.find(END) {
        Some(e) => &rest[..e],
        None => rest,
    }
}

/// Gold is a bare answer; response is free text (answer part preferred by the caller).
pub fn check(gold: &str, response: &str) -> Verdict {
    check_with(gold, response, &VerifyConfig::default())
}

fn cut_tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut i = s.len() - max;
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// Fast path: both sides plain ASCII integers.
fn plain_int(s: &str) -> Option<&str> {
    let t = s.trim();
    let body = t.strip_prefix('-').unwrap_or(t);
    if body.is_empty() || body.len() > 30 || !body.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(t)
}

fn same_int(a: &str, b: &str) -> bool {
    let (na, a) = match a.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, a),
    };
    let (nb, b) = match b.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, b),
    };
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a == b && (na == nb || a.is_empty())
}

struct Gold {
    node: Node,
    int: Option<String>,
    /// The list reading of an ambiguous gold such as `-2,1` (decimal first).
    alt: Option<Node>,
}

/// Parses a normalized answer; a failing chain `a = b = c` is retried with
/// its last part (as Math-Verify does), e.g. `S_{MBCN}:S=7:32` → `7:32`.
fn parse_lenient(norm: &str, budget: &Budget) -> Result<Node, PErr> {
    match expr::parse(norm, budget) {
        Err(PErr::Syntax) if norm.contains('=') && !norm.contains([',', ';']) => {
            let last = norm.rsplit('=').next().unwrap_or("").trim();
            if last.is_empty() {
                return Err(PErr::Syntax);
            }
            expr::parse(last, budget)
        }
        r => r,
    }
}

fn parse_gold(gold: &str, cfg: &VerifyConfig) -> Result<Gold, Reason> {
    let g = gold.trim();
    if g.is_empty() {
        return Err(Reason::NoGold);
    }
    if g.len() > cfg.budget.max_input {
        return Err(Reason::BudgetExceeded);
    }
    if let Some(i) = plain_int(g) {
        let node = expr::num_node(i, &cfg.budget).map_err(|_| Reason::BudgetExceeded)?;
        return Ok(Gold {
            node,
            int: Some(i.to_string()),
            alt: None,
        });
    }
    let opts = NormOpts {
        decimal_comma: true,
        alt_separators: false,
        math_context: true,
        number_words: cfg.number_words,
    };
    let mut budget_hit = false;
    // a box, or the whole gold
    let first: Option<String> = extract::boxed_answer(g).map(|b| b.into_owned());
    let direct = first.as_deref().unwrap_or(g);
    let norm = normalize::normalize(direct, &opts);
    if !norm.is_empty() {
        match parse_lenient(&norm, &cfg.budget) {
            Ok(node) => {
                // `-2,1`: a decimal or a list? keep the list reading as an alternative
                let alt = if matches!(node, Node::Num(_) | Node::Dec(..))
                    && norm.contains('.')
                    && !direct.contains('.')
                {
                    let list = normalize::normalize(
                        direct,
                        &NormOpts {
                            decimal_comma: false,
                            ..opts
                        },
                    );
                    expr::parse(&list, &cfg.budget).ok().filter(is_collection)
                } else {
                    None
                };
                return Ok(Gold {
                    int: plain_int(&norm).map(str::to_string),
                    node,
                    alt,
                });
            }
            Err(PErr::Budget) => budget_hit = true,
            Err(PErr::Syntax) => {}
        }
    }
    // a gold written as a solution: extract like a response
    let opts_x = extract::ExtractOpts {
        last_number_fallback: true,
        short_answer_chars: cfg.short_answer_chars,
        cues: true,
        join_boxes: true,
        number_words: cfg.number_words,
    };
    for cand in extract::Extractor::new(g, opts_x).take(12) {
        let norm = normalize::normalize(&cand.text, &opts);
        if norm.is_empty() {
            continue;
        }
        match parse_lenient(&norm, &cfg.budget) {
            Ok(node) => {
                return Ok(Gold {
                    int: plain_int(&norm).map(str::to_string),
                    node,
                    alt: None,
                })
            }
            Err(PErr::Budget) => budget_hit = true,
            Err(PErr::Syntax) => {}
        }
    }
    if budget_hit {
        return Err(Reason::BudgetExceeded);
    }
    // a text answer
    let t = norm.trim();
    if t.is_empty() {
        return Err(Reason::NoGold);
    }
    Ok(Gold {
        node: Node::Text(t.to_lowercase().into()),
        int: None,
        alt: None,
    })
}

/// [`check`] with explicit settings.
pub fn check_with(gold: &str, response: &str, cfg: &VerifyConfig) -> Verdict {
    let gold = match parse_gold(gold, cfg) {
        Ok(g) => g,
        Err(r) => return Verdict::new(None, None, r),
    };
    let was_cut = response.len() > cfg.budget.max_input;
    let response = cut_tail(response, cfg.budget.max_input);
    let mut v = check_response(&gold, response, cfg);
    if was_cut && v.reason == Reason::NoAnswer {
        v.reason = Reason::BudgetExceeded;
    }
    v
}

fn check_response(gold: &Gold, response: &str, cfg: &VerifyConfig) -> Verdict {
    // the answer part first, the reasoning as fallback
    let markers = ["<|im_start|>answer", "</think>"];
    // (a byte search for '<' is much cheaper than two substring searches)
    let has_marker = response.as_bytes().contains(&b'<');
    for m in markers.iter().filter(|_| has_marker) {
        if let Some(k) = response.rfind(m) {
            let part = &response[k + m.len()..];
            let part = part.find("<|im_end|>").map(|e| &part[..e]).unwrap_or(part);
            let v = check_text(gold, part, cfg);
            if v.reason != Reason::NoAnswer {
                return v;
            }
            return check_text(gold, &response[..k], cfg);
        }
    }
    check_text(gold, response, cfg)
}

fn check_text(gold: &Gold, text: &str, cfg: &VerifyConfig) -> Verdict {
    let opts = extract::ExtractOpts {
        last_number_fallback: cfg.last_number_fallback,
        short_answer_chars: cfg.short_answer_chars,
        cues: cfg.answer_cues,
        join_boxes: is_collection(&gold.node) || gold.alt.is_some(),
        number_words: cfg.number_words,
    };
    let base_opts = NormOpts {
        decimal_comma: !is_collection(&gold.node),
        alt_separators: false,
        math_context: false,
        number_words: cfg.number_words,
    };
    let mut first_unparsed: Option<(String, String)> = None;
    let mut budget_hit = false;
    for cand in extract::Extractor::new(text, opts).take(24) {
        let raw = cand.text.trim();
        if raw.is_empty() {
            if first_unparsed.is_none() {
                first_unparsed = Some((String::new(), String::new()));
            }
            continue;
        }
        // fast path: integer vs integer
        if let (Some(g), Some(p)) = (gold.int.as_deref(), plain_int(raw)) {
            let reason = if same_int(g, p) {
                Reason::Equal
            } else {
                Reason::NotEqual
            };
            return Verdict::new(Some(raw.to_string()), Some(canonical_int(p)), reason);
        }
        // (a box may shrink a lot under normalization: \text{…} units; anything
        // else longer than the answer limit is not an answer)
        let limit = if cand.source == extract::Source::Boxed {
            cfg.budget.max_answer.saturating_mul(16)
        } else {
            cfg.budget.max_answer
        };
        if raw.len() > limit {
            budget_hit = true;
            if first_unparsed.is_none() {
                first_unparsed = Some((
                    raw.chars().take(64).collect::<String>() + "…",
                    String::new(),
                ));
            }
            continue;
        }
        let norm_opts = NormOpts {
            math_context: matches!(
                cand.source,
                extract::Source::Boxed | extract::Source::Env | extract::Source::Whole
            ),
            ..base_opts
        };
        let norm = normalize::normalize(raw, &norm_opts);
        if norm.is_empty() {
            if first_unparsed.is_none() {
                first_unparsed = Some((raw.to_string(), norm));
            }
            continue;
        }
        match parse_lenient(&norm, &cfg.budget) {
            Ok(node) => {
                let mut steps = Steps {
                    left: cfg.budget.max_steps,
                };
                let c = compare::equal(&gold.node, &node, cfg, &mut steps);
                // the list reading of an ambiguous gold (`-2,1`)
                if c != Cmp::Equal {
                    if let Some(alt_gold) = &gold.alt {
                        let list_norm = normalize::normalize(
                            raw,
                            &NormOpts {
                                decimal_comma: false,
                                alt_separators: false,
                                ..norm_opts
                            },
                        );
                        if let Ok(p) = parse_lenient(&list_norm, &cfg.budget) {
                            let mut steps = Steps {
                                left: cfg.budget.max_steps,
                            };
                            if compare::equal(alt_gold, &p, cfg, &mut steps) == Cmp::Equal {
                                return Verdict::new(
                                    Some(raw.to_string()),
                                    Some(p.to_string()),
                                    Reason::Equal,
                                );
                            }
                        }
                    }
                }
                // an ambiguous lone number (12.000, 1,234): the other reading may match
                if c == Cmp::NotEqual && !is_collection(&gold.node) && alt_candidate(raw) {
                    let alt = normalize::normalize(
                        raw,
                        &NormOpts {
                            alt_separators: true,
                            ..norm_opts
                        },
                    );
                    if alt != norm {
                        if let Ok(alt_node) = expr::parse(&alt, &cfg.budget) {
                            let mut steps = Steps {
                                left: cfg.budget.max_steps,
                            };
                            if compare::equal(&gold.node, &alt_node, cfg, &mut steps) == Cmp::Equal
                            {
                                return Verdict::new(
                                    Some(raw.to_string()),
                                    Some(alt_node.to_string()),
                                    Reason::Equal,
                                );
                            }
                        }
                    }
                }
                let reason = match c {
                    Cmp::Equal => Reason::Equal,
                    Cmp::NotEqual => Reason::NotEqual,
                    Cmp::Undefined => Reason::Undefined,
                    Cmp::Budget => Reason::BudgetExceeded,
                };
                return Verdict::new(Some(raw.to_string()), Some(node.to_string()), reason);
            }
            Err(PErr::Budget) => {
                budget_hit = true;
                if first_unparsed.is_none() {
                    first_unparsed = Some((raw.to_string(), norm));
                }
            }
            Err(PErr::Syntax) => {
                if first_unparsed.is_none() {
                    first_unparsed = Some((raw.to_string(), norm));
                }
            }
        }
    }
    match first_unparsed {
        Some((raw, norm)) => {
            // an unparsed text answer may still equal a text gold
            if let Node::Text(g) = &gold.node {
                if !norm.is_empty() && text_eq(g, &norm) {
                    return Verdict::new(Some(raw), Some(norm), Reason::Equal);
                }
            }
            let reason = if budget_hit {
                Reason::BudgetExceeded
            } else if raw.is_empty() {
                Reason::NoAnswer
            } else {
                Reason::Unparseable
            };
            Verdict::new(
                if raw.is_empty() { None } else { Some(raw) },
                if norm.is_empty() { None } else { Some(norm) },
                reason,
            )
        }
        None => Verdict::new(
            None,
            None,
            if budget_hit {
                Reason::BudgetExceeded
            } else {
                Reason::NoAnswer
            },
        ),
    }
}

/// Whether the raw answer holds a lone number with an ambiguous separator.
fn alt_candidate(raw: &str) -> bool {
    if raw.len() >= 64 || !raw.contains(['.', ',']) {
        return false;
    }
    let digits: String = raw
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-'))
        .collect();
    normalize::ambiguous_separator(&digits)
}

fn text_eq(a: &str, b: &str) -> bool {
    let k = |s: &str| -> String {
        s.to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    let (x, y) = (k(a), k(b));
    !x.is_empty() && x == y
}

fn canonical_int(s: &str) -> String {
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let body = body.trim_start_matches('0');
    if body.is_empty() {
        "0".into()
    } else if neg {
        format!("-{body}")
    } else {
        body.to_string()
    }
}

/// A JSON value as gold text: strings as they are, numbers in plain notation.
fn gold_text(v: &serde_json::Value) -> Result<String, String> {
    match v {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i.to_string())
            } else if let Some(u) = n.as_u64() {
                Ok(u.to_string())
            } else if let Some(f) = n.as_f64() {
                if f.is_finite() {
                    Ok(format!("{f}"))
                } else {
                    Err("field `gold` is not a finite number".into())
                }
            } else {
                Ok(n.to_string())
            }
        }
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        _ => Err("field `gold` must be a string or a number".into()),
    }
}

/// `adamame-data verify`: JSON lines {"gold","response"} in, one JSON line out per input line.
///
/// `gold` may be a JSON string or number; `response` must be a string. Each
/// output line has `extracted`, `normalized`, `correct` and `reason`; a bad
/// line (malformed JSON, missing or mistyped field) gets `{"error": …}` instead.
pub fn verify_jsonl(
    input: impl BufRead,
    output: impl Write,
    cfg: &VerifyConfig,
) -> std::io::Result<LineStats> {
    map_lines(input, output, |obj| {
        let gold = match obj.get("gold") {
            Some(v) => gold_text(v)?,
            None => return Err("missing field `gold`".into()),
        };
        let response = str_field(obj, "response")?;
        let v = check_with(&gold, response, cfg);
        Ok(serde_json::json!({
            "extracted": v.extracted,
            "normalized": v.normalized,
            "correct": v.correct,
            "reason": v.reason.as_str(),
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke() {
        assert!(check("18", "so \\boxed{18} dollars").correct);
        assert!(!check("18", "so \\boxed{17}").correct);
        assert!(check("1/2", "The answer is $\\frac{1}{2}$").correct);
        assert_eq!(check("", "x").reason, Reason::NoGold);
        assert_eq!(check("5", "").reason, Reason::NoAnswer);
    }

    #[test]
    fn answer_part_rule() {
        assert_eq!(
            answer_part("<|im_start|>think\nabc<|im_start|>answer\nX<|im_end|>"),
            "\nX"
        );
        assert_eq!(answer_part("<|im_start|>think\nabc"), "\nabc");
        assert_eq!(answer_part("plain"), "plain");
    }
}
