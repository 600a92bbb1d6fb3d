//! adamame-trainer: Qwen2 / Qwen3 models written with differentiable candle ops,
//! LoRA, tokenizers and chat templates, KV-cache generation and log-probabilities.
//!
//! The library never prints and never exits; every fallible function returns
//! [`error::Error`] with the file, weight or option it is about.

pub mod error;
pub mod generate;
pub mod logprobs;
pub mod model;
pub mod tokenize;

pub use error::{Error, Result};
