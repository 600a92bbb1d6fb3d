//! lingua's confidence values for a Latin-script text, computed from its own
//! model files without its per-language FST walks.
//!
//! The fidelity measures rank the short Latin units of a trace (an English
//! sentence inside a Thai or Japanese trace) with lingua's accurate mode:
//! below 120 letters it sums, per language and per order 1 to 5, the
//! log-probability of every *distinct* n-gram of the lowercased words (an
//! n-gram a language does not know backs off to its prefixes), divides the
//! sum over the orders by the number of distinct letters the language knows,
//! and turns the results into shares of their exponentials. lingua walks one
//! FST per n-gram, prefix and language; here each n-gram's values for every
//! language are looked up once and remembered per thread, since the same
//! n-grams recur in every trace.
//!
//! Only texts whose words and rule stages we reproduce exactly are answered
//! (see [`Census`]): Latin-letter words where lingua's rules provably leave
//! every configured Latin-script language in play. Anything else returns
//! `None`, and the caller asks lingua.
//!
//! lingua adds the n-grams of a text in hash-set order, so its own last bits
//! vary from run to run; this sum runs in a fixed order. The two agree to
//! rounding (tested against lingua on real traces).

use std::cell::RefCell;

use super::lingua::to_lingua;
use super::lingua_words::Census;
use super::memo::TableMemo;
use super::trigram::{model_bytes, sort_dedup, COMPACT_EVERY};
use crate::lang::Detection;

/// Up to this many languages (the Latin-script ones lingua knows here are 7).
const MAX: usize = 8;
/// lingua's longest n-gram.
const ORDER: usize = 5;
/// From this many letters on lingua uses trigrams only.
const LONG_TEXT_LETTERS: usize = 120;

/// lingua's n-gram models of a set of Latin-script languages.
pub struct NgramModels {
    /// In lingua's order (its `Language` enum), which breaks ties.
    langs: Vec<&'static str>,
    maps: Vec<fst::Map<&'static [u8]>>,
}

