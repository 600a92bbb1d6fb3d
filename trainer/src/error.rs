//! The one error type of the trainer library.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Safetensors {
        path: PathBuf,
        source: safetensors::SafeTensorError,
    },
    #[error(
        "unknown architecture {0:?}: supported are Qwen2ForCausalLM (model_type qwen2) and \
         Qwen3ForCausalLM (model_type qwen3)"
    )]
    UnknownArchitecture(String),
    #[error("missing weight {name:?} in {dir}")]
    MissingWeight { name: String, dir: PathBuf },
    #[error("weight {name:?} has shape {got:?}, expected {expected:?}")]
    WeightShape {
        name: String,
        got: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error(
        "{0}: pickle checkpoints (.bin) are not supported, only safetensors; convert it with \
         transformers: AutoModelForCausalLM.from_pretrained(dir).save_pretrained(out, safe_serialization=True)"
    )]
    PickleCheckpoint(PathBuf),
    #[error("{0}: no model.safetensors or model.safetensors.index.json")]
    NoWeights(PathBuf),
    #[error("config: {0}")]
    Config(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("LoRA: {0}")]
    Lora(String),
    #[error("generation: {0}")]
    Generate(String),
    #[error("{path}: {problems} (expected the curated-traces schema of adamame-schemas; rebuild with adamame-data build)")]
    Schema { path: PathBuf, problems: String },
    #[error("{path}: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error("data: {0}")]
    Data(String),
    #[error("training: {0}")]
    Train(String),
    #[error(
        "loss is {loss} at step {step}: training stopped; {}",
        match last_checkpoint {
            Some(p) => format!("the last good checkpoint is {}", p.display()),
            None => "no checkpoint was written yet (lower --lr, or --save-every N)".to_string(),
        }
    )]
    NonFiniteLoss {
        step: usize,
        loss: f32,
        last_checkpoint: Option<PathBuf>,
    },
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    #[error("plot {path}: {message}")]
    Plot { path: PathBuf, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn json(path: impl Into<PathBuf>, source: serde_json::Error) -> Self {
        Error::Json {
            path: path.into(),
            source,
        }
    }
}

/// Reads a JSON file into `T`, naming the file in any error.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::json(path, e))
}

/// Writes `value` as pretty JSON.
pub(crate) fn write_json<T: serde::Serialize>(path: &std::path::Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::json(path, e))?;
    std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
}
