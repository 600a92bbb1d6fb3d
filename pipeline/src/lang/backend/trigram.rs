//! A fast scorer over lingua's own trigram models, for the per-unit work of
//! the fidelity measures.
//!
//! lingua stores its n-gram log-probabilities in one FST per language; a
//! lookup walks the FST once per n-gram per language, which caps lingua at a
//! few MB/s. Here the trigrams, bigrams and unigrams of the Latin-script
//! languages are read out of the same model files once, into one hash map
//! whose value holds every language's log-probability, so that a trigram of
//! the text costs one lookup for all languages. The scoring is lingua's
//! low-accuracy mode (trigrams, backing off to the bigram and unigram
//! prefix); `measure` asks real lingua wherever this scorer is unsure or
//! disagrees with the trace language, so it only speeds up the clear cases.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use super::lingua_words::Census;
use super::memo::TableMemo;
use crate::lang::Detection;

/// Up to this many languages per table (the Latin-script ones we know are 7).
const MAX: usize = 8;
/// A language that does not know an n-gram (a log-probability of 0.0 is a
/// real value: the n-gram's last letter is certain after its prefix).
const ABSENT: f32 = f32::NAN;
/// Log-probability of an n-gram unknown to a language at every order.
const FLOOR: f32 = -20.0;

/// A fast hash for packed code points (no need for SipHash): a multiply per
/// word and murmur3's finaliser, so that keys differing only in their high
/// characters still spread over hashbrown's low bucket bits.
#[derive(Default)]
pub(super) struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.write_u64(u64::from_le_bytes(tail));
    }
    fn write_u128(&mut self, x: u128) {
        self.write_u64(x as u64);
        self.write_u64((x >> 64) as u64);
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type Map = HashMap<u64, [f32; MAX], BuildHasherDefault<Fx>>;

pub struct TrigramTable {
    langs: Vec<&'static str>,
    map: Map,
}

pub(super) fn model_bytes(lang: &str) -> Option<&'static [u8]> {
    let dir = match lang {
        "en" => &lingua_english_language_model::ENGLISH_MODELS_DIRECTORY,
        "fr" => &lingua_french_language_model::FRENCH_MODELS_DIRECTORY,
        "de" => &lingua_german_language_model::GERMAN_MODELS_DIRECTORY,
        "es" => &lingua_spanish_language_model::SPANISH_MODELS_DIRECTORY,
        "pt" => &lingua_portuguese_language_model::PORTUGUESE_MODELS_DIRECTORY,
        "sw" => &lingua_swahili_language_model::SWAHILI_MODELS_DIRECTORY,
        "vi" => &lingua_vietnamese_language_model::VIETNAMESE_MODELS_DIRECTORY,
        _ => return None,
    };
    dir.get_file("ngrams.fst").map(|f| f.contents())
}

/// A language's n-grams of up to [`ORDER`] characters, as ([`key`],
/// log-probability), sorted by key.
fn short_ngrams(lang: &str) -> Vec<(u64, f32)> {
    let Some(map) = model_bytes(lang).and_then(|b| fst::Map::new(b).ok()) else {
        return Vec::new();
    };
    ngrams_up_to_order(&map)
}

/// [`short_ngrams`] of an FST of n-grams.
fn ngrams_up_to_order(map: &fst::Map<&[u8]>) -> Vec<(u64, f32)> {
    // Keys order n-grams by length, then by their characters; the FST
    // holds them in byte order, which is their characters' order for
    // n-grams of one length. So each length's list comes sorted, and the
    // lists one after the other are the sorted whole (sorting it was half
    // of the table's build).
    let mut by_length: [Vec<(u64, f32)>; ORDER] = Default::default();
    let fst = map.as_fst();
    walk_short(fst, fst.root(), NgramPath::default(), &mut by_length);
    by_length.concat()
}

