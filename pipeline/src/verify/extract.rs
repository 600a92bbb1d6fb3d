//! Finding the answer in a free-text response.
//!
//! Candidates come in priority order, and the verifier takes the first one
//! that parses (as Math-Verify does):
//!
//! 1. the last `\boxed{…}` / `\fbox{…}` (nested braces; `\boxed 5`); boxes
//!    right before it that are separated by a short gap or a list word are
//!    joined, so `\boxed{3} and \boxed{5}` is the list `3, 5`;
//! 2. localized answer cues ("the answer is", "la réponse est", "ответ:",
//!    "答案是", "คำตอบคือ", …; the rightmost cue first), followed within a
//!    short gap by a math environment, a number or an expression (after the
//!    last `=` of a chain, so "Answer: 3 + 4 = 7" gives 7);
//! 3. math environments `$…$`, `$$…$$`, `\(…\)`, `\[…\]`, rightmost first;
//! 4. the whole response when it is short (a bare answer such as `-5`,
//!    `1 000`, `x = 5`), then its last number;
//! 5. the last number / expression anywhere, only when the configuration
//!    asks for it (`last_number_fallback`).

use super::normalize::lower_same_len;
use super::numeral;
use std::borrow::Cow;
use std::sync::OnceLock;

/// Phrases bucketed by their first byte, for one-pass matching.
struct Matcher {
    buckets: Vec<Vec<&'static str>>,
}

impl Matcher {
    fn new(list: &'static [&'static str]) -> Matcher {
        let mut buckets = vec![Vec::new(); 256];
        for p in list {
            if let Some(&b) = p.as_bytes().first() {
                buckets[b as usize].push(*p);
            }
        }
        Matcher { buckets }
    }

    /// Calls `f(start, phrase)` for every occurrence, left to right.
    fn each(&self, hay: &str, mut f: impl FnMut(usize, &'static str)) {
        let b = hay.as_bytes();
        for i in 0..b.len() {
            let bucket = &self.buckets[b[i] as usize];
            if bucket.is_empty() {
                continue;
            }
            for p in bucket {
                if b[i..].starts_with(p.as_bytes()) {
                    f(i, p);
                }
            }
        }
    }
}

fn cue_matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| Matcher::new(CUES))
}

fn conclusion_matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| Matcher::new(CONCLUSIONS))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Boxed,
    Cue,
    Env,
    Whole,
    LastNumber,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Boxed => "boxed",
            Source::Cue => "cue",
            Source::Env => "env",
            Source::Whole => "whole",
            Source::LastNumber => "last_number",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Candidate<'a> {
    pub text: Cow<'a, str>,
    pub source: Source,
}

/// Content of one `\boxed` / `\fbox` at byte `start` (the backslash).
/// Returns (content, end of the box). `None` when the command has no argument.
fn box_at(text: &str, start: usize, cmd_len: usize) -> Option<(&str, usize, bool)> {
    let b = text.as_bytes();
    let mut i = start + cmd_len;
    if i < b.len() && b[i].is_ascii_alphabetic() {
        return None; // \boxedsomething
    }
    while i < b.len() && (b[i] == b' ' || b[i] == b'\n' || b[i] == b'\t') {
        i += 1;
    }
    if i >= b.len() {
        return None;
    }
    if b[i] == b'{' {
        let mut depth = 0usize;
        let mut j = i;
        while j < b.len() {
            match b[j] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some((text[i + 1..j].trim(), j + 1, true));
                    }
                }
                _ => {}
            }
            j += 1;
        }
        // unclosed: the rest
        return Some((text[i + 1..].trim(), b.len(), false));
    }
    // \boxed 5 : one token
    let mut j = i;
    while j < b.len() && !matches!(b[j], b' ' | b'\n' | b'\t' | b'$' | b'}' | b'\\') {
        j += 1;
    }
    if j < b.len() && b[j] == b'\\' && j == i {
        // \boxed \frac12 : command token
        j += 1;
        while j < b.len() && b[j].is_ascii_alphabetic() {
            j += 1;
        }
    }
    let tok = text[i..j].trim_end_matches(['.', ',', ';']);
    if tok.is_empty() {
        return None;
    }
    Some((tok, j, true))
}

/// Position of the last `\boxed` or `\fbox` that starts before `before`.
fn rfind_box(text: &str, before: usize) -> Option<(usize, usize)> {
    let hay = &text[..before];
    let a = hay.rfind("\\boxed");
    // only an \fbox after the last \boxed matters
    let from = a.map(|p| p + 1).unwrap_or(0);
    let f = hay[from..].rfind("\\fbox").map(|p| p + from);
    match (a, f) {
        (Some(a), Some(f)) if f > a => Some((f, 5)),
        (Some(a), _) => Some((a, 6)),
        (None, Some(f)) => Some((f, 5)),
        (None, None) => None,
    }
}

/// The content of the last `\boxed{…}` / `\fbox{…}` (nested braces), if any.
pub fn last_boxed(text: &str) -> Option<&str> {
    let mut before = text.len();
    while let Some((start, len)) = rfind_box(text, before) {
        if let Some((c, _, _)) = box_at(text, start, len) {
            return Some(c);
        }
        before = start;
    }
    None
}

