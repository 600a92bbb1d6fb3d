//! File readers: each turns one input file into a stream of JSON objects with
//! their 0-based position in the file. A record that cannot be read (bad JSON,
//! invalid UTF-8, not an object) is yielded as an error for that row only; a
//! file that cannot be read at all (truncated Parquet, missing file) is a
//! [`ReadError`] for the whole run.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use serde_json::{Map, Value};

/// One record of a file: its position and either its fields or why they
/// could not be read (with the raw text, lossy, for the rejects table).
#[derive(Debug)]
pub struct RawItem {
    pub row: u64,
    pub body: Result<Map<String, Value>, Malformed>,
}

/// A record that did not parse.
#[derive(Debug, Clone)]
pub struct Malformed {
    pub detail: String,
    pub raw: String,
}

/// A whole file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a readable Parquet file: {detail}")]
    Parquet { path: PathBuf, detail: String },
    #[error("{path}: not a readable Arrow file: {detail}")]
    Arrow { path: PathBuf, detail: String },
    #[error("{path}: not valid JSON: {detail}")]
    Json { path: PathBuf, detail: String },
    #[error("{path}: unsupported file type (expected .jsonl, .json, .parquet, .arrow, .tsv, optionally .gz or .zst)")]
    Unsupported { path: PathBuf },
}

/// The kind of file, decided from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    JsonLines,
    JsonArray,
    Parquet,
    ArrowStream,
    Tsv,
}

/// Compression wrapped around a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Splits `data.jsonl.gz` into (JsonLines, Gzip) from the file name.
pub fn classify(path: &Path) -> Option<(FileKind, Compression)> {
    let name = path.file_name()?.to_string_lossy().to_lowercase();
    let (stem, compression) = if let Some(s) = name.strip_suffix(".gz") {
        (s.to_string(), Compression::Gzip)
    } else if let Some(s) = name.strip_suffix(".zst") {
        (s.to_string(), Compression::Zstd)
    } else {
        (name, Compression::None)
    };
    let kind = match stem.rsplit('.').next()? {
        "jsonl" | "ndjson" => FileKind::JsonLines,
        "json" => FileKind::JsonArray,
        "parquet" => FileKind::Parquet,
        "arrow" => FileKind::ArrowStream,
        "tsv" => FileKind::Tsv,
        _ => return None,
    };
    let text_kind = matches!(
        kind,
        FileKind::JsonLines | FileKind::JsonArray | FileKind::Tsv
    );
    (text_kind || compression == Compression::None).then_some((kind, compression))
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReadError + '_ {
    move |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn open_text(path: &Path, compression: Compression) -> Result<Box<dyn BufRead + Send>, ReadError> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut reader: Box<dyn BufRead + Send> = match compression {
        Compression::None => open_plain(file),
        Compression::Gzip => Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file))),
        Compression::Zstd => Box::new(BufReader::new(
            zstd::stream::read::Decoder::new(file).map_err(io_err(path))?,
        )),
    };
    skip_byte_order_mark(reader.as_mut()).map_err(io_err(path))?;
    Ok(reader)
}

/// An uncompressed file: memory-mapped where it is a regular file big
/// enough to be worth it, otherwise read through a buffer.
fn open_plain(file: File) -> Box<dyn BufRead + Send> {
    #[cfg(unix)]
    {
        use super::mapped::{MappedFile, MAP_AT_LEAST};
        let big = file
            .metadata()
            .is_ok_and(|m| m.is_file() && m.len() >= MAP_AT_LEAST);
        if let Some(mapped) = big.then(|| MappedFile::open(&file)).flatten() {
            return Box::new(mapped);
        }
    }
    Box::new(BufReader::with_capacity(1 << 20, file))
}

/// Editors on Windows start UTF-8 files with a byte-order mark; left in, it
/// would rename a TSV header's first column or make row 0 malformed JSON.
fn skip_byte_order_mark(reader: &mut dyn BufRead) -> std::io::Result<()> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    if reader.fill_buf()?.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    Ok(())
}

/// A streaming reader over one file.
pub type Items = Box<dyn Iterator<Item = Result<RawItem, ReadError>> + Send>;