/// Visits the n-grams of up to [`ORDER`] characters below `node` in byte
/// order, without going down to the longer ones (most of the FST: five
/// characters in 70% of English n-grams).
fn walk_short(
    fst: &fst::raw::Fst<&[u8]>,
    node: fst::raw::Node<'_>,
    path: NgramPath,
    by_length: &mut [Vec<(u64, f32)>; ORDER],
) {
    if path.whole() && path.chars > 0 && node.is_final() {
        let value = path.output.cat(node.final_output()).value();
        by_length[path.chars - 1].push((path.key, f64::from_bits(value) as f32));
    }
    if path.whole() && path.chars == ORDER {
        return;
    }
    for t in node.transitions() {
        if let Some(next) = path.then(t.inp, t.out) {
            walk_short(fst, fst.node(t.addr), next, by_length);
        }
    }
}

/// A path from an FST's root: the [`key`] of its whole characters, their
/// number, the bytes of a character begun, and the output so far.
#[derive(Clone, Copy)]
struct NgramPath {
    key: u64,
    chars: usize,
    begun: [u8; 4],
    begun_len: usize,
    output: fst::raw::Output,
}

impl Default for NgramPath {
    fn default() -> Self {
        NgramPath {
            key: 0,
            chars: 0,
            begun: [0; 4],
            begun_len: 0,
            output: fst::raw::Output::zero(),
        }
    }
}

impl NgramPath {
    /// No character is half read.
    fn whole(&self) -> bool {
        self.begun_len == 0
    }

    /// The path one byte further, or `None` where no n-gram below can have
    /// a [`key`]: bytes that are not UTF-8, a character NUL or beyond the BMP.
    fn then(mut self, byte: u8, output: fst::raw::Output) -> Option<Self> {
        self.begun[self.begun_len] = byte;
        self.begun_len += 1;
        let width = match self.begun[0] {
            0x00..=0x7F => 1,
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return None,
        };
        if self.begun_len == width {
            // ASCII as it is (most n-grams), other characters through std's
            // validation (overlong forms, surrogates), as `from_utf8` of the
            // n-gram did.
            let c = if width == 1 {
                char::from(byte)
            } else {
                std::str::from_utf8(&self.begun[..width])
                    .ok()?
                    .chars()
                    .next()?
            };
            self.key = (self.key << 16) | key(&[c])?;
            self.chars += 1;
            self.begun_len = 0;
        }
        self.output = self.output.cat(output);
        Some(self)
    }
}

/// Calls `f` with each distinct key of the languages' sorted lists and every
/// language's value for it ([`ABSENT`] where it has none), in key order. (A
/// language lists a key once: [`key`] packs distinct n-grams apart.)
fn merge_sorted(per_lang: &[Vec<(u64, f32)>], mut f: impl FnMut(u64, [f32; MAX])) {
    let mut heads = vec![0usize; per_lang.len()];
    loop {
        let next = per_lang
            .iter()
            .zip(&heads)
            .filter_map(|(list, &h)| list.get(h).map(|e| e.0))
            .min();
        let Some(k) = next else { break };
        let mut values = [ABSENT; MAX];
        for (lang, (list, head)) in per_lang.iter().zip(heads.iter_mut()).enumerate() {
            if let Some(&(_, v)) = list.get(*head).filter(|e| e.0 == k) {
                values[lang] = v;
                *head += 1;
            }
        }
        f(k, values);
    }
}

/// The highest n-gram order read from lingua's models.
const ORDER: usize = 4;
/// ln(0.1): the discount of one back-off step.
const BACKOFF: f32 = -std::f32::consts::LN_10;

/// Packs 1–4 characters (each below U+10000, never NUL) into a key; n-grams
/// of different lengths never collide because no character is 0.
#[inline]
fn key(chars: &[char]) -> Option<u64> {
    let mut k = 0u64;
    for &c in chars {
        let c = c as u32;
        if c == 0 || c > 0xFFFF {
            return None;
        }
        k = (k << 16) | c as u64;
    }
    Some(k)
}

