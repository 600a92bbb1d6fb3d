//! The input flags shared by `build`, `score` and `prompts`.

use anyhow::Result;
use clap::Args;

use adamame_pipeline::source::{self, FieldMap, Format, InputFile};

/// Where records come from and how to read them.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Input files, globs or `save_to_disk` folders (repeatable).
    #[arg(short, long = "input", value_name = "PATH")]
    pub inputs: Vec<String>,
    /// Input format (`auto` decides per file from the first record's fields).
    #[arg(long, default_value = "auto", value_parser = |s: &str| s.parse::<Format>())]
    pub format: Format,
    /// Field mapping NAME=FIELD for question, response, gold, lang (dotted paths; repeatable).
    #[arg(long = "map", value_name = "NAME=FIELD")]
    pub maps: Vec<String>,
    /// Query language for records that carry none (ISO 639-1 code, BCP 47 tag or English name; else taken from file names).
    #[arg(long, value_parser = parse_lang)]
    pub lang: Option<String>,
}

/// `--lang`: a supported language, as its ISO 639-1 code.
fn parse_lang(s: &str) -> Result<String, String> {
    adamame_pipeline::lang::supported_lang(s).map(str::to_string)
}

impl InputArgs {
    pub fn field_map(&self) -> Result<FieldMap> {
        let mut map = FieldMap::default();
        for m in &self.maps {
            map.set(m).map_err(anyhow::Error::msg)?;
        }
        Ok(map)
    }

    pub fn lang(&self) -> Option<String> {
        self.lang.clone()
    }

    /// Resolves the inputs (at least one is required here) and their formats.
    pub fn plan(&self) -> Result<(Vec<InputFile>, FieldMap)> {
        anyhow::ensure!(!self.inputs.is_empty(), "give at least one --input");
        let map = self.field_map()?;
        let files = source::expand_inputs(&self.inputs)?;
        Ok((source::plan_inputs(&files, self.format, &map)?, map))
    }
}
