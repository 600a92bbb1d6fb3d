//! Everything that decides what a build keeps. Serialized into the manifest
//! and the dataset card so a run can be reproduced.

use serde::{Deserialize, Serialize};

use crate::trace::Markers;

/// Which filter set runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Every stage, with trustworthy language measures.
    Default,
    /// Exactly the release's SFT filter: split, boxed answer present, answer
    /// correct, whole-trace language equals the query language (lingua,
    /// with the math-stripping bug fixed). Nothing else.
    Paper,
}

/// Optional language thresholds; a candidate failing one is `code_switched`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LanguageThresholds {
    pub min_purity: Option<f64>,
    pub require_line_pass: bool,
    pub require_word_pass: bool,
    pub reject_code_switch: bool,
}

/// Near-duplicate detection by MinHash within a language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearDup {
    pub enabled: bool,
    /// Estimated Jaccard similarity at or above which a row is a duplicate.
    pub threshold: f64,
    /// Shingle size in units (words, or characters of unspaced scripts).
    pub shingle: usize,
}

impl Default for NearDup {
    fn default() -> Self {
        NearDup {
            enabled: true,
            threshold: 0.8,
            shingle: 5,
        }
    }
}

/// The build's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildConfig {
    pub preset: Preset,
    /// Language-ID backend name (`whatlang`, `lingua`, `fasttext`).
    pub lid: String,
    pub markers: Markers,
    pub thresholds: LanguageThresholds,
    /// `too_long` above this many reasoning + answer tokens.
    pub max_tokens: Option<u32>,
    pub tokenizer: Option<String>,
    pub exact_dedup: bool,
    pub near_dup: NearDup,
    /// Benchmark files whose questions must not leak into the data.
    pub decontaminate: Vec<String>,
    /// The field (dotted path) holding the question in those files; `None`
    /// tries the format's question, then the usual field names.
    #[serde(default)]
    pub decontaminate_field: Option<String>,
    pub decontam_ngram: usize,
    /// `select`: at most this many traces per question.
    pub max_per_question: Option<usize>,
    pub val_fraction: f64,
    pub seed: u64,
    pub rows_per_shard: usize,
    pub compression: String,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            preset: Preset::Default,
            lid: "lingua".into(),
            markers: Markers::default(),
            thresholds: LanguageThresholds::default(),
            max_tokens: Some(8192),
            tokenizer: None,
            exact_dedup: true,
            near_dup: NearDup::default(),
            decontaminate: Vec::new(),
            decontaminate_field: None,
            decontam_ngram: 13,
            max_per_question: None,
            val_fraction: 0.0,
            seed: 42,
            rows_per_shard: 50_000,
            compression: "zstd".into(),
        }
    }
}

impl BuildConfig {
    /// The release's filter and nothing more.
    pub fn paper() -> Self {
        BuildConfig {
            preset: Preset::Paper,
            lid: "lingua".into(),
            max_tokens: None,
            exact_dedup: false,
            near_dup: NearDup {
                enabled: false,
                ..NearDup::default()
            },
            ..BuildConfig::default()
        }
    }
}
