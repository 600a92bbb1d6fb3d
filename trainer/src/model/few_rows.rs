//! `x Wᵀ`, the product of every linear layer, as one graph node on the CPU.
//!
//! For a handful of rows (a decoding step: one row per sequence) gemm packs W
//! for every call, which costs as much as the product itself. There each row of
//! W (out, in) is read once, straight from the layout PyTorch stores it in, and
//! dotted with every row of x while it sits in L1; blocks of output columns run
//! in parallel. More rows go to gemm. The backward pass is two ordinary matmuls.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::simd::{simd, Simd};

/// Rows of x up to which [`matmul_t`] takes this path on the CPU.
pub const FEW_ROWS: usize = 16;

/// Output columns per parallel task: enough work to amortize the hand-off.
const COLS_PER_TASK: usize = 64;

/// Below this many multiply-adds one thread is faster than waking the pool.
const PARALLEL_MIN_FMAS: usize = 1 << 18;

/// x (…, k) times the transpose of w (n, k): (…, n). For f32 on the CPU one
/// graph node (no reshapes or transposes around it, whose gradients candle
/// would zero-fill and add): the few-rows kernel up to [`FEW_ROWS`] rows, a
/// parallel gemm above. Elsewhere candle's matmul on the flattened rows.
pub fn matmul_t(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    if super::fused::all_cpu_f32(&[x, w]) && x.rank() >= 1 {
        return x.contiguous()?.apply_op2(&w.contiguous()?, MatmulT);
    }
    let dims = x.dims().to_vec();
    let k = dims.last().copied().unwrap_or(1);
    let y = x.reshape((x.elem_count() / k.max(1), k))?.matmul(&w.t()?)?;
    let mut out = dims;
    if let Some(last) = out.last_mut() {
        *last = w.dim(0)?;
    }
    y.reshape(out)
}

struct MatmulT;

impl CustomOp2 for MatmulT {
    fn name(&self) -> &'static str {
        "matmul-t"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let k = l1.dims().last().copied().unwrap_or(0);
        let (n, k2) = l2.shape().dims2()?;
        if k != k2 || k == 0 {
            candle_core::bail!("matmul: x has {k} columns, w has {k2}");
        }
        let x = super::fused::contiguous_f32(s1, l1)?;
        let w = super::fused::contiguous_f32(s2, l2)?;
        let m = x.len() / k;
        let y = if m <= FEW_ROWS {
            few_rows(x, m, w, n, k)
        } else {
            gemm_t(x, m, w, n, k)
        };
        let mut out = l1.dims().to_vec();
        if let Some(last) = out.last_mut() {
            *last = n;
        }
        Ok((CpuStorage::F32(y), Shape::from(out)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (n, k) = w.dims2()?;
        let rows = x.elem_count() / k.max(1);
        let g = grad.reshape((rows, n))?;
        // Only for inputs in the graph: a frozen weight must get no gradient.
        let grad_x = x
            .track_op()
            .then(|| g.matmul(w)?.reshape(x.shape()))
            .transpose()?;
        let grad_w = w
            .track_op()
            .then(|| g.t()?.matmul(&x.reshape((rows, k))?))
            .transpose()?;
        Ok((grad_x, grad_w))
    }
}

/// (m, n) = x (m, k) · w (n, k)ᵀ by gemm on the current thread pool.
fn gemm_t(x: &[f32], m: usize, w: &[f32], n: usize, k: usize) -> Vec<f32> {
    assert!(x.len() >= m * k && w.len() >= n * k);
    let mut out: Vec<f32> = Vec::with_capacity(m * n);
    // SAFETY: gemm reads x (m × k, row-major) and w as (k × n) with row stride 1
    // and column stride k, all in bounds (asserted above), and writes every
    // element of the m × n destination before anything reads it (read_dst is
    // false); the length is set after.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            x.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            k as isize,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(rayon::current_num_threads()),
        );
        out.set_len(m * n);
    }
    out
}

