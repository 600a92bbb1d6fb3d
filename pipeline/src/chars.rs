//! `char::is_alphabetic`, `is_alphanumeric` and `is_numeric` as bit tables for the Basic
//! Multilingual Plane. The standard library answers a non-ASCII character by a
//! search through its Unicode tables; Thai, Korean or Japanese text asks that
//! for every character, in several passes per trace (a sixth of a build's time).
//! The answers are the standard library's, read once into 8 KiB per class.

use std::sync::OnceLock;

const BMP: usize = 0x1_0000;

struct Tables {
    alphabetic: Box<[u64]>,
    alphanumeric: Box<[u64]>,
    numeric: Box<[u64]>,
    /// Characters that `char::to_lowercase` changes.
    cased_upper: Box<[u64]>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut alphabetic = vec![0u64; BMP / 64].into_boxed_slice();
        let mut alphanumeric = vec![0u64; BMP / 64].into_boxed_slice();
        let mut numeric = vec![0u64; BMP / 64].into_boxed_slice();
        let mut cased_upper = vec![0u64; BMP / 64].into_boxed_slice();
        for c in (0..BMP as u32).filter_map(char::from_u32) {
            let (word, bit) = ((c as usize) / 64, (c as usize) % 64);
            // `is_alphanumeric` is the two tests below: asked again, it
            // was a third of this table's start-up cost.
            let (letter, number) = (c.is_alphabetic(), c.is_numeric());
            if letter {
                alphabetic[word] |= 1 << bit;
            }
            if letter || number {
                alphanumeric[word] |= 1 << bit;
            }
            if number {
                numeric[word] |= 1 << bit;
            }
            if !c.to_lowercase().eq([c]) {
                cased_upper[word] |= 1 << bit;
            }
        }
        Tables {
            alphabetic,
            alphanumeric,
            numeric,
            cased_upper,
        }
    })
}

/// `f` of every character of the Basic Multilingual Plane, a byte each (0
/// for the surrogates, which never occur in a `str`): the 64 KiB tables that
/// answer a per-character question of a hot loop with one load.
pub fn bmp_byte_table(f: impl Fn(char) -> u8) -> Box<[u8]> {
    (0..BMP as u32)
        .map(|u| char::from_u32(u).map_or(0, &f))
        .collect()
}

/// `f` of every character of the Basic Multilingual Plane, a bit each (0
/// for the surrogates): the 8 KiB twin of [`bmp_byte_table`], read with
/// [`bit_of`], for a yes-or-no question a hot loop asks of every character.
pub fn bmp_bit_table(f: impl Fn(char) -> bool) -> Box<[u64; BMP / 64]> {
    let mut bits = Box::new([0u64; BMP / 64]);
    for c in (0..BMP as u32).filter_map(char::from_u32) {
        bits[c as usize / 64] |= u64::from(f(c)) << (c as usize % 64);
    }
    bits
}

/// Bit `code` of a table of one bit per code point.
#[inline]
pub fn bit_of(table: &[u64], code: u32) -> bool {
    let u = code as usize;
    (table[u / 64] >> (u % 64)) & 1 == 1
}

#[inline]
fn bit(table: &[u64], c: char) -> bool {
    bit_of(table, c as u32)
}

/// Same as [`char::is_alphabetic`].
#[inline]
pub fn is_alphabetic(c: char) -> bool {
    match c as u32 {
        0..0x80 => c.is_ascii_alphabetic(),
        0x80..0x1_0000 => bit(&tables().alphabetic, c),
        _ => c.is_alphabetic(),
    }
}

/// Same as [`char::is_alphanumeric`].
#[inline]
pub fn is_alphanumeric(c: char) -> bool {
    match c as u32 {
        0..0x80 => c.is_ascii_alphanumeric(),
        0x80..0x1_0000 => bit(&tables().alphanumeric, c),
        _ => c.is_alphanumeric(),
    }
}

/// [`is_alphanumeric`] of a BMP code point (below 0x10000, no surrogate):
/// for loops that decode characters themselves.
#[inline]
pub fn is_alphanumeric_bmp(code: u32) -> bool {
    bit_of(&tables().alphanumeric, code & 0xFFFF)
}

/// Same as [`char::is_numeric`].
#[inline]
pub fn is_numeric(c: char) -> bool {
    match c as u32 {
        0..0x80 => c.is_ascii_digit(),
        0x80..0x1_0000 => bit(&tables().numeric, c),
        _ => c.is_numeric(),
    }
}