/// Opens `path` and streams its records. Parquet and Arrow files are checked
/// (footer, schema) here, so a corrupt file fails before any work is done.
pub fn open(path: &Path, tsv_header: bool) -> Result<Items, ReadError> {
    let (kind, compression) =
        classify(path).ok_or_else(|| ReadError::Unsupported { path: path.into() })?;
    match kind {
        FileKind::JsonLines => Ok(json_lines(
            open_text(path, compression)?,
            path.to_path_buf(),
        )),
        FileKind::Tsv => Ok(Box::new(tsv(
            open_text(path, compression)?,
            path,
            tsv_header,
            MAX_RECORD_BYTES,
        )?)),
        FileKind::JsonArray => json_file(open_text(path, compression)?, path, MAX_RECORD_BYTES),
        FileKind::Parquet => parquet_rows(path),
        FileKind::ArrowStream => arrow_rows(path),
    }
}

/// Raw text kept for a rejected record: enough to debug, bounded in size.
pub fn excerpt(bytes: &[u8], limit: usize) -> String {
    let cut = &bytes[..bytes.len().min(limit)];
    String::from_utf8_lossy(cut).into_owned()
}

/// A record (a line, an array element) longer than this is rejected as
/// malformed after reading at most this much of it: a runaway line (a
/// binary blob, a file without line breaks) must not take the machine's
/// memory. Real records, even with dozens of candidates, are a few MB.
pub const MAX_RECORD_BYTES: usize = 256 << 20;

/// The `malformed` detail of a record over [`MAX_RECORD_BYTES`].
pub(crate) fn too_long(bytes: u64, limit: usize) -> String {
    format!(
        "record of {bytes} bytes, over the limit of {}: not read",
        size(limit)
    )
}

/// A record over the limit, with its first bytes for the rejects table.
fn oversized(head: &[u8], bytes: u64, limit: usize) -> Malformed {
    Malformed {
        detail: too_long(bytes, limit),
        raw: excerpt(head, 4096),
    }
}

/// "256 MiB", or "64 bytes" below a MiB.
fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// What [`read_line_capped`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    End,
    /// The whole line is in the buffer.
    Whole,
    /// The line has `bytes` bytes; only the first `limit` are in the buffer.
    TooLong {
        bytes: u64,
    },
}

/// Reads one line, with its `\n`, into `buf` (cleared first), keeping at
/// most `limit` bytes of it; the rest of a longer line is skipped unread.
pub(crate) fn read_line_capped(
    reader: &mut (impl BufRead + ?Sized),
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Line> {
    buf.clear();
    let mut bytes = 0u64;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        let (used, ends) = match memchr::memchr(b'\n', available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        let room = limit.saturating_sub(buf.len());
        buf.extend_from_slice(&available[..used.min(room)]);
        bytes += used as u64;
        reader.consume(used);
        if ends {
            break;
        }
    }
    Ok(match bytes {
        0 => Line::End,
        n if n > limit as u64 => Line::TooLong { bytes: n },
        _ => Line::Whole,
    })
}

/// Streams JSON lines from any reader (files, the embedded corpus).
pub fn json_lines(reader: Box<dyn BufRead + Send>, path: PathBuf) -> Items {
    json_lines_capped(reader, path, MAX_RECORD_BYTES)
}

fn json_lines_capped(reader: Box<dyn BufRead + Send>, path: PathBuf, limit: usize) -> Items {
    Box::new(JsonLines {
        reader,
        path,
        row: 0,
        buf: Vec::new(),
        limit,
    })
}

struct JsonLines {
    reader: Box<dyn BufRead + Send>,
    path: PathBuf,
    row: u64,
    buf: Vec<u8>,
    limit: usize,
}

impl Iterator for JsonLines {
    type Item = Result<RawItem, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let body = match read_line_capped(self.reader.as_mut(), &mut self.buf, self.limit) {
            Err(e) => return Some(Err(io_err(&self.path)(e))),
            Ok(Line::End) => return None,
            Ok(Line::Whole) => parse_json_line(&self.buf),
            Ok(Line::TooLong { bytes }) => Err(oversized(&self.buf, bytes, self.limit)),
        };
        let row = self.row;
        self.row += 1;
        Some(Ok(RawItem { row, body }))
    }
}

