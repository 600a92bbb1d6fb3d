//! Format presets: where the question, gold answer, responses and query
//! language live in each input format, and `auto`, which decides from the
//! fields of a file's first record.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

/// A record reduced to what the pipeline needs.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub question: String,
    pub gold: String,
    /// Candidate responses; one output row per candidate.
    pub responses: Vec<String>,
    pub lang: Option<String>,
}

/// Input format presets (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Auto,
    /// s1 transcripts: `language`, `prompt`, `output`, `gold_answer`.
    S1,
    /// verl RL rows: `prompt[0].content`, `reward_model.ground_truth`, `lang`.
    Verl,
    /// LLaMA-Factory alpaca: `instruction`, `input`, `output` (+ a gold field).
    LlamaFactory,
    /// Chat lists: `messages` (or `conversations`), optional `reasoning_content`.
    Messages,
    /// MGSM TSV: question TAB answer, no header.
    Mgsm,
    /// MGSM-Rev2 JSON lines: `question`, `answer`.
    MgsmRev2,
    /// MSVAMP JSON lines: `m_query`, `response`.
    Msvamp,
    /// Our own generation format: `question`, `gold`, `lang`, `candidates`.
    Adamame,
}

impl Format {
    pub const NAMES: &'static [&'static str] = &[
        "auto",
        "s1",
        "verl",
        "llamafactory",
        "messages",
        "mgsm",
        "mgsm-rev2",
        "msvamp",
        "adamame",
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::S1 => "s1",
            Format::Verl => "verl",
            Format::LlamaFactory => "llamafactory",
            Format::Messages => "messages",
            Format::Mgsm => "mgsm",
            Format::MgsmRev2 => "mgsm-rev2",
            Format::Msvamp => "msvamp",
            Format::Adamame => "adamame",
        }
    }

    /// Decides the format of a file from its first record's fields.
    pub fn detect(first: &Map<String, Value>) -> Option<Format> {
        let has = |k: &str| first.contains_key(k);
        if has("output") && has("prompt") && has("gold_answer") {
            Some(Format::S1)
        } else if has("reward_model") && has("prompt") {
            Some(Format::Verl)
        } else if has("messages") || has("conversations") {
            Some(Format::Messages)
        } else if has("instruction") && has("output") {
            Some(Format::LlamaFactory)
        } else if has("m_query") && has("response") {
            Some(Format::Msvamp)
        } else if has("question") && RESPONSE_FIELDS.iter().any(|f| has(f)) {
            Some(Format::Adamame)
        } else if has("question") && ["answer", "gold", "gold_answer"].iter().any(|f| has(f)) {
            // A question set: MGSM-Rev2, GSM8K, a curated output, your own.
            Some(Format::MgsmRev2)
        } else {
            None
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let all = [
            Format::Auto,
            Format::S1,
            Format::Verl,
            Format::LlamaFactory,
            Format::Messages,
            Format::Mgsm,
            Format::MgsmRev2,
            Format::Msvamp,
            Format::Adamame,
        ];
        all.into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown format `{s}` (one of {})", Format::NAMES.join(", ")))
    }
}

/// Field names that hold responses in the generic format, in order of preference.
const RESPONSE_FIELDS: &[&str] = &[
    "candidates",
    "responses",
    "response",
    "generations",
    "output",
];
const GOLD_FIELDS: &[&str] = &["gold", "gold_answer", "answer", "ground_truth", "solution"];

/// `--map name=FIELD` overrides: dotted paths into nested objects (`a.b`,
/// `messages.0.content`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap {
    pub question: Option<String>,
    pub response: Option<String>,
    pub gold: Option<String>,
    pub lang: Option<String>,
}

impl FieldMap {
    /// Parses one `name=FIELD` argument into the map.
    pub fn set(&mut self, arg: &str) -> Result<(), String> {
        let (name, field) = arg
            .split_once('=')
            .ok_or_else(|| format!("--map `{arg}`: expected NAME=FIELD"))?;
        let slot = match name.trim() {
            "question" => &mut self.question,
            "response" | "responses" | "candidates" => &mut self.response,
            "gold" | "answer" => &mut self.gold,
            "lang" | "language" => &mut self.lang,
            other => {
                return Err(format!(
                    "--map `{arg}`: unknown name `{other}` (question, response, gold, lang)"
                ))
            }
        };
        *slot = Some(field.trim().to_string());
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self == &FieldMap::default()
    }
}

