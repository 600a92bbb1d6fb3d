//! Text normalization applied to kept text (the raw text is kept beside it):
//! Unicode NFC, markdown heading prefixes (`## `) removed at line starts,
//! surrounding whitespace trimmed.

use std::borrow::Cow;
use std::sync::OnceLock;

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// NFC, without `#`-heading prefixes at line starts, trimmed.
pub fn normalize(text: &str) -> String {
    // Most generations are NFC already: the quick check is one table lookup
    // per character, where composing decomposes and recomposes everything.
    let nfc = if is_nfc_fast(text) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    };
    // Without a `#` there is no heading to strip: one copy of the trimmed text.
    if memchr::memchr(b'#', nfc.as_bytes()).is_none() {
        return nfc.trim().to_string();
    }
    let mut out = String::with_capacity(nfc.len());
    for (i, line) in nfc.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(strip_heading(line));
    }
    // Trimmed in place: no second copy of the text.
    let end = out.trim_end().len();
    out.truncate(end);
    let start = out.len() - out.trim_start().len();
    out.drain(..start);
    out
}

/// In [`bmp_classes`]: the character's NFC quick-check answer is not "yes".
const NOT_YES: u8 = u8::MAX;

/// Per character of the Basic Multilingual Plane, its canonical combining
/// class, or [`NOT_YES`]; read once from unicode-normalization (64 KiB).
fn bmp_classes() -> &'static [u8] {
    static TABLE: OnceLock<Box<[u8]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        crate::chars::bmp_byte_table(|c| {
            if is_nfc_quick(std::iter::once(c)) == IsNormalized::Yes {
                canonical_combining_class(c)
            } else {
                NOT_YES
            }
        })
    })
}

/// One bit per BMP character whose [`bmp_classes`] entry is 0 (a starter
/// the quick check says yes to): 8 KiB that stay in cache where the class
/// table is 64 KiB, and nearly every character of a CJK or Cyrillic run.
fn bmp_starters() -> &'static [u64; 1024] {
    static TABLE: OnceLock<Box<[u64; 1024]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let classes = bmp_classes();
        crate::chars::bmp_bit_table(|c| classes[c as usize] == 0)
    })
}

/// unicode-normalization's `is_nfc_quick(text) == Yes` with one table read
/// per character (ASCII skipped): its quick check asks two tables per
/// character, 6% of a build on Thai, Korean and Japanese traces. Characters
/// outside the table's "yes" hand the text to the library's own check.
fn is_nfc_fast(text: &str) -> bool {
    let table = bmp_classes();
    let starters = bmp_starters();
    let library = || is_nfc_quick(text.chars()) == IsNormalized::Yes;
    let mut order = MarkOrder::default();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        // A run of three-byte characters (Thai, kana, Han, Hangul) in a loop
        // of its own.
        while let Some(u) = crate::chars::three_byte_code_at(bytes, i) {
            // Below U+1000 (Thai, Indic scripts) marks come and go among the
            // letters at random: their class is noted without a branch.
            // Above it (kana, Han, Hangul) nearly all are starters.
            if u >= 0x1000 && crate::chars::bit_of(starters, u) {
                order.see_starter();
            } else if !order.see(table[u as usize]) {
                return library();
            }
            i += 3;
        }
        if i >= text.len() {
            break;
        }
        let (u, len) = crate::chars::decode_at(text, i);
        i += len;
        if u < 0x80 {
            // ASCII is NFC with class 0: the run it starts is skipped eight
            // bytes at a time.
            order.see(0);
            i += crate::chars::ascii_prefix_len(&bytes[i..]);
            continue;
        }
        if !table.get(u as usize).is_some_and(|&class| order.see(class)) {
            return library();
        }
        // A run of two-byte characters (Cyrillic, Greek, Arabic) likewise.
        while let Some(u) = crate::chars::two_byte_code_at(bytes, i) {
            if crate::chars::bit_of(starters, u) {
                order.see_starter();
            } else if !order.see(table[u as usize]) {
                return library();
            }
            i += 2;
        }
    }
    !order.out_of_order
}

/// The canonical order of combining marks, one character's class at a time.
#[derive(Default)]
struct MarkOrder {
    last_class: u8,
    out_of_order: bool,
}

impl MarkOrder {
    /// Notes a character's [`bmp_classes`] entry; false for [`NOT_YES`].
    #[inline]
    fn see(&mut self, class: u8) -> bool {
        // A mark after a mark of a higher class is not NFC. Noted without a
        // branch: Thai tone and vowel marks come and go at random.
        self.out_of_order |= (class != 0) & (self.last_class > class);
        self.last_class = class;
        class != NOT_YES
    }

    /// [`Self::see`] of class 0, which orders nothing.
    #[inline]
    fn see_starter(&mut self) {
        self.last_class = 0;
    }
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

    /// The table-driven quick check answers as the library's on texts that
    /// are NFC, decomposed, out of canonical order, or beyond the BMP.
    #[test]
    fn fast_quick_check_is_the_librarys() {
        for text in [
            "plain ascii",
            "café naïve ภาษาไทย 한국어 日本語",
            "cafe\u{301}",
            "a\u{323}\u{301}",
            "a\u{301}\u{323}",
            "\u{1d400} math bold",
            "\u{e38}\u{e48}",
            "\u{e48}\u{e38}",
            "日\u{302a}\u{302b}",
            "日\u{302b}\u{302a}",
            "\u{302b}日\u{302a}",
            "ж\u{483}ж",
            "Å Ω K",
            "a long line of plain ascii text, then cafe\u{301} and more plain text after it",
            "a long line of plain ascii text, then café, which is NFC, and more after it",
            "\u{301} at the start, then a run of ascii longer than eight bytes",
        ] {
            let library = is_nfc_quick(text.chars()) == IsNormalized::Yes;
            assert_eq!(is_nfc_fast(text), library, "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_quick_check_is_the_librarys_on_random_texts(
            text in "([a-z ]{0,20}[\u{301}\u{323}éÅ\u{e38}\u{e48}한か\u{3099}\u{1161}\u{1d400}ж\u{483}日\u{302a}\u{302b}]{0,3}){0,8}"
        ) {
            let library = is_nfc_quick(text.chars()) == IsNormalized::Yes;
            proptest::prop_assert_eq!(is_nfc_fast(&text), library);
        }
    }

    #[test]
    fn composes_to_nfc() {
        // "e" + combining acute → "é"
        assert_eq!(normalize("caf\u{65}\u{301}"), "caf\u{e9}");
    }
}
