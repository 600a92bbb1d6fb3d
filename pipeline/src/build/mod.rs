//! `adamame-data build`: raw generations in, curated shards, rejects, a
//! manifest and a dataset card out.
//!
//! Records stream through in chunks. The per-record stages ([`process`])
//! run in parallel and keep input order; the stages that compare records
//! (`dedup`, `decontaminate`, `select`) run sequentially in input order. So
//! the output is the same at any thread count.

pub mod config;
pub mod decontam;
pub mod dedup;
pub mod outcome;
pub mod process;
pub mod stats;
pub mod units;

use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use rayon::prelude::*;
use serde_json::json;

use crate::card;
use crate::lang;
use crate::sink::{self, batch, ShardInfo, ShardWriter, SinkError, StagedDir};
use crate::source::{self, FieldMap, Format, InputFile, Records, SourceError};
use crate::tokens::TokenCounter;
use crate::verify;
pub use config::{BuildConfig, Preset};
use dedup::Deduplicator;
use outcome::{Outcome, Reason, Reject, Row, Stage};
pub use stats::Stats;

/// Records handed to the parallel stages at a time. A handful of chunks are
/// in flight, so this sets most of a build's memory: 512 keeps a two-thread
/// build of the real traces at about 257 MB (340 MB with 2,048) at the same
/// speed, and the shards do not depend on it.
const CHUNK: usize = 512;
/// Rows buffered before a record batch is written.
const BATCH: usize = 1024;

/// Errors that stop a build (bad records never do: they are rejected).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Read(#[from] source::ReadError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Tokenizer(#[from] crate::tokens::TokenizerError),
    #[error(transparent)]
    Decontam(#[from] decontam::DecontamError),
    #[error("language detector: {0}")]
    Lang(String),
    #[error("--shard `{0}`: expected I/N with 0 <= I < N")]
    Shard(String),
    #[error("merge: {0}")]
    Merge(String),
    #[error("internal: kept + rejected != input ({0:?})")]
    Unbalanced(Box<Stats>),
}

/// What to build from and where.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// `--input` arguments; empty means the embedded default corpus.
    pub inputs: Vec<String>,
    pub format: Format,
    pub map: FieldMap,
    pub lang: Option<String>,
    pub out: PathBuf,
    pub config: BuildConfig,
    /// `--shard i/N`: process only records whose position modulo N is i.
    pub shard: Option<(u64, u64)>,
    /// The command line, for the card.
    pub command: String,
}

/// What a finished build reports.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub out: PathBuf,
    pub stats: Stats,
    pub shards: Vec<ShardInfo>,
    pub rejects: Vec<ShardInfo>,
    /// One line per input whose format `auto` decided, and per benchmark file.
    pub decisions: Vec<String>,
}

