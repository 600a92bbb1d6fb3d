//! Native numerals and full-width forms.
//!
//! Every decimal digit script that Unicode encodes as a contiguous run of ten
//! code points (`0`..`9`) is folded to ASCII digits: full-width, Arabic-Indic,
//! Extended Arabic-Indic (Persian/Urdu), Devanagari, Bengali, Gurmukhi,
//! Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam, Sinhala, Thai, Lao,
//! Tibetan, Myanmar, Khmer, Mongolian, N'Ko, Limbu, and a few more. Full-width
//! ASCII punctuation that matters for math (`＋ － ／ ． ％ （ ）` …) is folded
//! too; the full-width comma `，` and the ideographic full stop are *not*
//! folded to `,`, because in CJK text they separate clauses, never digits.
//!
//! CJK large-number multipliers (`7万` = 70000, `1.5億`, Korean `7만`) are
//! expanded by [`expand_cjk_multipliers`], and a small number-word table for
//! CJK numerals (`十八`) lives in [`cjk_numeral_value`].

use std::borrow::Cow;

/// Zero code points of the decimal digit scripts we fold.
const DIGIT_ZEROS: &[u32] = &[
    0x0660,  // Arabic-Indic
    0x06F0,  // Extended Arabic-Indic (Persian, Urdu)
    0x07C0,  // N'Ko
    0x0966,  // Devanagari
    0x09E6,  // Bengali
    0x0A66,  // Gurmukhi
    0x0AE6,  // Gujarati
    0x0B66,  // Oriya
    0x0BE6,  // Tamil
    0x0C66,  // Telugu
    0x0CE6,  // Kannada
    0x0D66,  // Malayalam
    0x0DE6,  // Sinhala
    0x0E50,  // Thai
    0x0ED0,  // Lao
    0x0F20,  // Tibetan
    0x1040,  // Myanmar
    0x1090,  // Myanmar Shan
    0x17E0,  // Khmer
    0x1810,  // Mongolian
    0x1946,  // Limbu
    0x19D0,  // New Tai Lue
    0x1A80,  // Tai Tham Hora
    0x1A90,  // Tai Tham Tham
    0x1B50,  // Balinese
    0x1BB0,  // Sundanese
    0x1C40,  // Lepcha
    0x1C50,  // Ol Chiki
    0xA620,  // Vai
    0xA8D0,  // Saurashtra
    0xA900,  // Kayah Li
    0xA9D0,  // Javanese
    0xA9F0,  // Myanmar Tai Laing
    0xAA50,  // Cham
    0xABF0,  // Meetei Mayek
    0xFF10,  // Full-width
    0x1D7CE, // Mathematical bold digits
    0x1D7D8, // Mathematical double-struck digits
    0x1D7E2, // Mathematical sans-serif digits
    0x1D7EC, // Mathematical sans-serif bold digits
    0x1D7F6, // Mathematical monospace digits
];

/// The ASCII digit value of a native (non-ASCII) decimal digit, if `c` is one.
#[inline]
pub fn native_digit(c: char) -> Option<u8> {
    let u = c as u32;
    if u < 0x0660 {
        return None;
    }
    for &z in DIGIT_ZEROS {
        if u >= z && u < z + 10 {
            return Some((u - z) as u8);
        }
    }
    None
}

