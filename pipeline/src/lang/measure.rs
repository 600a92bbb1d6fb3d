//! The fidelity measures of one trace against its query language.
//!
//! # The default definition
//!
//! The math-stripped trace (see [`math_mask`]) is cut into *units*: runs of
//! one script group within a line (Latin lines longer than
//! `sentence_split_letters` letters are cut again at sentence ends). A unit
//! is *evidence* only when it is big enough (`min_segment_letters` weighted
//! letters, a Han or Hangul character weighing 3, and `min_segment_words`
//! words in a spaced script):
//!
//! * a non-Latin unit is settled by its script (Hangul → ko, kana → ja, …;
//!   Han without kana shorter than `han_ambiguous_below` characters could be
//!   Japanese kanji and is not evidence);
//! * a Latin unit goes to the n-gram backend once.
//!
//! The trace language is the letter-weighted pool of the evidence (lingua's
//! confidence values are summed per language), with its share as confidence.
//! A Latin unit then leaves the trace language only with a margin: its best
//! language must beat the trace language by `switch_margin` and reach
//! `min_confidence`. A language whose evidence adds up to fewer than
//! `min_switch_letters` letters is dropped as noise. Units that are not
//! evidence (a lone "Final Answer", a formula's variable names) take the
//! language of the text before them. Segments are the runs of units of one
//! language; `code_switch` is two or more languages among them.
//!
//! `line_pass`: no line whose own evidence is mostly another language.
//! `word_pass`: for a non-Latin-script query language no run of two or more
//! Latin letters; for a Latin-script one no letter outside the Latin blocks.
//! `purity`: the share of letters in segments of the query language.
//!
//! # The paper's definition (`Preset::Paper`)
//!
//! lingua alone, restricted to the configured languages, on the same
//! math-stripped text: `trace_lang` is `detect_language_of(trace)`,
//! `line_pass` asks `detect_language_of` of every non-empty line, segments
//! are `detect_multiple_languages_of(trace)` and `code_switch` is two or more
//! languages among them. It flags most in-language traces as code-switched
//! (it invents Spanish and Portuguese segments in French text); it is kept so
//! that our numbers can be set beside the paper's.

use std::str::FromStr;

use serde::Serialize;

use super::backend::lingua::tame_long_words;
use super::script::{
    is_latin_script_lang, is_word_continuer, lang_group, script_of, script_table, settle_group,
    Group, Script, Settled,
};
use super::strip::math_mask;
use super::{Detection, Detector};
use crate::ascii_block::{members, ByteSet, SetScanner, BLOCK};

/// Which definition of the measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Preset {
    /// Ours: segments of several words, a confidence margin, script evidence.
    #[default]
    Default,
    /// The paper's: lingua's detection and experimental multi-language detection.
    Paper,
}

impl FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "default" | "ours" => Ok(Preset::Default),
            "paper" => Ok(Preset::Paper),
            other => Err(format!(
                "unknown preset `{other}` (expected default or paper)"
            )),
        }
    }
}

/// Thresholds of the default definition (the paper preset ignores them).
#[derive(Debug, Clone, PartialEq)]
pub struct FidelityOptions {
    pub preset: Preset,
    /// Weighted letters a unit needs to count as evidence (Han/Hangul weigh 3).
    pub min_segment_letters: u32,
    /// Words a unit in a spaced script needs to count as evidence.
    pub min_segment_words: u32,
    /// An n-gram verdict below this confidence is no evidence of a switch.
    pub min_confidence: f64,
    /// A Latin unit leaves the trace language only if its best language beats
    /// the trace language's confidence by this much.
    pub switch_margin: f64,
    /// A language needs this many weighted letters of evidence in the trace
    /// to count as switched to.
    pub min_switch_letters: u32,
    /// Han-only runs shorter than this (in characters) may be Japanese kanji.
    pub han_ambiguous_below: u32,
    /// Latin lines longer than this many letters are cut at sentence ends.
    pub sentence_split_letters: u32,
    /// A run of units whose fast ranking leaves the trace language by this
    /// margin (and has twice `min_switch_letters`) is a switch without asking
    /// the accurate detector.
    pub certain_margin: f64,
    /// A trace language with less than this share of the pooled evidence is
    /// decided by the detector on the whole text.
    pub close_call_below: f64,
    /// Texts with fewer Latin letters of evidence than this use the accurate
    /// ranking throughout; longer ones the fast one, confirmed where it matters.
    pub accurate_below_letters: u32,
}

impl Default for FidelityOptions {
    fn default() -> Self {
        Self {
            preset: Preset::Default,
            min_segment_letters: 15,
            min_segment_words: 3,
            min_confidence: 0.6,
            switch_margin: 0.3,
            min_switch_letters: 30,
            han_ambiguous_below: 12,
            sentence_split_letters: 160,
            accurate_below_letters: 600,
            certain_margin: 0.98,
            close_call_below: 0.7,
        }
    }
}

impl FidelityOptions {
    pub fn paper() -> Self {
        Self {
            preset: Preset::Paper,
            ..Self::default()
        }
    }
}

