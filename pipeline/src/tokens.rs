//! Token counts: exact with a `tokenizer.json`, otherwise a documented
//! approximation.

use std::path::Path;

use crate::ascii_block::{self, BLOCK};

/// Counts tokens in text.
pub enum TokenCounter {
    /// See [`approximate_tokens`].
    Approximate,
    Tokenizer(Box<tokenizers::Tokenizer>),
}

/// A tokenizer file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot load tokenizer: {detail}")]
pub struct TokenizerError {
    pub path: String,
    pub detail: String,
}

impl TokenCounter {
    pub fn from_file(path: &Path) -> Result<Self, TokenizerError> {
        tokenizers::Tokenizer::from_file(path)
            .map(|t| TokenCounter::Tokenizer(Box::new(t)))
            .map_err(|e| TokenizerError {
                path: path.display().to_string(),
                detail: e.to_string(),
            })
    }

    pub fn name(&self) -> &'static str {
        match self {
            TokenCounter::Approximate => "approximate",
            TokenCounter::Tokenizer(_) => "tokenizer.json",
        }
    }

    pub fn count(&self, text: &str) -> usize {
        match self {
            TokenCounter::Approximate => approximate_tokens(text),
            TokenCounter::Tokenizer(t) => t
                .encode_fast(text, false)
                .map(|e| e.len())
                // A text the tokenizer rejects still gets a count.
                .unwrap_or_else(|_| approximate_tokens(text)),
        }
    }
}

/// The approximation used without `--tokenizer`, calibrated on Qwen-style
/// byte-level BPE vocabularies: one token per digit (Qwen splits digits),
/// one per Han/Kana/Hangul character, one per two characters of other
/// non-Latin scripts (Thai, Bengali, Cyrillic, ...), one per four bytes of
/// Latin letters, one per other visible symbol; whitespace is free.
pub fn approximate_tokens(text: &str) -> usize {
    let mut count = Approximation::default();
    let bytes = text.as_bytes();
    let classes = char_classes();
    let mut i = 0;
    while i < bytes.len() {
        // 64 bytes of ASCII and accented Latin letters (most blocks of a
        // French or Spanish trace): by masks, an accent's two bytes as two
        // letter bytes (what `char` adds for a Latin letter).
        let block = bytes
            .get(i..i + BLOCK)
            .and_then(|b| ascii_block::latin_masks(b.try_into().ok()?));
        if let Some(masks) = block {
            count.latin_block(masks);
            i += BLOCK;
            continue;
        }
        // A block with other bytes (or the tail): one character at a time
        // (the last may run past the block).
        let stop = (i + BLOCK).min(bytes.len());
        while i < stop {
            let (code, len) = crate::chars::decode_at(text, i);
            i += len;
            if code < 0x80 {
                count.ascii_byte(code as u8);
            } else {
                count.char(class_in(classes, code), len);
                // The rest of a run of three-byte characters (Thai, kana,
                // Han, Hangul), or two-byte ones (Cyrillic, Greek), in a loop
                // of its own.
                while let Some(code) = crate::chars::three_byte_code_at(bytes, i) {
                    count.char(class_in(classes, code), 3);
                    i += 3;
                }
                while let Some(code) = crate::chars::two_byte_code_at(bytes, i) {
                    count.char(class_in(classes, code), 2);
                    i += 2;
                }
            }
        }
    }
    count.tokens
}

/// The running count: a run of n Latin bytes costs ceil(n / 4) tokens, one
/// for each of its bytes at an offset divisible by 4, counted as the run
/// grows (likewise one per two other-script letters), so no run needs closing.
#[derive(Default)]
struct Approximation {
    tokens: usize,
    latin_bytes: usize,
    other_script_chars: usize,
}

impl Approximation {
    /// One ASCII byte, without a branch that depends on the text.
    #[inline]
    fn ascii_byte(&mut self, b: u8) {
        let class = ASCII_CLASS[b as usize];
        let letter = usize::from(class == LETTER);
        self.tokens +=
            letter * usize::from(self.latin_bytes.is_multiple_of(4)) + usize::from(class == SYMBOL);
        self.latin_bytes = (self.latin_bytes + 1) * letter;
        self.other_script_chars *= letter;
    }

    /// 64 bytes of [`ascii_block::latin_masks`]: symbols one each, letters
    /// by runs.
    #[inline]
    fn latin_block(&mut self, masks: ascii_block::Masks) {
        let symbols = !(masks.letters | masks.spaces);
        let mut tokens = symbols.count_ones() as usize;
        let carry = self.latin_bytes;
        let mut open_run = 0;
        ascii_block::for_each_run(masks.letters, |start, len| {
            // Only a run at the block's start goes on from the one before.
            let before = if start == 0 { carry } else { 0 };
            tokens += (before + len).div_ceil(4) - before.div_ceil(4);
            open_run = if start + len == BLOCK {
                before + len
            } else {
                0
            };
        });
        self.tokens += tokens;
        self.latin_bytes = open_run;
        if masks.letters != u64::MAX {
            self.other_script_chars = 0;
        }
    }

    /// A non-ASCII character of `len` bytes.
    fn char(&mut self, class: CharClass, len: usize) {
        match class {
            CharClass::LatinLetter => {
                let grown = self.latin_bytes + len;
                self.tokens += grown.div_ceil(4) - self.latin_bytes.div_ceil(4);
                self.latin_bytes = grown;
            }
            CharClass::OtherLetter => {
                self.tokens += usize::from(self.other_script_chars.is_multiple_of(2));
                self.other_script_chars += 1;
            }
            CharClass::Space => {
                self.latin_bytes = 0;
                self.other_script_chars = 0;
            }
            CharClass::Symbol => {
                self.latin_bytes = 0;
                self.other_script_chars = 0;
                self.tokens += 1;
            }
        }
    }
}

