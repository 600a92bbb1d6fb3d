//! Rows to Arrow record batches, column by column, in schema order.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, ListBuilder, RecordBatch,
    StringBuilder,
};
use arrow::error::ArrowError;

use crate::build::outcome::{Reject, Row};

fn strings<'a>(values: impl Iterator<Item = &'a str> + Clone) -> ArrayRef {
    opt_strings(values.map(Some))
}

/// A string column sized for its bytes up front: collecting grew the value
/// buffer from 1 KB by doubling, a dozen reallocations for a batch of
/// rejects' responses (megabytes), each copying the bytes before it into
/// freshly faulted pages.
fn opt_strings<'a>(values: impl Iterator<Item = Option<&'a str>> + Clone) -> ArrayRef {
    let (rows, bytes) = values
        .clone()
        .fold((0, 0), |(n, b), v| (n + 1, b + v.map_or(0, str::len)));
    let mut column = StringBuilder::with_capacity(rows, bytes);
    values.for_each(|v| column.append_option(v));
    Arc::new(column.finish())
}

/// Kept rows as a batch of the curated schema.
pub fn rows_batch(rows: &[Row]) -> Result<RecordBatch, ArrowError> {
    let mut cs_langs = ListBuilder::new(StringBuilder::new());
    for r in rows {
        for l in &r.cs_langs {
            cs_langs.values().append_value(l);
        }
        cs_langs.append(true);
    }
    let columns: Vec<ArrayRef> = vec![
        strings(rows.iter().map(|r| r.prov.id.as_str())),
        strings(rows.iter().map(|r| &*r.prov.source)),
        Arc::new(
            rows.iter()
                .map(|r| r.prov.source_row as i64)
                .collect::<Int64Array>(),
        ),
        Arc::new(
            rows.iter()
                .map(|r| r.prov.candidate_index.unwrap_or(0) as i32)
                .collect::<Int32Array>(),
        ),
        strings(rows.iter().map(|r| r.query_lang.as_str())),
        strings(rows.iter().map(|r| r.question.as_str())),
        strings(rows.iter().map(|r| r.prompt.as_str())),
        strings(rows.iter().map(|r| r.reasoning.as_str())),
        strings(rows.iter().map(|r| r.answer.as_str())),
        strings(rows.iter().map(|r| r.raw_reasoning.as_str())),
        strings(rows.iter().map(|r| r.raw_answer.as_str())),
        strings(rows.iter().map(|r| r.gold.as_str())),
        opt_strings(rows.iter().map(|r| r.predicted.as_deref())),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.correct))
                .collect::<BooleanArray>(),
        ),
        strings(rows.iter().map(|r| r.trace_lang.as_str())),
        Arc::new(
            rows.iter()
                .map(|r| r.lang_confidence)
                .collect::<Float64Array>(),
        ),
        Arc::new(rows.iter().map(|r| r.purity).collect::<Float64Array>()),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.line_pass))
                .collect::<BooleanArray>(),
        ),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.word_pass))
                .collect::<BooleanArray>(),
        ),
        Arc::new(
            rows.iter()
                .map(|r| Some(r.code_switch))
                .collect::<BooleanArray>(),
        ),
        Arc::new(cs_langs.finish()),
        Arc::new(
            rows.iter()
                .map(|r| r.n_tokens_reasoning as i32)
                .collect::<Int32Array>(),
        ),
        Arc::new(
            rows.iter()
                .map(|r| r.n_tokens_answer as i32)
                .collect::<Int32Array>(),
        ),
    ];
    RecordBatch::try_new(adamame_schemas::curated_schema(), columns)
}

/// Rejects as a batch of the reject schema.
pub fn rejects_batch(rejects: &[Reject]) -> Result<RecordBatch, ArrowError> {
    let columns: Vec<ArrayRef> = vec![
        strings(rejects.iter().map(|r| r.prov.id.as_str())),
        strings(rejects.iter().map(|r| &*r.prov.source)),
        Arc::new(
            rejects
                .iter()
                .map(|r| r.prov.source_row as i64)
                .collect::<Int64Array>(),
        ),
        Arc::new(
            rejects
                .iter()
                .map(|r| r.prov.candidate_index.map(|c| c as i32))
                .collect::<Int32Array>(),
        ),
        strings(rejects.iter().map(|r| r.stage.name())),
        strings(rejects.iter().map(|r| r.reason.name())),
        strings(rejects.iter().map(|r| r.detail.as_str())),
        opt_strings(rejects.iter().map(|r| r.query_lang.as_deref())),
        opt_strings(rejects.iter().map(|r| r.question.as_deref())),
        opt_strings(rejects.iter().map(|r| r.gold.as_deref())),
        opt_strings(rejects.iter().map(|r| r.response.as_deref())),
        opt_strings(rejects.iter().map(|r| r.raw.as_deref())),
    ];
    RecordBatch::try_new(adamame_schemas::reject_schema(), columns)
}

