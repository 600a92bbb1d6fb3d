//! Curated shards → training batches: schema check, streaming Parquet reads,
//! chat-template rendering with a loss mask, cutoff, length buckets, seeded shuffle.
//!
//! Nothing holds the whole data set: shards are read `window_rows` rows at a
//! time, and each window is shuffled, sorted into length buckets and cut into
//! batches. An epoch's order depends only on (seed, epoch), so a position in
//! the data is just (epoch, batches consumed) and resuming replays it exactly.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::{Array, LargeStringArray, RecordBatch, StringArray, StringViewArray};
use candle_core::{Device, Tensor};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::tokenize::{ChatTemplate, Tok};

/// The columns SFT reads from a curated shard.
pub const COLUMNS: [&str; 3] = ["prompt", "reasoning", "answer"];

/// One curated trace: the localized instruction + question, and the response parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub prompt: String,
    pub reasoning: String,
    pub answer: String,
}

/// `data/{split}-*.parquet` under a folder written by `adamame-data build`, sorted.
pub fn shard_files(dir: &Path, split: &str) -> Result<Vec<PathBuf>> {
    let data = dir.join("data");
    let entries = std::fs::read_dir(&data).map_err(|e| Error::io(&data, e))?;
    let prefix = format!("{split}-");
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with(&prefix) && name.ends_with(".parquet")
        })
        .collect();
    files.sort();
    Ok(files)
}

fn parquet_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn open_builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_err(path, e))
}

/// Checks a shard against the curated-traces schema; the error names the file and every bad column.
pub fn check_schema(path: &Path) -> Result<()> {
    let builder = open_builder(path)?;
    let problems =
        adamame_schemas::schema_mismatches(&adamame_schemas::curated_schema(), builder.schema());
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Schema {
            path: path.to_path_buf(),
            problems: problems.join("; "),
        })
    }
}

/// Rows in a shard, from its footer.
pub fn shard_rows(path: &Path) -> Result<usize> {
    Ok(open_builder(path)?.metadata().file_metadata().num_rows() as usize)
}

/// Streams the examples of one shard, reading only the three SFT columns.
pub struct ShardReader {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    row: usize,
}

impl ShardReader {
    pub fn open(path: &Path) -> Result<Self> {
        let builder = open_builder(path)?;
        let mask = ProjectionMask::columns(builder.parquet_schema(), COLUMNS);
        let reader = builder
            .with_projection(mask)
            .with_batch_size(256)
            .build()
            .map_err(|e| parquet_err(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            batch: None,
            row: 0,
        })
    }

    fn column_str(&self, batch: &RecordBatch, name: &str, row: usize) -> Result<String> {
        let col = batch
            .column_by_name(name)
            .ok_or_else(|| Error::Schema {
                path: self.path.clone(),
                problems: format!("missing column `{name}`"),
            })?
            .as_any();
        let value = if let Some(a) = col.downcast_ref::<StringArray>() {
            a.is_valid(row).then(|| a.value(row))
        } else if let Some(a) = col.downcast_ref::<LargeStringArray>() {
            a.is_valid(row).then(|| a.value(row))
        } else if let Some(a) = col.downcast_ref::<StringViewArray>() {
            a.is_valid(row).then(|| a.value(row))
        } else {
            return Err(Error::Schema {
                path: self.path.clone(),
                problems: format!("column `{name}`: expected a string column"),
            });
        };
        value.map(str::to_string).ok_or_else(|| Error::Parquet {
            path: self.path.clone(),
            message: format!("column `{name}` is null in a row"),
        })
    }
}

impl Iterator for ShardReader {
    type Item = Result<Example>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(batch) = self.batch.take() {
                if self.row < batch.num_rows() {
                    let row = self.row;
                    self.row += 1;
                    let ex = (|| {
                        Ok(Example {
                            prompt: self.column_str(&batch, "prompt", row)?,
                            reasoning: self.column_str(&batch, "reasoning", row)?,
                            answer: self.column_str(&batch, "answer", row)?,
                        })
                    })();
                    self.batch = Some(batch);
                    return Some(ex);
                }
            }
            match self.reader.next()? {
                Ok(batch) => {
                    self.batch = Some(batch);
                    self.row = 0;
                }
                Err(e) => return Some(Err(parquet_err(&self.path, e))),
            }
        }
    }
}

/// What to do with an example longer than the cutoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CutoffPolicy {
    /// Cut the response's tail (an example whose prompt alone fills the cutoff is dropped).
    Truncate,
    /// Leave the example out.
    Drop,
}

impl std::str::FromStr for CutoffPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "truncate" => Ok(Self::Truncate),
            "drop" => Ok(Self::Drop),
            other => Err(Error::Config(format!(
                "unknown cutoff policy {other:?} (truncate, drop)"
            ))),
        }
    }
}

