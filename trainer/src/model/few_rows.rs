//! `x Wᵀ` for a handful of rows (a decoding step: one row per sequence), where
//! gemm would pack W for every call at the cost of the product itself. Each
//! row of W (out, in) is read once, straight from the layout PyTorch stores it
//! in, and dotted with every row of x while it sits in L1; blocks of output
//! columns run in parallel. [`super::linear`] sends more rows to gemm.

use rayon::prelude::*;

use super::simd::{simd, Simd};

/// Rows of x up to which [`super::linear`] takes this path on the CPU.
pub const FEW_ROWS: usize = 16;

/// Output columns per parallel task: enough work to amortize the hand-off.
const COLS_PER_TASK: usize = 64;

/// Below this many multiply-adds one thread is faster than waking the pool.
const PARALLEL_MIN_FMAS: usize = 1 << 18;

/// (m, n) = x (m, k) · w (n, k)ᵀ, all row-major.
pub(crate) fn few_rows(x: &[f32], m: usize, w: &[f32], n: usize, k: usize) -> Vec<f32> {
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
