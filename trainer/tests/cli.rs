//! `adamame-train logprobs` and `generate` as a user drives them: JSON lines in, JSON lines out.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    common::manifest_dir().join("tests/fixtures").join(name)
}

fn run(args: &[&str], stdin: &str) -> Vec<Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_adamame-train"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn logprobs_lines_match_transformers_and_keep_order_on_errors() {
    let model = fixture("qwen3-tiny");
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("reference.json")).unwrap())
            .unwrap();
    let first = &reference["texts"][1];
    let input = format!(
        "{}\nnot json\n{{\"txt\": 1}}\n{}\n",
        serde_json::json!({"text": first["text"]}),
        serde_json::json!({"text": "x"})
    );
    let out = run(&["logprobs", "--model", model.to_str().unwrap()], &input);
    assert_eq!(out.len(), 4, "one output line per input line");
    assert_eq!(out[0]["tokens"], first["tokens"]);
    let ours = out[0]["logprobs"].as_array().unwrap();
    let theirs = first["logprobs"].as_array().unwrap();
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(theirs) {
        assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() <= 1e-4);
    }
    assert!(out[1]["error"].is_string() && out[2]["error"].is_string());
    assert_eq!(
        out[3]["logprobs"].as_array().unwrap().len(),
        0,
        "one token, nothing to score"
    );
}

#[test]
fn generate_writes_n_completions_per_prompt_in_order() {
    let model = fixture("qwen2-tiny");
    let input = "{\"prompt\": \"The answer is\", \"id\": \"a\"}\n{\"oops\": 1}\n{\"prompt\": \"Jibu\", \"id\": 2}\n";
    let args = [
        "generate",
        "--model",
        model.to_str().unwrap(),
        "--template",
        "none",
        "-n",
        "2",
        "--max-new-tokens",
        "5",
        "--seed",
        "3",
        "--quiet",
    ];
    let out = run(&args, input);
    assert_eq!(out.len(), 3);
    assert_eq!(out[0]["id"], "a");
    assert_eq!(out[0]["completions"].as_array().unwrap().len(), 2);
    assert_eq!(
        out[0]["completions"][0]["tokens"].as_array().unwrap().len(),
        5
    );
    assert!(out[1]["error"].is_string());
    assert_eq!(out[2]["id"], 2);
    assert_eq!(run(&args, input), out, "seeded sampling is reproducible");
}

#[test]
fn logprobs_answers_each_batch_before_the_input_ends() {
    let model = fixture("qwen3-tiny");
    let mut child = Command::new(env!("CARGO_BIN_EXE_adamame-train"))
        .args([
            "logprobs",
            "--model",
            model.to_str().unwrap(),
            "--batch-size",
            "1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (answers, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(stdout) {
            let _ = answers.send(line.unwrap());
        }
    });
    let mut ask = |line: &[u8]| {
        stdin.write_all(line).unwrap();
        stdin.flush().unwrap();
        let answer = received
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("an answer while stdin is still open");
        serde_json::from_str::<Value>(&answer).unwrap()
    };
    // Each answer is read while stdin is still open: nothing waits for its end.
    let scored = ask(b"{\"text\": \"one two three\"}\n");
    assert!(!scored["tokens"].as_array().unwrap().is_empty(), "{scored}");
    let bad = ask(b"{\"text\": \"\xff\xfe\"}\n");
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid input line"),
        "{bad}"
    );
    assert_eq!(ask(b"{\"text\": \"one two three\"}\n"), scored);
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
