//! Checkpoint files in Hugging Face's layout: `model.safetensors`, or shards
//! named in `model.safetensors.index.json`; pickle `.bin` files are refused.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::safetensors::Load;
use candle_core::{DType, Device, Tensor};
use serde_json::{json, Value};

use crate::error::{read_json, write_json, Error, Result};

pub const SINGLE_FILE: &str = "model.safetensors";
pub const INDEX_FILE: &str = "model.safetensors.index.json";
/// transformers' default `max_shard_size` for save_pretrained.
pub const DEFAULT_MAX_SHARD_BYTES: usize = 5_000_000_000;
/// Files of a checkpoint folder that are copied along with the weights.
pub const TOKENIZER_FILES: [&str; 7] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
];

/// Reads one safetensors file; floating-point tensors are cast to `dtype`.
pub fn read_safetensors(
    path: &Path,
    dtype: DType,
    device: &Device,
) -> Result<HashMap<String, Tensor>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let st =
        safetensors::SafeTensors::deserialize(&bytes).map_err(|source| Error::Safetensors {
            path: path.to_path_buf(),
            source,
        })?;
    let mut out = HashMap::with_capacity(st.len());
    for (name, view) in st.tensors() {
        let t = view.load(device)?;
        let t = if t.dtype().is_float() && t.dtype() != dtype {
            t.to_dtype(dtype)?
        } else {
            t
        };
        out.insert(name, t);
    }
    Ok(out)
}

/// The safetensors files of a checkpoint folder, refusing pickle checkpoints.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let single = dir.join(SINGLE_FILE);
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = dir.join(INDEX_FILE);
    if index.is_file() {
        let v: Value = read_json(&index)?;
        let map = v
            .get("weight_map")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::Config(format!("{}: no weight_map", index.display())))?;
        let mut shards: Vec<String> = map
            .values()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect();
        shards.sort();
        shards.dedup();
        return Ok(shards.into_iter().map(|f| dir.join(f)).collect());
    }
    for pickle in [
        "pytorch_model.bin",
        "pytorch_model.bin.index.json",
        "model.bin",
    ] {
        if dir.join(pickle).exists() {
            return Err(Error::PickleCheckpoint(dir.join(pickle)));
        }
    }
    Err(Error::NoWeights(dir.to_path_buf()))
}

/// All tensors of a checkpoint folder (single file or shards).
pub fn load_checkpoint(
    dir: &Path,
    dtype: DType,
    device: &Device,
) -> Result<HashMap<String, Tensor>> {
    let mut all = HashMap::new();
    for file in weight_files(dir)? {
        all.extend(read_safetensors(&file, dtype, device)?);
    }
    Ok(all)
}

/// Writes tensors to one safetensors file with `{"format": "pt"}` metadata, as transformers does.
pub fn write_safetensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let data: BTreeMap<&str, Tensor> = tensors
        .iter()
        .map(|(k, t)| t.contiguous().map(|t| (k.as_str(), t)))
        .collect::<candle_core::Result<_>>()?;
    safetensors::serialize_to_file(data, Some(metadata), path).map_err(|source| {
        Error::Safetensors {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Writes `model.safetensors`, or `model-0000i-of-0000n.safetensors` shards and
/// their index when the tensors exceed `max_shard_bytes`.
pub fn save_checkpoint(
    dir: &Path,
    tensors: &[(String, Tensor)],
    max_shard_bytes: usize,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let bytes = |t: &Tensor| t.elem_count() * t.dtype().size_in_bytes();
    let total: usize = tensors.iter().map(|(_, t)| bytes(t)).sum();
    let mut shards: Vec<Vec<(String, Tensor)>> = vec![Vec::new()];
    let mut current = 0usize;
    for (name, t) in tensors {
        if current > 0 && current + bytes(t) > max_shard_bytes {
            shards.push(Vec::new());
            current = 0;
        }
        current += bytes(t);
        if let Some(last) = shards.last_mut() {
            last.push((name.clone(), t.clone()));
        }
    }
    if shards.len() == 1 {
        return write_safetensors(&dir.join(SINGLE_FILE), &shards[0]);
    }
    let n = shards.len();
    let mut weight_map = serde_json::Map::new();
    for (i, shard) in shards.iter().enumerate() {
        let file = format!("model-{:05}-of-{:05}.safetensors", i + 1, n);
        write_safetensors(&dir.join(&file), shard)?;
        for (name, _) in shard {
            weight_map.insert(name.clone(), Value::from(file.clone()));
        }
    }
    write_json(
        &dir.join(INDEX_FILE),
        &json!({"metadata": {"total_size": total}, "weight_map": weight_map}),
    )
}

/// Copies the tokenizer files that exist in `from` to `to`.
pub fn copy_tokenizer_files(from: &Path, to: &Path) -> Result<()> {
    for name in TOKENIZER_FILES {
        let src = from.join(name);
        if src.is_file() {
            std::fs::copy(&src, to.join(name)).map_err(|e| Error::io(&src, e))?;
        }
    }
    Ok(())
}

/// The checkpoint's `dtype` (transformers v5) or `torch_dtype` (v4) name for a candle dtype.
pub fn hf_dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::BF16 => "bfloat16",
        DType::F16 => "float16",
        DType::F64 => "float64",
        _ => "float32",
    }
}

/// Parses "f32" / "float32" / "bf16" / "bfloat16" / "f16" / "float16".
pub fn parse_dtype(name: &str) -> Result<DType> {
    match name {
        "f32" | "float32" => Ok(DType::F32),
        "bf16" | "bfloat16" => Ok(DType::BF16),
        "f16" | "float16" => Ok(DType::F16),
        other => Err(Error::Config(format!(
            "unknown dtype {other:?} (f32, bf16, f16)"
        ))),
    }
}
