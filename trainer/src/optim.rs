//! AdamW (decoupled weight decay, as `torch.optim.AdamW`), the cosine schedule
//! with linear warmup (as transformers' `get_cosine_schedule_with_warmup`),
//! global-norm gradient clipping, and the optimizer state on disk.
//!
//! Written here rather than taken from candle-nn because its AdamW hides its
//! moments (no checkpoint could hold them) and defaults to weight decay 0.01.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::error::{read_json, write_json, Error, Result};
use crate::model::weights;

pub const STATE_WEIGHTS: &str = "optimizer.safetensors";
pub const STATE_JSON: &str = "optimizer.json";

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Decoupled decay θ ← θ (1 − lr · wd), applied to matrices only (not to
    /// biases and norm weights, as transformers' Trainer does).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

struct Param {
    name: String,
    var: Var,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    decay: bool,
}

pub struct AdamW {
    cfg: AdamWConfig,
    params: Vec<Param>,
    /// Updates done so far (the bias corrections use step + 1 for the next one).
    step: usize,
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    step: usize,
    config: AdamWConfig,
    params: Vec<String>,
}

impl AdamW {
    pub fn new(vars: Vec<(String, Var)>, cfg: AdamWConfig) -> Result<Self> {
        let params = vars
            .into_iter()
            .map(|(name, var)| {
                let zeros = var.as_tensor().zeros_like()?.to_dtype(DType::F32)?;
                Ok(Param {
                    decay: var.rank() >= 2,
                    name,
                    var,
                    exp_avg: zeros.clone(),
                    exp_avg_sq: zeros,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            cfg,
            params,
            step: 0,
        })
    }

    pub fn config(&self) -> &AdamWConfig {
        &self.cfg
    }
    pub fn steps_done(&self) -> usize {
        self.step
    }
    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.params.iter().map(|p| &p.var)
    }

    /// One update with learning rate `lr`; `grads[i]` belongs to the i-th var
    /// (None: no gradient, the var is still decayed and its moments decay too).
    pub fn step(&mut self, grads: &[Option<Tensor>], lr: f64) -> Result<()> {
        if grads.len() != self.params.len() {
            return Err(Error::Train(format!(
                "{} gradients for {} parameters",
                grads.len(),
                self.params.len()
            )));
        }
        self.step += 1;
        let (b1, b2) = (self.cfg.beta1, self.cfg.beta2);
        let bc1 = 1.0 - b1.powi(self.step as i32);
        let bc2 = 1.0 - b2.powi(self.step as i32);
        let lr_f = lr;
        for (p, g) in self.params.iter_mut().zip(grads) {
            let decay = if p.decay { self.cfg.weight_decay } else { 0.0 };
            let k = Coefficients {
                b1: b1 as f32,
                b2: b2 as f32,
                keep: (1.0 - lr_f * decay) as f32,
                step: (lr_f / bc1) as f32,
                inv_bc2: (1.0 / bc2) as f32,
                eps: self.cfg.eps as f32,
            };
            if p.step_fused(g.as_ref(), k)? {
                continue;
            }
            let theta = p.var.as_tensor().to_dtype(DType::F32)?;
            let g = match g {
                Some(g) => g.to_dtype(DType::F32)?,
                None => theta.zeros_like()?,
            };
            p.exp_avg = ((&p.exp_avg * b1)? + (&g * (1.0 - b1))?)?;
            p.exp_avg_sq = ((&p.exp_avg_sq * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let decayed = if p.decay && self.cfg.weight_decay != 0.0 {
                (&theta * (1.0 - lr * self.cfg.weight_decay))?
            } else {
                theta
            };
            let denom = ((&p.exp_avg_sq / bc2)?.sqrt()? + self.cfg.eps)?;
            let update = ((&p.exp_avg / denom)? * (lr / bc1))?;
            let new = (decayed - update)?.to_dtype(p.var.dtype())?;
            p.var.set(&new)?;
        }
        Ok(())
    }

    /// Writes the moments (`optimizer.safetensors`) and the step count (`optimizer.json`).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut tensors = Vec::with_capacity(2 * self.params.len());
        for p in &self.params {
            tensors.push((format!("{}.exp_avg", p.name), p.exp_avg.clone()));
            tensors.push((format!("{}.exp_avg_sq", p.name), p.exp_avg_sq.clone()));
        }
        weights::write_safetensors(&dir.join(STATE_WEIGHTS), &tensors)?;
        write_json(
            &dir.join(STATE_JSON),
            &StateFile {
                step: self.step,
                config: self.cfg,
                params: self.params.iter().map(|p| p.name.clone()).collect(),
            },
        )
    }

    /// Restores what [`AdamW::save`] wrote; the parameters must match by name and shape.
    pub fn load(&mut self, dir: &Path) -> Result<()> {
        let state: StateFile = read_json(&dir.join(STATE_JSON))?;
        let path = dir.join(STATE_WEIGHTS);
        let device = self
            .params
            .first()
            .map(|p| p.var.device().clone())
            .unwrap_or(candle_core::Device::Cpu);
        let mut tensors: HashMap<String, Tensor> =
            weights::read_safetensors(&path, DType::F32, &device)?;
        for p in self.params.iter_mut() {
            for (suffix, slot) in [
                ("exp_avg", &mut p.exp_avg),
                ("exp_avg_sq", &mut p.exp_avg_sq),
            ] {
                let key = format!("{}.{suffix}", p.name);
                let t = tensors.remove(&key).ok_or_else(|| Error::MissingWeight {
                    name: key.clone(),
                    dir: dir.to_path_buf(),
                })?;
                if t.dims() != p.var.dims() {
                    return Err(Error::WeightShape {
                        name: key,
                        got: t.dims().to_vec(),
                        expected: p.var.dims().to_vec(),
                    });
                }
                *slot = t;
            }
        }
        self.step = state.step;
        Ok(())
    }
}

/// One update's scalars, in f32 as the fused kernel uses them.
#[derive(Clone, Copy)]
struct Coefficients {
    b1: f32,
    b2: f32,
    /// 1 − lr · weight decay (1 for parameters that are not decayed).
    keep: f32,
    /// lr / (1 − β₁ᵗ).
    step: f32,
    /// 1 / (1 − β₂ᵗ).
    inv_bc2: f32,
    eps: f32,
}

/// Elements per parallel task of the fused update.
const FUSED_CHUNK: usize = 1 << 14;

impl Param {
    /// The update in one pass over θ, g and the moments, for f32 parameters on
    /// the CPU (the composed update is a dozen passes); false when it does not
    /// apply. Same formula as the composed path.
    fn step_fused(&mut self, grad: Option<&Tensor>, k: Coefficients) -> Result<bool> {
        let theta = self.var.as_tensor();
        if !theta.device().is_cpu() || theta.dtype() != DType::F32 {
            return Ok(false);
        }
        let flat = |t: &Tensor| -> Result<Vec<f32>> {
            Ok(t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?)
        };
        let mut th = flat(theta)?;
        let g = match grad {
            Some(g) => flat(g)?,
            None => vec![0f32; th.len()],
        };
        let (mut m, mut v) = (flat(&self.exp_avg)?, flat(&self.exp_avg_sq)?);
        if g.len() != th.len() || m.len() != th.len() || v.len() != th.len() {
            return Err(Error::Train(format!(
                "{}: gradient or moments of another shape",
                self.name
            )));
        }
        use rayon::prelude::*;
        th.par_chunks_mut(FUSED_CHUNK)
            .zip(m.par_chunks_mut(FUSED_CHUNK))
            .zip(v.par_chunks_mut(FUSED_CHUNK))
            .zip(g.par_chunks(FUSED_CHUNK))
            .for_each(|(((th, m), v), g)| {
                for (((t, m), v), &g) in th.iter_mut().zip(m).zip(v).zip(g) {
                    *m = *m * k.b1 + g * (1.0 - k.b1);
                    *v = *v * k.b2 + g * g * (1.0 - k.b2);
                    let denom = (*v * k.inv_bc2).sqrt() + k.eps;
                    *t = *t * k.keep - *m / denom * k.step;
                }
            });
        let (shape, dev) = (theta.shape().clone(), theta.device().clone());
        self.exp_avg = Tensor::from_vec(m, shape.clone(), &dev)?;
        self.exp_avg_sq = Tensor::from_vec(v, shape.clone(), &dev)?;
        self.var.set(&Tensor::from_vec(th, shape, &dev)?)?;
        Ok(true)
    }
}

/// Scales the gradients so that their global L2 norm is at most `max_norm`
/// (`torch.nn.utils.clip_grad_norm_`); returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut [Option<Tensor>], max_norm: f64) -> Result<f64> {
    let mut sq = 0f64;
    for g in grads.iter().flatten() {
        sq += g
            .to_dtype(DType::F32)?
            .sqr()?
            .sum_all()?
            .to_scalar::<f32>()? as f64;
    }
    let norm = sq.sqrt();
    if max_norm > 0.0 && norm.is_finite() {
        let scale = max_norm / (norm + 1e-6);
        if scale < 1.0 {
            for g in grads.iter_mut().flatten() {
                *g = (&*g * scale)?;
            }
        }
    }
    Ok(norm)
}

/// Warmup steps for a ratio of the total (rounded up, as transformers does).
pub fn warmup_steps(total_steps: usize, ratio: f64) -> usize {
    (total_steps as f64 * ratio.max(0.0)).ceil() as usize
}

/// Learning rate of the update that follows `done` updates: linear from 0 to
/// `peak` over `warmup` updates, then half a cosine down to 0 at `total`.
pub fn cosine_lr(done: usize, total: usize, warmup: usize, peak: f64) -> f64 {
    if done < warmup {
        return peak * done as f64 / warmup.max(1) as f64;
    }
    let progress = (done - warmup) as f64 / total.saturating_sub(warmup).max(1) as f64;
    peak * (0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn adamw_matches_hand_computed_updates() {
        let dev = Device::Cpu;
        let w = Var::from_tensor(&Tensor::new(&[[1.0f32, -2.0]], &dev).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::new(&[0.5f32], &dev).unwrap()).unwrap();
        let cfg = AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.1,
        };
        let mut opt =
            AdamW::new(vec![("w".into(), w.clone()), ("b".into(), b.clone())], cfg).unwrap();
        let lr = 0.01;
        let gw = Tensor::new(&[[0.5f32, -1.0]], &dev).unwrap();
        let gb = Tensor::new(&[2.0f32], &dev).unwrap();
        opt.step(&[Some(gw.clone()), Some(gb.clone())], lr).unwrap();
        // Step 1: m̂ = g, v̂ = g², so the Adam part is lr · g / (|g| + eps) ≈ lr · sign(g);
        // the matrix is also decayed by (1 − lr · wd), the bias is not.
        let w1 = w.as_tensor().to_vec2::<f32>().unwrap()[0].clone();
        let expect_w = [
            1.0 * (1.0 - lr * 0.1) - lr * 0.5 / (0.5 + 1e-8),
            -2.0 * (1.0 - lr * 0.1) + lr * 1.0 / (1.0 + 1e-8),
        ];
        for (got, want) in w1.iter().zip(expect_w) {
            assert!((*got as f64 - want).abs() < 1e-6, "{got} vs {want}");
        }
        let b1 = b.as_tensor().to_vec1::<f32>().unwrap()[0] as f64;
        assert!((b1 - (0.5 - lr)).abs() < 1e-6, "{b1}");
        // Step 2 with another gradient: m = 0.9 m + 0.1 g, v = 0.999 v + 0.001 g², bias-corrected.
        let gb2 = Tensor::new(&[-1.0f32], &dev).unwrap();
        opt.step(&[None, Some(gb2)], lr).unwrap();
        // After step 1: m = 0.1 · 2, v = 0.001 · 4.
        let m = 0.9 * (0.1 * 2.0) - 0.1;
        let v = 0.999 * (0.001 * 4.0) + 0.001 * 1.0;
        let (mh, vh) = (m / (1.0 - 0.9f64.powi(2)), v / (1.0 - 0.999f64.powi(2)));
        let want = (0.5 - lr) - lr * mh / (vh.sqrt() + 1e-8);
        let b2 = b.as_tensor().to_vec1::<f32>().unwrap()[0] as f64;
        assert!((b2 - want).abs() < 1e-6, "{b2} vs {want}");
        assert_eq!(opt.steps_done(), 2);
    }

    #[test]
    fn optimizer_state_round_trips() {
        let dev = Device::Cpu;
        let make = || Var::from_tensor(&Tensor::new(&[[1.0f32, 2.0]], &dev).unwrap()).unwrap();
        let (v1, v2) = (make(), make());
        let mut a = AdamW::new(vec![("p".into(), v1.clone())], AdamWConfig::default()).unwrap();
        let g = Tensor::new(&[[0.3f32, -0.7]], &dev).unwrap();
        a.step(&[Some(g.clone())], 0.1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        a.save(dir.path()).unwrap();
        let mut b = AdamW::new(vec![("p".into(), v2.clone())], AdamWConfig::default()).unwrap();
        v2.set(v1.as_tensor()).unwrap();
        b.load(dir.path()).unwrap();
        a.step(&[Some(g.clone())], 0.1).unwrap();
        b.step(&[Some(g)], 0.1).unwrap();
        assert_eq!(
            v1.as_tensor().to_vec2::<f32>().unwrap(),
            v2.as_tensor().to_vec2::<f32>().unwrap()
        );
        let mut wrong = AdamW::new(vec![("q".into(), make())], AdamWConfig::default()).unwrap();
        assert!(wrong
            .load(dir.path())
            .unwrap_err()
            .to_string()
            .contains("q.exp_avg"));
    }

    #[test]
    fn cosine_schedule_values() {
        // 10 updates, 2 of warmup, peak 1.0.
        let lr: Vec<f64> = (0..10).map(|s| cosine_lr(s, 10, 2, 1.0)).collect();
        assert_eq!(lr[0], 0.0);
        assert!((lr[1] - 0.5).abs() < 1e-12);
        assert!((lr[2] - 1.0).abs() < 1e-12);
        // Halfway through the decay (4 of 8 updates): 0.5.
        assert!((lr[6] - 0.5).abs() < 1e-12);
        assert!((lr[9] - 0.5 * (1.0 + (std::f64::consts::PI * 7.0 / 8.0).cos())).abs() < 1e-12);
        assert!(lr.windows(2).skip(2).all(|w| w[1] < w[0]));
        assert_eq!(cosine_lr(10, 10, 2, 1.0), 0.0);
        assert_eq!(warmup_steps(10, 0.1), 1);
        assert_eq!(warmup_steps(25, 0.1), 3);
        assert_eq!(warmup_steps(10, 0.0), 0);
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let dev = Device::Cpu;
        let mut g = vec![
            Some(Tensor::new(&[3.0f32], &dev).unwrap()),
            None,
            Some(Tensor::new(&[[4.0f32]], &dev).unwrap()),
        ];
        let norm = clip_grad_norm(&mut g, 1.0).unwrap();
        assert!((norm - 5.0).abs() < 1e-9);
        let a = g[0].as_ref().unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((a - 0.6).abs() < 1e-5, "{a}");
        let norm = clip_grad_norm(&mut g, 10.0).unwrap();
        assert!((norm - 1.0).abs() < 1e-5);
    }
}
