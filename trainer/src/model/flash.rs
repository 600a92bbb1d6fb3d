//! Causal attention over key blocks with an online softmax (FlashAttention's
//! algorithm, on the CPU), forward and backward.
//!
//! The composed path materializes the (t × s) scores and probabilities of every
//! head and keeps them for the backward pass: at 8k tokens that is 256 MiB per
//! head and layer, and half of it is masked anyway. Here each block of 64
//! queries walks the key blocks it can see, keeping a running maximum and sum,
//! and only the output and one log-sum-exp per query are kept. The backward
//! pass recomputes each block's probabilities from those. Blocks wholly in the
//! future are never computed.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::fused::{CausalMask, HeadRows};
use super::matrix::{matmul, View};
use super::vexp;

/// Queries per block.
const BLOCK_Q: usize = 64;
/// Keys per block: a whole training sequence of 512 in one, so that each
/// block of queries makes two large products instead of many small ones
/// (gemm's per-call cost and the online softmax's rescaling dominated at 64).
const BLOCK_K: usize = 512;

/// Attention of q (b, hq, t, d) over k, v (b, hkv, s, d) under `mask`, as
/// (b, hq, t, d). None unless all are f32 on the CPU.
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: &CausalMask,
    scale: f64,
) -> candle_core::Result<Option<Tensor>> {
    if !super::fused::all_cpu_f32(&[q, k, v]) {
        return Ok(None);
    }
    let d = q.dim(3)?;
    let op = Flash {
        mask: Arc::new(mask.clone()),
        scale: scale as f32,
    };
    // q, k and v are read in place through their strides: the transposed
    // views of the projections and the KV cache need no copies.
    let out_and_lse = q.apply_op3(k, v, op)?;
    Ok(Some(out_and_lse.narrow(3, 0, d)?))
}

struct Flash {
    mask: Arc<CausalMask>,
    scale: f32,
}

/// Sizes of one call, checked once.
#[derive(Clone, Copy)]
struct Dims {
    b: usize,
    hq: usize,
    hkv: usize,
    t: usize,
    s: usize,
    d: usize,
}

impl Dims {
    fn new(q: &[usize], k: &[usize], v: &[usize]) -> candle_core::Result<Self> {
        let (&[b, hq, t, d], &[bk, hkv, s, dk]) = (q, k) else {
            candle_core::bail!("flash attention: q {q:?}, k {k:?}");
        };
        if bk != b || dk != d || v != k || hkv == 0 || hq % hkv != 0 || d == 0 {
            candle_core::bail!("flash attention: q {q:?}, k {k:?}, v {v:?}");
        }
        Ok(Self {
            b,
            hq,
            hkv,
            t,
            s,
            d,
        })
    }

    /// Offset of row `i` of query head `h` of sequence `bi`, in rows.
    fn q_row(&self, bi: usize, h: usize, i: usize) -> usize {
        (bi * self.hq + h) * self.t + i
    }
}

/// Rows of a strided input as a matrix for [`matmul`].
fn rows_view<'a>(x: &HeadRows<'a>, b: usize, h: usize, r0: usize, n: usize, d: usize) -> View<'a> {
    View {
        data: x.rows(b, h, r0, n, d),
        rs: x.stride_row,
        cs: 1,
    }
}

/// What the backward pass reads of the forward one: the output rows (d values
/// and the log-sum-exp) and their gradient, in the same layout.
#[derive(Clone, Copy)]
struct Saved<'a> {
    out: &'a [f32],
    grad: &'a [f32],
}

/// The gradients one backward task owns: its query heads' rows, its KV
/// head's keys and values.
struct HeadGrads<'a> {
    dq: &'a mut [f32],
    dk: &'a mut [f32],
    dv: &'a mut [f32],
}

impl Flash {
    /// The visible keys [lo, hi) of query i of sequence bi, clamped to s.
    fn visible(&self, bi: usize, i: usize, s: usize) -> (usize, usize) {
        let (lo, hi) = self.mask.visible(bi, i);
        (lo.min(s), hi.min(s))
    }

