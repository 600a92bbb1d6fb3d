//! `adamame-data score`: the paper's evaluation of candidate generations,
//! without a model. Per language and overall: pass@1, pass@k, language
//! consistency, code-switch rate, LPR, WPR, LCPR and mean reasoning tokens.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use serde::Serialize;

use adamame_pipeline::lang::{self, Detector, Fidelity, FidelityOptions};
use adamame_pipeline::source::Records;
use adamame_pipeline::tokens::TokenCounter;
use adamame_pipeline::{trace, verify};

/// Flags of `adamame-data score`.
#[derive(Debug, Clone, Args)]
pub struct ScoreArgs {
    /// Candidate generations: JSONL {"question", "lang", "answer", "candidates": [...]} or any input `build` reads.
    #[command(flatten)]
    pub input: super::input::InputArgs,
    /// Language-ID backend (default lingua).
    #[arg(long, default_value = "lingua")]
    pub lid: String,
    /// `paper`: the paper's definitions (lingua, its code-switch measure, tokens = characters / 4).
    #[arg(long, default_value = "default", value_parser = ["default", "paper"])]
    pub preset: String,
    /// Score only the first K candidates of each question (default: all).
    #[arg(short, long, value_parser = super::parse::at_least_one)]
    pub k: Option<usize>,
    /// tokenizer.json for exact reasoning-token counts.
    #[arg(long, value_name = "FILE")]
    pub tokenizer: Option<PathBuf>,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the table as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Also write a markdown table shaped like the paper's (metrics × languages).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// One language's (or the overall) scores; fractions in [0, 1].
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Scores {
    #[serde(rename = "pass@1")]
    pub pass_at_1: f64,
    #[serde(rename = "pass@k")]
    pub pass_at_k: f64,
    pub consistency: f64,
    pub code_switch_rate: f64,
    pub lpr: f64,
    pub wpr: f64,
    pub lcpr: f64,
    pub mean_reasoning_tokens: f64,
    pub questions: usize,
    pub candidates: usize,
}

/// The whole report.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ScoreReport {
    pub per_language: BTreeMap<String, Scores>,
    pub overall: Scores,
    /// Records that could not be scored (bad JSON, missing fields), with why.
    pub skipped: Vec<String>,
}

/// What one candidate got.
#[derive(Debug, Clone)]
struct Judged {
    correct: bool,
    fidelity: Fidelity,
    tokens: usize,
}

/// One question's candidates.
struct Question {
    lang: String,
    candidates: Vec<Judged>,
}

/// Scores one response: verification on the last `\boxed{}` of the answer,
/// else of the trace; fidelity on the trace.
fn judge(
    det: &dyn Detector,
    opts: &FidelityOptions,
    counter: &dyn Fn(&str) -> usize,
    gold: &str,
    lang: &str,
    response: &str,
) -> Judged {
    let (reasoning, answer) = match trace::split(response, &trace::Markers::default()) {
        Ok(s) => (s.reasoning, s.answer),
        // A generation cut at its budget: all of it is reasoning.
        Err(_) => (response.trim_start_matches("<think>"), ""),
    };
    let boxed = verify::last_boxed(answer).or_else(|| verify::last_boxed(reasoning));
    let correct = boxed.is_some_and(|b| verify::check(gold, &format!("\\boxed{{{b}}}")).correct);
    Judged {
        correct,
        fidelity: lang::measure(det, reasoning, lang, opts),
        tokens: counter(reasoning),
    }
}

fn aggregate<'a>(questions: impl Iterator<Item = &'a Question> + Clone) -> Scores {
    let n_q = questions.clone().count();
    let judged: Vec<(&Judged, &str)> = questions
        .clone()
        .flat_map(|q| q.candidates.iter().map(move |c| (c, q.lang.as_str())))
        .collect();
    if n_q == 0 || judged.is_empty() {
        return Scores::default();
    }
    let fids: Vec<(&Fidelity, &str)> = judged.iter().map(|(j, l)| (&j.fidelity, *l)).collect();
    let corpus = lang::corpus_fidelity(&fids);
    let pass1 = questions
        .clone()
        .filter(|q| q.candidates.first().is_some_and(|c| c.correct))
        .count();
    let passk = questions
        .filter(|q| q.candidates.iter().any(|c| c.correct))
        .count();
    Scores {
        pass_at_1: pass1 as f64 / n_q as f64,
        pass_at_k: passk as f64 / n_q as f64,
        consistency: corpus.consistency,
        code_switch_rate: corpus.code_switch_rate,
        lpr: corpus.lpr,
        wpr: corpus.wpr,
        lcpr: corpus.lcpr,
        mean_reasoning_tokens: judged.iter().map(|(j, _)| j.tokens as f64).sum::<f64>()
            / judged.len() as f64,
        questions: n_q,
        candidates: judged.len(),
    }
}

