//! `adamame-train sft`: flags → [`SftConfig`], a progress bar, a closing summary.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use adamame_trainer::model::LoraConfig;
use adamame_trainer::sft::{self, Finetune, Observer, RunInfo, SftConfig, StepMetrics};
use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Args)]
pub struct SftArgs {
    /// Folder written by `adamame-data build` (data/train-*.parquet, optional data/validation-*.parquet).
    #[arg(long, default_value = "adamame-out")]
    data: PathBuf,
    /// Hugging Face checkpoint to fine-tune; without it a tiny Qwen2 model (about 1.1M
    /// parameters) and a byte-level BPE tokenizer are trained from scratch.
    #[arg(long)]
    model: Option<PathBuf>,
    #[arg(long, default_value = "adamame-runs/sft")]
    out: PathBuf,
    /// auto (from the tokenizer), r1-distill, qwen3 or plain.
    #[arg(long, default_value = "auto")]
    template: String,
    /// paper: LoRA (r 32, alpha 64) on all linear layers, lr 2e-4, cosine, warmup 0.1,
    /// 4 epochs, cutoff 8192, batch 1 x grad-accum 8. Flags given explicitly win.
    #[arg(long)]
    preset: Option<String>,
    /// lora or full (default: full for the tiny model, lora with --model).
    #[arg(long)]
    finetune: Option<String>,
    #[arg(long)]
    lora_rank: Option<usize>,
    #[arg(long)]
    lora_alpha: Option<f64>,
    #[arg(long)]
    lora_dropout: Option<f32>,
    /// Optimizer steps; overrides --epochs.
    #[arg(long)]
    max_steps: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    /// Peak learning rate (default 3e-3 for the tiny model, 2e-4 with --model).
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long)]
    warmup_ratio: Option<f64>,
    /// AdamW's decoupled weight decay on matrices.
    #[arg(long)]
    weight_decay: Option<f64>,
    #[arg(long)]
    grad_accum: Option<usize>,
    /// Rows per forward pass (effective batch = batch size x grad accum).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Tokens per example (prompt + response).
    #[arg(long)]
    cutoff: Option<usize>,
    /// truncate (the response's tail) or drop, for examples over the cutoff.
    #[arg(long, default_value = "truncate")]
    cutoff_policy: String,
    /// Global gradient-norm clip (0: none).
    #[arg(long, default_value_t = 1.0)]
    max_grad_norm: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write checkpoint-{step}/ every N steps (0: never).
    #[arg(long, default_value_t = 0)]
    save_every: usize,
    /// Evaluate on the validation shards every N steps (0: at the end only).
    #[arg(long, default_value_t = 0)]
    eval_every: usize,
    /// Continue from the latest checkpoint in --out.
    #[arg(long)]
    resume: bool,
    /// Start again in an --out that holds an earlier run's checkpoints (they are removed).
    #[arg(long)]
    overwrite: bool,
    /// No progress bar and no summary.
    #[arg(long)]
    quiet: bool,
}

/// The paper's stage-1 settings (see shared/docs/ADAMAME.md).
fn apply_paper_preset(cfg: &mut SftConfig) {
    cfg.finetune = Finetune::Lora(LoraConfig {
        rank: 32,
        alpha: 64.0,
        ..LoraConfig::default()
    });
    cfg.lr = 2e-4;
    cfg.warmup_ratio = 0.1;
    cfg.epochs = 4;
    cfg.cutoff = 8192;
    cfg.batch_size = 1;
    cfg.grad_accum = 8;
}

fn config(a: &SftArgs) -> Result<SftConfig> {
    let mut cfg = SftConfig::new(a.data.clone(), a.out.clone());
    cfg.model_dir = a.model.clone();
    if cfg.model_dir.is_some() {
        cfg.finetune = Finetune::Lora(LoraConfig::default());
        cfg.lr = 2e-4;
        cfg.warmup_ratio = 0.1;
    }
    match a.preset.as_deref() {
        None => {}
        Some("paper") => apply_paper_preset(&mut cfg),
        Some(other) => bail!("unknown --preset {other:?} (paper)"),
    }
    match a.finetune.as_deref() {
        None => {}
        Some("full") => cfg.finetune = Finetune::Full,
        Some("lora") if !matches!(cfg.finetune, Finetune::Lora(_)) => {
            cfg.finetune = Finetune::Lora(LoraConfig::default())
        }
        Some("lora") => {}
        Some(other) => bail!("unknown --finetune {other:?} (lora, full)"),
    }
    if let Finetune::Lora(l) = &mut cfg.finetune {
        l.rank = a.lora_rank.unwrap_or(l.rank);
        l.alpha = a.lora_alpha.unwrap_or(l.alpha);
        l.dropout = a.lora_dropout.unwrap_or(l.dropout);
        l.seed = a.seed;
    }
    cfg.template = match a.template.as_str() {
        "auto" => None,
        name => Some(name.parse()?),
    };
    cfg.max_steps = a.max_steps.or(cfg.max_steps);
    cfg.epochs = a.epochs.unwrap_or(cfg.epochs);
    cfg.lr = a.lr.unwrap_or(cfg.lr);
    cfg.warmup_ratio = a.warmup_ratio.unwrap_or(cfg.warmup_ratio);
    cfg.adamw.weight_decay = a.weight_decay.unwrap_or(cfg.adamw.weight_decay);
    cfg.grad_accum = a.grad_accum.unwrap_or(cfg.grad_accum);
    cfg.batch_size = a.batch_size.unwrap_or(cfg.batch_size);
    cfg.cutoff = a.cutoff.unwrap_or(cfg.cutoff);
    cfg.cutoff_policy = a.cutoff_policy.parse()?;
    cfg.max_grad_norm = a.max_grad_norm;
    cfg.seed = a.seed;
    cfg.save_every = a.save_every;
    cfg.eval_every = a.eval_every;
    cfg.resume = a.resume;
    cfg.overwrite = a.overwrite;
    Ok(cfg)
}