/// Token ids of one rendered example; the first `prompt_len` are masked out of the loss.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub prompt_len: usize,
}

/// The outcome of rendering one example under the cutoff.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    Kept(Encoded),
    Truncated(Encoded),
    Dropped,
}

/// Counts over the rows seen: what the cutoff did and how many tokens train.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataStats {
    pub rows: usize,
    /// Rows that train (truncated ones included).
    pub kept: usize,
    pub truncated: usize,
    pub dropped: usize,
    pub tokens: usize,
    /// Response tokens: the ones the loss is computed on.
    pub loss_tokens: usize,
}

impl DataStats {
    fn count(&mut self, r: &Rendered) {
        self.rows += 1;
        match r {
            Rendered::Kept(e) | Rendered::Truncated(e) => {
                self.kept += 1;
                self.tokens += e.ids.len();
                self.loss_tokens += e.ids.len() - e.prompt_len;
                if matches!(r, Rendered::Truncated(_)) {
                    self.truncated += 1;
                }
            }
            Rendered::Dropped => self.dropped += 1,
        }
    }
}

/// Renders examples with a chat template and tokenizes them under a cutoff.
#[derive(Clone)]
pub struct Renderer {
    pub tok: Tok,
    pub template: ChatTemplate,
    pub cutoff: usize,
    pub policy: CutoffPolicy,
}

impl Renderer {
    /// Prompt: the template's user turn up to where the model writes (the `<think>`
    /// opener included where the template has it); response: reasoning, `</think>`,
    /// answer, EOS. Prompt and response are encoded separately so the boundary is exact.
    pub fn render(&self, ex: &Example) -> Result<Rendered> {
        let prompt = self
            .tok
            .encode(&self.template.prompt(None, &ex.prompt), false)?;
        let mut response = self
            .tok
            .encode(&self.template.response(&ex.reasoning, &ex.answer), false)?;
        let prompt_len = prompt.len();
        if prompt_len + response.len() <= self.cutoff {
            let mut ids = prompt;
            ids.append(&mut response);
            return Ok(Rendered::Kept(Encoded { ids, prompt_len }));
        }
        if self.policy == CutoffPolicy::Drop || prompt_len >= self.cutoff {
            return Ok(Rendered::Dropped);
        }
        response.truncate(self.cutoff - prompt_len);
        let mut ids = prompt;
        ids.append(&mut response);
        Ok(Rendered::Truncated(Encoded { ids, prompt_len }))
    }
}

/// Right-padded rows and the loss mask: `loss_mask[r * (len - 1) + i - 1]` weights
/// the prediction of token i of row r (1 on response tokens, 0 on prompt and padding).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub input_ids: Vec<u32>,
    pub loss_mask: Vec<f32>,
    pub rows: usize,
    pub len: usize,
    /// Real (unpadded) tokens.
    pub tokens: usize,
    pub loss_tokens: usize,
}

impl Batch {
    pub fn new(examples: &[Encoded], pad_id: u32) -> Self {
        let len = examples
            .iter()
            .map(|e| e.ids.len())
            .max()
            .unwrap_or(0)
            .max(2);
        let mut input_ids = Vec::with_capacity(examples.len() * len);
        let mut loss_mask = Vec::with_capacity(examples.len() * (len - 1));
        let (mut tokens, mut loss_tokens) = (0, 0);
        for e in examples {
            input_ids.extend_from_slice(&e.ids);
            input_ids.extend(std::iter::repeat_n(pad_id, len - e.ids.len()));
            loss_mask.extend((1..len).map(|i| {
                let counted = i >= e.prompt_len && i < e.ids.len();
                if counted {
                    1.0
                } else {
                    0.0
                }
            }));
            tokens += e.ids.len();
            loss_tokens += e.ids.len().saturating_sub(e.prompt_len.max(1));
        }
        Self {
            input_ids,
            loss_mask,
            rows: examples.len(),
            len,
            tokens,
            loss_tokens,
        }
    }

    /// (rows, len) u32 ids and (rows, len - 1) f32 mask.
    pub fn tensors(&self, device: &Device) -> Result<(Tensor, Tensor)> {
        let ids = Tensor::from_slice(&self.input_ids, (self.rows, self.len), device)?;
        let mask = Tensor::from_slice(&self.loss_mask, (self.rows, self.len - 1), device)?;
        Ok((ids, mask))
    }
}

/// Where and how batches are cut.
#[derive(Debug, Clone)]
pub struct BatchSpec {
    pub batch_size: usize,
    /// Rows shuffled and bucketed together.
    pub window_rows: usize,
    pub seed: u64,
    pub pad_id: u32,
    /// Shuffle shard order, rows and batches (false for evaluation).
    pub shuffle: bool,
}

