//! exp over slices of f32, vectorized: the softmaxes of attention and of the
//! vocabulary call it hundreds of millions of times per training step, and
//! libm's scalar `expf` was a tenth of the step.
//!
//! Cephes' single-precision algorithm (range reduction to [−ln2/2, ln2/2] and a
//! degree-6 polynomial, relative error about 1e-7), written branch-free so the
//! compiler vectorizes it; the widest of AVX-512, AVX2 or plain code is picked
//! at run time.

use super::simd::{simd, Simd};

/// Below this, exp is under f32's smallest normal: 0 (as for −∞).
const MIN_ARG: f32 = -87.3;
/// Above this, exp overflows: +∞.
const MAX_ARG: f32 = 88.722_83;

/// a · b + c, as one fused multiply-add where the CPU has one (`FMA`: the
/// caller's target features include it; elsewhere `mul_add` is a slow call).
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[inline(always)]
fn exp_one<const FMA: bool>(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let clamped = x.clamp(MIN_ARG, MAX_ARG);
    let n = madd::<FMA>(clamped, LOG2E, 0.5).floor();
    let r = madd::<FMA>(-n, LN2_LO, madd::<FMA>(-n, LN2_HI, clamped));
    let z = r * r;
    let mut p = madd::<FMA>(1.987_569_1e-4, r, 1.398_199_9e-3);
    p = madd::<FMA>(p, r, 8.333_452e-3);
    p = madd::<FMA>(p, r, 4.166_579_6e-2);
    p = madd::<FMA>(p, r, 1.666_666_5e-1);
    p = madd::<FMA>(p, r, 0.5);
    let y = madd::<FMA>(p, z, r + 1.0);
    // n as an integer by the float-addition trick (exact for |n| < 2²²), which
    // vectorizes where `as i32` (saturating) does not; then 2ⁿ in two factors:
    // n reaches 128 just below the overflow threshold.
    const SHIFTER: f32 = 12_582_912.0; // 1.5 · 2²³
    let n = (n + SHIFTER).to_bits() as i32 - SHIFTER.to_bits() as i32;
    let half = n >> 1;
    let pow2 = |e: i32| f32::from_bits(((e + 127) << 23) as u32);
    let v = y * pow2(half) * pow2(n - half);
    if x < MIN_ARG {
        0.0
    } else if x > MAX_ARG {
        f32::INFINITY
    } else if x.is_nan() {
        x
    } else {
        v
    }
}

#[inline(always)]
fn exp_shifted_in_place<const FMA: bool>(xs: &mut [f32], shift: f32) {
    for x in xs.iter_mut() {
        *x = exp_one::<FMA>(*x - shift);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn exp_avx512(xs: &mut [f32], shift: f32) {
    exp_shifted_in_place::<true>(xs, shift)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn exp_avx2(xs: &mut [f32], shift: f32) {
    exp_shifted_in_place::<true>(xs, shift)
}

/// xs[i] ← exp(xs[i] − shift), in place.
pub fn exp_shifted(xs: &mut [f32], shift: f32) {
    match simd() {
        // SAFETY (both): simd() checked the CPU for the features the function enables.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { exp_avx512(xs, shift) },
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2Fma => unsafe { exp_avx2(xs, shift) },
        _ => exp_shifted_in_place::<false>(xs, shift),
    }
}

#[inline(always)]
fn sigmoid_of<const FMA: bool>(x: &[f32], out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = 1.0 / (1.0 + exp_one::<FMA>(-v));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn sigmoid_avx512(x: &[f32], out: &mut [f32]) {
    sigmoid_of::<true>(x, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sigmoid_avx2(x: &[f32], out: &mut [f32]) {
    sigmoid_of::<true>(x, out)
}

/// out[i] ← 1 / (1 + exp(−x[i])) (over the shorter of the two).
pub fn sigmoid(x: &[f32], out: &mut [f32]) {
    match simd() {
        // SAFETY (both): simd() checked the CPU for the features the function enables.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { sigmoid_avx512(x, out) },
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2Fma => unsafe { sigmoid_avx2(x, out) },
        _ => sigmoid_of::<false>(x, out),
    }
}

/// Sum with eight partial sums (a fixed order: the same on every run).
pub fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    let tail: f32 = chunks.remainder().iter().sum();
    acc.iter().sum::<f32>() + tail
}

/// The largest element (−∞ for none), with sixteen partial maxima so that it
/// vectorizes.
pub fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 16];
    let mut chunks = xs.chunks_exact(16);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    acc.iter().fold(tail, |m, &v| m.max(v))
}

/// Softmax of a row in place (max subtracted first); returns log Σ exp(row).
pub fn softmax_in_place(row: &mut [f32]) -> f32 {
    let max = max(row);
    if max == f32::NEG_INFINITY {
        row.fill(0.0);
        return f32::NEG_INFINITY;
    }
    exp_shifted(row, max);
    let total = sum(row);
    let inv = 1.0 / total;
    row.iter_mut().for_each(|v| *v *= inv);
    max + total.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_libm_over_the_whole_range() {
        let mut xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 * 0.045).collect();
        xs.extend([0.0, -0.0, 1e-8, -1e-8, 88.0, -87.0, 0.5, -0.5]);
        let mut ys = xs.clone();
        exp_shifted(&mut ys, 0.0);
        for (&x, &y) in xs.iter().zip(&ys) {
            let want = x.exp();
            let rel = ((y - want) / want.max(f32::MIN_POSITIVE)).abs();
            let close = y == want || rel < 3e-7 || (want < 1e-37 && y < 1e-37);
            assert!(close, "exp({x}) = {y}, libm {want}");
        }
    }

    #[test]
    fn edges_are_exact() {
        let mut xs = [
            f32::NEG_INFINITY,
            -1000.0,
            1000.0,
            f32::INFINITY,
            f32::NAN,
            0.0,
        ];
        exp_shifted(&mut xs, 0.0);
        assert_eq!(xs[..2], [0.0, 0.0]);
        assert_eq!(xs[2..4], [f32::INFINITY, f32::INFINITY]);
        assert!(xs[4].is_nan());
        assert_eq!(xs[5], 1.0);
    }

    #[test]
    fn sigmoid_matches_the_closed_form() {
        let xs: Vec<f32> = (-400..=400).map(|i| i as f32 * 0.25).collect();
        let mut ys = vec![0f32; xs.len()];
        sigmoid(&xs, &mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            let want = 1.0 / (1.0 + (-x).exp());
            assert!((y - want).abs() < 1e-6, "sigmoid({x}) = {y}, want {want}");
        }
    }

    #[test]
    fn softmax_sums_to_one_and_returns_the_log_sum_exp() {
        let mut row = vec![1.0f32, 2.0, 3.0, f32::NEG_INFINITY];
        let lse = softmax_in_place(&mut row);
        let want = (1f32.exp() + 2f32.exp() + 3f32.exp()).ln();
        assert!((lse - want).abs() < 1e-6);
        assert!((sum(&row) - 1.0).abs() < 1e-6);
        assert_eq!(row[3], 0.0);
        let mut masked = vec![f32::NEG_INFINITY; 3];
        assert_eq!(softmax_in_place(&mut masked), f32::NEG_INFINITY);
        assert_eq!(masked, vec![0.0; 3]);
    }
}
