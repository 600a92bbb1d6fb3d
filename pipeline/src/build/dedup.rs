//! Duplicate detection, in input order: exact on the normalized question +
//! reasoning, and near-duplicates by MinHash with LSH banding within a
//! language. The first occurrence is kept.

use std::collections::HashMap;

use crate::build::config::NearDup;
use crate::build::units::{mix, ngram_hashes_of};
use crate::distinct::RepeatFilter;

const PERMUTATIONS: usize = 64;
const BANDS: usize = 16;
const ROWS_PER_BAND: usize = PERMUTATIONS / BANDS;

/// What dedup compares, computed per record in the parallel stages (the
/// MinHash signature is most of the cost) so the ordered stage only looks up.
#[derive(Debug, Clone, PartialEq)]
pub struct DedupKeys {
    exact: [u8; 16],
    minhash: Option<Box<[u32; PERMUTATIONS]>>,
}

/// The keys of a row under a near-dup configuration.
pub fn keys(question: &str, reasoning: &str, near: &NearDup) -> DedupKeys {
    DedupKeys {
        exact: exact_key(question, reasoning),
        minhash: near
            .enabled
            .then(|| Box::new(minhash(question, reasoning, near.shingle))),
    }
}

/// A row found to duplicate a kept one.
#[derive(Debug, Clone, PartialEq)]
pub struct Duplicate {
    /// Names the kept row.
    pub detail: String,
    /// Same normalized question and reasoning as the kept row (not just similar).
    pub exact: bool,
}

/// Remembers what was kept so far. Memory grows with the number of kept
/// rows (16 bytes per row for exact dedup, 256 more with near-dup).
pub struct Deduplicator {
    exact: Option<HashMap<[u8; 16], u32>>,
    near: Option<NearIndex>,
    ids: Vec<String>,
}

struct NearIndex {
    config: NearDup,
    /// The languages seen, numbered in order.
    langs: HashMap<String, u32>,
    /// (language number, band, band hash) → rows with that band: a key
    /// without a string to build per band (32 allocations per row).
    buckets: HashMap<(u32, u8, u64), Vec<u32>>,
    signatures: Vec<[u32; PERMUTATIONS]>,
}

impl Deduplicator {
    pub fn new(exact: bool, near: &NearDup) -> Self {
        Deduplicator {
            exact: exact.then(HashMap::new),
            near: near.enabled.then(|| NearIndex {
                config: near.clone(),
                langs: HashMap::new(),
                buckets: HashMap::new(),
                signatures: Vec::new(),
            }),
            ids: Vec::new(),
        }
    }

    /// `Some` when the row duplicates one seen before; otherwise the row is
    /// remembered and `None` returned.
    pub fn check(&mut self, id: &str, lang: &str, keys: &DedupKeys) -> Option<Duplicate> {
        if let Some(exact) = &self.exact {
            if let Some(&first) = exact.get(&keys.exact) {
                return Some(Duplicate {
                    detail: format!("exact duplicate of {}", self.ids[first as usize]),
                    exact: true,
                });
            }
        }
        let signature = self.near.as_ref().and(keys.minhash.as_deref());
        if let (Some(near), Some(sig)) = (&self.near, signature) {
            if let Some((first, sim)) = near.find(lang, sig) {
                return Some(Duplicate {
                    detail: format!(
                        "near duplicate of {} (estimated Jaccard {sim:.2})",
                        self.ids[first as usize]
                    ),
                    exact: false,
                });
            }
        }
        let slot = self.ids.len() as u32;
        self.ids.push(id.to_string());
        if let Some(exact) = &mut self.exact {
            exact.insert(keys.exact, slot);
        }
        if let (Some(near), Some(sig)) = (&mut self.near, signature) {
            near.insert(lang, slot, *sig);
        }
        None
    }
}

