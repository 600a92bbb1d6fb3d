//! 64-byte blocks of text as bit masks (bit `i` for byte `i`), so that passes
//! over a trace walk runs instead of bytes: a sentence of English is a dozen
//! runs per block, not 64 branches. [`masks`] classifies an all-ASCII block
//! (token counts and dedup units take its runs of letters whole);
//! [`SetScanner`] skips the bytes of a set (the math stripper passes over
//! letters, spaces and prose punctuation).

/// Bytes per block.
pub const BLOCK: usize = 64;

/// What each byte of an all-ASCII block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Masks {
    /// `A`–`Z`, `a`–`z`.
    pub letters: u64,
    /// `0`–`9`.
    pub digits: u64,
    /// `char::is_whitespace` in ASCII: tab, LF, VT, FF, CR, space.
    pub spaces: u64,
}

/// The masks of `block`, or `None` when it holds a byte outside ASCII.
#[inline]
pub fn masks(block: &[u8; BLOCK]) -> Option<Masks> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of every x86_64 CPU.
        unsafe { masks_sse2(block) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        masks_scalar(block)
    }
}

/// Calls `f` with the start and length of every run of set bits of `mask`,
/// in order.
#[inline]
pub fn for_each_run(mask: u64, mut f: impl FnMut(usize, usize)) {
    let mut rest = mask;
    while rest != 0 {
        let start = rest.trailing_zeros();
        // The zeros shifted in at the top end the run at the block's end.
        let len = (!(rest >> start)).trailing_zeros();
        f(start as usize, len as usize);
        let end = start + len;
        rest = if end >= 64 {
            0
        } else {
            rest & (u64::MAX << end)
        };
    }
}

/// Bit `i` for byte `i` of `chunk` that is ASCII and not a letter (a space,
/// a digit, punctuation): a byte that is never part of a word.
#[inline]
pub fn ascii_non_letters(chunk: &[u8; 16]) -> u16 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of every x86_64 CPU.
        unsafe { ascii_non_letters_sse2(chunk) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        ascii_non_letters_scalar(chunk)
    }
}

#[cfg(any(test, not(target_arch = "x86_64")))]
fn ascii_non_letters_scalar(chunk: &[u8; 16]) -> u16 {
    let mut m = 0u16;
    for (i, &b) in chunk.iter().enumerate() {
        m |= u16::from(b.is_ascii() && !b.is_ascii_alphabetic()) << i;
    }
    m
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
unsafe fn ascii_non_letters_sse2(chunk: &[u8; 16]) -> u16 {
    use std::arch::x86_64::*;
    // SAFETY: the 16 bytes lie inside the chunk.
    let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) };
    // Bytes of 0x80 and above are negative: neither ASCII nor letters.
    let ascii = _mm_cmpgt_epi8(v, _mm_set1_epi8(-1));
    _mm_movemask_epi8(_mm_andnot_si128(ascii_letters_sse2(v), ascii)) as u16
}

/// 0xFF in each byte of `v` from `lo` to `hi` (ASCII bounds; signed
/// compares, so no byte of 0x80 or above is in range).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn within_sse2(v: std::arch::x86_64::__m128i, lo: u8, hi: u8) -> std::arch::x86_64::__m128i {
    use std::arch::x86_64::*;
    _mm_and_si128(
        _mm_cmpgt_epi8(v, _mm_set1_epi8(lo as i8 - 1)),
        _mm_cmplt_epi8(v, _mm_set1_epi8(hi as i8 + 1)),
    )
}

/// 0xFF in each byte of `v` that is an ASCII letter.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn ascii_letters_sse2(v: std::arch::x86_64::__m128i) -> std::arch::x86_64::__m128i {
    use std::arch::x86_64::*;
    within_sse2(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', b'z')
}

#[cfg(any(test, not(target_arch = "x86_64")))]
fn masks_scalar(block: &[u8; BLOCK]) -> Option<Masks> {
    if !block.is_ascii() {
        return None;
    }
    let mut m = Masks {
        letters: 0,
        digits: 0,
        spaces: 0,
    };
    for (i, &b) in block.iter().enumerate() {
        m.letters |= u64::from(b.is_ascii_alphabetic()) << i;
        m.digits |= u64::from(b.is_ascii_digit()) << i;
        m.spaces |= u64::from(matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ')) << i;
    }
    Some(m)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
unsafe fn masks_sse2(block: &[u8; BLOCK]) -> Option<Masks> {
    use std::arch::x86_64::*;
    let mut m = Masks {
        letters: 0,
        digits: 0,
        spaces: 0,
    };
    let mut high = 0i32;
    for part in 0..4 {
        // SAFETY: 16 bytes at 16 * part lie inside the 64-byte block.
        let v = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * part).cast()) };
        high |= _mm_movemask_epi8(v);
        // Signed compares are right for ASCII; a block with a high byte is
        // answered None below whatever they said.
        add_ascii_part_sse2(&mut m, v, part);
    }
    (high == 0).then_some(m)
}