/// The first character of `c.to_lowercase()` (all of it but for `İ`). Most
/// letters of a trace are lowercase already, or of a script without case
/// (Thai, Hangul, Han): those skip the standard library's table search.
#[inline]
pub fn to_lowercase_first(c: char) -> char {
    match c as u32 {
        0..0x80 => c.to_ascii_lowercase(),
        0x80..0x1_0000 if !bit(&tables().cased_upper, c) => c,
        _ => c.to_lowercase().next().unwrap_or(c),
    }
}

/// Whether `c.to_lowercase()` is `c` itself.
#[inline]
pub fn is_own_lowercase(c: char) -> bool {
    match c as u32 {
        0..0x80 => !c.is_ascii_uppercase(),
        0x80..0x1_0000 => !bit(&tables().cased_upper, c),
        _ => c.to_lowercase().eq([c]),
    }
}

/// The code point and byte length of the character of `text` that starts at
/// byte `i` (a character boundary), read straight from its bytes: in loops
/// over the characters of a Thai or Japanese trace, `chars()` with
/// `len_utf8()` branches more than this does.
#[inline(always)]
pub fn decode_at(text: &str, i: usize) -> (u32, usize) {
    debug_assert!(text.is_char_boundary(i));
    let b = text.as_bytes();
    let tail = |k: usize| u32::from(b[i + k] & 0x3F);
    let lead = b[i];
    match lead {
        0..=0x7F => (u32::from(lead), 1),
        0xC0..=0xDF => ((u32::from(lead & 0x1F) << 6) | tail(1), 2),
        0xE0..=0xEF => ((u32::from(lead & 0x0F) << 12) | (tail(1) << 6) | tail(2), 3),
        _ => (
            (u32::from(lead & 0x07) << 18) | (tail(1) << 12) | (tail(2) << 6) | tail(3),
            4,
        ),
    }
}

/// The code point of the three-byte character starting at byte `i` of
/// UTF-8 `bytes`, if one does (most of the BMP above U+0800: Thai, kana,
/// Han, Hangul). Passes read runs of them in loops of their own, which
/// predict far better than their general per-character loop.
#[inline(always)]
pub fn three_byte_code_at(bytes: &[u8], i: usize) -> Option<u32> {
    let &[lead, b1, b2] = bytes.get(i..i + 3)? else {
        return None;
    };
    (lead & 0xf0 == 0xe0).then(|| {
        (u32::from(lead & 0x0f) << 12) | (u32::from(b1 & 0x3f) << 6) | u32::from(b2 & 0x3f)
    })
}

/// The code point of the two-byte character starting at byte `i` of UTF-8
/// `bytes`, if one does (U+0080 to U+07FF: Cyrillic, Greek, Arabic, Hebrew,
/// Latin accents), for the same loops as [`three_byte_code_at`].
#[inline(always)]
pub fn two_byte_code_at(bytes: &[u8], i: usize) -> Option<u32> {
    let &[lead, b1] = bytes.get(i..i + 2)? else {
        return None;
    };
    (lead & 0xe0 == 0xc0).then(|| (u32::from(lead & 0x1f) << 6) | u32::from(b1 & 0x3f))
}

/// Up to 16 bytes as a little-endian number (byte i in bits 8i..8i+8),
/// zero above them: two overlapping loads, where copying a slice of varying
/// length into a buffer calls `memcpy` (a word's letters, per word).
#[inline]
fn load_le(b: &[u8]) -> u128 {
    let n = b.len();
    assert!(n <= 16, "load_le takes at most 16 bytes");
    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
    let half = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]));
    // The loads overlap where n is not a power of two; the bytes they
    // share are the same, so or-ing them changes nothing.
    match n {
        8.. => u128::from(word(0)) | (u128::from(word(n - 8)) << (8 * (n - 8))),
        4.. => u128::from(half(0)) | (u128::from(half(n - 4)) << (8 * (n - 4))),
        1.. => {
            u128::from(b[0])
                | (u128::from(b[n / 2]) << (8 * (n / 2)))
                | (u128::from(b[n - 1]) << (8 * (n - 1)))
        }
        0 => 0,
    }
}

