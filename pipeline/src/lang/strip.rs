//! Math stripping: LaTeX, `$…$`, numbers, operators and code go; words stay.
//!
//! The core is [`math_mask`]: a copy of the text of the *same byte length*
//! in which every stripped byte is a space (newlines are kept, so lines keep
//! their numbers). Offsets into the mask are offsets into the original text,
//! which is how segments report byte spans of the original. [`strip_math`]
//! is the mask with the whitespace collapsed, for people and for detectors.
//!
//! What is stripped:
//! * `$$…$$`, `$…$` (pandoc's rule: `$` followed by a non-space opens, `$`
//!   after a non-space and not before a digit closes; so `$2 each … $18` is
//!   currency, not math), `\(…\)`, `\[…\]`;
//! * `\begin{env}…\end{env}` for math environments (list and quote
//!   environments lose only their `\begin`/`\end` lines);
//! * `\command[opt]{arg}{arg}` with nested braces; the text commands
//!   (`\text`, `\textbf`, `\emph`, …) lose the command and braces but keep the
//!   words inside;
//! * bare numbers (any script's digits, with `.`/`,` between digits),
//!   operators and markdown marks, math symbols (U+2200 block, `×`, `÷`,
//!   superscripts, arrows, math alphanumerics), single Greek letters (π, θ);
//! * fenced and inline code.
//!
//! Never stripped: a word. An ASCII-only word in a French trace is English
//! evidence (or a French word), not math.
//!
//! Unbalanced input is fine: an opener without its closer loses only the
//! opener itself. Every search for a closer is cached, so the work stays
//! linear even on 10 MB of `\(`.

use std::collections::HashMap;

use crate::ascii_block::{ByteSet, SetScanner};

