//! lingua 1.8 (what the paper's Python code wraps): rules on unique
//! characters, then 1–5-gram models (trigrams only from 120 characters on).
//!
//! The detector is restricted to the configured languages, as the paper did.
//! lingua keeps its models in process-wide maps, loaded lazily per language
//! on first use (or all at once with `preload`); detectors are cached here
//! per language set so that every caller shares one.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};

use super::lingua_words::Census;
use super::{latin_langs, Ngram};
use crate::lang::Detection;

const TABLE: &[(&str, Language)] = &[
    ("ar", Language::Arabic),
    ("bn", Language::Bengali),
    ("de", Language::German),
    ("en", Language::English),
    ("es", Language::Spanish),
    ("fr", Language::French),
    ("ja", Language::Japanese),
    ("ko", Language::Korean),
    ("pt", Language::Portuguese),
    ("ru", Language::Russian),
    ("sw", Language::Swahili),
    ("te", Language::Telugu),
    ("th", Language::Thai),
    ("vi", Language::Vietnamese),
    ("zh", Language::Chinese),
];

pub fn to_lingua(code: &str) -> Option<Language> {
    TABLE.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

pub fn from_lingua(lang: Language) -> Option<&'static str> {
    TABLE.iter().find(|(_, l)| *l == lang).map(|(c, _)| *c)
}

