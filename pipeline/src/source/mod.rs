//! Inputs: resolving `--input` arguments (files, globs, `save_to_disk`
//! folders) into files, deciding each file's format, and streaming
//! [`SourceRecord`]s with their provenance.

pub mod format;
#[cfg(unix)]
mod mapped;
pub mod read;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use format::{FieldMap, Format, RawRecord};
pub use read::{Malformed, ReadError};

/// The bundled sample corpus: raw generations in fr ja ko pt th en with the
/// defects real data has (see `pipeline/corpus/README.md`).
pub const EMBEDDED_DEFAULT: &str = include_str!("../../corpus/default.jsonl");
/// The `source` value of records from [`EMBEDDED_DEFAULT`].
pub const EMBEDDED_NAME: &str = "embedded:default";

/// Errors that stop a run before or while reading inputs.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("--input `{0}`: no such file, folder or glob match")]
    NotFound(String),
    #[error("--input `{0}`: {1} no data files (.jsonl, .ndjson, .json or .tsv, also .gz or .zst; .parquet; .arrow)")]
    NoDataFiles(String, &'static str),
    #[error("--input `{pattern}`: bad glob: {detail}")]
    Glob { pattern: String, detail: String },
    #[error("{path}: cannot decide the format from its fields ({fields}); pass --format, or --map question=FIELD --map gold=FIELD (and --map response=FIELD where responses are read)")]
    Undecided { path: String, fields: String },
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// One input file and how to read it.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// The path as the user gave it (after glob expansion); the `source` column.
    pub source: Arc<str>,
    pub path: Option<PathBuf>,
    pub format: Format,
    /// Language implied by the file name, used when records carry none.
    pub lang_hint: Option<String>,
    /// Why `auto` chose `format`, for the log.
    pub decided: Option<String>,
}

impl InputFile {
    /// "PATH: format F (why)" where `auto` decided the format.
    pub fn decision(&self) -> Option<String> {
        let why = self.decided.as_ref()?;
        Some(format!("{}: format {} ({why})", self.source, self.format))
    }
}

/// Expands `--input` arguments in order: a glob to its matches (sorted), a
/// folder to the Arrow/Parquet/JSON files in it (a `save_to_disk` folder, or
/// a `DatasetDict` folder's splits in its own order). Folders and globs skip
/// files that are not data (`state.json`, a README, a lock file).
pub fn expand_inputs(args: &[String]) -> Result<Vec<PathBuf>, SourceError> {
    let mut files = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        let found = if path.is_dir() {
            folder_files(path)?
        } else if path.exists() {
            vec![path.to_path_buf()]
        } else {
            let matches: Vec<PathBuf> = glob::glob(arg)
                .map_err(|e| SourceError::Glob {
                    pattern: arg.clone(),
                    detail: e.to_string(),
                })?
                .filter_map(Result::ok)
                .collect();
            if matches.is_empty() {
                return Err(SourceError::NotFound(arg.clone()));
            }
            let mut found: Vec<PathBuf> = matches
                .into_iter()
                .filter(|p| p.is_file() && is_data_file(p))
                .collect();
            found.sort();
            found
        };
        if found.is_empty() {
            let what = if path.is_dir() {
                "the folder holds"
            } else {
                "the glob matches"
            };
            return Err(SourceError::NoDataFiles(arg.clone(), what));
        }
        files.extend(found);
    }
    Ok(files)
}

/// The data files of a `save_to_disk` folder, sorted; for a `DatasetDict`
/// folder, those of each split folder in the order `dataset_dict.json` lists.
fn folder_files(folder: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let dict = folder.join("dataset_dict.json");
    if dict.is_file() {
        let text = std::fs::read(&dict).map_err(read::io_err(&dict))?;
        let splits = serde_json::from_slice::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                v.get("splits")?
                    .as_array()?
                    .iter()
                    .map(|s| s.as_str().map(str::to_string))
                    .collect::<Option<Vec<String>>>()
            })
            .ok_or_else(|| ReadError::Json {
                path: dict.clone(),
                detail: "expected {\"splits\": [names of split folders]}".into(),
            })?;
        let mut files = Vec::new();
        for split in splits {
            files.extend(folder_files(&folder.join(split))?);
        }
        return Ok(files);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(read::io_err(folder))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_data_file(p))
        .collect();
    found.sort();
    Ok(found)
}

