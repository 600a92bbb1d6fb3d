//! Text units for n-gram comparisons: lowercase words in spaced scripts,
//! single characters in unspaced ones (Han, Kana, Thai, ...), digits runs as
//! words. Shared by near-duplicate detection and decontamination.

use crate::ascii_block::{self, BLOCK};

/// The blocks of scripts written without spaces between words: Thai and
/// Lao, Myanmar, Khmer, kana, Han (two BMP blocks, compatibility ideographs,
/// the supplementary planes' ideographs).
const UNSPACED: [(u32, u32); 8] = [
    (0x0E00, 0x0EFF),
    (0x1000, 0x109F),
    (0x1780, 0x17FF),
    (0x3040, 0x30FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FFFF),
];

/// [`UNSPACED`] as one bit per BMP code point, built at compile time: the
/// three-byte path asks it of every Thai, kana and Han character (a chain of
/// range compares was a tenth of the unit hashing).
static UNSPACED_BMP: [u64; 1024] = {
    let mut bits = [0u64; 1024];
    let mut r = 0;
    while r < UNSPACED.len() {
        let (lo, hi) = UNSPACED[r];
        let mut u = lo;
        while u <= hi && u < 0x1_0000 {
            bits[(u / 64) as usize] |= 1 << (u % 64);
            u += 1;
        }
        r += 1;
    }
    bits
};

/// True for a BMP code point (below 0x10000) of an unspaced script.
#[inline]
fn unspaced_bmp(code: u32) -> bool {
    crate::chars::bit_of(&UNSPACED_BMP, code)
}

/// The three bytes at `i` when they are one character of an unspaced script.
#[inline]
fn unspaced_at(bytes: &[u8], i: usize) -> Option<[u8; 3]> {
    let code = crate::chars::three_byte_code_at(bytes, i)?;
    unspaced_bmp(code).then(|| [bytes[i], bytes[i + 1], bytes[i + 2]])
}

/// In [`two_byte_lowercase`]: the character is no letter or digit.
const NOT_ALPHANUMERIC: u16 = 0;
/// In [`two_byte_lowercase`]: left to the general path (a lowercase of
/// several characters, or beyond two bytes).
const NOT_IN_TABLE: u16 = u16::MAX;

/// Per two-byte character (U+0080 to U+07FF), the lowercase that
/// [`for_each_unit`] hashes for it: [`NOT_ALPHANUMERIC`], [`NOT_IN_TABLE`],
/// or the code point of a one- or two-byte character.
fn two_byte_lowercase() -> &'static [u16; 0x780] {
    static TABLE: std::sync::OnceLock<Box<[u16; 0x780]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = Box::new([NOT_IN_TABLE; 0x780]);
        for (slot, u) in table.iter_mut().zip(0x80u32..0x800) {
            let Some(c) = char::from_u32(u) else { continue };
            if !crate::chars::is_alphanumeric(c) {
                *slot = NOT_ALPHANUMERIC;
                continue;
            }
            let mut lower = c.to_lowercase();
            if let (Some(l), None) = (lower.next(), lower.next()) {
                if (l as u32) < 0x800 && l as u32 != 0 {
                    *slot = l as u16;
                }
            }
        }
        table
    })
}

/// True for characters of scripts written without spaces between words.
fn unspaced(c: char) -> bool {
    let u = c as u32;
    if u < 0x1_0000 {
        unspaced_bmp(u)
    } else {
        UNSPACED.iter().any(|&(lo, hi)| (lo..=hi).contains(&u))
    }
}

