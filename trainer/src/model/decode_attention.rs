//! Attention of one new query per sequence over its KV cache (a decoding step).
//!
//! The general path runs two batched matmuls, one per (sequence, KV head), plus
//! the masked softmax: dozens of tiny gemm calls per layer and step. Here one
//! task per (sequence, KV head) reads that head's cached keys and values in
//! place (views of the cache, no copies) and does scores, softmax and the
//! weighted sum in one go. Inference only: it has no backward pass, and the
//! model calls it only with a cache, which training never uses.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::fused::{CausalMask, HeadRows};

/// Below this many multiply-adds per step one thread is faster.
const PARALLEL_MIN_FMAS: usize = 1 << 15;

/// q (b, hq, 1, d) against k, v (b, hkv, s, d): (b, hq, 1, d). None unless the
/// inputs are f32 on the CPU and the query continues a cache (mask.offset > 0).
pub fn attend_one(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: &CausalMask,
    scale: f64,
) -> candle_core::Result<Option<Tensor>> {
    if mask.t != 1 || mask.offset == 0 || !super::fused::all_cpu_f32(&[q, k, v]) {
        return Ok(None);
    }
    let op = DecodeAttention {
        mask: Arc::new(mask.clone()),
        scale: scale as f32,
    };
    Ok(Some(q.contiguous()?.apply_op3_no_bwd(k, v, &op)?))
}

struct DecodeAttention {
    mask: Arc<CausalMask>,
    scale: f32,
}

impl CustomOp3 for DecodeAttention {
    fn name(&self) -> &'static str {
        "decode-attention"
    }

    fn cpu_fwd(
        &self,
        sq: &CpuStorage,
        lq: &Layout,
        sk: &CpuStorage,
        lk: &Layout,
        sv: &CpuStorage,
        lv: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let q = super::fused::contiguous_f32(sq, lq)?;
        let (b, hq, t, d) = lq.shape().dims4()?;
        let (_, hkv, s, _) = lk.shape().dims4()?;
        if t != 1 || hkv == 0 || hq % hkv != 0 || lv.dims() != lk.dims() {
            candle_core::bail!("decode attention: q {:?}, k {:?}", lq.dims(), lk.dims());
        }
        let (keys, values) = (HeadRows::new(sk, lk)?, HeadRows::new(sv, lv)?);
        if keys.stride_row != d || values.stride_row != d {
            candle_core::bail!("decode attention expects rows of head_dim in place");
        }
        let groups = hq / hkv;
        let dot_rows = super::few_rows::block_kernel();
        let mut out = vec![0f32; b * hq * d];
        // Task (sequence, KV head) owns the output rows of its query group.
        let task = |(i, o): (usize, &mut [f32])| {
            let (bi, kh) = (i / hkv, i % hkv);
            let (lo, hi) = self.mask.visible(bi, 0);
            let hi = hi.min(s);
            if lo >= hi {
                return; // nothing visible: zeros, as the general path gives
            }
            let n = hi - lo;
            let q_rows = &q[(bi * hq + kh * groups) * d..(bi * hq + (kh + 1) * groups) * d];
            // scores[j * groups + g] = q_g · k_j
            let mut scores = vec![0f32; n * groups];
            dot_rows(q_rows, keys.rows(bi, kh, lo, n, d), d, &mut scores);
            let vals = values.rows(bi, kh, lo, n, d);
            for (g, og) in o.chunks_mut(d).enumerate() {
                let max = (0..n).fold(f32::NEG_INFINITY, |m, j| m.max(scores[j * groups + g]));
                let mut sum = 0f32;
                let weights: Vec<f32> = (0..n)
                    .map(|j| {
                        let p = ((scores[j * groups + g] - max) * self.scale).exp();
                        sum += p;
                        p
                    })
                    .collect();
                for (p, v_row) in weights.iter().zip(vals.chunks_exact(d)) {
                    let p = p / sum;
                    og.iter_mut().zip(v_row).for_each(|(o, v)| *o += p * v);
                }
            }
        };
        let per_task = groups * d;
        if 2 * b * hq * s * d < PARALLEL_MIN_FMAS {
            out.chunks_mut(per_task).enumerate().for_each(task);
        } else {
            out.par_chunks_mut(per_task).enumerate().for_each(task);
        }
        Ok((CpuStorage::F32(out), lq.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ops::attention;
    use crate::test_util::max_abs_diff;
    use candle_core::Device;

    /// Equal to the general path for a query after 6 cached positions, with GQA,
    /// left padding, a sliding window, and k/v as views of a larger cache.
    #[test]
    fn matches_the_general_path() {
        let dev = Device::Cpu;
        let (b, hq, hkv, d, offset, cap) = (3, 4, 2, 8, 6, 10);
        let s = offset + 1;
        let q = Tensor::randn(0f32, 1.0, (b, hq, 1, d), &dev).unwrap();
        let k_cache = Tensor::randn(0f32, 1.0, (b, hkv, cap, d), &dev).unwrap();
        let v_cache = Tensor::randn(0f32, 1.0, (b, hkv, cap, d), &dev).unwrap();
        let (k, v) = (
            k_cache.narrow(2, 0, s).unwrap(),
            v_cache.narrow(2, 0, s).unwrap(),
        );
        for window in [None, Some(3)] {
            let mask = CausalMask {
                t: 1,
                offset,
                left_pad: vec![0, 2, 7],
                window,
            };
            assert!(attend_one(&q, &k, &v, &mask, 0.35).unwrap().is_some());
            let ours = attention(&q, &k, &v, &mask, 0.35).unwrap();
            // The general path, forced by a mask that does not continue a cache.
            let scores = q
                .reshape((b, hkv, hq / hkv, d))
                .unwrap()
                .matmul(&k.contiguous().unwrap().t().unwrap())
                .unwrap();
            let probs = super::super::fused::causal_softmax(&scores, &mask, 0.35).unwrap();
            let reference = probs
                .matmul(&v.contiguous().unwrap())
                .unwrap()
                .reshape((b, hq, 1, d))
                .unwrap();
            assert!(max_abs_diff(&ours, &reference) < 1e-5, "window {window:?}");
            // And the row whose every position is padding is zero.
            let padded = ours.get(2).unwrap().abs().unwrap().sum_all().unwrap();
            assert_eq!(padded.to_scalar::<f32>().unwrap(), 0.0);
        }
    }
}