fn has_list_separator(between: &str) -> bool {
    if between.contains([',', ';']) {
        return true;
    }
    let l = between.to_ascii_lowercase();
    l.split(|c: char| !c.is_ascii_alphabetic())
        .any(|w| w == "and" || w == "or")
}

/// End of the last box (after its closing brace).
fn last_box_end(text: &str) -> Option<usize> {
    let mut before = text.len();
    while let Some((start, len)) = rfind_box(text, before) {
        if let Some((_, end, _)) = box_at(text, start, len) {
            return Some(end);
        }
        before = start;
    }
    None
}

/// "final answer … is X" after byte `from`.
fn final_answer_after(text: &str, from: usize) -> Option<String> {
    let tail = &text[from..];
    if !tail.is_ascii() && !tail.contains("nswer") || tail.len() > 20_000 {
        return None;
    }
    let lower = tail.to_ascii_lowercase();
    let p = lower.rfind("final answer")?;
    let t = thing_after(tail, p + "final answer".len(), false)?;
    let s = thing_text(tail, t);
    if s.trim().is_empty() {
        None
    } else {
        Some(s)
    }
}

fn word_count(t: &str) -> usize {
    t.split(|c: char| c.is_whitespace())
        .filter(|w| w.chars().any(|c| c.is_alphabetic()))
        .count()
}

/// Whether a short response reads as prose (words around the answer):
/// then its last number is tried before the whole text.
fn is_prose(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = 0;
    let mut words = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() {
            let s = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            let w = &t[s..i];
            let cmd = s > 0 && b[s - 1] == b'\\';
            if !cmd
                && w.len() >= 2
                && !matches!(
                    w.to_ascii_lowercase().as_str(),
                    "sqrt"
                        | "sin"
                        | "cos"
                        | "tan"
                        | "log"
                        | "ln"
                        | "exp"
                        | "inf"
                        | "infty"
                        | "infinity"
                        | "and"
                        | "or"
                        | "frac"
                        | "pi"
                        | "oo"
                        | "pm"
                        | "mp"
                )
            {
                words += 1;
            }
            continue;
        }
        if b[i] >= 0x80 {
            let ch = t[i..].chars().next().unwrap_or(' ');
            if super::expr::is_word_char(ch) && ch.is_alphabetic() {
                words += 1;
                while i < b.len() {
                    let c = t[i..].chars().next().unwrap_or(' ');
                    if super::expr::is_word_char(c) {
                        i += c.len_utf8();
                    } else {
                        break;
                    }
                }
                continue;
            }
            i += ch.len_utf8();
            continue;
        }
        i += 1;
    }
    words >= 1
}

/// The boxed answer: the last box, joined with the boxes right before it when
/// they are close (gap < 10 chars) or separated by a list word (gap < 70).
pub fn boxed_answer(text: &str) -> Option<Cow<'_, str>> {
    let mut results: Vec<&str> = Vec::new();
    let mut before = text.len();
    let mut later_start: Option<usize> = None;
    let mut guard = 0;
    while let Some((start, len)) = rfind_box(text, before) {
        guard += 1;
        if guard > 64 {
            break;
        }
        let Some((content, end, closed)) = box_at(text, start, len) else {
            before = start;
            continue;
        };
        if let Some(ls) = later_start {
            if !closed {
                break;
            }
            let between = if end <= ls { &text[end..ls] } else { "" };
            let n = between.chars().count();
            let prev = results.last().copied().unwrap_or("");
            let ok = n < 10 || (content != prev && n < 70 && has_list_separator(between));
            if !ok {
                break;
            }
        }
        if results.last() != Some(&content) {
            results.push(content);
        }
        later_start = Some(start);
        before = start;
        if !closed {
            break;
        }
    }
    match results.len() {
        0 => None,
        1 => Some(Cow::Borrowed(results[0])),
        _ => {
            results.reverse();
            Some(Cow::Owned(results.join(", ")))
        }
    }
}

/// Answer cue stems (lowercase). The answer must follow within a short gap.
const CUES: &[&str] = &[
    // English and the Latin-script languages
    "answer",
    "réponse",
    "reponse",
    "respuesta",
    "resposta",
    "risposta",
    "antwort",
    "antwoord",
    "odpowiedź",
    "odpověď",
    "odpoveď",
    "răspuns",
    "raspuns",
    "cevap",
    "cevabı",
    "yanıt",
    "válasz",
    "vastaus",
    "svar",
    "jawaban",
    "jawapan",
    "sagot",
    "đáp án",
    "đáp số",
    "câu trả lời",
    "jibu",
    "amsa",
    // Cyrillic, Greek
    "ответ",
    "відповідь",
    "отговор",
    "одговор",
    "απάντηση",
    // CJK
    "答案",
    "答え",
    "答：",
    "答:",
    "解答",
    "最終回答",
    "最終答",
    "最终答",
    "最後答",
    "정답",
    "답:",
    "답은",
    "답 :",
    // Thai, Indic, others
    "คำตอบ",
    "उत्तर",
    "উত্তর",
    "సమాధానం",
    "జవాబు",
    "விடை",
    "பதில்",
    "ಉತ್ತರ",
    "ഉത്തരം",
    "જવાબ",
    "ਜਵਾਬ",
    "ਉੱਤਰ",
    "الإجابة",
    "الاجابة",
    "الجواب",
    "جواب",
    "پاسخ",
    "תשובה",
    "መልስ",
];

