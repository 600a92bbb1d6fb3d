//! Log-probabilities of chosen tokens, computed a block of rows at a time so
//! that a 150k-token vocabulary never materializes the logits of a whole batch.
//!
//! Under autograd too: the backward pass recomputes each block of logits
//! instead of keeping them; on the CPU in f32 it does so with gemm straight
//! into one buffer, writing each block's gradient of the hidden states into
//! place and accumulating the gradient of the output embedding.

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::ops::log_sum_exp_last_dim;
use crate::model::vexp;
use crate::model::Qwen;
use crate::tokenize::Tok;

/// Logits kept alive at a time, at most (one block of rows).
pub const LOGITS_BLOCK_BYTES: usize = 64 << 20;

/// Rows per block of logits for a vocabulary: 110 rows of Qwen's 151,936
/// tokens, 2,048 of an 8,192-token vocabulary. Large blocks make large
/// products: 128 rows at a time made the output embedding's gradient 32
/// thin products added up one after the other.
pub fn chunk_rows_for(vocab: usize) -> usize {
    (LOGITS_BLOCK_BYTES / (4 * vocab.max(1))).clamp(16, 4096)
}

/// log softmax(hidden Wᵀ)[target] for each row: hidden (n, h), lm_head (vocab, h),
/// targets (n) u32 → (n) f32. Differentiable in `hidden` and `lm_head`: the
/// values are computed without a graph, and a custom op carries them whose
/// backward recomputes each block of logits, so neither pass keeps more than
/// `chunk_rows` × vocab logits alive.
pub fn chosen_logprobs(
    hidden: &Tensor,
    lm_head: &Tensor,
    targets: &Tensor,
    chunk_rows: usize,
) -> Result<Tensor> {
    let values = chosen_logprobs_values(&hidden.detach(), &lm_head.detach(), targets, chunk_rows)?;
    if !(hidden.track_op() || lm_head.track_op()) {
        return Ok(values);
    }
    Ok(hidden.apply_op3(
        lm_head,
        &values,
        ChosenLogprobs {
            targets: targets.detach(),
            chunk_rows: chunk_rows.max(1),
        },
    )?)
}

/// The forward values, one block of rows at a time.
fn chosen_logprobs_values(
    hidden: &Tensor,
    lm_head: &Tensor,
    targets: &Tensor,
    chunk_rows: usize,
) -> Result<Tensor> {
    let n = hidden.dim(0)?;
    if n == 0 {
        return Ok(Tensor::zeros(0, DType::F32, hidden.device())?);
    }
    let chunk = chunk_rows.max(1);
    let w_t = lm_head.t()?;
    let mut parts = Vec::with_capacity(n.div_ceil(chunk));
    let mut start = 0;
    while start < n {
        let len = chunk.min(n - start);
        let logits = hidden
            .narrow(0, start, len)?
            .matmul(&w_t)?
            .to_dtype(DType::F32)?;
        let targets = targets.narrow(0, start, len)?;
        if let Some(rows) = CpuRows::of(&logits, &targets)? {
            parts.push(Tensor::from_vec(
                rows.chosen_logprobs(),
                len,
                logits.device(),
            )?);
        } else {
            let picked = logits.gather(&targets.unsqueeze(1)?, 1)?.squeeze(1)?;
            let lse = log_sum_exp_last_dim(&logits)?.squeeze(1)?;
            parts.push((picked - lse)?);
        }
        start += len;
    }
    Ok(Tensor::cat(&parts, 0)?)
}

/// A block of f32 logits (rows × vocab) on the CPU with one target per row:
/// the vocabulary softmax row by row in one or two passes (vectorized exp),
/// where composed ops take six to eight passes over the block.
struct CpuRows {
    logits: Vec<f32>,
    targets: Vec<u32>,
    vocab: usize,
}

