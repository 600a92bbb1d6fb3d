//! Rotate-half RoPE as one CPU kernel with its own backward pass.
//!
//! Composed from candle primitives it is seven ops (two narrows, a negation, a
//! concatenation, two products and a sum) per projection and layer, forward
//! and again backward; in a decoding step these tiny ops cost more than the
//! arithmetic. Here it is one pass over x, applied in the (b, t, heads, d)
//! layout the projections produce, before the transpose.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};

use super::fused::{contiguous_f32, for_each_block};

/// (b, t) positions per parallel task.
const POSITIONS_PER_TASK: usize = 64;

/// RoPE on x (b, t, heads, d) with cos, sin of shape (b, 1, t, d) (as
/// [`super::ops::rope_cos_sin`] makes them). None unless all are f32 on the CPU.
pub fn rope_bthd(x: &Tensor, cos: &Tensor, sin: &Tensor) -> candle_core::Result<Option<Tensor>> {
    if !super::fused::all_cpu_f32(&[x, cos, sin]) {
        return Ok(None);
    }
    let (b, t, _, d) = x.dims4()?;
    if cos.dims() != [b, 1, t, d] || sin.dims() != [b, 1, t, d] || d % 2 != 0 {
        return Ok(None);
    }
    let (cos, sin) = (cos.contiguous()?, sin.contiguous()?);
    Ok(Some(x.contiguous()?.apply_op3(&cos, &sin, Rope)?))
}

/// y = x·cos + rotate_half(x)·sin, where rotate_half(x) = [−x₂, x₁].
struct Rope;

/// Runs `row(position, out_row, x_row)` for every (b, t) position: rows of
/// heads × d values, in parallel blocks when there are many.
fn per_position<F>(out: &mut [f32], x: &[f32], row_len: usize, row: F)
where
    F: Fn(usize, &mut [f32], &[f32]) + Sync + Send,
{
    let block = POSITIONS_PER_TASK * row_len;
    for_each_block(out, block, |i, o| {
        let xs = &x[i * block..i * block + o.len()];
        for (k, (o_row, x_row)) in o.chunks_mut(row_len).zip(xs.chunks(row_len)).enumerate() {
            row(i * POSITIONS_PER_TASK + k, o_row, x_row);
        }
    });
}

fn check_shapes(lx: &Layout, lc: &Layout) -> candle_core::Result<(usize, usize)> {
    let (_, _, heads, d) = lx.shape().dims4()?;
    let (_, _, _, dc) = lc.shape().dims4()?;
    if d != dc || d % 2 != 0 {
        candle_core::bail!("rope: head_dim {d} against tables of {dc}");
    }
    Ok((heads, d))
}

impl CustomOp3 for Rope {
    fn name(&self) -> &'static str {
        "rope"
    }

    fn cpu_fwd(
        &self,
        sx: &CpuStorage,
        lx: &Layout,
        sc: &CpuStorage,
        lc: &Layout,
        ss: &CpuStorage,
        ls: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (heads, d) = check_shapes(lx, lc)?;
        let (x, cos, sin) = (
            contiguous_f32(sx, lx)?,
            contiguous_f32(sc, lc)?,
            contiguous_f32(ss, ls)?,
        );
        let half = d / 2;
        let mut out = vec![0f32; x.len()];
        per_position(&mut out, x, heads * d, |p, o_row, x_row| {
            let (c, s) = (&cos[p * d..(p + 1) * d], &sin[p * d..(p + 1) * d]);
            for (o, xh) in o_row.chunks_mut(d).zip(x_row.chunks(d)) {
                for j in 0..half {
                    o[j] = xh[j] * c[j] - xh[j + half] * s[j];
                    o[j + half] = xh[j + half] * c[j + half] + xh[j] * s[j + half];
                }
            }
        });
        Ok((CpuStorage::F32(out), lx.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // The tables are functions of the positions: no gradient for them.
        let tables = Tensor::cat(&[cos, sin], 1)?;
        let grad_x = grad
            .contiguous()?
            .apply_op2_no_bwd(&tables, &RopeBackward)?;
        Ok((Some(grad_x), None, None))
    }
}

/// dx₁ = g₁·cos₁ + g₂·sin₂, dx₂ = g₂·cos₂ − g₁·sin₁, from the gradient and the
/// tables stacked as (b, 2, t, d) = [cos, sin].
struct RopeBackward;

impl CustomOp2 for RopeBackward {
    fn name(&self) -> &'static str {
        "rope-backward"
    }

    fn cpu_fwd(
        &self,
        sg: &CpuStorage,
        lg: &Layout,
        st: &CpuStorage,
        lt: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (heads, d) = check_shapes(lg, lt)?;
        let (b, two, t, _) = lt.shape().dims4()?;
        if two != 2 {
            candle_core::bail!("rope backward: expected stacked cos and sin");
        }
        let (g, tables) = (contiguous_f32(sg, lg)?, contiguous_f32(st, lt)?);
        let half = d / 2;
        let mut out = vec![0f32; g.len()];
        per_position(&mut out, g, heads * d, |p, o_row, g_row| {
            let (bi, ti) = (p / t.max(1), p % t.max(1));
            if bi >= b {
                return;
            }
            let c0 = (bi * 2 * t + ti) * d;
            let s0 = ((bi * 2 + 1) * t + ti) * d;
            let (c, s) = (&tables[c0..c0 + d], &tables[s0..s0 + d]);
            for (o, gh) in o_row.chunks_mut(d).zip(g_row.chunks(d)) {
                for j in 0..half {
                    o[j] = gh[j] * c[j] + gh[j + half] * s[j + half];
                    o[j + half] = gh[j + half] * c[j + half] - gh[j] * s[j];
                }
            }
        });
        Ok((CpuStorage::F32(out), lg.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ops::{apply_rope, rope_cos_sin, rope_inv_freq};
    use crate::test_util::{max_abs_diff, paired_grads};
    use candle_core::{DType, Device, Var};

    /// Same values and input gradient as the composed rotate-half, with two
    /// sequences at different positions and more positions than one task.
    #[test]
    fn matches_primitives_in_value_and_gradient() {
        let dev = Device::Cpu;
        let (b, t, heads, d) = (2, POSITIONS_PER_TASK + 5, 3, 8);
        let pos: Vec<u32> = (0..b * t).map(|i| (i % t + 7 * (i / t)) as u32).collect();
        let pos = Tensor::from_vec(pos, (b, t), &dev).unwrap();
        let inv = Tensor::new(rope_inv_freq(d, 10000.0, 1.0), &dev).unwrap();
        let (cos, sin) = rope_cos_sin(&pos, &inv, DType::F32).unwrap();
        let x =
            Var::from_tensor(&Tensor::randn(0f32, 1.0, (b, t, heads, d), &dev).unwrap()).unwrap();
        let g = Tensor::randn(0f32, 1.0, (b, t, heads, d), &dev).unwrap();

        let ours = rope_bthd(x.as_tensor(), &cos, &sin).unwrap().unwrap();
        let theirs = apply_rope(&x.as_tensor().transpose(1, 2).unwrap(), &cos, &sin)
            .unwrap()
            .transpose(1, 2)
            .unwrap();
        assert!(max_abs_diff(&ours, &theirs) < 1e-6);
        for (ga, gb) in paired_grads(&ours, &theirs, &g, &[&x]) {
            assert!(max_abs_diff(&ga, &gb) < 1e-5);
        }
    }
}