/// (m, n) = x (m, k) · w (n, k)ᵀ, all row-major.
fn few_rows(x: &[f32], m: usize, w: &[f32], n: usize, k: usize) -> Vec<f32> {
    let kernel = block_kernel();
    // Computed as (n, m) so that each task owns a contiguous block of output.
    let mut out_t = vec![0f32; n * m];
    let block = (COLS_PER_TASK * m).max(1);
    let task = |(c, out): (usize, &mut [f32])| {
        let first = c * COLS_PER_TASK * k;
        let rows = out.len() / m.max(1);
        kernel(x, &w[first..first + rows * k], k, out);
    };
    if m * n * k < PARALLEL_MIN_FMAS {
        out_t.chunks_mut(block).enumerate().for_each(task);
    } else {
        out_t.par_chunks_mut(block).enumerate().for_each(task);
    }
    let mut out = vec![0f32; m * n];
    for (j, col) in out_t.chunks(m.max(1)).enumerate() {
        for (i, &v) in col.iter().enumerate() {
            out[i * n + j] = v;
        }
    }
    out
}

/// Fills `out` (w_rows, m) with the dot products of every row of `w` with every
/// row of `x` (m, k).
pub(crate) type BlockFn = fn(x: &[f32], w: &[f32], k: usize, out: &mut [f32]);

/// The widest kernel this CPU runs ([`simd`]).
pub(crate) fn block_kernel() -> BlockFn {
    match simd() {
        // SAFETY (both): simd() checked the CPU for the features the kernel enables.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => |x, w, k, out| unsafe { block_avx512(x, w, k, out) },
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2Fma => |x, w, k, out| unsafe { block_avx2(x, w, k, out) },
        _ => block_portable,
    }
}

/// Rows of W dotted with one row of x per pass: independent accumulator chains
/// that hide the latency of the fused multiply-adds.
const W_TILE: usize = 4;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block_avx512(x: &[f32], w: &[f32], k: usize, out: &mut [f32]) {
    let m = x.len() / k;
    let full = k / 16 * 16;
    // Lanes of the last partial vector; the masked loads read nothing past the row.
    let tail_mask = ((1u32 << (k - full)) - 1) as u16;
    let dims = TileDims { k, full, tail_mask };
    for (tile_index, tile) in w.chunks(W_TILE * k).enumerate() {
        let first_out_row = tile_index * W_TILE;
        let mut put = |i: usize, t: usize, v: f32| out[(first_out_row + t) * m + i] = v;
        let mut i = 0;
        while i < m {
            let xp = x.as_ptr().add(i * k);
            if m - i >= X_TILE && tile.len() == W_TILE * k {
                let sums = tile_avx512::<X_TILE, W_TILE>(xp, tile.as_ptr(), dims);
                for (r, row) in sums.iter().enumerate() {
                    row.iter().enumerate().for_each(|(t, &v)| put(i + r, t, v));
                }
                i += X_TILE;
            } else {
                for t in 0..tile.len() / k {
                    let sums = tile_avx512::<1, 1>(xp, tile.as_ptr().add(t * k), dims);
                    put(i, t, sums[0][0]);
                }
                i += 1;
            }
        }
    }
}

/// Rows of x dotted with the W tile per pass: X_TILE × W_TILE accumulators
/// (16 vector registers) share each load.
const X_TILE: usize = 4;

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct TileDims {
    k: usize,
    /// k rounded down to whole vectors.
    full: usize,
    tail_mask: u16,
}