/// Parses `--shard i/N`.
pub fn parse_shard(arg: &str) -> Result<(u64, u64), BuildError> {
    let bad = || BuildError::Shard(arg.to_string());
    let (i, n) = arg.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Resolves inputs (the embedded corpus when none are given).
pub fn plan(request: &BuildRequest) -> Result<Vec<InputFile>, BuildError> {
    if request.inputs.is_empty() {
        return Ok(vec![source::embedded_input()]);
    }
    let files = source::expand_inputs(&request.inputs)?;
    Ok(source::plan_inputs(&files, request.format, &request.map)?)
}

/// Builds the per-record context: detector, verifier, tokenizer, decontamination index.
pub fn context(config: &BuildConfig) -> Result<process::Context, BuildError> {
    let backend: lang::Backend = config
        .lid
        .parse()
        .map_err(|e| BuildError::Lang(format!("{e}")))?;
    let detector = lang::detector(backend, &lang::DetectorOptions::default())
        .map_err(|e| BuildError::Lang(e.to_string()))?;
    // The paper's filter only asks for the whole-trace language, which both
    // option sets measure alike; the paper's code-switch measure (lingua's
    // multi-language detection, ~20x slower) would be wasted here.
    let fidelity = lang::FidelityOptions::default();
    let tokens = match &config.tokenizer {
        Some(path) => TokenCounter::from_file(Path::new(path))?,
        None => TokenCounter::Approximate,
    };
    let decontaminator = if config.decontaminate.is_empty() {
        None
    } else {
        Some(decontam::Decontaminator::from_files(
            &config.decontaminate,
            config.decontaminate_field.as_deref(),
            config.decontam_ngram,
        )?)
    };
    Ok(process::Context {
        config: config.clone(),
        detector,
        fidelity,
        tokens,
        decontaminator,
        verify: verify::VerifyConfig::default(),
    })
}

/// Runs a build end to end and commits the output folder.
pub fn run(request: &BuildRequest, progress: &ProgressBar) -> Result<BuildReport, BuildError> {
    let inputs = plan(request)?;
    let mut decisions: Vec<String> = inputs.iter().filter_map(InputFile::decision).collect();
    let ctx = context(&request.config)?;
    if let Some(index) = &ctx.decontaminator {
        decisions.extend(index.files().iter().map(|f| {
            format!(
                "{}: {} benchmark questions for --decontaminate ({} rows without one)",
                f.source, f.questions, f.skipped
            )
        }));
    }
    let staged = StagedDir::new(&request.out)?;
    let sharded = request.shard.is_some();
    let mut sinks = Sinks::new(staged.path(), &request.config, sharded)?;
    let mut global = GlobalStages::new(&request.config, sharded);

    let records = Records::new(inputs, request.map.clone(), request.lang.clone());
    // Three stages overlap, each on its own thread, joined by bounded
    // queues: the reader fills chunks; the stage thread runs each chunk's
    // per-record stages on the pool; this thread passes the finished chunks,
    // in order, through the ordered stages and the writers (Parquet
    // compression is most of that). Without a barrier between the last two,
    // a long flush no longer leaves the pool waiting for it.
    let (chunks_tx, chunks_rx) = std::sync::mpsc::sync_channel(2);
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel(2);
    let ctx = &ctx;
    let source_records = std::thread::scope(|scope| {
        scope.spawn(move || read_chunks(records, request.shard, progress, chunks_tx));
        scope.spawn(move || {
            for chunk in chunks_rx {
                let done = chunk.map(|chunk: Vec<source::SourceRecord>| {
                    let records = chunk.len() as u64;
                    let outcomes: Vec<Vec<Outcome>> = chunk
                        .into_par_iter()
                        .map(|rec| process::process(ctx, rec))
                        .collect();
                    (records, outcomes.into_iter().flatten().collect::<Vec<_>>())
                });
                let failed = done.is_err();
                // A closed queue: the writer stopped on an error of its own.
                if done_tx.send(done).is_err() || failed {
                    return;
                }
            }
        });
        let mut source_records = 0u64;
        for done in done_rx {
            let (records, outcomes) = done?;
            source_records += records;
            global.accept_all(outcomes, &mut sinks)?;
            progress.set_message(format!("kept {}", sinks.stats.kept));
        }
        Ok::<u64, BuildError>(source_records)
    })?;
    global.finish(&mut sinks)?;
    sinks.stats.source_records = source_records;
    finish_output(request, sinks, staged, decisions)
}

/// The reader thread: records of this shard in chunks of [`CHUNK`], in input
/// order, until the input ends, an input fails (sent, then stop) or the
/// receiver is gone (the build stopped).
fn read_chunks(
    records: Records,
    shard: Option<(u64, u64)>,
    progress: &ProgressBar,
    tx: std::sync::mpsc::SyncSender<Result<Vec<source::SourceRecord>, BuildError>>,
) {
    let mut chunk = Vec::with_capacity(CHUNK);
    for rec in records {
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                let _ = tx.send(Err(e.into()));
                return;
            }
        };
        progress.inc(1);
        if shard.is_some_and(|(i, n)| rec.ordinal % n != i) {
            continue;
        }
        chunk.push(rec);
        if chunk.len() == CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            if tx.send(Ok(full)).is_err() {
                return;
            }
        }
    }
    if !chunk.is_empty() {
        let _ = tx.send(Ok(chunk));
    }
}

/// Closes the writers, writes the card and the manifest (last: its presence
/// marks a complete output) and moves the folder into place.
fn finish_output(
    request: &BuildRequest,
    sinks: Sinks,
    staged: StagedDir,
    decisions: Vec<String>,
) -> Result<BuildReport, BuildError> {
    if !sinks.stats.is_balanced() {
        return Err(BuildError::Unbalanced(Box::new(sinks.stats)));
    }
    let pending = sinks.pending;
    let root = staged.path().to_path_buf();
    let (stats, shards, rejects) = sinks.finish(&root)?;
    let manifest = manifest(request, &stats, &shards, &rejects);
    if !pending {
        let card = card::render(request, &stats, &shards);
        sink::write_atomic(&root.join("README.md"), card.as_bytes())?;
    }
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    sink::write_atomic(&root.join("manifest.json"), &manifest_bytes)?;
    let out = staged.commit()?;
    Ok(BuildReport {
        out,
        stats,
        shards,
        rejects,
        decisions,
    })
}