/// A run of text in one language: a byte span of the *original* text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub lang: String,
    pub start: usize,
    pub end: usize,
}

/// The measures of one trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fidelity {
    /// ISO 639-1 or "unknown".
    pub trace_lang: String,
    pub confidence: f64,
    pub line_pass: bool,
    pub word_pass: bool,
    pub segments: Vec<Segment>,
    pub code_switch: bool,
    pub cs_langs: Vec<String>,
    /// Share of letters in segments detected as the query language (0 when
    /// there are no letters).
    pub purity: f64,
}

impl Fidelity {
    /// The answer for a text without letters: nothing detected, nothing failed.
    pub fn unknown() -> Self {
        Self {
            trace_lang: "unknown".into(),
            confidence: 0.0,
            line_pass: true,
            word_pass: true,
            segments: Vec::new(),
            code_switch: false,
            cs_langs: Vec::new(),
            purity: 0.0,
        }
    }

    /// The JSON object the `fidelity` verb writes.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "trace_lang": self.trace_lang,
            "confidence": round4(self.confidence),
            "line_pass": self.line_pass,
            "word_pass": self.word_pass,
            "code_switch": self.code_switch,
            "cs_langs": self.cs_langs,
            "purity": round4(self.purity),
            "segments": self.segments.iter().map(|s| serde_json::json!([s.lang, s.start, s.end])).collect::<Vec<_>>(),
        })
    }
}

fn round4(x: f64) -> f64 {
    if x.is_finite() {
        (x * 10_000.0).round() / 10_000.0
    } else {
        0.0
    }
}

/// The measures of `text` (a reasoning trace) for query language `query_lang`.
pub fn measure(
    det: &dyn Detector,
    text: &str,
    query_lang: &str,
    opts: &FidelityOptions,
) -> Fidelity {
    match measure_with(det, text, query_lang, opts, Scope::Always) {
        Ok(fid) | Err(OtherLanguage { fid }) => fid,
    }
}

/// A trace whose language is not the query language, as a filter needs it:
/// [`Fidelity`]'s `trace_lang` and `confidence` are set, the other measures
/// are not taken (a rejected trace's lines and segments would go unused).
#[derive(Debug, Clone, PartialEq)]
pub struct OtherLanguage {
    pub fid: Fidelity,
}

/// [`measure`] when the trace is in the query language; its language and
/// confidence alone otherwise. The build's `language` stage asks this: on
/// Thai traces that collapsed into English the lines and segments were a
/// sixth of the measure.
pub fn measure_in_query_language(
    det: &dyn Detector,
    text: &str,
    query_lang: &str,
    opts: &FidelityOptions,
) -> Result<Fidelity, OtherLanguage> {
    measure_with(det, text, query_lang, opts, Scope::InQueryLanguage)
}

/// Which traces get every measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Always,
    InQueryLanguage,
}

impl Scope {
    /// The measures stop at the trace language: it is not the query's and
    /// only traces in the query language are measured in full.
    fn stops(self, trace_lang: Option<&str>, query: &str) -> bool {
        self == Scope::InQueryLanguage && !is_lang(trace_lang, query)
    }
}

/// The early answer of [`Scope::stops`].
fn other_language(trace_lang: Option<&str>, confidence: f64) -> OtherLanguage {
    OtherLanguage {
        fid: Fidelity {
            trace_lang: trace_lang.unwrap_or("unknown").to_string(),
            confidence,
            ..Fidelity::unknown()
        },
    }
}

fn measure_with(
    det: &dyn Detector,
    text: &str,
    query_lang: &str,
    opts: &FidelityOptions,
    scope: Scope,
) -> Result<Fidelity, OtherLanguage> {
    // "FR" and " fr" are French too.
    let query_lang = super::canonical_lang(query_lang).unwrap_or(query_lang);
    let mask = math_mask(text);
    let fid = match opts.preset {
        Preset::Default => measure_default(det, &mask, query_lang, opts, scope)?,
        Preset::Paper => measure_paper(det, &mask, query_lang, scope)?,
    };
    if scope.stops(Some(&fid.trace_lang), query_lang) {
        // No letters at all: "unknown", measured in full.
        return Err(OtherLanguage { fid });
    }
    Ok(fid)
}

/// `word_pass` on a math mask: for a non-Latin-script language no run of 2+
/// Latin letters, for a Latin-script one no letter outside the Latin blocks.
/// Languages of unknown script pass.
pub fn word_pass(mask: &str, query_lang: &str) -> bool {
    let mut runs = ScriptRuns::default();
    for c in mask.chars() {
        runs.see(c, script_of(c));
    }
    runs.word_pass(query_lang)
}

/// What `word_pass` needs to know of a text, gathered one character at a
/// time (the default measures gather it in their pass that cuts units).
#[derive(Debug, Default, Clone, Copy)]
struct ScriptRuns {
    /// Latin letters since the last break (another script's letter, or a
    /// character that does not continue a word).
    run: u32,
    latin_pair: bool,
    non_latin_letter: bool,
}

