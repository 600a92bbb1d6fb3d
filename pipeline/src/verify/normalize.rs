//! Normalization of an extracted answer into the text the parser reads.
//!
//! LaTeX decoration is removed (`\left`, `\right`, `\displaystyle`, `\!`,
//! `\text{…}` wrappers, degree signs, `\$`), native numerals are folded to
//! ASCII, `\dfrac`-like variants collapse to `\frac`, percent words become
//! `%`, currency signs and trailing units / punctuation are dropped, and
//! number separators are resolved: thousands (`1,000`, `1 000`, `70\,000`,
//! `14{,}916`, `1.234.567`) are joined, decimal commas (`4,5`, `1.234,56`,
//! `21{,}5`) become points when the caller allows it.

use super::numeral;
use std::borrow::Cow;

#[derive(Clone, Copy, Debug)]
pub struct NormOpts {
    /// Read a lone `d,dd` as a decimal comma (off when the gold is a list).
    pub decimal_comma: bool,
    /// The other reading of an ambiguous lone number: `12.000` as twelve
    /// thousand (German, Spanish, Indonesian …) and `1,234` as 1.234 (French).
    pub alt_separators: bool,
    /// The text is math (a box or an environment): a final `!` is a factorial.
    pub math_context: bool,
    /// Read a lone number word (`quinze`, `twenty-one`) as its value.
    pub number_words: bool,
}

impl Default for NormOpts {
    fn default() -> Self {
        NormOpts {
            decimal_comma: true,
            alt_separators: false,
            math_context: false,
            number_words: false,
        }
    }
}

/// Whether `s` is a lone number whose separator could be read both ways
/// (`-?d{1,3}[.,]ddd`).
pub fn ambiguous_separator(s: &str) -> bool {
    let t = s.trim();
    let t = t.strip_prefix('-').unwrap_or(t);
    let b = t.as_bytes();
    let Some(p) = b.iter().position(|c| *c == b'.' || *c == b',') else {
        return false;
    };
    (1..=3).contains(&p)
        && b[0] != b'0'
        && b.len() == p + 4
        && b[..p].iter().all(u8::is_ascii_digit)
        && b[p + 1..].iter().all(u8::is_ascii_digit)
}

/// Words that must survive unit stripping.
const MATH_WORDS: &[&str] = &[
    "pi", "e", "i", "sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "inf",
    "infty", "infinity", "oo", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "abs",
    "floor", "ceil", "mod", "x", "y", "z", "n", "k", "a", "b",
];

/// Single-letter units dropped after `<digit><space>`.
const ONE_LETTER_UNITS: &[&str] = &[
    "m", "g", "s", "h", "l", "t", "d", "c", "o", "j", "w", "v", "p", "f", "r",
];

const PERCENT_WORDS: &[&str] = &[
    "percentage",
    "percent",
    "per cent",
    "pct",
    "por ciento",
    "pour cent",
    "pourcent",
    "pourcents",
    "prozent",
    "por cento",
    "per cento",
    "procent",
    "процентов",
    "процента",
    "процент",
    "відсотків",
    "відсотки",
    "відсоток",
    "phần trăm",
    "persen",
    "asilimia",
    "yüzde",
    "เปอร์เซ็นต์",
    "パーセント",
    "퍼센트",
    "प्रतिशत",
    "শতাংশ",
    "శాతం",
    "百分之",
];

const LIST_WORDS: &[&str] = &[
    " et ", " ou ", " und ", " oder ", " и ", " или ", " và ", " hoặc ", " dan ", " atau ", " y ",
];

/// Normalizes an extracted answer (see the module docs).
pub fn normalize(raw: &str, opts: &NormOpts) -> String {
    // nothing this long can be an answer (the parser refuses it anyway)
    if raw.len() > MAX_NORMALIZE {
        return raw.to_string();
    }
    let folded = numeral::fold(raw);
    let expanded = numeral::expand_cjk_multipliers(&folded);
    let mut s = latex_cleanup(&expanded);
    if !s.is_ascii() || s.contains("per") || s.contains("pct") {
        s = percent_words(&s);
    }
    s = list_words(&s);
    s = trim_decoration(&s, opts.math_context);
    s = strip_leading_words(&s);
    s = strip_units(&s);
    if opts.number_words && !s.bytes().any(|c| c.is_ascii_digit()) {
        if let Some(v) = numeral::number_word(&s) {
            s = v.to_string();
        }
    }
    s = separators(&s, opts);
    let t = s.trim();
    if t.len() != s.len() {
        t.to_string()
    } else {
        s
    }
}