/// Progress bar with loss, lr and tokens/s, on stderr.
struct Bar {
    bar: ProgressBar,
    quiet: bool,
    started: Instant,
}

impl Observer for Bar {
    fn start(&mut self, info: &RunInfo) {
        if self.quiet {
            return;
        }
        let d = &info.data;
        eprintln!(
            "data: {} rows, {} train ({} truncated, {} dropped at the cutoff), {} tokens ({} in the loss), {} batches/epoch",
            d.rows, d.kept, d.truncated, d.dropped, d.tokens, d.loss_tokens, info.batches_per_epoch
        );
        if let Some(v) = &info.validation {
            eprintln!("validation: {} rows, {} kept", v.rows, v.kept);
        }
        eprintln!(
            "model: {:.2}M parameters, {:.2}M trainable; template {}; {} steps ({} warmup){}",
            info.params as f64 / 1e6,
            info.trainable_params as f64 / 1e6,
            info.template,
            info.total_steps,
            info.warmup_steps,
            info.resumed_from
                .as_ref()
                .map(|p| format!(", resumed from {}", p.display()))
                .unwrap_or_default()
        );
        self.bar = ProgressBar::with_draw_target(
            Some(info.total_steps as u64),
            ProgressDrawTarget::stderr(),
        );
        self.bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} steps [{elapsed_precise}<{eta_precise}] {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        self.bar.set_position(info.start_step as u64);
    }

    fn step(&mut self, m: &StepMetrics) -> ControlFlow<()> {
        let secs = self.started.elapsed().as_secs_f64();
        self.bar.set_position(m.step as u64);
        let eval = m
            .eval_loss
            .map(|l| format!(" eval {l:.4}"))
            .unwrap_or_default();
        self.bar.set_message(format!(
            "loss {:.4}{eval} lr {:.2e} {:.0} tok/s ({:.0}s)",
            m.loss, m.lr, m.tokens_per_s, secs
        ));
        ControlFlow::Continue(())
    }

    fn checkpoint(&mut self, path: &Path) {
        if !self.quiet {
            self.bar.println(format!("saved {}", path.display()));
        }
    }
}

pub fn sft(args: SftArgs) -> Result<()> {
    let cfg = config(&args)?;
    let mut bar = Bar {
        bar: ProgressBar::hidden(),
        quiet: args.quiet,
        started: Instant::now(),
    };
    let result = sft::run(&cfg, &mut bar);
    bar.bar.finish_and_clear();
    let summary = result.with_context(|| format!("sft into {}", cfg.out_dir.display()))?;
    if args.quiet {
        return Ok(());
    }
    let (curve, _) = sft::read_curves(&summary.metrics)?;
    let mean = |pts: &[(usize, f32)]| {
        pts.iter().map(|p| p.1 as f64).sum::<f64>() / pts.len().max(1) as f64
    };
    let k = curve.len().min(10);
    eprintln!(
        "{} steps in {:.0}s; mean loss of the first {k} logged steps {:.4}, of the last {k} {:.4}",
        summary.steps,
        summary.seconds,
        mean(&curve[..k]),
        mean(&curve[curve.len() - k..])
    );
    eprintln!("metrics: {}", summary.metrics.display());
    if let Some(p) = &summary.plot {
        eprintln!("loss curve: {}", p.display());
    }
    if let Some(f) = &summary.final_dir {
        eprintln!(
            "model: {}\ntry: echo '{{\"prompt\": \"Combien font 48 + 24 ?\"}}' | adamame-train generate --model {} --temperature 0",
            f.display(),
            f.display()
        );
    }
    Ok(())
}
