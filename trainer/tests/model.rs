//! The model layer against transformers' reference log-probabilities, and the
//! properties training relies on: gradients reach exactly the trainable tensors,
//! merging keeps the function, the cache keeps generation exact.

mod common;

use std::path::PathBuf;

use adamame_trainer::generate::{Generator, SamplingParams};
use adamame_trainer::logprobs::{masked_nll, sequence_logprobs, text_logprobs, tokens_logprobs};
use adamame_trainer::model::weights::load_checkpoint;
use adamame_trainer::model::{Config, LoraConfig, Qwen, Trainable};
use adamame_trainer::tokenize::Tok;
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use serde::Deserialize;

fn fixture(name: &str) -> PathBuf {
    common::manifest_dir().join("tests/fixtures").join(name)
}

fn load(name: &str) -> Qwen {
    Qwen::load(&fixture(name), DType::F32, &Device::Cpu, Trainable::Frozen).unwrap()
}

#[derive(Deserialize)]
struct Reference {
    texts: Vec<RefText>,
}
#[derive(Deserialize)]
struct RefText {
    text: String,
    tokens: Vec<u32>,
    logprobs: Vec<f64>,
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

fn check_parity(name: &str) {
    check_parity_with(name, &load(name), "reference.json");
}

/// The fixture's weights under its config with the overrides recorded in `file`.
fn load_with_overrides(name: &str, file: &str) -> Qwen {
    let refs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(name).join(file)).unwrap()).unwrap();
    let mut raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(name).join("config.json")).unwrap())
            .unwrap();
    for (k, v) in refs["config_overrides"].as_object().unwrap() {
        raw[k] = v.clone();
    }
    raw.as_object_mut().unwrap().remove("layer_types");
    let cfg = Config::from_json_str(&raw.to_string()).unwrap();
    let tensors = load_checkpoint(&fixture(name), DType::F32, &Device::Cpu).unwrap();
    Qwen::from_tensors(cfg, tensors, DType::F32, &Device::Cpu).unwrap()
}

#[test]
fn qwen2_sliding_window_logprobs_match_transformers() {
    let model = load_with_overrides("qwen2-tiny", "reference_sliding.json");
    check_parity_with("qwen2-tiny", &model, "reference_sliding.json");
}

#[test]
fn sliding_window_greedy_with_cache_equals_recomputing() {
    let model = load_with_overrides("qwen2-tiny", "reference_sliding.json");
    let tok = Tok::from_dir(&fixture("qwen2-tiny")).unwrap();
    let prompts: Vec<Vec<u32>> = ["Natalia a vendu 48 trombones", "Jibu"]
        .iter()
        .map(|t| tok.encode(t, false).unwrap())
        .collect();
    let gen = Generator {
        model: &model,
        tok: &tok,
        eos_ids: Vec::new(),
        params: SamplingParams::greedy(12),
    };
    let out = gen.generate(&prompts, 0, &mut |_| {}).unwrap();
    for (p, o) in prompts.iter().zip(&out) {
        assert_eq!(o[0].tokens, greedy_without_cache(&model, p, 12));
    }
}

fn check_parity_with(name: &str, model: &Qwen, file: &str) {
    let tok = Tok::from_dir(&fixture(name)).unwrap();
    let reference: Reference =
        serde_json::from_str(&std::fs::read_to_string(fixture(name).join(file)).unwrap()).unwrap();
    assert!(reference.texts.len() >= 8);
    let texts: Vec<&str> = reference.texts.iter().map(|r| r.text.as_str()).collect();
    // Batched (right-padded) and one at a time must both match.
    let mut worst_seen = 0f64;
    for batch in [1, texts.len()] {
        let ours = text_logprobs(model, &tok, &texts, batch).unwrap();
        for (r, o) in reference.texts.iter().zip(&ours) {
            assert_eq!(o.tokens, r.tokens, "tokenization of {:?}", r.text);
            assert_eq!(o.logprobs.len(), r.logprobs.len());
            let worst = o
                .logprobs
                .iter()
                .zip(&r.logprobs)
                .map(|(a, b)| (*a as f64 - b).abs())
                .fold(0.0, f64::max);
            assert!(
                worst <= 1e-4,
                "{name} batch {batch}: max |diff| {worst} on {:?}",
                r.text
            );
            worst_seen = worst_seen.max(worst);
        }
    }
    eprintln!("{name} {file}: max |log p - log p_transformers| = {worst_seen:.2e}");
}