/// Adds the letters, digits and spaces of 16 bytes at `16 * part` to `m`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn add_ascii_part_sse2(m: &mut Masks, v: std::arch::x86_64::__m128i, part: usize) {
    use std::arch::x86_64::*;
    let letters = ascii_letters_sse2(v);
    let digits = within_sse2(v, b'0', b'9');
    let spaces = _mm_or_si128(
        within_sse2(v, b'\t', b'\r'),
        _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)),
    );
    m.letters |= part_bits_sse2(letters, part);
    m.digits |= part_bits_sse2(digits, part);
    m.spaces |= part_bits_sse2(spaces, part);
}

/// The byte mask `v` of the 16 bytes at `16 * part`, as bits of a block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn part_bits_sse2(v: std::arch::x86_64::__m128i, part: usize) -> u64 {
    u64::from(std::arch::x86_64::_mm_movemask_epi8(v) as u16) << (16 * part)
}

/// The masks of a block of ASCII and two-byte Latin letters (U+00C0 to
/// U+023F but `×` and `÷`: the accents of French, Spanish, Portuguese and
/// German), whose two bytes both count as letters; `None` when it holds
/// any other byte, or a letter cut by an edge of the block.
#[inline]
pub fn latin_masks(block: &[u8; BLOCK]) -> Option<Masks> {
    // One maximum tells an all-ASCII block, and a block of another script
    // (a byte from 0xC9 on: Cyrillic, Thai, CJK); the others' high bytes
    // are checked, then their ASCII masks taken.
    let all_ascii = match max_byte(block) {
        0..=0x7F => true,
        0xC9.. => return None,
        _ => false,
    };
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of every x86_64 CPU.
    let mut m = unsafe { ascii_masks_sse2(block) };
    #[cfg(not(target_arch = "x86_64"))]
    let mut m = ascii_masks_scalar(block);
    if all_ascii {
        return Some(m);
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of every x86_64 CPU.
    let high = unsafe { high_bytes_sse2(block) };
    #[cfg(not(target_arch = "x86_64"))]
    let high = high_bytes_scalar(block);
    // Every high byte is a lead of U+00C0..U+023F (0xC3..=0xC8) followed by
    // its continuation, neither cut by the block's edges, and no lead 0xC3
    // is followed by 0x97 (`×`) or 0xB7 (`÷`).
    let latin = high.all == high.leads | high.continuations
        && high.continuations == high.leads << 1
        && high.leads >> (BLOCK - 1) == 0
        && high.times_or_divide & (high.c3 << 1) == 0;
    if !latin {
        return None;
    }
    m.letters |= high.all;
    Some(m)
}

/// The largest byte of `block`.
#[inline]
fn max_byte(block: &[u8; BLOCK]) -> u8 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of every x86_64 CPU.
        unsafe { max_byte_sse2(block) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        block.iter().copied().max().unwrap_or(0)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
unsafe fn max_byte_sse2(block: &[u8; BLOCK]) -> u8 {
    use std::arch::x86_64::*;
    // SAFETY: 16 bytes at 0, 16, 32 and 48 lie inside the 64-byte block.
    let part = |k: usize| unsafe { _mm_loadu_si128(block.as_ptr().add(16 * k).cast()) };
    let mut max = _mm_max_epu8(
        _mm_max_epu8(part(0), part(1)),
        _mm_max_epu8(part(2), part(3)),
    );
    // Folded in halves down to byte 0.
    max = _mm_max_epu8(max, _mm_srli_si128::<8>(max));
    max = _mm_max_epu8(max, _mm_srli_si128::<4>(max));
    max = _mm_max_epu8(max, _mm_srli_si128::<2>(max));
    max = _mm_max_epu8(max, _mm_srli_si128::<1>(max));
    _mm_cvtsi128_si32(max) as u8
}

/// The bytes of 0x80 and above of a block, for [`latin_masks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct HighBytes {
    all: u64,
    /// 0xC3..=0xC8: the leads of U+00C0..U+023F (0xC9 leads IPA letters too).
    leads: u64,
    /// 0x80..=0xBF.
    continuations: u64,
    c3: u64,
    /// 0x97 and 0xB7, the continuations of `×` and `÷` after 0xC3.
    times_or_divide: u64,
}

#[cfg(any(test, not(target_arch = "x86_64")))]
fn high_bytes_scalar(block: &[u8; BLOCK]) -> HighBytes {
    let mut h = HighBytes::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = |yes: bool| u64::from(yes) << i;
        h.all |= bit(b >= 0x80);
        h.leads |= bit((0xC3..=0xC8).contains(&b));
        h.continuations |= bit((0x80..=0xBF).contains(&b));
        h.c3 |= bit(b == 0xC3);
        h.times_or_divide |= bit(b == 0x97 || b == 0xB7);
    }
    h
}

