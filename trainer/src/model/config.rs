//! `config.json` of a Hugging Face Qwen2 / Qwen3 checkpoint.
//!
//! The struct keeps every key it does not know in `extra`, so a config that is
//! loaded and saved again keeps what transformers wrote. The accessor methods
//! resolve the defaults the way transformers does (v4 and v5 layouts).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The decoder families this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Qwen2 (DeepSeek-R1-Distill-Qwen): q/k/v projections with bias, o without.
    Qwen2,
    /// Qwen3: per-head RMSNorm of q and k before RoPE, `attention_bias` on all four projections.
    Qwen3,
}

impl Arch {
    pub fn class_name(self) -> &'static str {
        match self {
            Arch::Qwen2 => "Qwen2ForCausalLM",
            Arch::Qwen3 => "Qwen3ForCausalLM",
        }
    }
    pub fn model_type(self) -> &'static str {
        match self {
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
        }
    }
}

/// One token id or several (`eos_token_id` may be a list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(id) => vec![*id],
            TokenIds::Many(ids) => ids.clone(),
        }
    }
}

/// Rotary embedding of one layer, resolved from `rope_parameters` / `rope_scaling` / `rope_theta`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RopeSpec {
    pub theta: f64,
    /// `rope_type: linear` divides the inverse frequencies by this factor; 1 otherwise.
    pub linear_factor: f64,
}

/// Attention span of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerAttention {
    Full,
    /// A query at position i sees keys at positions j with i - j < window.
    Sliding(usize),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_key_value_heads: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<usize>,
    #[serde(default = "default_max_position_embeddings")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_rms_norm_eps")]
    pub rms_norm_eps: f64,
    /// Legacy (transformers v4) top-level RoPE base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_theta: Option<f64>,
    /// transformers v5: `{"rope_type": "default", "rope_theta": ...}`, or one such dict per layer type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_parameters: Option<Value>,
    /// Legacy name of `rope_parameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_scaling: Option<Value>,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    #[serde(default)]
    pub use_sliding_window: bool,
    /// Kept even when null: transformers' default (4096) differs from "absent".
    #[serde(default)]
    pub sliding_window: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_window_layers: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention_bias: Option<bool>,
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_token_id: Option<TokenIds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token_id: Option<TokenIds>,
    /// Every other key, kept as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_max_position_embeddings() -> usize {
    32768
}
fn default_rms_norm_eps() -> f64 {
    1e-6
}
fn default_hidden_act() -> String {
    "silu".to_string()
}

/// transformers' `default_theta`.
const DEFAULT_ROPE_THETA: f64 = 10_000.0;
/// Qwen2Config's default `max_window_layers`.
const DEFAULT_MAX_WINDOW_LAYERS: usize = 28;
/// Qwen3Config's default `head_dim` when config.json has none.
const QWEN3_DEFAULT_HEAD_DIM: usize = 128;

impl Config {
    /// Parses config.json text and checks that this crate can build the model.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let cfg: Config =
            serde_json::from_str(text).map_err(|e| Error::Config(format!("config.json: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str::<Config>(&text)
            .map_err(|e| Error::json(path, e))
            .and_then(|cfg| cfg.validate().map(|()| cfg))
    }

    pub fn to_json_string(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))
    }

    /// The architecture named by `architectures[0]`, else by `model_type`.
    pub fn arch(&self) -> Result<Arch> {
        if let Some(name) = self.architectures.first() {
            return match name.as_str() {
                "Qwen2ForCausalLM" => Ok(Arch::Qwen2),
                "Qwen3ForCausalLM" => Ok(Arch::Qwen3),
                other => Err(Error::UnknownArchitecture(other.to_string())),
            };
        }
        match self.model_type.as_deref() {
            Some("qwen2") => Ok(Arch::Qwen2),
            Some("qwen3") => Ok(Arch::Qwen3),
            Some(other) => Err(Error::UnknownArchitecture(other.to_string())),
            None => Err(Error::UnknownArchitecture(
                "(config.json has neither architectures nor model_type)".to_string(),
            )),
        }
    }