/// Scores every question of the inputs.
pub fn score(args: &ScoreArgs) -> Result<ScoreReport> {
    let (inputs, map) = args.input.plan()?;
    let paper = args.preset == "paper";
    let backend: lang::Backend = if paper {
        lang::Backend::Lingua
    } else {
        args.lid.parse()?
    };
    let det = lang::detector(backend, &lang::DetectorOptions::default())?;
    let opts = if paper {
        FidelityOptions::paper()
    } else {
        FidelityOptions::default()
    };
    let counter = match &args.tokenizer {
        Some(path) => TokenCounter::from_file(path)?,
        None => TokenCounter::Approximate,
    };
    let count = |text: &str| {
        if paper && args.tokenizer.is_none() {
            // The release approximated tokens as characters / 4.
            text.chars().count() / 4
        } else {
            counter.count(text)
        }
    };
    let mut questions = Vec::new();
    let mut skipped = Vec::new();
    for rec in Records::new(inputs, map, args.input.lang()) {
        let rec = rec.context("reading candidates")?;
        let raw = match rec.body {
            Ok(raw) => raw,
            Err(m) => {
                skipped.push(format!(
                    "{} row {}: {}",
                    rec.source, rec.source_row, m.detail
                ));
                continue;
            }
        };
        let Some(lang) = raw.lang.clone() else {
            skipped.push(format!(
                "{} row {}: no query language (pass --lang)",
                rec.source, rec.source_row
            ));
            continue;
        };
        questions.push((lang, raw));
    }
    use rayon::prelude::*;
    let judged: Vec<Question> = questions
        .par_iter()
        .map(|(lang, raw)| Question {
            lang: lang.clone(),
            candidates: raw
                .responses
                .iter()
                .take(args.k.unwrap_or(usize::MAX))
                .map(|r| judge(det.as_ref(), &opts, &count, &raw.gold, lang, r))
                .collect(),
        })
        .collect();
    let mut per_language = BTreeMap::new();
    let langs: std::collections::BTreeSet<&str> = judged.iter().map(|q| q.lang.as_str()).collect();
    for l in langs {
        per_language.insert(
            l.to_string(),
            aggregate(judged.iter().filter(|q| q.lang == l)),
        );
    }
    Ok(ScoreReport {
        per_language,
        overall: aggregate(judged.iter()),
        skipped,
    })
}

const METRICS: [&str; 8] = [
    "pass@1",
    "pass@k",
    "consistency",
    "code_switch_rate",
    "lpr",
    "wpr",
    "lcpr",
    "mean_reasoning_tokens",
];

fn metric(s: &Scores, name: &str) -> f64 {
    match name {
        "pass@1" => s.pass_at_1,
        "pass@k" => s.pass_at_k,
        "consistency" => s.consistency,
        "code_switch_rate" => s.code_switch_rate,
        "lpr" => s.lpr,
        "wpr" => s.wpr,
        "lcpr" => s.lcpr,
        _ => s.mean_reasoning_tokens,
    }
}

fn cell(name: &str, v: f64) -> String {
    if name == "mean_reasoning_tokens" {
        format!("{v:.0}")
    } else {
        format!("{:.1}", v * 100.0)
    }
}

fn columns(report: &ScoreReport) -> Vec<(&str, &Scores)> {
    let mut cols: Vec<(&str, &Scores)> = report
        .per_language
        .iter()
        .map(|(l, s)| (l.as_str(), s))
        .collect();
    cols.push(("overall", &report.overall));
    cols
}

/// Metrics × languages as a markdown table (percentages, tokens as counts).
pub fn markdown(report: &ScoreReport) -> String {
    let cols = columns(report);
    let mut t = String::from("| metric |");
    for (l, _) in &cols {
        let _ = write!(t, " {l} |");
    }
    t.push_str("\n|---|");
    t.push_str(&"---:|".repeat(cols.len()));
    t.push('\n');
    for m in METRICS {
        let _ = write!(t, "| {m} |");
        for (_, s) in &cols {
            let _ = write!(t, " {} |", cell(m, metric(s, m)));
        }
        t.push('\n');
    }
    t
}

/// One row per language, one column per metric (fractions as they are).
pub fn csv(report: &ScoreReport) -> String {
    let mut t = format!("language,{},questions,candidates\n", METRICS.join(","));
    for (l, s) in columns(report) {
        let values: Vec<String> = METRICS
            .iter()
            .map(|m| format!("{:.6}", metric(s, m)))
            .collect();
        let _ = writeln!(
            t,
            "{l},{},{},{}",
            values.join(","),
            s.questions,
            s.candidates
        );
    }
    t
}

/// The terminal table.
pub fn table(report: &ScoreReport) -> String {
    let cols = columns(report);
    let mut t = format!("{:<22}", "metric (%)");
    for (l, _) in &cols {
        let _ = write!(t, "{l:>9}");
    }
    t.push('\n');
    for m in METRICS {
        let _ = write!(t, "{m:<22}");
        for (_, s) in &cols {
            let _ = write!(t, "{:>9}", cell(m, metric(s, m)));
        }
        t.push('\n');
    }
    let _ = write!(t, "{:<22}", "questions");
    for (_, s) in &cols {
        let _ = write!(t, "{:>9}", s.questions);
    }
    t.push('\n');
    t
}

/// The verb: score, then print and write what was asked for.
pub fn run(args: &ScoreArgs) -> Result<()> {
    let report = score(args)?;
    for s in &report.skipped {
        eprintln!("skipped: {s}");
    }
    if let Some(path) = &args.csv {
        adamame_pipeline::sink::write_atomic(path, csv(&report).as_bytes())?;
    }
    if let Some(path) = &args.markdown {
        adamame_pipeline::sink::write_atomic(path, markdown(&report).as_bytes())?;
    }
    if args.json {
        let value =
            serde_json::json!({ "per_language": report.per_language, "overall": report.overall });
        let text = serde_json::to_string_pretty(&value)? + "\n";
        std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())?;
    } else {
        std::io::Write::write_all(&mut std::io::stdout(), table(&report).as_bytes())?;
    }
    Ok(())
}