#[test]
fn qwen2_logprobs_match_transformers() {
    check_parity("qwen2-tiny");
}

#[test]
fn qwen3_logprobs_match_transformers() {
    check_parity("qwen3-tiny");
}

/// A right-padded batch of two token rows and its loss mask (1 on the "response").
fn batch(model: &Qwen) -> (Tensor, Tensor) {
    let ids: Vec<u32> = (0..2 * 12).map(|i| (i * 37 % 300) as u32 + 5).collect();
    let ids = Tensor::from_vec(ids, (2, 12), model.device()).unwrap();
    let mut mask = vec![0f32; 2 * 11];
    for (i, m) in mask.iter_mut().enumerate() {
        *m = if i % 11 >= 4 { 1.0 } else { 0.0 };
    }
    (
        ids,
        Tensor::from_vec(mask, (2, 11), model.device()).unwrap(),
    )
}

/// Makes B non-zero so that A receives a gradient too (B = 0 at initialization).
fn perturb_b(model: &Qwen) {
    for (name, var) in model.named_trainable_vars() {
        if name.contains("lora_B") {
            let r = Tensor::randn(0f32, 0.05, var.shape(), &Device::Cpu).unwrap();
            var.set(&r).unwrap();
        }
    }
}

#[test]
fn every_lora_tensor_gets_a_gradient_and_base_weights_none() {
    for name in ["qwen2-tiny", "qwen3-tiny"] {
        let mut model = load(name);
        let cfg = LoraConfig {
            rank: 4,
            alpha: 8.0,
            dropout: 0.1,
            ..Default::default()
        };
        model.add_lora(&cfg).unwrap();
        model.set_training(true);
        let vars = model.named_trainable_vars();
        assert_eq!(
            vars.len(),
            2 * 7 * model.num_layers(),
            "A and B of every linear layer"
        );
        perturb_b(&model);
        let (ids, mask) = batch(&model);
        let (loss, count) = masked_nll(&model, &ids, &mask, 5).unwrap();
        assert_eq!(count, 14.0);
        let grads = loss.backward().unwrap();
        for (vname, var) in &vars {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{name}: no gradient for {vname}"));
            let norm = g
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(
                norm > 0.0 && norm.is_finite(),
                "{name}: zero gradient for {vname}"
            );
        }
        for (wname, w) in model.named_tensors(false).unwrap() {
            assert!(
                grads.get(&w).is_none(),
                "{name}: frozen {wname} got a gradient"
            );
        }
    }
}

#[test]
fn full_fine_tuning_reaches_every_weight() {
    let model = Qwen::load(
        &fixture("qwen3-tiny"),
        DType::F32,
        &Device::Cpu,
        Trainable::Full,
    )
    .unwrap();
    let vars = model.named_trainable_vars();
    assert_eq!(vars.len(), model.named_tensors(false).unwrap().len());
    let (ids, mask) = batch(&model);
    let (loss, _) = masked_nll(&model, &ids, &mask, 7).unwrap();
    let grads = loss.backward().unwrap();
    for (vname, var) in &vars {
        let g = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {vname}"));
        let norm = g
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(norm > 0.0, "zero gradient for {vname}");
    }
}

#[test]
fn chunked_logprobs_equal_full_log_softmax() {
    let model = load("qwen2-tiny");
    let (ids, _) = batch(&model);
    let chunked = sequence_logprobs(&model, &ids, 3).unwrap();
    let logits = model.forward(&ids).unwrap();
    let full = candle_nn::ops::log_softmax(&logits, 2).unwrap();
    let targets = ids
        .narrow(1, 1, 11)
        .unwrap()
        .contiguous()
        .unwrap()
        .unsqueeze(2)
        .unwrap();
    let picked = full
        .narrow(1, 0, 11)
        .unwrap()
        .contiguous()
        .unwrap()
        .gather(&targets, 2)
        .unwrap()
        .squeeze(2)
        .unwrap();
    assert!(max_abs_diff(&chunked, &picked) < 1e-5);
}