/// Longest text normalized at all.
const MAX_NORMALIZE: usize = 1 << 16;

/// Brace-balanced group starting at `s[i] == '{'`, giving up after `max`
/// bytes: (content, end after `}`).
fn brace_group_within(s: &str, i: usize, max: usize) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    let b = &b[..b.len().min(i.saturating_add(max))];
    if i >= b.len() || b[i] != b'{' {
        return None;
    }
    let mut depth = 0usize;
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'\\' => {
                j += 2;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&s[i + 1..j], j + 1));
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    i
}

/// Length of `{,}` / `{ , }` at the start of `b` (0 if none).
fn brace_comma_len(b: &[u8]) -> usize {
    let mut k = 1;
    while k < b.len() && b[k] == b' ' {
        k += 1;
    }
    if k >= b.len() || b[k] != b',' {
        return 0;
    }
    k += 1;
    while k < b.len() && b[k] == b' ' {
        k += 1;
    }
    if k < b.len() && b[k] == b'}' {
        k + 1
    } else {
        0
    }
}

/// `\\frac` written with a doubled backslash (JSON / Python escaping) → `\frac`.
fn fix_doubled_backslashes(s: &str) -> Cow<'_, str> {
    if !s.contains("\\\\") || s.contains("matrix") || s.contains("array") {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 2 < b.len() && b[i + 1] == b'\\' && b[i + 2].is_ascii_alphabetic() {
            out.push('\\');
            i += 2;
            continue;
        }
        let l = s[i..].chars().next().map(|c| c.len_utf8()).unwrap_or(1);
        out.push_str(&s[i..i + l]);
        i += l;
    }
    Cow::Owned(out)
}

fn latex_cleanup(s: &str) -> String {
    latex_cleanup_depth(s, 0)
}

