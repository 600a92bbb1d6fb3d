//! Reading `--shard` outputs back into rows and rejects, for `merge`:
//! streamed, a record batch at a time.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, BooleanArray, Float64Array, Int32Array, Int64Array, ListArray, RecordBatch, StringArray,
};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::build::outcome::{Outcome, Provenance, Reason, Reject, Row, Stage};
use crate::sink::SinkError;

/// Typed access to a batch's columns, with errors naming file and column.
struct Columns<'a> {
    batch: &'a RecordBatch,
    path: &'a Path,
}

impl<'a> Columns<'a> {
    fn get<T: 'static>(&self, name: &str) -> Result<&'a T, SinkError> {
        self.batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .ok_or_else(|| SinkError::Parquet {
                context: self.path.display().to_string(),
                detail: format!("column `{name}` is missing or has the wrong type"),
            })
    }
}

fn opt(a: &StringArray, i: usize) -> Option<String> {
    a.is_valid(i).then(|| a.value(i).to_string())
}

/// Rows read from a pending file at a time: a merge of N shards holds 2N
/// such batches, whatever the size of the dataset.
const MERGE_BATCH_ROWS: usize = 256;

/// Streams the outcomes of a shard's pending files (kept rows, or rejects),
/// file after file, one record batch at a time.
pub struct PendingStream {
    files: std::vec::IntoIter<PathBuf>,
    kept: bool,
    reader: Option<(PathBuf, ParquetRecordBatchReader)>,
    buffered: std::vec::IntoIter<Outcome>,
}

impl PendingStream {
    /// `kept`: the files hold kept rows (`pending-*`), else rejects.
    pub fn new(files: Vec<PathBuf>, kept: bool) -> Self {
        PendingStream {
            files: files.into_iter(),
            kept,
            reader: None,
            buffered: Vec::new().into_iter(),
        }
    }

    /// The next batch's outcomes; `Ok(None)` when every file is read.
    fn refill(&mut self) -> Result<Option<()>, SinkError> {
        loop {
            if let Some((path, reader)) = &mut self.reader {
                match reader.next() {
                    Some(batch) => {
                        let batch = batch.map_err(SinkError::parquet_at(path))?;
                        let outcomes: Vec<Outcome> = if self.kept {
                            rows_of(&batch, path)?
                                .into_iter()
                                .map(|r| Outcome::Kept(Box::new(r)))
                                .collect()
                        } else {
                            rejects_of(&batch, path)?
                                .into_iter()
                                .map(|r| Outcome::Rejected(Box::new(r)))
                                .collect()
                        };
                        self.buffered = outcomes.into_iter();
                        return Ok(Some(()));
                    }
                    None => self.reader = None,
                }
            }
            let Some(path) = self.files.next() else {
                return Ok(None);
            };
            let file = File::open(&path).map_err(SinkError::io(&path))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.with_batch_size(MERGE_BATCH_ROWS).build())
                .map_err(SinkError::parquet_at(&path))?;
            self.reader = Some((path, reader));
        }
    }
}

