//! Accuracy and speed of the language-ID backends on labeled real data.
//!
//!     cargo run --release -p adamame-pipeline --example bench_lang -- [--data DIR]
//!         [--backends whatlang,lingua,fasttext] [--quick] [--dump-stripped FILE]
//!
//! The labeled set is built from `../shared/data` (see docs/bench-lang.md):
//!
//! * whole texts: the 250 MGSM-Rev2 questions in each of its 12 languages, and
//!   the whole reasoning traces of `traces/s1-mgsm/14B_NxN` (6 languages,
//!   in-language by construction);
//! * single lines: the MGSM-Rev2 questions cut into sentences, and the lines
//!   of the 14B traces whose dominant script is the query language's (so a
//!   Chinese line in a Thai trace is not labeled Thai);
//! * code-switched texts: 3 lines of a trace (or question) in one language
//!   joined to 3 lines in another, against 6 lines of a single source.
//!
//! Reported per backend: accuracy per language on whole texts and on lines,
//! code-switch precision and recall (default measures, and the paper's for
//! lingua), the flag rate on in-language traces, the trace language of the
//! 32B_system French traces (mostly English), and speed in CPU time of one
//! thread: texts/s and MB/s of `detect` on whole texts and of the whole-trace
//! measures.
//!
//! `--dump-stripped FILE` writes the math-stripped traces with lingua-rs's
//! whole-text verdict and our `trace_lang` under `--lid lingua`, as JSON
//! lines for `pipeline/tests/parity/lingua_parity.py`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use adamame_pipeline::lang::{
    self, detector, measure, strip_math, Backend, Detector, DetectorOptions, FidelityOptions,
    Preset,
};

/// CPU time of this thread (Linux), so that speeds are per core even on a
/// busy machine; wall time elsewhere.
fn cpu_secs(wall: Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|x| x.parse::<f64>().ok())
        })
        .map(|ns| ns / 1e9)
        .unwrap_or_else(|| wall.elapsed().as_secs_f64())
}

/// Runs `f`, returning its result and the CPU seconds it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let w = Instant::now();
    let c0 = cpu_secs(w);
    let r = f();
    (r, (cpu_secs(w) - c0).max(1e-9))
}

struct Labeled {
    lang: String,
    text: String,
    folder: &'static str,
}

fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    let Ok(s) = std::fs::read_to_string(path) else {
        eprintln!("missing {}", path.display());
        return Vec::new();
    };
    s.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The reasoning part of an s1 transcript.
fn reasoning(output: &str) -> &str {
    let start = output
        .find("<|im_start|>think")
        .map_or(0, |p| p + "<|im_start|>think".len());
    let rest = &output[start..];
    let end = rest.find("<|im_start|>answer").unwrap_or(rest.len());
    &rest[..end]
}

fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if matches!(c, '.' | '?' | '!' | '。' | '？' | '！' | '।' | '\n') {
            let t = cur.trim().to_string();
            if !t.is_empty() {
                out.push(t);
            }
            cur.clear();
        }
    }
    let t = cur.trim().to_string();
    if !t.is_empty() {
        out.push(t);
    }
    out
}

fn letters(s: &str) -> usize {
    s.chars().filter(|c| c.is_alphabetic()).count()
}

/// Is `line` written in the script of `lang`? (So that a Chinese line in a
/// Thai trace, or an English line in a French one, is not labeled with the
/// trace's language.) For Latin-script languages: 90% Latin letters.
fn script_matches(det: &dyn Detector, line: &str, lang: &str) -> bool {
    let latin = line
        .chars()
        .filter(|c| c.is_ascii_alphabetic() || ('\u{C0}'..='\u{24F}').contains(c))
        .count();
    let total = letters(line).max(1);
    let latin_lang = matches!(lang, "en" | "fr" | "de" | "es" | "pt" | "sw" | "vi");
    if latin_lang {
        latin * 10 >= total * 9
    } else {
        latin * 10 <= total
            && det
                .detect(line)
                .is_some_and(|d| d.lang == lang || (lang == "ja" && d.lang == "zh"))
    }
}

struct Data {
    questions: Vec<Labeled>,
    traces: Vec<Labeled>,
    lines: Vec<Labeled>,
    joined: Vec<(Vec<String>, String)>, // (languages, text)
    fr32: Vec<String>,
    all_traces: Vec<Labeled>,
}

