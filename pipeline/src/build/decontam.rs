//! Decontamination: a row is contaminated when its question or reasoning
//! shares an n-gram of units with a question of a benchmark file.

use std::collections::HashMap;

use crate::build::units::ngram_hashes;
use crate::source::{self, FieldMap, Format, SourceError};

/// An index of benchmark n-grams, each pointing back to its first source.
pub struct Decontaminator {
    n: usize,
    grams: HashMap<u64, (u32, u64)>,
    files: Vec<String>,
}

impl Decontaminator {
    /// Reads the questions of benchmark files (any format `build` reads;
    /// `auto` decides the format per file).
    pub fn from_files(paths: &[String], n: usize) -> Result<Self, SourceError> {
        let files = source::expand_inputs(paths)?;
        let inputs = source::plan_inputs(&files, Format::Auto, &FieldMap::default())?;
        let mut index = Decontaminator {
            n,
            grams: HashMap::new(),
            files: inputs.iter().map(|i| i.source.to_string()).collect(),
        };
        for (file_idx, input) in inputs.into_iter().enumerate() {
            let path = input.path.clone().unwrap_or_default();
            let mut items = source::read::open(&path, input.format != Format::Mgsm)?;
            for item in items.by_ref() {
                let item = item?;
                let Ok(obj) = item.body else { continue };
                if let Ok(rec) =
                    source::format::map_question(input.format, &FieldMap::default(), &obj)
                {
                    let question = rec.question;
                    index.add(&question, file_idx as u32, item.row);
                }
            }
        }
        Ok(index)
    }

    /// An index over given texts (tests, and callers with their own readers).
    pub fn from_texts<'a>(texts: impl IntoIterator<Item = &'a str>, n: usize) -> Self {
        let mut index = Decontaminator {
            n,
            grams: HashMap::new(),
            files: vec!["<texts>".into()],
        };
        for (row, text) in texts.into_iter().enumerate() {
            index.add(text, 0, row as u64);
        }
        index
    }

    fn add(&mut self, text: &str, file: u32, row: u64) {
        for g in ngram_hashes(text, self.n) {
            self.grams.entry(g).or_insert((file, row));
        }
    }

    pub fn len(&self) -> usize {
        self.grams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.grams.is_empty()
    }

    /// The first benchmark question any of `texts` shares an n-gram with.
    pub fn check(&self, texts: &[&str]) -> Option<String> {
        texts.iter().find_map(|text| {
            ngram_hashes(text, self.n).into_iter().find_map(|g| {
                self.grams.get(&g).map(|&(file, row)| {
                    let name = self.files.get(file as usize).map_or("?", String::as_str);
                    format!("shares a {}-gram with {name} row {row}", self.n)
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_shared_ngrams_only() {
        let bench =
            ["Janet's ducks lay 16 eggs per day and she eats three for breakfast every morning"];
        let d = Decontaminator::from_texts(bench, 8);
        let leaked = "Q: Janet's ducks lay 16 eggs per day and she eats three for lunch";
        assert_eq!(
            d.check(&[leaked]).as_deref(),
            Some("shares a 8-gram with <texts> row 0")
        );
        assert_eq!(
            d.check(&["Completely different question about trains and apples today"]),
            None
        );
    }
}
