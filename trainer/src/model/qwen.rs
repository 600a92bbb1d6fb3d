//! The Qwen2 / Qwen3 decoder, built from differentiable ops so that it can be
//! trained (fully or through LoRA adapters) as well as run.
//!
//! Layout and names follow transformers' `Qwen2ForCausalLM` / `Qwen3ForCausalLM`:
//! embed → N × [RMSNorm → attention (+ residual) → RMSNorm → SwiGLU MLP (+ residual)]
//! → RMSNorm → lm_head (or the embedding matrix when tied).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use super::config::{Arch, Config, LayerAttention, RopeSpec};
use super::fused::CausalMask;
use super::lora::{self, LoraAdapter, LoraConfig};
use super::ops;
use super::weights;
use crate::error::{read_json, write_json, Error, Result};

/// A linear layer y = x Wᵀ + b, with an optional LoRA path.
#[derive(Debug, Clone)]
pub struct Linear {
    /// (out_features, in_features), as in PyTorch.
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub lora: Option<LoraAdapter>,
}

impl Linear {
    fn forward(&self, x: &Tensor, dropout_rng: Option<&Mutex<ChaCha8Rng>>) -> Result<Tensor> {
        let mut y = super::linear::linear(x, &self.weight, self.bias.as_ref())?;
        if let Some(adapter) = &self.lora {
            y = (y + adapter.forward(x, dropout_rng)?)?;
        }
        Ok(y)
    }

