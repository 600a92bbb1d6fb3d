//! Fused CPU kernels with their own backward pass, used where the composition
//! of candle primitives is slow (each primitive is a separate, single-threaded
//! element-wise pass that autograd keeps alive). Each one has a reference
//! implementation from primitives in `ops.rs` that the tests compare it with,
//! and which other devices use.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

/// Below this many elements a kernel runs on the calling thread: handing a
/// decoding step's few rows to the thread pool costs more than it saves.
const PARALLEL_MIN_ELEMS: usize = 1 << 15;

/// Whether every tensor is f32 on the CPU: where the fused kernels apply.
pub(crate) fn all_cpu_f32(tensors: &[&Tensor]) -> bool {
    tensors
        .iter()
        .all(|t| t.device().is_cpu() && t.dtype() == candle_core::DType::F32)
}

/// Runs `f(block_index, block)` over `out` in blocks of `block_len`, in
/// parallel when there is more than one block.
pub(crate) fn for_each_block<F>(out: &mut [f32], block_len: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    let block_len = block_len.max(1);
    if out.len() <= block_len {
        f(0, out);
    } else {
        out.par_chunks_mut(block_len)
            .enumerate()
            .for_each(|(i, block)| f(i, block));
    }
}

/// A (b, heads, rows, d) tensor read in place through its strides, d
/// contiguous: the transposed views of the projections and the KV cache's
/// views go into the attention kernels without copies.
#[derive(Clone, Copy)]
pub(crate) struct HeadRows<'a> {
    data: &'a [f32],
    start: usize,
    stride_b: usize,
    stride_h: usize,
    /// Distance between consecutive rows of one head (d when they are packed).
    pub(crate) stride_row: usize,
}

impl<'a> HeadRows<'a> {
    pub(crate) fn new(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<Self> {
        let st = layout.stride();
        if st.len() != 4 || st[3] != 1 {
            candle_core::bail!(
                "attention: expected (b, heads, rows, d) with d contiguous, strides {st:?}"
            );
        }
        Ok(Self {
            data: storage.as_slice::<f32>()?,
            start: layout.start_offset(),
            stride_b: st[0],
            stride_h: st[1],
            stride_row: st[2],
        })
    }

    /// Rows r0..r0 + n of head h of sequence b (d values each): the slice from
    /// the first value of the first row to the last value of the last.
    pub(crate) fn rows(&self, b: usize, h: usize, r0: usize, n: usize, d: usize) -> &'a [f32] {
        let first = self.start + b * self.stride_b + h * self.stride_h + r0 * self.stride_row;
        let len = if n == 0 {
            0
        } else {
            (n - 1) * self.stride_row + d
        };
        &self.data[first..first + len]
    }
}

/// Which keys each query row of an attention score matrix may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CausalMask {
    /// New queries per sequence.
    pub t: usize,
    /// Cached positions before them.
    pub offset: usize,
    /// Left padding of each batch row (empty: none).
    pub left_pad: Vec<usize>,
    pub window: Option<usize>,
}

impl CausalMask {
    /// The visible keys [lo, hi) of query i in batch row `batch`.
    pub fn visible(&self, batch: usize, i: usize) -> (usize, usize) {
        let q = self.offset + i;
        let pad = self.left_pad.get(batch).copied().unwrap_or(0);
        let from_window = self.window.map_or(0, |w| (q + 1).saturating_sub(w));
        (pad.max(from_window), q + 1)
    }
}

/// softmax(scale · scores) over the last dimension with the causal mask applied,
/// for f32 scores of shape (b, heads, rows, s) where rows = groups × t (query
/// index = row mod t). Masked entries are exactly 0; a row with no visible key is 0.
pub fn causal_softmax(
    scores: &Tensor,
    mask: &CausalMask,
    scale: f32,
) -> candle_core::Result<Tensor> {
    let dims = scores.dims();
    if dims.len() != 4 {
        candle_core::bail!("causal_softmax expects (b, heads, rows, s), got {dims:?}");
    }
    let rows_per_batch = dims[1] * dims[2];
    scores.contiguous()?.apply_op1(CausalSoftmax {
        mask: Arc::new(mask.clone()),
        rows_per_batch,
        scale,
    })
}

struct CausalSoftmax {
    mask: Arc<CausalMask>,
    rows_per_batch: usize,
    scale: f32,
}