impl CpuRows {
    fn of(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Option<Self>> {
        if !logits.device().is_cpu() || logits.dtype() != DType::F32 {
            return Ok(None);
        }
        let vocab = logits.dim(1)?;
        let targets = targets.to_dtype(DType::U32)?.to_vec1::<u32>()?;
        if targets.iter().any(|&t| t as usize >= vocab) {
            candle_core::bail!("a target token is outside the vocabulary ({vocab})");
        }
        Ok(Some(Self {
            logits: logits.flatten_all()?.to_vec1::<f32>()?,
            targets,
            vocab,
        }))
    }

    /// log softmax(row)[target] per row.
    fn chosen_logprobs(mut self) -> Vec<f32> {
        let vocab = self.vocab.max(1);
        self.logits
            .par_chunks_mut(vocab)
            .zip(self.targets.par_iter())
            .map(|(row, &t)| {
                let picked = row[t as usize];
                picked - vexp::softmax_in_place(row)
            })
            .collect()
    }

    /// d (g · log softmax(row)[target]) / d row = g · (onehot(target) − softmax(row)).
    fn dlogits(mut self, g: &[f32]) -> Vec<f32> {
        let vocab = self.vocab.max(1);
        self.logits
            .par_chunks_mut(vocab)
            .zip(self.targets.par_iter().zip(g.par_iter()))
            .for_each(|(row, (&t, &gr))| {
                vexp::softmax_in_place(row);
                row.iter_mut().for_each(|p| *p *= -gr);
                row[t as usize] += gr;
            });
        self.logits
    }
}

/// Carries precomputed log-probabilities (third argument) and supplies their
/// gradient: d lp / d logits = onehot(target) − softmax(logits).
struct ChosenLogprobs {
    targets: Tensor,
    chunk_rows: usize,
}

impl CustomOp3 for ChosenLogprobs {
    fn name(&self) -> &'static str {
        "chosen-logprobs"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        values: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("chosen-logprobs: values must be contiguous");
        };
        let v = values.as_slice::<f32>()?[start..end].to_vec();
        Ok((CpuStorage::F32(v), layout.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        _: &candle_core::CudaStorage,
        _: &Layout,
        _: &candle_core::CudaStorage,
        _: &Layout,
        values: &candle_core::CudaStorage,
        layout: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::backend::BackendStorage;
        Ok((values.try_clone(layout)?, layout.shape().clone()))
    }

    fn bwd(
        &self,
        hidden: &Tensor,
        lm_head: &Tensor,
        _values: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (h, w) = (hidden.detach(), lm_head.detach());
        let g = grad_res.detach().to_dtype(DType::F32)?;
        let want_w = lm_head.track_op();
        let n = h.dim(0)?;
        if crate::model::fused::all_cpu_f32(&[&h, &w]) {
            let (vocab, hid) = w.dims2()?;
            let op = LogitsBackward {
                targets: self.targets.to_dtype(DType::U32)?.to_vec1::<u32>()?,
                chunk_rows: self.chunk_rows,
                want_w,
            };
            let packed =
                h.contiguous()?
                    .apply_op3_no_bwd(&w.contiguous()?, &g.contiguous()?, &op)?;
            let grad_h = packed.narrow(0, 0, n * hid)?.reshape((n, hid))?;
            let grad_w = want_w
                .then(|| {
                    packed
                        .narrow(0, n * hid, vocab * hid)?
                        .reshape((vocab, hid))
                })
                .transpose()?;
            return Ok((Some(grad_h), grad_w, None));
        }
        let mut grad_h = Vec::with_capacity(n.div_ceil(self.chunk_rows));
        let mut grad_w: Option<Tensor> = None;
        let mut start = 0;
        while start < n {
            let len = self.chunk_rows.min(n - start);
            let hc = h.narrow(0, start, len)?;
            let logits = hc.matmul(&w.t()?)?.to_dtype(DType::F32)?;
            let targets = self.targets.narrow(0, start, len)?;
            let gc = g.narrow(0, start, len)?;
            let dlogits = match CpuRows::of(&logits, &targets)? {
                Some(rows) => {
                    let shape = logits.shape().clone();
                    let d = rows.dlogits(&gc.to_vec1::<f32>()?);
                    Tensor::from_vec(d, shape, logits.device())?
                }
                None => {
                    let max = logits.max_keepdim(1)?;
                    let exp = logits.broadcast_sub(&max)?.exp()?;
                    let p = exp.broadcast_div(&exp.sum_keepdim(1)?)?;
                    let gc = gc.unsqueeze(1)?;
                    p.broadcast_mul(&gc)?
                        .neg()?
                        .scatter_add(&targets.unsqueeze(1)?, &gc, 1)?
                }
            }
            .to_dtype(h.dtype())?;
            grad_h.push(dlogits.matmul(&w)?);
            if want_w {
                let gw = dlogits.t()?.matmul(&hc)?;
                grad_w = Some(match grad_w {
                    Some(acc) => (acc + gw)?,
                    None => gw,
                });
            }
            start += len;
        }
        let grad_h = if grad_h.is_empty() {
            h.zeros_like()?
        } else {
            Tensor::cat(&grad_h, 0)?
        };
        Ok((Some(grad_h), grad_w, None))
    }
}

/// The CPU backward pass of [`ChosenLogprobs`], from hidden (n, h), the
/// output embedding W (vocab, h) and the gradient g (n) of the values: per
/// block of rows the logits again, their gradient g · (onehot − softmax) in
/// place, then dh = dlogits W into the block's rows and dW += dlogitsᵀ h, all
/// by gemm. Returns [dh (n · h) | dW (vocab · h) when wanted].
struct LogitsBackward {
    targets: Vec<u32>,
    chunk_rows: usize,
    want_w: bool,
}

impl CustomOp3 for LogitsBackward {
    fn name(&self) -> &'static str {
        "chosen-logprobs-backward"
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
        use crate::model::fused::contiguous_f32;
        use crate::model::matrix::{gemm_into, on_pool, View};
        let (h, w, g) = (
            contiguous_f32(s1, l1)?,
            contiguous_f32(s2, l2)?,
            contiguous_f32(s3, l3)?,
        );
        let (n, hid) = l1.shape().dims2()?;
        let (vocab, hid2) = l2.shape().dims2()?;
        if hid != hid2 || g.len() != n || self.targets.len() != n || hid == 0 || vocab == 0 {
            candle_core::bail!(
                "chosen-logprobs backward: hidden {n}×{hid}, lm_head {vocab}×{hid2}"
            );
        }
        if self.targets.iter().any(|&t| t as usize >= vocab) {
            candle_core::bail!("a target token is outside the vocabulary ({vocab})");
        }
        let len = n * hid + self.want_w as usize * vocab * hid;
        let mut out: Vec<f32> = Vec::with_capacity(len);
        let base = out.as_mut_ptr();
        let rows = self.chunk_rows.clamp(1, n.max(1));
        let mut dlogits: Vec<f32> = Vec::with_capacity(rows * vocab);
        // W (vocab, h) read as its transpose (h, vocab).
        let w_t = View::transposed(w, hid);
        let mut start = 0;
        while start < n {
            let m = rows.min(n - start);
            let hc = &h[start * hid..(start + m) * hid];
            dlogits.clear();
            // SAFETY: the capacity holds rows × vocab ≥ m × vocab; gemm writes all of it.
            unsafe {
                gemm_into(
                    dlogits.as_mut_ptr(),
                    (m, vocab, hid),
                    View::rows(hc, hid),
                    w_t,
                    false,
                    on_pool(),
                );
                dlogits.set_len(m * vocab);
            }
            dlogits
                .par_chunks_mut(vocab)
                .zip(
                    self.targets[start..start + m]
                        .par_iter()
                        .zip(&g[start..start + m]),
                )
                .for_each(|(row, (&t, &gr))| {
                    vexp::softmax_in_place(row);
                    row.iter_mut().for_each(|p| *p *= -gr);
                    row[t as usize] += gr;
                });
            let d = View::rows(&dlogits, vocab);
            // SAFETY: rows [start, start + m) of dh lie within the capacity;
            // gemm writes all of them.
            unsafe {
                gemm_into(
                    base.add(start * hid),
                    (m, hid, vocab),
                    d,
                    View::rows(w, hid),
                    false,
                    on_pool(),
                )
            };
            if self.want_w {
                let d_t = View::transposed(&dlogits, vocab);
                // SAFETY: dW lies within the capacity; the first block writes
                // every element, later ones add to what it wrote.
                unsafe {
                    gemm_into(
                        base.add(n * hid),
                        (vocab, hid, m),
                        d_t,
                        View::rows(hc, hid),
                        start > 0,
                        on_pool(),
                    )
                };
            }
            start += m;
        }
        // SAFETY: every element of [0, len) was written above (n ≥ 1 blocks
        // ran when n > 0; with n = 0 and no dW, len is 0).
        if n == 0 && self.want_w {
            out.resize(len, 0.0);
        } else {
            unsafe { out.set_len(len) };
        }
        Ok((CpuStorage::F32(out), Shape::from(len)))
    }
}