/// Calls `emit` with the 64-bit hash of each unit, in order.
pub fn for_each_unit(text: &str, mut emit: impl FnMut(u64)) {
    let mut word = UnitHash::new();
    let mut in_word = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if let Some((block, masks)) = bytes
            .get(i..i + BLOCK)
            .and_then(|b| Some((b, ascii_block::masks(b.try_into().ok()?)?)))
        {
            // 64 ASCII bytes: the words are the runs of letters and digits.
            let alphanumeric = masks.letters | masks.digits;
            if in_word && alphanumeric & 1 == 0 {
                emit(std::mem::replace(&mut word, UnitHash::new()).finish());
            }
            in_word = false;
            ascii_block::for_each_run(alphanumeric, |start, len| {
                word.write_ascii_lowercase(&block[start..], len);
                if start + len < BLOCK {
                    emit(std::mem::replace(&mut word, UnitHash::new()).finish());
                } else {
                    in_word = true;
                }
            });
            i += BLOCK;
            continue;
        }
        // A block with other bytes (or the tail): one character at a time,
        // ASCII without decoding it or asking the Unicode tables.
        let stop = (i + BLOCK).min(bytes.len());
        while i < stop {
            let b = bytes[i];
            if b.is_ascii_alphanumeric() {
                // A run of ASCII letters and digits (a number, an English
                // word) in one step; it may end past the block.
                let run = crate::chars::ascii_alphanumeric_prefix_len(&bytes[i..]);
                word.write_ascii_lowercase(&bytes[i..], run);
                in_word = true;
                i += run;
                continue;
            }
            if b.is_ascii() {
                i += 1;
                if in_word {
                    emit(word.finish());
                    word = UnitHash::new();
                    in_word = false;
                }
                continue;
            }
            // A three-byte character of an unspaced script (Thai, kana, Han)
            // is a unit of its own: hashed from its bytes, not decoded twice.
            if let Some(first) = unspaced_at(bytes, i) {
                if in_word {
                    emit(std::mem::replace(&mut word, UnitHash::new()).finish());
                    in_word = false;
                }
                emit(UnitHash::of_three_bytes(first));
                i += 3;
                // The rest of the run in a loop of its own (the general one
                // mispredicted a branch per character: -18% on Thai traces),
                // with the punctuation between (、。「」), which ends no word
                // here.
                while let Some(code) = crate::chars::three_byte_code_at(bytes, i) {
                    if unspaced_bmp(code) {
                        emit(UnitHash::of_three_bytes([
                            bytes[i],
                            bytes[i + 1],
                            bytes[i + 2],
                        ]));
                    } else if crate::chars::is_alphanumeric_bmp(code) {
                        break;
                    }
                    i += 3;
                }
                continue;
            }
            // Two-byte characters (Cyrillic, Greek, accented Latin letters):
            // lowercased by a table, a run of them in a loop of its own.
            let start = i;
            while let Some(code) = crate::chars::two_byte_code_at(bytes, i) {
                match two_byte_lowercase()[(code - 0x80) as usize] {
                    NOT_ALPHANUMERIC => {
                        if in_word {
                            emit(std::mem::replace(&mut word, UnitHash::new()).finish());
                            in_word = false;
                        }
                    }
                    NOT_IN_TABLE => break,
                    lower => {
                        word.write_code(u32::from(lower));
                        in_word = true;
                    }
                }
                i += 2;
            }
            if i > start {
                continue;
            }
            let Some(c) = text[i..].chars().next() else {
                return;
            };
            i += c.len_utf8();
            if unspaced(c) {
                if in_word {
                    emit(word.finish());
                    word = UnitHash::new();
                    in_word = false;
                }
                let mut h = UnitHash::new();
                h.write_char(c);
                emit(h.finish());
            } else if crate::chars::is_alphanumeric(c) {
                if crate::chars::is_own_lowercase(c) {
                    word.write_char(c);
                } else {
                    c.to_lowercase().for_each(|l| word.write_char(l));
                }
                in_word = true;
            } else if in_word {
                emit(word.finish());
                word = UnitHash::new();
                in_word = false;
            }
        }
    }
    if in_word {
        emit(word.finish());
    }
}

/// Hashes of all n-grams of units (the whole text as one gram when shorter).
pub fn ngram_hashes(text: &str, n: usize) -> Vec<u64> {
    ngram_hashes_of(&[text], n)
}

/// [`ngram_hashes`] of the texts joined by line breaks, without joining them.
pub fn ngram_hashes_of(texts: &[&str], n: usize) -> Vec<u64> {
    // Units take two bytes or more each on average (a letter and what ends
    // it, a three-byte character): room for all, so the vector never grows.
    let most_units = texts.iter().map(|t| t.len() / 2 + 1).sum();
    let mut units = Vec::with_capacity(most_units);
    for text in texts {
        for_each_unit(text, |u| units.push(u));
    }
    let n = n.max(1);
    if units.is_empty() {
        return Vec::new();
    }
    if units.len() < n {
        return vec![combine(&units)];
    }
    // Each gram from the one before: `combine` rotates the i-th unit by 11i,
    // so dropping the first unit and rotating right by 11 leaves the rest of
    // the window in place, and the new unit goes in at n - 1 (the same value
    // as combining every window anew, with O(1) work per gram).
    let newest = (11 * (n - 1)) as u32;
    let mut gram = combine(&units[..n]);
    let mut grams = Vec::with_capacity(units.len() - n + 1);
    grams.push(gram);
    for (&oldest, &next) in units.iter().zip(&units[n..]) {
        gram = (gram ^ oldest).rotate_right(11) ^ next.rotate_left(newest);
        grams.push(gram);
    }
    grams
}

