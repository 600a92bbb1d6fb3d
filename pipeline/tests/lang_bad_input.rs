//! Bad input never panics and always has a defined answer; a property test
//! over the stripping and the measures; the `fidelity` verb line by line.

use std::sync::OnceLock;

use adamame_pipeline::lang::{
    detector, fidelity_jsonl, math_mask, measure, strip_math, Backend, Detector, DetectorOptions,
    FidelityOptions,
};
use proptest::prelude::*;

fn det() -> &'static dyn Detector {
    static DET: OnceLock<Box<dyn Detector>> = OnceLock::new();
    DET.get_or_init(|| detector(Backend::Lingua, &DetectorOptions::default()).expect("lingua"))
        .as_ref()
}

fn check_invariants(text: &str, query: &str, opts: &FidelityOptions) {
    let f = measure(det(), text, query, opts);
    assert!(
        (0.0..=1.0).contains(&f.confidence),
        "confidence {}",
        f.confidence
    );
    assert!((0.0..=1.0).contains(&f.purity), "purity {}", f.purity);
    assert_eq!(f.code_switch, f.cs_langs.len() >= 2);
    let mut last = 0;
    for s in &f.segments {
        assert!(
            s.start <= s.end && s.end <= text.len(),
            "{s:?} in {} bytes",
            text.len()
        );
        assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        assert!(s.start >= last, "segments out of order");
        last = s.end;
    }
    if f.trace_lang == "unknown" {
        assert_eq!(f.confidence, 0.0);
    }
}

#[test]
fn degenerate_texts_have_defined_answers() {
    let opts = FidelityOptions::default();
    let paper = FidelityOptions::paper();
    for text in [
        "",
        "   \n\n\t ",
        "$x^2 + y^2 = z^2$ \\[\\frac{1}{2}\\] 3 + 4 = 7",
        "1234567890 42 3.14159",
        "😀😀🎉🎉 👍",
        "\u{200B}\u{FEFF}\u{0301}",
        "$$$$$$$$$",
        "\\\\\\\\",
        "}{}{}{",
    ] {
        for o in [&opts, &paper] {
            let f = measure(det(), text, "fr", o);
            assert_eq!(f.trace_lang, "unknown", "{text:?}");
            assert!(
                f.line_pass && f.word_pass && !f.code_switch && f.segments.is_empty(),
                "{text:?}: {f:?}"
            );
            assert_eq!(f.purity, 0.0);
        }
    }
    for text in [
        "Hello 世界 Привет مرحبا สวัสดี 안녕하세요 こんにちは",
        "a",
        "x = 5",
        "ça",
        "日",
    ] {
        check_invariants(text, "ja", &opts);
        check_invariants(text, "ja", &paper);
    }
}

#[test]
fn ten_megabytes_of_one_character() {
    let opts = FidelityOptions::default();
    for c in ['a', '中', 'ก', '$', '\\', '{', '😀', ' ', '\n'] {
        let text: String = std::iter::repeat_n(c, 10_000_000 / c.len_utf8()).collect();
        let t0 = std::time::Instant::now();
        check_invariants(&text, "en", &opts);
        assert_eq!(math_mask(&text).len(), text.len());
        assert!(t0.elapsed().as_secs() < 60, "{c:?} took {:?}", t0.elapsed());
    }
    // The paper preset on a large text (lingua per word): 1 MB is enough.
    let text = "abc ".repeat(250_000);
    check_invariants(&text, "en", &FidelityOptions::paper());
}

#[test]
fn the_fidelity_verb_answers_every_line() {
    let input = concat!(
        r#"{"text": "Les canes de Janet pondent seize œufs par jour, elle en mange trois.", "lang": "fr"}"#,
        "\n",
        r#"{"text": "", "lang": "ja"}"#,
        "\n",
        "not json\n",
        "\n",
        r#"{"text": "hello"}"#,
        "\n",
        r#"{"text": 5, "lang": "fr"}"#,
        "\n",
        r#"{"text": "Bonjour", "lang": "xx"}"#,
        "\n",
        r#"{"text": "lone \ud800 surrogate", "lang": "fr"}"#,
        "\n",
        r#"["an", "array"]"#,
        "\n",
    );
    let mut bytes = input.as_bytes().to_vec();
    bytes.extend_from_slice(b"{\"text\": \"\xff\xfe\", \"lang\": \"fr\"}\n");
    let mut out = Vec::new();
    let stats =
        fidelity_jsonl(&bytes[..], &mut out, det(), &FidelityOptions::default()).expect("io");
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 10);
    assert_eq!(stats.lines, 10);
    assert_eq!(stats.errors, 8);
    let first = &lines[0];
    assert_eq!(first["trace_lang"], "fr");
    assert_eq!(first["line_pass"], true);
    assert_eq!(first["word_pass"], true);
    assert_eq!(first["code_switch"], false);
    assert_eq!(first["cs_langs"], serde_json::json!(["fr"]));
    assert_eq!(first["purity"], 1.0);
    assert_eq!(first["segments"][0][0], "fr");
    for key in [
        "trace_lang",
        "confidence",
        "line_pass",
        "word_pass",
        "code_switch",
        "cs_langs",
        "purity",
        "segments",
    ] {
        assert!(first.get(key).is_some(), "missing {key}");
    }
    assert_eq!(lines[1]["trace_lang"], "unknown");
    for (i, l) in lines.iter().enumerate().skip(2) {
        assert!(l["error"].is_string(), "line {i}: {l}");
    }
}

fn text_strategy() -> impl Strategy<Value = String> {
    // Pieces that exercise every stripping rule and script, glued at random.
    let pieces = prop::sample::select(vec![
        "$",
        "$$",
        "\\(",
        "\\)",
        "\\[",
        "\\]",
        "\\begin{align}",
        "\\end{align}",
        "\\frac{",
        "}",
        "{",
        "\\text{",
        "\\boxed{18}",
        "```",
        "`",
        "\\",
        "\n",
        " ",
        "3,5",
        "12",
        "-",
        "×",
        "π",
        "é",
        "Les canes pondent ",
        "the answer is ",
        "los patos ",
        "日本語の文章です。",
        "鸭子每天下蛋",
        "เป็ดวางไข่",
        "오리는 ",
        "Утки ",
        "😀",
        "\u{0301}",
        "\u{200D}",
        "'",
        "Final Answer: ",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn stripping_keeps_offsets_and_never_grows(text in text_strategy()) {
        let mask = math_mask(&text);
        prop_assert_eq!(mask.len(), text.len());
        // Same line structure; every byte is the original's or a space.
        for (a, b) in text.bytes().zip(mask.bytes()) {
            prop_assert!(a == b || b == b' ');
            prop_assert_eq!(a == b'\n', b == b'\n');
        }
        let stripped = strip_math(&text);
        prop_assert!(stripped.len() <= text.len());
        // Stripping is idempotent on its own output's words.
        prop_assert_eq!(strip_math(&stripped), stripped.clone());
    }

    #[test]
    fn words_survive_stripping(words in prop::collection::vec("[a-zA-Zàéèçœü]{2,10}", 1..12)) {
        let text = words.join(" ");
        prop_assert_eq!(strip_math(&text), text);
    }

    #[test]
    fn measures_are_total(text in text_strategy(), any in "\\PC{0,60}") {
        let t = format!("{text}{any}");
        check_invariants(&t, "fr", &FidelityOptions::default());
        check_invariants(&t, "ja", &FidelityOptions::default());
    }
}
