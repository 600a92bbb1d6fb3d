//! `adamame-data build` end to end, as a user runs it.

use std::collections::BTreeMap;
use std::path::Path;

use adamame_tests::{
    file_sha256, manifest, parquet_rows, repo, run, run_ok, shared_data, string_column,
};

fn build(out: &Path, extra: &[&str]) -> serde_json::Value {
    let out_s = out.to_str().expect("utf-8 path");
    let mut args = vec!["build", "--quiet", "--out", out_s];
    args.extend_from_slice(extra);
    run_ok("adamame-data", &args, None);
    manifest(out)
}

fn count(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// Kept + rejected = input, and the shards hold exactly those rows.
fn assert_accounted(out: &Path, m: &serde_json::Value) {
    let (input, kept, rejected) = (
        count(&m["input_records"]),
        count(&m["kept_records"]),
        count(&m["rejected_records"]),
    );
    assert_eq!(kept + rejected, input, "kept + rejected = input");
    let by_reason: u64 = m["rejected_by_reason"]
        .as_object()
        .expect("reasons")
        .values()
        .map(count)
        .sum();
    assert_eq!(by_reason, rejected);
    let shard_rows: u64 = m["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|s| count(&s["rows"]))
        .sum();
    assert_eq!(shard_rows, kept);
    let mut on_disk = 0;
    for s in m["shards"].as_array().expect("shards") {
        let path = out.join(s["path"].as_str().expect("path"));
        assert_eq!(parquet_rows(&path), count(&s["rows"]), "{}", path.display());
        on_disk += count(&s["rows"]);
    }
    assert_eq!(on_disk, kept);
    let reject_rows: u64 = m["rejects"]
        .as_array()
        .expect("rejects")
        .iter()
        .map(|s| parquet_rows(&out.join(s["path"].as_str().expect("path"))))
        .sum();
    assert_eq!(reject_rows, rejected);
    // The manifest's checksums and sizes are those of the files on disk.
    for list in ["shards", "rejects"] {
        for s in m[list].as_array().expect(list) {
            let path = out.join(s["path"].as_str().expect("path"));
            let (sha256, bytes) = file_sha256(&path);
            assert_eq!(
                s["sha256"].as_str(),
                Some(sha256.as_str()),
                "{}",
                path.display()
            );
            assert_eq!(count(&s["bytes"]), bytes, "{}", path.display());
        }
    }
}

#[test]
fn default_corpus_is_curated_with_every_defect_rejected_for_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let m = build(&out, &[]);
    assert_accounted(&out, &m);
    let reasons = m["rejected_by_reason"].as_object().unwrap();
    for reason in [
        "no_answer",
        "no_boxed",
        "wrong_answer",
        "wrong_language",
        "duplicate",
    ] {
        assert!(
            count(&reasons[reason]) > 0,
            "the sample corpus exercises `{reason}`: {reasons:?}"
        );
    }
    // The corpus README documents 467 candidates collapsed into English: the
    // language stage must catch most of them.
    assert!(count(&reasons["wrong_language"]) >= 400, "{reasons:?}");
    // Kept rows are in the query language, and every language is represented.
    let query = string_column(&out.join("data"), "query_lang");
    let trace = string_column(&out.join("data"), "trace_lang");
    assert_eq!(query, trace);
    let mut per_lang: BTreeMap<String, usize> = BTreeMap::new();
    for l in query.into_iter().flatten() {
        *per_lang.entry(l).or_default() += 1;
    }
    for lang in ["en", "fr", "ja", "ko", "pt", "th"] {
        assert!(
            per_lang.get(lang).copied().unwrap_or(0) > 200,
            "{lang}: {per_lang:?}"
        );
    }
    // The card opens with the front-matter `datasets` reads.
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(
        card.starts_with("---\nlicense:"),
        "{}",
        &card[..80.min(card.len())]
    );
    assert!(card.contains(
        "configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*"
    ));
    assert!(card.contains("| query \\ trace |"));
}

#[test]
fn shards_are_byte_identical_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let one = build(
        &dir.path().join("one"),
        &[
            "--threads",
            "1",
            "--val-fraction",
            "0.1",
            "--rows-per-shard",
            "1000",
        ],
    );
    let two = build(
        &dir.path().join("two"),
        &[
            "--threads",
            "2",
            "--val-fraction",
            "0.1",
            "--rows-per-shard",
            "1000",
        ],
    );
    assert_eq!(
        one["shards"], two["shards"],
        "same rows, same bytes, same checksums"
    );
    assert_eq!(one["rejects"], two["rejects"]);
    let names: Vec<&str> = one["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"data/train-00000-of-00003.parquet"),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("data/validation-00000-of-")),
        "{names:?}"
    );
}