impl ScriptRuns {
    #[inline]
    fn see(&mut self, c: char, script: Option<Script>) {
        match script {
            Some(Script::Latin) => {
                self.run += 1;
                self.latin_pair |= self.run >= 2;
            }
            Some(_) => {
                self.non_latin_letter = true;
                self.run = 0;
            }
            None => {
                if !is_word_continuer(c) {
                    self.run = 0;
                }
            }
        }
    }

    /// `see` of each of `len` ASCII bytes, the letters' bits in `letters`
    /// (no ASCII byte is a word continuer).
    #[inline]
    fn see_ascii(&mut self, letters: u64, len: usize) {
        let carry = u64::from(self.run > 0);
        self.latin_pair |= letters & ((letters << 1) | carry) != 0;
        let others = !letters & (u64::MAX >> (BLOCK - len));
        self.run = if others == 0 {
            self.run.saturating_add(len as u32)
        } else {
            (len - 1 - (63 - others.leading_zeros()) as usize) as u32
        };
    }

    /// `see` of `n` Latin letters in a row.
    #[inline]
    fn see_latin_letters(&mut self, n: u32) {
        self.run = self.run.saturating_add(n);
        self.latin_pair |= self.run >= 2;
    }

    fn word_pass(&self, query_lang: &str) -> bool {
        if is_latin_script_lang(query_lang) {
            !self.non_latin_letter
        } else if lang_group(query_lang).is_none() {
            true
        } else {
            !self.latin_pair
        }
    }
}

// ---------------------------------------------------------------------------
// Default definition.

#[derive(Debug, Clone)]
struct Unit {
    start: usize,
    end: usize,
    line: u32,
    group: Group,
    letters: u32,
    words: u32,
    kana: u32,
    han: u32,
    /// The language this unit is evidence of, if it is evidence.
    own: Option<&'static str>,
    /// The language it is finally given (own or inherited).
    lang: Option<&'static str>,
}

impl Unit {
    /// An empty unit of `group` from byte `start` of line `line`.
    fn open(start: usize, line: u32, group: Group) -> Self {
        Unit {
            start,
            end: start,
            line,
            group,
            letters: 0,
            words: 0,
            kana: 0,
            han: 0,
            own: None,
            lang: None,
        }
    }

    fn weight(&self) -> u64 {
        self.letters as u64 * self.group.weight() as u64
    }
}

fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | ';')
}

/// The units of a mask, and what `word_pass` needs (gathered in the same pass).
fn units_of(mask: &str, opts: &FidelityOptions) -> (Vec<Unit>, ScriptRuns) {
    units_with::<true>(mask, opts)
}

/// The ASCII bytes that [`Prose::absorb`] passes over: all but line breaks
/// and sentence ends (which may close a unit).
static PROSE: ByteSet = ByteSet::ascii_except(b"\n.!?;");
static ASCII_LETTERS: ByteSet =
    ByteSet::of(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
/// Bytes that go on with a word they follow (l'oeuf, est-ce).
static JOINERS: ByteSet = ByteSet::of(b"'-");

/// [`units_of`]; `FAST` takes stretches of ASCII prose 64 bytes at a time
/// and runs of another script in a loop of their own (off: one character
/// at a time, the definition the tests hold the fast paths to).
fn units_with<const FAST: bool>(mask: &str, opts: &FidelityOptions) -> (Vec<Unit>, ScriptRuns) {
    let mut units: Vec<Unit> = Vec::new();
    let mut runs = ScriptRuns::default();
    let mut cur: Option<Unit> = None;
    let mut line = 0u32;
    let mut in_word = false;
    let scripts = script_table();
    let bytes = mask.as_bytes();
    let mut prose = SetScanner::new(&PROSE, bytes);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b' ' {
            runs.see(' ', None);
            in_word = false;
            i += 1;
            continue;
        }
        // ASCII prose (most of a Latin trace, and the English in others)
        // with no unit open or a Latin one: up to the next line break,
        // sentence end or non-ASCII character in blocks.
        if FAST
            && b.is_ascii()
            && cur.as_ref().is_none_or(|u| u.group == Group::Latin)
            && PROSE.contains(b)
        {
            let end = prose.next_outside(i);
            let mut state = Prose {
                cur: &mut cur,
                runs: &mut runs,
                in_word: &mut in_word,
                line,
            };
            state.absorb(bytes, i, end);
            i = end;
            continue;
        }
        // A run of ASCII letters that goes on with the current Latin unit.
        if b.is_ascii_alphabetic() {
            if let Some(u) = cur.as_mut().filter(|u| u.group == Group::Latin) {
                let run = crate::chars::ascii_letter_prefix_len(&bytes[i..]);
                u.letters = u.letters.saturating_add(run as u32);
                if !in_word {
                    u.words = u.words.saturating_add(1);
                }
                u.end = i + run;
                in_word = true;
                runs.see_latin_letters(run as u32);
                i += run;
                continue;
            }
        }
        let Some(c) = mask[i..].chars().next() else {
            break;
        };
        let start = i;
        i += c.len_utf8();
        if c == '\n' {
            runs.see(c, None);
            units.extend(cur.take());
            line += 1;
            in_word = false;
            continue;
        }
        let script = scripts.of(c);
        runs.see(c, script);
        match script {
            Some(s) => {
                let g = s.group();
                if cur.as_ref().is_some_and(|u| u.group != g) {
                    units.extend(cur.take());
                    in_word = false;
                }
                let u = cur.get_or_insert(Unit::open(start, line, g));
                u.letters = u.letters.saturating_add(1);
                if s.is_kana() {
                    u.kana = u.kana.saturating_add(1);
                } else if s == Script::Han {
                    u.han = u.han.saturating_add(1);
                }
                if !in_word {
                    u.words = u.words.saturating_add(1);
                }
                u.end = i;
                in_word = true;
                // The rest of a run of this group's letters (a Thai or Japanese
                // sentence) in one loop: each goes on with the same unit, and
                // leaves `runs` as the first one did; punctuation between
                // them only starts a new word.
                if FAST && g != Group::Latin {
                    let run = run_of_group(bytes, i, g);
                    u.letters = u.letters.saturating_add(run.letters);
                    u.kana = u.kana.saturating_add(run.kana);
                    u.han = u.han.saturating_add(run.han);
                    u.words = u.words.saturating_add(run.words);
                    u.end = run.letters_end.max(u.end);
                    in_word = run.in_word;
                    i = run.end;
                }
            }
            None => {
                if !(in_word && (c == '\'' || c == '’' || c == '-' || is_word_continuer(c))) {
                    in_word = false;
                }
                if is_sentence_end(c) {
                    if let Some(u) = &cur {
                        if u.group == Group::Latin && u.letters >= opts.sentence_split_letters {
                            units.extend(cur.take());
                        }
                    }
                }
            }
        }
    }
    units.extend(cur);
    (units, runs)
}