/// The masks of a block's ASCII bytes (the others in none).
#[cfg(any(test, not(target_arch = "x86_64")))]
fn ascii_masks_scalar(block: &[u8; BLOCK]) -> Masks {
    let ascii = block.map(|b| if b.is_ascii() { b } else { 0 });
    masks_scalar(&ascii).unwrap_or(Masks {
        letters: 0,
        digits: 0,
        spaces: 0,
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
unsafe fn ascii_masks_sse2(block: &[u8; BLOCK]) -> Masks {
    use std::arch::x86_64::*;
    let mut m = Masks {
        letters: 0,
        digits: 0,
        spaces: 0,
    };
    for part in 0..4 {
        // SAFETY: 16 bytes at 16 * part lie inside the 64-byte block.
        let v = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * part).cast()) };
        add_ascii_part_sse2(&mut m, v, part);
    }
    m
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
unsafe fn high_bytes_sse2(block: &[u8; BLOCK]) -> HighBytes {
    use std::arch::x86_64::*;
    let mut h = HighBytes::default();
    // Signed compares: 0x80..=0xFF are -128..=-1, in order.
    let signed = |b: u8| _mm_set1_epi8(b as i8);
    for part in 0..4 {
        // SAFETY: 16 bytes at 16 * part lie inside the 64-byte block.
        let v = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * part).cast()) };
        h.all |= part_bits_sse2(v, part);
        let leads = _mm_and_si128(
            _mm_cmpgt_epi8(v, signed(0xC2)),
            _mm_cmplt_epi8(v, signed(0xC9)),
        );
        h.leads |= part_bits_sse2(leads, part);
        // Below 0xC0 and negative: 0x80..=0xBF.
        h.continuations |= part_bits_sse2(_mm_cmplt_epi8(v, signed(0xC0)), part);
        h.c3 |= part_bits_sse2(_mm_cmpeq_epi8(v, signed(0xC3)), part);
        let times_or_divide = _mm_or_si128(
            _mm_cmpeq_epi8(v, signed(0x97)),
            _mm_cmpeq_epi8(v, signed(0xB7)),
        );
        h.times_or_divide |= part_bits_sse2(times_or_divide, part);
    }
    h
}

/// A set of ASCII bytes, for [`SetScanner`].
pub struct ByteSet {
    /// The set as two nibble tables: `b` is in it when
    /// `low[b & 15] & high[b >> 4] != 0` (`high` is 0 from 8 on, so no byte
    /// of 0x80 or above is).
    low: [u8; 16],
    high: [u8; 16],
}

impl ByteSet {
    /// The set of the ASCII bytes in `members` (others are ignored).
    pub const fn of(members: &[u8]) -> Self {
        let mut set = ByteSet {
            low: [0; 16],
            high: [0; 16],
        };
        let mut h = 0;
        while h < 8 {
            set.high[h] = 1 << h;
            h += 1;
        }
        let mut k = 0;
        while k < members.len() {
            let b = members[k] as usize;
            if b < 128 {
                set.low[b & 15] |= 1 << (b >> 4);
            }
            k += 1;
        }
        set
    }

    /// The set of every ASCII byte but those of `excluded`.
    pub const fn ascii_except(excluded: &[u8]) -> Self {
        let mut set = Self::of(&[]);
        let mut b = 0u8;
        while b < 128 {
            let mut k = 0;
            while k < excluded.len() && excluded[k] != b {
                k += 1;
            }
            if k == excluded.len() {
                set.low[(b & 15) as usize] |= 1 << (b >> 4);
            }
            b += 1;
        }
        set
    }

