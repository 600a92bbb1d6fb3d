//! Counts gathered while a build runs, for the manifest, the summary table
//! and the dataset card.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::build::outcome::{Reject, Row};

/// Counts for one query language.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LangStats {
    pub input: u64,
    pub kept: u64,
    pub rejected: BTreeMap<String, u64>,
}

/// Counts for a whole build.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    /// Records read (lines, rows, array elements).
    pub source_records: u64,
    /// Decisions: one per candidate, or one per record that did not parse.
    pub input: u64,
    pub kept: u64,
    pub rejected: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub rejected_by_stage: BTreeMap<String, u64>,
    /// Keyed by query language (`unknown` for records that did not parse).
    pub per_language: BTreeMap<String, LangStats>,
    /// (query language, trace language) → candidates whose language was measured.
    pub confusion: BTreeMap<String, BTreeMap<String, u64>>,
    /// Histogram of kept rows' reasoning tokens (bucket upper bounds, powers of two).
    pub reasoning_tokens: BTreeMap<u32, u64>,
    /// Histogram of kept rows' purity in tenths (0..=10).
    pub purity_tenths: BTreeMap<u32, u64>,
    pub train_rows: u64,
    pub validation_rows: u64,
}

impl Stats {
    pub fn record_kept(&mut self, row: &Row) {
        self.input += 1;
        self.kept += 1;
        let lang = self.per_language.entry(row.query_lang.clone()).or_default();
        lang.input += 1;
        lang.kept += 1;
        self.count_confusion(&row.query_lang, &row.trace_lang);
        let bucket = row.n_tokens_reasoning.max(1).next_power_of_two();
        *self.reasoning_tokens.entry(bucket).or_default() += 1;
        let tenth = (row.purity.clamp(0.0, 1.0) * 10.0).floor() as u32;
        *self.purity_tenths.entry(tenth).or_default() += 1;
    }

    pub fn record_rejected(&mut self, reject: &Reject) {
        self.input += 1;
        self.rejected += 1;
        let reason = reject.reason.name().to_string();
        *self.rejected_by_reason.entry(reason.clone()).or_default() += 1;
        *self
            .rejected_by_stage
            .entry(reject.stage.name().to_string())
            .or_default() += 1;
        let lang = reject
            .query_lang
            .clone()
            .unwrap_or_else(|| "unknown".into());
        let entry = self.per_language.entry(lang.clone()).or_default();
        entry.input += 1;
        *entry.rejected.entry(reason).or_default() += 1;
        if let Some(trace_lang) = &reject.trace_lang {
            self.count_confusion(&lang, trace_lang);
        }
    }

    fn count_confusion(&mut self, query: &str, trace: &str) {
        *self
            .confusion
            .entry(query.to_string())
            .or_default()
            .entry(trace.to_string())
            .or_default() += 1;
    }

    /// Kept + rejected = input, per language and overall.
    pub fn is_balanced(&self) -> bool {
        self.kept + self.rejected == self.input
            && self
                .per_language
                .values()
                .all(|l| l.kept + l.rejected.values().sum::<u64>() == l.input)
    }
}
