//! The per-record stages: `parse` → `split` → `normalize` → `answer` →
//! `correct` → `language` → `length`, plus the contamination check whose
//! verdict the `decontaminate` stage applies later. Pure functions of one
//! record, so they run in parallel.

use crate::build::config::{BuildConfig, Preset};
use crate::build::decontam::Decontaminator;
use crate::build::dedup;
use crate::build::outcome::{stable_id, truncate, Outcome, Provenance, Reason, Reject, Row, Stage};
use crate::lang::{self, Detector, FidelityOptions};
use crate::normalize::normalize;
use crate::source::{RawRecord, SourceRecord};
use crate::tokens::TokenCounter;
use crate::{prompt, trace, verify};

/// Shared, read-only state of the per-record stages.
pub struct Context {
    pub config: BuildConfig,
    pub detector: Box<dyn Detector>,
    pub fidelity: FidelityOptions,
    pub tokens: TokenCounter,
    pub decontaminator: Option<Decontaminator>,
    pub verify: verify::VerifyConfig,
}

/// Runs every per-record stage on each candidate of a record.
pub fn process(ctx: &Context, rec: SourceRecord) -> Vec<Outcome> {
    let whole_record = |content: &[u8]| Provenance {
        id: stable_id(&rec.source, rec.source_row, None, content),
        source: rec.source.clone(),
        source_row: rec.source_row,
        ordinal: rec.ordinal,
        candidate_index: None,
    };
    let raw = match &rec.body {
        Ok(raw) => raw,
        Err(malformed) => {
            let prov = whole_record(malformed.raw.as_bytes());
            return vec![record_reject(
                prov,
                malformed.detail.clone(),
                None,
                Some(malformed.raw.clone()),
            )];
        }
    };
    let Some(lang) = raw.lang.clone() else {
        let prov = whole_record(raw.question.as_bytes());
        let detail = "no query language in the record, the file name or --lang".to_string();
        return vec![record_reject(prov, detail, Some(raw), None)];
    };
    let question = normalize(&raw.question);
    let prompt = prompt::render(&lang, &question);
    raw.responses
        .iter()
        .enumerate()
        .map(|(i, response)| {
            let prov = Provenance {
                id: stable_id(
                    &rec.source,
                    rec.source_row,
                    Some(i as u32),
                    response.as_bytes(),
                ),
                source: rec.source.clone(),
                source_row: rec.source_row,
                ordinal: rec.ordinal,
                candidate_index: Some(i as u32),
            };
            let candidate = Candidate {
                lang: &lang,
                question: &question,
                raw_question: &raw.question,
                prompt: &prompt,
                gold: &raw.gold,
                response,
            };
            match candidate.run(ctx, prov) {
                Ok(row) => Outcome::Kept(Box::new(row)),
                Err(reject) => Outcome::Rejected(reject),
            }
        })
        .collect()
}

/// A whole record rejected at `parse` (it yields no candidates).
fn record_reject(
    prov: Provenance,
    detail: String,
    raw_record: Option<&RawRecord>,
    raw: Option<String>,
) -> Outcome {
    Outcome::Rejected(Box::new(Reject {
        prov,
        stage: Stage::Parse,
        reason: Reason::Malformed,
        detail,
        query_lang: None,
        question: raw_record.map(|r| truncate(&r.question, 4096)),
        gold: raw_record.map(|r| r.gold.clone()),
        response: None,
        raw,
        trace_lang: None,
    }))
}

struct Candidate<'a> {
    lang: &'a str,
    question: &'a str,
    raw_question: &'a str,
    prompt: &'a str,
    gold: &'a str,
    response: &'a str,
}