/// Conclusion markers: weak cues, used only after the last math environment
/// ("Therefore, the number of hens is 4.", "したがって、…18ドルです。").
const CONCLUSIONS: &[&str] = &[
    "therefore",
    "thus",
    "hence",
    "in total",
    "donc",
    "ainsi",
    "par conséquent",
    "au total",
    "por lo tanto",
    "por tanto",
    "así que",
    "en total",
    "portanto",
    "então",
    "logo,",
    "pertanto",
    "quindi",
    "dunque",
    "daher",
    "somit",
    "insgesamt",
    "поэтому",
    "итак",
    "таким образом",
    "следовательно",
    "всего",
    "因此",
    "所以",
    "总共",
    "一共",
    "综上",
    "したがって",
    "よって",
    "つまり",
    "合計",
    "ดังนั้น",
    "รวมทั้งหมด",
    "따라서",
    "그러므로",
    "총",
    "इसलिए",
    "अतः",
    "কাজেই",
    "অতএব",
    "সুতরাং",
    "কাবట్టి",
    "కాబట్టి",
    "అందువల్ల",
    "لذلك",
    "إذن",
    "vì vậy",
    "do đó",
    "kwa hiyo",
    "hivyo",
    "jadi",
    "oleh karena itu",
    "dolayısıyla",
    "bu nedenle",
    "więc",
    "zatem",
    "proto",
    "daarom",
    "därför",
    "derfor",
];

/// The answer after the rightmost conclusion marker that lies after `after`.
fn conclusion_answer(text: &str, after: usize, words: bool) -> Option<String> {
    let lower = lower_same_len(text);
    let l = lower.as_ref();
    let mut best: Option<(usize, usize)> = None;
    conclusion_matcher().each(l, |p, m| {
        if p >= after && best.is_none_or(|(b, _)| p >= b) {
            best = Some((p, p + m.len()));
        }
    });
    let (_, e) = best?;
    let t = thing_after(text, e, words)?;
    let s = thing_text(text, t);
    if s.trim().is_empty() || !s.bytes().any(|c| c.is_ascii_digit()) {
        None
    } else {
        Some(s)
    }
}

/// Cues that follow their answer ("18ドルが答えです", "18就是答案").
const POSTFIX_CUES: &[&str] = &[
    "が答え",
    "が正解",
    "が解答",
    "就是答案",
    "是答案",
    "为答案",
    "為答案",
    "이 답",
    "가 답",
    "이 정답",
    "가 정답",
    " is the answer",
    " is the final answer",
];

fn postfix_matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| Matcher::new(POSTFIX_CUES))
}

/// The number right before the rightmost postfix cue.
fn postfix_answer(text: &str) -> Option<(usize, String)> {
    let lower = lower_same_len(text);
    let mut best: Option<usize> = None;
    postfix_matcher().each(&lower, |p, _| best = Some(p));
    let p = best?;
    let mut from = p.saturating_sub(60);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let window = &text[from..p];
    let sp = spans(window, 4);
    let &(s, e) = sp.last()?;
    // only units / particles may separate the number from the cue
    let gap = &window[e..];
    if gap.chars().count() > 12 || gap.contains(['.', '。', ',', '，', '\n']) {
        return None;
    }
    let a = span_answer(&window[s..e]).to_string();
    if a.is_empty() {
        None
    } else {
        Some((p, a))
    }
}

/// Max characters between a cue and its answer.
const CUE_GAP: usize = 100;

#[derive(Clone, Copy, Debug)]
enum Thing {
    Env(usize, usize), // content range
    Span(usize, usize),
    CjkNum(usize, usize),
    /// A number word (value).
    Word(u64),
}

/// An environment starting exactly at byte `i` (`$…$`, `$$…$$`, `\(…\)`,
/// `\[…\]`), looking at most `max` bytes ahead: (end, content start, content end).
fn env_at(text: &str, i: usize, max: usize) -> Option<(usize, usize, usize)> {
    let b = text.as_bytes();
    let lim = i.saturating_add(max).min(b.len());
    let c = *b.get(i)?;
    if c == b'$' {
        if i > 0 && b[i - 1] == b'\\' {
            return None;
        }
        if i + 1 < b.len() && b[i + 1] == b'$' {
            let p = text.get(i + 2..lim)?.find("$$")?;
            return Some((i + 2 + p + 2, i + 2, i + 2 + p));
        }
        if i > 0 && b[i - 1].is_ascii_digit() {
            return None;
        }
        let mut j = i + 1;
        while j < lim {
            match b[j] {
                b'\n' => return None,
                b'\\' => j += 2,
                b'$' => return Some((j + 1, i + 1, j)),
                _ => j += 1,
            }
        }
        return None;
    }
    if c == b'\\' && i + 1 < b.len() && (b[i + 1] == b'(' || b[i + 1] == b'[') {
        let close = if b[i + 1] == b'(' { "\\)" } else { "\\]" };
        let p = text.get(i + 2..lim)?.find(close)?;
        let (cs, ce) = (i + 2, i + 2 + p);
        if b[i + 1] == b'(' && text[cs..ce].contains('\n') {
            return None;
        }
        return Some((ce + 2, cs, ce));
    }
    None
}