/// The bytes the stripper leaves alone and passes over: ASCII letters,
/// whitespace and the punctuation of prose.
static PLAIN: ByteSet =
    ByteSet::of(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \n\t\r'\".?!:;(),");

/// Inline math (`$…$`, inline code) must close within this many bytes, on the same line.
const INLINE_CAP: usize = 600;
/// A brace group longer than this is taken as unbalanced.
const BRACE_CAP: usize = 4000;

/// The text with math, numbers, operators and code replaced by spaces; same
/// byte length as `text`, newlines kept.
pub fn math_mask(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    Masker::new(text).run(&mut out);
    // Only whole characters were replaced by ASCII spaces, so this is UTF-8.
    if crate::chars::str_from_utf8(&out).is_ok() {
        // SAFETY: just validated.
        unsafe { String::from_utf8_unchecked(out) }
    } else {
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The text with the math stripped out: words kept, whitespace collapsed,
/// empty lines dropped.
pub fn strip_math(text: &str) -> String {
    collapse(&math_mask(text))
}

/// Collapses horizontal whitespace in every line and drops empty lines.
pub fn collapse(mask: &str) -> String {
    let mut out = String::with_capacity(mask.len() / 2);
    for line in mask.lines() {
        let mut first = true;
        for w in line.split_whitespace() {
            if first {
                if !out.is_empty() {
                    out.push('\n');
                }
                first = false;
            } else {
                out.push(' ');
            }
            out.push_str(w);
        }
    }
    out
}

fn blank(out: &mut [u8], s: usize, e: usize) {
    let e = e.min(out.len());
    if s >= e {
        return;
    }
    for x in &mut out[s..e] {
        if *x != b'\n' {
            *x = b' ';
        }
    }
}

/// First occurrence of a fixed pattern at or after a position, with the last
/// answer cached so that repeated failing searches cost nothing.
struct Finder {
    pat: &'static str,
    from: usize,
    found: Option<usize>,
    valid: bool,
}

impl Finder {
    fn new(pat: &'static str) -> Self {
        Self {
            pat,
            from: 0,
            found: None,
            valid: false,
        }
    }

    fn find(&mut self, text: &str, s: usize) -> Option<usize> {
        if self.valid && self.from <= s {
            match self.found {
                None => return None,
                Some(f) if f >= s => return Some(f),
                _ => {}
            }
        }
        let r = text.get(s..).and_then(|t| t.find(self.pat)).map(|p| p + s);
        self.from = s;
        self.found = r;
        self.valid = true;
        r
    }
}

struct Masker<'a> {
    text: &'a str,
    b: &'a [u8],
    dd: Finder,
    paren: Finder,
    bracket: Finder,
    fence: Finder,
    envs: HashMap<String, (usize, Option<usize>)>,
    braces: Option<Vec<(u32, u32)>>,
    /// Off only in tests: each character asked on its own, the definition
    /// that [`pass_over_run`] must agree with.
    pass_over_runs: bool,
}

const TEXT_COMMANDS: &[&str] = &[
    "text",
    "textbf",
    "textit",
    "textrm",
    "textsf",
    "texttt",
    "textup",
    "textsl",
    "textnormal",
    "emph",
    "mbox",
    "hbox",
    "underline",
    "section",
    "subsection",
    "subsubsection",
    "paragraph",
    "item",
    "title",
    "caption",
    "footnote",
    "textsc",
    "uline",
    "bf",
    "it",
];

const TEXT_ENVS: &[&str] = &[
    "itemize",
    "enumerate",
    "description",
    "quote",
    "quotation",
    "center",
    "flushleft",
    "flushright",
    "document",
    "minipage",
    "verse",
    "abstract",
    "tabular",
    "table",
    "figure",
    "proof",
    "solution",
    "answer",
    "remark",
    "example",
];

impl<'a> Masker<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            b: text.as_bytes(),
            dd: Finder::new("$$"),
            paren: Finder::new("\\)"),
            bracket: Finder::new("\\]"),
            fence: Finder::new("```"),
            envs: HashMap::new(),
            braces: None,
            pass_over_runs: true,
        }
    }

    fn run(&mut self, out: &mut [u8]) {
        let b = self.b;
        let n = b.len();
        let mut scan = SetScanner::new(&PLAIN, b);
        let mut i = 0;
        loop {
            // Letters, spaces and prose punctuation need nothing.
            i = scan.next_outside(i);
            if i >= n {
                break;
            }
            match b[i] {
                b'0'..=b'9' => i = self.number(out, i),
                b'$' => i = self.dollar(out, i),
                b'\\' => i = self.backslash(out, i),
                b'`' => i = self.backtick(out, i),
                b'-' => {
                    // A hyphen between letters is part of a word (peut-être).
                    let word_letter = |c: Option<char>| {
                        c.and_then(super::script::script_of)
                            .is_some_and(|s| s != super::script::Script::Greek)
                    };
                    let word_hyphen = word_letter(self.text[..i].chars().next_back())
                        && word_letter(self.text[i + 1..].chars().next());
                    if !word_hyphen {
                        blank(out, i, i + 1);
                    }
                    i += 1;
                }
                b'+' | b'*' | b'/' | b'=' | b'<' | b'>' | b'^' | b'_' | b'|' | b'~' | b'%'
                | b'&' | b'#' | b'{' | b'}' | b'[' | b']' | b'@' => {
                    blank(out, i, i + 1);
                    i += 1;
                }
                0x80.. => i = self.non_ascii(out, i),
                _ => i += 1,
            }
        }
    }

    fn number(&mut self, out: &mut [u8], i: usize) -> usize {
        let b = self.b;
        let mut j = i;
        while j < b.len() {
            if b[j].is_ascii_digit() {
                j += 1;
            } else if (b[j] == b'.' || b[j] == b',') && j + 1 < b.len() && b[j + 1].is_ascii_digit()
            {
                j += 2;
            } else {
                break;
            }
        }
        blank(out, i, j);
        j
    }

    fn dollar(&mut self, out: &mut [u8], i: usize) -> usize {
        let b = self.b;
        if b.get(i + 1) == Some(&b'$') {
            return match self.dd.find(self.text, i + 2) {
                Some(j) => {
                    blank(out, i, j + 2);
                    j + 2
                }
                None => {
                    blank(out, i, i + 2);
                    i + 2
                }
            };
        }
        // Inline math, pandoc's rule.
        let opens = matches!(b.get(i + 1), Some(x) if !x.is_ascii_whitespace());
        if opens {
            let end = (i + 1 + INLINE_CAP).min(b.len());
            // From one `$` or line break to the next (currency leaves many
            // a `$` unclosed, each searched up to the cap).
            let mut j = i + 1;
            while let Some(k) = memchr::memchr2(b'\n', b'$', &b[j..end]) {
                j += k;
                if b[j] == b'\n' {
                    break;
                }
                let prev = b[j - 1];
                let next_digit = b.get(j + 1).is_some_and(|x| x.is_ascii_digit());
                if j > i + 1 && !prev.is_ascii_whitespace() && prev != b'\\' && !next_digit {
                    blank(out, i, j + 1);
                    return j + 1;
                }
                if b.get(j + 1) == Some(&b'$') {
                    break; // a display opener: not ours
                }
                j += 1;
            }
        }
        blank(out, i, i + 1);
        i + 1
    }

    fn backtick(&mut self, out: &mut [u8], i: usize) -> usize {
        let b = self.b;
        if b[i..].starts_with(b"```") {
            return match self.fence.find(self.text, i + 3) {
                Some(j) => {
                    blank(out, i, j + 3);
                    j + 3
                }
                None => {
                    // Unclosed fence: drop the fence line (its language tag).
                    let e = b[i..]
                        .iter()
                        .position(|&x| x == b'\n')
                        .map_or(b.len(), |p| i + p);
                    blank(out, i, e);
                    e
                }
            };
        }
        let end = (i + 1 + INLINE_CAP).min(b.len());
        if let Some(p) = b[i + 1..end].iter().position(|&x| x == b'`' || x == b'\n') {
            if b[i + 1 + p] == b'`' {
                blank(out, i, i + 2 + p);
                return i + 2 + p;
            }
        }
        blank(out, i, i + 1);
        i + 1
    }

    fn backslash(&mut self, out: &mut [u8], i: usize) -> usize {
        let b = self.b;
        let Some(&nb) = b.get(i + 1) else {
            blank(out, i, i + 1);
            return i + 1;
        };
        match nb {
            b'(' | b'[' => {
                let f = if nb == b'(' {
                    &mut self.paren
                } else {
                    &mut self.bracket
                };
                match f.find(self.text, i + 2) {
                    Some(j) => {
                        blank(out, i, j + 2);
                        j + 2
                    }
                    None => {
                        blank(out, i, i + 2);
                        i + 2
                    }
                }
            }
            b'a'..=b'z' | b'A'..=b'Z' => {
                let mut k = i + 1;
                while k < b.len() && b[k].is_ascii_alphabetic() {
                    k += 1;
                }
                if k < b.len() && b[k] == b'*' {
                    k += 1;
                }
                let name = &self.text[i + 1..k];
                let name = name.trim_end_matches('*');
                if name == "begin" {
                    return self.begin_env(out, i, k);
                }
                if name == "end" {
                    let e = self.env_arg(k).map_or(k, |(_, e)| e);
                    blank(out, i, e);
                    return e;
                }
                if TEXT_COMMANDS.contains(&name) {
                    // Drop the command and its braces, keep the words inside.
                    blank(out, i, k);
                    if b.get(k) == Some(&b'{') {
                        if let Some(close) = self.matching_brace(k) {
                            blank(out, k, k + 1);
                            blank(out, close, close + 1);
                        }
                    }
                    return k;
                }
                // A math command with its arguments: [opt] and {..} groups.
                let mut e = k;
                loop {
                    let mut p = e;
                    while p < b.len() && (b[p] == b' ' || b[p] == b'\t') && p < e + 2 {
                        p += 1;
                    }
                    match b.get(p) {
                        Some(b'{') => match self.matching_brace(p) {
                            Some(close) => e = close + 1,
                            None => {
                                e = p + 1;
                                break;
                            }
                        },
                        Some(b'[') if p == e => {
                            match b[p..(p + 200).min(b.len())]
                                .iter()
                                .position(|&x| x == b']' || x == b'\n')
                            {
                                Some(q) if b[p + q] == b']' => e = p + q + 1,
                                _ => break,
                            }
                        }
                        _ => break,
                    }
                }
                blank(out, i, e);
                e
            }
            _ => {
                // \\ \, \; \! \{ \} \$ \% \& \# \_ and friends.
                let e = if nb < 0x80 { i + 2 } else { i + 1 };
                blank(out, i, e);
                e
            }
        }
    }

    /// `{name}` right after `\begin`/`\end` at `k`: (name, end offset).
    fn env_arg(&self, k: usize) -> Option<(&'a str, usize)> {
        let b = self.b;
        if b.get(k) != Some(&b'{') {
            return None;
        }
        let end = (k + 64).min(b.len());
        let p = b[k + 1..end].iter().position(|&x| x == b'}')?;
        let name = &self.text[k + 1..k + 1 + p];
        if name.bytes().all(|x| x.is_ascii_alphanumeric() || x == b'*') {
            Some((name, k + 2 + p))
        } else {
            None
        }
    }

    fn begin_env(&mut self, out: &mut [u8], i: usize, k: usize) -> usize {
        let Some((name, e)) = self.env_arg(k) else {
            blank(out, i, k);
            return k;
        };
        if TEXT_ENVS.contains(&name.trim_end_matches('*')) {
            blank(out, i, e);
            return e;
        }
        let closer = format!("\\end{{{name}}}");
        let entry = self
            .envs
            .entry(closer.clone())
            .or_insert((usize::MAX, None));
        let cached = if entry.0 != usize::MAX && entry.0 <= e {
            match entry.1 {
                None => Some(None),
                Some(f) if f >= e => Some(Some(f)),
                _ => None,
            }
        } else {
            None
        };
        let found = match cached {
            Some(r) => r,
            None => {
                let r = self.text[e..].find(&closer).map(|p| p + e);
                *entry = (e, r);
                r
            }
        };
        match found {
            Some(j) => {
                let end = j + closer.len();
                blank(out, i, end);
                end
            }
            None => {
                blank(out, i, e);
                e
            }
        }
    }

    /// The matching `}` of the `{` at `open`, from one pass over the whole text.
    fn matching_brace(&mut self, open: usize) -> Option<usize> {
        if self.braces.is_none() {
            self.braces = Some(brace_pairs(self.b));
        }
        let pairs = self.braces.as_ref()?;
        let open32 = u32::try_from(open).ok()?;
        let idx = pairs.binary_search_by_key(&open32, |p| p.0).ok()?;
        let close = pairs[idx].1 as usize;
        (close - open <= BRACE_CAP).then_some(close)
    }

    fn non_ascii(&mut self, out: &mut [u8], i: usize) -> usize {
        // The common case: a run of two- and three-byte characters left as
        // they are wherever they stand (letters, CJK and Thai punctuation).
        if self.pass_over_runs {
            let passed = pass_over_run(self.b, i);
            if passed > i {
                return passed;
            }
        }
        let scripts = super::script::script_table();
        let letters = scripts.non_ascii_prefix_len(&self.text[i..], |s| {
            s.is_some_and(|s| s != super::script::Script::Greek)
        });
        if letters > 0 {
            return i + letters;
        }
        let Some(c) = self.text[i..].chars().next() else {
            return i + 1;
        };
        let len = c.len_utf8();
        let letter = super::script::script_of(c);
        if letter.is_none() && (is_math_symbol(c) || crate::chars::is_numeric(c)) {
            blank(out, i, i + len);
            return i + len;
        }
        if letter.is_some() && matches!(c as u32, 0x0370..=0x03FF) {
            // A lone Greek letter (π, θ) is a math symbol; Greek words stay.
            let prev_letter = self.text[..i]
                .chars()
                .next_back()
                .is_some_and(|p| p.is_alphabetic());
            let mut j = i + len;
            let mut count = 1;
            while let Some(d) = self.text[j..].chars().next() {
                if matches!(d as u32, 0x0370..=0x03FF) && d.is_alphabetic() {
                    count += 1;
                    j += d.len_utf8();
                } else {
                    break;
                }
            }
            let next_letter = self.text[j..]
                .chars()
                .next()
                .is_some_and(|d| d.is_alphabetic());
            if count == 1 && !prev_letter && !next_letter {
                blank(out, i, j);
            }
            return j;
        }
        i + len
    }
}