#[test]
fn bad_records_are_rejected_as_malformed_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let input = repo().join("pipeline/corpus/bad-input.jsonl");
    let m = build(&out, &["--input", input.to_str().unwrap()]);
    assert_accounted(&out, &m);
    // 35 lines: 20 good records, 14 bad ones and one huge candidate
    // (see pipeline/corpus/README.md).
    assert_eq!(count(&m["source_records"]), 35);
    assert_eq!(
        count(&m["rejected_by_reason"]["malformed"]),
        14,
        "{}",
        m["rejected_by_reason"]
    );
    let details = string_column(&out.join("rejects"), "detail");
    assert!(
        details
            .iter()
            .flatten()
            .any(|d| d.starts_with("invalid UTF-8")),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .flatten()
            .any(|d| d == "missing field `question`"),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .flatten()
            .any(|d| d == "not a JSON object (found an array)"),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .flatten()
            .any(|d| d == "field `gold` must be a string, found an object"),
        "{details:?}"
    );
}

#[test]
fn a_corrupt_parquet_input_stops_the_run_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    let m = build(&good, &[]);
    let shard = good.join(m["shards"][0]["path"].as_str().unwrap());
    let bytes = std::fs::read(&shard).unwrap();
    let truncated = dir.path().join("truncated.parquet");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.path().join("out");
    let result = run(
        "adamame-data",
        &[
            "build",
            "--quiet",
            "--input",
            truncated.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("truncated.parquet"),
        "the error names the file: {stderr}"
    );
    assert!(!out.exists(), "no output folder after a failed run");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "only good/ and the truncated file: {leftovers:?}"
    );
}

#[test]
fn curated_shards_read_back_through_parquet_and_our_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    build(&out, &[]);
    // A curated folder is itself valid input: the parquet reader and the
    // `auto` format route it back (question/answer fields), and `inspect`
    // shows it.
    let shown = run_ok(
        "adamame-data",
        &["inspect", out.to_str().unwrap(), "-n", "1"],
        None,
    );
    assert!(shown.contains("schema version: 1.0.0"), "{shown}");
    assert!(shown.contains("n_tokens_reasoning"), "{shown}");
    assert!(shown.contains("huggingface"), "{shown}");
    assert!(shown.contains("rows: 2488"), "{shown}");

    // `inspect … | head`: a reader that stops early ends the run quietly.
    let mut child = std::process::Command::new(adamame_tests::bin("adamame-data"))
        .args([
            "inspect",
            out.to_str().unwrap(),
            "-n",
            "3000",
            "--width",
            "1000",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 16];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut head).unwrap();
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    assert!(done.status.success(), "{:?}", done.status);
    assert_eq!(String::from_utf8_lossy(&done.stderr), "");

    // A `--shard` run's folder shows its pending rows, not its rejects.
    let shard = dir.path().join("shard");
    let m = build(&shard, &["--shard", "0/2"]);
    let shown = run_ok("adamame-data", &["inspect", shard.to_str().unwrap()], None);
    assert!(
        shown.contains(&format!("rows: {}", m["kept_records"])),
        "{shown}"
    );
}

/// The codecs of every column chunk of the Parquet files under `dir`.
fn codecs(dir: &Path) -> std::collections::BTreeSet<String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let mut found = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let file = std::fs::File::open(entry.unwrap().path()).unwrap();
        let meta = SerializedFileReader::new(file).unwrap().metadata().clone();
        for group in meta.row_groups() {
            // The codec's name: a file does not record the zstd level.
            found.extend(group.columns().iter().map(|c| {
                let codec = format!("{:?}", c.compression());
                codec.split('(').next().unwrap().to_string()
            }));
        }
    }
    found
}