/// Follows a dotted path (`reward_model.ground_truth`, `prompt.0.content`).
pub fn get_path<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut cur = obj.get(parts.next()?)?;
    for part in parts {
        cur = match cur {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// A scalar field as text: strings as they are, numbers as JSON writes them.
fn text_of(v: &Value, field: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!(
            "field `{field}` must be a string, found {}",
            super::read::json_kind(other)
        )),
    }
}

fn required_text(obj: &Map<String, Value>, path: &str) -> Result<String, String> {
    let v = get_path(obj, path).ok_or_else(|| format!("missing field `{path}`"))?;
    text_of(v, path)
}

fn first_present<'a>(obj: &Map<String, Value>, names: &[&'a str]) -> Option<&'a str> {
    names.iter().copied().find(|n| obj.contains_key(*n))
}

/// A response field: a list of strings (or chat messages) is one candidate
/// each; a plain string is one candidate, except in fields whose name says
/// they hold a list.
fn responses_of(v: &Value, field: &str) -> Result<Vec<String>, String> {
    let list_field = matches!(field, "candidates" | "responses" | "generations");
    match v {
        Value::String(_) if list_field => Err(format!(
            "field `{field}` must be a list of strings, found a string"
        )),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(format!("field `{field}` is an empty list"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    // Chat-style candidates: {"content": ..., "reasoning_content": ...}
                    Value::Object(m) => message_text(m)
                        .ok_or_else(|| format!("field `{field}[{i}]` has no `content`")),
                    other => Err(format!(
                        "field `{field}[{i}]` must be a string, found {}",
                        super::read::json_kind(other)
                    )),
                })
                .collect()
        }
        other => Err(format!(
            "field `{field}` must be a string or a list of strings, found {}",
            super::read::json_kind(other)
        )),
    }
}

/// An assistant message as one response; `reasoning_content` becomes the
/// `<think>` part.
fn message_text(m: &Map<String, Value>) -> Option<String> {
    let content = m.get("content").or_else(|| m.get("value"))?.as_str()?;
    Some(match m.get("reasoning_content").and_then(Value::as_str) {
        Some(r) if !r.is_empty() => format!("<think>\n{r}\n</think>\n\n{content}"),
        _ => content.to_string(),
    })
}