/// The end of the run of two- and three-byte characters from `i` that
/// [`Masker::non_ascii`] passes over whatever their neighbours
/// ([`passes_anywhere`]); `i` when there is none.
#[inline]
fn pass_over_run(b: &[u8], mut i: usize) -> usize {
    let table = pass_over_table();
    let passes = |code: u32| crate::chars::bit_of(table, code);
    loop {
        if crate::chars::three_byte_code_at(b, i).is_some_and(passes) {
            i += 3;
        } else if crate::chars::two_byte_code_at(b, i).is_some_and(passes) {
            i += 2;
        } else {
            return i;
        }
    }
}

/// Whether [`Masker::non_ascii`] leaves `c` as it is and goes on after it,
/// whatever stands around it: a letter of a script other than Greek (a run
/// of them is skipped), or a character that is no letter, no math symbol
/// and no digit. A Greek letter of U+0370 to U+03FF depends on its
/// neighbours (a lone one is math).
fn passes_anywhere(c: char) -> bool {
    match super::script::script_of(c) {
        Some(super::script::Script::Greek) => !matches!(c as u32, 0x0370..=0x03FF),
        Some(_) => true,
        None => !(is_math_symbol(c) || crate::chars::is_numeric(c)),
    }
}

/// [`passes_anywhere`] of every BMP character, a bit each (8 KiB): one load
/// per character of a Thai, Japanese or Cyrillic run, where the script
/// table took two, and punctuation in the same loop.
fn pass_over_table() -> &'static [u64; 1024] {
    static TABLE: std::sync::OnceLock<Box<[u64; 1024]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| crate::chars::bmp_bit_table(|c| !c.is_ascii() && passes_anywhere(c)))
}