/// A gram of unit hashes (each already mixed): each rotated by its position
/// and xor-ed, so that order counts; independent steps, no chain of
/// multiplies. Users mix the result again where they need spread bits.
fn combine(units: &[u64]) -> u64 {
    units
        .iter()
        .enumerate()
        .fold(0, |acc, (i, &u)| acc ^ u.rotate_left(11 * i as u32))
}

/// SplitMix64 finalizer: a fast, well-distributed 64-bit mix.
pub const fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A unit's hash over its UTF-8 bytes, stable across runs and platforms:
/// the bytes are packed eight to a word with one mix per word (FNV's
/// multiply per byte made every byte wait for the one before).
struct UnitHash {
    h: u64,
    /// Up to seven bytes not yet mixed in (so its top byte is free).
    pending: u64,
    len: u32,
}

impl UnitHash {
    fn new() -> Self {
        UnitHash {
            h: 0xcbf2_9ce4_8422_2325,
            pending: 0,
            len: 0,
        }
    }
    #[inline]
    fn write_byte(&mut self, b: u8) {
        self.pending = (self.pending << 8) | u64::from(b);
        self.len = self.len.wrapping_add(1);
        if self.len.is_multiple_of(8) {
            self.h = mix(self.h ^ self.pending);
            self.pending = 0;
        }
    }
    /// The first `len` bytes of `bytes`, ASCII letters and digits,
    /// lowercased (`| 0x20` leaves digits as they are). `bytes` may go on
    /// past them: the chunks are then read without a branch on their length.
    #[inline]
    fn write_ascii_lowercase(&mut self, bytes: &[u8], len: usize) {
        // Up to eight bytes at a time, as `write_byte` would pack them: the
        // first byte highest, a mix whenever eight are pending.
        let mut done = 0;
        while done < len {
            let take = (8 - (self.len % 8) as usize).min(len - done);
            let first_lowest = crate::chars::load_le_prefix(&bytes[done..], take) as u64;
            let chunk = (first_lowest.swap_bytes() >> (64 - 8 * take))
                | (0x2020_2020_2020_2020 >> (64 - 8 * take));
            // With eight to take nothing is pending (and a shift by 64 would overflow).
            self.pending = if take == 8 {
                chunk
            } else {
                (self.pending << (8 * take)) | chunk
            };
            self.len = self.len.wrapping_add(take as u32);
            if self.len.is_multiple_of(8) {
                self.h = mix(self.h ^ self.pending);
                self.pending = 0;
            }
            done += take;
        }
    }
    /// `write_char` of a code point below U+0800.
    #[inline]
    fn write_code(&mut self, u: u32) {
        if u < 0x80 {
            self.write_byte(u as u8);
        } else {
            self.write_byte(0xC0 | (u >> 6) as u8);
            self.write_byte(0x80 | (u & 0x3F) as u8);
        }
    }
    fn write_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        for b in c.encode_utf8(&mut buf).bytes() {
            self.write_byte(b);
        }
    }
    /// `new`, `write_byte` of three bytes and `finish`, in one step.
    #[inline]
    fn of_three_bytes([a, b, c]: [u8; 3]) -> u64 {
        let pending = (u64::from(a) << 16) | (u64::from(b) << 8) | u64::from(c);
        mix(Self::new().h ^ pending ^ (3 << 56))
    }

    fn finish(&self) -> u64 {
        mix(self.h ^ self.pending ^ (u64::from(self.len as u8) << 56))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(text: &str) -> usize {
        let mut n = 0;
        for_each_unit(text, |_| n += 1);
        n
    }

    #[test]
    fn the_unspaced_bit_table_holds_the_blocks() {
        for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
            let in_blocks = UNSPACED
                .iter()
                .any(|&(lo, hi)| (lo..=hi).contains(&(c as u32)));
            assert_eq!(unspaced(c), in_blocks, "{c:?}");
        }
        assert!(unspaced('ก') && unspaced('の') && unspaced('答') && unspaced('\u{20000}'));
        assert!(!unspaced('a') && !unspaced('가') && !unspaced('ж'));
    }

    #[test]
    fn ascii_runs_hash_as_byte_by_byte() {
        let text = b"Supercalifragilistic 2024 x THE end, and then some more";
        for start in [0, 5, 21, 26] {
            for len in 1..=20 {
                let (mut whole, mut bytewise) = (UnitHash::new(), UnitHash::new());
                whole.write_byte(b'q'); // something pending before the run
                bytewise.write_byte(b'q');
                whole.write_ascii_lowercase(&text[start..], len);
                text[start..start + len]
                    .iter()
                    .for_each(|b| bytewise.write_byte(b | 0x20));
                assert_eq!(whole.finish(), bytewise.finish(), "{start}+{len}");
            }
        }
    }

    #[test]
    fn words_and_unspaced_characters() {
        assert_eq!(count("Le chat, 12 pommes!"), 4);
        assert_eq!(count("答えは12"), 4);
        assert_eq!(count("สามบวกสอง"), 9);
        assert_eq!(ngram_hashes("A b", 1), ngram_hashes("a  B!", 1));
        assert_eq!(ngram_hashes("one two three", 2).len(), 2);
        assert_eq!(ngram_hashes("one", 5).len(), 1);
        assert!(ngram_hashes("  ", 5).is_empty());
        // Parts hash as if joined by a line break.
        assert_eq!(
            ngram_hashes_of(&["Combien d'œufs", "Elle en mange 3"], 2),
            ngram_hashes("Combien d'œufs\nElle en mange 3", 2)
        );
        // Order within a gram counts; long words are not cut into equal parts.
        assert_ne!(ngram_hashes("a b", 2), ngram_hashes("b a", 2));
        assert_ne!(
            ngram_hashes("abcdefghabcdefgh", 1),
            ngram_hashes("abcdefgh abcdefgh", 1)
        );
    }

    /// Units hashed from the Unicode lowercase of every character: what the
    /// ASCII shortcut must equal.
    fn units_by_unicode_lowercase(text: &str) -> Vec<u64> {
        let (mut out, mut word, mut in_word) = (Vec::new(), UnitHash::new(), false);
        for c in text.chars() {
            if unspaced(c) || !c.is_alphanumeric() {
                if in_word {
                    out.push(word.finish());
                    (word, in_word) = (UnitHash::new(), false);
                }
                if unspaced(c) {
                    let mut h = UnitHash::new();
                    h.write_char(c);
                    out.push(h.finish());
                }
            } else {
                c.to_lowercase().for_each(|l| word.write_char(l));
                in_word = true;
            }
        }
        if in_word {
            out.push(word.finish());
        }
        out
    }

    #[test]
    fn every_two_byte_character_hashes_as_its_unicode_lowercase() {
        for c in (0x80..0x800).filter_map(char::from_u32) {
            let text = format!("a{c}{c}b {c}");
            let mut fast = Vec::new();
            for_each_unit(&text, |u| fast.push(u));
            assert_eq!(fast, units_by_unicode_lowercase(&text), "{c:?}");
        }
    }

    #[test]
    fn three_byte_units_hash_as_written_byte_by_byte() {
        for c in ['ก', 'の', '答', '가'] {
            let mut h = UnitHash::new();
            h.write_char(c);
            let mut bytes = [0u8; 3];
            c.encode_utf8(&mut bytes);
            assert_eq!(UnitHash::of_three_bytes(bytes), h.finish(), "{c}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_ascii_shortcut_changes_no_hash(text in "[ -~\\n\\téÉßİ答えはสวัสดี٣\u{300}Жжσπ×、。「」한글]{0,50}") {
            let mut fast = Vec::new();
            for_each_unit(&text, |u| fast.push(u));
            proptest::prop_assert_eq!(fast, units_by_unicode_lowercase(&text));
        }

        #[test]
        fn rolling_grams_equal_combined_windows(
            units in proptest::collection::vec(proptest::num::u64::ANY, 1..40),
            n in 1usize..14,
        ) {
            let text: String = units.iter().map(|u| format!("w{u} ")).collect();
            let mut hashed = Vec::new();
            for_each_unit(&text, |u| hashed.push(u));
            let expected: Vec<u64> = if hashed.len() < n {
                vec![combine(&hashed)]
            } else {
                hashed.windows(n).map(combine).collect()
            };
            proptest::prop_assert_eq!(ngram_hashes(&text, n), expected);
        }

        /// Long mostly-ASCII texts, where whole 64-byte blocks go by runs.
        #[test]
        fn the_block_path_changes_no_hash(text in "([ -~\\n\\t]{0,150}[éÉ答สวั٣]?){0,6}") {
            let mut fast = Vec::new();
            for_each_unit(&text, |u| fast.push(u));
            proptest::prop_assert_eq!(fast, units_by_unicode_lowercase(&text));
        }
    }
}