/// XXH3-128 of the question, a NUL and the reasoning: a key that only this
/// run compares, so it needs no cryptographic hash (SHA-256 was 3% of a
/// build); 128 bits make a collision in a billion traces about 1e-21 likely.
fn exact_key(question: &str, reasoning: &str) -> [u8; 16] {
    let mut h = twox_hash::XxHash3_128::new();
    h.write(question.as_bytes());
    h.write(&[0]);
    h.write(reasoning.as_bytes());
    h.finish_128().to_le_bytes()
}

fn minhash(question: &str, reasoning: &str, shingle: usize) -> [u32; PERMUTATIONS] {
    let mut sig = [u32::MAX; PERMUTATIONS];
    let hashes = ngram_hashes_of(&[question, reasoning], shingle);
    // A slot's minimum over the shingles is its minimum over the distinct
    // ones, and a trace repeats about half of its shingles (restated steps,
    // loops), each of which would cost 64 multiplies: the fold passes over
    // most repeats.
    let mut repeats = RepeatFilter::for_values(hashes.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq")
    {
        // SAFETY: the CPU was just checked for the features the function enables.
        unsafe { fold_avx512(&mut sig, &hashes, &mut repeats) };
        return sig;
    }
    fold(&mut sig, &hashes, &mut repeats);
    sig
}

/// Lowers each slot of `sig` to the shingles' values under its permutation
/// (the shingles that `repeats` has seen before left out): one strong mix
/// per shingle, then a multiply-add-shift hash per permutation (a multiply
/// per slot instead of a whole mix).
#[inline(always)]
fn fold(sig: &mut [u32; PERMUTATIONS], hashes: &[u64], repeats: &mut RepeatFilter) {
    // The minima are kept in 64-bit lanes (each value fits in 32 bits) and
    // narrowed once at the end: no narrowing per shingle.
    let mut wide = sig.map(u64::from);
    for &g in hashes {
        if !repeats.first_time(g) {
            continue;
        }
        let x = mix(g);
        for ((slot, &a), &b) in wide.iter_mut().zip(&MULTIPLIERS).zip(&ADDENDS) {
            *slot = (*slot).min(x.wrapping_mul(a).wrapping_add(b) >> 32);
        }
    }
    for (slot, w) in sig.iter_mut().zip(wide) {
        *slot = w as u32;
    }
}

/// [`fold`] with 64-bit vector multiplies: eight permutations per instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn fold_avx512(sig: &mut [u32; PERMUTATIONS], hashes: &[u64], repeats: &mut RepeatFilter) {
    fold(sig, hashes, repeats)
}

/// Odd multipliers and addends of the permutations, fixed for all runs.
const MULTIPLIERS: [u64; PERMUTATIONS] = permutation_constants(1);
const ADDENDS: [u64; PERMUTATIONS] = permutation_constants(2);

const fn permutation_constants(salt: u64) -> [u64; PERMUTATIONS] {
    let mut out = [0u64; PERMUTATIONS];
    let mut i = 0;
    while i < PERMUTATIONS {
        out[i] = mix((i as u64) << 8 | salt) | 1;
        i += 1;
    }
    out
}

fn band_hash(sig: &[u32; PERMUTATIONS], band: usize) -> u64 {
    sig[band * ROWS_PER_BAND..(band + 1) * ROWS_PER_BAND]
        .iter()
        .fold(band as u64, |acc, &v| mix(acc ^ u64::from(v)))
}

impl NearIndex {
    fn find(&self, lang: &str, sig: &[u32; PERMUTATIONS]) -> Option<(u32, f64)> {
        let &lang = self.langs.get(lang)?;
        let mut best: Option<(u32, f64)> = None;
        for band in 0..BANDS {
            let key = (lang, band as u8, band_hash(sig, band));
            for &cand in self.buckets.get(&key).into_iter().flatten() {
                let other = &self.signatures[cand as usize];
                let same = sig.iter().zip(other).filter(|(a, b)| a == b).count();
                let sim = same as f64 / PERMUTATIONS as f64;
                if sim >= self.config.threshold
                    && best.is_none_or(|(b, s)| sim > s || (sim == s && cand < b))
                {
                    best = Some((cand, sim));
                }
            }
        }
        best
    }

