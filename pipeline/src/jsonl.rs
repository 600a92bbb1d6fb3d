//! Shared plumbing for the line-oriented verbs (`verify`, `fidelity`): one JSON
//! line in, one JSON line out, a bad line answered with an `error` field.

use std::io::{BufRead, Write};

use crate::source::read::{read_line_capped, too_long, Line, MAX_RECORD_BYTES};

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
    input: impl BufRead,
    output: impl Write,
    answer: F,
) -> std::io::Result<LineStats>
where
    F: FnMut(&serde_json::Map<String, serde_json::Value>) -> Result<serde_json::Value, String>,
{
    map_lines_capped(input, output, answer, MAX_RECORD_BYTES)
}

/// [`map_lines`], with lines over `limit` bytes answered with an error
/// (and not held whole).
fn map_lines_capped<F>(
    mut input: impl BufRead,
    mut output: impl Write,
    mut answer: F,
    limit: usize,
) -> std::io::Result<LineStats>
where
    F: FnMut(&serde_json::Map<String, serde_json::Value>) -> Result<serde_json::Value, String>,
{
    let mut stats = LineStats::default();
    let mut buf = Vec::new();
    loop {
        let line = read_line_capped(&mut input, &mut buf, limit)?;
        if line == Line::End {
            break;
        }
        stats.lines += 1;
        let reply = if let Line::TooLong { bytes } = line {
            Err(format!("line {}: {}", stats.lines, too_long(bytes, limit)))
        } else {
            match std::str::from_utf8(&buf) {
                Err(e) => Err(format!("line {}: invalid UTF-8: {e}", stats.lines)),
                Ok(text) => match serde_json::from_str::<serde_json::Value>(text.trim_end()) {
                    Err(e) => Err(format!("line {}: malformed JSON: {e}", stats.lines)),
                    Ok(serde_json::Value::Object(obj)) => answer(&obj),
                    Ok(_) => Err(format!("line {}: not a JSON object", stats.lines)),
                },
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_answered_in_order_and_long_ones_are_not_read() {
        let input = format!(
            "{{\"x\": 1}}\n{{\"x\": \"{}\"}}\nnot json\n\n{{\"x\": 2}}",
            "y".repeat(100)
        );
        let mut out = Vec::new();
        let stats =
            map_lines_capped(input.as_bytes(), &mut out, |obj| Ok(obj["x"].clone()), 64).unwrap();
        assert_eq!(
            stats,
            LineStats {
                lines: 5,
                errors: 3
            }
        );
        let replies: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(replies[0], 1);
        assert_eq!(
            replies[1]["error"],
            "line 2: record of 110 bytes, over the limit of 64 bytes: not read"
        );
        assert!(replies[2]["error"]
            .as_str()
            .unwrap()
            .starts_with("line 3: malformed JSON"));
        assert!(replies[3]["error"]
            .as_str()
            .unwrap()
            .starts_with("line 4: malformed JSON"));
        assert_eq!(replies[4], 2);
    }
}
