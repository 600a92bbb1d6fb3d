//! A linear layer, `x Wᵀ + b`, as one graph node on the CPU.
//!
//! candle's backward pass starts every node's gradient as zeros and adds to
//! it, so each node costs two passes over its output on top of its own work:
//! a bias as a separate broadcast add (plus a single-threaded reduction for
//! its gradient) was several percent of a training step. Here the bias is
//! written into the output before gemm accumulates onto it, and the backward
//! pass computes the gradients of x, W and b in one op, with gemm writing
//! straight into uninitialized buffers. Few rows (decoding) take
//! [`super::few_rows`]; other devices and dtypes compose candle's ops.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::few_rows::{few_rows, FEW_ROWS};
use super::fused::{all_cpu_f32, contiguous_f32};
use super::matrix::{gemm_into, on_pool, View};

/// x (…, k) times the transpose of w (n, k): (…, n).
pub fn matmul_t(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    linear(x, w, None)
}

/// x (…, k) · w (n, k)ᵀ + b (n): (…, n), leading dimensions kept.
pub fn linear(x: &Tensor, w: &Tensor, bias: Option<&Tensor>) -> candle_core::Result<Tensor> {
    let cpu = all_cpu_f32(&[x, w]) && bias.is_none_or(|b| all_cpu_f32(&[b]));
    if cpu && x.rank() >= 1 {
        let (x, w) = (x.contiguous()?, w.contiguous()?);
        return match bias {
            None => x.apply_op2(&w, Linear),
            Some(b) => x.apply_op3(&w, &b.contiguous()?, Linear),
        };
    }
    let dims = x.dims().to_vec();
    let k = dims.last().copied().unwrap_or(1);
    let y = x.reshape((x.elem_count() / k.max(1), k))?.matmul(&w.t()?)?;
    let mut out = dims;
    if let Some(last) = out.last_mut() {
        *last = w.dim(0)?;
    }
    let y = y.reshape(out)?;
    match bias {
        Some(b) => y.broadcast_add(b),
        None => Ok(y),
    }
}

struct Linear;

impl Linear {
    fn forward(
        x: (&CpuStorage, &Layout),
        w: (&CpuStorage, &Layout),
        bias: Option<(&CpuStorage, &Layout)>,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let k = x.1.dims().last().copied().unwrap_or(0);
        let (n, k2) = w.1.shape().dims2()?;
        if k != k2 || k == 0 {
            candle_core::bail!("linear: x has {k} columns, w has {k2}");
        }
        let bias = bias.map(|(s, l)| contiguous_f32(s, l)).transpose()?;
        if bias.is_some_and(|b| b.len() != n) {
            candle_core::bail!("linear: the bias does not have {n} elements");
        }
        let xs = contiguous_f32(x.0, x.1)?;
        let ws = contiguous_f32(w.0, w.1)?;
        let m = xs.len() / k;
        let y = if m <= FEW_ROWS {
            let mut y = few_rows(xs, m, ws, n, k);
            if let Some(b) = bias {
                for row in y.chunks_mut(n) {
                    row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
                }
            }
            y
        } else {
            let mut y: Vec<f32> = Vec::with_capacity(m * n);
            if let Some(b) = bias {
                (0..m).for_each(|_| y.extend_from_slice(b));
            }
            let lhs = View::rows(xs, k);
            // w (n, k) read as its transpose (k, n).
            let rhs = View::transposed(ws, k);
            // SAFETY: y has room for m × n; gemm writes all of it (adding to
            // the bias rows when there is a bias, which filled it).
            unsafe {
                gemm_into(
                    y.as_mut_ptr(),
                    (m, n, k),
                    lhs,
                    rhs,
                    bias.is_some(),
                    on_pool(),
                )
            };
            // SAFETY: every element was written above.
            unsafe { y.set_len(m * n) };
            y
        };
        let mut out = x.1.dims().to_vec();
        if let Some(last) = out.last_mut() {
            *last = n;
        }
        Ok((CpuStorage::F32(y), Shape::from(out)))
    }