    /// Scales the scores of queries i0.. against keys j0.. (in place) where
    /// they are visible, and returns each row's visible columns [a, b) of the
    /// block (a = b when none are); the rest of a row is left as it was and
    /// must not be read.
    fn visible_scores(
        &self,
        scores: &mut [f32],
        bi: usize,
        (i0, j0): (usize, usize),
        nk: usize,
        s: usize,
    ) -> [(usize, usize); BLOCK_Q] {
        let mut ranges = [(0, 0); BLOCK_Q];
        for (r, row) in scores.chunks_mut(nk).enumerate() {
            let (lo, hi) = self.visible(bi, i0 + r, s);
            let b = hi.saturating_sub(j0).min(nk);
            let a = lo.saturating_sub(j0).min(b);
            row[a..b].iter_mut().for_each(|x| *x *= self.scale);
            ranges[r] = (a, b);
        }
        ranges
    }

    /// Turns scaled scores into exp(score − shift) on the visible columns and
    /// zero elsewhere; returns the sum of the row.
    fn exp_visible(row: &mut [f32], (a, b): (usize, usize), shift: f32) -> f32 {
        row[..a].fill(0.0);
        row[b..].fill(0.0);
        let visible = &mut row[a..b];
        vexp::exp_shifted(visible, shift);
        vexp::sum(visible)
    }

    /// The key range any of queries i0..i1 sees.
    fn key_range(&self, bi: usize, i0: usize, i1: usize, s: usize) -> (usize, usize) {
        (i0..i1)
            .map(|i| self.visible(bi, i, s))
            .filter(|(lo, hi)| lo < hi)
            .fold((usize::MAX, 0), |(a, b), (lo, hi)| (a.min(lo), b.max(hi)))
    }

    /// One (sequence, query head): rows of d outputs and their log-sum-exp.
    fn forward_head(&self, dims: Dims, bi: usize, h: usize, x: [HeadRows; 3], out: &mut [f32]) {
        let [q, k, v] = x;
        let Dims { t, s, d, .. } = dims;
        let kv = h / (dims.hq / dims.hkv);
        let mut scores = vec![0f32; BLOCK_Q * BLOCK_K];
        let mut acc = vec![0f32; BLOCK_Q * d];
        for i0 in (0..t).step_by(BLOCK_Q) {
            let nq = BLOCK_Q.min(t - i0);
            let q_blk = rows_view(&q, bi, h, i0, nq, d);
            let mut max = vec![f32::NEG_INFINITY; nq];
            let mut sum = vec![0f32; nq];
            acc[..nq * d].fill(0.0);
            let (jlo, jhi) = self.key_range(bi, i0, i0 + nq, s);
            for j0 in (jlo..jhi).step_by(BLOCK_K) {
                let nk = BLOCK_K.min(jhi - j0);
                let k_blk = rows_view(&k, bi, kv, j0, nk, d);
                let v_blk = rows_view(&v, bi, kv, j0, nk, d);
                let sc = &mut scores[..nq * nk];
                matmul(sc, nq, nk, d, q_blk, k_blk.t(), false);
                let ranges = self.visible_scores(sc, bi, (i0, j0), nk, s);
                for (r, row) in sc.chunks_mut(nk).enumerate() {
                    let (a, b) = ranges[r];
                    if a == b {
                        row.fill(0.0);
                        continue;
                    }
                    let new_max = max[r].max(vexp::max(&row[a..b]));
                    let keep = (max[r] - new_max).exp();
                    let row_sum = Self::exp_visible(row, (a, b), new_max);
                    sum[r] = sum[r] * keep + row_sum;
                    max[r] = new_max;
                    acc[r * d..(r + 1) * d].iter_mut().for_each(|a| *a *= keep);
                }
                matmul(&mut acc, nq, d, nk, View::rows(sc, nk), v_blk, true);
            }
            for r in 0..nq {
                let o = &mut out[(i0 + r) * (d + 1)..(i0 + r + 1) * (d + 1)];
                if sum[r] > 0.0 {
                    let inv = 1.0 / sum[r];
                    for (oc, a) in o[..d].iter_mut().zip(&acc[r * d..(r + 1) * d]) {
                        *oc = a * inv;
                    }
                    o[d] = max[r] + sum[r].ln();
                } else {
                    // No visible key: zero output, and a log-sum-exp that makes
                    // every recomputed probability zero in the backward pass.
                    o[..d].fill(0.0);
                    o[d] = f32::INFINITY;
                }
            }
        }
    }
}