fn latex_cleanup_depth(s: &str, depth: u32) -> String {
    let fixed = fix_doubled_backslashes(s);
    let s: &str = &fixed;
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 8);
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'$' {
            out.push_str(&s[last..i]);
            out.push(' ');
            i += 1;
            last = i;
            continue;
        }
        let brace_comma = if c == b'{' {
            brace_comma_len(&b[i..])
        } else {
            0
        };
        if brace_comma > 0 {
            out.push_str(&s[last..i]);
            // thousands if exactly three digits follow
            let rest = &b[(i + brace_comma).min(b.len())..];
            let three = rest.len() >= 3
                && rest[..3].iter().all(|d| d.is_ascii_digit())
                && !(rest.len() > 3 && rest[3].is_ascii_digit());
            if !three {
                out.push('.');
            }
            i += brace_comma;
            last = i;
            continue;
        }
        if c != b'\\' {
            i += 1;
            continue;
        }
        // a command
        let start = i;
        let mut j = i + 1;
        while j < b.len() && b[j].is_ascii_alphabetic() {
            j += 1;
        }
        if j == i + 1 {
            // single-char command
            if j < b.len() {
                let n = b[j];
                let repl: Option<&str> = match n {
                    b'!' => {
                        // \! and the spaces after it
                        let mut k = j + 1;
                        while k < b.len() && b[k] == b' ' {
                            k += 1;
                        }
                        out.push_str(&s[last..start]);
                        i = k;
                        last = i;
                        continue;
                    }
                    b'$' => Some(" "),
                    b'%' => Some("%"),
                    b'(' | b')' | b'[' | b']' => Some(" "),
                    b',' => {
                        // thin space: thousands between digit groups
                        let prev_digit = start > 0 && b[start - 1].is_ascii_digit();
                        let rest = &b[j + 1..];
                        let three = rest.len() >= 3
                            && rest[..3].iter().all(|d| d.is_ascii_digit())
                            && !(rest.len() > 3 && rest[3].is_ascii_digit());
                        if prev_digit && three {
                            Some("")
                        } else {
                            Some(" ")
                        }
                    }
                    b';' | b':' | b' ' => Some(" "),
                    _ => None,
                };
                if let Some(r) = repl {
                    out.push_str(&s[last..start]);
                    out.push_str(r);
                    i = j + 1;
                    last = i;
                    continue;
                }
            }
            i = j.max(i + 1);
            if i < b.len() {
                // skip the escaped char (\{ \} \\ …)
                i += s[i..].chars().next().map(|c| c.len_utf8()).unwrap_or(1);
            }
            continue;
        }
        let name = &s[i + 1..j];
        match name {
            "left" | "right" | "bigl" | "bigr" | "Bigl" | "Bigr" | "big" | "Big" | "bigg"
            | "Bigg" | "biggl" | "biggr" | "middle" => {
                out.push_str(&s[last..start]);
                let mut k = j;
                if k < b.len() && b[k] == b'.' {
                    k += 1;
                }
                i = k;
                last = i;
            }
            "displaystyle" | "textstyle" | "scriptstyle" | "limits" | "nolimits" | "quad"
            | "qquad" | "hfill" | "newline" | "boxed" | "fbox" | "ensuremath" | "euro"
            | "pounds" | "yen" | "textdollar" | "dollar" | "cent" => {
                out.push_str(&s[last..start]);
                out.push(' ');
                i = j;
                last = i;
            }
            "dfrac" | "tfrac" | "cfrac" => {
                out.push_str(&s[last..start]);
                out.push_str("\\frac");
                i = j;
                last = i;
            }
            "dbinom" | "tbinom" => {
                out.push_str(&s[last..start]);
                out.push_str("\\binom");
                i = j;
                last = i;
            }
            "degree" | "degrees" => {
                out.push_str(&s[last..start]);
                i = j;
                last = i;
            }
            "circ" => {
                // ^\circ, ^{\circ}: drop together with the caret
                let mut o = s[last..start].to_string();
                let t = o.trim_end();
                if let Some(t2) = t.strip_suffix('^') {
                    o.truncate(t2.len());
                } else if let Some(t2) = t.strip_suffix("^{") {
                    // ^{\circ}
                    o.truncate(t2.len());
                    let k = skip_spaces(b, j);
                    if k < b.len() && b[k] == b'}' {
                        out.push_str(&o);
                        i = k + 1;
                        last = i;
                        continue;
                    }
                }
                out.push_str(&o);
                i = j;
                last = i;
            }
            "text" | "textbf" | "textit" | "textrm" | "textnormal" | "textsf" | "texttt"
            | "mathrm" | "mathit" | "mathbf" | "mathsf" | "mathtt" | "mbox" | "hbox" | "emph"
            | "textup" | "textmd" => {
                let k = skip_spaces(b, j);
                if let Some((content, end)) = brace_group_within(s, k, 4096) {
                    out.push_str(&s[last..start]);
                    let t = content.trim();
                    let tl = t.to_ascii_lowercase();
                    if matches!(
                        tl.as_str(),
                        "and" | "or" | "," | "et" | "und" | "и" | "ou" | "oder" | "или"
                    ) {
                        out.push_str(", ");
                    } else if t.starts_with('\\') || t.contains('{') {
                        // styled math: keep the content
                        out.push_str(&if depth < 4 {
                            latex_cleanup_depth(content, depth + 1)
                        } else {
                            content.to_string()
                        });
                    } else {
                        out.push(' ');
                        out.push_str(&if depth < 4 {
                            latex_cleanup_depth(content, depth + 1)
                        } else {
                            content.to_string()
                        });
                        out.push(' ');
                    }
                    i = end;
                    last = i;
                } else {
                    i = j;
                }
            }
            _ => {
                i = j;
            }
        }
    }
    if last == 0 {
        return s.to_string();
    }
    out.push_str(&s[last..]);
    out
}