/// The ASCII replacement of a full-width or otherwise foldable character.
#[inline]
fn fold_char(c: char) -> Option<&'static str> {
    Some(match c {
        '＋' => "+",
        '－' | '−' | '–' | '—' | '‒' => "-",
        '／' | '∕' => "/",
        '．' => ".",
        '％' | '٪' => "%",
        '（' => "(",
        '）' => ")",
        '［' => "[",
        '］' => "]",
        '｛' => "{",
        '｝' => "}",
        '＝' => "=",
        '＜' => "<",
        '＞' => ">",
        '：' => ":",
        '；' => ";",
        '，' | '、' => ", ",
        '＄' => "$",
        '＾' => "^",
        '＊' => "*",
        '٫' => ".", // Arabic decimal separator
        '٬' => ",", // Arabic thousands separator
        '\u{00A0}' | '\u{2009}' | '\u{202F}' | '\u{2007}' | '\u{3000}' => " ",
        '·' | '⋅' | '∙' => "\\cdot ",
        '×' | '✕' => "\\times ",
        '÷' => "\\div ",
        '±' => "\\pm ",
        '∓' => "\\mp ",
        '≤' | '⩽' => "\\le ",
        '≥' | '⩾' => "\\ge ",
        '≠' => "\\ne ",
        '≈' => "\\approx ",
        '∞' => "\\infty ",
        'π' => "\\pi ",
        '√' => "\\sqrt",
        '∪' => "\\cup ",
        '∩' => "\\cap ",
        '∈' => "\\in ",
        '∅' => "\\emptyset ",
        '°' => "^\\circ ",
        '′' => "'",
        _ => return None,
    })
}

/// Whether the text needs [`fold`] at all (fast check for the ASCII case).
#[inline]
pub fn needs_fold(s: &str) -> bool {
    !s.is_ascii()
}

/// Folds native digits and full-width math punctuation to ASCII/LaTeX.
pub fn fold(s: &str) -> Cow<'_, str> {
    if !needs_fold(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else if let Some(d) = native_digit(c) {
            out.push((b'0' + d) as char);
            changed = true;
        } else if let Some(r) = fold_char(c) {
            out.push_str(r);
            changed = true;
        } else {
            out.push(c);
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    }
}

/// Multiplier of a CJK / Korean large-number character.
#[inline]
pub fn cjk_multiplier(c: char) -> Option<u64> {
    Some(match c {
        '万' | '萬' | '만' => 10_000,
        '亿' | '億' | '억' => 100_000_000,
        '兆' | '조' => 1_000_000_000_000,
        _ => return None,
    })
}

/// Value of a single CJK numeral digit.
#[inline]
fn cjk_digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '壹' => 1,
        '二' | '两' | '兩' | '贰' | '貳' => 2,
        '三' | '叁' | '參' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' | '陸' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

#[inline]
fn cjk_small_unit(c: char) -> Option<u64> {
    Some(match c {
        '十' | '拾' => 10,
        '百' | '佰' => 100,
        '千' | '仟' => 1000,
        _ => return None,
    })
}

/// Whether `c` can be part of a CJK numeral (`十八`, `三千五百`, `两万`).
#[inline]
pub fn is_cjk_numeral_char(c: char) -> bool {
    cjk_digit(c).is_some() || cjk_small_unit(c).is_some() || matches!(c, '万' | '萬' | '亿' | '億')
}

/// The value of a CJK numeral such as `十八`, `一百零五`, `三千五百`, `两万`.
/// Returns `None` for anything else (or on overflow).
pub fn cjk_numeral_value(s: &str) -> Option<u64> {
    let mut total: u64 = 0; // completed 万/亿 sections
    let mut section: u64 = 0; // below 10^4
    let mut digit: Option<u64> = None;
    let mut any = false;
    for c in s.chars() {
        any = true;
        if let Some(d) = cjk_digit(c) {
            digit = Some(d);
        } else if let Some(u) = cjk_small_unit(c) {
            let d = digit.take().unwrap_or(1);
            section = section.checked_add(d.checked_mul(u)?)?;
        } else if let Some(m) = cjk_multiplier(c) {
            let d = digit.take().unwrap_or(0);
            let sec = section + d;
            let sec = if sec == 0 { 1 } else { sec };
            total = total.checked_add(sec.checked_mul(m)?)?;
            section = 0;
        } else {
            return None;
        }
    }
    if !any {
        return None;
    }
    let d = digit.unwrap_or(0);
    total.checked_add(section)?.checked_add(d)
}