#[test]
fn shards_are_zstd_or_snappy_and_rejects_the_fast_codec() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("small.jsonl");
    let corpus = std::fs::read_to_string(repo().join("pipeline/corpus/default.jsonl")).unwrap();
    std::fs::write(
        &input,
        corpus.lines().take(200).collect::<Vec<_>>().join("\n"),
    )
    .unwrap();
    let input = input.to_str().unwrap();
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();

    let zstd = dir.path().join("zstd");
    build(&zstd, &["-i", input]);
    assert_eq!(codecs(&zstd.join("data")), set(&["ZSTD"]));
    assert_eq!(codecs(&zstd.join("rejects")), set(&["LZ4_RAW"]));

    let snappy = dir.path().join("snappy");
    build(&snappy, &["-i", input, "--compression", "snappy"]);
    assert_eq!(codecs(&snappy.join("data")), set(&["SNAPPY"]));
    assert_eq!(codecs(&snappy.join("rejects")), set(&["SNAPPY"]));
}

#[test]
fn paper_preset_catches_collapse_the_release_missed() {
    // 32B_system/fr: about 200 of 250 traces reason mainly in English; the
    // release's filter (ASCII words stripped) called 237 of them French.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let input = shared_data().join("traces/s1-mgsm/32B_system/fr.jsonl");
    let m = build(
        &out,
        &["--preset", "paper", "--input", input.to_str().unwrap()],
    );
    assert_accounted(&out, &m);
    assert_eq!(count(&m["source_records"]), 250);
    let wrong_language = count(&m["rejected_by_reason"]["wrong_language"]);
    assert!(
        wrong_language >= 150,
        "collapsed traces rejected: {}",
        m["rejected_by_reason"]
    );
    // The paper preset runs its four filters and nothing else.
    for reason in m["rejected_by_reason"].as_object().unwrap().keys() {
        assert!(
            ["no_answer", "no_boxed", "wrong_answer", "wrong_language"].contains(&reason.as_str()),
            "unexpected reason {reason}"
        );
    }
}

#[test]
fn decontamination_flags_benchmark_questions() {
    // The s1 traces answer MGSM questions, so against MGSM-Rev2 nearly all
    // surviving traces are contaminated.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let data = shared_data();
    let input = data.join("traces/s1-mgsm/14B_NxN/fr.jsonl");
    let bench = data.join("mgsm-rev2/fr.jsonl");
    let m = build(
        &out,
        &[
            "--input",
            input.to_str().unwrap(),
            "--decontaminate",
            bench.to_str().unwrap(),
        ],
    );
    assert_accounted(&out, &m);
    let contaminated = count(&m["rejected_by_reason"]["contaminated"]);
    assert!(contaminated > 100, "{}", m["rejected_by_reason"]);
    assert!(count(&m["kept_records"]) < 20, "{}", m["kept_records"]);
}