#[test]
fn merged_logits_equal_base_plus_adapter_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["qwen2-tiny", "qwen3-tiny"] {
        let mut model = load(name);
        let base_logits = model.forward(&batch(&model).0).unwrap();
        model
            .add_lora(&LoraConfig {
                rank: 4,
                alpha: 32.0,
                ..Default::default()
            })
            .unwrap();
        perturb_b(&model);
        let (ids, _) = batch(&model);
        let adapted = model.forward(&ids).unwrap();
        assert!(
            max_abs_diff(&adapted, &base_logits) > 1e-2,
            "the adapter changes the model"
        );

        // PEFT layout round trip onto a fresh base.
        let adapter_dir = dir.path().join(format!("{name}-adapter"));
        model.save_lora(&adapter_dir).unwrap();
        let mut reloaded = load(name);
        reloaded.load_lora(&adapter_dir).unwrap();
        assert!(max_abs_diff(&reloaded.forward(&ids).unwrap(), &adapted) < 1e-6);

        // Saving writes the merged model (with the alpha / rank scale), which loads without adapters.
        let merged_dir = dir.path().join(format!("{name}-merged"));
        model.save_pretrained(&merged_dir).unwrap();
        let merged = Qwen::load(&merged_dir, DType::F32, &Device::Cpu, Trainable::Frozen).unwrap();
        assert!(max_abs_diff(&merged.forward(&ids).unwrap(), &adapted) < 1e-4);
        assert!(merged_dir.join("tokenizer.json").is_file());

        model.merge_lora().unwrap();
        assert!(model.trainable_vars().is_empty());
        assert!(max_abs_diff(&model.forward(&ids).unwrap(), &adapted) < 1e-4);
    }
}

#[test]
fn sharded_checkpoints_load_like_single_files() {
    let dir = tempfile::tempdir().unwrap();
    let model = load("qwen3-tiny");
    model.save_pretrained_sharded(dir.path(), 20_000).unwrap();
    assert!(dir.path().join("model.safetensors.index.json").is_file());
    assert!(!dir.path().join("model.safetensors").exists());
    let again = Qwen::load(dir.path(), DType::F32, &Device::Cpu, Trainable::Frozen).unwrap();
    let (ids, _) = batch(&model);
    assert_eq!(
        max_abs_diff(&again.forward(&ids).unwrap(), &model.forward(&ids).unwrap()),
        0.0
    );
}

#[test]
fn missing_weight_pickle_and_unknown_architecture_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = load("qwen2-tiny");
    let tensors: Vec<(String, Tensor)> = model
        .named_tensors(false)
        .unwrap()
        .into_iter()
        .filter(|(n, _)| n != "model.layers.1.mlp.up_proj.weight")
        .collect();
    adamame_trainer::model::weights::write_safetensors(
        &dir.path().join("model.safetensors"),
        &tensors,
    )
    .unwrap();
    std::fs::copy(
        fixture("qwen2-tiny").join("config.json"),
        dir.path().join("config.json"),
    )
    .unwrap();
    let err = Qwen::load(dir.path(), DType::F32, &Device::Cpu, Trainable::Frozen)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("model.layers.1.mlp.up_proj.weight"),
        "{err}"
    );

    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    std::fs::write(dir.path().join("pytorch_model.bin"), b"not really").unwrap();
    let err = Qwen::load(dir.path(), DType::F32, &Device::Cpu, Trainable::Frozen)
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("pytorch_model.bin") && err.to_string().contains("safetensors"),
        "{err}"
    );

    let cfg = std::fs::read_to_string(fixture("qwen2-tiny").join("config.json")).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        cfg.replace("Qwen2ForCausalLM", "MistralForCausalLM"),
    )
    .unwrap();
    let err = Qwen::load(dir.path(), DType::F32, &Device::Cpu, Trainable::Frozen)
        .err()
        .unwrap();
    assert!(err.to_string().contains("MistralForCausalLM"), "{err}");
}