    pub fn in_features(&self) -> usize {
        self.weight.dims().get(1).copied().unwrap_or(0)
    }
    pub fn out_features(&self) -> usize {
        self.weight.dims().first().copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
struct Attention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    /// Qwen3 only: RMSNorm over each head of q and k, before RoPE.
    q_norm: Option<Tensor>,
    k_norm: Option<Tensor>,
    num_heads: usize,
    num_kv_heads: usize,
    head_dim: usize,
}

#[derive(Debug, Clone)]
struct Mlp {
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

#[derive(Debug, Clone)]
struct Block {
    input_layernorm: Tensor,
    post_attention_layernorm: Tensor,
    self_attn: Attention,
    mlp: Mlp,
    span: LayerAttention,
    /// Index into `Qwen::ropes`.
    rope: usize,
}

/// Keys and values of the positions seen so far, per layer: (b, kv_heads, len, head_dim).
#[derive(Debug, Clone)]
pub struct KvCache {
    /// Per layer, key and value buffers (b, kv_heads, capacity, head_dim) of which
    /// the first `len` positions are filled; grown by doubling.
    layers: Vec<Option<(Tensor, Tensor)>>,
    capacity_hint: usize,
    /// Left-padding positions of each row, masked as keys.
    left_pad: Vec<usize>,
    len: usize,
}

impl KvCache {
    /// An empty cache for rows whose first `left_pad[r]` tokens are padding.
    pub fn new(num_layers: usize, left_pad: Vec<usize>) -> Self {
        Self::with_capacity(num_layers, left_pad, 0)
    }
    /// A cache whose buffers are allocated for `capacity` positions up front
    /// (prompt + new tokens), so that decoding never copies them.
    pub fn with_capacity(num_layers: usize, left_pad: Vec<usize>, capacity: usize) -> Self {
        Self {
            layers: vec![None; num_layers],
            capacity_hint: capacity,
            left_pad,
            len: 0,
        }
    }
    /// Positions cached (padding included).
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn left_pad(&self) -> &[usize] {
        &self.left_pad
    }
    /// A cache holding the given rows, in that order (rows may repeat: n samples share a prefill).
    pub fn select_rows(&self, rows: &[usize], device: &Device) -> Result<KvCache> {
        let idx: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
        let idx = Tensor::new(idx.as_slice(), device)?;
        let layers = self
            .layers
            .iter()
            .map(|kv| match kv {
                Some((k, v)) => Ok(Some((k.index_select(&idx, 0)?, v.index_select(&idx, 0)?))),
                None => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        let left_pad = if self.left_pad.is_empty() {
            Vec::new()
        } else {
            rows.iter()
                .map(|&r| self.left_pad.get(r).copied().unwrap_or(0))
                .collect()
        };
        Ok(KvCache {
            layers,
            capacity_hint: self.capacity_hint,
            left_pad,
            len: self.len,
        })
    }
}

/// How the weights of a loaded model can be trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trainable {
    /// Plain tensors: inference, or LoRA added with [`Qwen::add_lora`].
    Frozen,
    /// Every weight is a `Var` (full fine-tuning).
    Full,
}

/// A Qwen2 or Qwen3 causal language model.
pub struct Qwen {
    config: Config,
    arch: Arch,
    embed_tokens: Tensor,
    layers: Vec<Block>,
    norm: Tensor,
    /// None when tied to `embed_tokens`.
    lm_head: Option<Tensor>,
    /// Inverse frequencies of each distinct RoPE in the model, (head_dim / 2) f32.
    ropes: Vec<Tensor>,
    dtype: DType,
    device: Device,
    /// Named `Var`s of full fine-tuning (empty when frozen).
    full_vars: Vec<(String, Var)>,
    lora: Option<LoraConfig>,
    training: bool,
    dropout_rng: Mutex<ChaCha8Rng>,
    /// generation_config.json of the source checkpoint, written back on save.
    generation_config: Option<Value>,
    source_dir: Option<PathBuf>,
}

fn linear_names(prefix: &str) -> [(String, &'static str); 7] {
    [
        (format!("{prefix}.self_attn.q_proj"), "q_proj"),
        (format!("{prefix}.self_attn.k_proj"), "k_proj"),
        (format!("{prefix}.self_attn.v_proj"), "v_proj"),
        (format!("{prefix}.self_attn.o_proj"), "o_proj"),
        (format!("{prefix}.mlp.gate_proj"), "gate_proj"),
        (format!("{prefix}.mlp.up_proj"), "up_proj"),
        (format!("{prefix}.mlp.down_proj"), "down_proj"),
    ]
}

impl Block {
    fn linears_mut(&mut self) -> [&mut Linear; 7] {
        let a = &mut self.self_attn;
        let m = &mut self.mlp;
        [
            &mut a.q_proj,
            &mut a.k_proj,
            &mut a.v_proj,
            &mut a.o_proj,
            &mut m.gate_proj,
            &mut m.up_proj,
            &mut m.down_proj,
        ]
    }
    fn linears(&self) -> [&Linear; 7] {
        let a = &self.self_attn;
        let m = &self.mlp;
        [
            &a.q_proj,
            &a.k_proj,
            &a.v_proj,
            &a.o_proj,
            &m.gate_proj,
            &m.up_proj,
            &m.down_proj,
        ]
    }
}

/// Where the weights of a new model come from.
trait WeightSource {
    fn get(&mut self, name: &str, shape: &[usize]) -> Result<Tensor>;
}

/// Weights read from a checkpoint, checked by name and shape.
struct Checkpoint<'a> {
    tensors: HashMap<String, Tensor>,
    dir: &'a Path,
}

impl WeightSource for Checkpoint<'_> {
    fn get(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = self
            .tensors
            .remove(name)
            .ok_or_else(|| Error::MissingWeight {
                name: name.to_string(),
                dir: self.dir.to_path_buf(),
            })?;
        if t.dims() != shape {
            return Err(Error::WeightShape {
                name: name.to_string(),
                got: t.dims().to_vec(),
                expected: shape.to_vec(),
            });
        }
        Ok(t)
    }
}

/// Fresh weights as transformers initializes them: normal(0, initializer_range)
/// for matrices and embeddings, ones for norms, zeros for biases.
struct RandomInit {
    rng: ChaCha8Rng,
    std: f64,
    dtype: DType,
    device: Device,
}

impl WeightSource for RandomInit {
    fn get(&mut self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let t = if name.ends_with("norm.weight") {
            Tensor::ones(shape, self.dtype, &self.device)?
        } else if name.ends_with(".bias") {
            Tensor::zeros(shape, self.dtype, &self.device)?
        } else {
            let data: Vec<f32> = (0..n)
                .map(|_| (normal(&mut self.rng) * self.std) as f32)
                .collect();
            Tensor::from_vec(data, shape, &self.device)?.to_dtype(self.dtype)?
        };
        Ok(t)
    }
}

fn load_linear(
    src: &mut dyn WeightSource,
    name: &str,
    out_f: usize,
    in_f: usize,
    bias: bool,
) -> Result<Linear> {
    let weight = src.get(&format!("{name}.weight"), &[out_f, in_f])?;
    let bias = if bias {
        Some(src.get(&format!("{name}.bias"), &[out_f])?)
    } else {
        None
    };
    Ok(Linear {
        weight,
        bias,
        lora: None,
    })
}

/// A standard normal draw (Box-Muller), so initialization depends only on our seed.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

impl Qwen {
    /// Loads config.json, generation_config.json and the safetensors weights of `dir`.
    pub fn load(dir: &Path, dtype: DType, device: &Device, trainable: Trainable) -> Result<Self> {
        let config = Config::from_file(&dir.join("config.json"))?;
        let tensors = weights::load_checkpoint(dir, dtype, device)?;
        let mut source = Checkpoint { tensors, dir };
        let mut model = Self::build(config, &mut source, dtype, device)?;
        let gen_path = dir.join("generation_config.json");
        if gen_path.is_file() {
            model.generation_config = Some(read_json(&gen_path)?);
        }
        model.source_dir = Some(dir.to_path_buf());
        if trainable == Trainable::Full {
            model.make_fully_trainable()?;
        }
        Ok(model)
    }