impl TrigramTable {
    /// Reads the 1–4-grams of the given languages (those lingua has models
    /// for among the Latin-script ones) out of lingua's model files.
    pub fn build(langs: &[&'static str]) -> Self {
        let langs: Vec<&'static str> = langs
            .iter()
            .copied()
            .filter(|l| model_bytes(l).is_some())
            .take(MAX)
            .collect();
        // Walking the FSTs is most of the cost: two threads, since a build
        // runs on two cores or more (more threads only add their heaps).
        let mut per_lang: Vec<Vec<(u64, f32)>> = vec![Vec::new(); langs.len()];
        std::thread::scope(|s| {
            let (evens, odds): (Vec<_>, Vec<_>) = per_lang
                .iter_mut()
                .enumerate()
                .partition(|(i, _)| i % 2 == 0);
            let langs = &langs;
            let walk = move |part: Vec<(usize, &mut Vec<(u64, f32)>)>| {
                for (i, out) in part {
                    *out = short_ngrams(langs[i]);
                }
            };
            s.spawn(move || walk(odds));
            walk(evens);
        });
        // Sized once (growing it rehashed and faulted in ~20 MB twice): the
        // languages share most short n-grams (268k distinct of 690k in the
        // seven Latin-script models, the longest list 133k), so twice the
        // longest list gets the same buckets as the distinct count would,
        // without a merge to count them; a map found too small still grows.
        let longest = per_lang.iter().map(Vec::len).max().unwrap_or(0);
        let total = per_lang.iter().map(Vec::len).sum::<usize>();
        let mut map: Map =
            Map::with_capacity_and_hasher((2 * longest).min(total), Default::default());
        merge_sorted(&per_lang, |k, values| {
            map.insert(k, values);
        });
        Self { langs, map }
    }

    /// Languages best first, with softmax confidences; empty when the text
    /// has no trigram.
    pub fn ranked(&self, text: &str) -> Vec<Detection> {
        let n = self.langs.len();
        if n == 0 {
            return Vec::new();
        }
        let mut sums = [0.0f64; MAX];
        let mut count = 0usize;
        WORD_MEMO.with(|memo| {
            let mut memo = memo.borrow_mut();
            memo.claim(self);
            let mut word = WordBuf::default();
            let mut add_word =
                |word: &mut WordBuf| memo.add_word(self, word, &mut sums, &mut count);
            // Names carry no language: a capitalised word that does not start a
            // sentence is skipped ("Final Answer: Raymond a 14 ans" is French).
            let mut sentence_start = true;
            let mut skip = false;
            let bytes = text.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                // An ASCII letter (most of a Latin text): the general case
                // below, without decoding it or asking the Unicode tables.
                let b = bytes[i];
                if b.is_ascii_alphabetic() {
                    // A word's opening run of ASCII letters (most words) in one
                    // step; letters that go on with a word one at a time.
                    if word.len == 0 && !skip {
                        let run = crate::chars::ascii_letter_prefix_len(&bytes[i..]);
                        if !sentence_start && b.is_ascii_uppercase() {
                            skip = true;
                        } else {
                            word.push_ascii_run(&bytes[i..], run);
                        }
                        i += run;
                        continue;
                    }
                    i += 1;
                    if !skip {
                        word.push_ascii(b.to_ascii_lowercase());
                    }
                    continue;
                }
                // ASCII here is no letter: taken as it is, not decoded.
                let c = if b.is_ascii() {
                    char::from(b)
                } else {
                    let Some(c) = text[i..].chars().next() else {
                        break;
                    };
                    c
                };
                i += c.len_utf8();
                if b.is_ascii() || !crate::chars::is_alphabetic(c) {
                    if word.len != 0 || skip {
                        sentence_start = false;
                    }
                    add_word(&mut word);
                    if crate::lang::opens_sentence(c) {
                        sentence_start = true;
                    }
                    skip = false;
                    continue;
                }
                if skip {
                    continue;
                }
                if word.len == 0 && !sentence_start && c.is_uppercase() {
                    skip = true;
                    continue;
                }
                word.push(crate::chars::to_lowercase_first(c));
            }
            add_word(&mut word);
        });
        if count == 0 {
            return Vec::new();
        }
        let max = sums[..n].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut exps = [0.0f64; MAX];
        for k in 0..n {
            exps[k] = (sums[k] - max).exp();
        }
        let total: f64 = exps[..n].iter().sum();
        let mut out: Vec<Detection> = self
            .langs
            .iter()
            .zip(exps)
            .map(|(l, e)| Detection {
                lang: l,
                confidence: e / total,
            })
            .collect();
        out.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then_with(|| a.lang.cmp(b.lang))
        });
        out
    }
}