/// The first `n` (at most 16) bytes of `b` as [`load_le`] gives them. Where
/// `b` goes on for 16 bytes this is one load and a mask, with no branch on
/// `n` (words vary in length, so such branches mispredict).
#[inline]
pub fn load_le_prefix(b: &[u8], n: usize) -> u128 {
    match b.get(..16) {
        Some(sixteen) if n <= 16 => {
            let keep = u128::MAX.checked_shr(8 * (16 - n) as u32).unwrap_or(0);
            u128::from_le_bytes(sixteen.try_into().unwrap_or([0; 16])) & keep
        }
        _ => load_le(&b[..n]),
    }
}

/// The high bit of each byte of a word read from eight bytes.
const HIGH: u64 = 0x8080_8080_8080_8080;

/// How many bytes at the start of `bytes` are ASCII, eight at a time.
#[inline]
pub fn ascii_prefix_len(bytes: &[u8]) -> usize {
    prefix_len(bytes, |word| !word, u8::is_ascii)
}

/// How many bytes at the start of `bytes` are ASCII letters: sixteen at a
/// time, so that a word ends without the mispredicted branch of a byte
/// loop (nor, for most words, of a second step).
#[inline]
pub fn ascii_letter_prefix_len(bytes: &[u8]) -> usize {
    by_sixteen(bytes, false, ascii_letter_prefix_len_swar)
}

/// [`ascii_letter_prefix_len`] eight bytes at a time.
#[inline]
fn ascii_letter_prefix_len_swar(bytes: &[u8]) -> usize {
    prefix_len(bytes, swar_letters, u8::is_ascii_alphabetic)
}

/// How many bytes at the start of `bytes` are ASCII letters or digits (see
/// [`ascii_letter_prefix_len`]).
#[inline]
pub fn ascii_alphanumeric_prefix_len(bytes: &[u8]) -> usize {
    by_sixteen(bytes, true, ascii_alphanumeric_prefix_len_swar)
}

/// [`ascii_alphanumeric_prefix_len`] eight bytes at a time.
#[inline]
fn ascii_alphanumeric_prefix_len_swar(bytes: &[u8]) -> usize {
    prefix_len(
        bytes,
        |word| swar_letters(word) | swar_digits(word),
        u8::is_ascii_alphanumeric,
    )
}

/// The high bit of each byte of `word` that is an ASCII letter, per byte
/// without carries between bytes: the high bit of `lower + 0x1f` says
/// lower >= 'a', of `lower + 0x05` lower > 'z'.
#[inline]
fn swar_letters(word: u64) -> u64 {
    let lower = (word | 0x2020_2020_2020_2020) & !HIGH;
    let at_least_a = lower + 0x1f1f_1f1f_1f1f_1f1f;
    let above_z = lower + 0x0505_0505_0505_0505;
    at_least_a & !above_z & !word
}

/// The high bit of each byte of `word` that is an ASCII digit: the high bit
/// of `seven + 0x50` says seven >= '0', of `seven + 0x46` seven > '9'.
#[inline]
fn swar_digits(word: u64) -> u64 {
    let seven = word & !HIGH;
    (seven + 0x5050_5050_5050_5050) & !(seven + 0x4646_4646_4646_4646) & !word
}

/// The length of the run of ASCII letters (and digits, with `digits`) at the
/// start of `bytes`, sixteen bytes at a time while sixteen are left; the rest
/// by `tail`, which answers the same question.
#[inline]
fn by_sixteen(bytes: &[u8], digits: bool, tail: fn(&[u8]) -> usize) -> usize {
    let mut n = 0;
    #[cfg(target_arch = "x86_64")]
    while let Some(chunk) = bytes.get(n..n + 16) {
        let chunk: &[u8; 16] = chunk.try_into().unwrap_or(&[0; 16]);
        // SAFETY: SSE2 is part of every x86_64 CPU.
        let passing = unsafe { alphanumeric_mask_sse2(chunk, digits) };
        if passing != 0xFFFF {
            return n + passing.trailing_ones() as usize;
        }
        n += 16;
    }
    n + tail(&bytes[n..])
}