/// Rewrites `7万` → `70000`, `1.5億` → `150000000`, `1億2000万` → `120000000`,
/// Korean `7만` → `70000` (digits must already be ASCII). Text without a
/// multiplier is returned unchanged.
pub fn expand_cjk_multipliers(s: &str) -> Cow<'_, str> {
    if s.is_ascii() || !s.chars().any(|c| cjk_multiplier(c).is_some()) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 8);
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_digit() || b[i - 1] == b'.')) {
            // Try a chain: number mult (number mult)* [number]
            let mut j = i;
            let mut total: f64 = 0.0;
            let mut exact: Option<u128> = Some(0);
            let mut chain = false;
            let mut end = i;
            loop {
                let ns = j;
                while j < b.len() && (b[j].is_ascii_digit() || b[j] == b',') {
                    j += 1;
                }
                let mut has_dot = false;
                if j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
                    has_dot = true;
                    j += 1;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                }
                if j == ns {
                    break;
                }
                let num_str: String = s[ns..j].chars().filter(|c| *c != ',').collect();
                let rest = &s[j..];
                let mc = rest.chars().next();
                match mc.and_then(cjk_multiplier) {
                    Some(m) => {
                        chain = true;
                        let v: f64 = num_str.parse().unwrap_or(0.0);
                        total += v * m as f64;
                        exact = match (exact, has_dot) {
                            (Some(e), false) => num_str
                                .parse::<u128>()
                                .ok()
                                .and_then(|n| n.checked_mul(m as u128))
                                .and_then(|x| x.checked_add(e)),
                            (Some(e), true) => {
                                decimal_times(&num_str, m).and_then(|x| x.checked_add(e))
                            }
                            _ => None,
                        };
                        j += mc.map(|c| c.len_utf8()).unwrap_or(0);
                        end = j;
                        // continue the chain only if a digit follows immediately
                        if j < b.len() && b[j].is_ascii_digit() {
                            continue;
                        }
                        break;
                    }
                    None => {
                        if chain {
                            // trailing plain number after a multiplier (1億2000 → +2000)
                            let v: f64 = num_str.parse().unwrap_or(0.0);
                            total += v;
                            exact = if has_dot {
                                None
                            } else {
                                exact.and_then(|e| {
                                    num_str.parse::<u128>().ok().and_then(|n| n.checked_add(e))
                                })
                            };
                            end = j;
                        }
                        break;
                    }
                }
            }
            if chain {
                out.push_str(&s[last..i]);
                match exact {
                    Some(e) => out.push_str(&e.to_string()),
                    None => out.push_str(&format!("{total}")),
                }
                last = end;
                i = end;
                continue;
            }
            i = j.max(i + 1);
            continue;
        }
        i += 1;
    }
    if last == 0 {
        return Cow::Borrowed(s);
    }
    out.push_str(&s[last..]);
    Cow::Owned(out)
}

/// `1.5` × 10000 exactly (the multiplier is a power of ten).
fn decimal_times(num: &str, m: u64) -> Option<u128> {
    let (int, frac) = num.split_once('.')?;
    let zeros = (m as f64).log10().round() as usize;
    if frac.len() > zeros {
        return None;
    }
    let mut digits = String::with_capacity(int.len() + zeros);
    digits.push_str(int);
    digits.push_str(frac);
    for _ in frac.len()..zeros {
        digits.push('0');
    }
    digits.parse().ok()
}

