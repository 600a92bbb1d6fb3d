//! 64-byte blocks of ASCII text as bit masks (bit `i` for byte `i`), so that
//! the passes over a trace that care about runs of letters (token counts,
//! dedup units) walk runs instead of bytes: a sentence of English is a dozen
//! runs per block, not 64 branches.

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
        let within = |v: __m128i, lo: u8, hi: u8| {
            _mm_and_si128(
                _mm_cmpgt_epi8(v, _mm_set1_epi8(lo as i8 - 1)),
                _mm_cmplt_epi8(v, _mm_set1_epi8(hi as i8 + 1)),
            )
        };
        let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
        let letters = within(lower, b'a', b'z');
        let digits = within(v, b'0', b'9');
        let spaces = _mm_or_si128(
            within(v, b'\t', b'\r'),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)),
        );
        let bits = |v: __m128i| u64::from(_mm_movemask_epi8(v) as u16) << (16 * part);
        m.letters |= bits(letters);
        m.digits |= bits(digits);
        m.spaces |= bits(spaces);
    }
    (high == 0).then_some(m)
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
    fn runs() {
        let mut seen = Vec::new();
        for_each_run(0b1110_0110 | (0b11 << 62), |s, n| seen.push((s, n)));
        assert_eq!(seen, vec![(1, 2), (5, 3), (62, 2)]);
        seen.clear();
        for_each_run(u64::MAX, |s, n| seen.push((s, n)));
        assert_eq!(seen, vec![(0, 64)]);
        for_each_run(0, |_, _| panic!("no run in an empty mask"));
    }

    proptest::proptest! {
        #[test]
        fn sse2_equals_scalar(bytes in proptest::collection::vec(proptest::num::u8::ANY, BLOCK)) {
            let b: [u8; BLOCK] = bytes.try_into().unwrap();
            proptest::prop_assert_eq!(masks(&b), masks_scalar(&b));
            let ascii = b.map(|x| x & 0x7f);
            proptest::prop_assert_eq!(masks(&ascii), masks_scalar(&ascii));
        }
    }
}
