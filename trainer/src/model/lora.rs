//! LoRA adapters (Hu et al.) on the decoder's linear layers, in PEFT's layout.
//!
//! y = x Wᵀ + b + (alpha / rank) · dropout(x) Aᵀ Bᵀ, with A (rank × in)
//! initialized like PyTorch's `kaiming_uniform_(a = √5)` (PEFT's default) and
//! B (out × rank) zero, so a fresh adapter leaves the model unchanged. Only A
//! and B are `Var`s: the base weights stay plain tensors and never reach the
//! optimizer. Saved as `adapter_config.json` + `adapter_model.safetensors`
//! with PEFT's key names, so `peft.PeftModel.from_pretrained` loads them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use candle_core::{DType, Device, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{read_json, write_json, Error, Result};

/// Every linear layer of a Qwen2/Qwen3 decoder block.
pub const ALL_LINEAR: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

pub const ADAPTER_CONFIG: &str = "adapter_config.json";
pub const ADAPTER_WEIGHTS: &str = "adapter_model.safetensors";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraConfig {
    pub rank: usize,
    pub alpha: f64,
    pub dropout: f32,
    /// Module names (the last component, e.g. "q_proj"); empty means all linear layers.
    pub target_modules: Vec<String>,
    /// Seed of A's initialization (and of dropout masks).
    pub seed: u64,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            rank: 8,
            alpha: 16.0,
            dropout: 0.0,
            target_modules: ALL_LINEAR.iter().map(|s| s.to_string()).collect(),
            seed: 0,
        }
    }
}

