//! Sharded Parquet output in the Hugging Face layout:
//! `{prefix}-{i:05d}-of-{n:05d}.parquet`, zstd or snappy, page index on,
//! bounded row groups, the schema also under the `huggingface` metadata key.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::sink::SinkError;

/// Row groups hold at most this many rows, and at most [`ROW_GROUP_BYTES`].
const ROW_GROUP_ROWS: usize = 16_384;
const ROW_GROUP_BYTES: usize = 64 << 20;

/// A finished shard, as listed in the manifest.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ShardInfo {
    /// Path relative to the output folder, with `/` separators.
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// Output compression (`--compression`).
pub fn compression(name: &str) -> Result<Compression, SinkError> {
    match name {
        "zstd" => Ok(Compression::ZSTD(
            ZstdLevel::try_new(3).map_err(SinkError::parquet("zstd level"))?,
        )),
        "snappy" => Ok(Compression::SNAPPY),
        "none" | "uncompressed" => Ok(Compression::UNCOMPRESSED),
        other => Err(SinkError::Config(format!(
            "unknown compression `{other}` (zstd, snappy, none)"
        ))),
    }
}

/// The codec of the reject files: a debugging aid that keeps each rejected
/// response, often most of the input. zstd's level 3 on them was a tenth of a
/// build and level 1 still a twentieth, so zstd output gets LZ4 (the
/// `LZ4_RAW` codec that pyarrow, polars and DuckDB read): 1.4 times the
/// bytes of zstd level 1, and 5% less CPU for the whole build of the real
/// traces. Snappy and none stay as asked.
pub fn reject_compression(compression: Compression) -> Compression {
    match compression {
        Compression::ZSTD(_) => Compression::LZ4_RAW,
        other => other,
    }
}

/// Writer properties shared by every file we write. `created_by` is pinned
/// so that identical rows give identical bytes.
pub fn writer_properties(schema: &SchemaRef, compression: Compression) -> WriterProperties {
    let hf = adamame_schemas::huggingface_features(schema).to_string();
    let mut kv = vec![KeyValue::new("huggingface".to_string(), hf)];
    let mut meta: Vec<_> = schema.metadata().iter().collect();
    meta.sort();
    kv.extend(
        meta.into_iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
    );
    WriterProperties::builder()
        .set_compression(compression)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .set_created_by(format!("adamame {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(kv))
        .build()
}

/// Writes batches into numbered part files of at most `rows_per_shard` rows;
/// [`ShardWriter::finish`] renames them to their final `-of-N` names.
pub struct ShardWriter {
    dir: PathBuf,
    prefix: String,
    schema: SchemaRef,
    props: WriterProperties,
    rows_per_shard: usize,
    current: Option<(PathBuf, ArrowWriter<BufWriter<HashedFile>>, usize)>,
    parts: Vec<ClosedPart>,
}

impl ShardInfo {
    /// Checks the file at `root/path` against the size and SHA-256 listed.
    pub fn verify(&self, root: &Path) -> Result<PathBuf, SinkError> {
        let path = root.join(&self.path);
        let mut hasher = Sha256::new();
        let bytes = File::open(&path)
            .and_then(|mut file| std::io::copy(&mut file, &mut hasher))
            .map_err(SinkError::io(&path))?;
        let sha256 = hex::encode(hasher.finalize());
        if bytes != self.bytes || sha256 != self.sha256 {
            return Err(SinkError::Parquet {
                context: path.display().to_string(),
                detail: format!(
                    "not the file the manifest lists ({} bytes, sha256 {}; listed {} bytes, sha256 {})",
                    bytes, sha256, self.bytes, self.sha256
                ),
            });
        }
        Ok(path)
    }
}

/// A part file written and closed, before its final name.
struct ClosedPart {
    path: PathBuf,
    rows: usize,
    sha256: String,
    bytes: u64,
}

/// A file that hashes what is written to it: Parquet is written front to
/// back, so the manifest's SHA-256 costs no second read of the shard.
struct HashedFile {
    file: File,
    hasher: Sha256,
    bytes: u64,
}

impl Write for HashedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl ShardWriter {
    pub fn new(
        dir: &Path,
        prefix: &str,
        schema: SchemaRef,
        compression: Compression,
        rows_per_shard: usize,
    ) -> Self {
        ShardWriter {
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            props: writer_properties(&schema, compression),
            schema,
            rows_per_shard: rows_per_shard.max(1),
            current: None,
            parts: Vec::new(),
        }
    }

    fn open_part(&mut self) -> Result<(), SinkError> {
        let path = self.dir.join(format!(
            ".{}-part-{:05}.parquet",
            self.prefix,
            self.parts.len()
        ));
        let file = HashedFile {
            file: File::create(&path).map_err(SinkError::io(&path))?,
            hasher: Sha256::new(),
            bytes: 0,
        };
        let writer = ArrowWriter::try_new(
            BufWriter::new(file),
            self.schema.clone(),
            Some(self.props.clone()),
        )
        .map_err(SinkError::parquet_at(&path))?;
        self.current = Some((path, writer, 0));
        Ok(())
    }

    fn close_part(&mut self) -> Result<(), SinkError> {
        if let Some((path, writer, rows)) = self.current.take() {
            // `into_inner` writes the footer, as `close` does.
            let file = writer
                .into_inner()
                .map_err(SinkError::parquet_at(&path))?
                .into_inner()
                .map_err(|e| e.into_error())
                .map_err(SinkError::io(&path))?;
            let sha256 = hex::encode(file.hasher.finalize());
            self.parts.push(ClosedPart {
                path,
                rows,
                sha256,
                bytes: file.bytes,
            });
        }
        Ok(())
    }

    /// Appends a batch, splitting it across shards as needed.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), SinkError> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if self.current.is_none() {
                self.open_part()?;
            }
            let Some((path, writer, rows)) = self.current.as_mut() else {
                return Err(SinkError::Config("internal: no open shard".into()));
            };
            let take = (self.rows_per_shard - *rows).min(batch.num_rows() - offset);
            writer
                .write(&batch.slice(offset, take))
                .map_err(SinkError::parquet_at(path))?;
            *rows += take;
            offset += take;
            if *rows == self.rows_per_shard {
                self.close_part()?;
            }
        }
        Ok(())
    }

    /// Closes the last part and renames all to `{prefix}-{i:05d}-of-{n:05d}.parquet`.
    /// With no rows at all, writes one empty shard so the schema is on disk.
    pub fn finish(mut self, relative_to: &Path) -> Result<Vec<ShardInfo>, SinkError> {
        if self.parts.is_empty() && self.current.is_none() {
            self.open_part()?;
        }
        self.close_part()?;
        let n = self.parts.len();
        let mut shards = Vec::with_capacity(n);
        for (i, part) in self.parts.into_iter().enumerate() {
            let path = self
                .dir
                .join(format!("{}-{i:05}-of-{n:05}.parquet", self.prefix));
            std::fs::rename(&part.path, &path).map_err(SinkError::io(&path))?;
            let rel = path.strip_prefix(relative_to).unwrap_or(&path);
            shards.push(ShardInfo {
                path: rel.to_string_lossy().replace('\\', "/"),
                rows: part.rows as u64,
                bytes: part.bytes,
                sha256: part.sha256,
            });
        }
        Ok(shards)
    }
}