/// In [`run_classes`]: the group of a letter, plus one (0 for no letter).
const RUN_GROUP: u8 = 0x0F;
const RUN_KANA: u8 = 0x10;
const RUN_HAN: u8 = 0x20;
/// No letter, and it ends a word (punctuation: 、。「」).
const RUN_BREAK: u8 = 0x40;
/// No letter, and it goes on with a word (’, combining marks).
const RUN_JOIN: u8 = 0x80;

/// Per BMP character, what [`units_with`]'s character loop makes of it
/// inside a run of another script: one load per character, where the
/// script table took two and a branch on kana or Han mispredicted.
fn run_classes() -> &'static [u8; 0x1_0000] {
    static TABLE: std::sync::OnceLock<Box<[u8; 0x1_0000]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let table = crate::chars::bmp_byte_table(|c| match script_of(c) {
            Some(s) => {
                (s.group() as u8 + 1)
                    | if s.is_kana() { RUN_KANA } else { 0 }
                    | if s == Script::Han { RUN_HAN } else { 0 }
            }
            None if c == '’' || c == '\'' || c == '-' || is_word_continuer(c) => RUN_JOIN,
            None => RUN_BREAK,
        });
        table.try_into().expect("one byte per BMP character")
    })
}

/// What a run of one group's letters and the punctuation between them
/// adds to the unit they go on with.
struct GroupRun {
    letters: u32,
    kana: u32,
    han: u32,
    /// Words begun after a break.
    words: u32,
    /// After the last letter (0 for none).
    letters_end: usize,
    /// After the run.
    end: usize,
    in_word: bool,
}

/// The two- and three-byte characters from `i` that go on with a unit of
/// `group` in a word: its letters, and punctuation between them.
#[inline]
fn run_of_group(bytes: &[u8], mut i: usize, group: Group) -> GroupRun {
    let classes = run_classes();
    let group = group as u8 + 1;
    let mut run = GroupRun {
        letters: 0,
        kana: 0,
        han: 0,
        words: 0,
        letters_end: 0,
        end: i,
        in_word: true,
    };
    loop {
        let (code, len) = match crate::chars::three_byte_code_at(bytes, i) {
            Some(code) => (code, 3),
            None => match crate::chars::two_byte_code_at(bytes, i) {
                Some(code) => (code, 2),
                None => break,
            },
        };
        let class = classes[code as usize & 0xFFFF];
        if class & RUN_GROUP == group {
            run.letters += 1;
            run.kana += u32::from(class & RUN_KANA != 0);
            run.han += u32::from(class & RUN_HAN != 0);
            run.words += u32::from(!run.in_word);
            run.in_word = true;
            run.letters_end = i + len;
        } else if class & RUN_BREAK != 0 {
            run.in_word = false;
        } else if class & RUN_JOIN == 0 {
            break;
        }
        i += len;
    }
    run.end = i;
    run
}

/// What [`units_with`] keeps while it reads ASCII prose.
struct Prose<'a> {
    cur: &'a mut Option<Unit>,
    runs: &'a mut ScriptRuns,
    in_word: &'a mut bool,
    line: u32,
}