    pub fn num_kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Per-head width: explicit `head_dim`, else Qwen3's class default (128), else hidden / heads.
    pub fn head_dim(&self) -> usize {
        match (self.head_dim, self.arch()) {
            (Some(d), _) => d,
            (None, Ok(Arch::Qwen3)) => QWEN3_DEFAULT_HEAD_DIM,
            (None, _) => self.hidden_size / self.num_attention_heads.max(1),
        }
    }

    /// Bias on q/k/v (Qwen2: always; Qwen3: `attention_bias`).
    pub fn qkv_bias(&self) -> bool {
        match self.arch() {
            Ok(Arch::Qwen3) => self.attention_bias.unwrap_or(false),
            _ => true,
        }
    }

    /// Bias on o_proj (Qwen2: never; Qwen3: `attention_bias`).
    pub fn o_bias(&self) -> bool {
        match self.arch() {
            Ok(Arch::Qwen3) => self.attention_bias.unwrap_or(false),
            _ => false,
        }
    }

    /// The layer types as transformers resolves them: `layer_types` when given, else
    /// sliding from `max_window_layers` on when `use_sliding_window`.
    pub fn layer_type_names(&self) -> Vec<String> {
        if let Some(types) = &self.layer_types {
            if types.len() == self.num_hidden_layers {
                return types.clone();
            }
        }
        let window = self.effective_sliding_window();
        let from = self.max_window_layers.unwrap_or(DEFAULT_MAX_WINDOW_LAYERS);
        (0..self.num_hidden_layers)
            .map(|i| {
                if window.is_some() && i >= from {
                    "sliding_attention".to_string()
                } else {
                    "full_attention".to_string()
                }
            })
            .collect()
    }

    /// transformers nulls `sliding_window` unless `use_sliding_window`.
    fn effective_sliding_window(&self) -> Option<usize> {
        if self.use_sliding_window {
            self.sliding_window
        } else {
            None
        }
    }

    /// Attention span of each layer.
    pub fn layer_attention(&self) -> Vec<LayerAttention> {
        let window = self.effective_sliding_window();
        self.layer_type_names()
            .iter()
            .map(|t| match (t.as_str(), window) {
                ("sliding_attention", Some(w)) => LayerAttention::Sliding(w),
                _ => LayerAttention::Full,
            })
            .collect()
    }

    /// RoPE of each layer. Priority as in transformers: `rope_scaling` (legacy) or
    /// `rope_parameters` (possibly nested by layer type), then top-level `rope_theta`, then 10000.
    pub fn layer_rope(&self) -> Result<Vec<RopeSpec>> {
        let params = self
            .rope_scaling
            .as_ref()
            .filter(|v| !v.is_null())
            .or(self.rope_parameters.as_ref().filter(|v| !v.is_null()));
        let top_theta = self.rope_theta.unwrap_or(DEFAULT_ROPE_THETA);
        self.layer_type_names()
            .iter()
            .map(|layer_type| {
                let dict = match params {
                    None => None,
                    Some(Value::Object(map)) => match map.get(layer_type.as_str()) {
                        Some(Value::Object(nested)) => Some(nested),
                        _ => Some(map),
                    },
                    Some(other) => {
                        return Err(Error::Config(format!(
                            "rope_parameters must be an object, got {other}"
                        )))
                    }
                };
                rope_from_dict(dict, top_theta)
            })
            .collect()
    }

    /// EOS ids of config.json (generation_config.json may add more).
    pub fn eos_token_ids(&self) -> Vec<u32> {
        self.eos_token_id
            .as_ref()
            .map(TokenIds::to_vec)
            .unwrap_or_default()
    }

