//! Helpers for the end-to-end tests: find the binaries, run them like a
//! user, read what they wrote.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root. Taken from the `CARGO_MANIFEST_DIR` that cargo sets
/// when it runs the test, not the one compiled in: clones that share one
/// target directory (as `scripts/env.sh` sets up) may reuse a test binary
/// built in another clone, whose compiled-in path is that clone's.
pub fn repo() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("..")
}

/// `../shared/data` beside the repository (present in CI).
pub fn shared_data() -> PathBuf {
    let dir = repo().join("../shared/data");
    assert!(
        dir.is_dir(),
        "{} is missing: the tests need ../shared beside the clone",
        dir.display()
    );
    dir
}

/// A binary of the workspace, built by `cargo build --release --workspace --bins`
/// (scripts/test.sh does it) into the same target directory as this test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/release/deps/this-test → target/release/NAME
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} not built: run `cargo build --release --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Runs a binary with arguments and optional stdin.
pub fn run(name: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(bin(name));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("spawn binary");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input).expect("write stdin");
    }
    child.wait_with_output().expect("wait for binary")
}

/// Runs and asserts success, returning stdout.
pub fn run_ok(name: &str, args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = run(name, args, stdin);
    assert!(
        out.status.success(),
        "{name} {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

/// Runs and asserts failure, returning stderr.
pub fn run_fails(name: &str, args: &[&str]) -> String {
    let out = run(name, args, None);
    assert!(
        !out.status.success(),
        "{name} {args:?} succeeded:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `manifest.json` of an output folder.
pub fn manifest(out: &Path) -> serde_json::Value {
    let bytes = std::fs::read(out.join("manifest.json")).expect("manifest.json");
    serde_json::from_slice(&bytes).expect("manifest is JSON")
}

/// Rows in a Parquet file.
pub fn parquet_rows(path: &Path) -> u64 {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader =
        parquet::file::serialized_reader::SerializedFileReader::new(file).expect("parquet");
    use parquet::file::reader::FileReader;
    reader.metadata().file_metadata().num_rows() as u64
}

/// Every value of a string column across the Parquet files of a folder.
pub fn string_column(dir: &Path, column: &str) -> Vec<Option<String>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    let mut values = Vec::new();
    for path in files {
        let file = std::fs::File::open(&path).expect("open");
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet")
            .build()
            .expect("reader");
        for batch in reader {
            let batch = batch.expect("batch");
            let col = batch
                .column_by_name(column)
                .unwrap_or_else(|| panic!("no column {column}"));
            let strings = col
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .expect("string column");
            values.extend(strings.iter().map(|v| v.map(str::to_string)));
        }
    }
    values
}

/// SHA-256 (hex) and size of a file, read back from disk.
pub fn file_sha256(path: &Path) -> (String, u64) {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (hex::encode(Sha256::digest(&bytes)), bytes.len() as u64)
}