impl Prose<'_> {
    /// Reads `bytes[start..end]`, ASCII without line breaks or sentence ends
    /// ([`PROSE`]), as the character loop of [`units_with`] would: letters
    /// go on with the open Latin unit (or open one), the other bytes end a
    /// word unless they join it.
    fn absorb(&mut self, bytes: &[u8], start: usize, end: usize) {
        let mut at = start;
        while at < end {
            let len = (end - at).min(BLOCK);
            let (letters, joiners) = match bytes.get(at..at + BLOCK) {
                Some(window) => {
                    let window = window.try_into().expect("64 bytes");
                    let within = u64::MAX >> (BLOCK - len);
                    (
                        members(&ASCII_LETTERS, window) & within,
                        members(&JOINERS, window) & within,
                    )
                }
                None => bytes[at..at + len].iter().enumerate().fold(
                    (0, 0),
                    |(letters, joiners), (k, &b)| {
                        (
                            letters | u64::from(b.is_ascii_alphabetic()) << k,
                            joiners | u64::from(JOINERS.contains(b)) << k,
                        )
                    },
                ),
            };
            self.block(at, len, letters, joiners);
            at += len;
        }
    }

    /// One block of `len` bytes at `at`, by the bits of its letters and joiners.
    fn block(&mut self, at: usize, len: usize, letters: u64, joiners: u64) {
        self.runs.see_ascii(letters, len);
        // In a word after each byte: a letter, or a joiner after a byte in
        // a word (a run of joiners takes one step each).
        let carry = u64::from(*self.in_word);
        let mut in_word = letters;
        loop {
            let next = letters | (joiners & ((in_word << 1) | carry));
            if next == in_word {
                break;
            }
            in_word = next;
        }
        let word_starts = letters & !((in_word << 1) | carry);
        *self.in_word = (in_word >> (len - 1)) & 1 == 1;
        if letters == 0 {
            return;
        }
        let first = at + letters.trailing_zeros() as usize;
        let last = at + (63 - letters.leading_zeros()) as usize;
        let u = self
            .cur
            .get_or_insert(Unit::open(first, self.line, Group::Latin));
        u.letters = u.letters.saturating_add(letters.count_ones());
        u.words = u.words.saturating_add(word_starts.count_ones());
        u.end = last + 1;
    }
}

/// The text without its names: a capitalised word that does not start a
/// sentence carries no language ("Final Answer: Raymond a 14 ans" is
/// French). The fast scorer skips such words the same way.
pub fn without_names(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut sentence_start = true;
    let mut in_word = false;
    let mut skip = false;
    for c in text.chars() {
        if crate::chars::is_alphabetic(c) {
            if !in_word {
                in_word = true;
                skip = !sentence_start && c.is_uppercase();
                sentence_start = false;
            }
            if !skip {
                out.push(c);
            }
        } else {
            in_word = false;
            if super::opens_sentence(c) {
                sentence_start = true;
            }
            out.push(c);
        }
    }
    out
}

