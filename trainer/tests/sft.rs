//! SFT end to end on tiny configs: shards written here with the curated schema,
//! a tiny model trained for a few steps (seconds).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use adamame_trainer::data::{
    check_schema, Batch, BatchSpec, CutoffPolicy, Example, Rendered, Renderer, SftData,
};
use adamame_trainer::logprobs::tokens_logprobs;
use adamame_trainer::model::{LoraConfig, Qwen, Trainable};
use adamame_trainer::sft::{self, Finetune, Observer, SftConfig, StepMetrics, TinyModel};
use adamame_trainer::tokenize::{ChatTemplate, Tok, PLAIN_SPECIAL_TOKENS};
use adamame_trainer::{checkpoint, Error};
use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use candle_core::{DType, Device};

fn examples(n: usize) -> Vec<Example> {
    let instr = [
        "Raisonnez étape par étape et mettez la réponse finale dans \\boxed{}.",
        "段階的に考えて、最終的な答えを \\boxed{} の中に入れてください。",
        "Por favor, justifique passo a passo.",
    ];
    (0..n)
        .map(|i| {
            let (a, b) = (i * 7 % 50 + 3, i * 13 % 40 + 2);
            Example {
                prompt: format!("{}\n\nCombien font {a} + {b} ?", instr[i % 3]),
                reasoning: format!("{a} + {b} = {}\nDonc la somme est {}.", a + b, a + b),
                answer: format!("La réponse est \\boxed{{{}}}.", a + b),
            }
        })
        .collect()
}

/// A column of `n` placeholder values of the given type (no nulls).
fn filler(field: &Field, n: usize) -> ArrayRef {
    match field.data_type() {
        DataType::Utf8 => Arc::new(StringArray::from(vec!["x"; n])),
        DataType::Int64 => Arc::new(Int64Array::from(vec![0i64; n])),
        DataType::Int32 => Arc::new(Int32Array::from(vec![0i32; n])),
        DataType::Boolean => Arc::new(BooleanArray::from(vec![true; n])),
        DataType::Float64 => Arc::new(Float64Array::from(vec![1.0; n])),
        DataType::List(item) => {
            let mut b = ListBuilder::new(StringBuilder::new()).with_field(item.clone());
            for _ in 0..n {
                b.append(true);
            }
            Arc::new(b.finish())
        }
        other => panic!("no filler for {other}"),
    }
}

