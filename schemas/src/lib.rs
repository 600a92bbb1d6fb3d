//! Arrow schemas for every table the AdaMame tools write, with one description
//! per column. `schemas/README.md` is checked against [`CURATED_COLUMNS`],
//! [`REJECT_COLUMNS`] and [`RL_PROMPT_COLUMNS`] by a test, so the docs cannot
//! drift from the code.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};

mod hf;

pub use hf::{dtype as hf_dtype, huggingface_features};

/// Version of the curated-trace and reject schemas, stored in every Parquet
/// file under [`SCHEMA_VERSION_KEY`]. Bump the major part on breaking changes.
pub const SCHEMA_VERSION: &str = "1.0.0";
/// Parquet key-value metadata key holding [`SCHEMA_VERSION`].
pub const SCHEMA_VERSION_KEY: &str = "adamame.schema_version";
/// Parquet key-value metadata key naming which table a file holds.
pub const TABLE_KEY: &str = "adamame.table";

/// The logical type of a column, independent of Arrow's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Utf8,
    Int32,
    Int64,
    Float64,
    Bool,
    Utf8List,
}

impl ColumnType {
    fn arrow(self) -> DataType {
        match self {
            ColumnType::Utf8 => DataType::Utf8,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Utf8List => {
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
            }
        }
    }
}

/// One documented column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    pub doc: &'static str,
}

const fn col(name: &'static str, ty: ColumnType, nullable: bool, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable,
        doc,
    }
}

use ColumnType::*;

/// Columns of the curated traces (`data/{split}-*.parquet`), in file order.
pub const CURATED_COLUMNS: &[Column] = &[
    col("id", Utf8, false, "Stable id: hex XXH3-128 of source, row, candidate index and content."),
    col("source", Utf8, false, "The input path as given on the command line (or `embedded:default`)."),
    col("source_row", Int64, false, "0-based record position in the source: line number in JSONL/TSV (every line counts), element index in a JSON array, row index in Parquet/Arrow."),
    col("candidate_index", Int32, false, "0-based index of the response among the record's candidates."),
    col("query_lang", Utf8, false, "ISO 639-1 code of the query language."),
    col("question", Utf8, false, "The question, normalized (NFC, trimmed)."),
    col("prompt", Utf8, false, "Localized instruction, a blank line, then the question: what the model is asked."),
    col("reasoning", Utf8, false, "The reasoning trace, normalized (NFC, `## ` heading prefixes stripped, trimmed)."),
    col("answer", Utf8, false, "The final answer part, normalized like `reasoning`."),
    col("raw_reasoning", Utf8, false, "The reasoning trace exactly as split from the response."),
    col("raw_answer", Utf8, false, "The final answer part exactly as split from the response."),
    col("gold", Utf8, false, "The gold answer as given in the input."),
    col("predicted", Utf8, true, "The answer extracted from `answer` by the verifier (last `\\boxed{}`), null if none."),
    col("correct", Bool, false, "Whether `predicted` equals `gold` according to the verifier."),
    col("trace_lang", Utf8, false, "ISO 639-1 code detected on the math-stripped reasoning, or `unknown`."),
    col("lang_confidence", Float64, false, "Confidence of `trace_lang` in [0, 1]."),
    col("purity", Float64, false, "Share of letters of the reasoning in segments detected as `query_lang`, in [0, 1]."),
    col("line_pass", Bool, false, "Every non-empty math-stripped line is `query_lang` or undetectable."),
    col("word_pass", Bool, false, "Non-Latin query language: no run of 2+ Latin letters; Latin one: no letter outside the Latin blocks."),
    col("code_switch", Bool, false, "The reasoning contains segments in two or more languages."),
    col("cs_langs", Utf8List, false, "Languages of the code-switch segments, in order of first appearance."),
    col("n_tokens_reasoning", Int32, false, "Tokens in `reasoning` (the `--tokenizer` given, else the documented approximation)."),
    col("n_tokens_answer", Int32, false, "Tokens in `answer`, counted like `n_tokens_reasoning`."),
];

