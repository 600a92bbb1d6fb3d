//! `adamame-data`: curate multilingual reasoning traces.

use std::io::{BufReader, BufWriter, IsTerminal};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use adamame_pipeline::build::{self, BuildConfig, BuildRequest};
use adamame_pipeline::{lang, verify};

/// See the workspace manifest for why (records cross threads, the writer's
/// buffers are large).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 2.x's `mi_option_t` (`mimalloc.h`;
/// libmimalloc-sys names no constant for it in its v2 build).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory stays with the process instead of going back to the kernel
/// 10 ms later, only to be faulted in again for the next chunk of records
/// (a build reuses what it freed; peak RSS +25 MB). Build: -5%.
fn keep_freed_memory() {
    // SAFETY: called first thing in `main`, before any other thread exists
    // (mimalloc's option setters are not thread-safe); -1 is "never purge".
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

mod cli;
use cli::{export, inspect, score};

#[derive(Parser)]
#[command(name = "adamame-data", version, about = "Curate multilingual reasoning traces into training data", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Raw generations in (the embedded sample corpus when no --input is given); curated
    /// Parquet shards, rejects, a manifest and a dataset card out.
    Build(Box<BuildArgs>),
    /// Assemble the outputs of `build --shard I/N` runs into one dataset (same rows as one run).
    Merge(MergeArgs),
    /// Check answers: JSON lines {"gold", "response"} on stdin, one verdict line per input on stdout.
    Verify,
    /// Language fidelity: JSON lines {"text", "lang"} on stdin, one measure line per input on stdout.
    Fidelity(FidelityArgs),
    /// Evaluate candidate generations without a model: pass@k and language fidelity per language.
    Score(score::ScoreArgs),
    /// Show a Parquet file or an output folder: schema, counts, languages, sample rows.
    Inspect(inspect::InspectArgs),
    /// Turn a curated folder into LLaMA-Factory JSON or verl RL Parquet.
    Export(export::ExportArgs),
    /// Turn question/gold sets into verl RL prompt shards with the localized instruction.
    Prompts(export::PromptsArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum PresetArg {
    /// Every stage with trustworthy language measures.
    Default,
    /// Exactly the release's filter: split, boxed, correct, whole-trace language (lingua).
    Paper,
}

#[derive(Args)]
struct BuildArgs {
    #[command(flatten)]
    input: cli::input::InputArgs,
    /// Output folder (replaced atomically when the run succeeds).
    #[arg(short, long, default_value = "adamame-out")]
    out: PathBuf,
    /// Filter preset.
    #[arg(long, value_enum, default_value = "default")]
    preset: PresetArg,
    /// Language-ID backend: lingua, whatlang or fasttext.
    #[arg(long)]
    lid: Option<String>,
    /// Reject traces with a smaller share of letters in the query language.
    #[arg(long, value_name = "FRACTION", value_parser = cli::parse::share)]
    min_purity: Option<f64>,
    /// Reject traces with any line in another language.
    #[arg(long)]
    require_line_pass: bool,
    /// Reject traces with words in another script.
    #[arg(long)]
    require_word_pass: bool,
    /// Reject traces that switch between languages.
    #[arg(long)]
    reject_code_switch: bool,
    /// Reject traces longer than this many reasoning + answer tokens (0: no limit).
    #[arg(long, value_name = "N")]
    max_tokens: Option<u32>,
    /// tokenizer.json for exact token counts (default: a documented approximation).
    #[arg(long, value_name = "FILE")]
    tokenizer: Option<String>,
    /// Keep exact duplicates.
    #[arg(long)]
    no_dedup: bool,
    /// Keep near-duplicates (MinHash within a language).
    #[arg(long)]
    no_near_dup: bool,
    /// Estimated Jaccard similarity from which a trace is a near-duplicate.
    #[arg(long, default_value_t = 0.8, value_name = "J", value_parser = cli::parse::similarity)]
    near_dup_threshold: f64,
    /// Benchmark files whose questions must not leak (e.g. MGSM-Rev2; repeatable).
    #[arg(long = "decontaminate", value_name = "PATH")]
    decontaminate: Vec<String>,
    /// Field (dotted path) holding the question in --decontaminate files [default: the format's question, else question, problem, query, prompt, instruction, input, m_query, messages, conversations, text].
    #[arg(long, value_name = "FIELD")]
    decontaminate_field: Option<String>,
    /// n-gram size (in words, or characters of unspaced scripts) for decontamination.
    #[arg(long, default_value_t = 13, value_name = "N", value_parser = cli::parse::at_least_one)]
    decontam_ngram: usize,
    /// Keep at most K traces per question, preferring the shortest.
    #[arg(long, value_name = "K", value_parser = cli::parse::at_least_one)]
    max_per_question: Option<usize>,
    /// Share of questions that go to the validation split.
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION", value_parser = cli::parse::share_below_one)]
    val_fraction: f64,
    /// Seed for the train/validation assignment.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Rows per output shard.
    #[arg(long, default_value_t = 50_000, value_parser = cli::parse::at_least_one)]
    rows_per_shard: usize,
    /// Parquet compression: zstd, snappy or none (with zstd, the rejects
    /// are written with the faster LZ4).
    #[arg(long, default_value = "zstd")]
    compression: String,
    /// Transcript marker that opens the reasoning.
    #[arg(long, value_name = "TEXT")]
    think_marker: Option<String>,
    /// Transcript marker that opens the answer.
    #[arg(long, value_name = "TEXT")]
    answer_marker: Option<String>,
    /// Process only the I-th of N partitions of the input (for job arrays).
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Threads for the per-record stages (default: all cores); a reader and a
    /// writer thread run beside them. The output does not depend on it.
    #[arg(long, value_parser = cli::parse::at_least_one)]
    threads: Option<usize>,
    /// No progress bar and no summary.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
struct MergeArgs {
    /// The output folders of `build --shard 0/N` … `--shard N-1/N`.
    #[arg(required = true, value_name = "SHARD_DIR")]
    shards: Vec<PathBuf>,
    /// Output folder.
    #[arg(short, long, default_value = "adamame-out")]
    out: PathBuf,
    /// No summary.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
struct FidelityArgs {
    /// Language-ID backend: lingua, whatlang or fasttext.
    #[arg(long, default_value = "lingua")]
    lid: String,
    /// `paper`: the paper's code-switch definition (lingua multi-language detection).
    #[arg(long, value_enum, default_value = "default")]
    preset: PresetArg,
}

fn main() {
    keep_freed_memory();
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        // `inspect … | head`: the reader has what it wanted.
        if closed_stdout(&e) {
            return;
        }
        eprintln!("error: {}", error_report(&e));
        std::process::exit(1);
    }
}

/// True when `e` is a write to a pipe whose reader has gone.
fn closed_stdout(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Build(args) => run_build(*args),
        Command::Merge(args) => {
            let started = Instant::now();
            let command = std::env::args().collect::<Vec<_>>().join(" ");
            let report = build::merge(&args.shards, &args.out, command)?;
            if !args.quiet {
                eprint!("{}", build::summary_table(&report, started.elapsed()));
            }
            Ok(())
        }
        Command::Verify => {
            let stdin = std::io::stdin().lock();
            let stdout = BufWriter::new(std::io::stdout().lock());
            verify::verify_jsonl(
                BufReader::new(stdin),
                stdout,
                &verify::VerifyConfig::default(),
            )
            .context("verify: reading stdin or writing stdout")?;
            Ok(())
        }
        Command::Score(args) => score::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Export(args) => export::run_export(&args),
        Command::Prompts(args) => export::run_prompts(&args),
        Command::Fidelity(args) => {
            let backend: lang::Backend = args.lid.parse()?;
            let det = lang::detector(backend, &lang::DetectorOptions::default())?;
            let opts = match args.preset {
                PresetArg::Paper => lang::FidelityOptions::paper(),
                PresetArg::Default => lang::FidelityOptions::default(),
            };
            let stdin = std::io::stdin().lock();
            let stdout = BufWriter::new(std::io::stdout().lock());
            lang::fidelity_jsonl(BufReader::new(stdin), stdout, det.as_ref(), &opts)
                .context("fidelity: reading stdin or writing stdout")?;
            Ok(())
        }
    }
}

fn build_config(a: &BuildArgs) -> Result<BuildConfig> {
    let mut c = match a.preset {
        PresetArg::Paper => BuildConfig::paper(),
        PresetArg::Default => BuildConfig::default(),
    };
    if let Some(lid) = &a.lid {
        c.lid = lid.clone();
    }
    c.thresholds.min_purity = a.min_purity;
    c.thresholds.require_line_pass = a.require_line_pass;
    c.thresholds.require_word_pass = a.require_word_pass;
    c.thresholds.reject_code_switch = a.reject_code_switch;
    if let Some(max) = a.max_tokens {
        c.max_tokens = (max > 0).then_some(max);
    }
    c.tokenizer = a.tokenizer.clone();
    if a.no_dedup {
        c.exact_dedup = false;
    }
    if a.no_near_dup {
        c.near_dup.enabled = false;
    }
    c.near_dup.threshold = a.near_dup_threshold;
    c.decontaminate = a.decontaminate.clone();
    c.decontaminate_field = a.decontaminate_field.clone();
    c.decontam_ngram = a.decontam_ngram;
    c.max_per_question = a.max_per_question;
    c.val_fraction = a.val_fraction;
    c.seed = a.seed;
    c.rows_per_shard = a.rows_per_shard;
    c.compression = a.compression.clone();
    if let Some(m) = &a.think_marker {
        c.markers.think = m.clone();
    }
    if let Some(m) = &a.answer_marker {
        c.markers.answer = m.clone();
    }
    Ok(c)
}

fn run_build(a: BuildArgs) -> Result<()> {
    let map = a.input.field_map()?;
    let shard = a.shard.as_deref().map(build::parse_shard).transpose()?;
    let request = BuildRequest {
        inputs: a.input.inputs.clone(),
        format: a.input.format,
        map,
        lang: a.input.lang(),
        out: a.out.clone(),
        config: build_config(&a)?,
        shard,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    if let Some(threads) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("--threads: cannot start the thread pool")?;
    }
    let progress = if a.quiet || !std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
    } else {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} {human_pos} records ({per_sec}) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    };
    if request.inputs.is_empty() && !a.quiet {
        eprintln!(
            "no --input: building from the embedded sample corpus (pipeline/corpus/default.jsonl)"
        );
    }
    let started = Instant::now();
    let report = build::run(&request, &progress)?;
    progress.finish_and_clear();
    if !a.quiet {
        for d in &report.decisions {
            eprintln!("input: {d}");
        }
        eprint!("{}", build::summary_table(&report, started.elapsed()));
    }
    Ok(())
}

/// The error and its causes, each once: our error types already write their
/// I/O cause into their own message, which `{:#}` would repeat.
fn error_report(e: &anyhow::Error) -> String {
    let mut report = e.to_string();
    for cause in e.chain().skip(1).map(|c| c.to_string()) {
        if !report.contains(&cause) {
            report = format!("{report}: {cause}");
        }
    }
    report
}