/// What a character costs: a Latin letter a quarter token per byte, another
/// script's letter half a token, whitespace nothing, anything else (a Han
/// or Hangul character, a digit, a symbol) a whole token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharClass {
    LatinLetter,
    OtherLetter,
    Space,
    Symbol,
}

const CHAR_CLASSES: [CharClass; 4] = [
    CharClass::LatinLetter,
    CharClass::OtherLetter,
    CharClass::Space,
    CharClass::Symbol,
];

fn char_class_by_definition(c: char) -> CharClass {
    let alphabetic = crate::chars::is_alphabetic(c);
    if alphabetic && (c as u32) < 0x250 {
        CharClass::LatinLetter
    } else if alphabetic && !is_cjk(c) {
        CharClass::OtherLetter
    } else if c.is_whitespace() {
        CharClass::Space
    } else {
        CharClass::Symbol
    }
}

/// [`char_class_by_definition`] of every BMP character, one byte each (a
/// Japanese or Thai trace asks it for thousands of characters): fetched once
/// per text, read through [`class_in`].
fn char_classes() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Box<[u8]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| crate::chars::bmp_byte_table(|c| char_class_by_definition(c) as u8))
}

/// [`char_class_by_definition`] of code point `code` (a `char`), with one
/// load from `table` for a BMP character.
#[inline]
fn class_in(table: &[u8], code: u32) -> CharClass {
    match table.get(code as usize) {
        Some(&class) => CHAR_CLASSES[usize::from(class & 3)],
        None => char::from_u32(code).map_or(CharClass::Symbol, char_class_by_definition),
    }
}

const LETTER: u8 = 0;
const SPACE: u8 = 1;
const SYMBOL: u8 = 2;

/// Per ASCII byte: a letter, whitespace (`char::is_whitespace`: tab, LF, VT,
/// FF, CR, space) or any other symbol (one token each).
const ASCII_CLASS: [u8; 128] = {
    let mut t = [SYMBOL; 128];
    let mut b = 0;
    while b < 128 {
        if (b as u8).is_ascii_alphabetic() {
            t[b] = LETTER;
        } else if matches!(b as u8, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
            t[b] = SPACE;
        }
        b += 1;
    }
    t
};

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approximation_by_script() {
        assert_eq!(approximate_tokens(""), 0);
        assert_eq!(approximate_tokens("word"), 1);
        assert_eq!(approximate_tokens("words"), 2);
        assert_eq!(approximate_tokens("16 - 7 = 9"), 6);
        assert_eq!(approximate_tokens("答えは"), 3);
        // 6 characters (vowel marks are alphabetic too): one token per two.
        assert_eq!(approximate_tokens("สวัสดี"), 3);
        // Every ASCII whitespace is free, the vertical tab included.
        assert_eq!(approximate_tokens("a\t\x0b\x0c\r\n b"), 2);
        assert_eq!(approximate_tokens("café, naïve"), 2 + 1 + 2);
    }

    /// The character-by-character definition the byte fast path must equal.
    fn by_chars(text: &str) -> usize {
        let (mut tokens, mut latin, mut other) = (0usize, 0usize, 0usize);
        for c in text.chars() {
            if c.is_alphabetic() && (c as u32) < 0x250 {
                latin += c.len_utf8();
            } else if c.is_alphabetic() && !is_cjk(c) {
                other += 1;
            } else {
                tokens += latin.div_ceil(4) + other.div_ceil(2);
                (latin, other) = (0, 0);
                tokens += usize::from(!c.is_whitespace());
            }
        }
        tokens + latin.div_ceil(4) + other.div_ceil(2)
    }

    #[test]
    fn the_class_table_answers_as_the_definition() {
        for c in (0..0x1_0000).filter_map(char::from_u32) {
            assert_eq!(
                class_in(char_classes(), c as u32),
                char_class_by_definition(c),
                "{c:?}"
            );
        }
        assert_eq!(CHAR_CLASSES.map(|c| CHAR_CLASSES[c as usize]), CHAR_CLASSES);
    }

    proptest::proptest! {
        #[test]
        fn the_ascii_fast_path_changes_no_count(text in "[ -~\t\n\x0b\x0céïß答えはสวัสดี\u{300}\u{a0}€жπ]{0,60}") {
            proptest::prop_assert_eq!(approximate_tokens(&text), by_chars(&text));
        }

        /// Long Latin texts with accents and the symbols beside them, whose
        /// blocks go by runs with an accent's two bytes as letters.
        #[test]
        fn the_latin_block_path_changes_no_count(text in "([ -~\t\n]{0,40}[éÀçœŒßñĀɏ×÷\u{a0}«»’ɐ]{1,3}){0,12}") {
            proptest::prop_assert_eq!(approximate_tokens(&text), by_chars(&text));
        }

        /// Long mostly-ASCII texts, where whole 64-byte blocks go by runs.
        #[test]
        fn the_block_path_changes_no_count(text in "([ -~\t\n]{0,150}[éสวั答€\u{300}]?){0,6}") {
            proptest::prop_assert_eq!(approximate_tokens(&text), by_chars(&text));
        }
    }
}