impl Candidate<'_> {
    fn reject(
        &self,
        prov: Provenance,
        stage: Stage,
        reason: Reason,
        detail: String,
        trace_lang: Option<String>,
    ) -> Box<Reject> {
        Box::new(Reject {
            prov,
            stage,
            reason,
            detail,
            query_lang: Some(self.lang.to_string()),
            question: Some(truncate(self.raw_question, 4096)),
            gold: Some(self.gold.to_string()),
            response: Some(truncate(self.response, 16384)),
            raw: None,
            trace_lang,
        })
    }

    fn run(&self, ctx: &Context, prov: Provenance) -> Result<Row, Box<Reject>> {
        // split
        let parts = match trace::split(self.response, &ctx.config.markers) {
            Ok(parts) => parts,
            Err(e) => {
                return Err(self.reject(
                    prov,
                    Stage::Split,
                    Reason::NoAnswer,
                    e.detail().into(),
                    None,
                ))
            }
        };
        // normalize: the answer now; the reasoning once the answer is right
        // (a sixth of the real traces are wrong or unboxed, and their
        // normalized reasoning would go unused).
        let answer = normalize(parts.answer);
        // answer
        // An empty `\boxed{}` answers nothing: the verifier would otherwise
        // compare some other number of the answer with the gold.
        let Some(boxed) = verify::last_boxed(&answer).filter(|b| !b.trim().is_empty()) else {
            let detail = format!(
                "no \\boxed{{}} with an answer in the answer part: {}",
                truncate(answer.trim(), 200)
            );
            return Err(self.reject(prov, Stage::Answer, Reason::NoBoxed, detail, None));
        };
        let predicted = boxed.to_string();
        // correct
        let verdict = verify::check_with(self.gold, &answer, &ctx.verify);
        if !verdict.correct {
            let detail = format!(
                "predicted `{}`, gold `{}` ({})",
                truncate(verdict.extracted.as_deref().unwrap_or(&predicted), 200),
                truncate(self.gold, 200),
                verdict.reason.as_str()
            );
            return Err(self.reject(prov, Stage::Correct, Reason::WrongAnswer, detail, None));
        }
        let reasoning = normalize(parts.reasoning);
        // language
        let measured = lang::measure_in_query_language(
            ctx.detector.as_ref(),
            &reasoning,
            self.lang,
            &ctx.fidelity,
        );
        let mut fid = match measured {
            Ok(fid) if fid.trace_lang == self.lang => fid,
            Ok(fid) | Err(lang::OtherLanguage { fid }) => {
                let detail = format!(
                    "reasoning detected as `{}` (confidence {:.2}), query language `{}`",
                    fid.trace_lang,
                    round6(fid.confidence),
                    self.lang
                );
                return Err(self.reject(
                    prov,
                    Stage::Language,
                    Reason::WrongLanguage,
                    detail,
                    Some(fid.trace_lang),
                ));
            }
        };
        // lingua sums probabilities in hash-map order, so the last bits vary
        // between processes; rounding keeps the shards byte-identical.
        fid.confidence = round6(fid.confidence);
        fid.purity = round6(fid.purity);
        if ctx.config.preset == Preset::Default {
            if let Some(detail) = threshold_failure(&ctx.config, &fid) {
                return Err(self.reject(
                    prov,
                    Stage::Language,
                    Reason::CodeSwitched,
                    detail,
                    Some(fid.trace_lang),
                ));
            }
        }
        // length
        let n_tokens_reasoning = ctx.tokens.count(&reasoning) as u32;
        let n_tokens_answer = ctx.tokens.count(&answer) as u32;
        if let Some(max) = ctx.config.max_tokens {
            let total = n_tokens_reasoning.saturating_add(n_tokens_answer);
            if total > max {
                let detail = format!(
                    "{total} tokens ({}) > --max-tokens {max}",
                    ctx.tokens.name()
                );
                return Err(self.reject(
                    prov,
                    Stage::Length,
                    Reason::TooLong,
                    detail,
                    Some(fid.trace_lang),
                ));
            }
        }
        let dedup = (ctx.config.exact_dedup || ctx.config.near_dup.enabled)
            .then(|| dedup::keys(self.question, &reasoning, &ctx.config.near_dup));
        let contamination = ctx
            .decontaminator
            .as_ref()
            .and_then(|d| d.check(&[self.question, &reasoning]));
        Ok(Row {
            prov,
            query_lang: self.lang.to_string(),
            question: self.question.to_string(),
            prompt: self.prompt.to_string(),
            reasoning,
            answer,
            raw_reasoning: parts.reasoning.to_string(),
            raw_answer: parts.answer.to_string(),
            gold: self.gold.to_string(),
            predicted: Some(predicted),
            correct: verdict.correct,
            trace_lang: fid.trace_lang,
            lang_confidence: fid.confidence,
            purity: fid.purity,
            line_pass: fid.line_pass,
            word_pass: fid.word_pass,
            code_switch: fid.code_switch,
            cs_langs: fid.cs_langs,
            n_tokens_reasoning,
            n_tokens_answer,
            contamination,
            dedup,
        })
    }
}

/// The first optional language threshold a trace fails, as a detail.
fn threshold_failure(config: &BuildConfig, fid: &lang::Fidelity) -> Option<String> {
    let t = &config.thresholds;
    if let Some(min) = t.min_purity {
        if fid.purity < min {
            return Some(format!("purity {:.3} < --min-purity {min}", fid.purity));
        }
    }
    if t.require_line_pass && !fid.line_pass {
        return Some("a line is in another language (--require-line-pass)".into());
    }
    if t.require_word_pass && !fid.word_pass {
        return Some("words in another script (--require-word-pass)".into());
    }
    if t.reject_code_switch && fid.code_switch {
        return Some(format!(
            "code-switches between {} (--reject-code-switch)",
            fid.cs_langs.join(", ")
        ));
    }
    None
}

/// Rounds to 6 decimal places.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
