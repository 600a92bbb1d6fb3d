//! JSON lines read a batch at a time, as `generate` and `logprobs` take them
//! on stdin: answers start before the input ends, memory holds one batch, and
//! a bad line (not JSON, not UTF-8, absurdly long) becomes an error for that
//! line instead of ending the run.

use std::io::{self, BufRead, Read};

use serde::de::DeserializeOwned;

/// The longest line read (as the pipeline's record limit); a longer one is
/// answered with an error, and no more than this of it is held in memory.
pub const MAX_LINE_BYTES: usize = 256 << 20;

/// Batches of parsed lines from a reader. Blank lines are skipped.
pub struct Batches<R> {
    reader: R,
    size: usize,
    limit: usize,
    line: Vec<u8>,
}

impl<R: BufRead> Batches<R> {
    /// Batches of `size` lines (at least one).
    pub fn new(reader: R, size: usize) -> Self {
        Self::with_limit(reader, size, MAX_LINE_BYTES)
    }

    /// [`Batches::new`] with another longest line.
    pub fn with_limit(reader: R, size: usize, limit: usize) -> Self {
        Batches {
            reader,
            size: size.max(1),
            limit,
            line: Vec::new(),
        }
    }

    /// The next batch: each line parsed, or the reason it could not be.
    /// Empty at the end of the input; an error only when reading fails.
    pub fn next_batch<T: DeserializeOwned>(&mut self) -> io::Result<Vec<Result<T, String>>> {
        let mut batch = Vec::with_capacity(self.size);
        while batch.len() < self.size {
            self.line.clear();
            let cap = self.limit as u64 + 1;
            if (&mut self.reader)
                .take(cap)
                .read_until(b'\n', &mut self.line)?
                == 0
            {
                break;
            }
            if self.line.len() > self.limit && self.line.last() != Some(&b'\n') {
                skip_rest_of_line(&mut self.reader)?;
                batch.push(Err(format!(
                    "input line longer than {} bytes: not read",
                    self.limit
                )));
                continue;
            }
            if self.line.trim_ascii().is_empty() {
                continue;
            }
            batch.push(
                serde_json::from_slice(&self.line).map_err(|e| format!("invalid input line: {e}")),
            );
        }
        Ok(batch)
    }
}

/// Consumes the reader up to and including the next line break.
fn skip_rest_of_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Line {
        text: String,
    }

    fn batches(input: &[u8], size: usize, limit: usize) -> Vec<Vec<Result<Line, String>>> {
        let mut reader = Batches::with_limit(input, size, limit);
        let mut out = Vec::new();
        loop {
            let batch = reader.next_batch::<Line>().unwrap();
            if batch.is_empty() {
                return out;
            }
            out.push(batch);
        }
    }

    fn text(s: &str) -> Result<Line, String> {
        Ok(Line { text: s.into() })
    }

    #[test]
    fn lines_come_in_batches_and_blank_lines_are_skipped() {
        let input = b"{\"text\":\"a\"}\n\n  \n{\"text\":\"b\"}\n{\"text\":\"c\"}";
        let got = batches(input, 2, 100);
        assert_eq!(got, vec![vec![text("a"), text("b")], vec![text("c")]]);
    }

    #[test]
    fn bad_lines_are_errors_in_their_place() {
        let mut input = b"{\"text\":\"a\"}\nnot json\n{\"text\":\"\xff\"}\n".to_vec();
        input.extend(format!("{{\"text\":\"{}\"}}\n", "x".repeat(50)).as_bytes());
        input.extend(b"{\"text\":\"z\"}\n");
        let got = batches(&input, 10, 40);
        assert_eq!(got.len(), 1);
        let got = &got[0];
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[0], text("a"));
        assert!(got[1]
            .as_ref()
            .unwrap_err()
            .starts_with("invalid input line"));
        assert!(got[2]
            .as_ref()
            .unwrap_err()
            .starts_with("invalid input line"));
        assert_eq!(
            got[3].as_ref().unwrap_err(),
            "input line longer than 40 bytes: not read"
        );
        assert_eq!(got[4], text("z"));
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_read() {
        let line = format!("{{\"text\":\"{}\"}}", "y".repeat(20));
        let input = format!("{line}\n{line}");
        let got = batches(input.as_bytes(), 5, line.len());
        assert_eq!(
            got,
            vec![vec![text(&"y".repeat(20)), text(&"y".repeat(20))]]
        );
    }
}