/// Math environments: (start, end, content_start, content_end), in order.
/// Linear time: a closer that is missing once is missing for every later opener.
fn envs(text: &str, limit: usize) -> Vec<(usize, usize, usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // the next closer per kind, cached: Some(None) = there is none after this point
    let mut next_dd: Option<Option<usize>> = None;
    let mut next_close: [Option<Option<usize>>; 2] = [None, None];
    while i < b.len() && out.len() < limit {
        let c = b[i];
        if c == b'$' && (i == 0 || b[i - 1] != b'\\') {
            if i + 1 < b.len() && b[i + 1] == b'$' {
                // display $$…$$
                let found = match next_dd {
                    Some(Some(p)) if p >= i + 2 => Some(p),
                    Some(None) => None,
                    _ => {
                        let f = text[i + 2..].find("$$").map(|p| i + 2 + p);
                        next_dd = Some(f);
                        f
                    }
                };
                if let Some(ce) = found {
                    out.push((i, ce + 2, i + 2, ce));
                    i = ce + 2;
                    next_dd = None;
                    continue;
                }
                i += 2;
                continue;
            }
            // inline $…$ on one line (linear: a failed scan stops at a newline
            // with no other '$' before it)
            if let Some((e, cs, ce)) = env_at(text, i, usize::MAX) {
                out.push((i, e, cs, ce));
                i = e;
            } else {
                i += 1;
            }
            continue;
        }
        if c == b'\\' && i + 1 < b.len() && (b[i + 1] == b'(' || b[i + 1] == b'[') {
            let k = (b[i + 1] == b'[') as usize;
            let close = if k == 0 { "\\)" } else { "\\]" };
            let found = match next_close[k] {
                Some(Some(p)) if p >= i + 2 => Some(p),
                Some(None) => None,
                _ => {
                    let f = text[i + 2..].find(close).map(|p| i + 2 + p);
                    next_close[k] = Some(f);
                    f
                }
            };
            if let Some(ce) = found {
                let cs = i + 2;
                // an inline \( … \) must stay on one line
                match text[cs..ce].rfind('\n') {
                    Some(nl) if k == 0 => {
                        // no opener before the closer's line can work
                        i = cs + nl + 1;
                        continue;
                    }
                    _ => {
                        out.push((i, ce + 2, cs, ce));
                        i = ce + 2;
                        next_close[k] = None;
                        continue;
                    }
                }
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    out
}

/// `{…}` at `i` without nested braces, at most 40 bytes long.
fn small_group(text: &str, i: usize) -> Option<(&str, usize)> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let lim = (i + 41).min(b.len());
    let p = b[i + 1..lim]
        .iter()
        .position(|c| *c == b'}' || *c == b'{')?;
    if b[i + 1 + p] != b'}' {
        return None;
    }
    Some((&text[i + 1..i + 1 + p], i + 2 + p))
}

/// Bare `\frac{a}{b}` / `\dfrac{a}{b}` with numeric arguments outside math
/// environments (Math-Verify's "latex fraction"): (start, end).
fn bare_fracs(text: &str, envs: &[(usize, usize, usize, usize)]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = text[from..].find("frac{") {
        let s0 = from + p;
        from = s0 + 5;
        let Some(bs) = text[..s0].rfind('\\') else {
            continue;
        };
        if !matches!(&text[bs + 1..s0], "" | "d" | "t" | "c") {
            continue;
        }
        let mut s = bs;
        if s > 0 && text.as_bytes()[s - 1] == b'-' {
            s -= 1;
        }
        if envs.iter().any(|&(a, b, _, _)| s >= a && s < b) {
            continue;
        }
        let simple = |g: &str| {
            let g = g.trim();
            !g.is_empty()
                && g.bytes()
                    .all(|c| c.is_ascii_digit() || c == b'.' || c == b',' || c == b'-')
        };
        let Some((n, e1)) = small_group(text, s0 + 4) else {
            continue;
        };
        let Some((d, e2)) = small_group(text, e1) else {
            continue;
        };
        if simple(n) && simple(d) {
            out.push((s, e2));
            from = e2;
        }
    }
    out
}

#[inline]
fn is_op(c: u8) -> bool {
    matches!(
        c,
        b'+' | b'-' | b'*' | b'/' | b'^' | b'(' | b')' | b'=' | b'%' | b':'
    )
}

/// A number / arithmetic span starting at `i` (an ASCII digit, `-digit`,
/// `.digit` or `(`). Returns its end.
fn span_at(b: &[u8], i: usize) -> usize {
    let mut j = i;
    let mut last_good = i;
    let max = (i + 4096).min(b.len());
    while j < max {
        let c = b[j];
        let separator = matches!(c, b'.' | b',' | b'\'')
            && j > i
            && b[j - 1].is_ascii_digit()
            && j + 1 < b.len()
            && b[j + 1].is_ascii_digit();
        if c.is_ascii_digit() || c == b'%' || c == b')' {
            j += 1;
            last_good = j;
        } else if separator || c == b' ' || (is_op(c) && c != b':') {
            j += 1;
        } else if c == b'\\'
            && (b[j..].starts_with(b"\\times")
                || b[j..].starts_with(b"\\cdot")
                || b[j..].starts_with(b"\\div"))
        {
            j += if b[j..].starts_with(b"\\times") {
                6
            } else if b[j..].starts_with(b"\\cdot") {
                5
            } else {
                4
            };
        } else if c == b'\\' && (b[j..].starts_with(b"\\,") || b[j..].starts_with(b"\\!")) {
            j += 2;
        } else if c == 0xC3 && j + 1 < b.len() && (b[j + 1] == 0x97 || b[j + 1] == 0xB7) {
            // × ÷
            j += 2;
        } else {
            break;
        }
    }
    last_good
}

/// Trims a span to balanced parentheses and takes the part after the last `=`.
fn span_answer(s: &str) -> &str {
    let mut t = s.trim();
    if let Some(p) = t.rfind('=') {
        t = t[p + 1..].trim();
    }
    // balance parens
    loop {
        let open = t.matches('(').count();
        let close = t.matches(')').count();
        if close > open && t.ends_with(')') {
            t = t[..t.len() - 1].trim_end();
        } else if open > close && t.starts_with('(') {
            t = t[1..].trim_start();
        } else {
            break;
        }
    }
    t
}

/// All number spans (start, end) in order.
fn spans(text: &str, limit: usize) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let prev = if i > 0 { b[i - 1] } else { b' ' };
        let starts = if c.is_ascii_digit() {
            !(prev.is_ascii_alphanumeric()
                || matches!(
                    prev,
                    b'_' | b'^' | b'.' | b',' | b'\\' | b'{' | b'}' | b'[' | b'/' | b'-'
                ))
        } else if c == b'-' {
            i + 1 < b.len()
                && b[i + 1].is_ascii_digit()
                && !prev.is_ascii_alphanumeric()
                && prev != b')'
        } else {
            false
        };
        if starts {
            let e = span_at(b, i);
            if e > i {
                out.push((i, e));
                if out.len() > limit {
                    out.remove(0);
                }
                i = e;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Things (environments, numbers, expressions, CJK numerals) that start
/// within `CUE_GAP` chars after byte `from`, up to the end of the sentence.
/// Returns them with a flag telling whether an `=` precedes them in the window.
fn things_after(text: &str, from: usize, words: bool, out: &mut Vec<Thing>) {
    let b = text.as_bytes();
    let mut i = from;
    let mut chars = 0;
    let mut content = 0;
    while i < b.len() && chars <= CUE_GAP && out.len() < 6 {
        let c = b[i];
        // a new paragraph or a sentence end stops the search
        if c == b'\n' && i + 1 < b.len() && b[i + 1] == b'\n' && content > 0 {
            return;
        }
        if c == b'.'
            && (i + 1 >= b.len() || b[i + 1] == b' ' || b[i + 1] == b'\n')
            && i > 0
            && !b[i - 1].is_ascii_digit()
            && content > 0
        {
            return;
        }
        if text[i..].starts_with('。') && content > 0 {
            return;
        }
        if c == b'$' || (c == b'\\' && i + 1 < b.len() && (b[i + 1] == b'(' || b[i + 1] == b'[')) {
            if let Some((end, cs, ce)) = env_at(text, i, 4096) {
                out.push(Thing::Env(cs, ce));
                content += 1;
                chars += text[i..end].chars().count();
                i = end;
                continue;
            }
        }
        if c == b'\\'
            && (text[i..].starts_with("\\frac")
                || text[i..].starts_with("\\dfrac")
                || text[i..].starts_with("\\sqrt"))
        {
            // bare LaTeX after the cue: up to the end of the line / sentence
            let e = text[i..]
                .find(['\n', '$'])
                .map(|p| i + p)
                .unwrap_or(b.len());
            let e = text[i..e].find(". ").map(|p| i + p).unwrap_or(e);
            out.push(Thing::Env(i, e));
            return;
        }
        let prev = if i > 0 { b[i - 1] } else { b' ' };
        if c.is_ascii_digit()
            && !(prev.is_ascii_alphanumeric() || prev == b'_' || prev == b'^' || prev == b'\\')
            || (c == b'-'
                && i + 1 < b.len()
                && b[i + 1].is_ascii_digit()
                && !prev.is_ascii_alphanumeric())
        {
            let e = span_at(b, i);
            if e > i {
                out.push(Thing::Span(i, e));
                content += 1;
                chars += e - i;
                i = e;
                continue;
            }
        }
        if words
            && (c.is_ascii_alphabetic() || c >= 0x80)
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] >= 0x80))
        {
            // a number word ("quinze", "twenty-one", "двадцать")
            // up to three words: "vingt et un", "treinta y uno"
            let mut ends = Vec::with_capacity(3);
            let mut k = i;
            for _ in 0..3 {
                let wl: usize = text[k..]
                    .chars()
                    .take_while(|c| c.is_alphabetic() || *c == '-')
                    .map(|c| c.len_utf8())
                    .sum();
                if wl == 0 {
                    break;
                }
                k += wl;
                ends.push(k);
                if !text[k..].starts_with(' ') {
                    break;
                }
                k += 1;
            }
            let found = ends.iter().rev().find_map(|&e| {
                if e - i >= 3 {
                    numeral::number_word(&text[i..e]).map(|v| (v, e))
                } else {
                    None
                }
            });
            if let Some((v, e)) = found {
                out.push(Thing::Word(v));
                content += 1;
                chars += text[i..e].chars().count();
                i = e;
                continue;
            }
        }
        if c >= 0x80 {
            let ch = text[i..].chars().next().unwrap_or(' ');
            if numeral::is_cjk_numeral_char(ch) {
                let mut e = i;
                for ch in text[i..].chars() {
                    if numeral::is_cjk_numeral_char(ch) {
                        e += ch.len_utf8();
                    } else {
                        break;
                    }
                }
                let next = text[e..].chars().next();
                let standalone = next.is_none_or(|n| !is_ideograph(n) || CLASSIFIERS.contains(n));
                if standalone && numeral::cjk_numeral_value(&text[i..e]).is_some() {
                    out.push(Thing::CjkNum(i, e));
                    content += 1;
                    chars += text[i..e].chars().count();
                    i = e;
                    continue;
                }
            }
            if ch.is_alphabetic() {
                content += 1;
            }
            i += ch.len_utf8();
        } else {
            if c.is_ascii_alphabetic() {
                content += 1;
            }
            i += 1;
        }
        chars += 1;
    }
}

/// Counter words that may follow a CJK numeral (十八个, 三本).
const CLASSIFIERS: &str = "个個人元只本次天年岁歲块塊米分条條张張辆輛名位支斤倍度号號回匹枚台冊册杯件头頭秒時时周週月日円ドル歳";

fn is_ideograph(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
        || ('\u{3400}'..='\u{4DBF}').contains(&c)
        || ('\u{3040}'..='\u{30FF}').contains(&c)
}

fn thing_text(text: &str, t: Thing) -> String {
    match t {
        Thing::Env(a, b) => text[a..b].to_string(),
        Thing::Span(a, b) => span_answer(&text[a..b]).to_string(),
        Thing::CjkNum(a, b) => numeral::cjk_numeral_value(&text[a..b])
            .map(|v| v.to_string())
            .unwrap_or_default(),
        Thing::Word(v) => v.to_string(),
    }
}

/// The answer after a cue: after the last `=` if there is one, else the
/// first thing holding a digit, else the first thing.
fn thing_after(text: &str, from: usize, words: bool) -> Option<Thing> {
    let mut v = Vec::new();
    things_after(text, from, words, &mut v);
    if v.is_empty() {
        return None;
    }
    let has_digit = |t: &Thing| match *t {
        Thing::Env(a, b) => text[a..b].bytes().any(|c| c.is_ascii_digit()),
        Thing::Span(..) => true,
        Thing::CjkNum(..) | Thing::Word(_) => false,
    };
    v.iter()
        .find(|t| has_digit(t))
        .or_else(|| {
            v.iter()
                .find(|t| matches!(t, Thing::CjkNum(..) | Thing::Word(_)))
        })
        .or(v.first())
        .copied()
}

fn is_ascii_word(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_alphabetic())
}

