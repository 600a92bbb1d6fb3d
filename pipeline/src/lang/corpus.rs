//! The paper's corpus metrics over candidates (one [`Fidelity`] each).

use serde::Serialize;

use super::measure::Fidelity;

/// Fractions in [0, 1] over the candidates given.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct CorpusFidelity {
    /// Share of candidates whose trace language is the query language.
    pub consistency: f64,
    /// Share of candidates with two or more detected languages.
    pub code_switch_rate: f64,
    /// Line pass rate: share of candidates whose every line is the query
    /// language or undetectable.
    pub lpr: f64,
    /// Word pass rate over the LPR-passing candidates: among the candidates
    /// that pass the line test, the share that also pass the word test
    /// (0 when none passes the line test).
    pub wpr: f64,
    /// Harmonic mean of LPR and WPR (0 when both are 0).
    pub lcpr: f64,
}

/// Corpus metrics from per-candidate results and their query languages.
/// An empty corpus gives all zeros.
pub fn corpus_fidelity(items: &[(&Fidelity, &str)]) -> CorpusFidelity {
    let n = items.len();
    if n == 0 {
        return CorpusFidelity::default();
    }
    let mut consistent = 0usize;
    let mut switched = 0usize;
    let mut line_ok = 0usize;
    let mut word_ok = 0usize;
    for (f, q) in items {
        if f.trace_lang == *q {
            consistent += 1;
        }
        if f.code_switch {
            switched += 1;
        }
        if f.line_pass {
            line_ok += 1;
            if f.word_pass {
                word_ok += 1;
            }
        }
    }
    let frac = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let lpr = frac(line_ok, n);
    let wpr = frac(word_ok, line_ok);
    let lcpr = if lpr + wpr > 0.0 {
        2.0 * lpr * wpr / (lpr + wpr)
    } else {
        0.0
    };
    CorpusFidelity {
        consistency: frac(consistent, n),
        code_switch_rate: frac(switched, n),
        lpr,
        wpr,
        lcpr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fid(lang: &str, line: bool, word: bool, cs: bool) -> Fidelity {
        Fidelity {
            trace_lang: lang.into(),
            confidence: 1.0,
            line_pass: line,
            word_pass: word,
            segments: vec![],
            code_switch: cs,
            cs_langs: vec![],
            purity: 1.0,
        }
    }

    #[test]
    fn metrics_by_hand() {
        let a = fid("fr", true, true, false);
        let b = fid("en", false, true, true);
        let c = fid("fr", true, false, false);
        let d = fid("fr", true, true, true);
        let items = [(&a, "fr"), (&b, "fr"), (&c, "fr"), (&d, "fr")];
        let m = corpus_fidelity(&items);
        assert_eq!(m.consistency, 0.75);
        assert_eq!(m.code_switch_rate, 0.5);
        assert_eq!(m.lpr, 0.75);
        assert!((m.wpr - 2.0 / 3.0).abs() < 1e-12);
        let h = 2.0 * 0.75 * (2.0 / 3.0) / (0.75 + 2.0 / 3.0);
        assert!((m.lcpr - h).abs() < 1e-12);
        assert_eq!(corpus_fidelity(&[]), CorpusFidelity::default());
    }
}
