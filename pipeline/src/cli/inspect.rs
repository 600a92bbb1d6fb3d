//! `adamame-data inspect`: what is in a Parquet file or an output folder.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use arrow::array::{Array, RecordBatch, StringArray};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use clap::Args;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Flags of `adamame-data inspect`.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// A Parquet file, or a folder written by `adamame-data build`.
    pub path: PathBuf,
    /// Sample rows to show.
    #[arg(short = 'n', long, default_value_t = 3)]
    pub rows: usize,
    /// Characters shown per value in sample rows.
    #[arg(long, default_value_t = 100)]
    pub width: usize,
}

/// The Parquet files of a path: itself, or `data/*.parquet` of an output folder.
pub fn parquet_files(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    // A finished output keeps its rows in data/, a `--shard` run in pending/.
    let dir = ["data", "pending"]
        .iter()
        .map(|sub| path.join(sub))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| path.to_path_buf());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        // pending/ also holds the shard's rejects, in another schema.
        .filter(|p| {
            !dir.ends_with("pending")
                || p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("pending-"))
        })
        .collect();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "{}: no .parquet files", dir.display());
    Ok(files)
}

/// Opens a Parquet file's batch reader, naming the file on failure.
pub fn open_batches(path: &Path) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(4096).build())
        .with_context(|| format!("{}: not a readable Parquet file", path.display()))
}

fn truncate_chars(s: &str, width: usize) -> String {
    let flat = s.replace('\n', "⏎");
    if flat.chars().count() <= width {
        flat
    } else {
        flat.chars().take(width).collect::<String>() + "…"
    }
}

pub fn run(args: &InspectArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let manifest = args.path.join("manifest.json");
    if manifest.is_file() {
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest)?)
            .with_context(|| format!("{}: not valid JSON", manifest.display()))?;
        writeln!(
            out,
            "{} ({})",
            args.path.display(),
            m["tool_version"].as_str().unwrap_or("?")
        )?;
        writeln!(
            out,
            "input {} = kept {} + rejected {}",
            m["input_records"], m["kept_records"], m["rejected_records"]
        )?;
        if let Some(reasons) = m["rejected_by_reason"].as_object() {
            for (r, n) in reasons {
                writeln!(out, "  {r:<16} {n}")?;
            }
        }
        writeln!(out)?;
    }
    let files = parquet_files(&args.path)?;
    let first = ParquetRecordBatchReaderBuilder::try_new(
        File::open(&files[0]).with_context(|| format!("{}: cannot open", files[0].display()))?,
    )
    .with_context(|| format!("{}: not a readable Parquet file", files[0].display()))?;
    writeln!(
        out,
        "schema ({} file(s), first: {}):",
        files.len(),
        files[0].display()
    )?;
    for field in first.schema().fields() {
        writeln!(
            out,
            "  {:<20} {}{}",
            field.name(),
            field.data_type(),
            if field.is_nullable() { "" } else { " not null" }
        )?;
    }
    if let Some(kv) = first.metadata().file_metadata().key_value_metadata() {
        let keys: Vec<&str> = kv.iter().map(|k| k.key.as_str()).collect();
        writeln!(out, "metadata keys: {}", keys.join(", "))?;
        if let Some(v) = kv
            .iter()
            .find(|k| k.key == adamame_schemas::SCHEMA_VERSION_KEY)
        {
            writeln!(out, "schema version: {}", v.value.as_deref().unwrap_or("?"))?;
        }
    }
    let mut rows = 0usize;
    let mut per_lang: BTreeMap<String, usize> = BTreeMap::new();
    let mut samples: Vec<RecordBatch> = Vec::new();
    let mut sampled = 0;
    for path in &files {
        for batch in open_batches(path)? {
            let batch = batch.with_context(|| format!("{}: corrupt data", path.display()))?;
            rows += batch.num_rows();
            let lang_col = ["query_lang", "lang"]
                .iter()
                .find_map(|c| batch.column_by_name(c));
            if let Some(col) = lang_col.and_then(|c| c.as_any().downcast_ref::<StringArray>()) {
                for v in col.iter() {
                    *per_lang.entry(v.unwrap_or("null").to_string()).or_default() += 1;
                }
            }
            if sampled < args.rows {
                let take = (args.rows - sampled).min(batch.num_rows());
                samples.push(batch.slice(0, take));
                sampled += take;
            }
        }
    }
    writeln!(out, "rows: {rows}")?;
    if !per_lang.is_empty() {
        writeln!(out, "per language:")?;
        for (l, n) in &per_lang {
            writeln!(out, "  {l:<8} {n:>8}")?;
        }
    }
    let options = FormatOptions::default().with_null("null");
    let mut shown = 0;
    for batch in samples {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<_, _>>()?;
        for row in 0..batch.num_rows() {
            writeln!(out, "\nrow {shown}:")?;
            for (field, f) in batch.schema().fields().iter().zip(&formatters) {
                writeln!(
                    out,
                    "  {:<20} {}",
                    field.name(),
                    truncate_chars(&f.value(row).to_string(), args.width)
                )?;
            }
            shown += 1;
        }
    }
    Ok(())
}
