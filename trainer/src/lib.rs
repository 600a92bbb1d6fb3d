//! adamame-trainer: Qwen2 / Qwen3 models written with differentiable candle ops,
//! LoRA, tokenizers and chat templates, KV-cache generation and log-probabilities,
//! and supervised fine-tuning on curated shards ([`sft`]).
//!
//! The library never prints and never exits; every fallible function returns
//! [`error::Error`] with the file, weight or option it is about.

pub mod checkpoint;
pub mod data;
pub mod error;
pub mod generate;
pub mod logprobs;
pub mod model;
pub mod optim;
pub mod plot;
pub mod sft;
pub mod tokenize;

pub use error::{Error, Result};