/// Greedy decoding by recomputing the whole prefix at every step, without a cache.
fn greedy_without_cache(model: &Qwen, prompt: &[u32], steps: usize) -> Vec<u32> {
    let mut seq = prompt.to_vec();
    for _ in 0..steps {
        let ids = Tensor::new(seq.as_slice(), &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let logits = model.forward(&ids).unwrap().squeeze(0).unwrap();
        let last = logits.get(seq.len() - 1).unwrap();
        seq.push(last.argmax(0).unwrap().to_scalar::<u32>().unwrap());
    }
    seq[prompt.len()..].to_vec()
}

#[test]
fn greedy_with_cache_equals_recomputing_the_prefix_also_in_a_padded_batch() {
    for name in ["qwen2-tiny", "qwen3-tiny"] {
        let model = load(name);
        let tok = Tok::from_dir(&fixture(name)).unwrap();
        let prompts: Vec<Vec<u32>> = [
            "The answer is",
            "Natalia a vendu 48 trombones en avril et",
            "娜塔",
        ]
        .iter()
        .map(|t| tok.encode(t, false).unwrap())
        .collect();
        let gen = Generator {
            model: &model,
            tok: &tok,
            eos_ids: Vec::new(),
            params: SamplingParams::greedy(12),
        };
        let batched = gen.generate(&prompts, 0, &mut |_| {}).unwrap();
        for (p, out) in prompts.iter().zip(&batched) {
            let expected = greedy_without_cache(&model, p, 12);
            assert_eq!(out[0].tokens, expected, "{name}: prompt {p:?}");
            let alone = gen
                .generate(std::slice::from_ref(p), 0, &mut |_| {})
                .unwrap();
            assert_eq!(alone[0][0].tokens, expected);
        }
    }
}

#[test]
fn seeded_sampling_is_reproducible_and_independent_of_batching() {
    let model = load("qwen3-tiny");
    let tok = Tok::from_dir(&fixture("qwen3-tiny")).unwrap();
    let prompts: Vec<Vec<u32>> = ["Jibu ni", "The answer"]
        .iter()
        .map(|t| tok.encode(t, false).unwrap())
        .collect();
    let params = SamplingParams {
        max_new_tokens: 10,
        temperature: 1.0,
        top_p: 0.9,
        top_k: 50,
        n: 3,
        seed: 11,
        stop: vec![],
    };
    let gen = Generator {
        model: &model,
        tok: &tok,
        eos_ids: vec![],
        params,
    };
    let mut produced = 0;
    let a = gen.generate(&prompts, 0, &mut |k| produced += k).unwrap();
    let b = gen.generate(&prompts, 0, &mut |_| {}).unwrap();
    assert_eq!(a, b);
    assert_eq!(produced, 2 * 3 * 10);
    assert_eq!(a[1].len(), 3);
    assert!(
        a[0][0].tokens != a[0][1].tokens || a[0][1].tokens != a[0][2].tokens,
        "samples differ"
    );
    // Prompt 1 alone, told its global index, samples the same tokens.
    let alone = gen.generate(&prompts[1..], 1, &mut |_| {}).unwrap();
    assert_eq!(alone[0], a[1]);
    let other_seed = Generator {
        params: SamplingParams {
            seed: 12,
            ..gen.params.clone()
        },
        ..gen
    };
    assert_ne!(other_seed.generate(&prompts, 0, &mut |_| {}).unwrap(), a);
}

#[test]
fn eos_and_stop_strings_end_generation() {
    let model = load("qwen2-tiny");
    let tok = Tok::from_dir(&fixture("qwen2-tiny")).unwrap();
    let prompt = tok.encode("The answer is", false).unwrap();
    let free = Generator {
        model: &model,
        tok: &tok,
        eos_ids: vec![],
        params: SamplingParams::greedy(8),
    };
    let out = free
        .generate(std::slice::from_ref(&prompt), 0, &mut |_| {})
        .unwrap()
        .remove(0)
        .remove(0);
    // Treat the third greedy token as EOS: generation stops before it.
    let eos = Generator {
        eos_ids: vec![out.tokens[2]],
        ..free
    };
    let cut = eos
        .generate(std::slice::from_ref(&prompt), 0, &mut |_| {})
        .unwrap()
        .remove(0)
        .remove(0);
    assert_eq!(
        cut.finish_reason,
        adamame_trainer::generate::FinishReason::Eos
    );
    assert_eq!(
        cut.tokens,
        out.tokens[..out.tokens.iter().position(|&t| t == out.tokens[2]).unwrap()]
    );
    // A stop string taken from the free text cuts the text before it.
    let stop: String = out.text.chars().skip(3).take(2).collect();
    let stop_gen = Generator {
        eos_ids: vec![],
        params: SamplingParams {
            stop: vec![stop.clone()],
            ..SamplingParams::greedy(8)
        },
        ..eos
    };
    let stopped = stop_gen
        .generate(std::slice::from_ref(&prompt), 0, &mut |_| {})
        .unwrap()
        .remove(0)
        .remove(0);
    assert_eq!(
        stopped.finish_reason,
        adamame_trainer::generate::FinishReason::Stop
    );
    assert_eq!(stopped.text, out.text[..out.text.find(&stop).unwrap()]);
}

#[test]
fn a_few_lora_steps_lower_the_loss() {
    let mut model = load("qwen2-tiny");
    model
        .add_lora(&LoraConfig {
            rank: 8,
            alpha: 16.0,
            ..Default::default()
        })
        .unwrap();
    model.set_training(true);
    let vars: Vec<Var> = model.trainable_vars();
    let mut opt = AdamW::new(
        vars,
        ParamsAdamW {
            lr: 1e-2,
            weight_decay: 0.0,
            ..Default::default()
        },
    )
    .unwrap();
    let (ids, mask) = batch(&model);
    let first = masked_nll(&model, &ids, &mask, 64)
        .unwrap()
        .0
        .to_scalar::<f32>()
        .unwrap();
    for _ in 0..15 {
        let (loss, _) = masked_nll(&model, &ids, &mask, 64).unwrap();
        opt.backward_step(&loss).unwrap();
    }
    let last = masked_nll(&model, &ids, &mask, 64)
        .unwrap()
        .0
        .to_scalar::<f32>()
        .unwrap();
    assert!(last < 0.7 * first, "loss {first} -> {last}");
    // Frozen base: the saved base weights did not move.
    let base = load("qwen2-tiny");
    for ((n, a), (_, b)) in model
        .named_tensors(false)
        .unwrap()
        .iter()
        .zip(base.named_tensors(false).unwrap())
    {
        assert_eq!(max_abs_diff(a, &b), 0.0, "{n} moved");
    }
}

#[test]
fn token_ids_outside_the_vocabulary_are_an_error() {
    let model = load("qwen3-tiny");
    let err = tokens_logprobs(&model, &[vec![1, 2, 10_000]]).unwrap_err();
    assert!(err.to_string().contains("10000"), "{err}");
}

#[test]
fn bf16_weights_run_with_f32_norms_and_softmax() {
    let dir = fixture("qwen3-tiny");
    let tok = Tok::from_dir(&dir).unwrap();
    let f32_model = load("qwen3-tiny");
    let bf16 = Qwen::load(&dir, DType::BF16, &Device::Cpu, Trainable::Frozen).unwrap();
    assert_eq!(bf16.lm_head_weight().dtype(), DType::BF16);
    let text = ["Natalia a vendu 48 trombones en avril."];
    let a = text_logprobs(&f32_model, &tok, &text, 1).unwrap().remove(0);
    let b = text_logprobs(&bf16, &tok, &text, 1).unwrap().remove(0);
    assert_eq!(a.tokens, b.tokens);
    let worst = a
        .logprobs
        .iter()
        .zip(&b.logprobs)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(worst < 0.3 && worst > 0.0, "bf16 vs f32: {worst}");
}

#[test]
fn dropout_is_seeded_and_its_rng_position_restores() {
    let cfg = LoraConfig {
        rank: 4,
        alpha: 8.0,
        dropout: 0.3,
        seed: 5,
        ..Default::default()
    };
    let mut a = load("qwen2-tiny");
    a.add_lora(&cfg).unwrap();
    perturb_b(&a);
    a.set_training(true);
    let (ids, _) = batch(&a);
    let first = a.forward(&ids).unwrap();
    let position = a.dropout_rng_position();
    let second = a.forward(&ids).unwrap();
    assert!(
        max_abs_diff(&first, &second) > 0.0,
        "fresh dropout masks each step"
    );
    a.set_dropout_rng_position(position);
    assert_eq!(max_abs_diff(&a.forward(&ids).unwrap(), &second), 0.0);
    a.set_training(false);
    let eval = a.forward(&ids).unwrap();
    assert_eq!(
        max_abs_diff(&a.forward(&ids).unwrap(), &eval),
        0.0,
        "no dropout in eval mode"
    );
}

#[test]
fn a_growing_cache_fed_one_token_at_a_time_equals_the_full_forward() {
    use adamame_trainer::model::KvCache;
    let model = load("qwen3-tiny");
    let (ids, _) = batch(&model);
    let full = model.forward(&ids).unwrap();
    // No capacity hint: the buffers start at the prefill size and double as needed.
    let mut cache = KvCache::new(model.num_layers(), vec![]);
    let mut steps = vec![model
        .logits(
            &model
                .forward_hidden(&ids.narrow(1, 0, 3).unwrap(), Some(&mut cache))
                .unwrap(),
        )
        .unwrap()];
    for i in 3..12 {
        let h = model
            .forward_hidden(&ids.narrow(1, i, 1).unwrap(), Some(&mut cache))
            .unwrap();
        steps.push(model.logits(&h).unwrap());
    }
    assert_eq!(cache.len(), 12);
    let stepped = Tensor::cat(&steps, 1).unwrap();
    assert!(max_abs_diff(&stepped, &full) < 1e-4);
}