/// Lowercase without changing byte offsets (chars whose lowercase has another
/// length are kept).
pub fn lower_same_len(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|c| !c.is_ascii_uppercase() && c < 0x80) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c.is_uppercase() {
            let mut l = c.to_lowercase();
            match (l.next(), l.next()) {
                (Some(lc), None) if lc.len_utf8() == c.len_utf8() => out.push(lc),
                _ => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn percent_words(s: &str) -> String {
    let lower = lower_same_len(s);
    let l = lower.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut last = 0;
    while i < l.len() {
        let mut hit: Option<&str> = None;
        if l[i].is_ascii_alphabetic() || l[i] >= 0xC0 {
            hit = PERCENT_WORDS
                .iter()
                .copied()
                .find(|w| l[i..].starts_with(w.as_bytes()));
        }
        let Some(w) = hit else {
            i += 1;
            continue;
        };
        let end = i + w.len();
        let after_ok = lower[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphabetic());
        if w == "百分之" {
            // 百分之25 → 25%
            let nd = l[end..]
                .iter()
                .take_while(|b| b.is_ascii_digit() || **b == b'.')
                .count();
            if nd > 0 {
                out.push_str(&s[last..i]);
                out.push_str(&s[end..end + nd]);
                out.push('%');
                i = end + nd;
                last = i;
                continue;
            }
        } else {
            let pending = s[last..i].trim_end();
            let before_ok = if pending.is_empty() {
                out.trim_end()
            } else {
                pending
            }
            .ends_with(|c: char| c.is_ascii_digit() || c == '}' || c == ')');
            if before_ok && after_ok {
                out.push_str(pending);
                let t = out.trim_end().len();
                out.truncate(t);
                out.push('%');
                i = end;
                last = i;
                continue;
            }
        }
        i = end;
    }
    out.push_str(&s[last..]);
    out
}

fn list_words(s: &str) -> String {
    let mut out = s.to_string();
    // English "and" / "or" (also ", and", ")or(") between items, as Math-Verify
    if out.contains("and") || out.contains("or") {
        let b = out.as_bytes();
        let mut res = String::with_capacity(out.len());
        let mut i = 0;
        let mut last = 0;
        while i < b.len() {
            let w = if b[i..].starts_with(b"and") {
                3
            } else if b[i..].starts_with(b"or") {
                2
            } else {
                0
            };
            if w > 0 {
                let before_letter = i > 0 && (b[i - 1].is_ascii_alphabetic() || b[i - 1] == b'\\');
                let after_letter = i + w < b.len() && b[i + w].is_ascii_alphabetic();
                let before = out[..i].trim_end();
                let after = out[i + w..].trim_start();
                if !before_letter && !after_letter && !before.is_empty() && !after.is_empty() {
                    // drop a comma right before: "19, 46, and 82"
                    let cut = before
                        .strip_suffix(',')
                        .map(|x| x.trim_end())
                        .unwrap_or(before);
                    res.push_str(&out[last..cut.len().max(last)]);
                    res.push_str(", ");
                    i += w;
                    while i < b.len() && b[i] == b' ' {
                        i += 1;
                    }
                    last = i;
                    continue;
                }
            }
            i += 1;
        }
        if last > 0 {
            res.push_str(&out[last..]);
            out = res;
        }
    }
    if !out.contains(' ') {
        return out;
    }
    for w in LIST_WORDS {
        if out.contains(w) {
            // only between math items (a digit, letter variable or brace on each side)
            let mut res = String::with_capacity(out.len());
            let mut rest = out.as_str();
            while let Some(p) = rest.find(w) {
                let before = rest[..p].trim_end();
                let after = rest[p + w.len()..].trim_start();
                let ok_b = before.ends_with(|c: char| {
                    c.is_ascii_alphanumeric() || matches!(c, '}' | ')' | ']' | '$' | '%')
                });
                let ok_a = after.starts_with(|c: char| {
                    c.is_ascii_alphanumeric() || matches!(c, '\\' | '(' | '[' | '{' | '-' | '$')
                });
                res.push_str(&rest[..p]);
                if ok_b && ok_a && (w != &" y " || before.ends_with(|c: char| c.is_ascii_digit())) {
                    res.push_str(", ");
                } else {
                    res.push_str(w);
                }
                rest = &rest[p + w.len()..];
            }
            res.push_str(rest);
            out = res;
        }
    }
    out
}

const CURRENCY: &[char] = &[
    '€', '£', '¥', '₹', '₽', '₩', '₫', '฿', '₪', '₺', '₴', '₦', '₱', '¢', '₡', '₭', '₮', '₲', '₵',
    '₸', '₼', '₾', '﷼',
];

/// Markdown, currency, leading relation signs, trailing punctuation.
fn trim_decoration(s: &str, math: bool) -> String {
    let mut t: String = if s.contains(CURRENCY) {
        s.replace(CURRENCY, " ")
    } else {
        s.to_string()
    };
    for _ in 0..4 {
        let before = t.len();
        let tr = t
            .trim()
            .trim_start_matches(['*', '_', ':', '：', '#'])
            .trim_end_matches([
                '*', '.', ',', ';', ':', '?', '。', '、', '，', '；', '：', '！', '？', '"', '\'',
                '`', '_', '>', '<',
            ])
            .trim();
        let tr = if math && tr.ends_with('!') && !tr.ends_with("!!") {
            tr
        } else {
            tr.trim_end_matches('!').trim_end()
        };
        let tr = tr
            .strip_prefix("\\approx")
            .or_else(|| tr.strip_prefix('='))
            .or_else(|| tr.strip_prefix('≈'))
            .unwrap_or(tr);
        // unbalanced trailing closers: "5)" from "(answer: 5)"
        let mut tr = tr.trim();
        const OPEN: &[char] = &['(', '[', '{'];
        const CLOSE: &[char] = &[')', ']', '}'];
        let mut opens = tr.chars().filter(|c| OPEN.contains(c)).count();
        let mut closes = tr.chars().filter(|c| CLOSE.contains(c)).count();
        while tr.ends_with(CLOSE) && closes > opens {
            tr = tr[..tr.len() - 1].trim_end();
            closes -= 1;
        }
        while tr.starts_with(OPEN) && opens > closes {
            tr = tr[1..].trim_start();
            opens -= 1;
        }
        t = tr.to_string();
        if t.len() == before {
            break;
        }
    }
    // "US$" / "R$"-style prefixes and "Rs." are left to the unit stripper
    t
}

/// Drops leading words before a number: `約18` → `18`, `Total: 18` → `18`,
/// `มากกว่า 75` → `75`. Math words and single letters stay (`x = 5`, `pi`).
fn strip_leading_words(s: &str) -> String {
    let mut t = s.trim_start();
    if !t.bytes().any(|c| c.is_ascii_digit()) {
        return t.to_string();
    }
    for _ in 0..4 {
        let wlen: usize = t
            .chars()
            .take_while(|c| is_unit_word_char(*c))
            .map(|c| c.len_utf8())
            .sum();
        if wlen == 0 {
            break;
        }
        let word = &t[..wlen];
        if word.is_ascii()
            && (word.len() < 3 || MATH_WORDS.contains(&word.to_ascii_lowercase().as_str()))
        {
            break;
        }
        let rest = t[wlen..].trim_start_matches([' ', ':', '：', ',', '，', '\t']);
        let starts_num = rest
            .starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '(' || c == '.')
            || rest.starts_with("\\frac")
            || rest.starts_with("\\sqrt");
        if starts_num {
            t = rest;
        } else if rest.starts_with(is_unit_word_char) && !word.is_ascii() {
            // several leading words ("ประมาณ มากกว่า 75")
            t = rest;
        } else {
            break;
        }
    }
    t.to_string()
}

fn is_unit_word_char(c: char) -> bool {
    c.is_ascii_alphabetic() || super::expr::is_word_char(c)
}

/// Drops trailing unit / currency / counter words after a number.
fn strip_units(s: &str) -> String {
    let mut t = s.trim_end().to_string();
    for _ in 0..6 {
        let trimmed = t
            .trim_end()
            .trim_end_matches(['.', ',', ';', ':', '。', ')'])
            .trim_end();
        // a trailing exponent on a unit: cm^2, m^{3}
        let mut end = trimmed.len();
        let tb = trimmed.as_bytes();
        let mut k = end;
        if k > 0 && tb[k - 1] == b'}' {
            if let Some(p) = trimmed.rfind("^{") {
                if trimmed[p + 2..k - 1].bytes().all(|c| c.is_ascii_digit()) {
                    k = p;
                }
            }
        } else {
            let mut q = k;
            while q > 0 && tb[q - 1].is_ascii_digit() {
                q -= 1;
            }
            if q < k && q > 0 && tb[q - 1] == b'^' {
                k = q - 1;
            }
        }
        let core = trimmed[..k].trim_end();
        // the trailing word
        let word_start = core
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_unit_word_char(*c))
            .last()
            .map(|(i, _)| i)
            .unwrap_or(core.len());
        if word_start == core.len() {
            break;
        }
        let word = &core[word_start..];
        let prefix = &core[..word_start];
        let prefix_t = prefix.trim_end().trim_end_matches(['/', '·']).trim_end();
        if prefix_t.is_empty()
            || word.starts_with(|c: char| c.is_ascii_alphabetic()) && prefix.ends_with('\\')
        {
            break;
        }
        let has_digit = prefix_t.bytes().any(|c| c.is_ascii_digit());
        let ends_ok = prefix_t
            .ends_with(|c: char| c.is_ascii_digit() || matches!(c, '}' | ')' | '%' | '$' | ']'))
            || prefix_t.ends_with(is_unit_word_char);
        if !has_digit || !ends_ok {
            break;
        }
        let lw = word.to_ascii_lowercase();
        let ascii = word.is_ascii();
        let spaced = prefix.ends_with(' ');
        let compound =
            prefix.trim_end().ends_with(['/', '·']) && prefix_t.ends_with(is_unit_word_char);
        let strip = if !ascii || compound {
            true
        } else if MATH_WORDS.contains(&lw.as_str())
            && !(spaced
                && ONE_LETTER_UNITS.contains(&lw.as_str())
                && prefix_t.ends_with(|c: char| c.is_ascii_digit()))
        {
            false
        } else if word.len() == 1 {
            spaced
                && prefix_t.ends_with(|c: char| c.is_ascii_digit())
                && ONE_LETTER_UNITS.contains(&lw.as_str())
        } else {
            // a Latin word of 2+ letters after a number or another unit word
            spaced || prefix_t.ends_with(|c: char| c.is_ascii_digit())
        };
        if !strip {
            break;
        }
        end = prefix_t.len();
        t.truncate(end);
    }
    t
}

