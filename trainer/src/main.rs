//! adamame-train: thin command line over the adamame-trainer library.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use adamame_trainer::generate::{Completion, Generator, SamplingParams};
use adamame_trainer::input::Batches;
use adamame_trainer::logprobs::tokens_logprobs;
use adamame_trainer::model::weights::parse_dtype;
use adamame_trainer::model::{Qwen, Trainable};
use adamame_trainer::tokenize::{ChatTemplate, Tok};
use anyhow::{Context, Result};
use candle_core::Device;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Deserialize;
use serde_json::{json, Value};

mod sft_cli;
use sft_cli::SftArgs;

#[derive(Parser)]
#[command(
    name = "adamame-train",
    version,
    about = "Train and run Qwen2/Qwen3 reasoning models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Complete prompts: JSON lines {"prompt", "system"?, "id"?} on stdin, one
    /// {"id"?, "completions": [{"text", "tokens", "finish_reason"}]} line per input on stdout.
    Generate(GenerateArgs),
    /// Supervised fine-tuning on curated shards (stage 1); with no arguments, trains a
    /// tiny model from scratch on ./adamame-out into adamame-runs/sft.
    Sft(Box<SftArgs>),
    /// Score texts: JSON lines {"text"} on stdin, {"tokens", "logprobs"} on stdout, where
    /// logprobs[i-1] = log p(tokens[i] | tokens[..i]) and the text is encoded without added special tokens.
    Logprobs(LogprobsArgs),
}

#[derive(Args)]
struct ModelArgs {
    /// Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json).
    #[arg(long)]
    model: PathBuf,
    /// PEFT LoRA adapter folder to apply on top of the model.
    #[arg(long)]
    adapter: Option<PathBuf>,
    /// f32 on the CPU; bf16 or f16 with --device cuda.
    #[arg(long, default_value = "f32")]
    dtype: String,
    /// cpu, or cuda (needs a build with the `cuda` feature).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Prompts (or texts) per forward batch.
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
}

#[derive(Args)]
struct GenerateArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// auto (from the tokenizer's special tokens), r1-distill, qwen3, plain, or none (raw prompts).
    #[arg(long, default_value = "auto")]
    template: String,
    #[arg(long, default_value_t = 256)]
    max_new_tokens: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.6)]
    temperature: f32,
    #[arg(long, default_value_t = 0.95)]
    top_p: f32,
    /// 0 keeps every token.
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    /// Samples per prompt (they share one prefill).
    #[arg(short, long, default_value_t = 1)]
    n: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop when the text contains this string (repeatable).
    #[arg(long)]
    stop: Vec<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct LogprobsArgs {
    #[command(flatten)]
    model: ModelArgs,
}

#[global_allocator]
static ALLOC: adamame_trainer::runtime::ReusingAlloc =
    adamame_trainer::runtime::ReusingAlloc::new();

fn main() {
    adamame_trainer::runtime::keep_freed_memory();
    adamame_trainer::runtime::calm_candle_pool();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate(args) => generate(args),
        Command::Logprobs(args) => logprobs(args),
        Command::Sft(args) => sft_cli::sft(*args),
    };
    if let Err(e) = result {
        eprintln!("adamame-train: {}", error_report(&e));
        std::process::exit(1);
    }
}

fn load(args: &ModelArgs) -> Result<(Qwen, Tok)> {
    let device = match args.device.as_str() {
        "cpu" => Device::Cpu,
        "cuda" => Device::new_cuda(0).context("--device cuda (build with --features cuda)")?,
        other => anyhow::bail!("unknown --device {other:?} (cpu, cuda)"),
    };
    let dtype = parse_dtype(&args.dtype)?;
    let mut model = Qwen::load(&args.model, dtype, &device, Trainable::Frozen)
        .with_context(|| format!("loading the model from {}", args.model.display()))?;
    if let Some(adapter) = &args.adapter {
        model
            .load_lora(adapter)
            .with_context(|| format!("loading the adapter from {}", adapter.display()))?;
    }
    let tok = Tok::from_dir(&args.model)?;
    Ok((model, tok))
}

/// The JSON lines on stdin, a batch at a time.
fn stdin_batches(batch_size: usize) -> Batches<std::io::StdinLock<'static>> {
    Batches::new(std::io::stdin().lock(), batch_size)
}

fn write_line(out: &mut impl Write, v: &Value) -> Result<()> {
    writeln!(out, "{v}").context("writing stdout")
}

#[derive(Deserialize)]
struct TextLine {
    text: String,
}

