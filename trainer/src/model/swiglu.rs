//! The MLP's gate, silu(gate) · up, as one CPU kernel with its own backward.
//!
//! candle's silu backward alone builds the sigmoid and its derivative from
//! several full-size ops; with the product that is about ten passes over the
//! (tokens × intermediate) activations per layer. Here: one forward pass, one
//! backward pass that returns both gradients.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};

use super::fused::{contiguous_f32, for_each_block};
use super::vexp;

/// Elements per parallel task.
const PER_TASK: usize = 1 << 14;

/// silu(gate) · up for f32 tensors of one shape on the CPU; None otherwise.
pub fn swiglu(gate: &Tensor, up: &Tensor) -> candle_core::Result<Option<Tensor>> {
    if !super::fused::all_cpu_f32(&[gate, up]) || gate.shape() != up.shape() {
        return Ok(None);
    }
    Ok(Some(
        gate.contiguous()?.apply_op2(&up.contiguous()?, SwiGlu)?,
    ))
}

/// `f(first_element, out_chunk)` over chunks of [`PER_TASK`] elements.
fn chunked<F>(out: &mut [f32], f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    for_each_block(out, PER_TASK, |i, o| f(i * PER_TASK, o));
}

struct SwiGlu;

impl CustomOp2 for SwiGlu {
    fn name(&self) -> &'static str {
        "swiglu"
    }

    fn cpu_fwd(
        &self,
        sg: &CpuStorage,
        lg: &Layout,
        su: &CpuStorage,
        lu: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (g, u) = (contiguous_f32(sg, lg)?, contiguous_f32(su, lu)?);
        let mut out = vec![0f32; g.len()];
        chunked(&mut out, |start, o| {
            let (g, u) = (&g[start..start + o.len()], &u[start..start + o.len()]);
            vexp::sigmoid(g, o);
            for ((y, &gv), &uv) in o.iter_mut().zip(g).zip(u) {
                *y *= gv * uv;
            }
        });
        Ok((CpuStorage::F32(out), lg.shape().clone()))
    }

    fn bwd(
        &self,
        gate: &Tensor,
        up: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let both = gate.apply_op3_no_bwd(up, &grad.contiguous()?, &SwiGluBackward)?;
        let n = gate.elem_count();
        let grad_gate = both.narrow(0, 0, n)?.reshape(gate.shape())?;
        let grad_up = both.narrow(0, n, n)?.reshape(up.shape())?;
        Ok((
            gate.track_op().then_some(grad_gate),
            up.track_op().then_some(grad_up),
        ))
    }
}

/// [d gate; d up] flat: d gate = g · up · σ(x)(1 + x(1 − σ(x))), d up = g · silu(x).
struct SwiGluBackward;

impl CustomOp3 for SwiGluBackward {
    fn name(&self) -> &'static str {
        "swiglu-backward"
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
        let (x, u, g) = (
            contiguous_f32(s1, l1)?,
            contiguous_f32(s2, l2)?,
            contiguous_f32(s3, l3)?,
        );
        if x.len() != u.len() || x.len() != g.len() {
            candle_core::bail!("swiglu backward: shapes differ");
        }
        let n = x.len();
        let mut out = vec![0f32; 2 * n];
        let (d_gate, d_up) = out.split_at_mut(n);
        chunked(d_gate, |start, o| {
            let range = start..start + o.len();
            vexp::sigmoid(&x[range.clone()], o);
            for ((d, &xv), (&uv, &gv)) in o
                .iter_mut()
                .zip(&x[range.clone()])
                .zip(u[range.clone()].iter().zip(&g[range]))
            {
                let s = *d;
                *d = gv * uv * s * (1.0 + xv * (1.0 - s));
            }
        });
        chunked(d_up, |start, o| {
            let range = start..start + o.len();
            vexp::sigmoid(&x[range.clone()], o);
            for ((d, &xv), &gv) in o.iter_mut().zip(&x[range.clone()]).zip(&g[range]) {
                *d *= gv * xv;
            }
        });
        Ok((CpuStorage::F32(out), Shape::from(2 * n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{max_abs_diff, paired_grads};
    use candle_core::{Device, Var};

    #[test]
    fn matches_primitives_in_value_and_gradient() {
        let dev = Device::Cpu;
        for shape in [(2, 3, 5), (3, 100, 70)] {
            let gate = Var::from_tensor(&Tensor::randn(0f32, 3.0, shape, &dev).unwrap()).unwrap();
            let up = Var::from_tensor(&Tensor::randn(0f32, 1.0, shape, &dev).unwrap()).unwrap();
            let w = Tensor::randn(0f32, 1.0, shape, &dev).unwrap();
            let ours = swiglu(gate.as_tensor(), up.as_tensor()).unwrap().unwrap();
            let theirs = (gate.as_tensor().silu().unwrap() * up.as_tensor()).unwrap();
            assert!(max_abs_diff(&ours, &theirs) < 1e-5);
            for (a, b) in paired_grads(&ours, &theirs, &w, &[&gate, &up]) {
                assert!(max_abs_diff(&a, &b) < 1e-4, "{shape:?}");
            }
        }
    }
}