fn load(data: &Path, quick: bool, script_det: &dyn Detector) -> Data {
    let qlangs = [
        "bn", "de", "en", "es", "fr", "ja", "ko", "ru", "sw", "te", "th", "zh",
    ];
    let tlangs = ["es", "fr", "ja", "ru", "th", "zh"];
    let take = if quick { 60 } else { usize::MAX };
    let mut questions = Vec::new();
    let mut qsent: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in qlangs {
        for v in read_jsonl(&data.join("mgsm-rev2").join(format!("{l}.jsonl")))
            .into_iter()
            .take(take)
        {
            let q = v["question"].as_str().unwrap_or_default().to_string();
            for s in sentences(&q) {
                if letters(&strip_math(&s)) >= 20 {
                    qsent.entry(l.to_string()).or_default().push(s);
                }
            }
            questions.push(Labeled {
                lang: l.to_string(),
                text: q,
                folder: "",
            });
        }
    }
    let mut traces = Vec::new();
    let mut tlines: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for l in tlangs {
        for v in read_jsonl(
            &data
                .join("traces/s1-mgsm/14B_NxN")
                .join(format!("{l}.jsonl")),
        )
        .into_iter()
        .take(take)
        {
            let t = reasoning(v["output"].as_str().unwrap_or_default()).to_string();
            let ls: Vec<String> = t
                .lines()
                .map(|x| x.trim().to_string())
                .filter(|x| letters(&strip_math(x)) >= 20 && script_matches(script_det, x, l))
                .collect();
            tlines.entry(l.to_string()).or_default().push(ls);
            traces.push(Labeled {
                lang: l.to_string(),
                text: t,
                folder: "14B_NxN",
            });
        }
    }
    let mut all_traces: Vec<Labeled> = traces
        .iter()
        .map(|t| Labeled {
            lang: t.lang.clone(),
            text: t.text.clone(),
            folder: "14B_NxN",
        })
        .collect();
    let mut fr32 = Vec::new();
    for l in ["fr", "ja", "th"] {
        for v in read_jsonl(
            &data
                .join("traces/s1-mgsm/32B_system")
                .join(format!("{l}.jsonl")),
        )
        .into_iter()
        .take(take)
        {
            let t = reasoning(v["output"].as_str().unwrap_or_default()).to_string();
            if l == "fr" {
                fr32.push(t.clone());
            }
            all_traces.push(Labeled {
                lang: l.to_string(),
                text: t,
                folder: "32B_system",
            });
        }
    }

    // Single lines: question sentences and in-script trace lines (every 3rd, to bound the set).
    let mut lines = Vec::new();
    for (l, ss) in &qsent {
        for s in ss.iter().step_by(2) {
            lines.push(Labeled {
                lang: l.clone(),
                text: s.clone(),
                folder: "",
            });
        }
    }
    for (l, per_trace) in &tlines {
        for ls in per_trace {
            for s in ls.iter().step_by(3) {
                lines.push(Labeled {
                    lang: l.clone(),
                    text: s.clone(),
                    folder: "",
                });
            }
        }
    }

    // Joined texts: 3 lines of one source + 3 of another; negatives: 6 of one.
    let mut pools: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for (l, per_trace) in &tlines {
        for ls in per_trace.iter().filter(|ls| ls.len() >= 6) {
            pools.entry(l.clone()).or_default().push(ls.clone());
        }
    }
    for (l, ss) in &qsent {
        // Six consecutive question sentences make one pseudo-source.
        for chunk in ss.chunks(6).filter(|c| c.len() == 6) {
            pools.entry(l.clone()).or_default().push(chunk.to_vec());
        }
    }
    let langs: Vec<String> = pools.keys().cloned().collect();
    let mut joined = Vec::new();
    let per_pair = if quick { 4 } else { 12 };
    for (i, a) in langs.iter().enumerate() {
        for b in langs.iter().skip(i + 1) {
            let (pa, pb) = (&pools[a], &pools[b]);
            for k in 0..per_pair.min(pa.len()).min(pb.len()) {
                let (x, y) = (&pa[(k * 7) % pa.len()], &pb[(k * 11 + 3) % pb.len()]);
                let text = format!("{}\n{}", x[..3].join("\n"), y[y.len() - 3..].join("\n"));
                joined.push((vec![a.clone(), b.clone()], text));
            }
        }
        let pa = &pools[a];
        for k in 0..(per_pair * 2).min(pa.len()) {
            let x = &pa[(k * 5) % pa.len()];
            joined.push((vec![a.clone()], x[..6].join("\n")));
        }
    }
    Data {
        questions,
        traces,
        lines,
        joined,
        fr32,
        all_traces,
    }
}

fn accuracy(det: &dyn Detector, items: &[Labeled]) -> BTreeMap<String, (usize, usize)> {
    let mut per: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for it in items {
        let stripped = strip_math(&it.text);
        let ok = det.detect(&stripped).is_some_and(|d| d.lang == it.lang);
        let e = per.entry(it.lang.clone()).or_default();
        e.1 += 1;
        if ok {
            e.0 += 1;
        }
    }
    per
}

