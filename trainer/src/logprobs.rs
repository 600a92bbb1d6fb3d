//! Log-probabilities of chosen tokens, computed a block of rows at a time so
//! that a 150k-token vocabulary never materializes the logits of a whole batch.
//!
//! Under autograd the blocks of a training step are kept for the backward pass;
//! a fused cross-entropy with its own backward can replace
//! [`chosen_logprobs`] later without changing its callers.

use candle_core::{DType, Tensor};

use crate::error::{Error, Result};
use crate::model::ops::log_sum_exp_last_dim;
use crate::model::Qwen;
use crate::tokenize::Tok;

/// Rows per block: 128 × 151,936 × 4 bytes ≈ 78 MB of logits at a time.
pub const DEFAULT_CHUNK_ROWS: usize = 128;

/// log softmax(hidden Wᵀ)[target] for each row: hidden (n, h), lm_head (vocab, h),
/// targets (n) u32 → (n) f32. Differentiable in `hidden` and `lm_head`.
pub fn chosen_logprobs(
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
        let picked = logits
            .gather(&targets.narrow(0, start, len)?.unsqueeze(1)?, 1)?
            .squeeze(1)?;
        let lse = log_sum_exp_last_dim(&logits)?.squeeze(1)?;
        parts.push((picked - lse)?);
        start += len;
    }
    Ok(Tensor::cat(&parts, 0)?)
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
    let lp = sequence_logprobs(model, &ids, DEFAULT_CHUNK_ROWS)?.to_vec2::<f32>()?;
    Ok(seqs
        .iter()
        .zip(lp)
        .map(|(s, row)| TextLogprobs {
            tokens: s.clone(),
            logprobs: row.into_iter().take(s.len().saturating_sub(1)).collect(),
        })
        .collect())
}