/// Two language codes are equal. Codes are a few bytes, compared here
/// without a call to `memcmp`: the default measures compare them about a
/// thousand times per trace.
#[inline]
fn same_lang(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// `lang == Some(l)`, by [`same_lang`].
#[inline]
fn is_lang(lang: Option<&str>, l: &str) -> bool {
    lang.is_some_and(|x| same_lang(x, l))
}

/// Adds `w` to `lang`'s score.
fn add_score(scores: &mut Vec<(&'static str, f64)>, lang: &'static str, w: f64) {
    match scores.iter_mut().find(|(l, _)| same_lang(l, lang)) {
        Some((_, s)) => *s += w,
        None => scores.push((lang, w)),
    }
}

fn best(scores: &[(&'static str, f64)]) -> Option<(&'static str, f64)> {
    let mut b: Option<(&'static str, f64)> = None;
    for &(l, s) in scores {
        // Ties go to the alphabetically first language: deterministic.
        if b.is_none_or(|(bl, bs)| s > bs || (s == bs && l < bl)) {
            b = Some((l, s));
        }
    }
    b
}

fn measure_default(
    det: &dyn Detector,
    mask: &str,
    query: &str,
    opts: &FidelityOptions,
    scope: Scope,
) -> Result<Fidelity, OtherLanguage> {
    let configured = det.languages();
    let is_configured = |l: &str| configured.iter().copied().find(|c| same_lang(c, l));
    let (mut units, runs) = units_of(mask, opts);
    if units.is_empty() {
        return Ok(Fidelity::unknown());
    }

    // 1. Which units are evidence. Non-Latin ones are settled by their script.
    let mut latin_evidence = vec![false; units.len()];
    let mut han_only = vec![false; units.len()];
    let mut latin_letters = 0u64;
    for (k, u) in units.iter_mut().enumerate() {
        let w = u.weight();
        let spaced = !matches!(u.group, Group::Cjk | Group::Thai);
        if w < opts.min_segment_letters as u64 || (spaced && u.words < opts.min_segment_words) {
            continue;
        }
        match settle_group(u.group, u.kana, u.han) {
            Settled::Lang(l) => {
                if u.group == Group::Cjk && u.kana == 0 && u.han < opts.han_ambiguous_below {
                    continue; // could be Japanese kanji
                }
                u.own = is_configured(l);
                han_only[k] = u.group == Group::Cjk && u.kana == 0;
            }
            Settled::NeedsNgram => {
                latin_evidence[k] = true;
                latin_letters += u.letters as u64;
            }
            Settled::Unknown => {}
        }
    }

    // 2. Latin units go to the n-gram backend once: the fast ranking for long
    //    traces, the accurate one for short texts (where speed is no issue).
    let accurate_all = latin_letters < opts.accurate_below_letters as u64;
    let spans: Vec<(usize, usize)> = units.iter().map(|u| (u.start, u.end)).collect();
    let mut ranked: Vec<Vec<Detection>> = vec![Vec::new(); units.len()];
    for k in 0..units.len() {
        if latin_evidence[k] {
            let t = &mask[spans[k].0..spans[k].1];
            ranked[k] = if accurate_all {
                det.ranked(&without_names(t))
            } else {
                det.ranked_fast(t)
            };
        }
    }
    // Pooled scores per language, as shares of the evidence.
    let pool = |ranked: &[Vec<Detection>]| {
        let mut scores: Vec<(&'static str, f64)> = Vec::new();
        let mut evidence = 0.0f64;
        for (k, u) in units.iter().enumerate() {
            let w = u.weight() as f64;
            if let Some(l) = u.own {
                add_score(&mut scores, l, w);
                evidence += w;
            } else if !ranked[k].is_empty() {
                for d in &ranked[k] {
                    add_score(&mut scores, d.lang, w * d.confidence);
                }
                evidence += w;
            }
        }
        if evidence > 0.0 {
            for (_, s) in &mut scores {
                *s = (*s / evidence).clamp(0.0, 1.0);
            }
        }
        scores
    };

    // 3. The trace language: the pooled evidence. A close call (the winner
    //    has less than `close_call_below` of the evidence) goes to the
    //    detector on the whole text (lingua's own verdict where the detector
    //    wraps lingua), so that mixed traces get the usual whole-text answer.
    let scores = pool(&ranked);
    let share = |l: &str| {
        scores
            .iter()
            .find(|(x, _)| same_lang(x, l))
            .map_or(0.0, |x| x.1)
    };
    let (trace_lang, confidence) = match best(&scores).filter(|(_, s)| *s > 0.0) {
        Some((l, c)) if c >= opts.close_call_below => (Some(l), c),
        Some((l, c)) => {
            // The backend's cheap whole-text verdict where it has one and it
            // provably equals the detector's (lingua's rules at hash speed);
            // otherwise the whole text goes to the detector.
            let fast = det.detect_long_fast(mask);
            let whole = fast.or_else(|| match det.lingua() {
                Some(lg) => lingua_detect(lg, mask).map(|(x, _)| code_of(x)),
                None => det.detect(mask).map(|d| d.lang),
            });
            match whole.and_then(is_configured) {
                Some(x) => (Some(x), share(x)),
                None => (Some(l), c),
            }
        }
        None => match det.detect(mask) {
            Some(d) => (Some(d.lang), d.confidence.clamp(0.0, 1.0)),
            None => (None, 0.0),
        },
    };

    if scope.stops(trace_lang, query) {
        return Err(other_language(trace_lang, confidence));
    }

    // Kanji without kana in a Japanese trace (月曜日、火曜日…) is no evidence
    // of Chinese unless it is a long passage.
    if trace_lang == Some("ja") {
        for k in 0..units.len() {
            if han_only[k] && units[k].han < 3 * opts.han_ambiguous_below {
                units[k].own = None;
            }
        }
    }

    // 4. Latin units leave the trace language only with a margin, and only in
    //    runs: consecutive Latin units whose best language is the same other
    //    language, with `min_switch_letters` letters together. In a Latin
    //    trace such a run is confirmed by the accurate detector on its whole
    //    span; in a trace of another script the script already proves the
    //    switch and the fast ranking names the Latin language.
    let trace_latin = trace_lang.is_some_and(|l| lang_group(l) == Some(Group::Latin));
    let mut cand: Vec<Option<&'static str>> = vec![None; units.len()];
    for k in 0..units.len() {
        if !latin_evidence[k] {
            continue;
        }
        let r = &ranked[k];
        let Some(top) = r.first() else { continue };
        if is_lang(trace_lang, top.lang) {
            units[k].own = trace_lang;
            continue;
        }
        let trace_conf = r
            .iter()
            .find(|d| is_lang(trace_lang, d.lang))
            .map_or(0.0, |d| d.confidence);
        if !trace_latin {
            // Another script's trace: Latin text is a switch whatever its margin.
            cand[k] = Some(top.lang);
        } else if top.confidence >= opts.min_confidence
            && top.confidence - trace_conf >= opts.switch_margin
        {
            cand[k] = Some(top.lang);
        } else {
            units[k].own = trace_lang; // ambiguous between the two: stays with the trace
        }
    }
    let mut k = 0;
    while k < units.len() {
        let Some(lang) = cand[k] else {
            k += 1;
            continue;
        };
        // The run: candidates of the same language, skipping units that are
        // no evidence; any other evidence ends it.
        let mut members = vec![k];
        let mut j = k + 1;
        while j < units.len() {
            if is_lang(cand[j], lang) {
                members.push(j);
            } else if cand[j].is_some() || units[j].own.is_some() {
                break;
            }
            j += 1;
        }
        let letters: u64 = members.iter().map(|&m| units[m].weight()).sum();
        let mut accept = letters >= opts.min_switch_letters as u64;
        // A long run that the fast ranking gives to the other language with
        // near certainty needs no second opinion.
        let overwhelming = letters >= 2 * opts.min_switch_letters as u64
            && members.iter().all(|&m| {
                let r = &ranked[m];
                let trace_conf = r
                    .iter()
                    .find(|d| is_lang(trace_lang, d.lang))
                    .map_or(0.0, |d| d.confidence);
                r.first()
                    .is_some_and(|d| d.confidence - trace_conf >= opts.certain_margin)
            });
        if accept && trace_latin && !accurate_all && !overwhelming {
            let (s0, e0) = (spans[members[0]].0, spans[*members.last().unwrap_or(&k)].1);
            let r = det.ranked(&without_names(&mask[s0..e0]));
            let top = r.first();
            let trace_conf = r
                .iter()
                .find(|d| is_lang(trace_lang, d.lang))
                .map_or(0.0, |d| d.confidence);
            accept = top.is_some_and(|d| {
                same_lang(d.lang, lang) && d.confidence - trace_conf >= opts.switch_margin
            });
        }
        for &m in &members {
            units[m].own = if accept {
                Some(lang)
            } else if trace_latin {
                trace_lang
            } else {
                None
            };
        }
        k = j;
    }

    // 5. Languages with too little evidence are noise.
    let mut per_lang: Vec<(&'static str, f64)> = Vec::new();
    for u in &units {
        if let Some(l) = u.own {
            add_score(&mut per_lang, l, u.weight() as f64);
        }
    }
    for u in &mut units {
        if let Some(l) = u.own {
            let w = per_lang
                .iter()
                .find(|(x, _)| same_lang(x, l))
                .map_or(0.0, |x| x.1);
            if !is_lang(trace_lang, l) && w < opts.min_switch_letters as f64 {
                u.own = None;
            }
        }
    }

    // 6. Units that are no evidence take the language before them.
    let first = units.iter().find_map(|u| u.own).or(trace_lang);
    let mut prev = first;
    for u in &mut units {
        if u.own.is_some() {
            prev = u.own;
        }
        u.lang = u.own.or(prev);
    }

    // 7. Segments, languages, purity.
    let mut segments: Vec<Segment> = Vec::new();
    let mut lang_letters: Vec<(&'static str, f64)> = Vec::new();
    let mut total_letters = 0u64;
    for u in &units {
        let Some(l) = u.lang else { continue };
        total_letters += u.letters as u64;
        add_score(&mut lang_letters, l, u.letters as f64);
        match segments.last_mut() {
            Some(s) if same_lang(&s.lang, l) => s.end = u.end,
            _ => segments.push(Segment {
                lang: l.to_string(),
                start: u.start,
                end: u.end,
            }),
        }
    }
    lang_letters.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let cs_langs: Vec<String> = lang_letters.iter().map(|(l, _)| l.to_string()).collect();
    let purity = if total_letters > 0 {
        lang_letters
            .iter()
            .find(|(l, _)| same_lang(l, query))
            .map_or(0.0, |x| x.1)
            / total_letters as f64
    } else {
        0.0
    };

    // 8. Lines: the language of each line's own evidence.
    let mut line_pass = true;
    let mut i = 0;
    while i < units.len() {
        let line = units[i].line;
        let mut line_scores: Vec<(&'static str, f64)> = Vec::new();
        while i < units.len() && units[i].line == line {
            if let Some(l) = units[i].own {
                add_score(&mut line_scores, l, units[i].weight() as f64);
            }
            i += 1;
        }
        if let Some((l, _)) = best(&line_scores) {
            if !same_lang(l, query) {
                line_pass = false;
            }
        }
    }

    Ok(Fidelity {
        trace_lang: trace_lang.unwrap_or("unknown").to_string(),
        confidence,
        line_pass,
        word_pass: runs.word_pass(query),
        code_switch: cs_langs.len() >= 2,
        cs_langs,
        segments,
        purity,
    })
}

// ---------------------------------------------------------------------------
// The paper's definition.

/// lingua's `detect_language_of` with the winner's confidence value.
fn lingua_detect(lg: &lingua::LanguageDetector, text: &str) -> Option<(lingua::Language, f64)> {
    let values = lg.compute_language_confidence_values(tame_long_words(text).as_ref());
    let (l1, c1) = *values.first()?;
    if c1 == 0.0 {
        return None;
    }
    if let Some((_, c2)) = values.get(1) {
        if (c1 - c2).abs() < f64::EPSILON {
            return None;
        }
    }
    Some((l1, c1))
}

fn code_of(l: lingua::Language) -> &'static str {
    super::backend::lingua::from_lingua(l).unwrap_or("unknown")
}

fn letters(s: &str) -> u64 {
    s.chars().filter(|c| script_of(*c).is_some()).count() as u64
}

fn measure_paper(
    det: &dyn Detector,
    mask: &str,
    query: &str,
    scope: Scope,
) -> Result<Fidelity, OtherLanguage> {
    let lg = det.lingua().unwrap_or_else(|| super::shared_lingua());
    // Same offsets, words past lingua's quadratic limit blanked.
    let tamed = tame_long_words(mask);
    let mask: &str = tamed.as_ref();
    if !mask.chars().any(|c| script_of(c).is_some()) {
        return Ok(Fidelity::unknown());
    }
    let (trace_lang, confidence) = match lingua_detect(lg, mask) {
        Some((l, c)) => (code_of(l), c),
        None => ("unknown", 0.0),
    };
    if scope.stops(Some(trace_lang), query) {
        return Err(other_language(Some(trace_lang), confidence));
    }
    let line_pass = mask.lines().filter(|l| !l.trim().is_empty()).all(|line| {
        match lg.detect_language_of(line) {
            None => true,
            Some(l) => code_of(l) == query,
        }
    });
    let mut segments: Vec<Segment> = Vec::new();
    let mut cs_langs: Vec<String> = Vec::new();
    let mut total = 0u64;
    let mut in_query = 0u64;
    for r in lg.detect_multiple_languages_of(mask) {
        let (s, e) = (
            r.start_index().min(mask.len()),
            r.end_index().min(mask.len()),
        );
        let lang = code_of(r.language());
        if !cs_langs.iter().any(|c| c == lang) {
            cs_langs.push(lang.to_string());
        }
        let n = mask.get(s..e).map_or(0, letters);
        total += n;
        if lang == query {
            in_query += n;
        }
        segments.push(Segment {
            lang: lang.to_string(),
            start: s,
            end: e,
        });
    }
    Ok(Fidelity {
        trace_lang: trace_lang.to_string(),
        confidence,
        line_pass,
        word_pass: word_pass(mask, query),
        code_switch: cs_langs.len() >= 2,
        cs_langs,
        segments,
        purity: if total > 0 {
            in_query as f64 / total as f64
        } else {
            0.0
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_script_groups_and_lines() {
        let text = "日本語のテキスト and English ภาษาไทย\nさらに";
        let (units, runs) = units_of(text, &FidelityOptions::default());
        let got: Vec<_> = units
            .iter()
            .map(|u| {
                (
                    &text[u.start..u.end],
                    u.line,
                    u.group,
                    u.letters,
                    u.words,
                    u.kana,
                    u.han,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("日本語のテキスト", 0, Group::Cjk, 8, 1, 5, 3),
                ("and English", 0, Group::Latin, 10, 2, 0, 0),
                ("ภาษาไทย", 0, Group::Thai, 7, 1, 0, 0),
                ("さらに", 1, Group::Cjk, 3, 1, 3, 0),
            ]
        );
        assert!(runs.latin_pair && runs.non_latin_letter);
    }

    fn units_and_runs<const FAST: bool>(text: &str) -> (String, String) {
        let (units, runs) = units_with::<FAST>(text, &FidelityOptions::default());
        (format!("{units:?}"), format!("{runs:?}"))
    }

    #[test]
    fn prose_blocks_carry_words_and_letter_pairs_across_their_edges() {
        let pair_across = format!("{}ab", " ".repeat(63));
        let single_letters = " a".repeat(40);
        for (text, latin_pair) in [
            ("éa", true),
            ("aé", true),
            ("a é", false),
            (pair_across.as_str(), true),
            (single_letters.as_str(), false),
            ("l'-'x d'eau", true),
            ("-a", false),
        ] {
            assert_eq!(
                units_and_runs::<true>(text),
                units_and_runs::<false>(text),
                "{text:?}"
            );
            let (_, runs) = units_with::<true>(text, &FidelityOptions::default());
            assert_eq!(runs.latin_pair, latin_pair, "{text:?}");
        }
    }

    proptest::proptest! {
        /// Prose in blocks and runs of other scripts give the units, words
        /// and runs of the character loop: joiners in runs, sentence ends,
        /// lines, accents, other scripts and their punctuation, cut anywhere.
        #[test]
        fn prose_blocks_change_no_unit(
            text in "([a-zA-Z]{1,12}|[ ,:'\\-]{1,3}|[.!?;]|\n|é|’|ก|日|\u{301}| {60,70}|[a-z]{60,70}|[ภาษาไทยひらカナ漢字한국어слово、。「」’\u{301}\u{200d}𠀋]{1,20}){0,60}",
            skip in 0usize..64,
        ) {
            let text = &text[text.char_indices().nth(skip).map_or(text.len(), |(k, _)| k)..];
            proptest::prop_assert_eq!(units_and_runs::<true>(text), units_and_runs::<false>(text));
        }
    }
}