    /// Builds a model from tensors named as in a checkpoint (e.g. for tests or conversions).
    pub fn from_tensors(
        config: Config,
        tensors: HashMap<String, Tensor>,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        config.validate()?;
        let dir = PathBuf::from("(in-memory tensors)");
        let mut source = Checkpoint { tensors, dir: &dir };
        Self::build(config, &mut source, dtype, device)
    }

    /// A freshly initialized model (training from scratch), seeded.
    pub fn new_random(config: Config, dtype: DType, device: &Device, seed: u64) -> Result<Self> {
        config.validate()?;
        let std = config
            .extra
            .get("initializer_range")
            .and_then(Value::as_f64)
            .unwrap_or(0.02);
        let mut source = RandomInit {
            rng: ChaCha8Rng::seed_from_u64(seed),
            std,
            dtype,
            device: device.clone(),
        };
        Self::build(config, &mut source, dtype, device)
    }

    fn build(
        config: Config,
        src: &mut dyn WeightSource,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        let arch = config.arch()?;
        let (h, inter) = (config.hidden_size, config.intermediate_size);
        let (nh, nkv, hd) = (
            config.num_attention_heads,
            config.num_kv_heads(),
            config.head_dim(),
        );
        let spans = config.layer_attention();
        let rope_specs = config.layer_rope()?;
        let mut distinct: Vec<RopeSpec> = Vec::new();
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let q_proj = load_linear(
                src,
                &format!("{p}.self_attn.q_proj"),
                nh * hd,
                h,
                config.qkv_bias(),
            )?;
            let k_proj = load_linear(
                src,
                &format!("{p}.self_attn.k_proj"),
                nkv * hd,
                h,
                config.qkv_bias(),
            )?;
            let v_proj = load_linear(
                src,
                &format!("{p}.self_attn.v_proj"),
                nkv * hd,
                h,
                config.qkv_bias(),
            )?;
            let o_proj = load_linear(
                src,
                &format!("{p}.self_attn.o_proj"),
                h,
                nh * hd,
                config.o_bias(),
            )?;
            let gate_proj = load_linear(src, &format!("{p}.mlp.gate_proj"), inter, h, false)?;
            let up_proj = load_linear(src, &format!("{p}.mlp.up_proj"), inter, h, false)?;
            let down_proj = load_linear(src, &format!("{p}.mlp.down_proj"), h, inter, false)?;
            let (q_norm, k_norm) = if arch == Arch::Qwen3 {
                (
                    Some(src.get(&format!("{p}.self_attn.q_norm.weight"), &[hd])?),
                    Some(src.get(&format!("{p}.self_attn.k_norm.weight"), &[hd])?),
                )
            } else {
                (None, None)
            };
            let spec = rope_specs.get(i).copied().unwrap_or(RopeSpec {
                theta: 10_000.0,
                linear_factor: 1.0,
            });
            let rope = match distinct.iter().position(|s| *s == spec) {
                Some(r) => r,
                None => {
                    distinct.push(spec);
                    distinct.len() - 1
                }
            };
            layers.push(Block {
                input_layernorm: src.get(&format!("{p}.input_layernorm.weight"), &[h])?,
                post_attention_layernorm: src
                    .get(&format!("{p}.post_attention_layernorm.weight"), &[h])?,
                self_attn: Attention {
                    q_proj,
                    k_proj,
                    v_proj,
                    o_proj,
                    q_norm,
                    k_norm,
                    num_heads: nh,
                    num_kv_heads: nkv,
                    head_dim: hd,
                },
                mlp: Mlp {
                    gate_proj,
                    up_proj,
                    down_proj,
                },
                span: spans.get(i).copied().unwrap_or(LayerAttention::Full),
                rope,
            });
        }
        let embed_tokens = src.get("model.embed_tokens.weight", &[config.vocab_size, h])?;
        let norm = src.get("model.norm.weight", &[h])?;
        let lm_head = if config.tie_word_embeddings {
            None
        } else {
            Some(src.get("lm_head.weight", &[config.vocab_size, h])?)
        };
        let ropes = distinct
            .iter()
            .map(|s| {
                let inv = ops::rope_inv_freq(hd, s.theta, s.linear_factor);
                Ok(Tensor::new(inv.as_slice(), device)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config,
            arch,
            embed_tokens,
            layers,
            norm,
            lm_head,
            ropes,
            dtype,
            device: device.clone(),
            full_vars: Vec::new(),
            lora: None,
            training: false,
            dropout_rng: Mutex::new(ChaCha8Rng::seed_from_u64(0)),
            generation_config: None,
            source_dir: None,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn arch(&self) -> Arch {
        self.arch
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn device(&self) -> &Device {
        &self.device
    }
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }
    pub fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }
    pub fn source_dir(&self) -> Option<&Path> {
        self.source_dir.as_deref()
    }
    pub fn generation_config(&self) -> Option<&Value> {
        self.generation_config.as_ref()
    }

    /// EOS ids of config.json and generation_config.json together.
    pub fn eos_token_ids(&self) -> Vec<u32> {
        let mut ids = self.config.eos_token_ids();
        if let Some(v) = self
            .generation_config
            .as_ref()
            .and_then(|g| g.get("eos_token_id"))
        {
            match v {
                Value::Number(n) => ids.extend(n.as_u64().map(|x| x as u32)),
                Value::Array(a) => {
                    ids.extend(a.iter().filter_map(|x| x.as_u64().map(|x| x as u32)))
                }
                _ => {}
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Training mode turns LoRA dropout on.
    pub fn set_training(&mut self, training: bool) {
        self.training = training;
    }
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// Position of the LoRA-dropout RNG (seeded from the LoRA seed), for checkpoints
    /// that resume a run exactly.
    pub fn dropout_rng_position(&self) -> u128 {
        self.dropout_rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get_word_pos()
    }

    /// Restores what [`Qwen::dropout_rng_position`] returned (after `add_lora` / `load_lora`).
    pub fn set_dropout_rng_position(&mut self, position: u128) {
        self.dropout_rng
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .set_word_pos(position);
    }

    /// The (vocab, hidden) matrix that maps hidden states to logits.
    pub fn lm_head_weight(&self) -> &Tensor {
        self.lm_head.as_ref().unwrap_or(&self.embed_tokens)
    }

    /// Final hidden states (after the last RMSNorm), (b, t, hidden).
    ///
    /// Without a cache the t tokens are a whole causal sequence starting at
    /// position 0 (right padding is harmless: later tokens never reach earlier
    /// ones). With a cache they continue the cached positions, and the cache's
    /// left padding is masked out and skipped in the positions.
    pub fn forward_hidden(
        &self,
        input_ids: &Tensor,
        mut cache: Option<&mut KvCache>,
    ) -> Result<Tensor> {
        let (b, t) = input_ids.dims2()?;
        let (offset, left_pad) = match cache.as_deref() {
            Some(c) => {
                if !c.left_pad.is_empty() && c.left_pad.len() != b {
                    return Err(Error::Generate(format!(
                        "cache has {} rows, input has {b}",
                        c.left_pad.len()
                    )));
                }
                (c.len, c.left_pad.clone())
            }
            None => (0, Vec::new()),
        };
        let positions: Vec<u32> = (0..b)
            .flat_map(|r| {
                let pad = left_pad.get(r).copied().unwrap_or(0);
                (0..t).map(move |i| (offset + i).saturating_sub(pad) as u32)
            })
            .collect();
        let positions = Tensor::from_vec(positions, (b, t), &self.device)?;
        let cos_sin = self
            .ropes
            .iter()
            .map(|inv| ops::rope_cos_sin(&positions, inv, self.dtype))
            .collect::<Result<Vec<_>>>()?;
        let rng = (self.training && self.lora.as_ref().is_some_and(|l| l.dropout > 0.0))
            .then_some(&self.dropout_rng);

        let mut x = self
            .embed_tokens
            .index_select(&input_ids.flatten_all()?, 0)?
            .reshape((b, t, self.config.hidden_size))?;
        for (i, layer) in self.layers.iter().enumerate() {
            let window = match layer.span {
                LayerAttention::Full => None,
                LayerAttention::Sliding(w) => Some(w),
            };
            let mask = CausalMask {
                t,
                offset,
                left_pad: left_pad.clone(),
                window,
            };
            let (cos, sin) = cos_sin
                .get(layer.rope)
                .ok_or_else(|| Error::Config("RoPE index out of range".into()))?;
            let layer_cache = match cache.as_deref_mut() {
                Some(c) => c.layers.get_mut(i).map(|slot| CacheSlot {
                    slot,
                    len: offset,
                    capacity_hint: c.capacity_hint,
                }),
                None => None,
            };
            let step = LayerStep {
                cos,
                sin,
                mask: &mask,
                eps: self.config.rms_norm_eps,
                rng,
            };
            x = layer.forward(&x, &step, layer_cache)?;
        }
        if let Some(c) = cache {
            c.len += t;
        }
        ops::rms_norm(&x, &self.norm, self.config.rms_norm_eps)
    }

    /// Logits (…, vocab) of hidden states (…, hidden), in the model's dtype.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        Ok(super::linear::matmul_t(hidden, self.lm_head_weight())?)
    }

    /// Full logits (b, t, vocab) of a causal sequence. Prefer `logprobs::*` for long
    /// sequences with a large vocabulary: this materializes every logit.
    pub fn forward(&self, input_ids: &Tensor) -> Result<Tensor> {
        self.logits(&self.forward_hidden(input_ids, None)?)
    }

    /// Every weight as a named tensor, in checkpoint names (lm_head left out when tied).
    /// With `merged`, LoRA deltas are added to their base weights.
    pub fn named_tensors(&self, merged: bool) -> Result<Vec<(String, Tensor)>> {
        let mut out = vec![(
            "model.embed_tokens.weight".to_string(),
            self.embed_tokens.clone(),
        )];
        for (i, layer) in self.layers.iter().enumerate() {
            let p = format!("model.layers.{i}");
            out.push((
                format!("{p}.input_layernorm.weight"),
                layer.input_layernorm.clone(),
            ));
            out.push((
                format!("{p}.post_attention_layernorm.weight"),
                layer.post_attention_layernorm.clone(),
            ));
            if let Some(qn) = &layer.self_attn.q_norm {
                out.push((format!("{p}.self_attn.q_norm.weight"), qn.clone()));
            }
            if let Some(kn) = &layer.self_attn.k_norm {
                out.push((format!("{p}.self_attn.k_norm.weight"), kn.clone()));
            }
            for ((name, _), lin) in linear_names(&p).iter().zip(layer.linears()) {
                let w = match (&lin.lora, merged) {
                    (Some(ad), true) => {
                        (&lin.weight + ad.delta()?.to_dtype(lin.weight.dtype())?)?
                    }
                    _ => lin.weight.clone(),
                };
                out.push((format!("{name}.weight"), w));
                if let Some(b) = &lin.bias {
                    out.push((format!("{name}.bias"), b.clone()));
                }
            }
        }
        out.push(("model.norm.weight".to_string(), self.norm.clone()));
        if let Some(head) = &self.lm_head {
            out.push(("lm_head.weight".to_string(), head.clone()));
        }
        Ok(out)
    }

    /// Applies `f` to every weight tensor by checkpoint name (lm_head skipped when tied).
    fn visit_tensors_mut(
        &mut self,
        f: &mut dyn FnMut(&str, &mut Tensor) -> Result<()>,
    ) -> Result<()> {
        f("model.embed_tokens.weight", &mut self.embed_tokens)?;
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let p = format!("model.layers.{i}");
            f(
                &format!("{p}.input_layernorm.weight"),
                &mut layer.input_layernorm,
            )?;
            f(
                &format!("{p}.post_attention_layernorm.weight"),
                &mut layer.post_attention_layernorm,
            )?;
            if let Some(qn) = layer.self_attn.q_norm.as_mut() {
                f(&format!("{p}.self_attn.q_norm.weight"), qn)?;
            }
            if let Some(kn) = layer.self_attn.k_norm.as_mut() {
                f(&format!("{p}.self_attn.k_norm.weight"), kn)?;
            }
            let names = linear_names(&p);
            for ((name, _), lin) in names.iter().zip(layer.linears_mut()) {
                f(&format!("{name}.weight"), &mut lin.weight)?;
                if let Some(b) = lin.bias.as_mut() {
                    f(&format!("{name}.bias"), b)?;
                }
            }
        }
        f("model.norm.weight", &mut self.norm)?;
        if let Some(head) = self.lm_head.as_mut() {
            f("lm_head.weight", head)?;
        }
        Ok(())
    }

    /// Turns every weight into a `Var` for full fine-tuning.
    pub fn make_fully_trainable(&mut self) -> Result<()> {
        if !self.full_vars.is_empty() {
            return Ok(());
        }
        let mut vars = Vec::new();
        self.visit_tensors_mut(&mut |name, t| {
            let var = Var::from_tensor(t)?;
            *t = var.as_tensor().clone();
            vars.push((name.to_string(), var));
            Ok(())
        })?;
        self.full_vars = vars;
        Ok(())
    }

    /// Adds fresh LoRA adapters (A Kaiming-uniform, B zero) to the targeted linear layers.
    pub fn add_lora(&mut self, cfg: &LoraConfig) -> Result<()> {
        cfg.validate()?;
        if self.lora.is_some() {
            return Err(Error::Lora(
                "the model already has adapters; merge them first".into(),
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let (dtype, device) = (self.dtype, self.device.clone());
        for layer in self.layers.iter_mut() {
            for ((_, short), lin) in linear_names("").iter().zip(layer.linears_mut()) {
                if cfg.targets(short) {
                    let (i, o) = (lin.in_features(), lin.out_features());
                    lin.lora = Some(LoraAdapter::init(i, o, cfg, &mut rng, dtype, &device)?);
                }
            }
        }
        self.dropout_rng = Mutex::new(ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(1)));
        self.lora = Some(cfg.clone());
        Ok(())
    }

    pub fn lora_config(&self) -> Option<&LoraConfig> {
        self.lora.as_ref()
    }

    /// Adapters by module path (e.g. "model.layers.0.self_attn.q_proj").
    pub fn lora_adapters(&self) -> Vec<(String, &LoraAdapter)> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let names = linear_names(&format!("model.layers.{i}"));
            for ((name, _), lin) in names.iter().zip(layer.linears()) {
                if let Some(ad) = &lin.lora {
                    out.push((name.clone(), ad));
                }
            }
        }
        out
    }

    /// The trainable variables with stable names: PEFT keys for LoRA, checkpoint names for full fine-tuning.
    pub fn named_trainable_vars(&self) -> Vec<(String, Var)> {
        let mut out: Vec<(String, Var)> = self.full_vars.clone();
        for (module, ad) in self.lora_adapters() {
            out.push((lora::peft_key(&module, 'A'), ad.a.clone()));
            out.push((lora::peft_key(&module, 'B'), ad.b.clone()));
        }
        out
    }

    /// What an optimizer should update (base weights are absent unless fully trainable).
    pub fn trainable_vars(&self) -> Vec<Var> {
        self.named_trainable_vars()
            .into_iter()
            .map(|(_, v)| v)
            .collect()
    }

    /// Folds every adapter into its base weight, W ← W + (alpha / rank) · B A, and drops the adapters.
    pub fn merge_lora(&mut self) -> Result<()> {
        for layer in self.layers.iter_mut() {
            for lin in layer.linears_mut() {
                if let Some(ad) = lin.lora.take() {
                    let merged =
                        (&lin.weight + ad.delta()?.to_dtype(lin.weight.dtype())?)?.detach();
                    lin.weight = merged;
                }
            }
        }
        // Merged weights are new tensors: full fine-tuning vars no longer alias them.
        if !self.full_vars.is_empty() && self.lora.is_some() {
            self.full_vars.clear();
        }
        self.lora = None;
        Ok(())
    }

    /// Writes the adapters in PEFT layout.
    pub fn save_lora(&self, dir: &Path) -> Result<()> {
        let cfg = self
            .lora
            .as_ref()
            .ok_or_else(|| Error::Lora("the model has no adapters to save".into()))?;
        let base = self.source_dir.as_ref().map(|p| p.display().to_string());
        lora::save_adapters(dir, cfg, &self.lora_adapters(), base.as_deref())
    }

    /// Loads PEFT adapters (adapter_config.json + adapter_model.safetensors) onto this model.
    pub fn load_lora(&mut self, dir: &Path) -> Result<()> {
        let (cfg, mut tensors) = lora::load_adapters(dir, self.dtype, &self.device)?;
        self.add_lora(&cfg)?;
        let modules: Vec<String> = self.lora_adapters().into_iter().map(|(m, _)| m).collect();
        let mut by_module: HashMap<String, (Tensor, Tensor)> = HashMap::new();
        for module in modules {
            let mut take = |which: char| {
                let key = lora::peft_key(&module, which);
                tensors.remove(&key).ok_or_else(|| Error::MissingWeight {
                    name: key,
                    dir: dir.to_path_buf(),
                })
            };
            let a = take('A')?;
            let b = take('B')?;
            by_module.insert(module, (a, b));
        }
        if let Some(extra) = tensors.keys().min() {
            return Err(Error::Lora(format!(
                "{}: unexpected adapter weight {extra:?}",
                dir.display()
            )));
        }
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let names = linear_names(&format!("model.layers.{i}"));
            for ((name, _), lin) in names.iter().zip(layer.linears_mut()) {
                if let (Some(ad), Some((a, b))) = (lin.lora.as_mut(), by_module.remove(name)) {
                    for (var, t, which) in [(&ad.a, a, 'A'), (&ad.b, b, 'B')] {
                        if var.dims() != t.dims() {
                            return Err(Error::WeightShape {
                                name: lora::peft_key(name, which),
                                got: t.dims().to_vec(),
                                expected: var.dims().to_vec(),
                            });
                        }
                        var.set(&t)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes a Hugging Face checkpoint folder: config.json, model.safetensors
    /// (LoRA merged in, so transformers loads it as is), generation_config.json,
    /// and the tokenizer files of the source checkpoint when there is one.
    pub fn save_pretrained(&self, dir: &Path) -> Result<()> {
        self.save_pretrained_sharded(dir, weights::DEFAULT_MAX_SHARD_BYTES)
    }

    pub fn save_pretrained_sharded(&self, dir: &Path, max_shard_bytes: usize) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let tensors = self.named_tensors(true)?;
        weights::save_checkpoint(dir, &tensors, max_shard_bytes)?;
        let mut config = self.config.clone();
        if config.architectures.is_empty() {
            config.architectures = vec![self.arch.class_name().to_string()];
        }
        config.model_type = Some(self.arch.model_type().to_string());
        let dtype = Value::from(weights::hf_dtype_name(self.dtype));
        // v5 reads "dtype", v4 "torch_dtype": write both.
        config.extra.insert("dtype".into(), dtype.clone());
        config.extra.insert("torch_dtype".into(), dtype);
        std::fs::write(dir.join("config.json"), config.to_json_string()? + "\n")
            .map_err(|e| Error::io(dir.join("config.json"), e))?;
        let gen = self.generation_config.clone().unwrap_or_else(|| {
            let mut g = serde_json::Map::new();
            if let Some(bos) = &self.config.bos_token_id {
                g.insert(
                    "bos_token_id".into(),
                    serde_json::to_value(bos).unwrap_or(Value::Null),
                );
            }
            if let Some(eos) = &self.config.eos_token_id {
                g.insert(
                    "eos_token_id".into(),
                    serde_json::to_value(eos).unwrap_or(Value::Null),
                );
            }
            Value::Object(g)
        });
        write_json(&dir.join("generation_config.json"), &gen)?;
        if let Some(src) = &self.source_dir {
            if src != dir {
                weights::copy_tokenizer_files(src, dir)?;
            }
        }
        Ok(())
    }
}

/// What every layer of one forward pass shares: the rotary tables of its
/// kind of attention, the mask, the norm epsilon and the LoRA-dropout RNG.
#[derive(Clone, Copy)]
struct LayerStep<'a> {
    cos: &'a Tensor,
    sin: &'a Tensor,
    mask: &'a CausalMask,
    eps: f64,
    rng: Option<&'a Mutex<ChaCha8Rng>>,
}

impl Block {
    fn forward(
        &self,
        x: &Tensor,
        step: &LayerStep<'_>,
        cache: Option<CacheSlot<'_>>,
    ) -> Result<Tensor> {
        let h = ops::rms_norm(x, &self.input_layernorm, step.eps)?;
        let x = (x + self.self_attn.forward(&h, step, cache)?)?;
        let h = ops::rms_norm(&x, &self.post_attention_layernorm, step.eps)?;
        Ok((&x + self.mlp.forward(&h, step.rng)?)?)
    }
}

impl Mlp {
    fn forward(&self, x: &Tensor, rng: Option<&Mutex<ChaCha8Rng>>) -> Result<Tensor> {
        let gate = self.gate_proj.forward(x, rng)?;
        let up = self.up_proj.forward(x, rng)?;
        let hidden = match super::swiglu::swiglu(&gate, &up)? {
            Some(h) => h,
            None => (gate.silu()? * up)?,
        };
        self.down_proj.forward(&hidden, rng)
    }
}

impl Attention {
    fn forward(
        &self,
        x: &Tensor,
        step: &LayerStep<'_>,
        cache: Option<CacheSlot<'_>>,
    ) -> Result<Tensor> {
        let LayerStep {
            cos,
            sin,
            mask,
            eps,
            rng,
        } = *step;
        let (b, t, _) = x.dims3()?;
        let (nh, nkv, hd) = (self.num_heads, self.num_kv_heads, self.head_dim);
        let mut q = self.q_proj.forward(x, rng)?.reshape((b, t, nh, hd))?;
        let mut k = self.k_proj.forward(x, rng)?.reshape((b, t, nkv, hd))?;
        let v = self.v_proj.forward(x, rng)?.reshape((b, t, nkv, hd))?;
        if let (Some(qn), Some(kn)) = (&self.q_norm, &self.k_norm) {
            q = ops::rms_norm(&q, qn, eps)?;
            k = ops::rms_norm(&k, kn, eps)?;
        }
        let q = ops::rope_then_transpose(&q, cos, sin)?;
        let k = ops::rope_then_transpose(&k, cos, sin)?;
        let v = v.transpose(1, 2)?;
        let (k, v) = match cache {
            Some(slot) => slot.append(&k, &v)?,
            None => (k, v),
        };
        let out = ops::attention(&q, &k, &v, mask, 1.0 / (hd as f64).sqrt())?;
        let out = out.transpose(1, 2)?.reshape((b, t, nh * hd))?;
        self.o_proj.forward(&out, rng)
    }
}

/// One layer's entry of a [`KvCache`] during a forward pass.
struct CacheSlot<'a> {
    slot: &'a mut Option<(Tensor, Tensor)>,
    len: usize,
    capacity_hint: usize,
}

impl CacheSlot<'_> {
    /// Writes the new keys and values (b, kv_heads, t, head_dim) after the cached
    /// ones and returns views of everything cached so far.
    fn append(self, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let (b, h, t, d) = k.dims4()?;
        let need = self.len + t;
        let (kb, vb) = match self.slot.take() {
            Some((kb, vb)) if kb.dim(2)? >= need => (kb, vb),
            old => {
                let old_cap = old.as_ref().map_or(0, |(kb, _)| kb.dim(2).unwrap_or(0));
                let cap = need.max(self.capacity_hint).max(2 * old_cap);
                let kb = Tensor::zeros((b, h, cap, d), k.dtype(), k.device())?;
                let vb = Tensor::zeros((b, h, cap, d), v.dtype(), v.device())?;
                if let Some((ok, ov)) = old.filter(|_| self.len > 0) {
                    kb.slice_set(&ok.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                    vb.slice_set(&ov.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                }
                (kb, vb)
            }
        };
        kb.slice_set(&k.contiguous()?, 2, self.len)?;
        vb.slice_set(&v.contiguous()?, 2, self.len)?;
        let views = (kb.narrow(2, 0, need)?, vb.narrow(2, 0, need)?);
        *self.slot = Some((kb, vb));
        Ok(views)
    }
}

/// The last position's hidden state of each row, (b, hidden).
pub fn last_hidden(hidden: &Tensor) -> Result<Tensor> {
    let t = hidden.dim(1)?;
    Ok(hidden.narrow(1, t - 1, 1)?.squeeze(1)?)
}
