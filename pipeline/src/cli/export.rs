//! `adamame-data export` (curated folder → LLaMA-Factory JSON or verl
//! Parquet) and `adamame-data prompts` (question/gold sets → verl RL prompts).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use arrow::array::{Array, RecordBatch, RecordBatchReader, StringArray};
use clap::{Args, ValueEnum};
use parquet::arrow::ArrowWriter;
use serde_json::json;

use adamame_pipeline::sink::{self, batch::RlPrompt};
use adamame_pipeline::source::{InputFile, Records};
use adamame_pipeline::{normalize, prompt};

use super::inspect::{open_batches, parquet_files};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Target {
    /// LLaMA-Factory alpaca JSON + dataset_info.json.
    Llamafactory,
    /// verl RL Parquet, one prompt per question.
    Verl,
}

/// Flags of `adamame-data export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Target format.
    #[arg(long = "to", value_enum)]
    pub to: Target,
    /// A folder written by `adamame-data build`.
    #[arg(long, default_value = "adamame-out")]
    pub data: PathBuf,
    /// Where to write.
    #[arg(short, long)]
    pub out: PathBuf,
}

/// Flags of `adamame-data prompts`.
#[derive(Debug, Clone, Args)]
pub struct PromptsArgs {
    /// Question/gold sets: MGSM-Rev2, MSVAMP, MGSM TSV, verl, your own JSONL.
    #[command(flatten)]
    pub input: super::input::InputArgs,
    /// Output Parquet file.
    #[arg(short, long)]
    pub out: PathBuf,
    /// `data_source` label.
    #[arg(long, default_value = "adamame")]
    pub data_source: String,
    /// `extra_info.split` value.
    #[arg(long, default_value = "train")]
    pub split: String,
}

/// A curated row's text columns.
struct Curated {
    query_lang: String,
    question: String,
    prompt: String,
    reasoning: String,
    answer: String,
    gold: String,
}

fn string_column<'a>(batch: &'a RecordBatch, name: &str, path: &Path) -> Result<&'a StringArray> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .with_context(|| format!("{}: no string column `{name}`", path.display()))
}

/// Every curated row of a build folder, split name alongside.
fn read_curated(data: &Path) -> Result<Vec<(String, Curated)>> {
    let mut rows = Vec::new();
    for path in parquet_files(data)? {
        let split = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split('-').next())
            .unwrap_or("train")
            .to_string();
        let reader = open_batches(&path)?;
        let problems = adamame_schemas::schema_mismatches(
            &adamame_schemas::curated_schema(),
            &reader.schema(),
        );
        anyhow::ensure!(
            problems.is_empty(),
            "{}: not a curated shard: {}",
            path.display(),
            problems.join("; ")
        );
        for batch in reader {
            let batch = batch.with_context(|| format!("{}: corrupt data", path.display()))?;
            let col = |n| string_column(&batch, n, &path);
            let (l, q, p, r, a, g) = (
                col("query_lang")?,
                col("question")?,
                col("prompt")?,
                col("reasoning")?,
                col("answer")?,
                col("gold")?,
            );
            for i in 0..batch.num_rows() {
                rows.push((
                    split.clone(),
                    Curated {
                        query_lang: l.value(i).to_string(),
                        question: q.value(i).to_string(),
                        prompt: p.value(i).to_string(),
                        reasoning: r.value(i).to_string(),
                        answer: a.value(i).to_string(),
                        gold: g.value(i).to_string(),
                    },
                ));
            }
        }
    }
    Ok(rows)
}

fn write_rl_prompts(path: &Path, prompts: &[RlPrompt]) -> Result<()> {
    let batch = sink::batch::rl_prompts_batch(prompts)?;
    let props =
        sink::shards::writer_properties(&batch.schema(), sink::shards::compression("zstd")?);
    sink::write_file_atomic(path, |file, temp| -> Result<()> {
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
        writer.write(&batch)?;
        writer
            .close()
            .with_context(|| format!("{}: cannot write", temp.display()))?;
        Ok(())
    })
}

