//! The line-oriented and reporting verbs of `adamame-data`, end to end.

use adamame_tests::{run_ok, shared_data, string_column};

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

#[test]
fn verify_answers_every_line_in_order() {
    let input = concat!(
        "{\"gold\": \"18\", \"response\": \"so the answer is \\\\boxed{18}\"}\n",
        "not json\n",
        "{\"gold\": \"0.5\", \"response\": \"\\\\boxed{\\\\frac{1}{2}}\"}\n",
        "{\"gold\": \"7\", \"response\": \"\\\\boxed{8}\"}\n",
        "[1]\n",
    );
    let out = json_lines(&run_ok("adamame-data", &["verify"], Some(input.as_bytes())));
    assert_eq!(out.len(), 5);
    assert_eq!(out[0]["correct"], true);
    assert!(out[1]["error"].is_string());
    assert_eq!(out[2]["correct"], true);
    assert_eq!(out[3]["correct"], false);
    assert!(out[4]["error"].is_string());
}

#[test]
fn fidelity_measures_every_line_in_order() {
    let input = concat!(
        "{\"text\": \"Elle a 16 œufs. Elle en mange trois et en utilise quatre pour les muffins, il lui en reste donc neuf.\", \"lang\": \"fr\"}\n",
        "{\"text\": \"She has 16 eggs. She eats three and uses four for muffins, so nine are left to sell at the market.\", \"lang\": \"fr\"}\n",
        "{\"lang\": \"fr\"}\n",
        "{\"text\": \"ジャネットは毎日16個の卵を手に入れます。そのうち3個を朝食に食べます。\", \"lang\": \"ja\"}\n",
    );
    let out = json_lines(&run_ok(
        "adamame-data",
        &["fidelity"],
        Some(input.as_bytes()),
    ));
    assert_eq!(out.len(), 4);
    assert_eq!(out[0]["trace_lang"], "fr");
    assert_eq!(out[1]["trace_lang"], "en");
    assert!(out[2]["error"].is_string());
    assert_eq!(out[3]["trace_lang"], "ja");
    assert_eq!(out[3]["word_pass"], true);
}

/// Candidate files in the score format, made from real traces: one
/// candidate per question, `<think>reasoning</think>answer`.
fn candidates_from_traces(path: &std::path::Path, out: &std::path::Path) {
    let text = std::fs::read_to_string(path).expect("traces");
    let mut lines = Vec::new();
    for line in text.lines() {
        let rec: serde_json::Value = serde_json::from_str(line).expect("trace JSON");
        let output = rec["output"].as_str().expect("output");
        let body = output.split("<|im_start|>think").nth(1).unwrap_or(output);
        let (reasoning, answer) = body.split_once("<|im_start|>answer").unwrap_or((body, ""));
        let candidate = format!(
            "<think>{reasoning}</think>{}",
            answer.replace("<|im_end|>", "")
        );
        lines.push(
            serde_json::json!({
                "question": rec["prompt"], "lang": rec["language"],
                "answer": rec["gold_answer"].to_string().trim_matches('"'), "candidates": [candidate]
            })
            .to_string(),
        );
    }
    std::fs::write(out, lines.join("\n") + "\n").expect("write candidates");
}

#[test]
fn score_separates_in_language_from_collapsed_reasoning() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared_data();
    let in_lang = dir.path().join("nxn_fr.jsonl");
    let collapsed = dir.path().join("system_fr.jsonl");
    candidates_from_traces(&data.join("traces/s1-mgsm/14B_NxN/fr.jsonl"), &in_lang);
    candidates_from_traces(&data.join("traces/s1-mgsm/32B_system/fr.jsonl"), &collapsed);
    let score = |path: &std::path::Path| -> serde_json::Value {
        let out = run_ok(
            "adamame-data",
            &["score", "--json", "-i", path.to_str().unwrap()],
            None,
        );
        serde_json::from_str(&out).expect("one JSON object")
    };
    let good = score(&in_lang);
    let bad = score(&collapsed);
    let fr_good = &good["per_language"]["fr"];
    let fr_bad = &bad["per_language"]["fr"];
    for metric in [
        "pass@1",
        "pass@k",
        "consistency",
        "code_switch_rate",
        "lpr",
        "wpr",
        "lcpr",
    ] {
        let v = fr_good[metric].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&v), "{metric} = {v}");
    }
    assert!(fr_good["consistency"].as_f64().unwrap() > 0.9, "{fr_good}");
    assert!(fr_bad["consistency"].as_f64().unwrap() < 0.4, "{fr_bad}");
    assert!(fr_good["pass@1"].as_f64().unwrap() > 0.5, "{fr_good}");
    assert_eq!(
        fr_good["pass@1"], fr_good["pass@k"],
        "one candidate: pass@1 = pass@k"
    );
    assert_eq!(good["overall"]["questions"], 250);
    // The CSV and markdown tables land in place, with no temporary files.
    let tables = dir.path().join("tables");
    std::fs::create_dir(&tables).unwrap();
    let (csv, md) = (tables.join("fr.csv"), tables.join("fr.md"));
    run_ok(
        "adamame-data",
        &[
            "score",
            "-i",
            in_lang.to_str().unwrap(),
            "--csv",
            csv.to_str().unwrap(),
            "--markdown",
            md.to_str().unwrap(),
        ],
        None,
    );
    assert!(std::fs::read_to_string(&csv).unwrap().lines().count() >= 2);
    assert!(std::fs::read_to_string(&md).unwrap().contains("| fr"));
    assert_eq!(std::fs::read_dir(&tables).unwrap().count(), 2);
    // Scoring zero candidates per question is refused, not all zeros.
    let stderr = adamame_tests::run_fails(
        "adamame-data",
        &["score", "-k", "0", "-i", in_lang.to_str().unwrap()],
    );
    assert!(stderr.contains("must be at least 1"), "{stderr}");
}