/// Columns of the rejects (`rejects/rejects-*.parquet`), in file order.
pub const REJECT_COLUMNS: &[Column] = &[
    col("id", Utf8, false, "Stable id, computed as for kept rows (from the raw bytes when the record did not parse)."),
    col("source", Utf8, false, "The input path as given on the command line."),
    col("source_row", Int64, false, "0-based record position in the source, as for kept rows."),
    col("candidate_index", Int32, true, "Index of the response among the candidates; null when the whole record was rejected."),
    col("stage", Utf8, false, "Stage that rejected the record: parse, split, normalize, answer, correct, language, length, dedup, decontaminate, select."),
    col("reason", Utf8, false, "Stable rejection reason, e.g. `malformed`, `no_answer`, `no_boxed`, `wrong_answer`, `wrong_language`, `code_switched`, `too_long`, `duplicate`, `contaminated`, `not_selected`."),
    col("detail", Utf8, false, "Human-readable detail: the parse error with field name, the detected language, the id of the kept duplicate, ..."),
    col("query_lang", Utf8, true, "Query language when known."),
    col("question", Utf8, true, "The question when known (first 4096 bytes)."),
    col("gold", Utf8, true, "The gold answer when known."),
    col("response", Utf8, true, "The candidate response when known (first 16384 bytes)."),
    col("raw", Utf8, true, "The raw input record when it did not parse (first 4096 bytes, lossy UTF-8)."),
];

/// Descriptions of the RL prompt columns (verl's schema; the types are those
/// of [`rl_prompt_schema`]).
pub const RL_PROMPT_DOCS: &[(&str, &str)] = &[
    ("data_source", "A label naming where the prompt comes from."),
    (
        "prompt",
        "One user turn: the localized instruction, a blank line, then the question.",
    ),
    (
        "reward_model",
        "The gold answer (`ground_truth`), the query language and the reward style (`rule`).",
    ),
    (
        "extra_info",
        "Position in the source set, split name and an optional type.",
    ),
    ("lang", "ISO 639-1 code of the query language."),
];

/// How a column type is written in `schemas/README.md`: `string`, `int64`,
/// `list<string>`, `struct<a: string, b: int64>`.
pub fn doc_type(ty: &DataType) -> String {
    match ty {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::Float64 => "float64".into(),
        DataType::Boolean => "bool".into(),
        DataType::List(item) | DataType::LargeList(item) => {
            format!("list<{}>", doc_type(item.data_type()))
        }
        DataType::Struct(fields) => {
            let inner: Vec<_> = fields
                .iter()
                .map(|f| format!("{}: {}", f.name(), doc_type(f.data_type())))
                .collect();
            format!("struct<{}>", inner.join(", "))
        }
        other => other.to_string(),
    }
}

fn schema_of(columns: &[Column], table: &str) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(c.name, c.ty.arrow(), c.nullable))
        .collect();
    Arc::new(Schema::new_with_metadata(fields, table_metadata(table)))
}

fn table_metadata(table: &str) -> HashMap<String, String> {
    HashMap::from([
        (SCHEMA_VERSION_KEY.to_string(), SCHEMA_VERSION.to_string()),
        (TABLE_KEY.to_string(), table.to_string()),
    ])
}

/// Arrow schema of the curated traces.
pub fn curated_schema() -> SchemaRef {
    schema_of(CURATED_COLUMNS, "curated_traces")
}

/// Arrow schema of the rejects.
pub fn reject_schema() -> SchemaRef {
    schema_of(REJECT_COLUMNS, "rejects")
}

/// Columns a `--shard` run adds to curated and reject rows so that `merge`
/// can replay the comparing stages in single-run order.
fn pending_extra(rejects: bool) -> Vec<Field> {
    let mut extra = vec![Field::new("ordinal", DataType::Int64, false)];
    if rejects {
        extra.push(Field::new("trace_lang", DataType::Utf8, true));
    } else {
        extra.push(Field::new("contamination", DataType::Utf8, true));
    }
    extra
}

fn with_extra(base: SchemaRef, extra: Vec<Field>, table: &str) -> SchemaRef {
    let mut fields: Vec<Field> = base.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.extend(extra);
    Arc::new(Schema::new_with_metadata(fields, table_metadata(table)))
}

/// Curated rows of a `--shard` run, waiting for `merge`: the curated columns,
/// then `ordinal` (position of the record across all inputs) and
/// `contamination` (the decontamination verdict, applied at merge).
pub fn pending_schema() -> SchemaRef {
    with_extra(curated_schema(), pending_extra(false), "pending_traces")
}

/// Rejects of a `--shard` run: the reject columns, then `ordinal` and `trace_lang`.
pub fn pending_reject_schema() -> SchemaRef {
    with_extra(reject_schema(), pending_extra(true), "pending_rejects")
}

