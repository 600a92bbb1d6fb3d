//! Decontamination: a row is contaminated when its question or reasoning
//! shares an n-gram of units with a question of a benchmark file.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::build::units::ngram_hashes;
use crate::source::format::{get_path, map_question, verl_question};
use crate::source::read::{self, FileKind};
use crate::source::{self, FieldMap, Format, SourceError};

/// Fields that hold a benchmark's question, in order of preference, when
/// the file's format is not one `build` knows.
const QUESTION_FIELDS: &[&str] = &[
    "question",
    "problem",
    "query",
    "prompt",
    "instruction",
    "input",
    "m_query",
    "messages",
    "conversations",
    "text",
];

/// What one benchmark file contributed, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchmarkFile {
    pub source: String,
    /// Rows whose question went into the index.
    pub questions: u64,
    /// Rows with no question to read (unreadable, or no question field).
    pub skipped: u64,
}

impl BenchmarkFile {
    fn new(source: String) -> Self {
        BenchmarkFile {
            source,
            questions: 0,
            skipped: 0,
        }
    }
}

/// Errors reading benchmark files.
#[derive(Debug, thiserror::Error)]
pub enum DecontamError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Read(#[from] read::ReadError),
    #[error("--decontaminate {path}: no benchmark questions in {rows} rows (looked for {looked}); pass --decontaminate-field FIELD")]
    NoQuestions {
        path: String,
        rows: u64,
        looked: String,
    },
}

/// An index of benchmark n-grams, each pointing back to its first source.
pub struct Decontaminator {
    n: usize,
    grams: HashMap<u64, (u32, u64)>,
    files: Vec<BenchmarkFile>,
}

impl Decontaminator {
    /// Reads the questions of benchmark files: any file kind `build` reads;
    /// the question is `field` when given, else what the file's format calls
    /// the question, else the first of [`QUESTION_FIELDS`]. A file that
    /// yields no question at all is an error, not an empty index.
    pub fn from_files(
        paths: &[String],
        field: Option<&str>,
        n: usize,
    ) -> Result<Self, DecontamError> {
        let mut index = Decontaminator {
            n,
            grams: HashMap::new(),
            files: Vec::new(),
        };
        for path in source::expand_inputs(paths)? {
            let display = path.display().to_string();
            // TSV benchmarks are MGSM's headerless question<TAB>answer.
            let tsv = read::classify(&path).map(|(k, _)| k) == Some(FileKind::Tsv);
            let mut file = BenchmarkFile::new(display.clone());
            let file_idx = index.files.len() as u32;
            for item in read::open(&path, !tsv)? {
                let item = item?;
                match item
                    .body
                    .ok()
                    .and_then(|obj| benchmark_question(&obj, field))
                {
                    Some(question) => {
                        index.add(&question, file_idx, item.row);
                        file.questions += 1;
                    }
                    None => file.skipped += 1,
                }
            }
            if file.questions == 0 {
                return Err(DecontamError::NoQuestions {
                    path: display,
                    rows: file.skipped,
                    looked: field.map_or_else(|| QUESTION_FIELDS.join(", "), str::to_string),
                });
            }
            index.files.push(file);
        }
        Ok(index)
    }

    /// Per benchmark file, how many questions it gave and rows it skipped.
    pub fn files(&self) -> &[BenchmarkFile] {
        &self.files
    }

    /// An index over given texts (tests, and callers with their own readers).
    pub fn from_texts<'a>(texts: impl IntoIterator<Item = &'a str>, n: usize) -> Self {
        let mut index = Decontaminator {
            n,
            grams: HashMap::new(),
            files: vec![BenchmarkFile::new("<texts>".into())],
        };
        for (row, text) in texts.into_iter().enumerate() {
            index.add(text, 0, row as u64);
            index.files[0].questions += 1;
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
                    let name = self.files.get(file as usize).map_or("?", |f| &f.source);
                    format!("shares a {}-gram with {name} row {row}", self.n)
                })
            })
        })
    }
}

/// The question of one benchmark row; `None` when it has none.
fn benchmark_question(obj: &Map<String, Value>, field: Option<&str>) -> Option<String> {
    if let Some(field) = field {
        return get_path(obj, field).and_then(question_text);
    }
    if let Some(format) = Format::detect(obj) {
        if let Ok(rec) = map_question(format, &FieldMap::default(), obj) {
            return Some(rec.question);
        }
    }
    QUESTION_FIELDS
        .iter()
        .find_map(|f| obj.get(*f).and_then(question_text))
}

/// A question field's text: a string, or the user turns of a chat list
/// (a verl prompt's instruction paragraph left out).
fn question_text(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Array(turns) => turns
            .iter()
            .filter_map(Value::as_object)
            .filter(|m| {
                let role = m
                    .get("role")
                    .or_else(|| m.get("from"))
                    .and_then(Value::as_str);
                matches!(role, Some("user" | "human"))
            })
            .filter_map(|m| m.get("content").or_else(|| m.get("value"))?.as_str())
            .map(verl_question)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => return None,
    };
    (!text.trim().is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_question_in_the_shapes_benchmarks_come_in() {
        let q = |v: serde_json::Value, field: Option<&str>| {
            benchmark_question(v.as_object().unwrap(), field)
        };
        let expect = Some("Q".to_string());
        assert_eq!(q(json!({"question": "Q", "answer": "1"}), None), expect);
        assert_eq!(q(json!({"problem": "Q", "solution": "1"}), None), expect);
        assert_eq!(
            q(
                json!({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]}),
                None
            ),
            expect
        );
        // A verl prompt without its instruction paragraph.
        let verl = json!({"prompt": [{"role": "user", "content": "Mets \\boxed{}.\n\nQ"}],
                          "reward_model": {"ground_truth": "1"}});
        assert_eq!(q(verl, None), expect);
        assert_eq!(q(json!({"a": {"b": "Q"}}), Some("a.b")), expect);
        assert_eq!(q(json!({"a": {"b": "Q"}}), None), None);
        assert_eq!(q(json!({"question": "  "}), None), None);
        assert_eq!(q(json!({"question": 3}), None), None);
    }

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