/// Kept rows of a `--shard` run: curated columns + `ordinal` + `contamination`.
pub fn pending_rows_batch(rows: &[Row]) -> Result<RecordBatch, ArrowError> {
    let base = rows_batch(rows)?;
    let mut columns = base.columns().to_vec();
    columns.push(Arc::new(
        rows.iter()
            .map(|r| r.prov.ordinal as i64)
            .collect::<Int64Array>(),
    ));
    columns.push(opt_strings(rows.iter().map(|r| r.contamination.as_deref())));
    RecordBatch::try_new(adamame_schemas::pending_schema(), columns)
}

/// Rejects of a `--shard` run: reject columns + `ordinal` + `trace_lang`.
pub fn pending_rejects_batch(rejects: &[Reject]) -> Result<RecordBatch, ArrowError> {
    let base = rejects_batch(rejects)?;
    let mut columns = base.columns().to_vec();
    columns.push(Arc::new(
        rejects
            .iter()
            .map(|r| r.prov.ordinal as i64)
            .collect::<Int64Array>(),
    ));
    columns.push(opt_strings(rejects.iter().map(|r| r.trace_lang.as_deref())));
    RecordBatch::try_new(adamame_schemas::pending_reject_schema(), columns)
}

/// One verl RL prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct RlPrompt {
    pub data_source: String,
    /// The whole user turn: localized instruction, a blank line, the question.
    pub content: String,
    pub ground_truth: String,
    pub lang: String,
    pub index: i64,
    pub split: String,
}

/// RL prompts as a batch of verl's schema (see `adamame_schemas::rl_prompt_schema`).
pub fn rl_prompts_batch(prompts: &[RlPrompt]) -> Result<RecordBatch, ArrowError> {
    use arrow::array::{ListArray, StructArray};
    use arrow::buffer::OffsetBuffer;
    use arrow::datatypes::DataType;

    let schema = adamame_schemas::rl_prompt_schema();
    let struct_fields =
        |name: &str| match schema.field_with_name(name).map(|f| f.data_type().clone()) {
            Ok(DataType::Struct(fields)) => Ok(fields),
            Ok(DataType::List(item)) => match item.data_type() {
                DataType::Struct(fields) => Ok(fields.clone()),
                other => Err(ArrowError::SchemaError(format!(
                    "{name}: unexpected item type {other}"
                ))),
            },
            other => Err(ArrowError::SchemaError(format!(
                "{name}: unexpected type {other:?}"
            ))),
        };
    let message = StructArray::try_new(
        struct_fields("prompt")?,
        vec![
            strings(prompts.iter().map(|p| p.content.as_str())),
            strings(prompts.iter().map(|_| "user")),
        ],
        None,
    )?;
    let item = match schema.field_with_name("prompt")?.data_type() {
        DataType::List(item) => item.clone(),
        other => {
            return Err(ArrowError::SchemaError(format!(
                "prompt: unexpected type {other}"
            )))
        }
    };
    let prompt = ListArray::try_new(
        item,
        OffsetBuffer::from_lengths(prompts.iter().map(|_| 1)),
        Arc::new(message),
        None,
    )?;
    let reward = StructArray::try_new(
        struct_fields("reward_model")?,
        vec![
            strings(prompts.iter().map(|p| p.ground_truth.as_str())),
            strings(prompts.iter().map(|p| p.lang.as_str())),
            strings(prompts.iter().map(|_| "rule")),
        ],
        None,
    )?;
    let extra = StructArray::try_new(
        struct_fields("extra_info")?,
        vec![
            Arc::new(prompts.iter().map(|p| p.index).collect::<Int64Array>()),
            strings(prompts.iter().map(|p| p.split.as_str())),
            strings(prompts.iter().map(|_| "None")),
        ],
        None,
    )?;
    RecordBatch::try_new(
        schema,
        vec![
            strings(prompts.iter().map(|p| p.data_source.as_str())),
            Arc::new(prompt),
            Arc::new(reward),
            Arc::new(extra),
            strings(prompts.iter().map(|p| p.lang.as_str())),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, StringArray};

    #[test]
    fn string_columns_hold_their_values_and_nulls_in_one_buffer() {
        let values = [Some("héllo"), None, Some(""), Some("x")];
        let column = opt_strings(values.iter().copied());
        let column = column.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(column.iter().collect::<Vec<_>>(), values);
        assert_eq!(column.null_count(), 1);
        assert_eq!(column.value_data().len(), "héllo".len() + 1);
        let plain = strings(["a", "bc"].into_iter());
        assert_eq!(plain.null_count(), 0);
        assert_eq!(plain.len(), 2);
    }
}