/// Rightmost cue answers, best first.
fn cue_answers(text: &str, out: &mut Vec<Candidate<'static>>, max: usize, words: bool) {
    let lower = lower_same_len(text);
    let l = lower.as_ref();
    let mut hits: Vec<(usize, usize)> = Vec::new();
    cue_matcher().each(l, |s, cue| {
        let e = s + cue.len();
        let latin = is_ascii_word(cue)
            || cue.chars().all(|c| c.is_alphabetic())
                && cue
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii() || ('\u{00C0}'..='\u{04FF}').contains(&c));
        if latin {
            // word boundary before, allowed suffixes after
            let before_ok = l[..s]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphabetic());
            let rest = &l[e..];
            let suffix: usize = rest
                .chars()
                .take_while(|c| c.is_alphabetic())
                .map(|c| c.len_utf8())
                .sum();
            let suf = &rest[..suffix];
            let suffix_ok = suffix == 0
                || matches!(
                    suf,
                    "s" | "es" | "nya" | "а" | "ом" | "е" | "і" | "ı" | "sı"
                );
            if before_ok && suffix_ok {
                hits.push((s, e + suffix));
            }
        } else {
            hits.push((s, e));
        }
    });
    let postfix = postfix_answer(text);
    if hits.is_empty() && postfix.is_none() {
        return;
    }
    // a postfix cue after every prefix cue wins
    if let Some((p, a)) = postfix {
        if hits.iter().all(|h| h.0 < p) {
            out.push(Candidate {
                text: Cow::Owned(a),
                source: Source::Cue,
            });
        }
    }
    hits.sort_by_key(|h| std::cmp::Reverse(h.0));
    hits.dedup_by_key(|h| h.0);
    for &(_, e) in hits.iter().take(8) {
        if out.len() >= max {
            break;
        }
        if let Some(t) = thing_after(text, e, words) {
            let s = thing_text(text, t);
            if !s.trim().is_empty() {
                out.push(Candidate {
                    text: Cow::Owned(s),
                    source: Source::Cue,
                });
            }
        }
    }
}