/// log p(ids[r, i] | ids[r, ..i]) for i in 1..t: (b, t - 1) f32.
/// Rows may be right-padded: positions past a row's length are simply ignored by the caller.
pub fn sequence_logprobs(model: &Qwen, input_ids: &Tensor, chunk_rows: usize) -> Result<Tensor> {
    let (b, t) = input_ids.dims2()?;
    if t < 2 {
        return Ok(Tensor::zeros((b, 0), DType::F32, input_ids.device())?);
    }
    let hidden = model.forward_hidden(input_ids, None)?;
    let h = hidden.dim(2)?;
    let hidden = hidden.narrow(1, 0, t - 1)?.reshape((b * (t - 1), h))?;
    let targets = input_ids.narrow(1, 1, t - 1)?.contiguous()?.flatten_all()?;
    let lp = chosen_logprobs(&hidden, model.lm_head_weight(), &targets, chunk_rows)?;
    Ok(lp.reshape((b, t - 1))?)
}

/// Mean negative log-likelihood over the tokens where `loss_mask` (b, t - 1) is
/// non-zero, i.e. response tokens; `loss_mask[r, i - 1]` weights the prediction of
/// `input_ids[r, i]`. Returns the scalar loss and the number of counted tokens.
pub fn masked_nll(
    model: &Qwen,
    input_ids: &Tensor,
    loss_mask: &Tensor,
    chunk_rows: usize,
) -> Result<(Tensor, f64)> {
    let lp = sequence_logprobs(model, input_ids, chunk_rows)?;
    if lp.dims() != loss_mask.dims() {
        return Err(Error::Config(format!(
            "loss mask has shape {:?}, expected {:?} (one per predicted token)",
            loss_mask.dims(),
            lp.dims()
        )));
    }
    let mask = loss_mask.to_dtype(DType::F32)?;
    let count = mask.sum_all()?.to_scalar::<f32>()? as f64;
    let total = (lp * &mask)?.sum_all()?;
    let loss = (total.neg()? / count.max(1.0))?;
    Ok((loss, count))
}