impl LoraConfig {
    /// The scale of the low-rank path: alpha / rank.
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }

    pub fn targets(&self, module: &str) -> bool {
        if self.target_modules.is_empty() || self.target_modules.iter().any(|t| t == "all-linear") {
            return ALL_LINEAR.contains(&module);
        }
        self.target_modules.iter().any(|t| t == module)
    }

    pub fn validate(&self) -> Result<()> {
        if self.rank == 0 {
            return Err(Error::Lora("rank must be positive".into()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::Lora(format!(
                "dropout must be in [0, 1), got {}",
                self.dropout
            )));
        }
        if let Some(bad) = self
            .target_modules
            .iter()
            .find(|t| *t != "all-linear" && !ALL_LINEAR.contains(&t.as_str()))
        {
            return Err(Error::Lora(format!(
                "unknown target module {bad:?} (known: {})",
                ALL_LINEAR.join(", ")
            )));
        }
        Ok(())
    }

    /// PEFT's adapter_config.json.
    pub fn to_peft_json(&self, base_model: Option<&str>) -> Value {
        let mut targets: Vec<&str> = ALL_LINEAR
            .iter()
            .copied()
            .filter(|m| self.targets(m))
            .collect();
        targets.sort_unstable();
        json!({
            "peft_type": "LORA",
            "task_type": "CAUSAL_LM",
            "base_model_name_or_path": base_model,
            "r": self.rank,
            "lora_alpha": self.alpha,
            "lora_dropout": self.dropout,
            "target_modules": targets,
            "bias": "none",
            "fan_in_fan_out": false,
            "inference_mode": true,
            "init_lora_weights": true,
            "modules_to_save": null,
            "layers_to_transform": null,
            "layers_pattern": null,
            "rank_pattern": {},
            "alpha_pattern": {},
            "use_rslora": false,
            "use_dora": false,
            "revision": null,
        })
    }

    /// Reads PEFT's adapter_config.json, refusing what this crate does not implement.
    pub fn from_peft_json(v: &Value) -> Result<Self> {
        let get = |k: &str| v.get(k).filter(|x| !x.is_null());
        if let Some(t) = get("peft_type").and_then(Value::as_str) {
            if t != "LORA" {
                return Err(Error::Lora(format!("peft_type {t:?} is not LORA")));
            }
        }
        for flag in ["use_rslora", "use_dora", "fan_in_fan_out"] {
            if get(flag).and_then(Value::as_bool) == Some(true) {
                return Err(Error::Lora(format!("{flag} is not supported")));
            }
        }
        for pattern in ["rank_pattern", "alpha_pattern"] {
            if get(pattern)
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
            {
                return Err(Error::Lora(format!("{pattern} is not supported")));
            }
        }
        let rank = get("r")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::Lora("adapter_config.json has no r".into()))?
            as usize;
        let alpha = get("lora_alpha").and_then(Value::as_f64).unwrap_or(8.0);
        let dropout = get("lora_dropout").and_then(Value::as_f64).unwrap_or(0.0) as f32;
        let target_modules = match get("target_modules") {
            Some(Value::String(s)) if s == "all-linear" => vec!["all-linear".to_string()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            Some(other) => {
                return Err(Error::Lora(format!(
                    "target_modules {other} is not supported (a list of module names or \"all-linear\")"
                )))
            }
            None => Vec::new(),
        };
        let cfg = Self {
            rank,
            alpha,
            dropout,
            target_modules,
            seed: 0,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// The low-rank path of one linear layer.
#[derive(Debug, Clone)]
pub struct LoraAdapter {
    /// (rank, in_features)
    pub a: Var,
    /// (out_features, rank)
    pub b: Var,
    pub scale: f64,
    pub dropout: f32,
}

impl LoraAdapter {
    /// A ~ U(-1/√in, 1/√in) (PyTorch's kaiming_uniform_ with a = √5), B = 0.
    pub fn init(
        in_features: usize,
        out_features: usize,
        cfg: &LoraConfig,
        rng: &mut ChaCha8Rng,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        let bound = 1.0 / (in_features as f32).sqrt();
        let a: Vec<f32> = (0..cfg.rank * in_features)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        let a = Tensor::from_vec(a, (cfg.rank, in_features), device)?.to_dtype(dtype)?;
        let b = Tensor::zeros((out_features, cfg.rank), dtype, device)?;
        Ok(Self {
            a: Var::from_tensor(&a)?,
            b: Var::from_tensor(&b)?,
            scale: cfg.scale(),
            dropout: cfg.dropout,
        })
    }

    /// scale · dropout(x) Aᵀ Bᵀ for x of shape (..., in).
    pub fn forward(&self, x: &Tensor, dropout_rng: Option<&Mutex<ChaCha8Rng>>) -> Result<Tensor> {
        let x = match dropout_rng {
            Some(rng) if self.dropout > 0.0 => dropout(x, self.dropout, rng)?,
            _ => x.clone(),
        };
        let dims = x.dims().to_vec();
        let (rows, last) = (
            x.elem_count() / dims.last().copied().unwrap_or(1),
            dims.len() - 1,
        );
        let flat = x.reshape((rows, dims[last]))?;
        let low = flat.matmul(&self.a.as_tensor().t()?)?;
        let out = (low.matmul(&self.b.as_tensor().t()?)? * self.scale)?;
        let mut out_dims = dims;
        out_dims[last] = self.b.dim(0)?;
        Ok(out.reshape(out_dims)?)
    }

    /// The dense update scale · B A, shaped like the base weight.
    pub fn delta(&self) -> Result<Tensor> {
        Ok((self.b.as_tensor().matmul(self.a.as_tensor())? * self.scale)?)
    }
}

/// Inverted dropout with a mask drawn from the model's own seeded RNG, so that
/// a run is reproducible and its RNG state can be checkpointed.
fn dropout(x: &Tensor, p: f32, rng: &Mutex<ChaCha8Rng>) -> Result<Tensor> {
    let keep = 1.0 - p;
    let mask: Vec<f32> = {
        let mut rng = rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        (0..x.elem_count())
            .map(|_| {
                if rng.random::<f32>() < keep {
                    1.0 / keep
                } else {
                    0.0
                }
            })
            .collect()
    };
    let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
    Ok(x.mul(&mask)?)
}

/// PEFT's key of one adapter matrix: `base_model.model.{module}.lora_{A,B}.weight`.
pub fn peft_key(module_path: &str, which: char) -> String {
    format!("base_model.model.{module_path}.lora_{which}.weight")
}

/// Writes adapter_config.json and adapter_model.safetensors into `dir`.
pub fn save_adapters(
    dir: &Path,
    cfg: &LoraConfig,
    adapters: &[(String, &LoraAdapter)],
    base_model: Option<&str>,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tensors = Vec::with_capacity(adapters.len() * 2);
    for (module, adapter) in adapters {
        tensors.push((peft_key(module, 'A'), adapter.a.as_tensor().clone()));
        tensors.push((peft_key(module, 'B'), adapter.b.as_tensor().clone()));
    }
    crate::model::weights::write_safetensors(&dir.join(ADAPTER_WEIGHTS), &tensors)?;
    write_json(&dir.join(ADAPTER_CONFIG), &cfg.to_peft_json(base_model))
}

/// Reads an adapter folder: its config and its tensors by PEFT key.
pub fn load_adapters(
    dir: &Path,
    dtype: DType,
    device: &Device,
) -> Result<(LoraConfig, HashMap<String, Tensor>)> {
    let cfg_path = dir.join(ADAPTER_CONFIG);
    let cfg = LoraConfig::from_peft_json(&read_json::<Value>(&cfg_path)?)?;
    let weights = dir.join(ADAPTER_WEIGHTS);
    if !weights.exists() && dir.join("adapter_model.bin").exists() {
        return Err(Error::PickleCheckpoint(dir.join("adapter_model.bin")));
    }
    let tensors = crate::model::weights::read_safetensors(&weights, dtype, device)?;
    // PEFT may store keys with the adapter name (".lora_A.default.weight"); normalize.
    let tensors = tensors
        .into_iter()
        .map(|(k, v)| (k.replace(".default.weight", ".weight"), v))
        .collect();
    Ok((cfg, tensors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn init_bounds_zero_b_and_scale() {
        let cfg = LoraConfig {
            rank: 4,
            alpha: 8.0,
            ..Default::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let ad = LoraAdapter::init(64, 16, &cfg, &mut rng, DType::F32, &Device::Cpu).unwrap();
        let a =
            ad.a.as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
        assert!(a.iter().all(|v| v.abs() <= 0.125));
        assert!(a.iter().any(|v| v.abs() > 0.1), "A spans its bound");
        assert_eq!(
            ad.b.as_tensor()
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap(),
            0.0
        );
        assert_eq!(ad.scale, 2.0);
    }

    #[test]
    fn peft_config_round_trip_and_refusals() {
        let cfg = LoraConfig {
            rank: 16,
            alpha: 32.0,
            dropout: 0.05,
            target_modules: vec!["q_proj".into(), "v_proj".into()],
            seed: 0,
        };
        let json = cfg.to_peft_json(Some("base"));
        assert_eq!(json["r"], 16);
        assert_eq!(json["target_modules"], json!(["q_proj", "v_proj"]));
        assert_eq!(LoraConfig::from_peft_json(&json).unwrap(), cfg);
        let mut dora = json.clone();
        dora["use_dora"] = json!(true);
        assert!(LoraConfig::from_peft_json(&dora).is_err());
        let all =
            LoraConfig::from_peft_json(&json!({"r": 2, "target_modules": "all-linear"})).unwrap();
        assert!(ALL_LINEAR.iter().all(|m| all.targets(m)));
    }
}
