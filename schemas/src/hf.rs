//! The Hugging Face `datasets` view of a schema: the JSON stored under the
//! `huggingface` key of Parquet metadata, and the `dataset_info.features`
//! block of a dataset card. Both let `datasets` restore the exact features.

use arrow_schema::{DataType, Schema};
use serde_json::{json, Map, Value};

/// `{"info": {"features": {...}}}` for the `huggingface` Parquet metadata key.
pub fn huggingface_features(schema: &Schema) -> Value {
    let features: Map<String, Value> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), feature(f.data_type())))
        .collect();
    json!({ "info": { "features": features } })
}

fn feature(ty: &DataType) -> Value {
    match ty {
        // `datasets` turns a Sequence of structs into a struct of lists; a
        // one-element JSON list keeps a list of structs a list of structs.
        DataType::List(item) | DataType::LargeList(item)
            if matches!(item.data_type(), DataType::Struct(_)) =>
        {
            json!([feature(item.data_type())])
        }
        DataType::List(item) | DataType::LargeList(item) => {
            json!({ "feature": feature(item.data_type()), "_type": "Sequence" })
        }
        DataType::Struct(fields) => {
            let inner: Map<String, Value> = fields
                .iter()
                .map(|f| (f.name().clone(), feature(f.data_type())))
                .collect();
            Value::Object(inner)
        }
        other => json!({ "dtype": dtype(other), "_type": "Value" }),
    }
}

/// The `datasets` dtype name of a primitive Arrow type.
pub fn dtype(ty: &DataType) -> &'static str {
    match ty {
        DataType::Utf8 | DataType::Utf8View => "string",
        DataType::LargeUtf8 => "large_string",
        DataType::Boolean => "bool",
        DataType::Int32 => "int32",
        DataType::Int64 => "int64",
        DataType::Float32 => "float32",
        DataType::Float64 => "float64",
        _ => "null",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_become_sequences_and_strings_values() {
        let info = huggingface_features(&crate::curated_schema());
        let features = &info["info"]["features"];
        assert_eq!(features["id"], json!({"dtype": "string", "_type": "Value"}));
        assert_eq!(
            features["cs_langs"],
            json!({"feature": {"dtype": "string", "_type": "Value"}, "_type": "Sequence"})
        );
        assert_eq!(features["correct"]["dtype"], "bool");
    }
}