/// The shards of one split, rendered and batched.
#[derive(Clone)]
pub struct SftData {
    pub files: Vec<PathBuf>,
    pub renderer: Renderer,
    pub spec: BatchSpec,
}

impl SftData {
    /// One pass over every shard: what the cutoff does, and batches per epoch.
    pub fn scan(&self) -> Result<(DataStats, usize)> {
        let mut stats = DataStats::default();
        let mut batches = 0;
        for file in &self.files {
            let mut rows = ShardReader::open(file)?;
            loop {
                let window = next_window(&mut rows, self.spec.window_rows)?;
                if window.is_empty() {
                    break;
                }
                let mut kept = 0;
                for ex in &window {
                    let r = self.renderer.render(ex)?;
                    stats.count(&r);
                    kept += usize::from(!matches!(r, Rendered::Dropped));
                }
                batches += kept.div_ceil(self.spec.batch_size.max(1));
            }
        }
        Ok((stats, batches))
    }

    /// The batches of one epoch, in the order fixed by (seed, epoch).
    pub fn epoch(&self, epoch: usize) -> EpochBatches {
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.spec
                .seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(epoch as u64),
        );
        let mut files = self.files.clone();
        if self.spec.shuffle {
            files.shuffle(&mut rng);
        }
        EpochBatches {
            data: self.clone(),
            files: files.into(),
            reader: None,
            pending: VecDeque::new(),
            rng,
            stats: DataStats::default(),
        }
    }
}

fn next_window(rows: &mut ShardReader, n: usize) -> Result<Vec<Example>> {
    rows.by_ref().take(n.max(1)).collect()
}

/// Iterator over one epoch's batches.
pub struct EpochBatches {
    data: SftData,
    files: VecDeque<PathBuf>,
    reader: Option<ShardReader>,
    pending: VecDeque<Batch>,
    rng: ChaCha8Rng,
    /// Counts over the rows read so far this epoch.
    pub stats: DataStats,
}

impl EpochBatches {
    /// Reads, renders and batches the next window; false when the epoch is over.
    fn refill(&mut self) -> Result<bool> {
        loop {
            let reader = match self.reader.as_mut() {
                Some(r) => r,
                None => match self.files.pop_front() {
                    Some(f) => self.reader.insert(ShardReader::open(&f)?),
                    None => return Ok(false),
                },
            };
            let window = next_window(reader, self.data.spec.window_rows)?;
            if window.is_empty() {
                self.reader = None;
                continue;
            }
            let mut encoded = Vec::with_capacity(window.len());
            for ex in &window {
                let r = self.data.renderer.render(ex)?;
                self.stats.count(&r);
                if let Rendered::Kept(e) | Rendered::Truncated(e) = r {
                    encoded.push(e);
                }
            }
            let spec = &self.data.spec;
            if spec.shuffle {
                encoded.shuffle(&mut self.rng);
            }
            // Length buckets: neighbours in length share a batch, so little is padding.
            encoded.sort_by_key(|e| e.ids.len());
            let mut batches: Vec<Batch> = encoded
                .chunks(spec.batch_size.max(1))
                .map(|c| Batch::new(c, spec.pad_id))
                .collect();
            if spec.shuffle {
                batches.shuffle(&mut self.rng);
            }
            self.pending.extend(batches);
            if !self.pending.is_empty() {
                return Ok(true);
            }
        }
    }
}

impl Iterator for EpochBatches {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pending.is_empty() {
            match self.refill() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        self.pending.pop_front().map(Ok)
    }
}

/// A position in the data: the epoch and the batches of it already consumed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPosition {
    pub epoch: usize,
    pub batch: usize,
}

/// Batches across epochs, resumable from a [`DataPosition`].
pub struct DataCursor {
    data: SftData,
    epochs: usize,
    position: DataPosition,
    current: EpochBatches,
}

impl DataCursor {
    /// Starts at `position` (skipping the batches it says were consumed).
    pub fn new(data: SftData, epochs: usize, position: DataPosition) -> Result<Self> {
        let mut current = data.epoch(position.epoch);
        for _ in 0..position.batch {
            if current.next().transpose()?.is_none() {
                break;
            }
        }
        Ok(Self {
            data,
            epochs,
            position,
            current,
        })
    }

    pub fn position(&self) -> DataPosition {
        self.position
    }

    /// The next batch, moving to the next epoch at the end of one; None after the last epoch.
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        loop {
            if self.position.epoch >= self.epochs {
                return Ok(None);
            }
            if let Some(b) = self.current.next().transpose()? {
                self.position.batch += 1;
                return Ok(Some(b));
            }
            self.position = DataPosition {
                epoch: self.position.epoch + 1,
                batch: 0,
            };
            self.current = self.data.epoch(self.position.epoch);
        }
    }
}