/// `adamame-data merge`: assembles the outputs of `--shard 0/N` … `--shard
/// N-1/N` runs into one dataset with the rows of a single-machine run. The
/// comparing stages (dedup, decontaminate, select) run here, over all
/// shards in input order. Every shard file is checked against its
/// manifest first; the shards are then streamed, merged by input position.
pub fn merge(
    shard_dirs: &[PathBuf],
    out: &Path,
    command: String,
) -> Result<BuildReport, BuildError> {
    let bad = |msg: String| BuildError::Merge(msg);
    let mut manifests = Vec::new();
    for dir in shard_dirs {
        let path = dir.join("manifest.json");
        let bytes = std::fs::read(&path).map_err(SinkError::io(&path))?;
        let m: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("{}: {e}", path.display())))?;
        manifests.push(m);
    }
    let first = manifests
        .first()
        .ok_or_else(|| bad("no shard folders given".into()))?;
    let total = first["shard"]
        .as_str()
        .and_then(|s| parse_shard(s).ok())
        .map(|(_, n)| n)
        .ok_or_else(|| {
            bad(format!(
                "{}: not the output of a --shard run",
                shard_dirs[0].display()
            ))
        })?;
    let mut seen = vec![false; total as usize];
    let mut shard_of_dir = Vec::new();
    for (dir, m) in shard_dirs.iter().zip(&manifests) {
        let (i, n) = m["shard"]
            .as_str()
            .and_then(|s| parse_shard(s).ok())
            .ok_or_else(|| {
                bad(format!(
                    "{}: not the output of a --shard run",
                    dir.display()
                ))
            })?;
        if n != total {
            return Err(bad(format!(
                "{}: a different run (shard {i}/{n}, not of {total})",
                dir.display()
            )));
        }
        // Everything that decides the rows must be the same in every shard.
        for field in SAME_IN_EVERY_SHARD {
            if m[field] != first[field] {
                return Err(bad(format!(
                    "{}: a different run (`{field}` differs from {})",
                    dir.display(),
                    shard_dirs[0].display()
                )));
            }
        }
        if std::mem::replace(&mut seen[i as usize], true) {
            return Err(bad(format!("{}: shard {i}/{n} given twice", dir.display())));
        }
        shard_of_dir.push(i);
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(bad(format!("shard {missing}/{total} is missing")));
    }
    let config: BuildConfig = serde_json::from_value(first["config"].clone())
        .map_err(|e| bad(format!("shard config: {e}")))?;
    // Each shard gives two streams in input order (kept rows, rejects),
    // checked against their manifests first, then merged by position.
    let mut streams = Vec::new();
    let (mut source_records, mut input_records) = (0, 0);
    for ((dir, m), shard) in shard_dirs.iter().zip(&manifests).zip(shard_of_dir) {
        let field = |name: &str| -> Result<&serde_json::Value, BuildError> {
            m.get(name)
                .ok_or_else(|| bad(format!("{}/manifest.json: no `{name}`", dir.display())))
        };
        let count = |name: &str| {
            field(name)?.as_u64().ok_or_else(|| {
                bad(format!(
                    "{}/manifest.json: `{name}` is not a count",
                    dir.display()
                ))
            })
        };
        let files = |name: &str| -> Result<Vec<PathBuf>, BuildError> {
            let listed: Vec<ShardInfo> = serde_json::from_value(field(name)?.clone())
                .map_err(|e| bad(format!("{}/manifest.json: `{name}`: {e}", dir.display())))?;
            Ok(listed
                .iter()
                .map(|info| info.verify(dir))
                .collect::<Result<_, _>>()?)
        };
        source_records += count("source_records")?;
        input_records += count("input_records")?;
        for (list, kept) in [("shards", true), ("rejects", false)] {
            streams.push(ShardStream {
                dir: dir.clone(),
                shard,
                outcomes: sink::readback::PendingStream::new(files(list)?, kept),
                last: None,
            });
        }
    }
    let near = config.near_dup.clone();
    let dedup_on = config.exact_dedup || near.enabled;
    let request = BuildRequest {
        inputs: first["inputs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        format: first["format"]
            .as_str()
            .and_then(|f| f.parse().ok())
            .unwrap_or(Format::Auto),
        map: FieldMap {
            question: manifest_text(&first["map"]["question"]),
            response: manifest_text(&first["map"]["response"]),
            gold: manifest_text(&first["map"]["gold"]),
            lang: manifest_text(&first["map"]["lang"]),
        },
        lang: manifest_text(&first["lang"]),
        out: out.to_path_buf(),
        config,
        shard: None,
        command,
    };
    let staged = StagedDir::new(out)?;
    let mut sinks = Sinks::new(staged.path(), &request.config, false)?;
    let mut global = GlobalStages::new(&request.config, false);
    let mut merged = merge_by_position(streams, total)?;
    let mut merged_rows = 0u64;
    loop {
        let chunk: Vec<Outcome> = merged.by_ref().take(CHUNK).collect::<Result<_, _>>()?;
        if chunk.is_empty() {
            break;
        }
        merged_rows += chunk.len() as u64;
        // Dedup keys are not stored in pending files: recomputed in parallel.
        let mut chunk = chunk;
        chunk.par_iter_mut().for_each(|o| {
            if let (Outcome::Kept(row), true) = (o, dedup_on) {
                row.dedup = Some(dedup::keys(&row.question, &row.reasoning, &near));
            }
        });
        global.accept_all(chunk, &mut sinks)?;
    }
    if merged_rows != input_records {
        return Err(bad(format!(
            "the shards' files hold {merged_rows} rows, their manifests count {input_records}"
        )));
    }
    global.finish(&mut sinks)?;
    sinks.stats.source_records = source_records;
    finish_output(&request, sinks, staged, Vec::new())
}