fn fmt_acc(per: &BTreeMap<String, (usize, usize)>) -> String {
    let mut s = String::new();
    let (mut c, mut n) = (0, 0);
    for (l, (ok, tot)) in per {
        s.push_str(&format!("{l} {:.1}  ", 100.0 * *ok as f64 / *tot as f64));
        c += ok;
        n += tot;
    }
    format!(
        "all {:.2}% (n={n}) | {s}",
        100.0 * c as f64 / n.max(1) as f64
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let quick = args.iter().any(|a| a == "--quick");
    let data = arg("--data")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    let backends: Vec<Backend> = arg("--backends")
        .unwrap_or_else(|| "whatlang,lingua,fasttext".into())
        .split(',')
        .filter_map(|b| b.parse().ok())
        .collect();

    let script_det = detector(Backend::Whatlang, &DetectorOptions::default()).expect("whatlang");
    let d = load(&data, quick, script_det.as_ref());
    let trace_mb: f64 = d.all_traces.iter().map(|t| t.text.len()).sum::<usize>() as f64 / 1e6;
    println!(
        "labeled set: {} questions, {} whole traces, {} lines, {} joined texts ({} code-switched); {} traces ({:.1} MB) for speed",
        d.questions.len(),
        d.traces.len(),
        d.lines.len(),
        d.joined.len(),
        d.joined.iter().filter(|j| j.0.len() == 2).count(),
        d.all_traces.len(),
        trace_mb
    );

    if let Some(path) = arg("--dump-stripped") {
        let det = detector(Backend::Lingua, &DetectorOptions::default()).expect("lingua");
        let lg = det.lingua().expect("lingua");
        let opts = FidelityOptions::default();
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create dump"));
        for t in &d.all_traces {
            let s = strip_math(&t.text);
            let rs = lg
                .detect_language_of(s.as_str())
                .map(|l| l.iso_code_639_1().to_string())
                .unwrap_or_else(|| "unknown".into());
            let ours = measure(det.as_ref(), &t.text, &t.lang, &opts).trace_lang;
            writeln!(
                f,
                "{}",
                serde_json::json!({"query": t.lang, "text": s, "lingua_rs": rs, "ours": ours})
            )
            .expect("write dump");
        }
        println!("wrote {path}");
        return;
    }

    for b in backends {
        let (det, build_s) = timed(|| detector(b, &DetectorOptions::default()));
        let det = match det {
            Ok(d) => d,
            Err(e) => {
                println!("\n== {b}: skipped: {e}");
                continue;
            }
        };
        // Warm up (lazy model loading, the trigram table) outside the timings.
        let (_, warm_s) = timed(|| {
            for l in &d.questions {
                let _ = det.detect(&l.text);
            }
            let _ = det.ranked_fast("warm up the fast table");
        });
        println!("\n== {b} (build {build_s:.2}s, first pass with model loading {warm_s:.2}s)");

        println!(
            "MGSM-Rev2 questions (whole): {}",
            fmt_acc(&accuracy(det.as_ref(), &d.questions))
        );
        println!(
            "14B traces (whole):          {}",
            fmt_acc(&accuracy(det.as_ref(), &d.traces))
        );
        println!(
            "single lines:                {}",
            fmt_acc(&accuracy(det.as_ref(), &d.lines))
        );

        let presets: &[Preset] = if b == Backend::Lingua {
            &[Preset::Default, Preset::Paper]
        } else {
            &[Preset::Default]
        };
        for &p in presets {
            let opts = FidelityOptions {
                preset: p,
                ..FidelityOptions::default()
            };
            let (mut tp, mut fp, mut fneg, mut tn) = (0, 0, 0, 0);
            let mut misses: BTreeMap<String, usize> = BTreeMap::new();
            let mut question_ok = 0usize;
            for q in &d.questions {
                if measure(det.as_ref(), &q.text, &q.lang, &opts).trace_lang == q.lang {
                    question_ok += 1;
                }
            }
            for (langs, text) in &d.joined {
                let f = measure(det.as_ref(), text, &langs[0], &opts);
                let truth = langs.len() == 2;
                match (truth, f.code_switch) {
                    (true, true) => tp += 1,
                    (true, false) => {
                        fneg += 1;
                        *misses.entry(langs.join("+")).or_default() += 1;
                    }
                    (false, true) => {
                        fp += 1;
                        *misses
                            .entry(format!("{} (false flag)", langs[0]))
                            .or_default() += 1;
                    }
                    (false, false) => tn += 1,
                }
            }
            println!(
                "[{p:?}] measure trace_lang on MGSM-Rev2 questions: {question_ok}/{} ({:.2}%)",
                d.questions.len(),
                100.0 * question_ok as f64 / d.questions.len().max(1) as f64
            );
            println!(
                "[{p:?}] joined code-switch: precision {:.3} recall {:.3} (tp {tp} fp {fp} fn {fneg} tn {tn}) errors: {misses:?}",
                tp as f64 / (tp + fp).max(1) as f64,
                tp as f64 / (tp + fneg).max(1) as f64,
            );
            // Flag rate on in-language traces; trace language of 32B fr.
            let (fids, dt) = timed(|| {
                d.traces
                    .iter()
                    .map(|t| measure(det.as_ref(), &t.text, &t.lang, &opts))
                    .collect::<Vec<_>>()
            });
            let mut flags: BTreeMap<String, (usize, usize)> = BTreeMap::new();
            let mut bytes = 0usize;
            for (t, f) in d.traces.iter().zip(&fids) {
                bytes += t.text.len();
                let e = flags.entry(t.lang.clone()).or_default();
                e.1 += 1;
                if f.code_switch {
                    e.0 += 1;
                }
            }
            let flag_s: Vec<String> = flags
                .iter()
                .map(|(l, (a, n))| format!("{l} {a}/{n}"))
                .collect();
            let total_flag: usize = flags.values().map(|x| x.0).sum();
            println!(
                "[{p:?}] 14B in-language traces flagged code-switched: {total_flag}/{} ({})  measure {:.0} traces/s {:.2} MB/s",
                d.traces.len(),
                flag_s.join(", "),
                d.traces.len() as f64 / dt,
                bytes as f64 / 1e6 / dt
            );
            let mut fr_langs: BTreeMap<String, usize> = BTreeMap::new();
            for t in &d.fr32 {
                *fr_langs
                    .entry(measure(det.as_ref(), t, "fr", &opts).trace_lang)
                    .or_default() += 1;
            }
            println!("[{p:?}] 32B_system/fr trace_lang: {fr_langs:?}");
        }

        // Speed: detect on whole stripped traces, the default measures on every trace.
        let stripped: Vec<String> = d.all_traces.iter().map(|t| strip_math(&t.text)).collect();
        let (_, dt) = timed(|| stripped.iter().filter(|s| det.detect(s).is_some()).count());
        println!(
            "speed detect(whole stripped trace), one core: {:.0} texts/s, {:.2} MB/s",
            stripped.len() as f64 / dt,
            stripped.iter().map(|s| s.len()).sum::<usize>() as f64 / 1e6 / dt
        );
        let opts = FidelityOptions::default();
        let mut per_folder: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        let mut total = 0.0;
        for t in &d.all_traces {
            let (_, dt) = timed(|| measure(det.as_ref(), &t.text, &t.lang, &opts));
            total += dt;
            let e = per_folder.entry(t.folder).or_default();
            e.0 += t.text.len() as f64 / 1e6;
            e.1 += dt;
        }
        let parts: Vec<String> = per_folder
            .iter()
            .map(|(k, (mb, s))| format!("{k} {:.1} MB/s", mb / s))
            .collect();
        println!(
            "speed measure(default, whole trace incl. stripping), one core: {:.0} traces/s, {:.2} MB/s ({})",
            d.all_traces.len() as f64 / total,
            trace_mb / total,
            parts.join(", ")
        );
        let (_, dt) = timed(|| {
            d.all_traces
                .iter()
                .map(|t| lang::math_mask(&t.text).len())
                .sum::<usize>()
        });
        println!("speed math stripping alone: {:.1} MB/s", trace_mb / dt);

        // The per-unit ranking of `measure` on Latin text: the lines of the
        // traces with under 5% non-ASCII characters. A first pass fills the
        // per-thread word memo (as a build's first traces do); then passes
        // for at least a second of CPU, as the thread's CPU clock is coarse.
        let latin_lines: Vec<&str> = d
            .all_traces
            .iter()
            .flat_map(|t| t.text.lines())
            .filter(|l| l.len() > 20 && l.chars().filter(|c| !c.is_ascii()).count() * 20 < l.len())
            .collect();
        let latin_bytes: usize = latin_lines.iter().map(|l| l.len()).sum();
        let rank_all = || {
            latin_lines
                .iter()
                .map(|l| det.ranked_fast(l).len())
                .sum::<usize>()
        };
        rank_all();
        let (passes, dt) = timed(|| {
            let start = Instant::now();
            let mut passes = 0usize;
            while passes == 0 || start.elapsed().as_secs_f64() < 1.0 {
                rank_all();
                passes += 1;
            }
            passes
        });
        println!(
            "speed ranked_fast on {} mostly-Latin trace lines ({:.1} MB), one core: {:.2} ns/byte",
            latin_lines.len(),
            latin_bytes as f64 / 1e6,
            dt * 1e9 / (passes * latin_bytes) as f64
        );
    }
}
