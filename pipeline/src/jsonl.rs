//! Shared plumbing for the line-oriented verbs (`verify`, `fidelity`): one JSON
//! line in, one JSON line out, a bad line answered with an `error` field.

use std::io::{BufRead, Write};

/// What a line-oriented verb saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineStats {
    pub lines: usize,
    pub errors: usize,
}

/// Reads `input` line by line (invalid UTF-8 is an error for that line only),
/// answers each with `answer(parsed_object)` or `{"error": ...}`, and keeps the
/// order and count of the input lines. Blank lines are answered too, so that
/// output line *i* always belongs to input line *i*.
pub fn map_lines<F>(
    mut input: impl BufRead,
    mut output: impl Write,
    mut answer: F,
) -> std::io::Result<LineStats>
where
    F: FnMut(&serde_json::Map<String, serde_json::Value>) -> Result<serde_json::Value, String>,
{
    let mut stats = LineStats::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        stats.lines += 1;
        let reply = match std::str::from_utf8(&buf) {
            Err(e) => Err(format!("line {}: invalid UTF-8: {e}", stats.lines)),
            Ok(text) => match serde_json::from_str::<serde_json::Value>(text.trim_end()) {
                Err(e) => Err(format!("line {}: malformed JSON: {e}", stats.lines)),
                Ok(serde_json::Value::Object(obj)) => answer(&obj),
                Ok(_) => Err(format!("line {}: not a JSON object", stats.lines)),
            },
        };
        let value = reply.unwrap_or_else(|e| {
            stats.errors += 1;
            serde_json::json!({ "error": e })
        });
        serde_json::to_writer(&mut output, &value)?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(stats)
}

/// A required string field of a JSON object, or an error naming it.
pub fn str_field<'a>(
    obj: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<&'a str, String> {
    match obj.get(name) {
        Some(serde_json::Value::String(s)) => Ok(s),
        Some(_) => Err(format!("field `{name}` must be a string")),
        None => Err(format!("missing field `{name}`")),
    }
}