/// A word being read, lowercased: its first 16 bytes packed into the memo's
/// key as they come (no string is built for most words); a longer word is
/// spelled out in full.
#[derive(Default)]
struct WordBuf {
    /// The bytes, zero-padded, little-endian (byte i in bits 8i..8i+8):
    /// letters are never NUL, so different words never share a key.
    key: u128,
    len: usize,
    /// The whole word, once it is longer than 16 bytes.
    long: String,
}

impl WordBuf {
    #[inline]
    fn push_ascii(&mut self, b: u8) {
        if self.len < 16 {
            self.key |= u128::from(b) << (8 * self.len);
            self.len += 1;
        } else {
            self.push(char::from(b));
        }
    }

    /// `push_ascii` of each of the first `len` bytes of `bytes` (ASCII
    /// letters) lowercased, into an empty buffer: up to 16 of them in one
    /// load (`bytes` may go on past them).
    #[inline]
    fn push_ascii_run(&mut self, bytes: &[u8], len: usize) {
        debug_assert_eq!(self.len, 0);
        if len > 16 {
            bytes[..len]
                .iter()
                .for_each(|b| self.push_ascii(b.to_ascii_lowercase()));
            return;
        }
        // `| 0x20` lowercases an ASCII letter; the padding stays zero.
        let case = u128::MAX.checked_shr(8 * (16 - len as u32)).unwrap_or(0);
        self.key = crate::chars::load_le_prefix(bytes, len)
            | (0x2020_2020_2020_2020_2020_2020_2020_2020 & case);
        self.len = len;
    }

    #[inline]
    fn push(&mut self, c: char) {
        let mut utf8 = [0u8; 4];
        let bytes = c.encode_utf8(&mut utf8).as_bytes();
        if self.len + bytes.len() <= 16 {
            for &b in bytes {
                self.key |= u128::from(b) << (8 * self.len);
                self.len += 1;
            }
            return;
        }
        if self.long.is_empty() {
            let packed = self.key.to_le_bytes();
            self.long
                .push_str(std::str::from_utf8(&packed[..self.len]).unwrap_or_default());
        }
        self.long.push(c);
        self.len += bytes.len();
    }

    fn clear(&mut self) {
        self.key = 0;
        self.len = 0;
        self.long.clear();
    }

    /// Calls `f` with the word as text.
    fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        if self.len > 16 {
            return f(&self.long);
        }
        let packed = self.key.to_le_bytes();
        f(std::str::from_utf8(&packed[..self.len]).unwrap_or_default())
    }
}

impl TrigramTable {
    /// Per language, the summed log-probabilities of every letter of one
    /// lowercase word, and its letter count. Every order ending at a letter
    /// counts, as lingua's high-accuracy mode sums its orders; an n-gram a
    /// language has never seen costs the next lower order's probability,
    /// discounted (Katz-style).
    fn score_word(&self, word: &str) -> ([f64; MAX], usize) {
        let n = self.langs.len();
        let mut sums = [0.0f64; MAX];
        // The last ORDER letters, oldest first.
        let mut win = ['\0'; ORDER];
        let mut len = 0usize;
        let mut letters = 0usize;
        for c in word.chars() {
            if len == ORDER {
                win.copy_within(1.., 0);
                win[ORDER - 1] = c;
            } else {
                win[len] = c;
                len += 1;
            }
            letters += 1;
            let ngrams = &win[..len];
            let mut prev: [f32; MAX] = [0.0; MAX];
            for o in 1..=len {
                let g = &ngrams[len - o..];
                let v = key(g).and_then(|kk| self.map.get(&kk));
                for k in 0..n {
                    let p = match v {
                        Some(v) if !v[k].is_nan() => v[k],
                        _ if o == 1 => FLOOR,
                        _ => prev[k] + BACKOFF,
                    };
                    prev[k] = p;
                    sums[k] += p as f64;
                }
            }
        }
        (sums, letters)
    }