impl CustomOp3 for Flash {
    fn name(&self) -> &'static str {
        "flash-attention"
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
        let dims = Dims::new(lq.dims(), lk.dims(), lv.dims())?;
        let inputs = [
            HeadRows::new(sq, lq)?,
            HeadRows::new(sk, lk)?,
            HeadRows::new(sv, lv)?,
        ];
        let Dims { b, hq, t, d, .. } = dims;
        let mut out = vec![0f32; b * hq * t * (d + 1)];
        out.par_chunks_mut((t * (d + 1)).max(1))
            .enumerate()
            .for_each(|(head, o)| self.forward_head(dims, head / hq, head % hq, inputs, o));
        Ok((CpuStorage::F32(out), Shape::from((b, hq, t, d + 1))))
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let dims = Dims::new(q.dims(), k.dims(), v.dims())?;
        let grad = grad.contiguous()?;
        // Read in place (q, k, v through their strides), no copies.
        let guards = [q, k, v, res, &grad].map(|t| t.storage_and_layout());
        let cpu = |i: usize| match &*guards[i].0 {
            candle_core::Storage::Cpu(s) => Ok((s, guards[i].1)),
            _ => candle_core::bail!("flash attention: backward on the CPU only"),
        };
        let x = [0, 1, 2].map(|i| cpu(i).and_then(|(s, l)| HeadRows::new(s, l)));
        let [xq, xk, xv] = x;
        let (so, lo) = cpu(3)?;
        let (sg, lg) = cpu(4)?;
        let saved = Saved {
            out: super::fused::contiguous_f32(so, lo)?,
            grad: super::fused::contiguous_f32(sg, lg)?,
        };
        let (dq, dk, dv) = self.backward(dims, [xq?, xk?, xv?], saved);
        drop(guards);
        let dev = q.device();
        let track = |x: &Tensor, data: Vec<f32>| -> candle_core::Result<Option<Tensor>> {
            x.track_op()
                .then(|| Tensor::from_vec(data, x.shape(), dev))
                .transpose()
        };
        Ok((track(q, dq)?, track(k, dk)?, track(v, dv)?))
    }
}

impl Flash {
    /// Gradients of q, k and v from the forward output `out` (rows of d values
    /// and the log-sum-exp) and its gradient `g` (same layout; the log-sum-exp
    /// column is not an output, its gradient is ignored). One task per
    /// (sequence, KV head) owns the gradients of its keys, values and queries.
    fn backward(
        &self,
        dims: Dims,
        x: [HeadRows; 3],
        saved: Saved,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let Dims {
            b,
            hq,
            hkv,
            t,
            s,
            d,
        } = dims;
        let groups = hq / hkv;
        // Task (sequence, KV head) owns contiguous blocks of all three
        // gradients: its query heads' rows, its keys' and values' rows.
        let mut dq = vec![0f32; b * hq * t * d];
        let mut dk = vec![0f32; b * hkv * s * d];
        let mut dv = vec![0f32; b * hkv * s * d];
        dq.par_chunks_mut((groups * t * d).max(1))
            .zip(dk.par_chunks_mut((s * d).max(1)))
            .zip(dv.par_chunks_mut((s * d).max(1)))
            .enumerate()
            .for_each(|(task, ((dq, dk), dv))| {
                let (bi, kv) = (task / hkv, task % hkv);
                let mut grads = HeadGrads { dq, dk, dv };
                for gi in 0..groups {
                    self.backward_head(dims, bi, (kv, gi), x, saved, &mut grads);
                }
            });
        (dq, dk, dv)
    }

