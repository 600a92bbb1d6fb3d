//! The numerical building blocks of the decoder, written with differentiable
//! candle ops only (candle-nn's fused `rms_norm`, `softmax_last_dim` and `rope`
//! have no backward pass). Each block is one function so that a fused kernel
//! with its own backward pass can replace it without touching the model.

use candle_core::{DType, Device, Tensor, D};

use super::fused::{self, CausalMask};
use crate::error::Result;

/// Added to the attention score of a masked key. Finite, so that a query row
/// with every key masked (left padding) gives a uniform row, not NaN.
const MASKED: f32 = -1e30;

/// RMSNorm as transformers computes it: normalize in f32, cast back, then scale.
/// f32 on the CPU takes the fused kernel of [`super::rms_norm`].
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Result<Tensor> {
    if let Some(y) = super::rms_norm::rms_norm(x, weight, eps)? {
        return Ok(y);
    }
    let dtype = x.dtype();
    let x32 = x.to_dtype(DType::F32)?;
    let variance = x32.sqr()?.mean_keepdim(D::Minus1)?;
    let inv_rms = (variance + eps)?.sqrt()?.recip()?;
    let normed = x32.broadcast_mul(&inv_rms)?.to_dtype(dtype)?;
    Ok(normed.broadcast_mul(weight)?)
}

/// Inverse frequencies of rotary embeddings, computed in f32 like transformers.
pub fn rope_inv_freq(head_dim: usize, theta: f64, linear_factor: f64) -> Vec<f32> {
    let base = theta as f32;
    (0..head_dim / 2)
        .map(|i| 1.0 / base.powf((2 * i) as f32 / head_dim as f32) / linear_factor as f32)
        .collect()
}

/// cos and sin of shape (b, 1, t, head_dim) for positions of shape (b, t).
pub fn rope_cos_sin(
    positions: &Tensor,
    inv_freq: &Tensor,
    dtype: DType,
) -> Result<(Tensor, Tensor)> {
    let freqs = positions
        .to_dtype(DType::F32)?
        .unsqueeze(D::Minus1)?
        .broadcast_mul(inv_freq)?;
    let emb = Tensor::cat(&[&freqs, &freqs], D::Minus1)?;
    let cos = emb.cos()?.to_dtype(dtype)?.unsqueeze(1)?;
    let sin = emb.sin()?.to_dtype(dtype)?.unsqueeze(1)?;
    Ok((cos, sin))
}

/// Rotate-half RoPE on x of shape (b, t, heads, head_dim), returned as
/// (b, heads, t, head_dim): the fused kernel of [`super::rope`] for f32 on the
/// CPU, else [`apply_rope`] after the transpose.
pub fn rope_then_transpose(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    match super::rope::rope_bthd(x, cos, sin)? {
        Some(y) => Ok(y.transpose(1, 2)?),
        None => apply_rope(&x.transpose(1, 2)?, cos, sin),
    }
}

/// Rotate-half RoPE on x of shape (b, heads, t, head_dim).
pub fn apply_rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let half = x.dim(D::Minus1)? / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
    Ok((x.broadcast_mul(cos)? + rotated.broadcast_mul(sin)?)?)
}

/// Softmax over the last dimension from primitives. The max is detached: the
/// result does not depend on it, so no gradient needs to flow through it.
pub fn softmax_last_dim(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let exp = x.broadcast_sub(&max)?.exp()?;
    let sum = exp.sum_keepdim(D::Minus1)?;
    Ok(exp.broadcast_div(&sum)?)
}

/// log-sum-exp over the last dimension (kept), detached max as in `softmax_last_dim`.
pub fn log_sum_exp_last_dim(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let sum = x.broadcast_sub(&max)?.exp()?.sum_keepdim(D::Minus1)?;
    Ok((sum.log()? + max)?)
}

