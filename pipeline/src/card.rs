//! The dataset card (`README.md` of an output folder): YAML front-matter
//! that lets `datasets.load_dataset(dir)` open the folder as it is, then the
//! build's statistics. The template lives in `data-cards/`.

use std::fmt::Write;

use crate::build::{BuildRequest, Stats};
use crate::sink::ShardInfo;

const TEMPLATE: &str = include_str!("../../data-cards/curated-traces.md");

/// Renders the card for a finished build.
pub fn render(request: &BuildRequest, stats: &Stats, shards: &[ShardInfo]) -> String {
    let config = serde_json::to_string_pretty(&request.config).unwrap_or_default();
    let token_counter = if request.config.tokenizer.is_some() {
        "tokenizer.json"
    } else {
        "approximate count"
    };
    [
        ("{{front_matter}}", front_matter(stats, shards)),
        ("{{title}}", "AdaMame curated reasoning traces".to_string()),
        (
            "{{tool_version}}",
            format!("adamame-data {}", env!("CARGO_PKG_VERSION")),
        ),
        ("{{summary}}", summary(stats)),
        ("{{per_language}}", per_language(stats)),
        ("{{confusion}}", confusion(stats)),
        ("{{token_counter}}", token_counter.to_string()),
        (
            "{{lengths}}",
            histogram(&stats.reasoning_tokens, |b| format!("≤ {b}")),
        ),
        (
            "{{purity}}",
            histogram(&stats.purity_tenths, |t| purity_bucket(*t)),
        ),
        ("{{command}}", request.command.clone()),
        ("{{config}}", config),
    ]
    .iter()
    .fold(TEMPLATE.to_string(), |card, (key, value)| {
        card.replace(key, value)
    })
}

fn purity_bucket(tenth: u32) -> String {
    if tenth >= 10 {
        "1.0".into()
    } else {
        format!(
            "[{:.1}, {:.1})",
            tenth as f64 / 10.0,
            (tenth + 1) as f64 / 10.0
        )
    }
}

/// YAML for the Hub and `datasets`: splits and their files, features, sizes.
fn front_matter(stats: &Stats, shards: &[ShardInfo]) -> String {
    let mut y = String::new();
    let languages: Vec<&String> = stats
        .per_language
        .keys()
        // Only codes go into the YAML: nothing there needs quoting.
        .filter(|l| crate::lang::canonical_lang(l) == Some(l.as_str()))
        .collect();
    let _ = writeln!(y, "license: other");
    let _ = writeln!(y, "pretty_name: AdaMame curated reasoning traces");
    let _ = writeln!(y, "language:");
    for l in &languages {
        let _ = writeln!(y, "- {l}");
    }
    let _ = writeln!(y, "task_categories:\n- text-generation");
    let _ = writeln!(y, "tags:\n- reasoning\n- multilingual\n- math\n- adamame");
    let splits: Vec<&str> = ["train", "validation"]
        .into_iter()
        .filter(|s| {
            shards
                .iter()
                .any(|sh| sh.path.starts_with(&format!("data/{s}-")))
        })
        .collect();
    let _ = writeln!(y, "configs:\n- config_name: default\n  data_files:");
    for s in &splits {
        let _ = writeln!(y, "  - split: {s}\n    path: data/{s}-*");
    }
    let _ = writeln!(y, "dataset_info:\n  features:");
    for field in adamame_schemas::curated_schema().fields() {
        let _ = writeln!(y, "  - name: {}", field.name());
        match field.data_type() {
            arrow::datatypes::DataType::List(item) => {
                let _ = writeln!(
                    y,
                    "    sequence: {}",
                    adamame_schemas::hf_dtype(item.data_type())
                );
            }
            other => {
                let _ = writeln!(y, "    dtype: {}", adamame_schemas::hf_dtype(other));
            }
        }
    }
    let _ = writeln!(y, "  splits:");
    for s in &splits {
        let (rows, bytes) = shards
            .iter()
            .filter(|sh| sh.path.starts_with(&format!("data/{s}-")))
            .fold((0, 0), |(r, b), sh| (r + sh.rows, b + sh.bytes));
        let _ = writeln!(
            y,
            "  - name: {s}\n    num_bytes: {bytes}\n    num_examples: {rows}"
        );
    }
    y.trim_end().to_string()
}

fn summary(stats: &Stats) -> String {
    let mut t = String::from("| | count |\n|---|---:|\n");
    let _ = writeln!(t, "| source records | {} |", stats.source_records);
    let _ = writeln!(t, "| input (candidates) | {} |", stats.input);
    let _ = writeln!(t, "| kept | {} |", stats.kept);
    let _ = writeln!(t, "| rejected | {} |", stats.rejected);
    let _ = writeln!(t, "| train rows | {} |", stats.train_rows);
    let _ = writeln!(t, "| validation rows | {} |", stats.validation_rows);
    for (reason, n) in &stats.rejected_by_reason {
        let _ = writeln!(t, "| rejected: `{reason}` | {n} |");
    }
    t
}

fn per_language(stats: &Stats) -> String {
    let reasons: Vec<&String> = stats.rejected_by_reason.keys().collect();
    let mut t = String::from("| language | input | kept |");
    for r in &reasons {
        let _ = write!(t, " {r} |");
    }
    t.push_str("\n|---|---:|---:|");
    t.push_str(&"---:|".repeat(reasons.len()));
    t.push('\n');
    for (lang, l) in &stats.per_language {
        let _ = write!(t, "| {lang} | {} | {} |", l.input, l.kept);
        for r in &reasons {
            let _ = write!(t, " {} |", l.rejected.get(*r).copied().unwrap_or(0));
        }
        t.push('\n');
    }
    t
}

fn confusion(stats: &Stats) -> String {
    let mut traces: Vec<&String> = stats.confusion.values().flat_map(|m| m.keys()).collect();
    traces.sort();
    traces.dedup();
    if traces.is_empty() {
        return "(no candidate reached the language stage)\n".into();
    }
    let mut t = String::from("| query \\ trace |");
    for tl in &traces {
        let _ = write!(t, " {tl} |");
    }
    t.push_str("\n|---|");
    t.push_str(&"---:|".repeat(traces.len()));
    t.push('\n');
    for (q, row) in &stats.confusion {
        let _ = write!(t, "| {q} |");
        for tl in &traces {
            let _ = write!(t, " {} |", row.get(*tl).copied().unwrap_or(0));
        }
        t.push('\n');
    }
    t
}

fn histogram(
    buckets: &std::collections::BTreeMap<u32, u64>,
    label: impl Fn(&u32) -> String,
) -> String {
    if buckets.is_empty() {
        return "(no kept rows)\n".into();
    }
    let max = buckets.values().copied().max().unwrap_or(1).max(1);
    let mut t = String::from("| bucket | rows | |\n|---|---:|---|\n");
    for (b, n) in buckets {
        let bar = "█".repeat(((*n as f64 / max as f64) * 30.0).ceil() as usize);
        let _ = writeln!(t, "| {} | {n} | {bar} |", label(b));
    }
    t
}
