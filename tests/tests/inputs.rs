//! Every input kind `build` reads gives the same decisions for the same records.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use adamame_tests::{manifest, repo, run_ok, string_column};
use arrow::array::{ArrayRef, ListBuilder, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};

/// The first `n` records of the sample corpus that have a `candidates` list.
fn sample(n: usize) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(repo().join("pipeline/corpus/default.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["candidates"].is_array())
        .take(n)
        .collect()
}

fn strings(records: &[serde_json::Value], field: &str) -> ArrayRef {
    Arc::new(
        records
            .iter()
            .map(|r| r[field].as_str())
            .collect::<StringArray>(),
    )
}

fn batch(records: &[serde_json::Value]) -> RecordBatch {
    let mut candidates = ListBuilder::new(StringBuilder::new());
    for r in records {
        for c in r["candidates"].as_array().unwrap() {
            candidates.values().append_value(c.as_str().unwrap());
        }
        candidates.append(true);
    }
    let schema = Schema::new(vec![
        Field::new("question", DataType::Utf8, true),
        Field::new("gold", DataType::Utf8, true),
        Field::new("lang", DataType::Utf8, true),
        Field::new(
            "candidates",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            strings(records, "question"),
            strings(records, "gold"),
            strings(records, "lang"),
            Arc::new(candidates.finish()),
        ],
    )
    .unwrap()
}

fn jsonl(records: &[serde_json::Value]) -> Vec<u8> {
    records
        .iter()
        .map(|r| r.to_string() + "\n")
        .collect::<String>()
        .into_bytes()
}

/// The kept (question, reasoning) pairs and reject reasons of a build.
fn decisions(
    input: &Path,
    dir: &Path,
    extra: &[&str],
) -> (Vec<(String, String)>, serde_json::Value) {
    let out = dir.join(format!(
        "out-{}",
        input.file_name().unwrap().to_string_lossy()
    ));
    let mut args = vec![
        "build",
        "--quiet",
        "-i",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_ok("adamame-data", &args, None);
    let q = string_column(&out.join("data"), "question");
    let r = string_column(&out.join("data"), "reasoning");
    let kept = q
        .into_iter()
        .zip(r)
        .map(|(q, r)| (q.unwrap(), r.unwrap()))
        .collect();
    (kept, manifest(&out)["rejected_by_reason"].clone())
}

/// The decisions on `records` written as plain JSON lines.
fn reference_decisions(
    records: &[serde_json::Value],
    dir: &Path,
) -> (Vec<(String, String)>, serde_json::Value) {
    let plain = dir.join("gens.jsonl");
    std::fs::write(&plain, jsonl(records)).unwrap();
    decisions(&plain, dir, &[])
}

fn arrow_stream(path: &Path, records: &[serde_json::Value]) {
    let b = batch(records);
    let mut w = arrow::ipc::writer::StreamWriter::try_new(
        std::fs::File::create(path).unwrap(),
        &b.schema(),
    )
    .unwrap();
    w.write(&b).unwrap();
    w.finish().unwrap();
}

#[test]
fn jsonl_gz_zst_json_parquet_and_arrow_folders_agree() {
    let dir = tempfile::tempdir().unwrap();
    let records = sample(60);
    let reference = reference_decisions(&records, dir.path());
    assert!(reference.0.len() > 40, "{}", reference.0.len());

    let gz = dir.path().join("gens.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&jsonl(&records)).unwrap();
    enc.finish().unwrap();
    let zst = dir.path().join("gens.jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(&jsonl(&records)[..], 3).unwrap()).unwrap();
    let array = dir.path().join("gens.json");
    std::fs::write(&array, serde_json::to_vec(&records).unwrap()).unwrap();
    // Parquet as pandas, Spark, polars and older Hadoop tools write it.
    use parquet::basic::Compression;
    let parquet_files: Vec<_> = [
        ("uncompressed", Compression::UNCOMPRESSED),
        ("snappy", Compression::SNAPPY),
        ("zstd", Compression::ZSTD(Default::default())),
        ("lz4", Compression::LZ4),
        ("lz4_raw", Compression::LZ4_RAW),
        ("gzip", Compression::GZIP(Default::default())),
    ]
    .into_iter()
    .map(|(name, codec)| {
        let path = dir.path().join(format!("gens-{name}.parquet"));
        let b = batch(&records);
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(codec)
            .build();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            b.schema(),
            Some(props),
        )
        .unwrap();
        w.write(&b).unwrap();
        w.close().unwrap();
        path
    })
    .collect();
    // A `save_to_disk` folder: Arrow IPC stream shards beside metadata files.
    let hf = dir.path().join("hf_dataset");
    std::fs::create_dir(&hf).unwrap();
    arrow_stream(&hf.join("data-00000-of-00001.arrow"), &records);
    std::fs::write(hf.join("state.json"), "{}").unwrap();
    std::fs::write(hf.join("dataset_info.json"), "{}").unwrap();

    for input in [&gz, &zst, &array, &hf].into_iter().chain(&parquet_files) {
        assert_eq!(
            decisions(input, dir.path(), &[]),
            reference,
            "{}",
            input.display()
        );
    }
}

/// Plain files of 1 MiB or more are read through a memory map, smaller ones
/// and compressed ones with `read`: both give the same decisions, with a
/// byte-order mark in front and no line break after the last record.
#[test]
fn large_plain_files_read_through_a_map_agree_with_streamed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let records = sample(60);
    let one_copy = jsonl(&records);
    let copies = (3 << 20) / (2 * one_copy.len()) + 1;
    let mut text = b"\xEF\xBB\xBF".to_vec();
    for _ in 0..copies {
        text.extend_from_slice(&one_copy);
    }
    text.pop(); // the last line break
    assert!(
        text.len() >= 3 << 19,
        "{} bytes: under the map threshold",
        text.len()
    );
    let mapped = dir.path().join("big.jsonl");
    std::fs::write(&mapped, &text).unwrap();
    let streamed = dir.path().join("big.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&streamed).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&text).unwrap();
    enc.finish().unwrap();

    let read_mapped = decisions(&mapped, dir.path(), &[]);
    assert_eq!(read_mapped, decisions(&streamed, dir.path(), &[]));
    let (kept, rejected) = read_mapped;
    // Beyond the first copy, whatever reached dedup is a duplicate.
    let (kept_once, rejected_once) = reference_decisions(&records, dir.path());
    assert_eq!(kept, kept_once);
    let dup_once = rejected_once["duplicate"].as_u64().unwrap_or(0);
    let deduplicated_once = kept_once.len() as u64 + dup_once;
    assert_eq!(
        rejected["duplicate"].as_u64(),
        Some(dup_once + deduplicated_once * (copies as u64 - 1))
    );
}

#[test]
fn explicit_field_mappings_with_a_language_flag() {
    let dir = tempfile::tempdir().unwrap();
    let records = sample(30);
    let mapped = dir.path().join("mapped.jsonl");
    let lines: String = records
        .iter()
        .map(|r| serde_json::json!({"q": {"text": r["question"]}, "out": r["candidates"], "meta": {"gold": r["gold"]}}).to_string() + "\n")
        .collect();
    std::fs::write(&mapped, lines).unwrap();
    let (kept, reasons) = decisions(
        &mapped,
        dir.path(),
        &[
            "--map",
            "question=q.text",
            "--map",
            "response=out",
            "--map",
            "gold=meta.gold",
            "--lang",
            "fr",
        ],
    );
    // Every record now claims French: the others are rejected as wrong_language,
    // the French ones kept as without the mapping.
    let french = records.iter().filter(|r| r["lang"] == "fr").count();
    assert!(french > 0 && french < records.len());
    assert!(reasons["wrong_language"].as_u64().unwrap() > 0, "{reasons}");
    assert!(!kept.is_empty());
    // The manifest records how the fields were read.
    let m = manifest(&dir.path().join("out-mapped.jsonl"));
    assert_eq!(
        m["map"],
        serde_json::json!({"question": "q.text", "response": "out", "gold": "meta.gold", "lang": null})
    );
    assert_eq!(m["lang"], "fr");
}

#[test]
fn mgsm_tsv_files_are_question_sets_with_the_language_in_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.parquet");
    let tsv = adamame_tests::shared_data().join("mgsm/mgsm_th.tsv");
    run_ok(
        "adamame-data",
        &[
            "prompts",
            "-i",
            tsv.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(adamame_tests::parquet_rows(&out), 250);
    let langs = string_column(dir.path(), "lang");
    assert!(
        langs.iter().all(|l| l.as_deref() == Some("th")),
        "{:?}",
        &langs[..3]
    );
}

#[test]
fn inputs_as_users_happen_to_write_them_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let records = sample(60);
    let reference = reference_decisions(&records, dir.path());

    // JSON Lines under a `.json` name, as `Dataset.to_json` writes it.
    let to_json = dir.path().join("to_json.json");
    std::fs::write(&to_json, jsonl(&records)).unwrap();
    // A byte-order mark before the first record.
    let bom = dir.path().join("bom.jsonl");
    std::fs::write(
        &bom,
        [b"\xEF\xBB\xBF".as_slice(), &jsonl(&records)].concat(),
    )
    .unwrap();
    // A `DatasetDict` saved to disk: split folders in `dataset_dict.json`'s
    // order (not alphabetical), each with its own metadata files.
    let dict = dir.path().join("dict");
    for (split, part) in [("train", &records[..40]), ("test", &records[40..])] {
        std::fs::create_dir_all(dict.join(split)).unwrap();
        arrow_stream(&dict.join(split).join("data-00000-of-00001.arrow"), part);
        std::fs::write(dict.join(split).join("state.json"), "{}").unwrap();
    }
    std::fs::write(
        dict.join("dataset_dict.json"),
        r#"{"splits": ["train", "test"]}"#,
    )
    .unwrap();
    // A folder where an empty file comes first: it adds no records and does
    // not stop `--format auto`.
    let with_empty = dir.path().join("with_empty");
    std::fs::create_dir(&with_empty).unwrap();
    std::fs::write(with_empty.join("a.jsonl"), "").unwrap();
    std::fs::write(with_empty.join("b.jsonl"), jsonl(&records)).unwrap();
    // Query languages spelled as data spells them.
    let spelled: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            let name = match r["lang"].as_str().unwrap() {
                "fr" => "French",
                "pt" => "pt-BR",
                "ja" => "jpn",
                other => other,
            };
            r["lang"] = name.into();
            r
        })
        .collect();
    let spelled_path = dir.path().join("spelled.jsonl");
    std::fs::write(&spelled_path, jsonl(&spelled)).unwrap();

    for input in [&to_json, &bom, &dict, &with_empty, &spelled_path] {
        assert_eq!(
            decisions(input, dir.path(), &[]),
            reference,
            "{}",
            input.display()
        );
    }
    // A glob over a `save_to_disk` folder skips its metadata files.
    let glob = format!("{}/*", dict.join("train").display());
    let out = dir.path().join("out-glob");
    run_ok(
        "adamame-data",
        &["build", "--quiet", "-i", &glob, "-o", out.to_str().unwrap()],
        None,
    );
    let candidates: usize = records[..40]
        .iter()
        .map(|r| r["candidates"].as_array().unwrap().len())
        .sum();
    assert_eq!(manifest(&out)["input_records"], candidates as u64);
}

#[test]
fn an_unknown_query_language_is_malformed_not_wrong_language() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = sample(2);
    records[1]["lang"] = "Italian".into();
    let input = dir.path().join("it.jsonl");
    std::fs::write(&input, jsonl(&records)).unwrap();
    let out = dir.path().join("out");
    run_ok(
        "adamame-data",
        &[
            "build",
            "--quiet",
            "-i",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    let m = manifest(&out);
    assert_eq!(m["rejected_by_reason"]["malformed"], 1, "{m}");
    assert!(
        m["rejected_by_reason"].get("wrong_language").is_none(),
        "{m}"
    );
    let details = string_column(&out.join("rejects"), "detail");
    assert!(
        details.iter().any(|d| d
            .as_deref()
            .unwrap_or("")
            .starts_with("unsupported query language `Italian`")),
        "{details:?}"
    );
    // `--lang` is checked before any work.
    let stderr = adamame_tests::run_fails(
        "adamame-data",
        &[
            "build",
            "--quiet",
            "-i",
            input.to_str().unwrap(),
            "--lang",
            "xx",
        ],
    );
    assert!(stderr.contains("unsupported language `xx`"), "{stderr}");
}