/// A file a folder or glob contributes: a readable kind, and not the
/// metadata that `save_to_disk` writes beside the shards.
fn is_data_file(path: &Path) -> bool {
    read::classify(path).is_some() && !is_metadata_file(path)
}

/// `save_to_disk` folders hold `dataset_info.json` and `state.json` beside
/// the Arrow shards; they are not data.
fn is_metadata_file(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("dataset_info.json" | "state.json" | "dataset_dict.json" | "manifest.json")
    )
}

/// Resolves the format of each file (`auto` looks at the first record).
pub fn plan_inputs(
    paths: &[PathBuf],
    format: Format,
    map: &FieldMap,
) -> Result<Vec<InputFile>, SourceError> {
    paths
        .iter()
        .map(|path| {
            let tsv = read::classify(path).map(|(k, _)| k) == Some(read::FileKind::Tsv);
            // Opening validates Parquet/Arrow footers up front.
            let mut items = read::open(path, tsv_has_header(format, map))?;
            let (format, decided) = match format {
                Format::Auto if tsv && map.is_empty() => (
                    Format::Mgsm,
                    Some("TSV without --map: MGSM (question<TAB>answer)".to_string()),
                ),
                Format::Auto if tsv => (
                    Format::Adamame,
                    Some("TSV with a header row and --map".to_string()),
                ),
                Format::Auto => decide(path, &mut items, map)?,
                f => (f, None),
            };
            Ok(InputFile {
                source: Arc::from(path.to_string_lossy().as_ref()),
                path: Some(path.clone()),
                format,
                lang_hint: format::lang_from_file_name(path),
                decided,
            })
        })
        .collect()
}

/// TSV files have a header row except in the MGSM layout.
fn tsv_has_header(format: Format, map: &FieldMap) -> bool {
    !(format == Format::Mgsm || (format == Format::Auto && map.is_empty()))
}

fn decide(
    path: &Path,
    items: &mut read::Items,
    map: &FieldMap,
) -> Result<(Format, Option<String>), SourceError> {
    let display = path.display().to_string();
    // The first readable object decides, however far in: malformed rows
    // before it are rejected one by one later, not taken as the format.
    let mut rows = 0u64;
    for item in items.by_ref() {
        rows += 1;
        if let Ok(obj) = item?.body {
            let fields: Vec<&str> = obj.keys().map(String::as_str).collect();
            return match Format::detect(&obj) {
                Some(f) => Ok((f, Some(format!("fields {}", fields.join(", "))))),
                None if !map.is_empty() => Ok((Format::Adamame, Some("explicit --map".into()))),
                None => Err(SourceError::Undecided {
                    path: display,
                    fields: fields.join(", "),
                }),
            };
        }
    }
    // Nothing to decide from: an empty file contributes no records, and a
    // file of malformed rows is rejected row by row whatever the format.
    let why = match rows {
        0 => "an empty file: no records".to_string(),
        n => format!("no readable record in {n} rows: each is rejected as malformed"),
    };
    Ok((Format::Adamame, Some(why)))
}

/// The embedded corpus as an input.
pub fn embedded_input() -> InputFile {
    InputFile {
        source: Arc::from(EMBEDDED_NAME),
        path: None,
        format: Format::Adamame,
        lang_hint: None,
        decided: None,
    }
}

/// A record with its provenance, parsed or not.
#[derive(Debug)]
pub struct SourceRecord {
    pub source: Arc<str>,
    pub source_row: u64,
    /// Global position across all inputs, in input order: the sort key that
    /// makes sharded runs merge into the single-run order.
    pub ordinal: u64,
    pub body: Result<RawRecord, Malformed>,
}