    /// Checks everything the model builder relies on, so that later code can index freely.
    pub fn validate(&self) -> Result<()> {
        self.arch()?;
        let bad = |msg: String| Err(Error::Config(msg));
        if self.hidden_act != "silu" {
            return bad(format!(
                "hidden_act {:?} is not supported (only silu)",
                self.hidden_act
            ));
        }
        for (name, v) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_kv_heads()),
            ("head_dim", self.head_dim()),
        ] {
            if v == 0 {
                return bad(format!("{name} must be positive"));
            }
        }
        if !self.num_attention_heads.is_multiple_of(self.num_kv_heads()) {
            return bad(format!(
                "num_attention_heads ({}) must be a multiple of num_key_value_heads ({})",
                self.num_attention_heads,
                self.num_kv_heads()
            ));
        }
        if !self.head_dim().is_multiple_of(2) {
            return bad(format!(
                "head_dim ({}) must be even for RoPE",
                self.head_dim()
            ));
        }
        if let Some(types) = &self.layer_types {
            if types.len() != self.num_hidden_layers {
                return bad(format!(
                    "layer_types has {} entries for {} layers",
                    types.len(),
                    self.num_hidden_layers
                ));
            }
            if let Some(t) = types
                .iter()
                .find(|t| *t != "full_attention" && *t != "sliding_attention")
            {
                return bad(format!("unknown layer type {t:?}"));
            }
        }
        if self.use_sliding_window && self.sliding_window == Some(0) {
            return bad("sliding_window must be positive".to_string());
        }
        self.layer_rope()?;
        Ok(())
    }
}