    /// Query head `gi` of KV head `kv` (whose keys and values `x.k`, `x.v`
    /// are): adds its share to `grads`.
    fn backward_head(
        &self,
        dims: Dims,
        bi: usize,
        (kv, gi): (usize, usize),
        x: [HeadRows; 3],
        saved: Saved,
        grads: &mut HeadGrads,
    ) {
        let Dims { t, s, d, .. } = dims;
        let h = kv * (dims.hq / dims.hkv) + gi;
        let [q, k, v] = x;
        let Saved { out, grad: g } = saved;
        let dq = &mut grads.dq[gi * t * d..(gi + 1) * t * d];
        let (dk, dv) = (&mut *grads.dk, &mut *grads.dv);
        let row = |i: usize| dims.q_row(bi, h, i);
        let mut p = vec![0f32; BLOCK_Q * BLOCK_K];
        let mut dp = vec![0f32; BLOCK_Q * BLOCK_K];
        let mut q_blk = vec![0f32; BLOCK_Q * d];
        let mut do_blk = vec![0f32; BLOCK_Q * d];
        for i0 in (0..t).step_by(BLOCK_Q) {
            let nq = BLOCK_Q.min(t - i0);
            let q_rows = q.rows(bi, h, i0, nq, d);
            for (r, dst) in q_blk[..nq * d].chunks_mut(d).enumerate() {
                dst.copy_from_slice(&q_rows[r * q.stride_row..r * q.stride_row + d]);
            }
            // dO rows (the log-sum-exp column dropped) and Dᵢ = dOᵢ · Oᵢ.
            let mut lse = vec![0f32; nq];
            let mut delta = vec![0f32; nq];
            for r in 0..nq {
                let at = row(i0 + r) * (d + 1);
                let (o, go) = (&out[at..at + d], &g[at..at + d]);
                do_blk[r * d..(r + 1) * d].copy_from_slice(go);
                delta[r] = o.iter().zip(go).map(|(a, b)| a * b).sum();
                lse[r] = out[at + d];
            }
            let (jlo, jhi) = self.key_range(bi, i0, i0 + nq, s);
            for j0 in (jlo..jhi).step_by(BLOCK_K) {
                let nk = BLOCK_K.min(jhi - j0);
                let k_blk = rows_view(&k, bi, kv, j0, nk, d);
                let v_blk = rows_view(&v, bi, kv, j0, nk, d);
                let (p, dp) = (&mut p[..nq * nk], &mut dp[..nq * nk]);
                matmul(
                    p,
                    nq,
                    nk,
                    d,
                    View::rows(&q_blk[..nq * d], d),
                    k_blk.t(),
                    false,
                );
                let ranges = self.visible_scores(p, bi, (i0, j0), nk, s);
                for (r, prow) in p.chunks_mut(nk).enumerate() {
                    Self::exp_visible(prow, ranges[r], lse[r]);
                }
                // dV += Pᵀ dO
                let dv_blk = &mut dv[j0 * d..(j0 + nk) * d];
                matmul(
                    dv_blk,
                    nk,
                    d,
                    nq,
                    View::transposed(p, nk),
                    View::rows(&do_blk[..nq * d], d),
                    true,
                );
                // dP = dO Vᵀ, then dS = P ⊙ (dP − D) · scale (in dp)
                matmul(
                    dp,
                    nq,
                    nk,
                    d,
                    View::rows(&do_blk[..nq * d], d),
                    v_blk.t(),
                    false,
                );
                for (r, (dprow, prow)) in dp.chunks_mut(nk).zip(p.chunks(nk)).enumerate() {
                    for (x, &pv) in dprow.iter_mut().zip(prow) {
                        *x = pv * (*x - delta[r]) * self.scale;
                    }
                }
                // dQ += dS K, dK += dSᵀ Q
                let dq_blk = &mut dq[i0 * d..(i0 + nq) * d];
                matmul(dq_blk, nq, d, nk, View::rows(dp, nk), k_blk, true);
                let dk_blk = &mut dk[j0 * d..(j0 + nk) * d];
                matmul(
                    dk_blk,
                    nk,
                    d,
                    nq,
                    View::transposed(dp, nk),
                    View::rows(&q_blk[..nq * d], d),
                    true,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ops::attention_bias;
    use crate::model::ops::softmax_last_dim;
    use crate::test_util::{max_abs_diff, paired_grads};
    use candle_core::{Device, Var};

    fn reference(q: &Tensor, k: &Tensor, v: &Tensor, mask: &CausalMask, scale: f64) -> Tensor {
        let (q, k, v) = (
            &q.contiguous().unwrap(),
            &k.contiguous().unwrap(),
            &v.contiguous().unwrap(),
        );
        let (b, hq, t, d) = q.dims4().unwrap();
        let (_, hkv, s, _) = k.dims4().unwrap();
        let groups = hq / hkv;
        let k = k
            .unsqueeze(2)
            .unwrap()
            .broadcast_as((b, hkv, groups, s, d))
            .unwrap();
        let k = k.reshape((b, hq, s, d)).unwrap();
        let v = v
            .unsqueeze(2)
            .unwrap()
            .broadcast_as((b, hkv, groups, s, d))
            .unwrap();
        let v = v.reshape((b, hq, s, d)).unwrap();
        let scores = (q.matmul(&k.t().unwrap()).unwrap() * scale).unwrap();
        let bias = attention_bias(t, mask.offset, &mask.left_pad, mask.window, q.device())
            .unwrap()
            .unwrap()
            .squeeze(1)
            .unwrap();
        let probs = softmax_last_dim(&scores.broadcast_add(&bias).unwrap()).unwrap();
        // Rows with no visible key are zero, as in the fused path.
        let any = bias
            .max_keepdim(3)
            .unwrap()
            .gt(-1e29)
            .unwrap()
            .to_dtype(q.dtype())
            .unwrap();
        probs.broadcast_mul(&any).unwrap().matmul(&v).unwrap()
    }

    /// Values and all three gradients equal the composed attention, over more
    /// than one block, with GQA, left padding (one row wholly padding), a
    /// cache offset and a sliding window.
    #[test]
    fn matches_the_composed_attention() {
        let dev = Device::Cpu;
        let (b, hq, hkv, t, d) = (2, 4, 2, BLOCK_K + 9, 8);
        for (offset, window, pads) in [(0, None, vec![0, 3]), (5, Some(20), vec![2, 0])] {
            let s = offset + t;
            let mask = CausalMask {
                t,
                offset,
                left_pad: pads,
                window,
            };
            let var = |shape: (usize, usize, usize, usize)| {
                Var::from_tensor(&Tensor::randn(0f32, 1.0, shape, &dev).unwrap()).unwrap()
            };
            // Inputs as the model hands them in: q a transposed view of the
            // (b, t, heads, d) projection, k and v views of a longer cache.
            let (q, k, v) = (
                var((b, t, hq, d)),
                var((b, hkv, s + 3, d)),
                var((b, hkv, s + 3, d)),
            );
            let qv = q.as_tensor().transpose(1, 2).unwrap();
            let kv = k.as_tensor().narrow(2, 0, s).unwrap();
            let vv = v.as_tensor().narrow(2, 0, s).unwrap();
            let w = Tensor::randn(0f32, 1.0, (b, hq, t, d), &dev).unwrap();
            let ours = attention(&qv, &kv, &vv, &mask, 0.3).unwrap().unwrap();
            let theirs = reference(&qv, &kv, &vv, &mask, 0.3);
            assert!(max_abs_diff(&ours, &theirs) < 1e-5, "offset {offset}");
            let grads = paired_grads(&ours, &theirs, &w, &[&q, &k, &v]);
            for (name, (a, r)) in ["q", "k", "v"].into_iter().zip(grads) {
                assert!(
                    max_abs_diff(&a, &r) < 1e-4,
                    "d{name}, offset {offset}: {}",
                    max_abs_diff(&a, &r)
                );
            }
        }
    }
}