/// One JSONL line to a JSON object, or why not.
pub fn parse_json_line(line: &[u8]) -> Result<Map<String, Value>, Malformed> {
    let malformed = |detail: String| Malformed {
        detail,
        raw: excerpt(line, 4096),
    };
    let text = crate::chars::str_from_utf8(line)
        .map_err(|e| malformed(format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    let text = text.trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        return Err(malformed("empty line".into()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(other) => Err(malformed(format!(
            "not a JSON object (found {})",
            json_kind(&other)
        ))),
        Err(e) => Err(malformed(format!("malformed JSON: {e}"))),
    }
}

/// "an array", "a string", ... for error messages.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A `.json` file: an array of objects, one object, or JSON Lines under a
/// `.json` name (what `Dataset.to_json` writes); records of up to `limit` bytes.
fn json_file(
    mut reader: Box<dyn BufRead + Send>,
    path: &Path,
    limit: usize,
) -> Result<Items, ReadError> {
    // An array is streamed element by element.
    if skip_whitespace(reader.as_mut()).map_err(io_err(path))? == Some(b'[') {
        reader.consume(1);
        return Ok(Box::new(JsonArrayItems {
            reader,
            path: path.to_path_buf(),
            row: 0,
            element: Vec::new(),
            limit,
            state: ArrayState::Open,
        }));
    }
    // JSON Lines: the first line alone is an object and more text follows.
    // Streamed like a `.jsonl` file, the lines read so far put back first.
    let mut head = Vec::new();
    if let Line::TooLong { bytes } =
        read_line_capped(reader.as_mut(), &mut head, limit).map_err(io_err(path))?
    {
        return Err(ReadError::Json {
            path: path.into(),
            detail: format!(
                "its first line has {bytes} bytes, over the record limit of {}",
                size(limit)
            ),
        });
    }
    if serde_json::from_slice::<Map<String, Value>>(&head).is_ok()
        && take_whitespace(reader.as_mut(), &mut head, limit).map_err(io_err(path))?
    {
        return Ok(json_lines_capped(
            Box::new(std::io::Cursor::new(head).chain(reader)),
            path.to_path_buf(),
            limit,
        ));
    }
    // One value, maybe over many lines: read whole, within the limit.
    let mut text = head;
    let room = (limit + 1).saturating_sub(text.len()) as u64;
    reader
        .take(room)
        .read_to_end(&mut text)
        .map_err(io_err(path))?;
    if text.len() > limit {
        return Err(ReadError::Json {
            path: path.into(),
            detail: format!(
                "a single JSON value larger than the record limit of {}",
                size(limit)
            ),
        });
    }
    let value: Value = serde_json::from_slice(&text).map_err(|e| ReadError::Json {
        path: path.into(),
        detail: e.to_string(),
    })?;
    match value {
        // A single object is a one-record file.
        Value::Object(obj) => Ok(Box::new(std::iter::once(Ok(RawItem {
            row: 0,
            body: Ok(obj),
        })))),
        other => Err(ReadError::Json {
            path: path.into(),
            detail: format!("expected an array of objects, found {}", json_kind(&other)),
        }),
    }
}

/// Moves the whitespace at the reader's front into `taken` (at most `limit`
/// bytes of it); true when other text follows.
fn take_whitespace(
    reader: &mut dyn BufRead,
    taken: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        let n = buf
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(buf.len());
        if taken.len() + n > limit {
            return Ok(true); // a flood of blank lines: left for the reader to reject
        }
        taken.extend_from_slice(&buf[..n]);
        let more = n < buf.len();
        reader.consume(n);
        if more {
            return Ok(true);
        }
    }
}

/// Skips leading whitespace; the first other byte, left unread.
fn skip_whitespace(reader: &mut dyn BufRead) -> std::io::Result<Option<u8>> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(n) => {
                let first = buf[n];
                reader.consume(n);
                return Ok(Some(first));
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    Open,
    /// The closing `]` was read; what follows must be whitespace.
    Closed,
    Done,
}

/// The elements of a JSON array, cut at the commas and the closing bracket
/// outside strings and nested values, so that the file is never held whole
/// and a bad element is one malformed row.
struct JsonArrayItems {
    reader: Box<dyn BufRead + Send>,
    path: PathBuf,
    row: u64,
    /// The current element's first `limit` bytes.
    element: Vec<u8>,
    limit: usize,
    state: ArrayState,
}

/// Appends `bytes` to `kept` up to `limit` bytes in all; counts them all.
fn append_capped(kept: &mut Vec<u8>, seen: &mut u64, bytes: &[u8], limit: usize) {
    let room = limit.saturating_sub(kept.len());
    kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    *seen += bytes.len() as u64;
}

impl JsonArrayItems {
    fn truncated(&self, detail: &str) -> ReadError {
        ReadError::Json {
            path: self.path.clone(),
            detail: format!("{detail} (after element {})", self.row),
        }
    }

    /// The next element's bytes (its first `limit` bytes) and its length,
    /// or `None` after the last.
    fn next_element(&mut self) -> Result<Option<(Vec<u8>, u64)>, ReadError> {
        loop {
            if self.state != ArrayState::Open {
                return Ok(None);
            }
            self.element.clear();
            let mut bytes = 0u64;
            let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
            let closed = loop {
                let buf = self.reader.fill_buf().map_err(io_err(&self.path))?;
                if buf.is_empty() {
                    return Err(self.truncated("the file ends before its array's closing `]`"));
                }
                let mut end = None;
                for (i, &b) in buf.iter().enumerate() {
                    if in_string {
                        match b {
                            _ if escaped => escaped = false,
                            b'\\' => escaped = true,
                            b'"' => in_string = false,
                            _ => {}
                        }
                        continue;
                    }
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' if depth > 0 => depth -= 1,
                        b']' => end = Some((i, true)),
                        b',' if depth == 0 => end = Some((i, false)),
                        _ => {}
                    }
                    if end.is_some() {
                        break;
                    }
                }
                match end {
                    Some((i, closed)) => {
                        append_capped(&mut self.element, &mut bytes, &buf[..i], self.limit);
                        self.reader.consume(i + 1);
                        break closed;
                    }
                    None => {
                        let n = buf.len();
                        append_capped(&mut self.element, &mut bytes, buf, self.limit);
                        self.reader.consume(n);
                    }
                }
            };
            if closed {
                self.state = ArrayState::Closed;
            }
            // `[]`, a trailing comma, or `,,`: no element there.
            let whole = bytes <= self.limit as u64;
            if whole && self.element.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some((std::mem::take(&mut self.element), bytes)));
        }
    }
}