/// Streams every record of every input in order.
pub struct Records {
    inputs: std::vec::IntoIter<InputFile>,
    current: Option<(InputFile, read::Items)>,
    overrides: FieldMap,
    default_lang: Option<String>,
    ordinal: u64,
    questions_only: bool,
}

impl Records {
    pub fn new(inputs: Vec<InputFile>, overrides: FieldMap, default_lang: Option<String>) -> Self {
        Records {
            inputs: inputs.into_iter(),
            current: None,
            overrides,
            default_lang,
            ordinal: 0,
            questions_only: false,
        }
    }

    /// Reads question/gold sets: responses are not required (and dropped).
    pub fn questions_only(mut self) -> Self {
        self.questions_only = true;
        self
    }

    fn open_next(&mut self) -> Option<Result<(), ReadError>> {
        let input = self.inputs.next()?;
        let items = match &input.path {
            Some(path) => match read::open(path, tsv_has_header(input.format, &self.overrides)) {
                Ok(items) => items,
                Err(e) => return Some(Err(e)),
            },
            None => read::json_lines(
                Box::new(EMBEDDED_DEFAULT.as_bytes()),
                PathBuf::from(EMBEDDED_NAME),
            ),
        };
        self.current = Some((input, items));
        Some(Ok(()))
    }
}

impl Iterator for Records {
    type Item = Result<SourceRecord, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.current.is_none() {
                if let Err(e) = self.open_next()? {
                    return Some(Err(e));
                }
            }
            let (input, items) = self.current.as_mut()?;
            let item = match items.next() {
                None => {
                    self.current = None;
                    continue;
                }
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(item)) => item,
            };
            let body = item.body.and_then(|obj| {
                let mapped = if self.questions_only {
                    format::map_question(input.format, &self.overrides, &obj)
                } else {
                    format::map_record(input.format, &self.overrides, &obj)
                };
                mapped
                    .and_then(|mut rec| {
                        rec.lang = match rec.lang.take() {
                            // A language the detectors do not know would make every
                            // trace `wrong_language`: the record is malformed.
                            Some(lang) => match crate::lang::canonical_lang(&lang) {
                                Some(code) => Some(code.to_string()),
                                None => {
                                    return Err(format!(
                                        "unsupported query language `{lang}` (supported: {})",
                                        crate::lang::SUPPORTED_LANGUAGES.join(" ")
                                    ))
                                }
                            },
                            None => self
                                .default_lang
                                .clone()
                                .or_else(|| input.lang_hint.clone()),
                        };
                        Ok(rec)
                    })
                    .map_err(|detail| Malformed {
                        detail,
                        raw: read::excerpt(
                            serde_json::Value::Object(obj).to_string().as_bytes(),
                            4096,
                        ),
                    })
            });
            let ordinal = self.ordinal;
            self.ordinal += 1;
            return Some(Ok(SourceRecord {
                source: input.source.clone(),
                source_row: item.row,
                ordinal,
                body,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(arg: &Path) -> String {
        let arg = arg.to_str().unwrap().to_string();
        expand_inputs(&[arg]).unwrap_err().to_string()
    }

    #[test]
    fn inputs_without_data_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("gone.jsonl");
        assert!(error_of(&missing).ends_with("no such file, folder or glob match"));
        assert!(
            error_of(&dir.path().join("*.jsonl")).ends_with("no such file, folder or glob match")
        );

        std::fs::write(dir.path().join("notes.txt"), "not data").unwrap();
        std::fs::write(dir.path().join("state.json"), "{}").unwrap();
        let folder = error_of(dir.path());
        assert!(
            folder.contains("the folder holds no data files"),
            "{folder}"
        );
        let glob = error_of(&dir.path().join("*"));
        assert!(glob.contains("the glob matches no data files"), "{glob}");

        std::fs::write(dir.path().join("gens.jsonl"), "{}\n").unwrap();
        let found = expand_inputs(&[dir.path().join("*").to_str().unwrap().to_string()]).unwrap();
        assert_eq!(found, vec![dir.path().join("gens.jsonl")]);
    }
}