    /// Gradients of x, w and b (where tracked) from one backward op.
    fn backward(
        x: &Tensor,
        w: &Tensor,
        bias: Option<&Tensor>,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // Only for inputs in the graph: a frozen weight must get no gradient.
        let wanted = Wanted {
            x: x.track_op(),
            w: w.track_op(),
            b: bias.is_some_and(|b| b.track_op()),
        };
        if !(wanted.x || wanted.w || wanted.b) {
            return Ok((None, None, None));
        }
        let (n, k) = w.dims2()?;
        let rows = x.elem_count() / k.max(1);
        let packed = x.apply_op3_no_bwd(w, &grad.contiguous()?, &LinearGrads(wanted))?;
        let mut at = 0;
        let mut take = |want: bool, len: usize, shape: &Shape| -> candle_core::Result<_> {
            if !want {
                return Ok(None);
            }
            let t = packed.narrow(0, at, len)?.reshape(shape)?;
            at += len;
            Ok(Some(t))
        };
        let gx = take(wanted.x, rows * k, x.shape())?;
        let gw = take(wanted.w, n * k, w.shape())?;
        let gb = match bias {
            Some(b) => take(wanted.b, n, b.shape())?,
            None => None,
        };
        Ok((gx, gw, gb))
    }
}

impl CustomOp2 for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        Self::forward((s1, l1), (s2, l2), None)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (gx, gw, _) = Self::backward(x, w, None, grad)?;
        Ok((gx, gw))
    }
}

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "linear-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        Self::forward((s1, l1), (s2, l2), Some((s3, l3)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        Self::backward(x, w, Some(b), grad)
    }
}

#[derive(Clone, Copy)]
struct Wanted {
    x: bool,
    w: bool,
    b: bool,
}

/// The wanted gradients of x (rows, k), w (n, k) and b (n) from the output's
/// gradient g (rows, n), packed one after the other in that order:
/// dx = g w, dw = gᵀ x, db = the column sums of g.
struct LinearGrads(Wanted);

impl CustomOp3 for LinearGrads {
    fn name(&self) -> &'static str {
        "linear-grads"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, w, g) = (
            contiguous_f32(s1, l1)?,
            contiguous_f32(s2, l2)?,
            contiguous_f32(s3, l3)?,
        );
        let (n, k) = l2.shape().dims2()?;
        let rows = x.len() / k.max(1);
        if g.len() != rows * n || rows * k != x.len() {
            candle_core::bail!("linear backward: gradient of {} for {rows} × {n}", g.len());
        }
        let Wanted {
            x: want_x,
            w: want_w,
            b: want_b,
        } = self.0;
        let len = want_x as usize * rows * k + want_w as usize * n * k + want_b as usize * n;
        let mut out: Vec<f32> = Vec::with_capacity(len);
        let base = out.as_mut_ptr();
        let mut at = 0;
        if want_x {
            // SAFETY: [at, at + rows·k) lies within the capacity; gemm writes all of it.
            unsafe {
                gemm_into(
                    base.add(at),
                    (rows, k, n),
                    View::rows(g, n),
                    View::rows(w, k),
                    false,
                    on_pool(),
                )
            };
            at += rows * k;
        }
        if want_w {
            // gᵀ: element (i, r) is g[r·n + i].
            let gt = View::transposed(g, n);
            // SAFETY: [at, at + n·k) lies within the capacity; gemm writes all of it.
            unsafe {
                gemm_into(
                    base.add(at),
                    (n, k, rows),
                    gt,
                    View::rows(x, k),
                    false,
                    on_pool(),
                )
            };
            at += n * k;
        }
        if want_b {
            let sums = column_sums(g, n);
            // SAFETY: [at, at + n) lies within the capacity.
            unsafe { std::ptr::copy_nonoverlapping(sums.as_ptr(), base.add(at), n) };
            at += n;
        }
        debug_assert_eq!(at, len);
        // SAFETY: every element of [0, len) was written above.
        unsafe { out.set_len(len) };
        Ok((CpuStorage::F32(out), Shape::from(len)))
    }
}

/// Columns per task of [`column_sums`]: one AVX-512 vector.
const SUM_COLS: usize = 16;

