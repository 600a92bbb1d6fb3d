//! Where a build's per-record time goes: each per-record stage timed alone,
//! on one thread, over the traces of s1 JSON-lines files.
//!
//!     cargo run --release -p adamame-pipeline --example stage_costs -- FILE... [--rounds N]
use std::time::Instant;

use adamame_pipeline::build::config::BuildConfig;
use adamame_pipeline::build::{context, dedup, outcome::stable_id};
use adamame_pipeline::{lang, normalize::normalize, tokens::approximate_tokens, trace};

struct Trace {
    lang: String,
    question: String,
    response: String,
    reasoning: String,
}

fn main() -> anyhow::Result<()> {
    let mut files = Vec::new();
    let only = std::env::var("ONLY_LANG").ok();
    let mut rounds = 3;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--rounds" {
            rounds = args.next().unwrap_or_default().parse()?;
        } else {
            files.push(a);
        }
    }
    let config = BuildConfig::default();
    let ctx = context(&config)?;
    let mut traces = Vec::new();
    for f in &files {
        for line in std::fs::read_to_string(f)?.lines() {
            let v: serde_json::Value = serde_json::from_str(line)?;
            let response = v["output"].as_str().unwrap_or_default().to_string();
            let Ok(parts) = trace::split(&response, &config.markers) else {
                continue;
            };
            if only
                .as_deref()
                .is_some_and(|l| v["language"].as_str() != Some(l))
            {
                continue;
            }
            traces.push(Trace {
                lang: v["language"].as_str().unwrap_or_default().to_string(),
                question: v["prompt"].as_str().unwrap_or_default().to_string(),
                reasoning: normalize(parts.reasoning),
                response: response.clone(),
            });
        }
    }
    // Warm the detector's tables and memos.
    for t in &traces {
        lang::measure(ctx.detector.as_ref(), &t.reasoning, &t.lang, &ctx.fidelity);
    }
    let n = (traces.len() * rounds) as f64;
    let stage = std::env::var("ONLY_STAGE").ok();
    let time = |name: &str, f: &dyn Fn(&Trace) -> usize| {
        if stage.as_deref().is_some_and(|s| !name.starts_with(s)) {
            return;
        }
        let start = Instant::now();
        let mut sink = 0usize;
        for _ in 0..rounds {
            for t in &traces {
                sink = sink.wrapping_add(f(t));
            }
        }
        let us = start.elapsed().as_secs_f64() * 1e6 / n;
        println!("{name:<28} {us:8.1} us/trace   ({sink})");
    };
    println!("{} traces x {rounds}", traces.len());
    time("split", &|t| {
        trace::split(&t.response, &config.markers).map_or(0, |p| p.reasoning.len())
    });
    time("normalize(response)", &|t| normalize(&t.response).len());
    time("stable_id(response)", &|t| {
        stable_id("f", 1, Some(0), t.response.as_bytes()).len()
    });
    time("math_mask(reasoning)", &|t| {
        lang::math_mask(&t.reasoning).len()
    });
    time("measure(reasoning)", &|t| {
        lang::measure(ctx.detector.as_ref(), &t.reasoning, &t.lang, &ctx.fidelity)
            .segments
            .len()
    });
    time("tokens(reasoning)", &|t| approximate_tokens(&t.reasoning));
    time("ngram_hashes_of", &|t| {
        adamame_pipeline::build::units::ngram_hashes_of(&[&t.question, &t.reasoning], 5).len()
    });
    time("dedup keys", &|t| {
        std::mem::size_of_val(&dedup::keys(&t.question, &t.reasoning, &config.near_dup))
    });
    Ok(())
}