type Cache = Mutex<HashMap<(Vec<&'static str>, bool), &'static LanguageDetector>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn shared_with(langs: &[&'static str], preload: bool) -> &'static LanguageDetector {
    let mut key: Vec<&'static str> = langs
        .iter()
        .copied()
        .filter(|l| to_lingua(l).is_some())
        .collect();
    key.sort_unstable();
    key.dedup();
    let mut map = cache().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(d) = map.get(&(key.clone(), preload)) {
        return d;
    }
    let languages: Vec<Language> = key.iter().filter_map(|l| to_lingua(l)).collect();
    // lingua panics on an empty set; callers never pass one, but stay total.
    let languages = if languages.is_empty() {
        vec![Language::English]
    } else {
        languages
    };
    let mut builder = LanguageDetectorBuilder::from_languages(&languages);
    if preload {
        builder.with_preloaded_language_models();
    }
    // Detectors live as long as the process, like lingua's own model maps.
    let det: &'static LanguageDetector = Box::leak(Box::new(builder.build()));
    map.insert((key, preload), det);
    det
}

/// The process-wide lingua detector over these languages (lazy models).
pub fn shared(langs: &[&'static str]) -> &'static LanguageDetector {
    shared_with(langs, false)
}

/// Longest word lingua is given: it slices every n-gram of a word by
/// counting characters from the word's start, which is quadratic in the
/// word's length (10 MB of one letter would take hours).
pub const MAX_WORD: usize = 1000;

/// `text` with every letter past the first [`MAX_WORD`] of a word replaced by
/// spaces (byte length and offsets kept); borrowed when nothing is that long.
/// Han and kana are single-character tokens for lingua and never count.
pub fn tame_long_words(text: &str) -> std::borrow::Cow<'_, str> {
    if !may_hold_a_long_word(text.as_bytes()) {
        return std::borrow::Cow::Borrowed(text);
    }
    tame_by_characters(text)
}

/// [`tame_long_words`] one character at a time.
fn tame_by_characters(text: &str) -> std::borrow::Cow<'_, str> {
    let is_word_char = |c: char| {
        crate::chars::is_alphabetic(c)
            && !matches!(
                crate::lang::script::script_of(c),
                Some(
                    crate::lang::script::Script::Han
                        | crate::lang::script::Script::Hiragana
                        | crate::lang::script::Script::Katakana
                )
            )
    };
    let mut run = 0usize;
    let mut long = false;
    for c in text.chars() {
        if is_word_char(c) {
            run += 1;
            if run > MAX_WORD {
                long = true;
                break;
            }
        } else {
            run = 0;
        }
    }
    if !long {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    run = 0;
    for c in text.chars() {
        if is_word_char(c) {
            run += 1;
            if run > MAX_WORD {
                for _ in 0..c.len_utf8() {
                    out.push(' ');
                }
                continue;
            }
        } else {
            run = 0;
        }
        out.push(c);
    }
    std::borrow::Cow::Owned(out)
}

/// False when no word of `text` can be longer than [`MAX_WORD`] letters: no
/// run of more than [`MAX_WORD`] bytes goes without an ASCII byte that is not
/// a letter (a space, a digit, punctuation: never part of a word). A byte
/// scan, where the exact check decodes and classifies every character.
fn may_hold_a_long_word(bytes: &[u8]) -> bool {
    let mut since_break = 0usize;
    // Sixteen bytes at a time: only the run into a chunk's first break can
    // be long (the runs after it are shorter than the chunk until the next).
    let mut chunks = bytes.chunks_exact(16);
    for chunk in &mut chunks {
        let breaks = crate::ascii_block::ascii_non_letters(chunk.try_into().unwrap_or(&[0; 16]));
        if since_break + breaks.trailing_zeros() as usize > MAX_WORD {
            return true;
        }
        since_break = if breaks == 0 {
            since_break + 16
        } else {
            breaks.leading_zeros() as usize
        };
    }
    for &b in chunks.remainder() {
        since_break = if b.is_ascii() && !b.is_ascii_alphabetic() {
            0
        } else {
            since_break + 1
        };
        if since_break > MAX_WORD {
            return true;
        }
    }
    false
}

/// lingua's confidence values for a text already passed through
/// [`tame_long_words`], as detections, best first, zeros dropped.
pub(super) fn ranked_tamed(det: &LanguageDetector, tamed: &str) -> Vec<Detection> {
    det.compute_language_confidence_values(tamed)
        .into_iter()
        .filter(|(_, c)| *c > 0.0)
        .filter_map(|(l, c)| {
            from_lingua(l).map(|lang| Detection {
                lang,
                confidence: c,
            })
        })
        .collect()
}

pub struct LinguaBackend {
    /// The configured languages, as lingua's.
    lingua_langs: Vec<Language>,
    latin_langs: Vec<&'static str>,
    latin: Option<&'static LanguageDetector>,
    full: &'static LanguageDetector,
    fast: OnceLock<&'static super::trigram::TrigramTable>,
    /// lingua's accurate mode without its FST walks, where provably equal.
    exact: Option<super::lingua_ngrams::NgramModels>,
}

impl LinguaBackend {
    pub fn new(langs: &[&'static str], preload: bool) -> Self {
        let latin = latin_langs(langs);
        let fast = OnceLock::new();
        if preload {
            let _ = fast.set(super::trigram::shared(&latin));
        } else if !latin.is_empty() {
            // Nearly every trace needs the table: start building it now, on
            // the side, rather than when the first one stalls on it.
            let latin = latin.clone();
            std::thread::spawn(move || super::trigram::shared(&latin));
        }
        Self {
            lingua_langs: langs.iter().filter_map(|l| to_lingua(l)).collect(),
            exact: super::lingua_ngrams::NgramModels::new(&latin),
            latin: (!latin.is_empty()).then(|| shared_with(&latin, preload)),
            full: shared_with(langs, preload),
            latin_langs: latin,
            fast,
        }
    }
}

impl Ngram for LinguaBackend {
    fn name(&self) -> &'static str {
        "lingua"
    }

    fn ranked(&self, text: &str) -> Vec<Detection> {
        let Some(d) = self.latin else {
            return Vec::new();
        };
        let tamed = tame_long_words(text);
        let exact = self.exact.as_ref();
        exact
            .and_then(|m| m.confidences(&tamed))
            .unwrap_or_else(|| ranked_tamed(d, &tamed))
    }

    fn ranked_fast(&self, text: &str) -> Vec<Detection> {
        if self.latin.is_none() {
            return Vec::new();
        }
        self.fast
            .get_or_init(|| super::trigram::shared(&self.latin_langs))
            .ranked(text)
    }

    /// lingua's whole-text verdict where its rule stages decide the text
    /// ([`Census::decided_by_rules`]) or leave it to the trigrams of the
    /// Latin-script languages ([`super::trigram::TrigramTable::lingua_long_text`]).
    fn detect_long_fast(&self, text: &str) -> Option<&'static str> {
        // What lingua is given; words it would shorten are not reproduced.
        if matches!(tame_long_words(text), std::borrow::Cow::Owned(_)) {
            return None;
        }
        let census = Census::of(text, MAX_WORD)?;
        if let Some(lang) = census.decided_by_rules(&self.lingua_langs) {
            return from_lingua(lang);
        }
        self.latin?;
        self.fast
            .get_or_init(|| super::trigram::shared(&self.latin_langs))
            .lingua_long_text(text, &census)
    }

    fn top(&self, text: &str) -> Option<Detection> {
        let r = self.ranked(text);
        let first = *r.first()?;
        // lingua's own rule: a tie is undecided.
        if r.get(1).is_some_and(|s| s.confidence >= first.confidence) {
            return None;
        }
        Some(first)
    }

    fn lingua(&self) -> Option<&LanguageDetector> {
        Some(self.full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn words_past_the_limit_lose_their_tail() {
        let word = "é".repeat(MAX_WORD + 5);
        let text = format!("un {word} deux");
        let tamed = tame_long_words(&text);
        assert!(matches!(tamed, Cow::Owned(_)));
        assert_eq!(tamed.len(), text.len());
        assert!(tamed.starts_with(&format!("un {}", "é".repeat(MAX_WORD))));
        assert!(tamed.ends_with(&format!("{} deux", " ".repeat(10))));
        // Han is not a word for lingua: a long run of it stays.
        let han = "答".repeat(MAX_WORD + 5);
        assert!(matches!(tame_long_words(&han), Cow::Borrowed(_)));
    }

    /// [`may_hold_a_long_word`] one byte at a time.
    fn long_run_by_bytes(bytes: &[u8]) -> bool {
        let mut since_break = 0usize;
        bytes.iter().any(|&b| {
            since_break = if b.is_ascii() && !b.is_ascii_alphabetic() {
                0
            } else {
                since_break + 1
            };
            since_break > MAX_WORD
        })
    }

    proptest::proptest! {
        /// Runs of word bytes around the limit, broken at every offset.
        #[test]
        fn the_chunked_precheck_is_the_bytewise_one(
            runs in proptest::collection::vec(
                (proptest::sample::select(vec!["a", "é", "Z", "ก"]), 990usize..1010, 0usize..3),
                1..4,
            ),
            lead in 0usize..17,
        ) {
            let mut text = "x".repeat(lead);
            for (piece, n, breaks) in &runs {
                text.push_str(&piece.repeat(*n));
                text.push_str(&" ".repeat(*breaks));
            }
            proptest::prop_assert_eq!(
                may_hold_a_long_word(text.as_bytes()),
                long_run_by_bytes(text.as_bytes())
            );
        }

        /// The byte pre-check never lets a long word through.
        #[test]
        fn the_byte_precheck_agrees_with_the_character_scan(
            runs in proptest::collection::vec(
                (proptest::sample::select(vec!["a", "é", "ก", "答", "ж", " ", "1", "\u{300}"]), 1usize..700),
                0..8,
            )
        ) {
            let text: String = runs.iter().map(|(piece, n)| piece.repeat(*n)).collect();
            let fast = tame_long_words(&text);
            let exact = tame_by_characters(&text);
            proptest::prop_assert_eq!(&fast, &exact);
            proptest::prop_assert_eq!(matches!(fast, Cow::Owned(_)), matches!(exact, Cow::Owned(_)));
        }
    }
}