/// `1,00,000` / `12,34,567.5`: Indian digit grouping (2-digit groups, then 3).
fn is_indian_grouping(t: &str) -> bool {
    let t = t.strip_prefix('-').unwrap_or(t);
    let int = t.split('.').next().unwrap_or("");
    let groups: Vec<&str> = int.split(',').collect();
    if groups.len() < 3
        || !groups
            .iter()
            .all(|g| !g.is_empty() && g.bytes().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    let n = groups.len();
    groups[n - 1].len() == 3
        && groups[1..n - 1].iter().all(|g| g.len() == 2)
        && (1..=2).contains(&groups[0].len())
}

#[inline]
fn is_d(b: &[u8], i: usize) -> bool {
    i < b.len() && b[i].is_ascii_digit()
}

/// Thousands separators and decimal commas.
fn separators(s: &str, opts: &NormOpts) -> String {
    if opts.alt_separators && ambiguous_separator(s) {
        let t = s.trim();
        return if t.contains('.') {
            t.replace('.', "")
        } else {
            t.replace(',', ".")
        };
    }
    // Indian grouping 1,00,000 and Swiss 1'000
    let indian;
    let s = if s.contains(',') && is_indian_grouping(s.trim()) {
        indian = s.replace(',', "");
        indian.as_str()
    } else if s.contains('\'')
        && s.trim()
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b'\'' || c == b'.' || c == b'-')
    {
        indian = s.replace('\'', "");
        indian.as_str()
    } else {
        s
    };
    let b = s.as_bytes();
    if !b.iter().any(|c| *c == b',' || *c == b' ' || *c == b'.') {
        return s.to_string();
    }
    // bracket context: commas inside (), [], \{\} are list separators
    let bracketed = s.contains(['(', '[', '{']) || s.contains("\\{");
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let start_ok =
            i == 0 || !(b[i - 1].is_ascii_digit() || b[i - 1] == b'.' || b[i - 1] == b',');
        if start_ok && is_d(b, i) && b[i] != b'0' {
            // leading group 1-3 digits
            let mut j = i;
            while is_d(b, j) {
                j += 1;
            }
            let lead = j - i;
            if (1..=3).contains(&lead) {
                // try separator groups
                for sep in [b',', b' ', b'.'] {
                    if sep == b',' && bracketed {
                        continue;
                    }
                    let mut k = j;
                    let mut groups = 0;
                    while k < b.len()
                        && b[k] == sep
                        && is_d(b, k + 1)
                        && is_d(b, k + 2)
                        && is_d(b, k + 3)
                        && !is_d(b, k + 4)
                    {
                        k += 4;
                        groups += 1;
                    }
                    // dots need two groups (1.234.567) or a decimal comma after (1.234,5)
                    let dot_ok = sep != b'.'
                        || groups >= 2
                        || (groups == 1 && k < b.len() && b[k] == b',' && is_d(b, k + 1));
                    // a thousands group must not be followed by another separator+digit of a different kind
                    let comma_tail =
                        sep == b',' && k + 1 < b.len() && b[k] == b',' && is_d(b, k + 1);
                    if groups > 0 && dot_ok && !comma_tail {
                        for &c in &b[i..k] {
                            if c != sep {
                                out.push(c as char);
                            }
                        }
                        // European decimal after dot thousands: 1.234,56
                        if sep == b'.' && k < b.len() && b[k] == b',' && is_d(b, k + 1) {
                            out.push('.');
                            k += 1;
                        }
                        // English decimal after comma/space thousands: 1,234.56
                        i = k;
                        break;
                    }
                }
                if i >= j {
                    continue;
                }
            }
        }
        // copy one char
        let ch_len = s[i..].chars().next().map(|c| c.len_utf8()).unwrap_or(1);
        out.push_str(&s[i..i + ch_len]);
        i += ch_len;
    }
    // decimal comma: exactly one comma, between digits, outside brackets
    if opts.decimal_comma && !bracketed {
        let ob = out.as_bytes();
        let commas: Vec<usize> = ob
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == b',')
            .map(|(i, _)| i)
            .collect();
        if commas.len() == 1 {
            let p = commas[0];
            if p > 0 && ob[p - 1].is_ascii_digit() && is_d(ob, p + 1) {
                // the number after the comma must end the number (no further '.')
                let mut q = p + 1;
                while is_d(ob, q) {
                    q += 1;
                }
                let ok_after = q >= ob.len() || ob[q] != b'.';
                if ok_after {
                    let mut o = out.into_bytes();
                    o[p] = b'.';
                    return String::from_utf8(o).unwrap_or_default();
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s, &NormOpts::default())
    }

    #[test]
    fn basics() {
        assert_eq!(n("70,000"), "70000");
        assert_eq!(n("70\\,000"), "70000");
        assert_eq!(n("1 000 000"), "1000000");
        assert_eq!(n("14{,}916"), "14916");
        assert_eq!(n("21{,}5"), "21.5");
        assert_eq!(n("4,5"), "4.5");
        assert_eq!(n("4,00 \\$"), "4.00");
        assert_eq!(n("1.234,56"), "1234.56");
        assert_eq!(n("1.234.567"), "1234567");
        assert_eq!(n("1,234.5"), "1234.5");
        assert_eq!(n("18 \\text{ dollars}"), "18");
        assert_eq!(n("18ドル"), "18");
        assert_eq!(n("7万ドル"), "70000");
        assert_eq!(n("๑๘ บาท"), "18");
        assert_eq!(n("\\$18.50"), "18.50");
        assert_eq!(n("90^\\circ"), "90");
        assert_eq!(n("90^{\\circ}"), "90");
        assert_eq!(n("28\\%"), "28%");
        assert_eq!(n("28 percent"), "28%");
        assert_eq!(n("15\\mbox{ cm}^2"), "15");
        assert_eq!(n("\\dfrac{1}{2}"), "\\frac{1}{2}");
        assert_eq!(
            n("\\left( 3, \\frac{\\pi}{2} \\right)"),
            "( 3, \\frac{\\pi}{2} )"
        );
        assert_eq!(n("5 km/h"), "5");
        assert_eq!(n("12 and 13"), "12, 13");
        assert_eq!(n("3.5."), "3.5");
        assert_eq!(n("x = 5 m"), "x = 5");
        assert_eq!(n("2x"), "2x");
        assert_eq!(n("\\text{Evelyn}"), "Evelyn");
        assert_eq!(n("(1,000)"), "(1,000)");
    }
}