impl Iterator for JsonArrayItems {
    type Item = Result<RawItem, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_element() {
            Ok(Some((element, bytes))) => {
                let row = self.row;
                self.row += 1;
                let body = if bytes > self.limit as u64 {
                    Err(oversized(&element, bytes, self.limit))
                } else {
                    parse_json_line(&element)
                };
                Some(Ok(RawItem { row, body }))
            }
            Ok(None) if self.state == ArrayState::Closed => {
                self.state = ArrayState::Done;
                match skip_whitespace(self.reader.as_mut()) {
                    Ok(None) => None,
                    Ok(Some(_)) => Some(Err(self.truncated("more after the array's closing `]`"))),
                    Err(e) => Some(Err(io_err(&self.path)(e))),
                }
            }
            Ok(None) => None,
            Err(e) => {
                self.state = ArrayState::Done;
                Some(Err(e))
            }
        }
    }
}

/// TSV: with a header row, fields are named by it; without (MGSM), the
/// columns are `question` and `answer`. Every line counts as a row; rows of
/// up to `limit` bytes.
fn tsv(
    reader: Box<dyn BufRead + Send>,
    path: &Path,
    header: bool,
    limit: usize,
) -> Result<impl Iterator<Item = Result<RawItem, ReadError>> + Send, ReadError> {
    let mut lines = CappedLines { reader, limit }.enumerate();
    let names: Vec<String> = if header {
        match lines.next() {
            Some((_, line)) => {
                let (line, _) = line.map_err(io_err(path))?;
                String::from_utf8_lossy(&line)
                    .trim_end_matches('\r')
                    .split('\t')
                    .map(str::to_string)
                    .collect()
            }
            None => Vec::new(),
        }
    } else {
        vec!["question".into(), "answer".into()]
    };
    let path = path.to_path_buf();
    Ok(lines.map(move |(i, line)| {
        let (line, kind) = line.map_err(io_err(&path))?;
        let malformed = |detail: String| Malformed {
            detail,
            raw: excerpt(&line, 4096),
        };
        let text = match kind {
            Line::TooLong { bytes } => Err(oversized(&line, bytes, limit)),
            _ => crate::chars::str_from_utf8(&line)
                .map_err(|e| malformed(format!("invalid UTF-8 at byte {}", e.valid_up_to()))),
        };
        let body = text.and_then(|text| {
            let cells: Vec<&str> = text.trim_end_matches('\r').split('\t').collect();
            if cells.len() != names.len() {
                return Err(malformed(format!(
                    "expected {} tab-separated fields, found {}",
                    names.len(),
                    cells.len()
                )));
            }
            Ok(names
                .iter()
                .zip(cells)
                .map(|(n, c)| (n.clone(), Value::String(c.to_string())))
                .collect())
        });
        Ok(RawItem {
            row: i as u64,
            body,
        })
    }))
}