/// The rightmost markdown bold `**…**` (one line, short) holding a number:
/// `**694ドル**`, `**Total: 18**`. Numbered headers (`**1. Step**`) and
/// labels (`**Step 2:**`) are skipped.
fn bold_answer(text: &str) -> Option<String> {
    let mut end = text.len();
    let mut tries = 0;
    while let Some(close) = text[..end].rfind("**") {
        tries += 1;
        if tries > 40 {
            return None;
        }
        let open = text[..close].rfind("**")?;
        let inner = &text[open + 2..close];
        end = open;
        if inner.is_empty() || inner.contains('\n') || inner.chars().count() > 60 {
            continue;
        }
        let t = inner.trim();
        if !t.bytes().any(|c| c.is_ascii_digit()) || t.ends_with([':', '：']) {
            continue;
        }
        // numbered list header "1. …"
        let lead = t.bytes().take_while(|c| c.is_ascii_digit()).count();
        if lead > 0 && t[lead..].starts_with(". ") {
            continue;
        }
        let t = match t.rfind(['=', ':', '：']) {
            Some(p) => t[p..].trim_start_matches(['=', ':', '：']).trim(),
            None => t,
        };
        if t.bytes().any(|c| c.is_ascii_digit()) {
            return Some(t.to_string());
        }
    }
    None
}