fn logprobs(args: LogprobsArgs) -> Result<()> {
    let (model, tok) = load(&args.model)?;
    let mut input = stdin_batches(args.model.batch_size);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    loop {
        let group = input.next_batch::<TextLine>().context("reading stdin")?;
        if group.is_empty() {
            break;
        }
        let encoded: Vec<std::result::Result<Vec<u32>, String>> = group
            .iter()
            .map(|l| match l {
                Ok(l) => tok.encode(&l.text, false).map_err(|e| e.to_string()),
                Err(e) => Err(e.clone()),
            })
            .collect();
        let seqs: Vec<Vec<u32>> = encoded
            .iter()
            .filter_map(|e| e.as_ref().ok().cloned())
            .collect();
        // A failing batch is retried one text at a time, so one bad text costs only its own line.
        let scored = match tokens_logprobs(&model, &seqs) {
            Ok(s) => s.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(_) => seqs
                .iter()
                .map(|s| {
                    tokens_logprobs(&model, std::slice::from_ref(s))
                        .map_err(|e| e.to_string())
                        .and_then(|mut v| v.pop().ok_or_else(|| "no result".to_string()))
                })
                .collect(),
        };
        let mut scored = scored.into_iter();
        for e in encoded {
            let v = match e.and_then(|_| scored.next().unwrap_or_else(|| Err("no result".into()))) {
                Ok(s) => json!({"tokens": s.tokens, "logprobs": s.logprobs}),
                Err(msg) => json!({ "error": msg }),
            };
            write_line(&mut out, &v)?;
        }
        // Each batch's answers as soon as they are known.
        out.flush().context("writing stdout")?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct PromptLine {
    prompt: String,
    #[serde(default)]
    system: Option<String>,
    #[serde(default)]
    id: Option<Value>,
}

fn generate(args: GenerateArgs) -> Result<()> {
    let (model, tok) = load(&args.model)?;
    let template = match args.template.as_str() {
        "none" => None,
        "auto" => Some(ChatTemplate::detect(&tok)?),
        name => {
            let t: ChatTemplate = name.parse()?;
            t.check(&tok)?;
            Some(t)
        }
    };
    let mut eos_ids = model.eos_token_ids();
    if let Some(t) = template {
        eos_ids.push(t.eos_id(&tok)?);
    }
    let params = SamplingParams {
        max_new_tokens: args.max_new_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        top_k: args.top_k,
        n: args.n,
        seed: args.seed,
        stop: args.stop.clone(),
    };
    let generator = Generator {
        model: &model,
        tok: &tok,
        eos_ids,
        params,
    };
    // Prompts are read as they come, so their number is not known ahead.
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} prompts [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    };
    let mut input = stdin_batches(args.model.batch_size);
    let start = Instant::now();
    let mut tokens = 0usize;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut index = 0u64;
    loop {
        let group = input.next_batch::<PromptLine>().context("reading stdin")?;
        if group.is_empty() {
            break;
        }
        let encoded: Vec<std::result::Result<Vec<u32>, String>> = group
            .iter()
            .map(|l| {
                let l = l.as_ref().map_err(Clone::clone)?;
                let text = match template {
                    Some(t) => t.prompt(l.system.as_deref(), &l.prompt),
                    None => l.prompt.clone(),
                };
                match tok.encode(&text, false) {
                    Ok(ids) if ids.is_empty() => Err("the prompt encodes to no tokens".to_string()),
                    Ok(ids) => Ok(ids),
                    Err(e) => Err(e.to_string()),
                }
            })
            .collect();
        let prompts: Vec<Vec<u32>> = encoded
            .iter()
            .filter_map(|e| e.as_ref().ok().cloned())
            .collect();
        let first = index;
        index += group.len() as u64;
        let mut on_tokens = |k: usize| {
            tokens += k;
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{:.1} tokens/s", tokens as f64 / secs));
        };
        let mut completions = generator
            .generate(&prompts, first, &mut on_tokens)?
            .into_iter();
        for (line, e) in group.iter().zip(encoded) {
            let v = match e {
                Ok(_) => {
                    let comps: Vec<Completion> = completions.next().unwrap_or_default();
                    let mut v = json!({ "completions": comps });
                    if let Some(id) = line.as_ref().ok().and_then(|l| l.id.clone()) {
                        v["id"] = id;
                    }
                    v
                }
                Err(msg) => json!({ "error": msg }),
            };
            write_line(&mut out, &v)?;
            bar.inc(1);
        }
        out.flush().context("writing stdout")?;
    }
    bar.finish_and_clear();
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
