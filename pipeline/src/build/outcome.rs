//! What the build decides for each candidate: a kept [`Row`] or a
//! [`Reject`] with a stable stage and reason.

use std::sync::Arc;

/// Build stages, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Parse,
    Split,
    Normalize,
    Answer,
    Correct,
    Language,
    Length,
    Dedup,
    Decontaminate,
    Select,
}

impl Stage {
    pub const ALL: [Stage; 10] = [
        Stage::Parse,
        Stage::Split,
        Stage::Normalize,
        Stage::Answer,
        Stage::Correct,
        Stage::Language,
        Stage::Length,
        Stage::Dedup,
        Stage::Decontaminate,
        Stage::Select,
    ];

    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Split => "split",
            Stage::Normalize => "normalize",
            Stage::Answer => "answer",
            Stage::Correct => "correct",
            Stage::Language => "language",
            Stage::Length => "length",
            Stage::Dedup => "dedup",
            Stage::Decontaminate => "decontaminate",
            Stage::Select => "select",
        }
    }
}

/// Stable rejection reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    Malformed,
    NoAnswer,
    NoBoxed,
    WrongAnswer,
    WrongLanguage,
    CodeSwitched,
    TooLong,
    Duplicate,
    Contaminated,
    NotSelected,
}

impl Reason {
    pub const ALL: [Reason; 10] = [
        Reason::Malformed,
        Reason::NoAnswer,
        Reason::NoBoxed,
        Reason::WrongAnswer,
        Reason::WrongLanguage,
        Reason::CodeSwitched,
        Reason::TooLong,
        Reason::Duplicate,
        Reason::Contaminated,
        Reason::NotSelected,
    ];

    pub fn from_name(name: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::NoAnswer => "no_answer",
            Reason::NoBoxed => "no_boxed",
            Reason::WrongAnswer => "wrong_answer",
            Reason::WrongLanguage => "wrong_language",
            Reason::CodeSwitched => "code_switched",
            Reason::TooLong => "too_long",
            Reason::Duplicate => "duplicate",
            Reason::Contaminated => "contaminated",
            Reason::NotSelected => "not_selected",
        }
    }
}

/// Where a candidate came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    pub id: String,
    pub source: Arc<str>,
    pub source_row: u64,
    /// Position of the record across all inputs (the merge order).
    pub ordinal: u64,
    pub candidate_index: Option<u32>,
}

/// A candidate that passed every stage so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub prov: Provenance,
    pub query_lang: String,
    pub question: String,
    pub prompt: String,
    pub reasoning: String,
    pub answer: String,
    pub raw_reasoning: String,
    pub raw_answer: String,
    pub gold: String,
    pub predicted: Option<String>,
    pub correct: bool,
    pub trace_lang: String,
    pub lang_confidence: f64,
    pub purity: f64,
    pub line_pass: bool,
    pub word_pass: bool,
    pub code_switch: bool,
    pub cs_langs: Vec<String>,
    pub n_tokens_reasoning: u32,
    pub n_tokens_answer: u32,
    /// Set by the per-record pass, acted on by the `decontaminate` stage
    /// (which runs after `dedup`, in input order).
    pub contamination: Option<String>,
    /// Dedup keys, computed in the parallel stages (not written out).
    pub dedup: Option<crate::build::dedup::DedupKeys>,
}

/// A candidate (or a whole record) that was not kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub prov: Provenance,
    pub stage: Stage,
    pub reason: Reason,
    pub detail: String,
    pub query_lang: Option<String>,
    pub question: Option<String>,
    pub gold: Option<String>,
    pub response: Option<String>,
    pub raw: Option<String>,
    /// Languages seen on the way, for the card's confusion table.
    pub trace_lang: Option<String>,
}

/// One decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Kept(Box<Row>),
    Rejected(Box<Reject>),
}

/// Stable id: XXH3-128 of the source, a NUL, the row and candidate index
/// (little-endian u64, `u64::MAX` for none) and the content, as the 32 hex
/// digits Python's `xxhash.xxh3_128_hexdigest` prints for the same bytes.
/// Not a cryptographic hash: it names rows, it does not guard them (SHA-256
/// over every response was 5% of a build).
pub fn stable_id(source: &str, row: u64, candidate: Option<u32>, content: &[u8]) -> String {
    let mut h = twox_hash::XxHash3_128::new();
    h.write(source.as_bytes());
    h.write(&[0]);
    h.write(&row.to_le_bytes());
    h.write(&candidate.map_or(u64::MAX, u64::from).to_le_bytes());
    h.write(content);
    hex::encode(h.finish_128().to_be_bytes())
}

/// At most `limit` bytes of `text`, cut at a character boundary.
pub fn truncate(text: &str, limit: usize) -> String {
    truncate_str(text, limit).to_string()
}

fn truncate_str(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl Row {
    /// Turns a kept row into a reject at a later stage, keeping what helps debugging.
    pub fn reject(self, stage: Stage, reason: Reason, detail: String) -> Reject {
        let response = joined_response(&self.raw_reasoning, &self.raw_answer, 16384);
        self.into_reject(stage, reason, detail, Some(response))
    }

    /// An exact duplicate: its response is not written again, since its
    /// normalized question and reasoning are those of the kept row that
    /// `detail` names (and `source`, `source_row` point at the original).
    pub fn reject_as_exact_duplicate(self, detail: String) -> Reject {
        self.into_reject(Stage::Dedup, Reason::Duplicate, detail, None)
    }

    fn into_reject(
        self,
        stage: Stage,
        reason: Reason,
        detail: String,
        response: Option<String>,
    ) -> Reject {
        Reject {
            stage,
            reason,
            detail,
            query_lang: Some(self.query_lang),
            question: Some(truncate(&self.question, 4096)),
            gold: Some(self.gold),
            response,
            raw: None,
            trace_lang: Some(self.trace_lang),
            prov: self.prov,
        }
    }
}

/// `reasoning`, the `</think>` line and `answer`, cut to `limit` bytes at a
/// character boundary, in one copy.
fn joined_response(reasoning: &str, answer: &str, limit: usize) -> String {
    let mut out = String::with_capacity((reasoning.len() + answer.len() + 10).min(limit));
    for part in [reasoning, "\n</think>\n", answer] {
        let room = limit - out.len();
        if part.len() <= room {
            out.push_str(part);
        } else {
            out.push_str(truncate_str(part, room));
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = stable_id("f.jsonl", 3, Some(0), b"x");
        assert_eq!(a, stable_id("f.jsonl", 3, Some(0), b"x"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, stable_id("f.jsonl", 3, Some(1), b"x"));
        assert_ne!(a, stable_id("f.jsonl", 3, None, b"x"));
        assert_ne!(a, stable_id("g.jsonl", 3, Some(0), b"x"));
        // Python: xxhash.xxh3_128_hexdigest(b"f.jsonl\0" + (3).to_bytes(8, "little")
        //         + (0).to_bytes(8, "little") + b"x")
        assert_eq!(a, "d0f2ee4e5482e3c0282989fddad9e745");
    }

    #[test]
    fn the_joined_response_is_cut_like_the_whole() {
        for limit in [0, 1, 3, 4, 5, 14, 15, 16, 17, 40] {
            let whole = format!("{}\n</think>\n{}", "éa", "bü");
            assert_eq!(
                joined_response("éa", "bü", limit),
                truncate(&whole, limit),
                "{limit}"
            );
        }
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