/// Dot products of R rows of x with T rows of W (rows k apart), as [r][t].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn tile_avx512<const R: usize, const T: usize>(
    x: *const f32,
    w: *const f32,
    dims: TileDims,
) -> [[f32; T]; R] {
    use std::arch::x86_64::*;
    let TileDims { k, full, tail_mask } = dims;
    let mut acc = [[_mm512_setzero_ps(); T]; R];
    let mut wv = [_mm512_setzero_ps(); T];
    let mut c = 0;
    while c <= full {
        let mask = if c < full { u16::MAX } else { tail_mask };
        if mask == 0 {
            break;
        }
        for (t, v) in wv.iter_mut().enumerate() {
            *v = _mm512_maskz_loadu_ps(mask, w.add(t * k + c));
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let xv = _mm512_maskz_loadu_ps(mask, x.add(r * k + c));
            for (a, v) in acc_r.iter_mut().zip(&wv) {
                *a = _mm512_fmadd_ps(xv, *v, *a);
            }
        }
        c += 16;
    }
    let mut sums = [[0f32; T]; R];
    for (s_r, acc_r) in sums.iter_mut().zip(&acc) {
        for (s, a) in s_r.iter_mut().zip(acc_r) {
            *s = _mm512_reduce_add_ps(*a);
        }
    }
    sums
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_avx2(x: &[f32], w: &[f32], k: usize, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let m = x.len() / k;
    let full = k / 8 * 8;
    for (tile_index, tile) in w.chunks(W_TILE * k).enumerate() {
        let rows = tile.len() / k;
        for i in 0..m {
            let xp = x.as_ptr().add(i * k);
            let mut acc = [_mm256_setzero_ps(); W_TILE];
            let mut c = 0;
            while c < full {
                let xv = _mm256_loadu_ps(xp.add(c));
                for (t, a) in acc.iter_mut().enumerate().take(rows) {
                    let wv = _mm256_loadu_ps(tile.as_ptr().add(t * k + c));
                    *a = _mm256_fmadd_ps(xv, wv, *a);
                }
                c += 8;
            }
            for (t, a) in acc.iter().enumerate().take(rows) {
                let mut lanes = [0f32; 8];
                _mm256_storeu_ps(lanes.as_mut_ptr(), *a);
                let tail: f32 = (full..k).map(|c| x[i * k + c] * tile[t * k + c]).sum();
                out[(tile_index * W_TILE + t) * m + i] = lanes.iter().sum::<f32>() + tail;
            }
        }
    }
}

/// Any CPU: a plain dot product per pair of rows.
fn block_portable(x: &[f32], w: &[f32], k: usize, out: &mut [f32]) {
    let m = (x.len() / k.max(1)).max(1);
    for (w_row, o) in w.chunks_exact(k.max(1)).zip(out.chunks_mut(m)) {
        for (x_row, oi) in x.chunks_exact(k.max(1)).zip(o.iter_mut()) {
            *oi = x_row.iter().zip(w_row).map(|(a, b)| a * b).sum();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{max_abs_diff, paired_grads};
    use candle_core::{Device, Var};

    /// Same values and gradients as candle's matmul, for shapes with a tail
    /// (k not a multiple of the lanes), one row, and more columns than a task.
    #[test]
    fn matches_matmul_in_value_and_gradient() {
        let dev = Device::Cpu;
        for (m, n, k) in [(1, 3, 5), (8, 200, 70), (16, 129, 256)] {
            let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (m, k), &dev).unwrap()).unwrap();
            let w = Var::from_tensor(&Tensor::randn(0f32, 1.0, (n, k), &dev).unwrap()).unwrap();
            let g = Tensor::randn(0f32, 1.0, (m, n), &dev).unwrap();
            let ours = matmul_t(x.as_tensor(), w.as_tensor()).unwrap();
            let reference = x.as_tensor().matmul(&w.as_tensor().t().unwrap()).unwrap();
            assert!(max_abs_diff(&ours, &reference) < 1e-4, "{m}x{n}x{k}");

            for (a, b) in paired_grads(&ours, &reference, &g, &[&x, &w]) {
                assert!(max_abs_diff(&a, &b) < 1e-4, "gradient {m}x{n}x{k}");
            }
        }
    }

    /// More rows take gemm; leading dimensions are kept; gradients as matmul's.
    #[test]
    fn many_rows_and_leading_dims_match_matmul() {
        let dev = Device::Cpu;
        let x =
            Var::from_tensor(&Tensor::randn(0f32, 1.0, (3, FEW_ROWS, 20), &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&Tensor::randn(0f32, 1.0, (7, 20), &dev).unwrap()).unwrap();
        let g = Tensor::randn(0f32, 1.0, (3, FEW_ROWS, 7), &dev).unwrap();
        let y = matmul_t(x.as_tensor(), w.as_tensor()).unwrap();
        assert_eq!(y.dims(), &[3, FEW_ROWS, 7]);
        let reference = x
            .as_tensor()
            .reshape((3 * FEW_ROWS, 20))
            .unwrap()
            .matmul(&w.as_tensor().t().unwrap())
            .unwrap()
            .reshape((3, FEW_ROWS, 7))
            .unwrap();
        assert!(max_abs_diff(&y, &reference) < 1e-5);
        for (a, b) in paired_grads(&y, &reference, &g, &[&x, &w]) {
            assert!(max_abs_diff(&a, &b) < 1e-4);
        }
    }
}
