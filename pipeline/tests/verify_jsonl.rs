//! `verify_jsonl` (the `adamame-data verify` verb) and the configuration knobs.

use adamame_pipeline::verify::{check_with, verify_jsonl, Reason, VerifyConfig};

fn run(
    input: &str,
    cfg: &VerifyConfig,
) -> (Vec<serde_json::Value>, adamame_pipeline::jsonl::LineStats) {
    let mut out = Vec::new();
    let stats = verify_jsonl(input.as_bytes(), &mut out, cfg).expect("io");
    let text = String::from_utf8(out).expect("utf8");
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("output json"))
        .collect();
    (lines, stats)
}

#[test]
fn one_line_out_per_line_in() {
    let input = concat!(
        r#"{"gold": "18", "response": "so \\boxed{18} dollars"}"#,
        "\n",
        r#"{"gold": 18, "response": "Ответ: 18"}"#,
        "\n",
        r#"{"gold": 0.5, "response": "\\boxed{\\frac{1}{2}}"}"#,
        "\n",
        "not json\n",
        "\n",
        r#"{"gold": "5"}"#,
        "\n",
        r#"{"gold": [1], "response": "1"}"#,
        "\n",
        r#"{"gold": "7", "response": "\\boxed{8}"}"#,
        "\n",
        r#"{"gold": "1,000", "response": "La réponse est 1 000."}"#,
        "\n",
        r#"{"gold": -3, "response": 5}"#,
    );
    let (lines, stats) = run(input, &VerifyConfig::default());
    assert_eq!(stats.lines, 10);
    assert_eq!(lines.len(), 10);
    assert_eq!(stats.errors, 5);
    assert_eq!(lines[0]["correct"], true);
    assert_eq!(lines[0]["extracted"], "18");
    assert_eq!(lines[0]["normalized"], "18");
    assert_eq!(lines[0]["reason"], "equal");
    assert_eq!(lines[1]["correct"], true, "{}", lines[1]);
    assert_eq!(lines[2]["correct"], true, "{}", lines[2]);
    assert!(lines[3]["error"]
        .as_str()
        .unwrap_or_default()
        .contains("malformed JSON"));
    assert!(lines[4]["error"].is_string());
    assert!(lines[5]["error"]
        .as_str()
        .unwrap_or_default()
        .contains("response"));
    assert!(lines[6]["error"]
        .as_str()
        .unwrap_or_default()
        .contains("gold"));
    assert_eq!(lines[7]["correct"], false);
    assert_eq!(lines[7]["reason"], "not_equal");
    assert_eq!(lines[8]["correct"], true);
    assert!(lines[9]["error"]
        .as_str()
        .unwrap_or_default()
        .contains("response"));
    for l in &lines {
        assert!(
            l.get("error").is_some()
                || (l.get("extracted").is_some()
                    && l.get("normalized").is_some()
                    && l.get("correct").is_some())
        );
    }
}

#[test]
fn number_words_are_opt_in() {
    let off = VerifyConfig::default();
    let on = VerifyConfig {
        number_words: true,
        ..VerifyConfig::default()
    };
    for (gold, resp) in [
        ("15", "La réponse est quinze."),
        ("16", "\\boxed{Seize}"),
        ("3", "La respuesta es tres."),
        ("20", "The answer is twenty."),
        ("21", "The answer is twenty-one."),
        ("21", "La réponse est vingt et un."),
        ("12", "Die Antwort ist zwölf."),
        ("5", "Ответ: пять."),
    ] {
        assert!(!check_with(gold, resp, &off).correct, "{resp}");
        assert!(check_with(gold, resp, &on).correct, "{resp}");
    }
    // digits still win over words after a cue
    assert!(check_with("4", "The answer is 4 (four).", &on).correct);
}

#[test]
fn percent_configuration() {
    let both = VerifyConfig::default();
    let fraction_only = VerifyConfig {
        percent_face_value: false,
        ..VerifyConfig::default()
    };
    let face_only = VerifyConfig {
        percent_as_fraction: false,
        ..VerifyConfig::default()
    };
    assert!(check_with("0.1", "\\boxed{10\\%}", &both).correct);
    assert!(check_with("10", "\\boxed{10\\%}", &both).correct);
    assert!(check_with("0.1", "\\boxed{10\\%}", &fraction_only).correct);
    assert!(!check_with("10", "\\boxed{10\\%}", &fraction_only).correct);
    assert!(check_with("10", "\\boxed{10\\%}", &face_only).correct);
    assert!(!check_with("0.1", "\\boxed{10\\%}", &face_only).correct);
}

#[test]
fn float_digits_configuration() {
    let six = VerifyConfig::default();
    let three = VerifyConfig {
        float_sig_digits: 3,
        float_rel_tol: 0.0,
        ..VerifyConfig::default()
    };
    assert!(!check_with("1/3", "\\boxed{0.333}", &six).correct);
    assert!(check_with("1/3", "\\boxed{0.333}", &three).correct);
    assert!(check_with("\\sqrt{2}", "\\boxed{1.41421}", &six).correct);
    assert!(!check_with("\\sqrt{2}", "\\boxed{1.414}", &six).correct);
}

#[test]
fn math_verify_like_extraction() {
    let long = "We add the numbers step by step, carrying as needed, and after checking each partial sum twice \
                against the original statement of the problem we arrive at the total of 42 apples in the basket";
    assert_eq!(
        check_with("42", long, &VerifyConfig::default()).reason,
        Reason::NoAnswer
    );
    assert!(check_with("42", long, &VerifyConfig::math_verify_like()).correct);
    let cues_off = VerifyConfig {
        answer_cues: false,
        short_answer_chars: 0,
        ..VerifyConfig::default()
    };
    assert!(!check_with("42", "Some text here. The answer is 42.", &cues_off).correct);
}

#[test]
fn budget_configuration() {
    let tight = VerifyConfig {
        budget: adamame_pipeline::verify::Budget {
            max_depth: 8,
            ..Default::default()
        },
        ..VerifyConfig::default()
    };
    let deep = format!("\\boxed{{{}5{}}}", "{".repeat(30), "}".repeat(30));
    assert_eq!(
        check_with("5", &deep, &tight).reason,
        Reason::BudgetExceeded
    );
    assert!(check_with("5", &deep, &VerifyConfig::default()).correct);
}
