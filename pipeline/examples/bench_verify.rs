//! Verifications per second on the real traces' answers (issue 3).
//!
//! ```text
//! cargo run --release -p adamame-pipeline --example bench_verify -- [TRACES_DIR] [--rounds N] [--no-python]
//! ```
//!
//! Loads every trace under TRACES_DIR (default `../shared/data/traces`),
//! takes the answer part of `output` and `gold_answer`, and times
//! `verify::check` single-threaded over all of them (`--rounds` passes, best
//! pass reported), then on all cores with rayon-free `std::thread::scope`
//! chunks. Unless `--no-python` is given, it also runs
//! `tests/parity/math_verify_parity.py` (Hugging Face Math-Verify, same
//! answers) in the same run and prints both rates.

use adamame_pipeline::verify::{answer_part, check};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    for p in v {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "jsonl") {
            out.push(p);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut dir = manifest.join("../../shared/data/traces");
    let mut rounds = 5usize;
    let mut python = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => rounds = args.next().and_then(|x| x.parse().ok()).unwrap_or(5),
            "--no-python" => python = false,
            other => dir = PathBuf::from(other),
        }
    }
    let mut files = Vec::new();
    collect(&dir, &mut files);
    if files.is_empty() {
        eprintln!("no traces under {}", dir.display());
        std::process::exit(1);
    }
    let mut items: Vec<(String, String)> = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read trace");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let r: serde_json::Value = serde_json::from_str(line).expect("trace json");
            let gold = match &r["gold_answer"] {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            let part = answer_part(r["output"].as_str().unwrap_or_default()).to_string();
            items.push((gold, part));
        }
    }
    let n = items.len();
    let bytes: usize = items.iter().map(|(_, p)| p.len()).sum();

    // warm-up and correctness count
    let correct = items.iter().filter(|(g, p)| check(g, p).correct).count();

    let mut best = f64::INFINITY;
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        let mut c = 0usize;
        for (g, p) in &items {
            c += check(g, p).correct as usize;
        }
        std::hint::black_box(c);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let single = n as f64 / best;

    let threads = std::thread::available_parallelism()
        .map(|x| x.get())
        .unwrap_or(1);
    let t = Instant::now();
    let reps = rounds.max(1);
    std::thread::scope(|s| {
        let chunk = n.div_ceil(threads);
        for part in items.chunks(chunk) {
            s.spawn(move || {
                let mut c = 0usize;
                for _ in 0..reps {
                    for (g, p) in part {
                        c += check(g, p).correct as usize;
                    }
                }
                std::hint::black_box(c);
            });
        }
    });
    let multi = (n * reps) as f64 / t.elapsed().as_secs_f64();

    println!(
        "{}",
        serde_json::json!({
            "traces": n,
            "answer_bytes_mean": bytes / n.max(1),
            "ours_correct": correct,
            "ours_single_thread_per_s": single.round(),
            "ours_us_per_verification": (1e6 / single * 100.0).round() / 100.0,
            "threads": threads,
            "ours_all_threads_per_s": multi.round(),
        })
    );

    if python {
        let script = manifest.join("tests/parity/math_verify_parity.py");
        let out = std::env::temp_dir().join("adamame_mv_bench_verdicts.jsonl");
        match std::process::Command::new("python3")
            .arg(&script)
            .arg("--traces")
            .arg(&dir)
            .arg("--out")
            .arg(&out)
            .output()
        {
            Ok(o) if o.status.success() => {
                let stdout = String::from_utf8_lossy(&o.stdout);
                let line = stdout.lines().last().unwrap_or("");
                let v: serde_json::Value =
                    serde_json::from_str(line).unwrap_or(serde_json::Value::Null);
                let mv = v["verifications_per_second"].as_f64().unwrap_or(f64::NAN);
                println!(
                    "{}",
                    serde_json::json!({
                        "math_verify_single_thread_per_s": mv,
                        "math_verify_correct": v["mv_correct"],
                        "speedup_single_thread": (single / mv * 10.0).round() / 10.0,
                    })
                );
            }
            Ok(o) => eprintln!(
                "math_verify_parity.py failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("python3 not available: {e}"),
        }
    }
}