/// All balanced `{`…`}` pairs (ignoring `\{` and `\}`), sorted by the opener.
fn brace_pairs(b: &[u8]) -> Vec<(u32, u32)> {
    if b.len() > u32::MAX as usize {
        return Vec::new();
    }
    let mut stack: Vec<u32> = Vec::new();
    let mut pairs = Vec::new();
    // A backslash escapes the byte after it, whatever it is.
    let mut escaped_until = 0;
    for i in memchr::memchr3_iter(b'\\', b'{', b'}', b) {
        if i < escaped_until {
            continue;
        }
        match b[i] {
            b'\\' => escaped_until = i + 2,
            b'{' => stack.push(i as u32),
            _ => {
                if let Some(o) = stack.pop() {
                    pairs.push((o, i as u32));
                }
            }
        }
    }
    pairs.sort_unstable();
    pairs
}

/// Characters that are math whatever the context.
pub fn is_math_symbol(c: char) -> bool {
    matches!(c as u32,
        0x00B1 | 0x00B2 | 0x00B3 | 0x00B9 | 0x00BC..=0x00BE | 0x00D7 | 0x00F7 | 0x00B0 | 0x00B7 | 0x00AC
        | 0x2032..=0x2037 | 0x2044 | 0x2052
        | 0x2070..=0x209F // super- and subscripts
        | 0x2150..=0x218F // number forms
        | 0x2190..=0x21FF // arrows
        | 0x2200..=0x22FF // mathematical operators
        | 0x2300..=0x23FF // misc technical (⌊ ⌋ ⌈ ⌉)
        | 0x25A0..=0x25FF // geometric shapes (□ △)
        | 0x27C0..=0x27EF | 0x2980..=0x2AFF | 0x27F0..=0x27FF | 0x2900..=0x297F
        | 0x1D400..=0x1D7FF // math alphanumerics
        | 0xFF0B | 0xFF0D | 0xFF1C..=0xFF1E | 0xFF0A | 0xFF0F // fullwidth + - < = > * /
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_keeps_length_and_lines() {
        let t = "Soit $x^2 + 1$ et \\[\\frac{a}{b}\\]\nDonc 3,5 × 2 = 7.";
        let m = math_mask(t);
        assert_eq!(m.len(), t.len());
        assert_eq!(m.matches('\n').count(), 1);
        assert_eq!(strip_math(t), "Soit et\nDonc .");
    }

    #[test]
    fn strips_environments_and_commands() {
        assert_eq!(
            strip_math("a \\begin{align} x &= 1 \\\\ y \\end{align} b"),
            "a b"
        );
        assert_eq!(
            strip_math("the answer is \\boxed{\\frac{1}{\\sqrt{2}}} ok"),
            "the answer is ok"
        );
        assert_eq!(
            strip_math("\\textbf{Final answer} here"),
            "Final answer here"
        );
        assert_eq!(strip_math("\\(a+b\\) and $$\nx\n$$ end"), "and\nend");
        assert_eq!(strip_math("```python\nprint(1)\n```\nDone"), "Done");
    }

    #[test]
    fn currency_is_not_math() {
        assert_eq!(
            strip_math("sells for $2 each, so 9 * $2 = $18 a day"),
            "sells for each, so a day"
        );
        assert_eq!(strip_math("au prix de 2 $ l'œuf"), "au prix de l'œuf");
        // Inline math closes on its line only, not before a digit, not at
        // an escaped or spaced `$`, and not where a display opener starts.
        assert_eq!(strip_math("cost $x\nword$ here"), "cost x\nword here");
        assert_eq!(strip_math("we get $a \\$ b$ done"), "we get done");
        assert_eq!(strip_math("pay $a $5 then$ ok"), "pay ok");
        assert_eq!(strip_math("see $a $$b$$ end"), "see a end");
    }

    #[test]
    fn never_strips_words() {
        assert_eq!(
            strip_math("Donc la réponse est: the answer is eighteen"),
            "Donc la réponse est: the answer is eighteen"
        );
        assert_eq!(strip_math("peut-être well-known"), "peut-être well-known");
    }

    #[test]
    fn unbalanced_input() {
        assert_eq!(strip_math("a \\( b c"), "a b c");
        assert_eq!(strip_math("a $$ b c"), "a b c");
        assert_eq!(strip_math("a \\frac{1 b"), "a b");
        assert_eq!(strip_math("a \\begin{align} b"), "a b");
        assert_eq!(strip_math("x } y {"), "x y");
        assert_eq!(strip_math("\\"), "");
        assert_eq!(strip_math("$"), "");
        assert_eq!(strip_math("é\\é"), "é é");
    }

    #[test]
    fn greek_symbols_and_digits() {
        assert_eq!(strip_math("l'aire est π r² ≈ ٣ ١٢"), "l'aire est r");
        assert_eq!(strip_math("Τα αυγά είναι"), "Τα αυγά είναι");
    }

    /// The byte loop `brace_pairs` replaced: the definition it must equal.
    fn brace_pairs_by_bytes(b: &[u8]) -> Vec<(u32, u32)> {
        let (mut stack, mut pairs, mut i) = (Vec::new(), Vec::new(), 0);
        while i < b.len() {
            match b[i] {
                b'\\' => i += 1,
                b'{' => stack.push(i as u32),
                b'}' => pairs.extend(stack.pop().map(|o| (o, i as u32))),
                _ => {}
            }
            i += 1;
        }
        pairs.sort_unstable();
        pairs
    }

    /// The mask with every non-ASCII character asked on its own.
    fn mask_char_by_char(text: &str) -> String {
        let mut out = text.as_bytes().to_vec();
        let mut masker = Masker::new(text);
        masker.pass_over_runs = false;
        masker.run(&mut out);
        String::from_utf8(out).expect("whole characters replaced")
    }

    #[test]
    fn runs_pass_over_what_no_neighbour_changes() {
        for (text, mask) in [
            // A blanked character leaves a space per byte (π, ², θ, ×, ½: two; ๕: three).
            ("日本語、「π」です。", "日本語、「  」です。"),
            ("соль π r², αβγ θ", "соль    r  , αβγ   "),
            ("ราคา ๕ บาท × 2", "ราคา     บาท     "),
            ("Ἀθῆναι ½", "Ἀθῆναι   "),
        ] {
            assert_eq!(math_mask(text), mask, "{text:?}");
            assert_eq!(mask_char_by_char(text), mask, "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn brace_pairs_skip_escaped_bytes(text in "[{}\\\\a ]{0,40}") {
            proptest::prop_assert_eq!(brace_pairs(text.as_bytes()), brace_pairs_by_bytes(text.as_bytes()));
        }

        /// Letters of every script, lone and in runs of Greek, math
        /// symbols, digits of other scripts, CJK and Thai punctuation.
        #[test]
        fn runs_mask_as_each_character_alone(
            text in "[a-z \\n$\\\\{}0-9éœ×÷²½πθαβ日本、。「」ภาษา๕ัсоль→∑Ἀ\\u{301}·°]{0,60}"
        ) {
            proptest::prop_assert_eq!(math_mask(&text), mask_char_by_char(&text));
        }
    }

    #[test]
    fn pathological_inputs_are_linear() {
        for unit in ["\\(", "$", "\\begin{a}", "\\a{", "{", "`", "$a ", "\\frac{"] {
            let t = unit.repeat(200_000);
            let m = math_mask(&t);
            assert_eq!(m.len(), t.len());
        }
    }
}