    /// [`Self::score_word`] through this thread's memo, as `ranked` asks it.
    #[cfg(test)]
    fn word_scores(&self, word: &str) -> WordScores {
        let mut buf = WordBuf::default();
        word.chars().for_each(|c| buf.push(c));
        WORD_MEMO.with(|memo| {
            let mut memo = memo.borrow_mut();
            memo.claim(self);
            let (scores, letters) = memo.scores(self, &buf);
            (*scores, letters)
        })
    }
}

/// Words longer than this are scored without the memo.
const MEMO_MAX_WORD_BYTES: usize = 32;
/// The memo is emptied when it holds this many words (a few MB per thread).
const MEMO_MAX_WORDS: usize = 1 << 16;

type WordScores = ([f64; MAX], usize);

/// A word's per-language scores on one cache line of their own (with the
/// letter count beside them, entries 72 bytes apart straddled two lines).
#[derive(Clone, Copy)]
#[repr(align(64))]
struct LineScores([f64; MAX]);

/// Per thread, the scores of the words seen: the words of a trace repeat
/// (the, de, est, ...).
#[derive(Default)]
struct WordMemo {
    /// The table the scores belong to (its address: tables live for the process).
    owner: usize,
    /// Words of up to 16 bytes, keyed by their bytes (no string compare),
    /// to their place in `scores` and their letter count: small entries, so
    /// that many stay in cache.
    short: HashMap<u128, (u32, u32), BuildHasherDefault<Fx>>,
    long: HashMap<Box<str>, (u32, u32), BuildHasherDefault<Fx>>,
    scores: Vec<LineScores>,
    /// The scores of the last word too long to remember.
    unmemoized: WordScores,
}

impl WordMemo {
    /// Makes the memo `table`'s: emptied when it held another table's
    /// scores, or already [`MEMO_MAX_WORDS`] of them (which bounds its memory).
    fn claim(&mut self, table: &TrigramTable) {
        let owner = table as *const TrigramTable as usize;
        if self.owner != owner || self.scores.len() >= MEMO_MAX_WORDS {
            self.owner = owner;
            self.short.clear();
            self.long.clear();
            self.scores.clear();
        }
    }

    /// Adds the word's scores to `sums` and its letters to `count`, and
    /// empties it; an empty word adds nothing.
    #[inline]
    fn add_word(
        &mut self,
        table: &TrigramTable,
        word: &mut WordBuf,
        sums: &mut [f64; MAX],
        count: &mut usize,
    ) {
        if word.len == 0 {
            return;
        }
        let (scores, letters) = self.scores(table, word);
        // Every lane, not just the languages': a fixed width that the
        // compiler vectorizes (the unused lanes add 0.0 to 0.0). Added in
        // copies: in place, each lane was loaded, added and stored alone.
        let mut added = *sums;
        for (sum, score) in added.iter_mut().zip(scores) {
            *sum += score;
        }
        *sums = added;
        *count += letters;
        word.clear();
    }

    /// The word's scores per language and its letter count.
    fn scores(&mut self, table: &TrigramTable, word: &WordBuf) -> (&[f64; MAX], usize) {
        let (at, letters) = if word.len <= 16 {
            match self.short.entry(word.key) {
                std::collections::hash_map::Entry::Occupied(e) => *e.get(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let slot = remember(&mut self.scores, word.with_text(|t| table.score_word(t)));
                    *e.insert(slot)
                }
            }
        } else if word.len > MEMO_MAX_WORD_BYTES {
            // Not remembered: scored each time.
            self.unmemoized = table.score_word(&word.long);
            return (&self.unmemoized.0, self.unmemoized.1);
        } else if let Some(&slot) = self.long.get(word.long.as_str()) {
            slot
        } else {
            let slot = remember(&mut self.scores, table.score_word(&word.long));
            self.long.insert(word.long.as_str().into(), slot);
            slot
        };
        (&self.scores[at as usize].0, letters as usize)
    }
}