/// The sums of the columns of g (rows, n), each over the rows in order (the
/// same result at any thread count).
fn column_sums(g: &[f32], n: usize) -> Vec<f32> {
    let rows = g.len() / n.max(1);
    let mut sums = vec![0f32; n];
    sums.par_chunks_mut(SUM_COLS)
        .enumerate()
        .for_each(|(c, block)| {
            let c0 = c * SUM_COLS;
            for r in 0..rows {
                let row = &g[r * n + c0..r * n + c0 + block.len()];
                block.iter_mut().zip(row).for_each(|(s, v)| *s += v);
            }
        });
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{max_abs_diff, paired_grads};
    use candle_core::{Device, Var};

    fn var(shape: &[usize]) -> Var {
        Var::from_tensor(&Tensor::randn(0f32, 1.0, shape, &Device::Cpu).unwrap()).unwrap()
    }

    fn reference(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Tensor {
        let dims = x.dims().to_vec();
        let k = *dims.last().unwrap();
        let y = x
            .reshape((x.elem_count() / k, k))
            .unwrap()
            .matmul(&w.t().unwrap())
            .unwrap();
        let mut out = dims;
        *out.last_mut().unwrap() = w.dim(0).unwrap();
        let y = y.reshape(out).unwrap();
        match b {
            Some(b) => y.broadcast_add(b).unwrap(),
            None => y,
        }
    }

    /// Same values and gradients as candle's matmul (+ broadcast bias), for
    /// shapes with a tail (k not a multiple of the lanes), one row, the
    /// few-rows path and gemm's, leading dimensions, with and without bias.
    #[test]
    fn matches_the_composed_ops_in_value_and_gradient() {
        for (lead, n, k) in [
            (vec![1], 3, 5),
            (vec![8], 200, 70),
            (vec![16], 129, 256),
            (vec![3, FEW_ROWS], 7, 20),
            (vec![2, 33], 40, 17),
        ] {
            let x = var(&[lead.clone(), vec![k]].concat());
            let w = var(&[n, k]);
            let b = var(&[n]);
            let g =
                Tensor::randn(0f32, 1.0, [lead.clone(), vec![n]].concat(), &Device::Cpu).unwrap();
            for bias in [None, Some(b.as_tensor())] {
                let ours = linear(x.as_tensor(), w.as_tensor(), bias).unwrap();
                let theirs = reference(x.as_tensor(), w.as_tensor(), bias);
                assert_eq!(ours.dims(), theirs.dims());
                assert!(max_abs_diff(&ours, &theirs) < 1e-4, "{lead:?}x{n}x{k}");
                let vars: Vec<&Var> = match bias {
                    Some(_) => vec![&x, &w, &b],
                    None => vec![&x, &w],
                };
                for (a, c) in paired_grads(&ours, &theirs, &g, &vars) {
                    assert!(max_abs_diff(&a, &c) < 1e-3, "gradient {lead:?}x{n}x{k}");
                }
            }
        }
    }

    /// A frozen weight and bias (plain tensors) get no gradient; x still does.
    #[test]
    fn frozen_weights_get_no_gradient() {
        let x = var(&[40, 12]);
        let w = Tensor::randn(0f32, 1.0, (9, 12), &Device::Cpu).unwrap();
        let b = Tensor::randn(0f32, 1.0, 9, &Device::Cpu).unwrap();
        let grads = linear(x.as_tensor(), &w, Some(&b))
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert!(grads.get(&w).is_none() && grads.get(&b).is_none());
        let gx = grads.get(x.as_tensor()).expect("x is trainable");
        // d(sum)/dx = the column sums of w, on every row.
        let expect = w
            .sum(0)
            .unwrap()
            .unsqueeze(0)
            .unwrap()
            .repeat((40, 1))
            .unwrap();
        assert!(max_abs_diff(gx, &expect) < 1e-4);
    }

    #[test]
    fn column_sums_add_every_row() {
        let g: Vec<f32> = (0..5 * 37).map(|v| v as f32).collect();
        let sums = column_sums(&g, 37);
        for (j, s) in sums.iter().enumerate() {
            let expect: f32 = (0..5).map(|r| (r * 37 + j) as f32).sum();
            assert_eq!(*s, expect);
        }
    }
}