/// Writes a shard with the curated schema (or `schema` when given).
fn write_shard(path: &Path, rows: &[Example], schema: Option<Arc<Schema>>) {
    let schema = schema.unwrap_or_else(adamame_schemas::curated_schema);
    let n = rows.len();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| {
            let pick = |g: fn(&Example) -> &str| -> ArrayRef {
                Arc::new(StringArray::from(rows.iter().map(g).collect::<Vec<_>>()))
            };
            match (f.name().as_str(), f.data_type()) {
                ("prompt", DataType::Utf8) => pick(|e| &e.prompt),
                ("reasoning", DataType::Utf8) => pick(|e| &e.reasoning),
                ("answer", DataType::Utf8) => pick(|e| &e.answer),
                _ => filler(f, n),
            }
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn data_dir(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_shard(
        &dir.path().join("data/train-00000-of-00001.parquet"),
        &examples(n),
        None,
    );
    dir
}

fn tiny_config(data: &Path, out: &Path) -> SftConfig {
    let mut cfg = SftConfig::new(data.to_path_buf(), out.to_path_buf());
    cfg.tiny = TinyModel {
        vocab_size: 300,
        hidden_size: 32,
        intermediate_size: 64,
        num_layers: 2,
        num_heads: 2,
        num_kv_heads: 1,
        tokenizer_rows: 1000,
    };
    cfg.batch_size = 4;
    cfg.window_rows = 16;
    cfg.cutoff = 96;
    cfg.max_steps = Some(6);
    cfg.lr = 3e-3;
    cfg.warmup_ratio = 0.2;
    cfg.adamw.weight_decay = 0.01;
    cfg
}

fn losses(metrics: &Path) -> Vec<(usize, f32)> {
    sft::read_curves(metrics).unwrap().0
}

fn tokenizer() -> Tok {
    let texts: Vec<String> = examples(30)
        .into_iter()
        .flat_map(|e| [e.prompt, e.reasoning, e.answer])
        .collect();
    Tok::train_bpe(texts.into_iter(), 300, &PLAIN_SPECIAL_TOKENS).unwrap()
}

#[test]
fn loss_mask_excludes_prompt_tokens() {
    let tok = tokenizer();
    let renderer = Renderer {
        tok: tok.clone(),
        template: ChatTemplate::Plain,
        cutoff: 10_000,
        policy: CutoffPolicy::Truncate,
    };
    let ex = &examples(2)[1];
    let prompt_ids = tok
        .encode(&ChatTemplate::Plain.prompt(None, &ex.prompt), false)
        .unwrap();
    let response_ids = tok
        .encode(
            &ChatTemplate::Plain.response(&ex.reasoning, &ex.answer),
            false,
        )
        .unwrap();
    // The <think> opener is on the prompt side, </think> and EOS on the response side.
    let think = tok.token_id("<think>").unwrap();
    assert_eq!(prompt_ids.iter().filter(|&&t| t == think).count(), 1);
    assert!(response_ids.contains(&tok.token_id("</think>").unwrap()));
    assert_eq!(
        *response_ids.last().unwrap(),
        tok.token_id("<|endoftext|>").unwrap()
    );
    let Rendered::Kept(enc) = renderer.render(ex).unwrap() else {
        panic!("not kept")
    };
    assert_eq!(enc.prompt_len, prompt_ids.len());
    assert_eq!(enc.ids.len(), prompt_ids.len() + response_ids.len());
    // A shorter example beside it: padding is masked too.
    let Rendered::Kept(short) = renderer.render(&examples(1)[0]).unwrap() else {
        panic!("not kept")
    };
    let batch = Batch::new(&[enc.clone(), short.clone()], 0);
    let row0: f32 = batch.loss_mask[..batch.len - 1].iter().sum();
    let row1: f32 = batch.loss_mask[batch.len - 1..].iter().sum();
    assert_eq!(row0 as usize, response_ids.len());
    assert_eq!(row1 as usize, short.ids.len() - short.prompt_len);
    assert_eq!(
        batch.loss_tokens,
        response_ids.len() + short.ids.len() - short.prompt_len
    );
    // Mask position i - 1 is the prediction of token i: the first counted one is the
    // first response token.
    let first = batch.loss_mask.iter().position(|&m| m == 1.0).unwrap();
    assert_eq!(first + 1, prompt_ids.len());
}

#[test]
fn cutoff_truncates_or_drops_and_counts() {
    let data = data_dir(24);
    let tok = tokenizer();
    let files = vec![data.path().join("data/train-00000-of-00001.parquet")];
    let lens: Vec<(usize, usize)> = examples(24)
        .iter()
        .map(|e| {
            let p = tok
                .encode(&ChatTemplate::Plain.prompt(None, &e.prompt), false)
                .unwrap()
                .len();
            let r = tok
                .encode(
                    &ChatTemplate::Plain.response(&e.reasoning, &e.answer),
                    false,
                )
                .unwrap()
                .len();
            (p, r)
        })
        .collect();
    // The cutoff at the longest prompt: those prompts leave no room for a response,
    // shorter examples fit whole, the others are cut.
    let cutoff = lens.iter().map(|l| l.0).max().unwrap();
    let over = lens.iter().filter(|(p, r)| p + r > cutoff).count();
    let prompt_full = lens.iter().filter(|(p, _)| *p >= cutoff).count();
    assert!(
        over < 24 && over > prompt_full && prompt_full > 0,
        "{over} {prompt_full}"
    );
    for policy in [CutoffPolicy::Truncate, CutoffPolicy::Drop] {
        let data = SftData {
            files: files.clone(),
            renderer: Renderer {
                tok: tok.clone(),
                template: ChatTemplate::Plain,
                cutoff,
                policy,
            },
            spec: BatchSpec {
                batch_size: 5,
                window_rows: 10,
                seed: 1,
                pad_id: 0,
                shuffle: true,
            },
        };
        let (stats, batches) = data.scan().unwrap();
        assert_eq!(stats.rows, 24);
        match policy {
            CutoffPolicy::Truncate => {
                assert_eq!(stats.truncated, over - prompt_full);
                assert_eq!(stats.dropped, prompt_full);
            }
            CutoffPolicy::Drop => {
                assert_eq!(stats.truncated, 0);
                assert_eq!(stats.dropped, over);
            }
        }
        assert_eq!(stats.kept, 24 - stats.dropped);
        let epoch: Vec<Batch> = data.epoch(0).map(Result::unwrap).collect();
        assert_eq!(epoch.len(), batches);
        assert_eq!(epoch.iter().map(|b| b.rows).sum::<usize>(), stats.kept);
        assert!(epoch.iter().all(|b| b.len <= cutoff));
        // The same seed and epoch give the same order, another epoch another one.
        let again: Vec<Batch> = data.epoch(0).map(Result::unwrap).collect();
        assert_eq!(epoch, again);
        let next: Vec<Batch> = data.epoch(1).map(Result::unwrap).collect();
        assert_ne!(epoch, next);
    }
}

#[test]
fn schema_mismatch_names_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let good = adamame_schemas::curated_schema();
    let fields: Vec<Field> = good
        .fields()
        .iter()
        .filter(|f| f.name() != "answer")
        .map(|f| {
            if f.name() == "reasoning" {
                Field::new("reasoning", DataType::Int64, false)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let path = dir.path().join("data/train-00000-of-00001.parquet");
    write_shard(&path, &examples(3), Some(Arc::new(Schema::new(fields))));
    let err = check_schema(&path).unwrap_err().to_string();
    assert!(err.contains("train-00000-of-00001.parquet"), "{err}");
    assert!(
        err.contains("`reasoning`") && err.contains("Int64"),
        "{err}"
    );
    assert!(err.contains("missing column `answer`"), "{err}");
    // And through the trainer, before any training.
    let out = tempfile::tempdir().unwrap();
    let err = sft::run(&tiny_config(dir.path(), out.path()), &mut sft::Silent).unwrap_err();
    assert!(matches!(err, Error::Schema { .. }), "{err}");
}

#[test]
fn nonsense_settings_are_refused_before_training() {
    let data = data_dir(4);
    let out = tempfile::tempdir().unwrap();
    let base = tiny_config(data.path(), out.path());
    // How to spoil a good config, and what the refusal says.
    type Case = (fn(&mut SftConfig), &'static str);
    let cases: Vec<Case> = vec![
        (|c| c.lr = f64::NAN, "--lr must be a positive number"),
        (|c| c.lr = 0.0, "--lr must be a positive number"),
        (|c| c.warmup_ratio = 2.0, "--warmup-ratio must be a share"),
        (
            |c| c.adamw.weight_decay = -0.1,
            "--weight-decay must be 0 or more",
        ),
        (
            |c| c.max_grad_norm = f64::INFINITY,
            "--max-grad-norm must be 0",
        ),
        (
            |c| {
                c.finetune = Finetune::Lora(LoraConfig {
                    rank: 0,
                    dropout: 1.5,
                    ..LoraConfig::default()
                })
            },
            "--lora-rank and --lora-alpha must be positive; --lora-dropout must be",
        ),
    ];
    for (spoil, says) in cases {
        let mut cfg = base.clone();
        spoil(&mut cfg);
        let err = sft::run(&cfg, &mut sft::Silent).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        assert!(err.to_string().contains(says), "{err}");
        // Refused before anything was written.
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    }
}

/// Stops the run after `at` steps, as a kill after a checkpoint would.
struct StopAfter(usize);
impl Observer for StopAfter {
    fn step(&mut self, m: &StepMetrics) -> ControlFlow<()> {
        if m.step >= self.0 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

#[test]
fn resumed_run_repeats_the_uninterrupted_trajectory() {
    let data = data_dir(40);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut cfg = tiny_config(data.path(), a.path());
    cfg.max_steps = Some(8);
    cfg.save_every = 3;
    let full = sft::run(&cfg, &mut sft::Silent).unwrap();
    assert!(full.completed);
    let reference = losses(&full.metrics);
    assert_eq!(reference.len(), 8);
    assert!(reference.iter().all(|l| l.1.is_finite()));

    cfg.out_dir = b.path().to_path_buf();
    // Step 4 is done but not saved: the resumed run must replay it from checkpoint-3.
    let stopped = sft::run(&cfg, &mut StopAfter(4)).unwrap();
    assert!(!stopped.completed && stopped.final_dir.is_none());
    assert_eq!(stopped.last_checkpoint, Some(b.path().join("checkpoint-3")));
    assert_eq!(losses(&stopped.metrics).len(), 4);
    // Without --resume the earlier run is not silently overwritten.
    let err = sft::run(&cfg, &mut sft::Silent).unwrap_err().to_string();
    assert!(err.contains("--resume"), "{err}");
    cfg.resume = true;
    let resumed = sft::run(&cfg, &mut sft::Silent).unwrap();
    assert!(resumed.completed);
    assert_eq!(losses(&resumed.metrics), reference);
    // The final weights are identical too.
    let wa = std::fs::read(a.path().join("final/model.safetensors")).unwrap();
    let wb = std::fs::read(b.path().join("final/model.safetensors")).unwrap();
    assert!(wa == wb, "final weights differ");
}

#[test]
fn nan_loss_stops_and_keeps_the_last_checkpoint() {
    let data = data_dir(24);
    let out = tempfile::tempdir().unwrap();
    let mut cfg = tiny_config(data.path(), out.path());
    cfg.save_every = 2;
    cfg.inject_nan_at_step = Some(5);
    let err = sft::run(&cfg, &mut sft::Silent).unwrap_err();
    let Error::NonFiniteLoss {
        step,
        last_checkpoint,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*step, 5);
    let ckpt = out.path().join("checkpoint-4");
    assert_eq!(last_checkpoint.as_deref(), Some(ckpt.as_path()));
    assert!(err.to_string().contains("checkpoint-4"), "{err}");
    assert_eq!(checkpoint::latest(out.path()).unwrap(), Some(ckpt.clone()));
    assert_eq!(checkpoint::load_state(&ckpt).unwrap().step, 4);
    assert!(Qwen::load(&ckpt, DType::F32, &Device::Cpu, Trainable::Frozen).is_ok());
    assert!(!out.path().join("final").exists());
    assert_eq!(losses(&out.path().join("metrics.jsonl")).len(), 4);
}

/// LoRA on a saved base model: final/ (merged, scale alpha / rank) gives the
/// log-probs of the unmerged base + adapter of the last checkpoint.
#[test]
fn final_model_matches_the_trained_lora_model() {
    let data = data_dir(24);
    let base_dir = tempfile::tempdir().unwrap();
    // A base model: a few steps of the tiny model.
    let mut cfg = tiny_config(data.path(), base_dir.path());
    cfg.max_steps = Some(2);
    let base = sft::run(&cfg, &mut sft::Silent).unwrap().final_dir.unwrap();

    let out = tempfile::tempdir().unwrap();
    let mut cfg = tiny_config(data.path(), out.path());
    cfg.model_dir = Some(base.clone());
    cfg.finetune = Finetune::Lora(LoraConfig {
        rank: 4,
        alpha: 8.0,
        ..LoraConfig::default()
    });
    cfg.lr = 1e-2;
    cfg.max_steps = Some(4);
    cfg.save_every = 4;
    let summary = sft::run(&cfg, &mut sft::Silent).unwrap();
    let final_dir: PathBuf = summary.final_dir.unwrap();
    assert!(out
        .path()
        .join("checkpoint-4/adapter/adapter_config.json")
        .is_file());
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "generation_config.json",
    ] {
        assert!(final_dir.join(f).is_file(), "final/ lacks {f}");
    }

    let dev = Device::Cpu;
    let mut trained = Qwen::load(&base, DType::F32, &dev, Trainable::Frozen).unwrap();
    trained
        .load_lora(&out.path().join("checkpoint-4/adapter"))
        .unwrap();
    let merged = Qwen::load(&final_dir, DType::F32, &dev, Trainable::Frozen).unwrap();
    let untouched = Qwen::load(&base, DType::F32, &dev, Trainable::Frozen).unwrap();
    let tok = Tok::from_dir(&final_dir).unwrap();
    let e = &examples(3)[2];
    let text = ChatTemplate::Plain.prompt(None, &e.prompt)
        + &ChatTemplate::Plain.response(&e.reasoning, &e.answer);
    let ids = vec![tok.encode(&text, false).unwrap()];
    let a = &tokens_logprobs(&trained, &ids).unwrap()[0].logprobs;
    let b = &tokens_logprobs(&merged, &ids).unwrap()[0].logprobs;
    let c = &tokens_logprobs(&untouched, &ids).unwrap()[0].logprobs;
    let max_diff = |x: &[f32], y: &[f32]| {
        x.iter()
            .zip(y)
            .map(|(p, q)| (p - q).abs())
            .fold(0f32, f32::max)
    };
    assert!(
        max_diff(a, b) < 1e-4,
        "merged differs by {}",
        max_diff(a, b)
    );
    // Training changed the model (so the comparison above can fail).
    assert!(max_diff(a, c) > 1e-3, "LoRA changed nothing");
}

/// The binary killed after its first checkpoint, then `--resume`d, writes the
/// loss trajectory of an uninterrupted run.
#[test]
fn killed_cli_run_resumes_exactly() {
    let data = data_dir(40);
    let bin = env!("CARGO_BIN_EXE_adamame-train");
    let run = |out: &Path, extra: &[&str]| {
        let mut cmd = std::process::Command::new(bin);
        cmd.args(["sft", "--quiet", "--batch-size", "4", "--max-steps", "30"])
            .args(["--save-every", "2", "--cutoff", "96", "--data"])
            .arg(data.path())
            .arg("--out")
            .arg(out)
            .args(extra);
        cmd
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert!(run(a.path(), &[]).status().unwrap().success());
    let reference = losses(&a.path().join("metrics.jsonl"));
    assert_eq!(reference.len(), 30);

    let mut child = run(b.path(), &[]).spawn().unwrap();
    let start = std::time::Instant::now();
    while checkpoint::latest(b.path()).unwrap().is_none() {
        assert!(start.elapsed().as_secs() < 60, "no checkpoint appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !b.path().join("final").exists(),
        "the run finished before the kill"
    );
    let out = run(b.path(), &["--resume"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(losses(&b.path().join("metrics.jsonl")), reference);
}