/// Appends a word's scores; its place in `scores` and its letter count.
fn remember(scores: &mut Vec<LineScores>, (lanes, letters): WordScores) -> (u32, u32) {
    scores.push(LineScores(lanes));
    (scores.len() as u32 - 1, letters as u32)
}

thread_local! {
    static WORD_MEMO: std::cell::RefCell<WordMemo> = std::cell::RefCell::new(WordMemo::default());
    /// Per trigram key, [`TrigramTable::backed_off`].
    static TRIGRAM_MEMO: std::cell::RefCell<TableMemo<u64, [f32; MAX]>> =
        std::cell::RefCell::new(TableMemo::default());
}

impl TrigramTable {
    /// Per language, lingua's log-probability of a trigram (packed by
    /// [`key`]) in its low-accuracy sum: the trigram's own, else its bigram
    /// prefix's, else its first letter's, else nothing (0).
    fn backed_off(&self, trigram: u64) -> [f32; MAX] {
        let tri = self.map.get(&trigram);
        let bi = self.map.get(&(trigram >> 16));
        let uni = self.map.get(&(trigram >> 32));
        let mut out = [0.0f32; MAX];
        for (k, p) in out.iter_mut().enumerate() {
            *p = [tri, bi, uni]
                .iter()
                .find_map(|v| v.map(|v| v[k]).filter(|p| !p.is_nan()))
                .unwrap_or(0.0);
        }
        out
    }

    /// lingua's verdict on a long text, computed from the same numbers
    /// without its FST walks, where [`Census::leaves_latin_trigrams`] proves
    /// that lingua's rules leave it to the trigrams of the Latin-script
    /// languages: lingua then sums, per language, the log-probability of
    /// every *distinct* trigram of its lowercased words, backing off to the
    /// trigram's bigram and unigram prefix, and takes the largest sum (a tie
    /// is undecided). Names are kept (lingua keeps them). `None` wherever the
    /// rules might decide otherwise, so the caller asks lingua itself.
    /// `census` is [`Census::of`] the text.
    pub fn lingua_long_text(&self, text: &str, census: &Census) -> Option<&'static str> {
        let n = self.langs.len();
        if n == 0 {
            return None;
        }
        if !census.leaves_latin_trigrams() {
            return None;
        }
        // The distinct trigrams: sorted and deduplicated (cheaper than a set),
        // compacted as they come so that memory follows the distinct ones.
        let mut trigrams: Vec<u64> = Vec::new();
        let mut compacted = 0;
        for word in &census.words {
            let (mut a, mut b): (Option<char>, Option<char>) = (None, None);
            for c in text[word.start..word.end].chars() {
                let c = crate::chars::to_lowercase_first(c);
                if let (Some(x), Some(y)) = (a, b) {
                    trigrams.extend(key(&[x, y, c]));
                }
                (a, b) = (b, Some(c));
            }
            if trigrams.len() >= 2 * compacted + COMPACT_EVERY {
                sort_dedup_trigrams(&mut trigrams);
                compacted = trigrams.len();
            }
        }
        sort_dedup_trigrams(&mut trigrams);
        let mut sums = [0.0f64; MAX];
        TRIGRAM_MEMO.with(|memo| {
            let mut memo = memo.borrow_mut();
            memo.claim(self, MEMO_MAX_WORDS);
            for k3 in trigrams {
                let p = memo.get_or_insert_with(k3, || self.backed_off(k3));
                for k in 0..n {
                    sums[k] += p[k] as f64;
                }
            }
        });
        let mut best: Option<(usize, f64)> = None;
        let mut tie = false;
        for (k, &sum) in sums.iter().enumerate().take(n) {
            if sum >= 0.0 {
                continue; // lingua leaves out languages that know no trigram
            }
            match best {
                Some((_, b)) if sum == b => tie = true,
                Some((_, b)) if sum < b => {}
                _ => {
                    best = Some((k, sum));
                    tie = false;
                }
            }
        }
        if tie {
            return None;
        }
        best.map(|(k, _)| self.langs[k])
    }
}

/// N-grams collected before the first compaction (see [`sort_dedup`]).
pub(super) const COMPACT_EVERY: usize = 1 << 16;