/// The lines of a text without their `\n`, each cut at `limit` bytes.
struct CappedLines {
    reader: Box<dyn BufRead + Send>,
    limit: usize,
}

impl Iterator for CappedLines {
    type Item = std::io::Result<(Vec<u8>, Line)>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = Vec::new();
        match read_line_capped(self.reader.as_mut(), &mut line, self.limit) {
            Err(e) => Some(Err(e)),
            Ok(Line::End) => None,
            Ok(kind) => {
                if kind == Line::Whole && line.last() == Some(&b'\n') {
                    line.pop();
                }
                Some(Ok((line, kind)))
            }
        }
    }
}

/// Converts record batches to JSON objects (nested lists and structs
/// included) through arrow's JSON writer, so Parquet/Arrow rows go through
/// the same field mapping as JSON lines.
fn batch_to_objects(batch: &RecordBatch) -> Result<Vec<Map<String, Value>>, String> {
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    writer.write(batch).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

/// Streams rows of record batches, numbering them across batches.
struct BatchRows<I> {
    batches: I,
    path: PathBuf,
    pending: std::vec::IntoIter<Map<String, Value>>,
    row: u64,
    failed: bool,
    error: fn(PathBuf, String) -> ReadError,
}

impl<I, E> Iterator for BatchRows<I>
where
    I: Iterator<Item = Result<RecordBatch, E>>,
    E: std::fmt::Display,
{
    type Item = Result<RawItem, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(obj) = self.pending.next() {
                let row = self.row;
                self.row += 1;
                return Some(Ok(RawItem { row, body: Ok(obj) }));
            }
            if self.failed {
                return None;
            }
            let converted = match self.batches.next()? {
                Ok(batch) => batch_to_objects(&batch),
                Err(e) => Err(e.to_string()),
            };
            match converted {
                Ok(rows) => self.pending = rows.into_iter(),
                Err(detail) => {
                    self.failed = true;
                    let detail = format!("row group after row {}: {detail}", self.row);
                    return Some(Err((self.error)(self.path.clone(), detail)));
                }
            }
        }
    }
}

fn batch_rows<I, E>(batches: I, path: &Path, error: fn(PathBuf, String) -> ReadError) -> Items
where
    I: Iterator<Item = Result<RecordBatch, E>> + Send + 'static,
    E: std::fmt::Display,
{
    Box::new(BatchRows {
        batches,
        path: path.to_path_buf(),
        pending: Vec::new().into_iter(),
        row: 0,
        failed: false,
        error,
    })
}

fn parquet_rows(path: &Path) -> Result<Items, ReadError> {
    let bad = |detail: String| ReadError::Parquet {
        path: path.into(),
        detail,
    };
    let file = File::open(path).map_err(io_err(path))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| bad(e.to_string()))?
        .with_batch_size(1024)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    Ok(batch_rows(reader, path, |path, detail| {
        ReadError::Parquet { path, detail }
    }))
}