/// One shard's kept rows or rejects, in input order.
struct ShardStream {
    dir: PathBuf,
    shard: u64,
    outcomes: sink::readback::PendingStream,
    /// The position of the last outcome taken, to check the order.
    last: Option<(u64, Option<u32>)>,
}

impl ShardStream {
    /// The next outcome, checked: it belongs to this shard and comes after
    /// the one before.
    fn next_checked(&mut self, total: u64) -> Result<Option<Outcome>, BuildError> {
        let Some(outcome) = self.outcomes.next().transpose()? else {
            return Ok(None);
        };
        let key = outcome_key(&outcome);
        if key.0 % total != self.shard {
            return Err(BuildError::Merge(format!(
                "{}: holds record {} of the input, which is not shard {}/{total}'s",
                self.dir.display(),
                key.0,
                self.shard
            )));
        }
        if self.last.is_some_and(|last| last >= key) {
            return Err(BuildError::Merge(format!(
                "{}: record {} (candidate {:?}) is out of input order",
                self.dir.display(),
                key.0,
                key.1
            )));
        }
        self.last = Some(key);
        Ok(Some(outcome))
    }
}

/// The outcomes of all streams in input order (a k-way merge), holding one
/// outcome per stream; a position found twice is an error.
fn merge_by_position(
    mut streams: Vec<ShardStream>,
    total: u64,
) -> Result<impl Iterator<Item = Result<Outcome, BuildError>>, BuildError> {
    use std::cmp::Reverse;
    let mut heads: Vec<Option<Outcome>> = Vec::with_capacity(streams.len());
    let mut heap = std::collections::BinaryHeap::new();
    for (k, stream) in streams.iter_mut().enumerate() {
        let head = stream.next_checked(total)?;
        if let Some(o) = &head {
            heap.push(Reverse((outcome_key(o), k)));
        }
        heads.push(head);
    }
    let mut previous: Option<(u64, Option<u32>)> = None;
    let mut failed = false;
    Ok(std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let Reverse((key, k)) = heap.pop()?;
        let outcome = heads[k].take()?;
        let mut step = || -> Result<(), BuildError> {
            if previous == Some(key) {
                return Err(BuildError::Merge(format!(
                    "record {} (candidate {:?}) is in the shards twice",
                    key.0, key.1
                )));
            }
            previous = Some(key);
            heads[k] = streams[k].next_checked(total)?;
            if let Some(o) = &heads[k] {
                heap.push(Reverse((outcome_key(o), k)));
            }
            Ok(())
        };
        match step() {
            Ok(()) => Some(Ok(outcome)),
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    }))
}