fn rope_from_dict(dict: Option<&Map<String, Value>>, top_theta: f64) -> Result<RopeSpec> {
    let Some(dict) = dict else {
        return Ok(RopeSpec {
            theta: top_theta,
            linear_factor: 1.0,
        });
    };
    let theta = dict
        .get("rope_theta")
        .and_then(Value::as_f64)
        .unwrap_or(top_theta);
    let rope_type = dict
        .get("rope_type")
        .or_else(|| dict.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    if let Some(p) = dict.get("partial_rotary_factor").and_then(Value::as_f64) {
        if p != 1.0 {
            return Err(Error::Config(format!(
                "partial_rotary_factor {p} is not supported"
            )));
        }
    }
    let linear_factor = match rope_type {
        "default" => 1.0,
        "linear" => dict
            .get("factor")
            .and_then(Value::as_f64)
            .filter(|f| *f > 0.0)
            .ok_or_else(|| Error::Config("rope_type linear needs a positive factor".into()))?,
        other => {
            return Err(Error::Config(format!(
                "rope_type {other:?} is not supported (default and linear are)"
            )))
        }
    };
    Ok(RopeSpec {
        theta,
        linear_factor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(extra: &str) -> String {
        format!(
            r#"{{"vocab_size": 100, "hidden_size": 32, "intermediate_size": 64,
                "num_hidden_layers": 4, "num_attention_heads": 4 {extra}}}"#
        )
    }

    #[test]
    fn qwen2_defaults_and_legacy_rope_theta() {
        let cfg = Config::from_json_str(&base(
            r#", "architectures": ["Qwen2ForCausalLM"], "num_key_value_heads": 2, "rope_theta": 50000.0"#,
        ))
        .unwrap();
        assert_eq!(cfg.arch().unwrap(), Arch::Qwen2);
        assert_eq!(cfg.head_dim(), 8);
        assert_eq!(cfg.num_kv_heads(), 2);
        assert!(cfg.qkv_bias() && !cfg.o_bias());
        assert!(!cfg.tie_word_embeddings);
        assert_eq!(cfg.layer_rope().unwrap()[0].theta, 50000.0);
        assert_eq!(cfg.layer_attention(), vec![LayerAttention::Full; 4]);
    }

    #[test]
    fn qwen3_nested_rope_parameters_head_dim_and_bias() {
        let cfg = Config::from_json_str(&base(
            r#", "model_type": "qwen3", "head_dim": 12, "attention_bias": true, "tie_word_embeddings": true,
               "rope_theta": 1.0, "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}"#,
        ))
        .unwrap();
        assert_eq!(cfg.arch().unwrap(), Arch::Qwen3);
        assert_eq!(cfg.head_dim(), 12);
        assert!(cfg.qkv_bias() && cfg.o_bias());
        assert!(cfg.tie_word_embeddings);
        assert_eq!(cfg.layer_rope().unwrap()[3].theta, 1_000_000.0);
        // Qwen3 without head_dim takes the class default, not hidden / heads.
        let cfg = Config::from_json_str(&base(r#", "model_type": "qwen3""#)).unwrap();
        assert_eq!(cfg.head_dim(), 128);
        assert!(!cfg.qkv_bias());
    }

    #[test]
    fn rope_defaults_linear_and_per_layer_type() {
        let cfg = Config::from_json_str(&base(r#", "model_type": "qwen2""#)).unwrap();
        assert_eq!(cfg.layer_rope().unwrap()[0].theta, 10_000.0);
        let cfg = Config::from_json_str(&base(
            r#", "model_type": "qwen2", "rope_theta": 500.0, "rope_scaling": {"type": "linear", "factor": 4.0}"#,
        ))
        .unwrap();
        assert_eq!(
            cfg.layer_rope().unwrap()[0],
            RopeSpec {
                theta: 500.0,
                linear_factor: 4.0
            }
        );
        let cfg = Config::from_json_str(&base(
            r#", "model_type": "qwen2", "layer_types": ["full_attention", "full_attention", "sliding_attention", "sliding_attention"],
               "use_sliding_window": true, "sliding_window": 16,
               "rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 1e6},
                                   "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}"#,
        ))
        .unwrap();
        let ropes = cfg.layer_rope().unwrap();
        assert_eq!(ropes[0].theta, 1e6);
        assert_eq!(ropes[3].theta, 1e4);
        assert_eq!(cfg.layer_attention()[2], LayerAttention::Sliding(16));
        let err = Config::from_json_str(&base(
            r#", "model_type": "qwen2", "rope_parameters": {"rope_type": "yarn", "factor": 4.0}"#,
        ))
        .unwrap_err();
        assert!(err.to_string().contains("yarn"), "{err}");
    }

    #[test]
    fn sliding_window_from_max_window_layers_only_when_enabled() {
        let on = Config::from_json_str(&base(
            r#", "model_type": "qwen2", "use_sliding_window": true, "sliding_window": 8, "max_window_layers": 2"#,
        ))
        .unwrap();
        assert_eq!(
            on.layer_attention(),
            vec![
                LayerAttention::Full,
                LayerAttention::Full,
                LayerAttention::Sliding(8),
                LayerAttention::Sliding(8)
            ]
        );
        let off = Config::from_json_str(&base(
            r#", "model_type": "qwen2", "use_sliding_window": false, "sliding_window": 8, "max_window_layers": 2"#,
        ))
        .unwrap();
        assert_eq!(off.layer_attention(), vec![LayerAttention::Full; 4]);
    }

    #[test]
    fn unknown_architecture_is_named_and_extra_keys_round_trip() {
        let err =
            Config::from_json_str(&base(r#", "architectures": ["LlamaForCausalLM"]"#)).unwrap_err();
        assert!(err.to_string().contains("LlamaForCausalLM"), "{err}");
        let cfg = Config::from_json_str(&base(
            r#", "model_type": "qwen2", "eos_token_id": [1, 2], "torch_dtype": "bfloat16""#,
        ))
        .unwrap();
        assert_eq!(cfg.eos_token_ids(), vec![1, 2]);
        let again = Config::from_json_str(&cfg.to_json_string().unwrap()).unwrap();
        assert_eq!(
            again.extra.get("torch_dtype"),
            Some(&Value::from("bfloat16"))
        );
        assert_eq!(again.eos_token_ids(), vec![1, 2]);
    }
}