pub fn run_export(args: &ExportArgs) -> Result<()> {
    let rows = read_curated(&args.data)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    match args.to {
        Target::Llamafactory => {
            let mut info = serde_json::Map::new();
            let mut splits: Vec<&str> = rows.iter().map(|(s, _)| s.as_str()).collect();
            splits.sort();
            splits.dedup();
            for split in splits {
                let records: Vec<_> = rows
                    .iter()
                    .filter(|(s, _)| s == split)
                    .map(|(_, r)| {
                        json!({
                            "instruction": r.prompt,
                            "input": "",
                            "output": format!("<think>\n{}\n</think>\n\n{}", r.reasoning, r.answer),
                            "lang": r.query_lang,
                        })
                    })
                    .collect();
                let file = format!("adamame_{split}.json");
                sink::write_atomic(&args.out.join(&file), &serde_json::to_vec_pretty(&records)?)?;
                info.insert(
                    format!("adamame_{split}"),
                    json!({"file_name": file, "columns": {"prompt": "instruction", "query": "input", "response": "output"}}),
                );
                eprintln!(
                    "wrote {} ({} rows)",
                    args.out.join(file).display(),
                    records.len()
                );
            }
            sink::write_atomic(
                &args.out.join("dataset_info.json"),
                &serde_json::to_vec_pretty(&info)?,
            )?;
        }
        Target::Verl => {
            let mut seen = HashSet::new();
            let prompts: Vec<RlPrompt> = rows
                .iter()
                .filter(|(_, r)| seen.insert((r.query_lang.clone(), r.question.clone())))
                .enumerate()
                .map(|(i, (split, r))| RlPrompt {
                    data_source: "adamame".into(),
                    content: r.prompt.clone(),
                    ground_truth: r.gold.clone(),
                    lang: r.query_lang.clone(),
                    index: i as i64,
                    split: split.clone(),
                })
                .collect();
            let path = args.out.join("rl-prompts.parquet");
            write_rl_prompts(&path, &prompts)?;
            eprintln!(
                "wrote {} ({} prompts, one per question)",
                path.display(),
                prompts.len()
            );
        }
    }
    Ok(())
}

/// Skipped rows `prompts` names one by one before it only counts them.
const SHOWN_SKIPS: usize = 10;

pub fn run_prompts(args: &PromptsArgs) -> Result<()> {
    let (inputs, map) = args.input.plan()?;
    for decision in inputs.iter().filter_map(InputFile::decision) {
        eprintln!("input: {decision}");
    }
    let mut prompts = Vec::new();
    let mut skipped = 0usize;
    // The first few skipped rows are shown; the rest only counted.
    let mut skip = |source: &str, row: u64, why: &str| {
        skipped += 1;
        if skipped <= SHOWN_SKIPS {
            eprintln!("skipped {source} row {row}: {why}");
        }
    };
    for rec in Records::new(inputs, map, args.input.lang()).questions_only() {
        let rec = rec?;
        let raw = match rec.body {
            Ok(raw) => raw,
            Err(m) => {
                skip(&rec.source, rec.source_row, &m.detail);
                continue;
            }
        };
        let Some(lang) = raw.lang else {
            skip(
                &rec.source,
                rec.source_row,
                "no query language (pass --lang)",
            );
            continue;
        };
        let question = normalize::normalize(&raw.question);
        prompts.push(RlPrompt {
            data_source: args.data_source.clone(),
            content: prompt::render(&lang, &question),
            ground_truth: raw.gold.trim().to_string(),
            lang,
            index: prompts.len() as i64,
            split: args.split.clone(),
        });
    }
    anyhow::ensure!(
        !prompts.is_empty(),
        "no prompts: all {skipped} rows were skipped (the first {} are shown above); nothing written",
        skipped.min(SHOWN_SKIPS)
    );
    write_rl_prompts(&args.out, &prompts)?;
    eprintln!(
        "wrote {} ({} prompts, {skipped} skipped)",
        args.out.display(),
        prompts.len()
    );
    Ok(())
}