/// Manifest fields that decide a shard's rows: shards that differ in one of
/// them come from different runs.
const SAME_IN_EVERY_SHARD: [&str; 7] = [
    "config",
    "inputs",
    "format",
    "map",
    "lang",
    "tool_version",
    "schema_version",
];

/// Where an outcome sits in the input: (record position, candidate).
fn outcome_key(o: &Outcome) -> (u64, Option<u32>) {
    match o {
        Outcome::Kept(r) => (r.prov.ordinal, r.prov.candidate_index),
        Outcome::Rejected(r) => (r.prov.ordinal, r.prov.candidate_index),
    }
}

fn manifest_text(v: &serde_json::Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// The stages that compare a row with earlier rows, applied in input order.
struct GlobalStages {
    /// A `--shard` run leaves these stages to `merge`.
    deferred: bool,
    dedup: Deduplicator,
    max_per_question: Option<usize>,
    /// Rows held back for `select` (only when it is enabled).
    held: Vec<Row>,
}

impl GlobalStages {
    fn new(config: &BuildConfig, deferred: bool) -> Self {
        GlobalStages {
            deferred,
            dedup: Deduplicator::new(config.exact_dedup, &config.near_dup),
            max_per_question: config.max_per_question,
            held: Vec::new(),
        }
    }

    fn accept_all(&mut self, outcomes: Vec<Outcome>, sinks: &mut Sinks) -> Result<(), BuildError> {
        outcomes.into_iter().try_for_each(|o| self.accept(o, sinks))
    }

    fn accept(&mut self, outcome: Outcome, sinks: &mut Sinks) -> Result<(), BuildError> {
        let row = match outcome {
            Outcome::Rejected(reject) => return sinks.reject(*reject),
            Outcome::Kept(row) => *row,
        };
        if self.deferred {
            return sinks.keep(row);
        }
        let duplicate = row
            .dedup
            .as_ref()
            .and_then(|keys| self.dedup.check(&row.prov.id, &row.query_lang, keys));
        if let Some(dup) = duplicate {
            return sinks.reject(if dup.exact {
                row.reject_as_exact_duplicate(dup.detail)
            } else {
                row.reject(Stage::Dedup, Reason::Duplicate, dup.detail)
            });
        }
        if let Some(detail) = row.contamination.clone() {
            return sinks.reject(row.reject(Stage::Decontaminate, Reason::Contaminated, detail));
        }
        if self.max_per_question.is_some() {
            self.held.push(row);
            return Ok(());
        }
        sinks.keep(row)
    }

    /// `select`: per (language, question), keep the `k` shortest traces
    /// (ties by input order); output stays in input order.
    fn finish(&mut self, sinks: &mut Sinks) -> Result<(), BuildError> {
        let Some(k) = self.max_per_question else {
            return Ok(());
        };
        let mut groups: std::collections::HashMap<(&str, &str), Vec<usize>> =
            std::collections::HashMap::new();
        for (i, row) in self.held.iter().enumerate() {
            groups
                .entry((&row.query_lang, &row.question))
                .or_default()
                .push(i);
        }
        let mut chosen = vec![false; self.held.len()];
        for members in groups.values_mut() {
            members.sort_by_key(|&i| (self.held[i].n_tokens_reasoning, i));
            for &i in members.iter().take(k) {
                chosen[i] = true;
            }
        }
        for (row, keep) in std::mem::take(&mut self.held).into_iter().zip(chosen) {
            if keep {
                sinks.keep(row)?;
            } else {
                let detail = format!("more than {k} traces for this question; shorter ones kept");
                sinks.reject(row.reject(Stage::Select, Reason::NotSelected, detail))?;
            }
        }
        Ok(())
    }
}

/// The three outputs plus the counts, with rows batched before writing.
/// A `--shard` run writes pending files for `merge` instead.
struct Sinks {
    pending: bool,
    train: ShardWriter,
    validation: Option<ShardWriter>,
    rejects: ShardWriter,
    train_rows: Vec<Row>,
    validation_rows: Vec<Row>,
    reject_rows: Vec<Reject>,
    val_fraction: f64,
    seed: u64,
    stats: Stats,
}

impl Sinks {
    fn new(root: &Path, config: &BuildConfig, pending: bool) -> Result<Self, BuildError> {
        let compression = sink::shards::compression(&config.compression)?;
        let reject_compression = sink::shards::reject_compression(compression);
        let rows = config.rows_per_shard;
        let (train, validation, rejects) = if pending {
            let dir = root.join("pending");
            std::fs::create_dir_all(&dir).map_err(SinkError::io(&dir))?;
            (
                ShardWriter::new(
                    &dir,
                    "pending",
                    adamame_schemas::pending_schema(),
                    compression,
                    rows,
                ),
                None,
                ShardWriter::new(
                    &dir,
                    "rejects",
                    adamame_schemas::pending_reject_schema(),
                    reject_compression,
                    rows,
                ),
            )
        } else {
            let (data, rejects) = (root.join("data"), root.join("rejects"));
            for dir in [&data, &rejects] {
                std::fs::create_dir_all(dir).map_err(SinkError::io(dir))?;
            }
            let curated = adamame_schemas::curated_schema();
            (
                ShardWriter::new(&data, "train", curated.clone(), compression, rows),
                (config.val_fraction > 0.0)
                    .then(|| ShardWriter::new(&data, "validation", curated, compression, rows)),
                ShardWriter::new(
                    &rejects,
                    "rejects",
                    adamame_schemas::reject_schema(),
                    reject_compression,
                    rows,
                ),
            )
        };
        Ok(Sinks {
            pending,
            train,
            validation,
            rejects,
            train_rows: Vec::new(),
            validation_rows: Vec::new(),
            reject_rows: Vec::new(),
            val_fraction: config.val_fraction,
            seed: config.seed,
            stats: Stats::default(),
        })
    }

    fn keep(&mut self, row: Row) -> Result<(), BuildError> {
        self.stats.record_kept(&row);
        if self.validation.is_some() && is_validation(self.seed, self.val_fraction, &row) {
            self.stats.validation_rows += 1;
            self.validation_rows.push(row);
            if self.validation_rows.len() >= BATCH {
                self.flush_validation()?;
            }
        } else {
            self.stats.train_rows += 1;
            self.train_rows.push(row);
            if self.train_rows.len() >= BATCH {
                self.flush_train()?;
            }
        }
        Ok(())
    }

    fn flush_train(&mut self) -> Result<(), BuildError> {
        let rows = std::mem::take(&mut self.train_rows);
        write_rows(&mut self.train, self.pending, &rows)
    }

    fn flush_rejects(&mut self) -> Result<(), BuildError> {
        let rejects = std::mem::take(&mut self.reject_rows);
        write_rejects(&mut self.rejects, self.pending, &rejects)
    }

    fn flush_validation(&mut self) -> Result<(), BuildError> {
        if let Some(writer) = &mut self.validation {
            let b = batch::rows_batch(&std::mem::take(&mut self.validation_rows))
                .map_err(SinkError::parquet("validation batch"))?;
            writer.write(&b)?;
        }
        Ok(())
    }

    fn reject(&mut self, reject: Reject) -> Result<(), BuildError> {
        self.stats.record_rejected(&reject);
        self.reject_rows.push(reject);
        if self.reject_rows.len() >= BATCH {
            self.flush_rejects()?;
        }
        Ok(())
    }

    /// The last batches and the ends of the files. The rejects are closed
    /// on a thread of their own beside the curated shards: the end of a
    /// build waited on the two one after the other with a core idle.
    fn finish(
        mut self,
        root: &Path,
    ) -> Result<(Stats, Vec<ShardInfo>, Vec<ShardInfo>), BuildError> {
        if !self.validation_rows.is_empty() {
            self.flush_validation()?;
        }
        let Sinks {
            pending,
            mut train,
            validation,
            mut rejects,
            train_rows,
            reject_rows,
            stats,
            ..
        } = self;
        let (shards, rejects) = std::thread::scope(|s| {
            let rejects_closed = s.spawn(move || -> Result<Vec<ShardInfo>, BuildError> {
                if !reject_rows.is_empty() {
                    write_rejects(&mut rejects, pending, &reject_rows)?;
                }
                Ok(rejects.finish(root)?)
            });
            let shards = (|| -> Result<Vec<ShardInfo>, BuildError> {
                if !train_rows.is_empty() {
                    write_rows(&mut train, pending, &train_rows)?;
                }
                let mut shards = train.finish(root)?;
                if let Some(v) = validation {
                    shards.extend(v.finish(root)?);
                }
                Ok(shards)
            })();
            let rejects = rejects_closed
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (shards, rejects)
        });
        Ok((stats, shards?, rejects?))
    }
}

/// Writes kept rows (as pending rows in a `--shard` run).
fn write_rows(writer: &mut ShardWriter, pending: bool, rows: &[Row]) -> Result<(), BuildError> {
    let (rows_batch, what) = if pending {
        (batch::pending_rows_batch(rows), "pending rows batch")
    } else {
        (batch::rows_batch(rows), "train batch")
    };
    Ok(writer.write(&rows_batch.map_err(SinkError::parquet(what))?)?)
}

/// Writes rejects (as pending rejects in a `--shard` run).
fn write_rejects(
    writer: &mut ShardWriter,
    pending: bool,
    rows: &[Reject],
) -> Result<(), BuildError> {
    let (rows_batch, what) = if pending {
        (batch::pending_rejects_batch(rows), "pending rejects batch")
    } else {
        (batch::rejects_batch(rows), "rejects batch")
    };
    Ok(writer.write(&rows_batch.map_err(SinkError::parquet(what))?)?)
}

/// Whole questions go to one split, so validation never shares a question
/// with train. Decided by a seeded hash of (language, question).
fn is_validation(seed: u64, fraction: f64, row: &Row) -> bool {
    let mut h = units::mix(seed);
    for b in row
        .query_lang
        .bytes()
        .chain([0])
        .chain(row.question.bytes())
    {
        h = units::mix(h ^ u64::from(b));
    }
    (h >> 11) as f64 / (1u64 << 53) as f64 <= fraction
}

fn manifest(
    request: &BuildRequest,
    stats: &Stats,
    shards: &[ShardInfo],
    rejects: &[ShardInfo],
) -> serde_json::Value {
    json!({
        "tool_version": format!("adamame-data {}", env!("CARGO_PKG_VERSION")),
        "schema_version": adamame_schemas::SCHEMA_VERSION,
        "command": request.command,
        "inputs": if request.inputs.is_empty() { vec![source::EMBEDDED_NAME.to_string()] } else { request.inputs.clone() },
        "format": request.format.name(),
        "map": {
            "question": request.map.question,
            "response": request.map.response,
            "gold": request.map.gold,
            "lang": request.map.lang,
        },
        "lang": request.lang,
        "shard": request.shard.map(|(i, n)| format!("{i}/{n}")),
        "source_records": stats.source_records,
        "input_records": stats.input,
        "kept_records": stats.kept,
        "rejected_records": stats.rejected,
        "rejected_by_reason": stats.rejected_by_reason,
        "rejected_by_stage": stats.rejected_by_stage,
        "splits": { "train": stats.train_rows, "validation": stats.validation_rows },
        "per_language": stats.per_language,
        "shards": shards,
        "rejects": rejects,
        "config": request.config,
    })
}

/// The end-of-run summary: where things went, and what was rejected why.
pub fn summary_table(report: &BuildReport, elapsed: std::time::Duration) -> String {
    use std::fmt::Write;
    let s = &report.stats;
    let secs = elapsed.as_secs_f64().max(1e-9);
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\n{} source records, {} candidates in {:.1}s ({:.0} candidates/s)",
        s.source_records,
        s.input,
        secs,
        s.input as f64 / secs
    );
    let _ = writeln!(
        t,
        "{:<10} {:>8} {:>8}  rejected by reason",
        "language", "input", "kept"
    );
    for (lang, l) in &s.per_language {
        let reasons: Vec<String> = l.rejected.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let _ = writeln!(
            t,
            "{lang:<10} {:>8} {:>8}  {}",
            l.input,
            l.kept,
            reasons.join(", ")
        );
    }
    let _ = writeln!(
        t,
        "{:<10} {:>8} {:>8}  {} rejected",
        "total", s.input, s.kept, s.rejected
    );
    let out = report.out.display();
    let _ = writeln!(t, "\nwrote {out}/");
    let _ = writeln!(
        t,
        "  data/      {} shard(s): {} train, {} validation rows",
        report.shards.len(),
        s.train_rows,
        s.validation_rows
    );
    let _ = writeln!(
        t,
        "  rejects/   {} shard(s): {} rows",
        report.rejects.len(),
        s.rejected
    );
    let _ = writeln!(t, "  manifest.json, README.md (dataset card)");
    t
}