fn optional_lang(obj: &Map<String, Value>, paths: &[&str]) -> Option<String> {
    paths
        .iter()
        .find_map(|p| get_path(obj, p).and_then(Value::as_str))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Maps one input object to a [`RawRecord`] with the given format (never
/// `Auto`: that is resolved per file first) and `--map` overrides.
pub fn map_record(
    format: Format,
    overrides: &FieldMap,
    obj: &Map<String, Value>,
) -> Result<RawRecord, String> {
    map_with(format, overrides, obj, true)
}

/// Like [`map_record`] for question/gold sets: responses are read when
/// present and not required.
pub fn map_question(
    format: Format,
    overrides: &FieldMap,
    obj: &Map<String, Value>,
) -> Result<RawRecord, String> {
    map_with(format, overrides, obj, false)
}

fn map_with(
    format: Format,
    overrides: &FieldMap,
    obj: &Map<String, Value>,
    responses_required: bool,
) -> Result<RawRecord, String> {
    let mut rec = preset(format, overrides, obj, responses_required)?;
    if let Some(path) = &overrides.question {
        rec.question = required_text(obj, path)?;
    }
    if let Some(path) = &overrides.gold {
        rec.gold = required_text(obj, path)?;
    }
    if let Some(path) = &overrides.response {
        let v = get_path(obj, path).ok_or_else(|| format!("missing field `{path}`"))?;
        rec.responses = responses_of(v, path)?;
    }
    if !responses_required && overrides.response.is_none() {
        // Question sets: whatever responses a preset found are beside the point.
        rec.responses.clear();
    }
    if let Some(path) = &overrides.lang {
        rec.lang = Some(required_text(obj, path)?.trim().to_string());
    }
    if rec.question.trim().is_empty() {
        return Err("empty question".into());
    }
    rec.gold = final_answer_of(&rec.gold);
    if rec.gold.trim().is_empty() {
        return Err("empty gold answer".into());
    }
    Ok(rec)
}

/// A GSM8K-style gold (`worked solution\n#### 72`) is its final answer.
fn final_answer_of(gold: &str) -> String {
    match gold.rsplit_once("####") {
        Some((_, answer)) => answer.trim().to_string(),
        None => gold.to_string(),
    }
}

/// What a preset reads. Fields that `--map` overrides are not required here.
fn preset(
    format: Format,
    o: &FieldMap,
    obj: &Map<String, Value>,
    responses_required: bool,
) -> Result<RawRecord, String> {
    // A field is only required from the preset when no override supplies it.
    let need = |over: &Option<String>, path: &str| -> Result<String, String> {
        match over {
            Some(_) => Ok(String::new()),
            None => required_text(obj, path),
        }
    };
    let need_responses = |over: &Option<String>, path: &str| -> Result<Vec<String>, String> {
        match over {
            Some(_) => Ok(Vec::new()),
            None if !responses_required => Ok(Vec::new()),
            None => {
                let v = get_path(obj, path).ok_or_else(|| format!("missing field `{path}`"))?;
                responses_of(v, path)
            }
        }
    };
    let no_responses = |over: &Option<String>| -> Result<Vec<String>, String> {
        match over {
            Some(_) => Ok(Vec::new()),
            None if !responses_required => Ok(Vec::new()),
            None => Err("no response field: this format holds questions only (use --map response=FIELD, or `adamame-data prompts`)".into()),
        }
    };
    match format {
        Format::Auto => Err("internal: format `auto` must be resolved per file".into()),
        Format::S1 => Ok(RawRecord {
            question: need(&o.question, "prompt")?,
            gold: need(&o.gold, "gold_answer")?,
            responses: need_responses(&o.response, "output")?,
            lang: optional_lang(obj, &["language", "lang"]),
        }),
        Format::Verl => {
            let question = match &o.question {
                Some(_) => String::new(),
                None => verl_question(&required_text(obj, "prompt.0.content")?),
            };
            let responses = match first_present(obj, RESPONSE_FIELDS) {
                Some(f) if o.response.is_none() => need_responses(&None, f)?,
                _ => no_responses(&o.response)?,
            };
            Ok(RawRecord {
                question,
                gold: need(&o.gold, "reward_model.ground_truth")?,
                responses,
                lang: optional_lang(obj, &["lang", "reward_model.lang"]),
            })
        }
        Format::LlamaFactory => {
            let question = match &o.question {
                Some(_) => String::new(),
                None => {
                    let instruction = required_text(obj, "instruction")?;
                    match get_path(obj, "input").and_then(Value::as_str) {
                        Some(input) if !input.trim().is_empty() => {
                            format!("{instruction}\n\n{input}")
                        }
                        _ => instruction,
                    }
                }
            };
            let gold_field = first_present(obj, GOLD_FIELDS).unwrap_or("gold");
            Ok(RawRecord {
                question,
                gold: need(&o.gold, gold_field)?,
                responses: need_responses(&o.response, "output")?,
                lang: optional_lang(obj, &["lang", "language"]),
            })
        }
        Format::Messages => messages_record(o, obj),
        Format::Mgsm | Format::MgsmRev2 => Ok(RawRecord {
            question: need(&o.question, "question")?,
            // A curated output has both: `gold`, and the model's `answer`.
            gold: need(
                &o.gold,
                first_present(obj, &["gold", "gold_answer"]).unwrap_or("answer"),
            )?,
            responses: no_responses(&o.response)?,
            lang: optional_lang(obj, &["lang", "language", "query_lang"]),
        }),
        Format::Msvamp => Ok(RawRecord {
            question: need(&o.question, "m_query")?,
            gold: need(&o.gold, "response")?,
            responses: no_responses(&o.response)?,
            lang: optional_lang(obj, &["lang", "language"]),
        }),
        Format::Adamame => {
            let response_field = first_present(obj, RESPONSE_FIELDS).unwrap_or("candidates");
            let gold_field = first_present(obj, GOLD_FIELDS).unwrap_or("gold");
            Ok(RawRecord {
                question: need(&o.question, "question")?,
                gold: need(&o.gold, gold_field)?,
                responses: need_responses(&o.response, response_field)?,
                lang: optional_lang(obj, &["lang", "language", "query_lang"]),
            })
        }
    }
}

/// A verl prompt is `instruction \n\n question`; the question is what follows
/// the first blank line when the first paragraph asks for `\boxed{}`.
pub fn verl_question(content: &str) -> String {
    match content.split_once("\n\n") {
        Some((first, rest)) if first.contains("\\boxed") && !rest.trim().is_empty() => {
            rest.to_string()
        }
        _ => content.to_string(),
    }
}

fn messages_record(o: &FieldMap, obj: &Map<String, Value>) -> Result<RawRecord, String> {
    let field = if obj.contains_key("messages") {
        "messages"
    } else {
        "conversations"
    };
    let list = match obj.get(field) {
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(format!(
                "field `{field}` must be a list, found {}",
                super::read::json_kind(other)
            ))
        }
        None => return Err(format!("missing field `{field}`")),
    };
    let role_of = |m: &Map<String, Value>| {
        m.get("role")
            .or_else(|| m.get("from"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut question = None;
    let mut answer = None;
    for (i, m) in list.iter().enumerate() {
        let m = m
            .as_object()
            .ok_or_else(|| format!("`{field}[{i}]` is not an object"))?;
        match role_of(m).as_str() {
            "user" | "human" => question = m.get("content").or_else(|| m.get("value")),
            "assistant" | "gpt" => answer = Some(m),
            _ => {}
        }
    }
    let question = match (&o.question, question) {
        (Some(_), _) => String::new(),
        (None, Some(q)) => text_of(q, "user content")?,
        (None, None) => return Err(format!("`{field}` has no user message")),
    };
    let responses = match (&o.response, answer) {
        (Some(_), _) => Vec::new(),
        (None, Some(m)) => vec![message_text(m).ok_or("assistant message has no `content`")?],
        (None, None) => return Err(format!("`{field}` has no assistant message")),
    };
    let gold = match &o.gold {
        Some(_) => String::new(),
        None => {
            let f = first_present(obj, GOLD_FIELDS).ok_or(
                "no gold answer field (gold, answer, ground_truth, ...; or --map gold=FIELD)",
            )?;
            required_text(obj, f)?
        }
    };
    Ok(RawRecord {
        question,
        gold,
        responses,
        lang: optional_lang(obj, &["lang", "language"]),
    })
}

/// The query language implied by a file name: `mgsm_fr.tsv`, `fr.jsonl`,
/// `test_French.jsonl`, `train-ja.parquet`.
pub fn lang_from_file_name(path: &std::path::Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().to_lowercase();
    let stem = name.split('.').next()?;
    let parts: Vec<&str> = stem.split(['_', '-']).collect();
    for part in parts.iter().rev() {
        if let Some(code) = crate::lang::lang_from_name(part) {
            return Some(code.to_string());
        }
        if let Some(code) = crate::lang::SUPPORTED_LANGUAGES.iter().find(|c| *c == part) {
            return Some(code.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn detects_each_preset_from_fields() {
        let cases = [
            (
                json!({"language": "fr", "prompt": "q", "output": "o", "gold_answer": "1"}),
                Format::S1,
            ),
            (
                json!({"prompt": [{"role": "user", "content": "q"}], "reward_model": {}}),
                Format::Verl,
            ),
            (
                json!({"instruction": "q", "input": "", "output": "o"}),
                Format::LlamaFactory,
            ),
            (json!({"messages": []}), Format::Messages),
            (json!({"m_query": "q", "response": "8.0"}), Format::Msvamp),
            (
                json!({"question": "q", "answer": "1", "replaced": false}),
                Format::MgsmRev2,
            ),
            (
                json!({"question": "q", "gold": "1", "candidates": []}),
                Format::Adamame,
            ),
        ];
        for (v, want) in cases {
            assert_eq!(Format::detect(&obj(v.clone())), Some(want), "{v}");
        }
        assert_eq!(Format::detect(&obj(json!({"foo": 1}))), None);
    }

    #[test]
    fn s1_maps_transcript_and_gold() {
        let rec = map_record(
            Format::S1,
            &FieldMap::default(),
            &obj(
                json!({"language": "FR", "prompt": "Combien ?", "output": "x", "gold_answer": 18}),
            ),
        )
        .unwrap();
        assert_eq!(rec.question, "Combien ?");
        assert_eq!(rec.gold, "18");
        assert_eq!(rec.responses, vec!["x".to_string()]);
        // As the data spells it: `Records` turns it into the ISO 639-1 code.
        assert_eq!(rec.lang.as_deref(), Some("FR"));
    }

    #[test]
    fn question_sets_in_their_usual_shapes() {
        let read = |v: Value| {
            let o = obj(v);
            let format = Format::detect(&o).unwrap();
            map_question(format, &FieldMap::default(), &o).unwrap()
        };
        let gsm8k = read(json!({"question": "Q", "answer": "3 + 4 = <<3+4=7>>7\n#### 7"}));
        assert_eq!(gsm8k.gold, "7");
        let own = read(json!({"question": "Q", "gold": "12", "lang": "fr"}));
        assert_eq!((own.gold.as_str(), own.lang.as_deref()), ("12", Some("fr")));
        // A curated output: the gold, not the model's answer.
        let curated = read(
            json!({"question": "Q", "gold": "18", "answer": "\\boxed{17}", "query_lang": "ko"}),
        );
        assert_eq!(
            (curated.gold.as_str(), curated.lang.as_deref()),
            ("18", Some("ko"))
        );
        // Built on, a question set is malformed with a reason, not lost.
        let o = obj(json!({"question": "Q", "gold": "12"}));
        let err = map_record(Format::detect(&o).unwrap(), &FieldMap::default(), &o).unwrap_err();
        assert!(err.starts_with("no response field"), "{err}");
    }

    #[test]
    fn verl_strips_the_instruction() {
        let v = json!({"prompt": [{"role": "user", "content": "Réfléchis et mets \\boxed{}.\n\nQuestion ?"}],
                       "reward_model": {"ground_truth": "5", "lang": "fr"}, "lang": "fr", "responses": ["a", "b"]});
        let rec = map_record(Format::Verl, &FieldMap::default(), &obj(v)).unwrap();
        assert_eq!(rec.question, "Question ?");
        assert_eq!(rec.responses.len(), 2);
    }

    #[test]
    fn messages_join_reasoning_content() {
        let v = json!({"messages": [{"role": "user", "content": "Q"},
                        {"role": "assistant", "content": "\\boxed{2}", "reasoning_content": "1+1"}],
                       "answer": "2"});
        let rec = map_record(Format::Messages, &FieldMap::default(), &obj(v)).unwrap();
        assert_eq!(
            rec.responses,
            vec!["<think>\n1+1\n</think>\n\n\\boxed{2}".to_string()]
        );
        assert_eq!(rec.gold, "2");
    }

    #[test]
    fn errors_name_the_field() {
        let err = map_record(
            Format::Adamame,
            &FieldMap::default(),
            &obj(json!({"question": "q", "gold": {"x": 1}, "candidates": ["a"]})),
        )
        .unwrap_err();
        assert_eq!(err, "field `gold` must be a string, found an object");
        let err = map_record(
            Format::Adamame,
            &FieldMap::default(),
            &obj(json!({"question": "q", "gold": "1", "candidates": "a"})),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "field `candidates` must be a list of strings, found a string"
        );
        let one = map_record(
            Format::Adamame,
            &FieldMap::default(),
            &obj(json!({"question": "q", "gold": "1", "response": "a"})),
        );
        assert_eq!(
            one.map(|r| r.responses.len()),
            Ok(1),
            "a single response string is one candidate"
        );
        let err = map_record(
            Format::Adamame,
            &FieldMap::default(),
            &obj(json!({"gold": "1", "candidates": ["a"]})),
        )
        .unwrap_err();
        assert_eq!(err, "missing field `question`");
    }

    #[test]
    fn explicit_map_follows_dotted_paths() {
        let mut map = FieldMap::default();
        for arg in [
            "question=q.text",
            "response=gen.0",
            "gold=meta.gold",
            "lang=meta.lang",
        ] {
            map.set(arg).unwrap();
        }
        let v = json!({"q": {"text": "Q"}, "gen": ["R0", "R1"], "meta": {"gold": 3, "lang": "ja"}});
        let rec = map_record(Format::Adamame, &map, &obj(v)).unwrap();
        assert_eq!(
            rec,
            RawRecord {
                question: "Q".into(),
                gold: "3".into(),
                responses: vec!["R0".into()],
                lang: Some("ja".into())
            }
        );
        assert!(map.set("bogus=x").is_err());
    }

    #[test]
    fn language_from_file_names() {
        use std::path::Path;
        assert_eq!(
            lang_from_file_name(Path::new("mgsm_fr.tsv")).as_deref(),
            Some("fr")
        );
        assert_eq!(
            lang_from_file_name(Path::new("d/test_French.jsonl")).as_deref(),
            Some("fr")
        );
        assert_eq!(
            lang_from_file_name(Path::new("th.jsonl")).as_deref(),
            Some("th")
        );
        assert_eq!(lang_from_file_name(Path::new("data.jsonl")), None);
    }
}