impl Iterator for PendingStream {
    type Item = Result<Outcome, SinkError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(outcome) = self.buffered.next() {
                return Some(Ok(outcome));
            }
            match self.refill() {
                Ok(Some(())) => {}
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Kept rows of one record batch of a pending file.
fn rows_of(batch: &RecordBatch, path: &Path) -> Result<Vec<Row>, SinkError> {
    let mut rows = Vec::with_capacity(batch.num_rows());
    {
        let c = Columns { batch, path };
        let s = |n: &str| c.get::<StringArray>(n);
        let (id, source, query_lang, question, prompt) = (
            s("id")?,
            s("source")?,
            s("query_lang")?,
            s("question")?,
            s("prompt")?,
        );
        let (reasoning, answer, raw_reasoning, raw_answer) = (
            s("reasoning")?,
            s("answer")?,
            s("raw_reasoning")?,
            s("raw_answer")?,
        );
        let (gold, predicted, trace_lang, contamination) = (
            s("gold")?,
            s("predicted")?,
            s("trace_lang")?,
            s("contamination")?,
        );
        let source_row = c.get::<Int64Array>("source_row")?;
        let ordinal = c.get::<Int64Array>("ordinal")?;
        let candidate = c.get::<Int32Array>("candidate_index")?;
        let b = |n: &str| c.get::<BooleanArray>(n);
        let (correct, line_pass, word_pass, code_switch) = (
            b("correct")?,
            b("line_pass")?,
            b("word_pass")?,
            b("code_switch")?,
        );
        let f = |n: &str| c.get::<Float64Array>(n);
        let (confidence, purity) = (f("lang_confidence")?, f("purity")?);
        let (n_r, n_a) = (
            c.get::<Int32Array>("n_tokens_reasoning")?,
            c.get::<Int32Array>("n_tokens_answer")?,
        );
        let cs = c.get::<ListArray>("cs_langs")?;
        for i in 0..batch.num_rows() {
            let langs = cs.value(i);
            let langs = langs
                .as_any()
                .downcast_ref::<StringArray>()
                .map_or_else(Vec::new, |a| {
                    a.iter().flatten().map(str::to_string).collect()
                });
            rows.push(Row {
                prov: Provenance {
                    id: id.value(i).to_string(),
                    source: Arc::from(source.value(i)),
                    source_row: source_row.value(i) as u64,
                    ordinal: ordinal.value(i) as u64,
                    candidate_index: Some(candidate.value(i) as u32),
                },
                query_lang: query_lang.value(i).to_string(),
                question: question.value(i).to_string(),
                prompt: prompt.value(i).to_string(),
                reasoning: reasoning.value(i).to_string(),
                answer: answer.value(i).to_string(),
                raw_reasoning: raw_reasoning.value(i).to_string(),
                raw_answer: raw_answer.value(i).to_string(),
                gold: gold.value(i).to_string(),
                predicted: opt(predicted, i),
                correct: correct.value(i),
                trace_lang: trace_lang.value(i).to_string(),
                lang_confidence: confidence.value(i),
                purity: purity.value(i),
                line_pass: line_pass.value(i),
                word_pass: word_pass.value(i),
                code_switch: code_switch.value(i),
                cs_langs: langs,
                n_tokens_reasoning: n_r.value(i) as u32,
                n_tokens_answer: n_a.value(i) as u32,
                contamination: opt(contamination, i),
                dedup: None,
            });
        }
    }
    Ok(rows)
}

/// Rejects of one record batch of a pending rejects file.
fn rejects_of(batch: &RecordBatch, path: &Path) -> Result<Vec<Reject>, SinkError> {
    let mut rejects = Vec::with_capacity(batch.num_rows());
    {
        let c = Columns { batch, path };
        let s = |n: &str| c.get::<StringArray>(n);
        let (id, source, stage, reason, detail) = (
            s("id")?,
            s("source")?,
            s("stage")?,
            s("reason")?,
            s("detail")?,
        );
        let (query_lang, question, gold, response, raw, trace_lang) = (
            s("query_lang")?,
            s("question")?,
            s("gold")?,
            s("response")?,
            s("raw")?,
            s("trace_lang")?,
        );
        let source_row = c.get::<Int64Array>("source_row")?;
        let ordinal = c.get::<Int64Array>("ordinal")?;
        let candidate = c.get::<Int32Array>("candidate_index")?;
        for i in 0..batch.num_rows() {
            let bad = |what: &str, v: &str| SinkError::Parquet {
                context: path.display().to_string(),
                detail: format!("row {i}: unknown {what} `{v}`"),
            };
            rejects.push(Reject {
                prov: Provenance {
                    id: id.value(i).to_string(),
                    source: Arc::from(source.value(i)),
                    source_row: source_row.value(i) as u64,
                    ordinal: ordinal.value(i) as u64,
                    candidate_index: candidate.is_valid(i).then(|| candidate.value(i) as u32),
                },
                stage: Stage::from_name(stage.value(i))
                    .ok_or_else(|| bad("stage", stage.value(i)))?,
                reason: Reason::from_name(reason.value(i))
                    .ok_or_else(|| bad("reason", reason.value(i)))?,
                detail: detail.value(i).to_string(),
                query_lang: opt(query_lang, i),
                question: opt(question, i),
                gold: opt(gold, i),
                response: opt(response, i),
                raw: opt(raw, i),
                trace_lang: opt(trace_lang, i),
            });
        }
    }
    Ok(rejects)
}