#[test]
fn prompts_write_the_rl_schema_of_the_paper() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("prompts.parquet");
    let input = shared_data().join("mgsm-rev2/ko.jsonl");
    run_ok(
        "adamame-data",
        &[
            "prompts",
            "-i",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    let schema_of = |path: &std::path::Path| {
        let file = std::fs::File::open(path).unwrap();
        let builder =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let schema = builder.schema().clone();
        schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect::<Vec<_>>()
    };
    let reference = shared_data().join("rl-prompts/val.parquet");
    assert_eq!(schema_of(&out), schema_of(&reference));
    assert_eq!(adamame_tests::parquet_rows(&out), 250);
}

/// `reward_model.ground_truth` of every row of a verl prompts file.
fn ground_truths(path: &std::path::Path) -> Vec<String> {
    use arrow::array::{Array, StringArray, StructArray};
    let file = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .flat_map(|batch| {
            let batch = batch.unwrap();
            let reward = batch.column_by_name("reward_model").unwrap();
            let reward = reward.as_any().downcast_ref::<StructArray>().unwrap();
            let truth = reward.column_by_name("ground_truth").unwrap();
            let truth = truth.as_any().downcast_ref::<StringArray>().unwrap();
            (0..truth.len())
                .map(|i| truth.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn prompts_read_question_sets_as_people_write_them() {
    let dir = tempfile::tempdir().unwrap();
    let prompts = |input: &std::path::Path, extra: &[&str]| {
        let out = dir.path().join("p.parquet");
        let mut args = vec![
            "prompts",
            "-i",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run_ok("adamame-data", &args, None);
        ground_truths(&out)
    };
    // GSM8K: the gold is the final answer after `####`.
    let gsm8k = dir.path().join("gsm8k.jsonl");
    let record = serde_json::json!({
        "question": "Natalia sold 48 clips in April and half as many in May. How many in all?",
        "answer": "In May she sold 48/2 = <<48/2=24>>24 clips.\n48+24 = <<48+24=72>>72\n#### 72",
    });
    std::fs::write(&gsm8k, record.to_string() + "\n").unwrap();
    assert_eq!(prompts(&gsm8k, &["--lang", "en"]), ["72"]);
    // A curated output: its gold, not the model's answer, in its languages.
    let built = dir.path().join("built");
    run_ok(
        "adamame-data",
        &["build", "--quiet", "-o", built.to_str().unwrap()],
        None,
    );
    let golds = string_column(&built.join("data"), "gold");
    let truths = prompts(&built.join("data"), &[]);
    assert_eq!(truths.len(), golds.len());
    assert!(truths
        .iter()
        .zip(&golds)
        .all(|(t, g)| Some(t.trim()) == g.as_deref().map(str::trim)));
    // Nothing to make a prompt of: an error, and no file.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"q\": 1}\n".repeat(30)).unwrap();
    let out = dir.path().join("none.parquet");
    let stderr = adamame_tests::run_fails(
        "adamame-data",
        &[
            "prompts",
            "--format",
            "mgsm-rev2",
            "-i",
            bad.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        stderr.contains("no prompts: all 30 rows were skipped"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("skipped ")).count(),
        10,
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn export_writes_llamafactory_and_verl() {
    let dir = tempfile::tempdir().unwrap();
    let built = dir.path().join("built");
    run_ok(
        "adamame-data",
        &["build", "--quiet", "--out", built.to_str().unwrap()],
        None,
    );
    let lf = dir.path().join("lf");
    run_ok(
        "adamame-data",
        &[
            "export",
            "--to",
            "llamafactory",
            "--data",
            built.to_str().unwrap(),
            "-o",
            lf.to_str().unwrap(),
        ],
        None,
    );
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(lf.join("dataset_info.json")).unwrap()).unwrap();
    assert_eq!(info["adamame_train"]["columns"]["response"], "output");
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(lf.join("adamame_train.json")).unwrap()).unwrap();
    let manifest = adamame_tests::manifest(&built);
    assert_eq!(
        rows.len() as u64,
        manifest["kept_records"].as_u64().unwrap()
    );
    assert!(rows[0]["output"].as_str().unwrap().starts_with("<think>\n"));
    assert!(rows[0]["instruction"]
        .as_str()
        .unwrap()
        .contains("\\boxed{}"));
    let verl = dir.path().join("verl");
    run_ok(
        "adamame-data",
        &[
            "export",
            "--to",
            "verl",
            "--data",
            built.to_str().unwrap(),
            "-o",
            verl.to_str().unwrap(),
        ],
        None,
    );
    let prompts = adamame_tests::parquet_rows(&verl.join("rl-prompts.parquet"));
    assert!(
        prompts > 1000 && prompts < rows.len() as u64,
        "one prompt per question: {prompts}"
    );
}