/// Hugging Face `save_to_disk` shards are Arrow IPC *streams*; plain Arrow
/// IPC files (with a footer) are accepted too.
fn arrow_rows(path: &Path) -> Result<Items, ReadError> {
    let bad = |detail: String| ReadError::Arrow {
        path: path.into(),
        detail,
    };
    let error: fn(PathBuf, String) -> ReadError = |path, detail| ReadError::Arrow { path, detail };
    let file = File::open(path).map_err(io_err(path))?;
    let mut magic = [0u8; 6];
    let is_file_format = File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map(|_| &magic == b"ARROW1")
        .unwrap_or(false);
    if is_file_format {
        let reader =
            arrow::ipc::reader::FileReader::try_new(file, None).map_err(|e| bad(e.to_string()))?;
        return Ok(batch_rows(reader, path, error));
    }
    let reader = arrow::ipc::reader::StreamReader::try_new(BufReader::new(file), None)
        .map_err(|e| bad(e.to_string()))?;
    Ok(batch_rows(reader, path, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_name() {
        assert_eq!(
            classify(Path::new("a/b.jsonl.gz")),
            Some((FileKind::JsonLines, Compression::Gzip))
        );
        assert_eq!(
            classify(Path::new("x.JSON")),
            Some((FileKind::JsonArray, Compression::None))
        );
        assert_eq!(
            classify(Path::new("mgsm_fr.tsv")),
            Some((FileKind::Tsv, Compression::None))
        );
        assert_eq!(classify(Path::new("x.parquet.gz")), None);
        assert_eq!(classify(Path::new("x.csv")), None);
    }

    /// A row's position and its fields as JSON, or why it is malformed.
    type ReadRow = (u64, Result<String, String>);

    /// `text` through a 3-byte buffer, so that records straddle buffer
    /// boundaries.
    fn small_buffer(text: &str) -> Box<dyn BufRead + Send> {
        Box::new(BufReader::with_capacity(
            3,
            std::io::Cursor::new(text.to_string()),
        ))
    }

    /// (row, Ok(fields) or the malformed detail) of each item.
    fn rows(
        items: impl Iterator<Item = Result<RawItem, ReadError>>,
    ) -> Result<Vec<ReadRow>, String> {
        items
            .map(|item| {
                let item = item.map_err(|e| e.to_string())?;
                let body = item
                    .body
                    .map(|obj| serde_json::Value::Object(obj).to_string())
                    .map_err(|m| m.detail);
                Ok((item.row, body))
            })
            .collect()
    }

    /// Reads `text` as a `.json` file.
    fn read_json(text: &str) -> Result<Vec<ReadRow>, String> {
        read_json_capped(text, MAX_RECORD_BYTES)
    }

    fn read_json_capped(text: &str, limit: usize) -> Result<Vec<ReadRow>, String> {
        rows(json_file(small_buffer(text), Path::new("t.json"), limit).map_err(|e| e.to_string())?)
    }

    #[test]
    fn json_files_in_json_lines_form_stream_every_line() {
        // Blank lines are rows too, as in a `.jsonl` file.
        assert_eq!(
            read_json("{\"a\": 1}\n\n  \n{\"a\": 2}\n").unwrap(),
            vec![
                (0, Ok(r#"{"a":1}"#.to_string())),
                (1, Err("empty line".to_string())),
                (2, Err("empty line".to_string())),
                (3, Ok(r#"{"a":2}"#.to_string())),
            ]
        );
        // One object, on one line or many, is one record.
        let one = vec![(0, Ok(r#"{"a":1,"b":[2]}"#.to_string()))];
        assert_eq!(read_json("{\"a\": 1, \"b\": [2]}\n\n").unwrap(), one);
        assert_eq!(read_json("{\n  \"a\": 1,\n  \"b\": [2]\n}\n").unwrap(), one);
        let scalar = read_json("7").unwrap_err();
        assert!(
            scalar.contains("expected an array of objects, found a number"),
            "{scalar}"
        );
    }

    #[test]
    fn json_files_in_json_lines_form_are_not_read_whole() {
        // A reader that fails after two lines: a file read whole would fail
        // before its first row.
        struct Gone;
        impl Read for Gone {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk gone"))
            }
        }
        let text = std::io::Cursor::new(b"{\"a\": 1}\n{\"a\": 2}\n".to_vec());
        let reader = Box::new(BufReader::new(text.chain(Gone)));
        let mut items = json_file(reader, Path::new("t.json"), MAX_RECORD_BYTES).unwrap();
        for expected in [1, 2] {
            let obj = items.next().unwrap().unwrap().body.unwrap();
            assert_eq!(obj["a"], expected);
        }
        let err = items.next().unwrap().unwrap_err().to_string();
        assert!(err.contains("disk gone"), "{err}");
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_whole() {
        let mut buf = Vec::new();
        let mut text = std::io::Cursor::new(b"abc\nabcd\nab".to_vec());
        assert_eq!(
            read_line_capped(&mut text, &mut buf, 4).unwrap(),
            Line::Whole
        );
        assert_eq!(buf, b"abc\n");
        assert_eq!(
            read_line_capped(&mut text, &mut buf, 4).unwrap(),
            Line::TooLong { bytes: 5 }
        );
        assert_eq!(buf, b"abcd");
        assert_eq!(
            read_line_capped(&mut text, &mut buf, 4).unwrap(),
            Line::Whole
        );
        assert_eq!(buf, b"ab");
        assert_eq!(read_line_capped(&mut text, &mut buf, 4).unwrap(), Line::End);
    }

    #[test]
    fn records_over_the_limit_are_malformed_not_read() {
        let long = format!("{{\"q\": \"{}\"}}", "x".repeat(100));
        let over = format!(
            "record of {} bytes, over the limit of 64 bytes: not read",
            long.len()
        );
        // JSON Lines: the long line (with its line break) is skipped, the next one read.
        let text = format!("{{\"a\": 1}}\n{long}\n{{\"a\": 2}}\n");
        let items = json_lines_capped(small_buffer(&text), "t.jsonl".into(), 64);
        let line_over = format!(
            "record of {} bytes, over the limit of 64 bytes: not read",
            long.len() + 1
        );
        assert_eq!(
            rows(items).unwrap(),
            vec![
                (0, Ok(r#"{"a":1}"#.to_string())),
                (1, Err(line_over)),
                (2, Ok(r#"{"a":2}"#.to_string())),
            ]
        );
        // A JSON array: the long element, then the rest.
        let text = format!("[{{\"a\": 1}},{long},{{\"a\": 2}}]");
        assert_eq!(
            read_json_capped(&text, 64).unwrap(),
            vec![
                (0, Ok(r#"{"a":1}"#.to_string())),
                (1, Err(over.clone())),
                (2, Ok(r#"{"a":2}"#.to_string())),
            ]
        );
        // TSV: the long line is one malformed row.
        let text = format!("q\ta\n1\t2\n{}\t3\n4\t5", "y".repeat(100));
        let items = tsv(small_buffer(&text), Path::new("t.tsv"), true, 64).unwrap();
        let got = rows(items).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (1, Ok(r#"{"q":"1","a":"2"}"#.to_string())));
        assert_eq!(
            got[1],
            (
                2,
                Err("record of 103 bytes, over the limit of 64 bytes: not read".to_string())
            )
        );
        assert_eq!(got[2], (3, Ok(r#"{"q":"4","a":"5"}"#.to_string())));
        // A single JSON value over the limit stops the file with a reason.
        let err =
            read_json_capped(&format!("{{\n\"q\": \"{}\"}}", "x".repeat(100)), 64).unwrap_err();
        assert!(
            err.contains("a single JSON value larger than the record limit of 64 bytes"),
            "{err}"
        );
    }

    #[test]
    fn json_arrays_stream_element_by_element() {
        let text = r#" [ {"q": "a, [b] {c}", "n": [1, {"x": "]"}]},
            {"q": "esc \" ], q"} , 7, {"bad": tru}, ] "#;
        let rows = read_json(text).unwrap();
        assert_eq!(
            rows,
            vec![
                (0, Ok(r#"{"q":"a, [b] {c}","n":[1,{"x":"]"}]}"#.to_string())),
                (1, Ok(r#"{"q":"esc \" ], q"}"#.to_string())),
                (2, Err("not a JSON object (found a number)".to_string())),
                (
                    3,
                    Err("malformed JSON: expected ident at line 1 column 13".to_string())
                ),
            ]
        );
        assert_eq!(read_json("[]").unwrap(), vec![]);
        assert_eq!(
            read_json(r#"{"a": 1}"#).unwrap(),
            vec![(0, Ok(r#"{"a":1}"#.to_string()))]
        );
        let truncated = read_json(r#"[{"a": 1}, {"a": "#).unwrap_err();
        assert!(
            truncated.contains("ends before its array's closing `]` (after element 1)"),
            "{truncated}"
        );
        let trailing = read_json(r#"[{"a": 1}] x"#).unwrap_err();
        assert!(
            trailing.contains("more after the array's closing `]`"),
            "{trailing}"
        );
    }

    #[test]
    fn json_lines_reject_bad_rows_with_reasons() {
        assert!(parse_json_line(b"{\"a\": 1}\n").is_ok());
        let bad = parse_json_line(b"[1, 2]").unwrap_err();
        assert_eq!(bad.detail, "not a JSON object (found an array)");
        let bad = parse_json_line(b"{\"a\": \xff}").unwrap_err();
        assert_eq!(bad.detail, "invalid UTF-8 at byte 6");
        assert_eq!(bad.raw, "{\"a\": \u{fffd}}");
        assert!(parse_json_line(b"{\"a\": ")
            .unwrap_err()
            .detail
            .starts_with("malformed JSON"));
        assert_eq!(parse_json_line(b"  \n").unwrap_err().detail, "empty line");
    }
}