    #[inline]
    pub fn contains(&self, b: u8) -> bool {
        self.low[usize::from(b & 15)] & self.high[usize::from(b >> 4)] != 0
    }
}

/// Finds the next byte *outside* a set, skipping members 64 at a time: a
/// pass whose common bytes need nothing (letters and spaces for the math
/// stripper) visits only the others, without a branch per byte.
pub struct SetScanner<'a> {
    set: &'static ByteSet,
    bytes: &'a [u8],
    /// The window last classified, `base..base + BLOCK` (none yet when
    /// `classified` is false): bit `i` for byte `base + i` outside the set.
    base: usize,
    classified: bool,
    others: u64,
    avx2: bool,
}

impl<'a> SetScanner<'a> {
    pub fn new(set: &'static ByteSet, bytes: &'a [u8]) -> Self {
        SetScanner {
            set,
            bytes,
            base: 0,
            classified: false,
            others: 0,
            #[cfg(target_arch = "x86_64")]
            avx2: std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            avx2: false,
        }
    }

    /// The first position at or after `from` whose byte is outside the set,
    /// or the length of the text.
    #[inline]
    pub fn next_outside(&mut self, mut from: usize) -> usize {
        loop {
            if from >= self.bytes.len() {
                return self.bytes.len();
            }
            if !self.classified || from < self.base || from - self.base >= BLOCK {
                match self.bytes.get(from..from + BLOCK) {
                    Some(window) => {
                        self.base = from;
                        self.classified = true;
                        self.others = self.classify(window.try_into().expect("64 bytes"));
                    }
                    // The tail: byte by byte.
                    None => {
                        return from
                            + self.bytes[from..]
                                .iter()
                                .take_while(|&&b| self.set.contains(b))
                                .count();
                    }
                }
            }
            let ahead = self.others >> (from - self.base);
            if ahead != 0 {
                return from + ahead.trailing_zeros() as usize;
            }
            from = self.base + BLOCK;
        }
    }

    #[inline]
    fn classify(&self, window: &[u8; BLOCK]) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: the CPU was checked for AVX2 in `new`.
            return unsafe { outside_avx2(self.set, window) };
        }
        outside_scalar(self.set, window)
    }
}

/// Bit `i` for byte `i` of `window` that is in `set`.
#[inline]
pub fn members(set: &ByteSet, window: &[u8; BLOCK]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU was just checked for AVX2.
        return !unsafe { outside_avx2(set, window) };
    }
    !outside_scalar(set, window)
}

