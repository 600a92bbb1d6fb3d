//! Text normalization applied to kept text (the raw text is kept beside it):
//! Unicode NFC, markdown heading prefixes (`## `) removed at line starts,
//! surrounding whitespace trimmed.

use std::borrow::Cow;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// NFC, without `#`-heading prefixes at line starts, trimmed.
pub fn normalize(text: &str) -> String {
    // Most generations are NFC already: the quick check is one table lookup
    // per character, where composing decomposes and recomposes everything.
    let nfc = match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        IsNormalized::No | IsNormalized::Maybe => Cow::Owned(text.nfc().collect()),
    };
    let mut out = String::with_capacity(nfc.len());
    for (i, line) in nfc.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(strip_heading(line));
    }
    out.trim().to_string()
}

/// `## Step 1` → `Step 1`; `#hashtag` and `#5` stay (no space after the hashes).
fn strip_heading(line: &str) -> &str {
    let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
    let rest = &line[indent..];
    let hashes = rest.len() - rest.trim_start_matches('#').len();
    if (1..=6).contains(&hashes) && rest[hashes..].starts_with(' ') {
        rest[hashes..].trim_start_matches(' ')
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_headings_not_hashes() {
        assert_eq!(
            normalize("## Étape 1\nx\n### Fin\n#5 reste"),
            "Étape 1\nx\nFin\n#5 reste"
        );
        assert_eq!(normalize("  \n# A\n"), "A");
    }

    #[test]
    fn composes_to_nfc() {
        // "e" + combining acute → "é"
        assert_eq!(normalize("caf\u{65}\u{301}"), "caf\u{e9}");
    }
}