    fn insert(&mut self, lang: &str, slot: u32, sig: [u32; PERMUTATIONS]) {
        let lang = match self.langs.get(lang) {
            Some(&number) => number,
            None => {
                let number = self.langs.len() as u32;
                self.langs.insert(lang.to_string(), number);
                number
            }
        };
        for band in 0..BANDS {
            let key = (lang, band as u8, band_hash(&sig, band));
            self.buckets.entry(key).or_default().push(slot);
        }
        self.signatures.push(sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "Il y a 16 œufs par jour. Elle en mange 3 et en utilise 4 pour les muffins. \
        Il reste donc 16 - 3 - 4 = 9 œufs. Elle vend chaque œuf 2 dollars. Donc elle gagne 9 × 2 = 18 dollars par jour au marché.";

    fn check(
        d: &mut Deduplicator,
        near: &NearDup,
        id: &str,
        lang: &str,
        q: &str,
        r: &str,
    ) -> Option<String> {
        d.check(id, lang, &keys(q, r, near)).map(|dup| dup.detail)
    }

    #[test]
    fn exact_and_near_duplicates_are_found_in_order() {
        let on = NearDup::default();
        let mut d = Deduplicator::new(true, &on);
        assert_eq!(check(&mut d, &on, "a", "fr", "Q", TRACE), None);
        assert_eq!(
            check(&mut d, &on, "b", "fr", "Q", TRACE).as_deref(),
            Some("exact duplicate of a")
        );
        // One word changed near the end: true Jaccard of the 5-gram sets 0.96
        // (a change mid-text gives 0.78, below the threshold).
        let near = TRACE.replace("au marché", "au marche");
        let detail = check(&mut d, &on, "c", "fr", "Q", &near).expect("near duplicate");
        assert!(detail.starts_with("near duplicate of a"), "{detail}");
        // Same text in another language bucket is not compared.
        assert_eq!(check(&mut d, &on, "d", "pt", "Q", &near), None);
        // A different problem is kept.
        let other =
            "Un train roule à 60 km par heure pendant 3 heures. Il parcourt 60 × 3 = 180 km.";
        assert_eq!(check(&mut d, &on, "e", "fr", "Q2", other), None);
    }

    /// The signature as defined: per permutation, the minimum over the
    /// distinct shingles.
    fn signature_by_definition(hashes: &[u64]) -> [u32; PERMUTATIONS] {
        let distinct: std::collections::BTreeSet<u64> = hashes.iter().copied().collect();
        std::array::from_fn(|k| {
            distinct
                .iter()
                .map(|&g| {
                    (mix(g).wrapping_mul(MULTIPLIERS[k]).wrapping_add(ADDENDS[k]) >> 32) as u32
                })
                .min()
                .unwrap_or(u32::MAX)
        })
    }

    #[test]
    fn the_signature_skips_repeats_and_nothing_else() {
        let text = format!("{TRACE} {TRACE} Donc elle gagne 18 dollars. {TRACE}");
        let hashes = ngram_hashes_of(&["Q", &text], NearDup::default().shingle);
        assert!(hashes.len() > 3 * 40, "{} shingles", hashes.len());
        assert_eq!(
            minhash("Q", &text, NearDup::default().shingle),
            signature_by_definition(&hashes)
        );
        let mut sig = [u32::MAX; PERMUTATIONS];
        fold(
            &mut sig,
            &hashes,
            &mut RepeatFilter::for_values(hashes.len()),
        );
        assert_eq!(sig, signature_by_definition(&hashes));
    }

    #[test]
    fn near_dup_can_be_disabled() {
        let off = NearDup {
            enabled: false,
            ..NearDup::default()
        };
        let mut d = Deduplicator::new(true, &off);
        assert_eq!(check(&mut d, &off, "a", "fr", "Q", TRACE), None);
        assert_eq!(
            check(
                &mut d,
                &off,
                "c",
                "fr",
                "Q",
                &TRACE.replace("Donc", "Ainsi")
            ),
            None
        );
    }
}