fn outside_scalar(set: &ByteSet, window: &[u8; BLOCK]) -> u64 {
    let mut m = 0u64;
    for (i, &b) in window.iter().enumerate() {
        m |= u64::from(!set.contains(b)) << i;
    }
    m
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn outside_avx2(set: &ByteSet, window: &[u8; BLOCK]) -> u64 {
    use std::arch::x86_64::*;
    // SAFETY (all loads): 16-byte tables and 32-byte halves of a 64-byte window.
    let low = unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(set.low.as_ptr().cast())) };
    let high = unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(set.high.as_ptr().cast())) };
    let nibble = _mm256_set1_epi8(0x0f);
    let mut out = 0u64;
    for half in 0..2 {
        let v = unsafe { _mm256_loadu_si256(window.as_ptr().add(32 * half).cast()) };
        let lo = _mm256_shuffle_epi8(low, _mm256_and_si256(v, nibble));
        let hi = _mm256_shuffle_epi8(high, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble));
        let member = _mm256_and_si256(lo, hi);
        let outside = _mm256_cmpeq_epi8(member, _mm256_setzero_si256());
        out |= u64::from(_mm256_movemask_epi8(outside) as u32) << (32 * half);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(text: &[u8]) -> [u8; BLOCK] {
        let mut b = [b'.'; BLOCK];
        b[..text.len()].copy_from_slice(text);
        b
    }

    #[test]
    fn masks_of_a_block() {
        let m = masks(&block(b"Ab 9\tz@[`{/:\x0b")).unwrap();
        assert_eq!(m.letters, 0b10_0011);
        assert_eq!(m.digits, 0b1000);
        assert_eq!(m.spaces, 0b1_0000_0001_0100);
        assert_eq!(masks(&block("é".as_bytes())), None);
        assert_eq!(masks(&block(b"\x7f")).unwrap().letters, 0);
    }

    #[test]
    fn latin_masks_of_a_block() {
        // Both bytes of an accented letter are letters.
        let m = latin_masks(&block("é a\u{23f}".as_bytes())).unwrap();
        assert_eq!(m.letters, 0b11_1011);
        assert_eq!(m.spaces, 0b100);
        assert_eq!(latin_masks(&block(b"Ab 9")), masks(&block(b"Ab 9")));
        // Other characters, and letters cut by the block's edges, are not.
        for other in [
            "×", "÷", "\u{a0}", "\u{bf}", "\u{240}", "\u{250}", "ж", "答", "\u{300}",
        ] {
            assert_eq!(latin_masks(&block(other.as_bytes())), None, "{other}");
        }
        let mut cut = block(b"");
        cut[BLOCK - 1] = 0xC3;
        assert_eq!(latin_masks(&cut), None);
        let mut cut = block(b"");
        cut[0] = 0xA9;
        assert_eq!(latin_masks(&cut), None);
    }

    #[test]
    fn runs() {
        let mut seen = Vec::new();
        for_each_run(0b1110_0110 | (0b11 << 62), |s, n| seen.push((s, n)));
        assert_eq!(seen, vec![(1, 2), (5, 3), (62, 2)]);
        seen.clear();
        for_each_run(u64::MAX, |s, n| seen.push((s, n)));
        assert_eq!(seen, vec![(0, 64)]);
        for_each_run(0, |_, _| panic!("no run in an empty mask"));
    }

    static VOWELS: ByteSet = ByteSet::of(b"aeiou \xe9");

    /// The first byte outside the set, one byte at a time.
    fn next_outside_slowly(set: &ByteSet, bytes: &[u8], from: usize) -> usize {
        (from..bytes.len())
            .find(|&i| !set.contains(bytes[i]))
            .unwrap_or(bytes.len())
    }

    #[test]
    fn byte_sets() {
        for b in 0..=255u8 {
            let vowel = matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b' ');
            assert_eq!(VOWELS.contains(b), vowel, "{b:#x}");
            let by_nibbles =
                b < 0x80 && VOWELS.low[usize::from(b & 15)] & VOWELS.high[usize::from(b >> 4)] != 0;
            assert_eq!(by_nibbles, vowel, "{b:#x}");
        }
    }

    proptest::proptest! {
        /// Every window size and position, and bytes on both sides of 0x80.
        #[test]
        fn the_scanner_finds_what_a_byte_loop_finds(
            bytes in proptest::collection::vec(proptest::sample::select(vec![b'a', b'e', b' ', b'x', 0x80, 0xe0, 0x61 | 0x80]), 0..300),
            jumps in proptest::collection::vec(0usize..80, 1..20),
        ) {
            let mut scanner = SetScanner::new(&VOWELS, &bytes);
            let mut from = 0;
            for jump in jumps {
                proptest::prop_assert_eq!(scanner.next_outside(from), next_outside_slowly(&VOWELS, &bytes, from));
                from += jump;
            }
            let window: Option<&[u8; BLOCK]> = bytes.get(..BLOCK).and_then(|w| w.try_into().ok());
            if let Some(w) = window {
                proptest::prop_assert_eq!(scanner.classify(w), outside_scalar(&VOWELS, w));
            }
        }

        #[test]
        fn sse2_equals_scalar(bytes in proptest::collection::vec(proptest::num::u8::ANY, BLOCK)) {
            let b: [u8; BLOCK] = bytes.try_into().unwrap();
            proptest::prop_assert_eq!(masks(&b), masks_scalar(&b));
            let ascii = b.map(|x| x & 0x7f);
            proptest::prop_assert_eq!(masks(&ascii), masks_scalar(&ascii));
            // SAFETY: SSE2 is part of every x86_64 CPU.
            #[cfg(target_arch = "x86_64")]
            proptest::prop_assert_eq!(unsafe { high_bytes_sse2(&b) }, high_bytes_scalar(&b));
            proptest::prop_assert_eq!(max_byte(&b), b.iter().copied().max().unwrap_or(0));
            proptest::prop_assert_eq!(max_byte(&ascii), ascii.iter().copied().max().unwrap_or(0));
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            proptest::prop_assert_eq!(unsafe { ascii_masks_sse2(&b) }, ascii_masks_scalar(&b));
            for chunk in b.chunks_exact(16) {
                let chunk: &[u8; 16] = chunk.try_into().unwrap();
                proptest::prop_assert_eq!(ascii_non_letters(chunk), ascii_non_letters_scalar(chunk));
            }
        }
    }
}
