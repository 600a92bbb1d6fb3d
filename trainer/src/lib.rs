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
pub mod input;
pub mod logprobs;
pub mod model;
pub mod optim;
pub mod plot;
pub mod runtime;
pub mod sft;
pub mod tokenize;

pub use error::{Error, Result};

/// Helpers shared by the unit tests.
#[cfg(test)]
mod test_util {
    use candle_core::{Tensor, Var};

    /// The gradients of Σ ours · weight and of Σ theirs · weight with respect
    /// to each var, as (ours, theirs) pairs: how a fused kernel is checked
    /// against the composed ops it replaces.
    pub fn paired_grads(
        ours: &Tensor,
        theirs: &Tensor,
        weight: &Tensor,
        vars: &[&Var],
    ) -> Vec<(Tensor, Tensor)> {
        let grads = |y: &Tensor| {
            (y * weight)
                .and_then(|p| p.sum_all())
                .and_then(|s| s.backward())
                .expect("backward pass")
        };
        let (a, b) = (grads(ours), grads(theirs));
        vars.iter()
            .map(|v| {
                let get = |g: &candle_core::backprop::GradStore| {
                    g.get(v.as_tensor())
                        .expect("a gradient for every var")
                        .clone()
                };
                (get(&a), get(&b))
            })
            .collect()
    }

    /// The largest absolute element-wise difference of two f32 tensors.
    pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .and_then(|d| d.abs())
            .and_then(|d| d.flatten_all())
            .and_then(|d| d.max(0))
            .and_then(|d| d.to_scalar::<f32>())
            .expect("same shapes, f32")
    }
}
