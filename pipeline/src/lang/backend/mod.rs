//! N-gram backends for Latin-script text, and the script layer in front of
//! them ([`ScriptLayered`]) that makes them [`Detector`]s.

pub mod fasttext;
pub mod lingua;
pub mod lingua_ngrams;
pub mod lingua_words;
mod memo;
pub mod trigram;
pub mod whatlang;

use std::borrow::Cow;

use super::script::{lang_group, settle_group, Group, ScriptCounts, Settled};
use super::{Detection, Detector};

/// A language detector for Latin-script text, restricted to the Latin-script
/// languages among the configured ones.
pub trait Ngram: Send + Sync {
    fn name(&self) -> &'static str;
    /// Candidates for a Latin-script text, best first; empty if undecided.
    fn ranked(&self, text: &str) -> Vec<Detection>;
    fn top(&self, text: &str) -> Option<Detection> {
        self.ranked(text).into_iter().next()
    }
    /// A cheaper ranking where the backend has one (see [`Detector::ranked_fast`]).
    fn ranked_fast(&self, text: &str) -> Vec<Detection> {
        self.ranked(text)
    }
    /// A cheaper whole-text verdict where the backend has one (see [`Detector::detect_long_fast`]).
    fn detect_long_fast(&self, _text: &str) -> Option<&'static str> {
        None
    }
    fn lingua(&self) -> Option<&::lingua::LanguageDetector> {
        None
    }
}

/// The Latin-script languages among `langs`.
pub fn latin_langs(langs: &[&'static str]) -> Vec<&'static str> {
    langs
        .iter()
        .copied()
        .filter(|l| lang_group(l) == Some(Group::Latin))
        .collect()
}

/// The script layer in front of an n-gram backend.
pub struct ScriptLayered {
    ngram: Box<dyn Ngram>,
    langs: Vec<&'static str>,
}

impl ScriptLayered {
    pub fn new(ngram: Box<dyn Ngram>, langs: Vec<&'static str>) -> Self {
        Self { ngram, langs }
    }

    fn configured(&self, lang: &str) -> Option<&'static str> {
        self.langs.iter().copied().find(|l| *l == lang)
    }

    fn decide(&self, text: &str, all: bool) -> Vec<Detection> {
        let counts = ScriptCounts::of(text);
        let Some(group) = counts.dominant_group() else {
            return Vec::new();
        };
        let total: u64 = super::script::ALL_GROUPS
            .iter()
            .map(|g| counts.group_letters(*g) as u64 * g.weight() as u64)
            .sum();
        let own = counts.group_letters(group) as u64 * group.weight() as u64;
        let share = if total > 0 {
            own as f64 / total as f64
        } else {
            0.0
        };
        match settle_group(group, counts.kana(), counts.get(super::script::Script::Han)) {
            Settled::Lang(l) => match self.configured(l) {
                Some(l) => vec![Detection {
                    lang: l,
                    confidence: share,
                }],
                None => Vec::new(),
            },
            Settled::Unknown => Vec::new(),
            Settled::NeedsNgram => {
                let latin: Cow<str> = if counts.letters() == counts.group_letters(Group::Latin) {
                    Cow::Borrowed(text)
                } else {
                    Cow::Owned(latin_words(text))
                };
                let mut r = if all {
                    self.ngram.ranked(&latin)
                } else {
                    self.ngram.top(&latin).into_iter().collect()
                };
                for d in &mut r {
                    d.confidence *= share;
                }
                r
            }
        }
    }
}

/// Only the words written in Latin letters, space-separated.
fn latin_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for w in text.split(|c: char| {
        !(crate::chars::is_alphabetic(c)
            || c == '\''
            || c == '-'
            || super::script::is_word_continuer(c))
    }) {
        let mut chars = w.chars().filter(|&c| crate::chars::is_alphabetic(c));
        let latin = chars
            .next()
            .is_some_and(|c| super::script::script_of(c) == Some(super::script::Script::Latin))
            && w.chars()
                .filter(|&c| crate::chars::is_alphabetic(c))
                .all(|c| super::script::script_of(c) == Some(super::script::Script::Latin));
        if latin {
            out.push_str(w);
            out.push(' ');
        }
    }
    out
}

impl Detector for ScriptLayered {
    fn name(&self) -> &'static str {
        self.ngram.name()
    }

    fn detect(&self, text: &str) -> Option<Detection> {
        self.decide(text, false).into_iter().next()
    }

    fn ranked(&self, text: &str) -> Vec<Detection> {
        self.decide(text, true)
    }

    fn ranked_fast(&self, text: &str) -> Vec<Detection> {
        self.ngram.ranked_fast(text)
    }

    fn detect_long_fast(&self, text: &str) -> Option<&'static str> {
        self.ngram.detect_long_fast(text)
    }

    fn languages(&self) -> &[&'static str] {
        &self.langs
    }

    fn lingua(&self) -> Option<&::lingua::LanguageDetector> {
        self.ngram.lingua()
    }
}
