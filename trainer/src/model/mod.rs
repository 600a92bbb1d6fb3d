//! The trainable Qwen2 / Qwen3 model: config, decoder, weights on disk, LoRA.

pub mod config;
pub mod decode_attention;
pub mod few_rows;
pub mod flash;
pub mod fused;
pub mod linear;
pub mod lora;
pub(crate) mod matrix;
pub mod ops;
pub mod qwen;
pub mod rms_norm;
pub mod rope;
mod simd;
pub mod swiglu;
pub mod vexp;
pub mod weights;

pub use config::{Arch, Config};
pub use lora::{LoraAdapter, LoraConfig};
pub use qwen::{KvCache, Qwen, Trainable};
