//! Throughput of the model layer on a ~8.4M-parameter Qwen2 config (the one of
//! docs/DESIGN.md): training steps (forward + backward + AdamW, full fine-tuning,
//! f32) and KV-cache generation. Prints one JSON line; trainer/examples/bench_model.sh
//! runs it beside the PyTorch + transformers twin (bench_model_torch.py).
//!
//!     cargo run --release -p adamame-trainer --example bench_model -- [batch] [seq] [steps]

use std::time::Instant;

use adamame_trainer::generate::{Generator, SamplingParams};
use adamame_trainer::logprobs::{chunk_rows_for, masked_nll};
use adamame_trainer::model::{Config, Qwen};
use adamame_trainer::optim::{AdamW, AdamWConfig};
use adamame_trainer::tokenize::{Tok, PLAIN_SPECIAL_TOKENS};
use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const BENCH_CONFIG: &str = r#"{
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "vocab_size": 8192, "hidden_size": 256, "intermediate_size": 768,
  "num_hidden_layers": 8, "num_attention_heads": 8, "num_key_value_heads": 4,
  "max_position_embeddings": 2048, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
  "tie_word_embeddings": true, "use_sliding_window": false
}"#;

#[global_allocator]
static ALLOC: adamame_trainer::runtime::ReusingAlloc =
    adamame_trainer::runtime::ReusingAlloc::new();

fn main() {
    adamame_trainer::runtime::keep_freed_memory();
    adamame_trainer::runtime::calm_candle_pool();
    if let Err(e) = run() {
        eprintln!("bench_model: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (batch, seq, steps) = (
        args.first().copied().unwrap_or(8),
        args.get(1).copied().unwrap_or(512),
        args.get(2).copied().unwrap_or(3),
    );
    let dev = Device::Cpu;
    let cfg = Config::from_json_str(BENCH_CONFIG)?;
    let mut model = Qwen::new_random(cfg, DType::F32, &dev, 0)?;
    model.make_fully_trainable()?;
    let params: usize = model.trainable_vars().iter().map(|v| v.elem_count()).sum();
    // The optimizer `adamame-train sft` uses; decay 0.01 as torch.optim.AdamW's default.
    let vars = model.named_trainable_vars();
    let var_list: Vec<_> = vars.iter().map(|(_, v)| v.clone()).collect();
    let mut opt = AdamW::new(
        vars,
        AdamWConfig {
            weight_decay: 0.01,
            ..Default::default()
        },
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let ids: Vec<u32> = (0..batch * seq)
        .map(|_| rng.random_range(0..8192))
        .collect();
    let ids = Tensor::from_vec(ids, (batch, seq), &dev)?;
    let mask = Tensor::ones((batch, seq - 1), DType::F32, &dev)?;
    // As `adamame-train sft` does: the step runs on candle's thread pool.
    let mut step = || {
        dev.with_context(|| -> candle_core::Result<f32> {
            let (loss, _) = masked_nll(&model, &ids, &mask, chunk_rows_for(model.vocab_size()))
                .map_err(candle_core::Error::wrap)?;
            let store = loss.backward()?;
            let grads: Vec<_> = var_list
                .iter()
                .map(|v| store.get(v.as_tensor()).cloned())
                .collect();
            opt.step(&grads, 1e-4).map_err(candle_core::Error::wrap)?;
            loss.to_scalar::<f32>()
        })
    };
    if steps > 0 {
        step()?; // warm-up; `steps` 0 skips training (to profile generation alone)
    }
    let t0 = Instant::now();
    for _ in 0..steps {
        step()?;
    }
    let train_s = t0.elapsed().as_secs_f64();
    let train_tps = (batch * seq * steps) as f64 / train_s.max(1e-9);

    // Generation with random weights: no EOS, so every row runs to max_new_tokens.
    let texts = (0..50).map(|i| format!("sample text {i} for a tokenizer"));
    let tok = Tok::train_bpe(texts, 300, &PLAIN_SPECIAL_TOKENS)?;
    let prompt: Vec<u32> = (0..16).map(|i| (i * 31 % 8000) as u32 + 1).collect();
    let new = 128;
    let mut gen_tps = Vec::new();
    for (rows, temperature) in [(1usize, 0.0f32), (8, 1.0)] {
        let gen = Generator {
            model: &model,
            tok: &tok,
            eos_ids: vec![],
            params: SamplingParams {
                max_new_tokens: new,
                temperature,
                top_p: 1.0,
                top_k: 0,
                n: 1,
                seed: 0,
                stop: vec![],
            },
        };
        let prompts = vec![prompt.clone(); rows];
        let t0 = Instant::now();
        let mut produced = 0;
        gen.generate(&prompts, 0, &mut |k| produced += k)?;
        gen_tps.push(produced as f64 / t0.elapsed().as_secs_f64());
    }
    println!(
        "{{\"impl\": \"adamame (candle)\", \"params\": {params}, \"batch\": {batch}, \"seq\": {seq}, \"steps\": {steps}, \
         \"train_tokens_per_s\": {train_tps:.1}, \"greedy_b1_tokens_per_s\": {:.1}, \"sampled_b8_tokens_per_s\": {:.1}}}",
        gen_tps[0], gen_tps[1]
    );
    Ok(())
}