/// Cardinal number words (lowercase) of the common languages, 0–20 and tens.
/// Words that double as articles (un, une, uno, una, um, uma, ein, eine) are
/// left out on purpose.
const NUMBER_WORDS: &[(&str, u64)] = &[
    // English
    ("zero", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
    ("hundred", 100),
    // French
    ("zéro", 0),
    ("deux", 2),
    ("trois", 3),
    ("quatre", 4),
    ("cinq", 5),
    ("sept", 7),
    ("huit", 8),
    ("neuf", 9),
    ("dix", 10),
    ("onze", 11),
    ("douze", 12),
    ("treize", 13),
    ("quatorze", 14),
    ("quinze", 15),
    ("seize", 16),
    ("dix-sept", 17),
    ("dix-huit", 18),
    ("dix-neuf", 19),
    ("vingt", 20),
    ("trente", 30),
    ("quarante", 40),
    ("cinquante", 50),
    ("soixante", 60),
    ("soixante-dix", 70),
    ("quatre-vingt", 80),
    ("quatre-vingts", 80),
    ("quatre-vingt-dix", 90),
    ("cent", 100),
    // Spanish
    ("cero", 0),
    ("dos", 2),
    ("tres", 3),
    ("cuatro", 4),
    ("cinco", 5),
    ("seis", 6),
    ("siete", 7),
    ("ocho", 8),
    ("nueve", 9),
    ("diez", 10),
    ("once", 11),
    ("doce", 12),
    ("trece", 13),
    ("catorce", 14),
    ("quince", 15),
    ("dieciséis", 16),
    ("diecisiete", 17),
    ("dieciocho", 18),
    ("diecinueve", 19),
    ("veinte", 20),
    ("treinta", 30),
    ("cuarenta", 40),
    ("cincuenta", 50),
    ("sesenta", 60),
    ("setenta", 70),
    ("ochenta", 80),
    ("noventa", 90),
    ("cien", 100),
    // Portuguese
    ("dois", 2),
    ("duas", 2),
    ("três", 3),
    ("quatro", 4),
    ("sete", 7),
    ("oito", 8),
    ("nove", 9),
    ("dez", 10),
    ("doze", 12),
    ("treze", 13),
    ("catorze", 14),
    ("quinze", 15),
    ("dezesseis", 16),
    ("dezessete", 17),
    ("dezoito", 18),
    ("dezenove", 19),
    ("vinte", 20),
    ("trinta", 30),
    ("quarenta", 40),
    ("cinquenta", 50),
    ("sessenta", 60),
    ("setenta", 70),
    ("oitenta", 80),
    ("noventa", 90),
    ("cem", 100),
    // German
    ("null", 0),
    ("eins", 1),
    ("zwei", 2),
    ("drei", 3),
    ("vier", 4),
    ("fünf", 5),
    ("sechs", 6),
    ("sieben", 7),
    ("acht", 8),
    ("neun", 9),
    ("zehn", 10),
    ("elf", 11),
    ("zwölf", 12),
    ("dreizehn", 13),
    ("vierzehn", 14),
    ("fünfzehn", 15),
    ("sechzehn", 16),
    ("siebzehn", 17),
    ("achtzehn", 18),
    ("neunzehn", 19),
    ("zwanzig", 20),
    ("dreißig", 30),
    ("vierzig", 40),
    ("fünfzig", 50),
    ("sechzig", 60),
    ("siebzig", 70),
    ("achtzig", 80),
    ("neunzig", 90),
    ("hundert", 100),
    // Italian
    ("due", 2),
    ("quattro", 4),
    ("sei", 6),
    ("otto", 8),
    ("dieci", 10),
    ("undici", 11),
    ("dodici", 12),
    ("tredici", 13),
    ("quattordici", 14),
    ("quindici", 15),
    ("sedici", 16),
    ("diciassette", 17),
    ("diciotto", 18),
    ("diciannove", 19),
    ("venti", 20),
    ("trenta", 30),
    // Russian
    ("ноль", 0),
    ("один", 1),
    ("одна", 1),
    ("два", 2),
    ("две", 2),
    ("три", 3),
    ("четыре", 4),
    ("пять", 5),
    ("шесть", 6),
    ("семь", 7),
    ("восемь", 8),
    ("девять", 9),
    ("десять", 10),
    ("одиннадцать", 11),
    ("двенадцать", 12),
    ("тринадцать", 13),
    ("четырнадцать", 14),
    ("пятнадцать", 15),
    ("шестнадцать", 16),
    ("семнадцать", 17),
    ("восемнадцать", 18),
    ("девятнадцать", 19),
    ("двадцать", 20),
    ("тридцать", 30),
    ("сорок", 40),
    ("пятьдесят", 50),
    ("сто", 100),
    // Indonesian / Malay, Swahili
    ("nol", 0),
    ("satu", 1),
    ("dua", 2),
    ("tiga", 3),
    ("empat", 4),
    ("lima", 5),
    ("enam", 6),
    ("tujuh", 7),
    ("delapan", 8),
    ("sembilan", 9),
    ("sepuluh", 10),
    ("sebelas", 11),
    ("moja", 1),
    ("mbili", 2),
    ("tatu", 3),
    ("nne", 4),
    ("tano", 5),
    ("sita", 6),
    ("saba", 7),
    ("nane", 8),
    ("tisa", 9),
    ("kumi", 10),
    ("ishirini", 20),
];

/// The value of a number word or a simple compound (`twenty-one`,
/// `vingt et un`, `treinta y uno`, `dix-sept`), case-insensitive.
pub fn number_word(s: &str) -> Option<u64> {
    let w = s.trim().to_lowercase();
    if w.is_empty() || w.len() > 40 {
        return None;
    }
    if let Some(&(_, v)) = NUMBER_WORDS.iter().find(|(k, _)| *k == w) {
        return Some(v);
    }
    // tens + units
    let parts: Vec<&str> = w
        .split(['-', ' '])
        .filter(|p| !p.is_empty() && !matches!(*p, "et" | "y" | "e" | "and" | "na"))
        .collect();
    if parts.len() == 2 {
        let units = |p: &str| -> Option<u64> {
            match p {
                "un" | "une" | "uno" | "um" | "one" | "один" | "una" => Some(1),
                _ => NUMBER_WORDS
                    .iter()
                    .find(|(k, v)| *k == p && *v < 10)
                    .map(|(_, v)| *v),
            }
        };
        let t = NUMBER_WORDS
            .iter()
            .find(|(k, v)| *k == parts[0] && *v >= 20 && *v % 10 == 0 && *v < 100)
            .map(|(_, v)| *v)?;
        return Some(t + units(parts[1])?);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_scripts() {
        assert_eq!(fold("๑๘"), "18");
        assert_eq!(fold("১২৩"), "123");
        assert_eq!(fold("٤٥"), "45");
        assert_eq!(fold("४२"), "42");
        assert_eq!(fold("１２３"), "123");
        assert_eq!(fold("۱۲"), "12");
        assert_eq!(fold("౧౦"), "10");
        assert_eq!(fold("3٫5"), "3.5");
    }

    #[test]
    fn multipliers() {
        assert_eq!(expand_cjk_multipliers("7万ドル"), "70000ドル");
        assert_eq!(expand_cjk_multipliers("1.5万"), "15000");
        assert_eq!(expand_cjk_multipliers("1億2000万"), "120000000");
        assert_eq!(expand_cjk_multipliers("7만 원"), "70000 원");
        assert_eq!(expand_cjk_multipliers("18"), "18");
    }

    #[test]
    fn words() {
        assert_eq!(number_word("Quinze"), Some(15));
        assert_eq!(number_word("twenty-one"), Some(21));
        assert_eq!(number_word("vingt et un"), Some(21));
        assert_eq!(number_word("treinta y uno"), Some(31));
        assert_eq!(number_word("un"), None);
        assert_eq!(number_word("dollars"), None);
    }

    #[test]
    fn cjk_words() {
        assert_eq!(cjk_numeral_value("十八"), Some(18));
        assert_eq!(cjk_numeral_value("一百零五"), Some(105));
        assert_eq!(cjk_numeral_value("三千五百"), Some(3500));
        assert_eq!(cjk_numeral_value("两万"), Some(20000));
        assert_eq!(cjk_numeral_value("七"), Some(7));
        assert_eq!(cjk_numeral_value("ドル"), None);
    }
}
