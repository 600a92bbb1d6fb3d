//! RMSNorm as one CPU kernel with its own backward pass.
//!
//! Composed from candle primitives, a norm is six element-wise passes forward
//! and a dozen backward, each allocating a full-size tensor; a model has two
//! per layer. Here the forward pass is one read and one write of x, and the
//! backward pass one read of x and of the incoming gradient.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::fused::{contiguous_f32, for_each_block};

/// Rows per parallel task; fixed, so that the weight gradient, summed per
/// block and then across blocks in order, does not depend on the thread count.
const ROWS_PER_TASK: usize = 64;

/// y = x / sqrt(mean(x²) + eps) · w over the last dimension, for contiguous
/// f32 x (…, h) and w (h) on the CPU. None when the kernel does not apply.
pub fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> candle_core::Result<Option<Tensor>> {
    let h = w.elem_count();
    let fits = x.dims().last() == Some(&h) && h > 0 && super::fused::all_cpu_f32(&[x, w]);
    if !fits {
        return Ok(None);
    }
    let op = RmsNorm { eps: eps as f32 };
    Ok(Some(x.contiguous()?.apply_op2(&w.contiguous()?, op)?))
}

#[derive(Clone, Copy)]
struct RmsNorm {
    eps: f32,
}

impl RmsNorm {
    fn inv_rms(&self, row: &[f32]) -> f32 {
        let sum_sq: f32 = row.iter().map(|v| v * v).sum();
        1.0 / (sum_sq / row.len() as f32 + self.eps).sqrt()
    }
}

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "rms-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s1, l1)?;
        let w = contiguous_f32(s2, l2)?;
        let h = w.len();
        let mut out = vec![0f32; x.len()];
        for_each_block(&mut out, ROWS_PER_TASK * h, |block, o| {
            let first_row = block * ROWS_PER_TASK;
            let x = &x[first_row * h..first_row * h + o.len()];
            for (yr, xr) in o.chunks_mut(h).zip(x.chunks(h)) {
                let r = self.inv_rms(xr);
                for ((y, &v), &wj) in yr.iter_mut().zip(xr).zip(w) {
                    *y = v * r * wj;
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let h = w.elem_count();
        let rows = x.elem_count() / h;
        let both = x.apply_op3_no_bwd(w, &grad.contiguous()?, &RmsNormBackward(*self))?;
        // Only for inputs in the graph: a frozen norm weight must get no gradient.
        let grad_x = x
            .track_op()
            .then(|| both.narrow(0, 0, rows)?.reshape(x.shape()))
            .transpose()?;
        let grad_w = w
            .track_op()
            .then(|| both.narrow(0, rows, 1)?.reshape(w.shape()))
            .transpose()?;
        Ok((grad_x, grad_w))
    }
}

/// (rows + 1, h): the gradient of x row by row, then the gradient of w.
///
/// With n = x·r and gw = g ⊙ w: dx = r · (gw − n · mean(gw ⊙ n)), dw = Σ g ⊙ n.
struct RmsNormBackward(RmsNorm);

impl CustomOp3 for RmsNormBackward {
    fn name(&self) -> &'static str {
        "rms-norm-backward"
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
        let x = contiguous_f32(s1, l1)?;
        let w = contiguous_f32(s2, l2)?;
        let g = contiguous_f32(s3, l3)?;
        let h = w.len();
        if x.len() != g.len() || x.len() % h != 0 {
            candle_core::bail!("rms-norm backward: shapes differ");
        }
        let rows = x.len() / h;
        let mut out = vec![0f32; x.len() + h];
        let (dx, dw) = out.split_at_mut(x.len());
        let block = ROWS_PER_TASK * h;
        // Each block returns its partial weight gradient; summed in block order.
        let block_grads = |(i, o): (usize, &mut [f32])| -> Vec<f32> {
            let start = i * block;
            let (xb, gb) = (&x[start..start + o.len()], &g[start..start + o.len()]);
            let mut dw_part = vec![0f32; h];
            for ((dxr, xr), gr) in o.chunks_mut(h).zip(xb.chunks(h)).zip(gb.chunks(h)) {
                let r = self.0.inv_rms(xr);
                let mut dot = 0f32;
                for ((&xv, &gv), &wv) in xr.iter().zip(gr).zip(w) {
                    dot += gv * wv * xv * r;
                }
                let mean = dot / h as f32;
                for (j, (d, (&xv, &gv))) in dxr.iter_mut().zip(xr.iter().zip(gr)).enumerate() {
                    let n = xv * r;
                    *d = r * (gv * w[j] - n * mean);
                    dw_part[j] += gv * n;
                }
            }
            dw_part
        };
        let parts: Vec<Vec<f32>> = if rows <= ROWS_PER_TASK {
            dx.chunks_mut(block).enumerate().map(block_grads).collect()
        } else {
            dx.par_chunks_mut(block)
                .enumerate()
                .map(block_grads)
                .collect()
        };
        for part in parts {
            dw.iter_mut().zip(part).for_each(|(a, b)| *a += b);
        }
        Ok((CpuStorage::F32(out), Shape::from((rows + 1, h))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{max_abs_diff, paired_grads};
    use candle_core::{DType, Device, Var, D};

    fn reference(x: &Tensor, w: &Tensor, eps: f64) -> Tensor {
        let variance = x.sqr().unwrap().mean_keepdim(D::Minus1).unwrap();
        let inv = (variance + eps).unwrap().sqrt().unwrap().recip().unwrap();
        x.broadcast_mul(&inv).unwrap().broadcast_mul(w).unwrap()
    }

    /// Same values and gradients as the composed norm, with more rows than one
    /// task (the parallel path and the blockwise weight gradient).
    #[test]
    fn matches_primitives_in_value_and_gradient() {
        let dev = Device::Cpu;
        for (rows, h) in [(3, 5), (2 * ROWS_PER_TASK + 7, 48)] {
            let x = Var::from_tensor(&Tensor::randn(0f32, 2.0, (rows, h), &dev).unwrap()).unwrap();
            let w = Var::from_tensor(&Tensor::randn(1f32, 0.3, h, &dev).unwrap()).unwrap();
            let g = Tensor::randn(0f32, 1.0, (rows, h), &dev).unwrap();
            let ours = rms_norm(x.as_tensor(), w.as_tensor(), 1e-6)
                .unwrap()
                .expect("f32 on the CPU");
            let theirs = reference(x.as_tensor(), w.as_tensor(), 1e-6);
            assert!(max_abs_diff(&ours, &theirs) < 1e-5);
            for (ga, gb) in paired_grads(&ours, &theirs, &g, &[&x, &w]) {
                let tol = 1e-4
                    * (1.0
                        + gb.abs()
                            .unwrap()
                            .max_all()
                            .unwrap()
                            .to_scalar::<f32>()
                            .unwrap());
                assert!(max_abs_diff(&ga, &gb) < tol, "gradient, {rows} rows of {h}");
            }
        }
    }

    #[test]
    fn other_dtypes_are_left_to_the_primitives() {
        let dev = Device::Cpu;
        let x = Tensor::ones((2, 4), DType::F64, &dev).unwrap();
        let w = Tensor::ones(4, DType::F64, &dev).unwrap();
        assert!(rms_norm(&x, &w, 1e-6).unwrap().is_none());
    }
}