#[test]
fn benchmarks_in_other_shapes_decontaminate_alike() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared_data();
    let input = data.join("traces/s1-mgsm/14B_NxN/fr.jsonl");
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(data.join("mgsm-rev2/fr.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let write = |name: &str, shape: &dyn Fn(&serde_json::Value) -> serde_json::Value| {
        let path = dir.path().join(name);
        let text: String = rows.iter().map(|r| shape(r).to_string() + "\n").collect();
        std::fs::write(&path, text).unwrap();
        path
    };
    // MATH-style, a chat benchmark with user turns only, and a custom field.
    let math = write(
        "math.jsonl",
        &|r| serde_json::json!({"problem": r["question"], "solution": r["answer"]}),
    );
    let chat = write(
        "chat.jsonl",
        &|r| serde_json::json!({"messages": [{"role": "user", "content": r["question"]}]}),
    );
    let custom = write(
        "custom.jsonl",
        &|r| serde_json::json!({"meta": {"q": r["question"]}}),
    );
    let contaminated = |bench: &Path, extra: &[&str]| {
        let out = dir.path().join(format!(
            "out-{}",
            bench.file_name().unwrap().to_string_lossy()
        ));
        let mut args = vec![
            "--input",
            input.to_str().unwrap(),
            "--decontaminate",
            bench.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let m = build(&out, &args);
        assert_accounted(&out, &m);
        count(&m["rejected_by_reason"]["contaminated"])
    };
    let reference = contaminated(&data.join("mgsm-rev2/fr.jsonl"), &[]);
    assert!(reference > 100, "{reference}");
    assert_eq!(contaminated(&math, &[]), reference);
    assert_eq!(contaminated(&chat, &[]), reference);
    assert_eq!(
        contaminated(&custom, &["--decontaminate-field", "meta.q"]),
        reference
    );
    // Without the field, no question is found: the run stops and says so.
    let out = dir.path().join("out-none");
    let stderr = adamame_tests::run_fails(
        "adamame-data",
        &[
            "build",
            "--quiet",
            "-i",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--decontaminate",
            custom.to_str().unwrap(),
        ],
    );
    assert!(
        stderr.contains("custom.jsonl: no benchmark questions in 250 rows")
            && stderr.contains("--decontaminate-field"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn sharded_runs_merge_into_the_single_run_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let single = build(
        &dir.path().join("single"),
        &["--val-fraction", "0.1", "--max-per-question", "1"],
    );
    let mut shard_dirs = Vec::new();
    for i in 0..3 {
        let path = dir.path().join(format!("shard{i}"));
        let shard = format!("{i}/3");
        let m = build(
            &path,
            &[
                "--val-fraction",
                "0.1",
                "--max-per-question",
                "1",
                "--shard",
                &shard,
            ],
        );
        assert_eq!(m["shard"], shard.as_str());
        assert!(path.join("pending").is_dir() && !path.join("data").exists());
        shard_dirs.push(path);
    }
    let merged = dir.path().join("merged");
    let mut args = vec!["merge", "--quiet", "--out", merged.to_str().unwrap()];
    // Shards may be given in any order.
    for p in shard_dirs.iter().rev() {
        args.push(p.to_str().unwrap());
    }
    run_ok("adamame-data", &args, None);
    let m = manifest(&merged);
    assert_accounted(&merged, &m);
    for key in [
        "source_records",
        "input_records",
        "kept_records",
        "rejected_records",
        "rejected_by_reason",
        "shards",
        "rejects",
        "inputs",
        "format",
        "map",
        "lang",
    ] {
        assert_eq!(m[key], single[key], "{key}");
    }
    // A missing shard is an error, not a smaller dataset.
    let out = run(
        "adamame-data",
        &[
            "merge",
            "--out",
            dir.path().join("bad").to_str().unwrap(),
            shard_dirs[0].to_str().unwrap(),
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("shard 1/3 is missing"));

    // Shard folders that do not add up stop the merge and say why.
    let merge_fails = |dirs: &[&Path]| {
        let out = dir.path().join("refused");
        let mut args = vec!["merge", "--quiet", "--out", out.to_str().unwrap()];
        args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
        let stderr = adamame_tests::run_fails("adamame-data", &args);
        assert!(!out.exists());
        stderr
    };
    let copy_of = |from: &Path, name: &str| {
        let to = dir.path().join(name);
        std::fs::create_dir_all(to.join("pending")).unwrap();
        for entry in walk(from) {
            let rel = entry.strip_prefix(from).unwrap();
            std::fs::copy(&entry, to.join(rel)).unwrap();
        }
        to
    };
    let [s0, s1, s2] = [&shard_dirs[0], &shard_dirs[1], &shard_dirs[2]].map(|p| p.as_path());
    // A shard's kept rows replaced by another shard's file.
    let swapped = copy_of(s1, "swapped");
    let kept_file = |d: &Path| d.join(manifest(d)["shards"][0]["path"].as_str().unwrap());
    std::fs::copy(kept_file(s0), kept_file(&swapped)).unwrap();
    let stderr = merge_fails(&[s0, &swapped, s2]);
    assert!(
        stderr.contains("not the file the manifest lists"),
        "{stderr}"
    );
    // ... even with a manifest rewritten to match: shard 0's records are
    // not shard 1's.
    let mut m1 = manifest(&swapped);
    m1["shards"][0] = manifest(s0)["shards"][0].clone();
    std::fs::write(swapped.join("manifest.json"), m1.to_string()).unwrap();
    let stderr = merge_fails(&[s0, &swapped, s2]);
    assert!(stderr.contains("which is not shard 1/3's"), "{stderr}");
    // A manifest without its list of reject files.
    let no_rejects = copy_of(s1, "no_rejects");
    let mut m1 = manifest(&no_rejects);
    m1.as_object_mut().unwrap().remove("rejects");
    std::fs::write(no_rejects.join("manifest.json"), m1.to_string()).unwrap();
    let stderr = merge_fails(&[s0, &no_rejects, s2]);
    assert!(stderr.contains("no `rejects`"), "{stderr}");
    // A shard of a run with another --lang.
    let other_lang = copy_of(s1, "other_lang");
    let mut m1 = manifest(&other_lang);
    m1["lang"] = "fr".into();
    std::fs::write(other_lang.join("manifest.json"), m1.to_string()).unwrap();
    let stderr = merge_fails(&[s0, &other_lang, s2]);
    assert!(
        stderr.contains("a different run (`lang` differs"),
        "{stderr}"
    );
    // An I/O error names the file and its cause once.
    let gone = dir.path().join("gone");
    let stderr = merge_fails(&[&gone]);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("gone/manifest.json"), "{stderr}");
}

/// Every file under `root`.
fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The output follows the dataframe ecosystem's conventions: pyarrow,
/// polars, DuckDB and `datasets.load_dataset(dir)` open it as it is
/// (scripts/install-python-tools.sh installs them).
#[test]
fn pyarrow_polars_duckdb_and_datasets_read_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let m = build(&out, &["--val-fraction", "0.1"]);
    let script = repo().join("tests/python/read_output.py");
    let result = std::process::Command::new("python3")
        .arg(&script)
        .arg(&out)
        .env("HF_DATASETS_OFFLINE", "1")
        .env("HF_HOME", dir.path().join("hf"))
        .output()
        .expect("python3 runs");
    assert!(
        result.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&result.stdout).expect("one JSON line");
    assert_eq!(seen["rows"], m["kept_records"]);
    assert_eq!(seen["languages"], 6);
    assert_eq!(seen["validation"], m["splits"]["validation"]);
}

#[test]
fn a_killed_run_leaves_nothing_visible_and_a_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    // Enough real traces that the run is still going when it is killed.
    let traces =
        std::fs::read_to_string(shared_data().join("traces/s1-mgsm/14B_NxN/fr.jsonl")).unwrap();
    let big = dir.path().join("big.jsonl");
    std::fs::write(&big, traces.repeat(100)).unwrap();
    let out = dir.path().join("out");
    let mut child = std::process::Command::new(adamame_tests::bin("adamame-data"))
        .args([
            "build",
            "--quiet",
            "--threads",
            "1",
            "-i",
            big.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        still_running,
        "the run finished before it could be killed; make the input bigger"
    );
    assert!(!out.exists(), "no output folder after a killed run");
    let visible: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(visible, vec!["big.jsonl".to_string()]);
    let m = build(&out, &["-i", big.to_str().unwrap()]);
    assert_eq!(count(&m["source_records"]), 250 * 100);
    let hidden: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        hidden.len(),
        2,
        "the rerun cleaned the killed run's partial folder: {hidden:?}"
    );
}

/// An empty `\boxed{}` is no answer, even when another number of the answer
/// equals the gold.
#[test]
fn an_empty_box_is_rejected_as_no_boxed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("fr.jsonl");
    let reasoning = "Elle a seize œufs, elle en mange trois et en utilise quatre. \
        Il lui en reste neuf, vendus deux dollars chacun, soit dix-huit dollars.";
    let record = serde_json::json!({
        "question": "Combien gagne-t-elle ?",
        "gold": "18",
        "lang": "fr",
        "candidates": [
            format!("<think>\n{reasoning}\n</think>\n\nElle gagne $18$ dollars. \\boxed{{}}"),
            format!("<think>\n{reasoning}\n</think>\n\nElle gagne $18$ dollars. \\boxed{{18}}"),
        ],
    });
    std::fs::write(&input, format!("{record}\n")).unwrap();
    let out = dir.path().join("out");
    let m = build(&out, &["--input", input.to_str().unwrap()]);
    assert_accounted(&out, &m);
    assert_eq!(count(&m["kept_records"]), 1, "{}", m["rejected_by_reason"]);
    assert_eq!(count(&m["rejected_by_reason"]["no_boxed"]), 1, "{m}");
}

#[test]
fn nonsense_thresholds_are_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    for (flag, value, says) in [
        ("--min-purity", "90", "0.9 for 90%"),
        ("--near-dup-threshold", "0", "above 0 and at most 1"),
        ("--max-per-question", "0", "at least 1"),
        ("--val-fraction", "1", "below 1"),
        ("--threads", "0", "at least 1"),
        ("--decontam-ngram", "0", "at least 1"),
    ] {
        let stderr = adamame_tests::run_fails(
            "adamame-data",
            &["build", "--quiet", flag, value, "-o", out],
        );
        assert!(
            stderr.contains(flag) && stderr.contains(says),
            "{flag} {value}: {stderr}"
        );
        assert!(!Path::new(out).exists());
    }
}