/// Sorts and deduplicates: the distinct n-grams of a text, in a fixed order.
pub(super) fn sort_dedup<T: Ord>(v: &mut Vec<T>) {
    v.sort_unstable();
    v.dedup();
}

/// [`sort_dedup`] of packed trigrams: most repeats (a long text's trigrams
/// are mostly repeats) are dropped in one pass first, so the sort is short.
fn sort_dedup_trigrams(v: &mut Vec<u64>) {
    crate::distinct::drop_most_repeats(v);
    sort_dedup(v);
}

/// The process-wide table for a language set, built on first use (70–90 ms
/// on two cores for the seven Latin-script languages; `LinguaBackend::new`
/// starts it on the side).
pub fn shared(langs: &[&'static str]) -> &'static TrigramTable {
    use std::sync::Mutex;
    type Cache = Mutex<HashMap<Vec<&'static str>, &'static TrigramTable>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut key: Vec<&'static str> = langs.to_vec();
    key.sort_unstable();
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = map.get(&key) {
        return t;
    }
    let t: &'static TrigramTable = Box::leak(Box::new(TrigramTable::build(&key)));
    map.insert(key, t);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use fst::Streamer;

    #[test]
    fn merging_gives_every_key_once_with_each_languages_value() {
        let per_lang = vec![
            vec![(1, -1.0), (5, -5.0)],
            vec![(2, -2.0), (5, -0.5)],
            vec![],
        ];
        let mut merged = Vec::new();
        merge_sorted(&per_lang, |k, v| merged.push((k, v[0], v[1], v[2])));
        let absent = |x: f32| x.is_nan();
        assert_eq!(merged.iter().map(|m| m.0).collect::<Vec<_>>(), [1, 2, 5]);
        assert!(merged[0].1 == -1.0 && absent(merged[0].2) && absent(merged[0].3));
        assert!(absent(merged[1].1) && merged[1].2 == -2.0);
        assert!(merged[2].1 == -5.0 && merged[2].2 == -0.5 && absent(merged[2].3));
    }

    /// The table holds exactly the distinct 1–4-grams of lingua's models,
    /// each with every language's own value (counted here from the FSTs).
    #[test]
    fn the_table_holds_each_languages_short_ngrams() {
        let langs = ["en", "fr", "pt"];
        let table = TrigramTable::build(&langs);
        let mut distinct = std::collections::HashSet::new();
        for (k, lang) in langs.iter().enumerate() {
            let fst = fst::Map::new(model_bytes(lang).unwrap()).unwrap();
            let mut stream = fst.stream();
            while let Some((ngram, value)) = stream.next() {
                let s = std::str::from_utf8(ngram).unwrap();
                let chars: Vec<char> = s.chars().collect();
                if chars.len() > ORDER {
                    continue;
                }
                let v = table.map[&key(&chars).unwrap()];
                assert_eq!(v[k], f64::from_bits(value) as f32, "{lang} {s}");
                distinct.insert(s.to_string());
            }
        }
        assert_eq!(table.map.len(), distinct.len());
        for lang in langs {
            let ngrams = short_ngrams(lang);
            assert!(ngrams.windows(2).all(|w| w[0].0 < w[1].0), "{lang}");
        }
        let the = table.map[&key(&['t', 'h', 'e']).unwrap()];
        assert!(the[..3].iter().all(|p| *p < 0.0) && the[3..].iter().all(|p| p.is_nan()));
    }

    /// The walk keeps the n-grams of one to four BMP characters, sorted by
    /// key, and leaves the longer ones, those beyond the BMP or with NUL,
    /// and bytes that are not UTF-8 (a character cut short among them).
    #[test]
    fn the_walk_reads_short_ngrams_in_key_order() {
        let mut keys: Vec<&[u8]> = vec![
            b"a",
            b"a\xc3",
            b"ab",
            b"abcd",
            b"abcde",
            b"b",
            b"\0a",
            b"x\xffy",
            b"\x80",
            "é".as_bytes(),
            "éa".as_bytes(),
            "日本語".as_bytes(),
            "日本語です".as_bytes(),
            "a😀".as_bytes(),
            "\u{7ff}\u{800}\u{ffff}".as_bytes(),
        ];
        keys.sort();
        let mut builder = fst::MapBuilder::memory();
        for (i, k) in keys.iter().enumerate() {
            builder.insert(k, (-(i as f64)).to_bits()).unwrap();
        }
        let bytes = builder.into_inner().unwrap();
        let map = fst::Map::new(bytes.as_slice()).unwrap();
        let value = |k: &[u8]| -(keys.iter().position(|x| *x == k).unwrap() as f32);
        let entry = |s: &str| {
            (
                key(&s.chars().collect::<Vec<_>>()).unwrap(),
                value(s.as_bytes()),
            )
        };
        let mut expected: Vec<(u64, f32)> = [
            "a",
            "ab",
            "abcd",
            "b",
            "é",
            "éa",
            "日本語",
            "\u{7ff}\u{800}\u{ffff}",
        ]
        .into_iter()
        .map(entry)
        .collect();
        expected.sort_by_key(|e| e.0);
        assert_eq!(ngrams_up_to_order(&map), expected);
    }

    #[test]
    fn word_buffers_spell_their_words() {
        for word in [
            "a",
            "sixteen_letters!",
            "seventeen_letters",
            "fifteen_letterç", // a two-byte letter across the 16-byte line
            "ações",
            "anticonstitutionnellement",
        ] {
            let mut buf = WordBuf::default();
            word.chars().for_each(|c| buf.push(c));
            assert_eq!(buf.len, word.len());
            assert_eq!(buf.with_text(str::to_string), word);
            if word.len() <= 16 {
                let mut packed = [0u8; 16];
                packed[..word.len()].copy_from_slice(word.as_bytes());
                assert_eq!(buf.key, u128::from_le_bytes(packed), "{word}");
            }
            let mut ascii = WordBuf::default();
            word.bytes()
                .filter(u8::is_ascii)
                .for_each(|b| ascii.push_ascii(b));
            let kept: String = word.chars().filter(char::is_ascii).collect();
            assert_eq!(ascii.with_text(str::to_string), kept);
            // A run of ASCII letters in one step packs as letter by letter.
            let letters: Vec<u8> = word.bytes().filter(u8::is_ascii_alphabetic).collect();
            let upper = letters.to_ascii_uppercase();
            let (mut run, mut one_by_one) = (WordBuf::default(), WordBuf::default());
            run.push_ascii_run(&upper, upper.len());
            // Bytes after the run are left out (the 16-byte load's path).
            let mut followed = upper.clone();
            followed.extend_from_slice(b" and more letters after it");
            let mut run_in_text = WordBuf::default();
            run_in_text.push_ascii_run(&followed, upper.len());
            assert_eq!(
                (run_in_text.key, run_in_text.len),
                (run.key, run.len),
                "{word}"
            );
            letters.iter().for_each(|&b| one_by_one.push_ascii(b));
            assert_eq!(
                (run.key, run.len),
                (one_by_one.key, one_by_one.len),
                "{word}"
            );
            assert_eq!(
                run.with_text(str::to_string),
                one_by_one.with_text(str::to_string)
            );
            buf.clear();
            buf.push('x');
            assert_eq!(buf.with_text(str::to_string), "x");
        }
    }

    #[test]
    fn the_word_memo_changes_no_score() {
        let table = shared(&["en", "fr", "pt"]);
        let text = "Le chat mange la souris. The cat eats the mouse; o gato come o rato.";
        // Cold memo on a fresh thread, then warm (every word seen) here twice.
        let cold = std::thread::scope(|s| s.spawn(|| table.ranked(text)).join().unwrap());
        let warm = (table.ranked(text), table.ranked(text));
        assert_eq!(cold, warm.0);
        assert_eq!(cold, warm.1);
        // A word's memoized score is its direct score.
        for word in ["chat", "mouse", "gato", "quelconque"] {
            assert_eq!(table.word_scores(word), table.score_word(word));
        }
        assert_eq!(cold.len(), 3);
        let french = table.ranked("Le chat mange la souris dans la cuisine de la maison.");
        assert_eq!(french[0].lang, "fr");
    }
}
