//! Splitting a response into its reasoning trace and its final answer.

/// Where a response's reasoning ends and its answer begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitRule {
    /// `<think>…</think>answer`.
    ThinkTags,
    /// Transcript markers (`<|im_start|>think` … `<|im_start|>answer` …).
    Markers,
    /// The release's fallback: the answer is what follows the last blank line.
    LastBlankLine,
}

impl SplitRule {
    pub fn name(self) -> &'static str {
        match self {
            SplitRule::ThinkTags => "think_tags",
            SplitRule::Markers => "markers",
            SplitRule::LastBlankLine => "last_blank_line",
        }
    }
}

/// Transcript markers (configurable: `--think-marker`, `--answer-marker`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Markers {
    pub think: String,
    pub answer: String,
    /// End-of-turn tokens removed from the end of both parts.
    pub end_of_turn: Vec<String>,
}

impl Default for Markers {
    fn default() -> Self {
        Markers {
            think: "<|im_start|>think".into(),
            answer: "<|im_start|>answer".into(),
            end_of_turn: vec![
                "<|im_end|>".into(),
                "<|endoftext|>".into(),
                "<｜end▁of▁sentence｜>".into(),
            ],
        }
    }
}

/// A response split into its parts (slices of the response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    pub reasoning: &'a str,
    pub answer: &'a str,
    pub rule: SplitRule,
}

/// Why a response has no answer part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoAnswer {
    /// `<think>` opened, never closed: a trace cut at the token budget.
    UnclosedThink,
    /// A think marker with no answer marker after it.
    NoAnswerMarker,
    /// Closed reasoning with nothing after it.
    EmptyAnswer,
    /// No tags, no markers and no blank line to split at.
    NoSeparator,
}

impl NoAnswer {
    pub fn detail(self) -> &'static str {
        match self {
            NoAnswer::UnclosedThink => "<think> is never closed (truncated trace?)",
            NoAnswer::NoAnswerMarker => "think marker without an answer marker or a blank line to split at (truncated trace?)",
            NoAnswer::EmptyAnswer => "nothing after the reasoning",
            NoAnswer::NoSeparator => "no </think>, no transcript marker and no blank line to split at",
        }
    }
}

/// `str::find` with SIMD (a response is searched for tags three or four
/// times). A UTF-8 needle only matches at character boundaries.
fn find(haystack: &str, needle: &str) -> Option<usize> {
    memchr::memmem::find(haystack.as_bytes(), needle.as_bytes())
}

/// `str::rfind`, as [`find`]: `memrchr` to each earlier occurrence of the
/// needle's last byte (memmem's reverse search has no SIMD, and an s1
/// response is searched to its start for a `</think>` it does not have).
fn rfind(haystack: &str, needle: &str) -> Option<usize> {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    let Some(&last) = needle.last() else {
        return Some(haystack.len());
    };
    let mut end = haystack.len();
    while let Some(i) = memchr::memrchr(last, &haystack[..end]) {
        if let Some(start) = (i + 1).checked_sub(needle.len()) {
            if &haystack[start..=i] == needle {
                return Some(start);
            }
        }
        end = i;
    }
    None
}

/// Splits a response: think tags first, then transcript markers, then the
/// last blank line.
pub fn split<'a>(response: &'a str, markers: &Markers) -> Result<Split<'a>, NoAnswer> {
    if let Some(close) = rfind(response, "</think>") {
        let before = &response[..close];
        let reasoning = match rfind(before, "<think>") {
            Some(open) => &before[open + "<think>".len()..],
            None => before,
        };
        let answer = strip_end_of_turn(&response[close + "</think>".len()..], markers);
        return non_empty(reasoning, answer, SplitRule::ThinkTags);
    }
    if find(response, "<think>").is_some() {
        return Err(NoAnswer::UnclosedThink);
    }
    if let Some(t) = find(response, &markers.think).filter(|_| !markers.think.is_empty()) {
        let after_think = &response[t + markers.think.len()..];
        let Some(a) = find(after_think, &markers.answer).filter(|_| !markers.answer.is_empty())
        else {
            // No answer marker: the release's fallback, within the thinking part.
            let body = strip_end_of_turn(after_think, markers).trim_end();
            return match rfind(body, "\n\n") {
                Some(at) => non_empty(&body[..at], &body[at + 2..], SplitRule::LastBlankLine),
                None => Err(NoAnswer::NoAnswerMarker),
            };
        };
        let reasoning = strip_end_of_turn(&after_think[..a], markers);
        let answer = strip_end_of_turn(&after_think[a + markers.answer.len()..], markers);
        return non_empty(reasoning, answer, SplitRule::Markers);
    }
    let trimmed = response.trim_end();
    match rfind(trimmed, "\n\n") {
        Some(at) => non_empty(&trimmed[..at], &trimmed[at + 2..], SplitRule::LastBlankLine),
        None => Err(NoAnswer::NoSeparator),
    }
}