/// One bit per byte of `chunk`: an ASCII letter, or digit with `digits`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
unsafe fn alphanumeric_mask_sse2(chunk: &[u8; 16], digits: bool) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: the load reads the 16 bytes of `chunk`.
    let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) };
    // Signed compares: a byte above 0x7F is negative, so never in range.
    let within = |v: __m128i, lo: u8, hi: u8| {
        _mm_and_si128(
            _mm_cmpgt_epi8(v, _mm_set1_epi8(lo as i8 - 1)),
            _mm_cmplt_epi8(v, _mm_set1_epi8(hi as i8 + 1)),
        )
    };
    let mut passing = within(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', b'z');
    if digits {
        passing = _mm_or_si128(passing, within(v, b'0', b'9'));
    }
    _mm_movemask_epi8(passing) as u32
}

/// How many bytes at the start of `bytes` pass: `passing` marks the passing
/// bytes of a little-endian word by their high bits, `passes` tests one of
/// the last bytes.
#[inline]
fn prefix_len(bytes: &[u8], passing: impl Fn(u64) -> u64, passes: impl Fn(&u8) -> bool) -> usize {
    let mut n = 0;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let failing = !passing(u64::from_le_bytes(word.try_into().unwrap_or([0; 8]))) & HIGH;
        if failing != 0 {
            return n + failing.trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + words.remainder().iter().take_while(|b| passes(b)).count()
}

/// Same as [`std::str::from_utf8`], validated with SIMD (a trace's line is
/// mostly multi-byte Thai or Japanese, where the standard check is slow); the
/// standard library only runs again to describe an error.
pub fn str_from_utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(_) => std::str::from_utf8(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each byte value at each position of a 17-byte run (sixteen at a
    /// time, then the tail), for the fast and the eight-byte versions.
    fn check_every_byte_everywhere(
        run: &[u8; 17],
        passes: fn(&u8) -> bool,
        versions: [fn(&[u8]) -> usize; 2],
    ) {
        for b in 0..=255u8 {
            for at in 0..17 {
                let mut bytes = *run;
                bytes[at] = b;
                let slow = bytes.iter().take_while(|c| passes(c)).count();
                for version in versions {
                    assert_eq!(version(&bytes), slow, "byte {b:#x} at {at}");
                }
            }
        }
        for version in versions {
            assert_eq!(version(b""), 0);
        }
    }

    #[test]
    fn ascii_letter_prefixes_of_every_byte() {
        check_every_byte_everywhere(
            b"abcdefghIJKLMNOPq",
            u8::is_ascii_alphabetic,
            [ascii_letter_prefix_len, ascii_letter_prefix_len_swar],
        );
    }

    #[test]
    fn ascii_alphanumeric_prefixes_of_every_byte() {
        check_every_byte_everywhere(
            b"ab3defgh0JKL9NOPq",
            u8::is_ascii_alphanumeric,
            [
                ascii_alphanumeric_prefix_len,
                ascii_alphanumeric_prefix_len_swar,
            ],
        );
    }

    #[test]
    fn decodes_every_character_as_the_standard_library() {
        let text: String = (0..=0x10FFFF).filter_map(char::from_u32).collect();
        let mut i = 0;
        for c in text.chars() {
            assert_eq!(decode_at(&text, i), (c as u32, c.len_utf8()), "{c:?}");
            i += c.len_utf8();
        }
        assert_eq!(i, text.len());
    }

    #[test]
    fn loads_up_to_sixteen_bytes() {
        let bytes: Vec<u8> = (1..=16).collect();
        for n in 0..=16 {
            let mut padded = [0u8; 16];
            padded[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(
                load_le(&bytes[..n]),
                u128::from_le_bytes(padded),
                "{n} bytes"
            );
        }
    }

    #[test]
    fn ascii_prefixes() {
        for text in [
            "",
            "abc",
            "abcdefgh",
            "abcdefghé",
            "abcdefghijklmnoé",
            "é",
            "abcdefgh12345678",
        ] {
            let expected = text.bytes().take_while(u8::is_ascii).count();
            assert_eq!(ascii_prefix_len(text.as_bytes()), expected, "{text:?}");
        }
    }

    #[test]
    fn agrees_with_the_standard_library_everywhere() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(is_alphabetic(c), c.is_alphabetic(), "{c:?}");
            assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "{c:?}");
            assert_eq!(is_numeric(c), c.is_numeric(), "{c:?}");
            let lower: Vec<char> = c.to_lowercase().collect();
            assert_eq!(to_lowercase_first(c), lower[0], "{c:?}");
            assert_eq!(is_own_lowercase(c), lower == [c], "{c:?}");
        }
    }
}