/// Options of the extractor (a view of `VerifyConfig`).
#[derive(Clone, Copy, Debug)]
pub struct ExtractOpts {
    pub last_number_fallback: bool,
    pub short_answer_chars: usize,
    pub cues: bool,
    /// Join adjacent boxes into a list (only sensible when the gold is a list).
    pub join_boxes: bool,
    /// Accept number words after a cue ("la réponse est quinze").
    pub number_words: bool,
}

/// Lazily produces candidates in priority order.
pub struct Extractor<'a> {
    text: &'a str,
    opts: ExtractOpts,
    stage: u8,
    queue: Vec<Candidate<'a>>,
    folded: Option<String>,
}

impl<'a> Extractor<'a> {
    pub fn new(text: &'a str, opts: ExtractOpts) -> Self {
        Extractor {
            text,
            opts,
            stage: 0,
            queue: Vec::new(),
            folded: None,
        }
    }

    fn folded(&mut self) -> &str {
        if self.folded.is_none() {
            let f = numeral::fold(self.text);
            let f = numeral::expand_cjk_multipliers(&f).into_owned();
            self.folded = Some(f);
        }
        self.folded.as_deref().unwrap_or("")
    }

    fn fill(&mut self) {
        while self.queue.is_empty() && self.stage < 5 {
            let stage = self.stage;
            self.stage += 1;
            match stage {
                0 => {
                    let b = if self.opts.join_boxes {
                        boxed_answer(self.text)
                    } else {
                        last_boxed(self.text).map(Cow::Borrowed)
                    };
                    if let Some(b) = b {
                        self.queue.push(Candidate {
                            text: b,
                            source: Source::Boxed,
                        });
                        // "The final answer is $X$" after the last box wins (as in Math-Verify)
                        if self.opts.cues {
                            if let Some(end) = last_box_end(self.text) {
                                if let Some(c) = final_answer_after(self.text, end) {
                                    self.queue.push(Candidate {
                                        text: Cow::Owned(c),
                                        source: Source::Cue,
                                    });
                                }
                            }
                        }
                    }
                }
                1 if self.opts.cues => {
                    let mut v = Vec::new();
                    let f = self.folded().to_string();
                    cue_answers(&f, &mut v, 3, self.opts.number_words);
                    if let Some(b) = bold_answer(&f) {
                        v.push(Candidate {
                            text: Cow::Owned(b),
                            source: Source::Cue,
                        });
                    }
                    if v.is_empty() {
                        let last_env_end = envs(&f, 100_000).last().map(|e| e.1).unwrap_or(0);
                        if let Some(c) = conclusion_answer(&f, last_env_end, self.opts.number_words)
                        {
                            v.push(Candidate {
                                text: Cow::Owned(c),
                                source: Source::Cue,
                            });
                        }
                    }
                    self.queue.extend(v.into_iter().rev().map(|c| Candidate {
                        text: Cow::Owned(c.text.into_owned()),
                        source: c.source,
                    }));
                }
                2 => {
                    let text = self.text;
                    let env_list = envs(text, 10_000);
                    let mut cands: Vec<(usize, Candidate<'a>)> = env_list
                        .iter()
                        .rev()
                        .take(8)
                        .filter(|(_, _, cs, ce)| !text[*cs..*ce].trim().is_empty())
                        .map(|&(_, e, cs, ce)| {
                            (
                                e,
                                Candidate {
                                    text: Cow::Borrowed(&text[cs..ce]),
                                    source: Source::Env,
                                },
                            )
                        })
                        .collect();
                    if text.contains("frac{") {
                        for (s, e) in bare_fracs(text, &env_list).into_iter().rev().take(4) {
                            cands.push((
                                e,
                                Candidate {
                                    text: Cow::Borrowed(&text[s..e]),
                                    source: Source::Env,
                                },
                            ));
                        }
                        cands.sort_by_key(|c| std::cmp::Reverse(c.0));
                    }
                    if self.opts.last_number_fallback {
                        // Math-Verify order: the rightmost of environments and numbers
                        let f = self.folded().to_string();
                        let sp = spans(&f, 8);
                        let outside: Vec<(usize, usize)> = sp
                            .into_iter()
                            .filter(|&(s, _)| !in_env(&env_list, s, text.len() == f.len()))
                            .collect();
                        for &(s, e) in outside.iter().rev().take(4) {
                            let a = span_answer(&f[s..e]).to_string();
                            if !a.is_empty() {
                                let pos = if text.len() == f.len() {
                                    e
                                } else {
                                    map_pos(text, &f, e)
                                };
                                cands.push((
                                    pos,
                                    Candidate {
                                        text: Cow::Owned(a),
                                        source: Source::LastNumber,
                                    },
                                ));
                            }
                        }
                        cands.sort_by_key(|c| std::cmp::Reverse(c.0));
                    }
                    // queue is popped from the back
                    self.queue.extend(cands.into_iter().map(|(_, c)| c).rev());
                }
                3 => {
                    let t = self.text.trim();
                    let short = !t.is_empty() && t.chars().count() <= self.opts.short_answer_chars;
                    if short {
                        let whole = Candidate {
                            text: Cow::Borrowed(t),
                            source: Source::Whole,
                        };
                        let last = if self.opts.last_number_fallback {
                            None
                        } else {
                            let f = self.folded().to_string();
                            let sp = spans(&f, 2);
                            sp.last()
                                .map(|&(s, e)| span_answer(&f[s..e]).to_string())
                                .filter(|a| !a.is_empty())
                        };
                        let last = last.map(|a| Candidate {
                            text: Cow::Owned(a),
                            source: Source::LastNumber,
                        });
                        // queue pops from the back
                        let prose = is_prose(t);
                        let has_digit = t.bytes().any(|c| c.is_ascii_digit());
                        if prose && has_digit {
                            match last {
                                Some(l) => self.queue.push(l),
                                None => self.queue.push(whole),
                            }
                        } else if prose {
                            // a short text answer ("Evelyn", "no solution"), not a sentence
                            if word_count(t) <= 3 {
                                self.queue.push(whole);
                            }
                        } else {
                            self.queue.extend(last);
                            self.queue.push(whole);
                        }
                    }
                }
                4 => {}
                _ => {}
            }
        }
    }
}

fn in_env(envs: &[(usize, usize, usize, usize)], pos: usize, same: bool) -> bool {
    same && envs.iter().any(|&(s, e, _, _)| pos >= s && pos < e)
}

/// Approximate position in `orig` of byte `p` of `folded` (by char count).
fn map_pos(orig: &str, folded: &str, p: usize) -> usize {
    let n = folded[..p.min(folded.len())].chars().count();
    orig.char_indices()
        .nth(n)
        .map(|(i, _)| i)
        .unwrap_or(orig.len())
}

impl<'a> Iterator for Extractor<'a> {
    type Item = Candidate<'a>;
    fn next(&mut self) -> Option<Candidate<'a>> {
        self.fill();
        self.queue.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes() {
        assert_eq!(
            last_boxed("a \\boxed{1} b \\boxed{\\frac{1}{2}} c"),
            Some("\\frac{1}{2}")
        );
        assert_eq!(last_boxed("\\boxed 5"), Some("5"));
        assert_eq!(last_boxed("\\fbox{7}"), Some("7"));
        assert_eq!(last_boxed("\\boxed{"), Some(""));
        assert_eq!(last_boxed("none"), None);
        assert_eq!(
            boxed_answer("\\boxed{3} and \\boxed{5}").as_deref(),
            Some("3, 5")
        );
        assert_eq!(
            boxed_answer("\\boxed{3}. Long text here that separates them well enough. \\boxed{5}")
                .as_deref(),
            Some("5")
        );
        assert_eq!(
            boxed_answer("\\boxed{70}\nFinal Answer: 答えは \\boxed{70} ドルです").as_deref(),
            Some("70")
        );
    }

    fn first(text: &str) -> Option<String> {
        let opts = ExtractOpts {
            last_number_fallback: false,
            short_answer_chars: 0,
            cues: true,
            join_boxes: false,
            number_words: false,
        };
        Extractor::new(text, opts)
            .next()
            .map(|c| c.text.into_owned())
    }

    #[test]
    fn cues() {
        assert_eq!(
            first("blah 3 blah. The answer is 42.").as_deref(),
            Some("42")
        );
        assert_eq!(first("計算... **答え:** 18ドル").as_deref(), Some("18"));
        assert_eq!(first("Ответ: 7 яблок").as_deref(), Some("7"));
        assert_eq!(first("答案是十八").as_deref(), Some("18"));
        assert_eq!(first("คำตอบคือ ๑๘ บาท").as_deref(), Some("18"));
        assert_eq!(first("Answer: 3 + 4 = 7").as_deref(), Some("7"));
        assert_eq!(
            first("La réponse est $\\frac{1}{2}$.").as_deref(),
            Some("\\frac{1}{2}")
        );
        assert_eq!(first("**答え:** 7万ドル").as_deref(), Some("70000"));
    }
}