/// Scaled dot-product causal attention with grouped KV heads, without copying K/V per group.
///
/// q: (b, hq, t, d); k, v: (b, hkv, s, d) with hq a multiple of hkv and s =
/// mask.offset + t. Scores and softmax are in f32 (as transformers' eager
/// attention). On the CPU in f32: one new query over a cache takes
/// [`super::decode_attention`], anything else the blockwise kernel of
/// [`super::flash`] (no (t × s) tensors kept). Other CPU dtypes use the fused
/// masked softmax; other devices compose primitives with an additive mask.
/// Returns (b, hq, t, d).
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: &CausalMask,
    scale: f64,
) -> Result<Tensor> {
    if let Some(out) = super::decode_attention::attend_one(q, k, v, mask, scale)? {
        return Ok(out);
    }
    if let Some(out) = super::flash::attention(q, k, v, mask, scale)? {
        return Ok(out);
    }
    let (b, hq, t, d) = q.dims4()?;
    let (_, hkv, s, _) = k.dims4()?;
    let groups = hq / hkv;
    // Query heads h = kv * groups + g share key head kv: fold the groups into the rows.
    let q = q.contiguous()?.reshape((b, hkv, groups * t, d))?;
    // A KV cache hands in views of a larger buffer: matmul takes them without a copy.
    let (k, v) = (matmul_ready(k)?, matmul_ready(v)?);
    let scores = q.matmul(&k.t()?)?.to_dtype(DType::F32)?;
    let probs = if scores.device().is_cpu() {
        fused::causal_softmax(&scores, mask, scale as f32)?
    } else {
        let scores = (scores * scale)?;
        match attention_bias(t, mask.offset, &mask.left_pad, mask.window, scores.device())? {
            Some(bias) => softmax_last_dim(
                &scores
                    .reshape((b, hkv, groups, t, s))?
                    .broadcast_add(&bias)?
                    .reshape((b, hkv, groups * t, s))?,
            )?,
            None => softmax_last_dim(&scores)?,
        }
    };
    let out = probs.to_dtype(v.dtype())?.matmul(&v)?;
    Ok(out.reshape((b, hq, t, d))?)
}

/// x itself when matmul accepts its layout (unit column stride, packed rows,
/// one uniform stride across the batch dims), else a contiguous copy.
fn matmul_ready(x: &Tensor) -> Result<Tensor> {
    let (dims, st) = (x.dims(), x.stride());
    let ready = match (dims, st) {
        ([b, h, _, c], [sb, sh, sr, 1]) => *sr == *c && (*sb == sh * h || *b == 1 || *h == 1),
        _ => x.is_contiguous(),
    };
    Ok(if ready { x.clone() } else { x.contiguous()? })
}

/// The additive attention mask for `t` new queries after `offset` cached positions,
/// of shape (b or 1, 1, 1, t, offset + t), or None when nothing is masked.
///
/// Query i (absolute index offset + i) sees key j when j <= offset + i, j is not
/// left padding of its row, and, with a sliding window w, offset + i - j < w.
pub fn attention_bias(
    t: usize,
    offset: usize,
    left_pad: &[usize],
    window: Option<usize>,
    device: &Device,
) -> Result<Option<Tensor>> {
    let s = offset + t;
    let padded = left_pad.iter().any(|&p| p > 0);
    let window_bites = window.is_some_and(|w| s > w);
    if t == 1 && !padded && !window_bites {
        return Ok(None);
    }
    let rows: Vec<usize> = if padded { left_pad.to_vec() } else { vec![0] };
    let mut data = Vec::with_capacity(rows.len() * t * s);
    for &pad in &rows {
        for i in 0..t {
            let q = offset + i;
            for j in 0..s {
                let visible = j <= q && j >= pad && window.is_none_or(|w| q - j < w);
                data.push(if visible { 0.0 } else { MASKED });
            }
        }
    }
    let b = rows.len();
    Ok(Some(Tensor::from_vec(data, (b, 1, 1, t, s), device)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_and_log_sum_exp_match_closed_form() {
        let x = Tensor::new(&[[1f32, 2.0, 3.0], [0.0, 0.0, -1e30]], &Device::Cpu).unwrap();
        let p = softmax_last_dim(&x).unwrap().to_vec2::<f32>().unwrap();
        let z: f32 = [1f32, 2.0, 3.0].iter().map(|v| v.exp()).sum();
        assert!((p[0][2] - 3f32.exp() / z).abs() < 1e-6);
        assert!((p[1][0] - 0.5).abs() < 1e-6 && p[1][2] == 0.0);
        let lse = log_sum_exp_last_dim(&x).unwrap().to_vec2::<f32>().unwrap();
        assert!((lse[0][0] - z.ln()).abs() < 1e-5);
    }

    #[test]
    fn bias_masks_future_padding_and_window() {
        let m = attention_bias(3, 1, &[0, 2], Some(2), &Device::Cpu)
            .unwrap()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let visible = |row: usize, i: usize, j: usize| m[(row * 3 + i) * 4 + j] == 0.0;
        // Row 0, query at absolute 1: keys 0, 1 (window 2).
        assert!(visible(0, 0, 0) && visible(0, 0, 1) && !visible(0, 0, 2));
        // Query at absolute 3 with window 2: keys 2, 3 only.
        assert!(!visible(0, 2, 1) && visible(0, 2, 2) && visible(0, 2, 3));
        // Row 1 has two padding keys.
        assert!(!visible(1, 0, 1) && visible(1, 1, 2));
        assert!(attention_bias(1, 5, &[0, 0], None, &Device::Cpu)
            .unwrap()
            .is_none());
    }
}