impl NgramModels {
    /// The models of `langs`, or `None` unless every one of them has a model
    /// here and they are at least two (lingua treats a single language
    /// differently).
    pub fn new(langs: &[&'static str]) -> Option<Self> {
        let mut langs: Vec<&'static str> = langs.to_vec();
        langs.sort_by_key(|l| to_lingua(l));
        langs.dedup();
        if langs.len() < 2 || langs.len() > MAX {
            return None;
        }
        let maps = langs
            .iter()
            .map(|l| fst::Map::new(model_bytes(l)?).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(Self { langs, maps })
    }

    /// lingua's `compute_language_confidence_values(text)` for a detector of
    /// exactly these languages, best first, zeros dropped; `None` where this
    /// text is not provably one we reproduce.
    pub fn confidences(&self, text: &str) -> Option<Vec<Detection>> {
        let census = Census::of(text, usize::MAX)?;
        if census.words.is_empty()
            || census.latin_letters != census.letters
            || !census.leaves_latin_ngrams()
        {
            return None;
        }
        let words: Vec<Vec<char>> = census
            .words
            .iter()
            .map(|w| lowercase(&text[w.start..w.end]))
            .collect();
        let letters = census.letters;
        let orders = if letters >= LONG_TEXT_LETTERS {
            3..=3
        } else {
            1..=ORDER
        };
        let n = self.langs.len();
        // Per language: the summed log-probabilities of each order (`None`
        // where lingua's map for that order leaves the language out).
        let mut per_order: Vec<[Option<f64>; MAX]> = Vec::new();
        let mut unigrams_known = [0u32; MAX];
        for order in orders {
            if letters < order {
                continue;
            }
            let ngrams = distinct_ngrams(&words, order);
            let mut sums = [0.0f64; MAX];
            NGRAM_MEMO.with(|memo| {
                let mut memo = memo.borrow_mut();
                memo.claim(self, MEMO_MAX);
                for &key in &ngrams {
                    let values = memo.get_or_insert_with(key, || look_up(self, key, order));
                    for k in 0..n {
                        if !values[k].is_nan() {
                            sums[k] += values[k];
                            // lingua's `count_unigrams`: distinct letters it knows.
                            unigrams_known[k] += u32::from(order == 1);
                        }
                    }
                }
            });
            let mut map = [None; MAX];
            for k in 0..n {
                if sums[k] < 0.0 {
                    map[k] = Some(sums[k]);
                }
            }
            per_order.push(map);
        }
        // lingua's `sum_up_probabilities` and `compute_confidence_values`.
        let mut exps = [0.0f64; MAX];
        let mut any = false;
        for k in 0..n {
            let mut sum: f64 = per_order.iter().map(|m| m[k].unwrap_or(0.0)).sum();
            if unigrams_known[k] > 0 {
                sum /= unigrams_known[k] as f64;
            }
            if sum != 0.0 {
                exps[k] = sum.exp();
                any = true;
            }
        }
        if !any {
            return Some(Vec::new());
        }
        let denominator: f64 = exps[..n].iter().sum();
        if denominator == 0.0 {
            // lingua then picks the best of its first map, in hash order on
            // ties: leave it to lingua.
            return None;
        }
        let mut out: Vec<Detection> = (0..n)
            .map(|k| Detection {
                lang: self.langs[k],
                confidence: exps[k] / denominator,
            })
            .filter(|d| d.confidence > 0.0)
            .collect();
        // Best first; ties in lingua's language order (`langs` is in it and
        // the sort is stable).
        out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        Some(out)
    }
}

/// A word lowercased as lingua does (`str::to_lowercase` on the whole text;
/// for the letters [`Census`] accepts, character by character is the same).
fn lowercase(word: &str) -> Vec<char> {
    word.chars().map(crate::chars::to_lowercase_first).collect()
}

/// The distinct n-grams of one order over all words, packed (see [`pack`]).
fn distinct_ngrams(words: &[Vec<char>], order: usize) -> Vec<u128> {
    let mut out: Vec<u128> = Vec::new();
    let mut compacted = 0;
    for w in words {
        if w.len() >= order {
            out.extend(w.windows(order).map(pack));
        }
        // Memory follows the distinct n-grams, not the text's length.
        if out.len() >= 2 * compacted + COMPACT_EVERY {
            sort_dedup(&mut out);
            compacted = out.len();
        }
    }
    sort_dedup(&mut out);
    out
}

/// Up to five characters as one number, 21 bits each; characters are never
/// NUL, so n-grams of different lengths never share a key.
fn pack(chars: &[char]) -> u128 {
    chars
        .iter()
        .fold(0u128, |k, &c| (k << 21) | u128::from(c as u32))
}

fn unpack(mut key: u128, len: usize) -> [char; ORDER] {
    let mut out = ['\0'; ORDER];
    for i in (0..len).rev() {
        out[i] = char::from_u32((key & 0x1F_FFFF) as u32).unwrap_or('\0');
        key >>= 21;
    }
    out
}

/// Per n-gram, each language's log-probability after lingua's back-off (the
/// n-gram, else its longest known prefix); NaN where it knows none of them.
type Values = [f64; MAX];

/// The memo is emptied when it holds this many n-grams (about 10 MB).
const MEMO_MAX: usize = 1 << 17;

thread_local! {
    static NGRAM_MEMO: RefCell<TableMemo<u128, Values>> = RefCell::new(TableMemo::default());
}

/// lingua's `look_up_ngram_probability` over the n-gram and then its
/// prefixes, longest first, per language.
fn look_up(models: &NgramModels, key: u128, len: usize) -> Values {
    let chars = unpack(key, len);
    let mut bytes = [0u8; 4 * ORDER];
    let mut ends = [0usize; ORDER];
    let mut used = 0;
    for (i, c) in chars[..len].iter().enumerate() {
        used += c.encode_utf8(&mut bytes[used..]).len();
        ends[i] = used;
    }
    let mut out = [f64::NAN; MAX];
    for (k, map) in models.maps.iter().enumerate() {
        out[k] = (0..len)
            .rev()
            .find_map(|i| map.get(&bytes[..ends[i]]))
            .map_or(f64::NAN, f64::from_bits);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::lingua::tame_long_words;
    use super::*;

    #[test]
    fn packing_round_trips() {
        let g = ['é', 't', 'é', 'ữ', 'z'];
        for len in 1..=5 {
            assert_eq!(&unpack(pack(&g[..len]), len)[..len], &g[..len]);
        }
        assert_ne!(pack(&['a']), pack(&['\u{1}', 'a']));
    }

    #[test]
    fn refuses_texts_it_cannot_reproduce() {
        let m = NgramModels::new(&["en", "fr", "de"]).unwrap();
        assert!(m.confidences("").is_none());
        // Words with accents on most of them: lingua's letter rules may narrow.
        assert!(m.confidences("été déjà là").is_none());
        // Thai letters: not all words are Latin.
        assert!(m.confidences("the cat ครับ").is_none());
        assert!(NgramModels::new(&["en"]).is_none());
        assert!(NgramModels::new(&["en", "th"]).is_none());
    }

    const LATIN: [&str; 7] = ["en", "fr", "de", "es", "pt", "sw", "vi"];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// Random Latin texts, short (orders 1 to 5) and long (trigrams):
        /// wherever it answers, lingua's own confidences.
        #[test]
        fn the_confidences_are_linguas_on_random_texts(
            words in proptest::collection::vec(
                proptest::sample::select(vec![
                    "the", "total", "is", "Final", "Answer", "le", "chat", "donc", "été",
                    "die", "Katze", "und", "el", "gato", "es", "o", "gato", "é", "ya",
                    "và", "na", "ni", "xyz", "aaaa", "Step", "q",
                ]),
                1..60,
            ),
        ) {
            let text = words.join(" ");
            let models = NgramModels::new(&LATIN).unwrap();
            if let Some(ours) = models.confidences(&text) {
                let theirs = super::super::lingua::ranked_tamed(super::super::lingua::shared(&LATIN), &tame_long_words(&text));
                proptest::prop_assert_eq!(ours.len(), theirs.len(), "{}", text);
                for (a, b) in ours.iter().zip(&theirs) {
                    proptest::prop_assert!((a.confidence - b.confidence).abs() < 1e-9, "{}: {:?} vs {:?}", text, ours, theirs);
                }
            }
        }
    }

    /// The Latin-script pieces of a real trace's lines (what the measures
    /// rank: English inside Thai or Japanese, French sentences), and the
    /// whole lines of Latin traces.
    fn pieces(file: &str) -> Vec<String> {
        use crate::lang::script::{script_of, Script};
        // Run-time first: cargo may reuse a test binary built in another checkout.
        let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
            || env!("CARGO_MANIFEST_DIR").into(),
            std::path::PathBuf::from,
        );
        let dir = manifest.join("../../shared/data");
        let path = dir.join(format!("traces/s1-mgsm/{file}.jsonl"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut out = Vec::new();
        for line in text.lines() {
            let record: serde_json::Value = serde_json::from_str(line).expect("json line");
            let mask = crate::lang::math_mask(record["output"].as_str().unwrap_or(""));
            for line in mask.lines() {
                out.push(line.trim().to_string());
                out.extend(
                    line.split(|c| script_of(c).is_some_and(|s| s != Script::Latin))
                        .map(|p| p.trim().to_string())
                        .filter(|p| p.chars().any(char::is_alphabetic)),
                );
            }
        }
        out.retain(|p| !p.is_empty() && p.len() < 400);
        out.sort();
        out.dedup();
        out
    }

    /// Wherever it answers, the result is lingua's: the same languages in the
    /// same order with the same confidences (to lingua's own run-to-run
    /// rounding), on thousands of pieces of real traces; and it answers for
    /// most of them.
    #[test]
    fn the_confidences_are_linguas() {
        let models = NgramModels::new(&LATIN).unwrap();
        let lingua = super::super::lingua::shared(&LATIN);
        let (mut answered, mut total) = (0usize, 0usize);
        for file in [
            "32B_system/ja",
            "32B_system/th",
            "14B_NxN/zh",
            "14B_NxN/fr",
            "14B_NxN/es",
        ] {
            for piece in pieces(file) {
                total += 1;
                let Some(ours) = models.confidences(&piece) else {
                    continue;
                };
                answered += 1;
                let theirs = super::super::lingua::ranked_tamed(lingua, &tame_long_words(&piece));
                assert_eq!(
                    ours.len(),
                    theirs.len(),
                    "{piece:?}: {ours:?} vs {theirs:?}"
                );
                for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                    assert!(
                        (a.confidence - b.confidence).abs() < 1e-9,
                        "{piece:?}: {ours:?} vs {theirs:?}"
                    );
                    let tied = |v: &[Detection]| {
                        v.get(i + 1)
                            .is_some_and(|n| (n.confidence - v[i].confidence).abs() < 1e-9)
                            || (i > 0 && (v[i - 1].confidence - v[i].confidence).abs() < 1e-9)
                    };
                    assert!(
                        a.lang == b.lang || tied(&ours),
                        "{piece:?}: {ours:?} vs {theirs:?}"
                    );
                }
            }
        }
        eprintln!("exact confidences for {answered} of {total} pieces");
        assert!(2 * answered > total, "answered only {answered} of {total}");
    }
}
