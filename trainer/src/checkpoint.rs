//! Training checkpoints: `checkpoint-{step}/` in Hugging Face layout (LoRA
//! merged in, so transformers loads it), the PEFT adapter under `adapter/`
//! when training LoRA, the optimizer state and `trainer_state.json` (step,
//! data position, RNG position). Written into a temp folder and renamed, so a
//! visible checkpoint is always complete.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::data::DataPosition;
use crate::error::{read_json, write_json, Error, Result};
use crate::model::Qwen;
use crate::optim::AdamW;
use crate::tokenize::{ChatTemplate, Tok};

pub const STATE_FILE: &str = "trainer_state.json";
pub const ADAPTER_DIR: &str = "adapter";
const PREFIX: &str = "checkpoint-";

/// Everything besides weights and optimizer moments that a resumed run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer updates done.
    pub step: usize,
    pub total_steps: usize,
    pub data: DataPosition,
    /// Word position of the model's LoRA-dropout RNG (a u128 as a decimal string).
    pub dropout_rng_position: String,
    /// "full" or "lora".
    pub mode: String,
    pub seed: u64,
    pub batch_size: usize,
    pub grad_accum: usize,
    /// The base model (None: the tiny model trained from scratch).
    pub base_model: Option<PathBuf>,
}

impl TrainerState {
    pub fn dropout_rng(&self) -> Result<u128> {
        self.dropout_rng_position
            .parse()
            .map_err(|e| Error::Checkpoint {
                path: PathBuf::from(STATE_FILE),
                message: format!("dropout_rng_position: {e}"),
            })
    }
}

/// Writes a Hugging Face model folder: weights (LoRA merged), config, generation
/// config, and the tokenizer (tokenizer.json, plus a tokenizer_config.json naming
/// the template's special tokens when the source model had none).
pub fn save_model_dir(model: &Qwen, tok: &Tok, template: ChatTemplate, dir: &Path) -> Result<()> {
    model.save_pretrained(dir)?;
    if !dir.join("tokenizer.json").is_file() {
        tok.save(&dir.join("tokenizer.json"))?;
    }
    if !dir.join("tokenizer_config.json").is_file() {
        let eos = template.eos_token();
        write_json(
            &dir.join("tokenizer_config.json"),
            &json!({
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": null,
                "eos_token": eos,
                "pad_token": eos,
                "unk_token": null,
                "model_max_length": model.config().max_position_embeddings,
                "clean_up_tokenization_spaces": false,
                "adamame_chat_template": template.name(),
            }),
        )?;
    }
    Ok(())
}

/// Writes `out/checkpoint-{step}/` atomically and returns its path.
pub fn save(
    out: &Path,
    model: &Qwen,
    tok: &Tok,
    template: ChatTemplate,
    optimizer: &AdamW,
    state: &TrainerState,
) -> Result<PathBuf> {
    let name = format!("{PREFIX}{}", state.step);
    let tmp = out.join(format!(".{name}.tmp"));
    let done = out.join(&name);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    save_model_dir(model, tok, template, &tmp)?;
    if model.lora_config().is_some() {
        model.save_lora(&tmp.join(ADAPTER_DIR))?;
    }
    optimizer.save(&tmp)?;
    write_json(&tmp.join(STATE_FILE), state)?;
    if done.exists() {
        std::fs::remove_dir_all(&done).map_err(|e| Error::io(&done, e))?;
    }
    std::fs::rename(&tmp, &done).map_err(|e| Error::io(&done, e))?;
    Ok(done)
}

/// The complete checkpoint with the highest step in `out`, if any.
pub fn latest(out: &Path) -> Result<Option<PathBuf>> {
    if !out.is_dir() {
        return Ok(None);
    }
    let entries = std::fs::read_dir(out).map_err(|e| Error::io(out, e))?;
    let best = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(STATE_FILE).is_file())
        .filter_map(|p| {
            let step = p
                .file_name()?
                .to_str()?
                .strip_prefix(PREFIX)?
                .parse::<usize>()
                .ok()?;
            Some((step, p))
        })
        .max_by_key(|(step, _)| *step);
    Ok(best.map(|(_, p)| p))
}

pub fn load_state(dir: &Path) -> Result<TrainerState> {
    read_json(&dir.join(STATE_FILE))
}