fn non_empty<'a>(
    reasoning: &'a str,
    answer: &'a str,
    rule: SplitRule,
) -> Result<Split<'a>, NoAnswer> {
    if answer.trim().is_empty() {
        return Err(NoAnswer::EmptyAnswer);
    }
    Ok(Split {
        reasoning,
        answer,
        rule,
    })
}

fn strip_end_of_turn<'a>(mut text: &'a str, markers: &Markers) -> &'a str {
    loop {
        let trimmed = text.trim_end();
        match markers
            .end_of_turn
            .iter()
            .find(|m| !m.is_empty() && trimmed.ends_with(m.as_str()))
        {
            Some(m) => text = &trimmed[..trimmed.len() - m.len()],
            None => return text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn rfind_is_str_rfind(
            haystack in "[ab<>/\n é]{0,40}",
            needle in proptest::sample::select(vec!["</think>", "<think>", "\n\n", "b", "ab", "é", "", "<|im_start|>answer"]),
        ) {
            proptest::prop_assert_eq!(rfind(&haystack, needle), haystack.rfind(needle));
            let planted = format!("{haystack}{needle}{haystack}");
            proptest::prop_assert_eq!(rfind(&planted, needle), planted.rfind(needle));
        }
    }

    fn parts(r: &str) -> Result<(String, String, SplitRule), NoAnswer> {
        split(r, &Markers::default()).map(|s| {
            (
                s.reasoning.trim().to_string(),
                s.answer.trim().to_string(),
                s.rule,
            )
        })
    }

    #[test]
    fn think_tags() {
        assert_eq!(
            parts("<think>\nA\n</think>\n\nB"),
            Ok(("A".into(), "B".into(), SplitRule::ThinkTags))
        );
        // The opener may sit on the prompt side.
        assert_eq!(
            parts("A</think>B<|im_end|>"),
            Ok(("A".into(), "B".into(), SplitRule::ThinkTags))
        );
        assert_eq!(parts("<think>A</think>  "), Err(NoAnswer::EmptyAnswer));
        assert_eq!(
            parts("<think>A, cut at the bud"),
            Err(NoAnswer::UnclosedThink)
        );
    }

    #[test]
    fn transcript_markers() {
        let t = "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\nR\n<|im_start|>answer\nFinal \\boxed{3}<|im_end|>";
        assert_eq!(
            parts(t),
            Ok(("R".into(), "Final \\boxed{3}".into(), SplitRule::Markers))
        );
        assert_eq!(
            parts("<|im_start|>think\nR but no end"),
            Err(NoAnswer::NoAnswerMarker)
        );
        // No answer marker: split at the last blank line of the thinking part, as the release did.
        assert_eq!(
            parts("<|im_start|>user\nQ\n\nmore<|im_end|>\n<|im_start|>think\nR1\n\nR2\n\n\\boxed{18}<|im_end|>"),
            Ok(("R1\n\nR2".into(), "\\boxed{18}".into(), SplitRule::LastBlankLine))
        );
    }

    #[test]
    fn last_blank_line_fallback() {
        assert_eq!(
            parts("step 1\n\nstep 2\n\nSo \\boxed{4}\n\n"),
            Ok((
                "step 1\n\nstep 2".into(),
                "So \\boxed{4}".into(),
                SplitRule::LastBlankLine
            ))
        );
        assert_eq!(parts("one line only"), Err(NoAnswer::NoSeparator));
    }
}