pub(crate) fn contiguous_f32<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&s.as_slice::<f32>()?[start..end]),
        None => candle_core::bail!("fused kernel expects a contiguous f32 tensor"),
    }
}

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "causal-softmax"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout)?;
        let s = layout.dims().last().copied().unwrap_or(1).max(1);
        let t = self.mask.t.max(1);
        let mut out = vec![0f32; x.len()];
        let row = |(r, (o, xr)): (usize, (&mut [f32], &[f32]))| {
            let (lo, hi) = self.mask.visible(r / self.rows_per_batch.max(1), r % t);
            let hi = hi.min(s);
            if lo >= hi {
                return;
            }
            let max = xr[lo..hi].iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) * self.scale;
            let mut sum = 0f32;
            for (oj, &xj) in o[lo..hi].iter_mut().zip(&xr[lo..hi]) {
                *oj = (xj * self.scale - max).exp();
                sum += *oj;
            }
            let inv = 1.0 / sum;
            o[lo..hi].iter_mut().for_each(|v| *v *= inv);
        };
        if x.len() < PARALLEL_MIN_ELEMS {
            out.chunks_mut(s).zip(x.chunks(s)).enumerate().for_each(row);
        } else {
            out.par_chunks_mut(s)
                .zip(x.par_chunks(s))
                .enumerate()
                .for_each(row);
        }
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let grad = res.apply_op2_no_bwd(
            &grad_res.contiguous()?,
            &SoftmaxBackward { scale: self.scale },
        )?;
        Ok(Some(grad))
    }
}

/// d scores = scale · p ⊙ (g − Σⱼ pⱼ gⱼ), row by row.
struct SoftmaxBackward {
    scale: f32,
}

impl CustomOp2 for SoftmaxBackward {
    fn name(&self) -> &'static str {
        "causal-softmax-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let p = contiguous_f32(s1, l1)?;
        let g = contiguous_f32(s2, l2)?;
        if p.len() != g.len() {
            candle_core::bail!("softmax backward: shapes differ");
        }
        let s = l1.dims().last().copied().unwrap_or(1).max(1);
        let mut out = vec![0f32; p.len()];
        let row = |(o, (pr, gr)): (&mut [f32], (&[f32], &[f32]))| {
            let dot: f32 = pr.iter().zip(gr).map(|(a, b)| a * b).sum();
            for ((oj, &pj), &gj) in o.iter_mut().zip(pr).zip(gr) {
                *oj = self.scale * pj * (gj - dot);
            }
        };
        if p.len() < PARALLEL_MIN_ELEMS {
            out.chunks_mut(s)
                .zip(p.chunks(s).zip(g.chunks(s)))
                .for_each(row);
        } else {
            out.par_chunks_mut(s)
                .zip(p.par_chunks(s).zip(g.par_chunks(s)))
                .for_each(row);
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ops::{attention_bias, softmax_last_dim};
    use candle_core::{Device, Var};

    /// Fused and primitive masked softmax agree in value and gradient, with a KV
    /// offset, left padding and a sliding window.
    #[test]
    fn fused_causal_softmax_matches_primitives() {
        let (b, heads, groups, t, offset) = (2, 2, 2, 5, 3);
        let s = offset + t;
        let mask = CausalMask {
            t,
            offset,
            left_pad: vec![0, 2],
            window: Some(4),
        };
        let dev = Device::Cpu;
        let x =
            Var::from_tensor(&Tensor::randn(0f32, 2.0, (b, heads, groups * t, s), &dev).unwrap())
                .unwrap();
        let w = Tensor::randn(0f32, 1.0, (b, heads, groups * t, s), &dev).unwrap();
        let scale = 0.7;

        let fused = causal_softmax(x.as_tensor(), &mask, scale).unwrap();
        let bias = attention_bias(t, offset, &mask.left_pad, mask.window, &dev)
            .unwrap()
            .unwrap();
        let reference = softmax_last_dim(
            &(x.as_tensor() * scale as f64)
                .unwrap()
                .reshape((b, heads, groups, t, s))
                .unwrap()
                .broadcast_add(&bias)
                .unwrap()
                .reshape((b, heads, groups * t, s))
                .unwrap(),
        )
        .unwrap();
        let diff = crate::test_util::max_abs_diff;
        assert!(diff(&fused, &reference) < 1e-6);

        let grads = crate::test_util::paired_grads(&fused, &reference, &w, &[&x]);
        let (gf, gr) = (&grads[0].0, &grads[0].1);
        assert!(diff(gf, gr) < 1e-5, "gradients differ by {}", diff(gf, gr));
        assert!(
            gf.abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
                > 0.1
        );
    }

    #[test]
    fn visible_ranges() {
        let m = CausalMask {
            t: 3,
            offset: 2,
            left_pad: vec![0, 3],
            window: Some(2),
        };
        assert_eq!(m.visible(0, 0), (1, 3));
        assert_eq!(m.visible(1, 0), (3, 3), "all padding: nothing visible");
        assert_eq!(m.visible(1, 2), (3, 5));
    }
}