/// Arrow schema of verl RL prompt shards, as in the paper's release
/// (list items are named `element`, like pyarrow writes them).
pub fn rl_prompt_schema() -> SchemaRef {
    let utf8 = |n: &str| Field::new(n, DataType::Utf8, true);
    let message = DataType::Struct(Fields::from(vec![utf8("content"), utf8("role")]));
    let fields = vec![
        utf8("data_source"),
        Field::new(
            "prompt",
            DataType::List(Arc::new(Field::new("element", message, true))),
            true,
        ),
        Field::new(
            "reward_model",
            DataType::Struct(Fields::from(vec![
                utf8("ground_truth"),
                utf8("lang"),
                utf8("style"),
            ])),
            true,
        ),
        Field::new(
            "extra_info",
            DataType::Struct(Fields::from(vec![
                Field::new("index", DataType::Int64, true),
                utf8("split"),
                utf8("type"),
            ])),
            true,
        ),
        utf8("lang"),
    ];
    Arc::new(Schema::new_with_metadata(
        fields,
        table_metadata("rl_prompts"),
    ))
}

/// Differences between an expected schema and one found in a file, one
/// message per column ("missing column `x`", "column `x`: expected Utf8, found Int64").
pub fn schema_mismatches(expected: &Schema, found: &Schema) -> Vec<String> {
    let mut problems = Vec::new();
    for want in expected.fields() {
        match found.field_with_name(want.name()) {
            Err(_) => problems.push(format!("missing column `{}`", want.name())),
            Ok(have) if !types_match(want.data_type(), have.data_type()) => problems.push(format!(
                "column `{}`: expected {}, found {}",
                want.name(),
                want.data_type(),
                have.data_type()
            )),
            Ok(_) => {}
        }
    }
    problems
}

/// Equal types, ignoring list item names and nullability (pyarrow, polars and
/// arrow-rs spell those differently for the same data).
fn types_match(a: &DataType, b: &DataType) -> bool {
    use DataType::*;
    match (a, b) {
        (Utf8 | LargeUtf8 | Utf8View, Utf8 | LargeUtf8 | Utf8View) => true,
        (List(x) | LargeList(x), List(y) | LargeList(y)) => {
            types_match(x.data_type(), y.data_type())
        }
        (Struct(x), Struct(y)) => {
            x.len() == y.len()
                && x.iter().all(|fx| {
                    y.iter().any(|fy| {
                        fy.name() == fx.name() && types_match(fx.data_type(), fy.data_type())
                    })
                })
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curated_schema_has_every_documented_column_in_order() {
        let schema = curated_schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let documented: Vec<&str> = CURATED_COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(names, documented);
        assert_eq!(
            schema
                .metadata()
                .get(SCHEMA_VERSION_KEY)
                .map(String::as_str),
            Some(SCHEMA_VERSION)
        );
    }

    #[test]
    fn mismatch_names_the_column_and_types() {
        let found = Schema::new(vec![Field::new("id", DataType::Int64, false)]);
        let problems = schema_mismatches(&curated_schema(), &found);
        assert!(problems.contains(&"column `id`: expected Utf8, found Int64".to_string()));
        assert!(problems.contains(&"missing column `reasoning`".to_string()));
        assert!(schema_mismatches(&curated_schema(), &curated_schema()).is_empty());
    }

    #[test]
    fn list_item_names_do_not_matter() {
        let a = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        let b = DataType::List(Arc::new(Field::new("element", DataType::LargeUtf8, false)));
        assert!(types_match(&a, &b));
        assert!(!types_match(&a, &DataType::Utf8));
    }

    /// `schemas/README.md` documents every column of every table with its type.
    #[test]
    fn readme_documents_every_column() {
        let readme = include_str!("../README.md");
        for (table, schema) in [
            ("curated", curated_schema()),
            ("rejects", reject_schema()),
            ("rl_prompts", rl_prompt_schema()),
        ] {
            let marker = format!("<!-- table: {table} -->");
            let section = readme
                .split_once(&marker)
                .map(|(_, rest)| rest.split("<!-- table:").next().unwrap_or_default())
                .unwrap_or_else(|| panic!("schemas/README.md has no `{marker}` section"));
            for field in schema.fields() {
                let row = format!("| `{}` | {} |", field.name(), doc_type(field.data_type()));
                assert!(
                    section.contains(&row),
                    "schemas/README.md, table {table}: missing or wrong row starting `{row}`"
                );
            }
            let rows = section.lines().filter(|l| l.starts_with("| `")).count();
            assert_eq!(
                rows,
                schema.fields().len(),
                "table {table}: undocumented or stale rows"
            );
        }
    }

    #[test]
    fn rl_docs_cover_the_rl_schema() {
        let names: Vec<_> = rl_prompt_schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let documented: Vec<_> = RL_PROMPT_DOCS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names, documented);
    }
}