/// Per-token log-probabilities of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLogprobs {
    /// The text encoded without added special tokens.
    pub tokens: Vec<u32>,
    /// `logprobs[i - 1] = log p(tokens[i] | tokens[..i])`, so one fewer than tokens.
    pub logprobs: Vec<f32>,
}

/// Scores texts in batches of `batch_size` (right-padded), without gradients.
pub fn text_logprobs(
    model: &Qwen,
    tok: &Tok,
    texts: &[&str],
    batch_size: usize,
) -> Result<Vec<TextLogprobs>> {
    let encoded = texts
        .iter()
        .map(|t| tok.encode(t, false))
        .collect::<Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(texts.len());
    for group in encoded.chunks(batch_size.max(1)) {
        out.extend(tokens_logprobs(model, group)?);
    }
    Ok(out)
}

/// Scores token sequences of different lengths together (right-padded), without gradients.
pub fn tokens_logprobs(model: &Qwen, seqs: &[Vec<u32>]) -> Result<Vec<TextLogprobs>> {
    let max_len = seqs.iter().map(Vec::len).max().unwrap_or(0);
    if max_len < 2 {
        return Ok(seqs
            .iter()
            .map(|s| TextLogprobs {
                tokens: s.clone(),
                logprobs: Vec::new(),
            })
            .collect());
    }
    let vocab = model.vocab_size() as u32;
    if let Some(bad) = seqs.iter().flatten().find(|&&id| id >= vocab) {
        return Err(Error::Tokenizer(format!(
            "token id {bad} is outside the model's vocabulary ({vocab})"
        )));
    }
    let mut flat = Vec::with_capacity(seqs.len() * max_len);
    for s in seqs {
        flat.extend_from_slice(s);
        flat.extend(std::iter::repeat_n(0u32, max_len - s.len()));
    }
    let ids = Tensor::from_vec(flat, (seqs.len(), max_len), model.device())?;
    let chunk_rows = chunk_rows_for(model.vocab_size());
    let lp = sequence_logprobs(model, &ids, chunk_rows)?.to_vec2::<f32>()?;
    Ok(seqs
        .iter()
        .zip(lp)
        .map(|(s, row)| TextLogprobs {
            tokens: s.clone(),
            logprobs: row.into_iter().take(s.len().saturating_sub(1)).collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn blocks_of_logits_stay_within_the_budget() {
        assert_eq!(chunk_rows_for(151_936), 110);
        assert_eq!(chunk_rows_for(8_192), 2_048);
        assert_eq!(chunk_rows_for(10), 4_096);
        assert!(chunk_rows_for(151_936) * 151_936 * 4 <= LOGITS_BLOCK_BYTES);
    }

    /// The recomputing backward equals autograd through the plain composition.
    #[test]
    fn fused_gradient_matches_autograd() {
        let dev = Device::Cpu;
        let h = Var::from_tensor(&Tensor::randn(0f32, 1.0, (7, 5), &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&Tensor::randn(0f32, 1.0, (11, 5), &dev).unwrap()).unwrap();
        let targets = Tensor::new(&[0u32, 3, 10, 3, 7, 1, 9], &dev).unwrap();
        let weights = Tensor::new(&[1f32, -2.0, 0.5, 0.0, 3.0, 1.0, -1.0], &dev).unwrap();

        let fused = chosen_logprobs(h.as_tensor(), w.as_tensor(), &targets, 3).unwrap();
        let logits = h.as_tensor().matmul(&w.as_tensor().t().unwrap()).unwrap();
        let reference = candle_nn::ops::log_softmax(&logits, 1)
            .unwrap()
            .gather(&targets.unsqueeze(1).unwrap(), 1)
            .unwrap()
            .squeeze(1)
            .unwrap();
        let diff = crate::test_util::max_abs_diff;
        assert!(diff(&fused, &reference) < 1e-5);
        let gf = (fused * &weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let gr = (reference * &weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for v in [&h, &w] {
            let (a, b) = (
                gf.get(v.as_tensor()).unwrap(),
                gr.get(v.as_tensor()).unwrap(),
            );
            assert!(diff(a, b) < 1e-5, "gradient differs by {}", diff(a, b));
        }
        // A frozen lm_head gets no gradient, and costs none.
        let frozen = chosen_logprobs(h.as_tensor(), &w.as_tensor().detach(), &targets, 4).unwrap();
        let g = frozen.sum_all().unwrap().backward().unwrap();
        assert!(g.get(h.as_tensor()).is_some());
    }
}
