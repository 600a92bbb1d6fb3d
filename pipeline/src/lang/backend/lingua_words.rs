//! The words lingua 1.8 cuts a text into, and what its rules do with them:
//! decide the text ([`Census::decided_by_rules`]), or leave it to the n-gram
//! models of the Latin-script languages (the conditions under which
//! [`super::trigram::TrigramTable::lingua_long_text`] and
//! [`super::lingua_ngrams::NgramModels`] give lingua's own answer).
//!
//! lingua lowercases the text and takes tokens with a regex (`\p{Thai}+`,
//! `\p{Hangul}+`, `\p{Han}`, …, `\p{L}+`). Then, in order: a rule stage that
//! decides by script and by letters unique to one language; a filter keeping
//! the languages of the most frequent alphabet (by letters), narrowed further
//! by letters such as `é` or `ã` when at least half of the words have them;
//! and for 120 letters or more, the sums of trigram log-probabilities. Only
//! texts whose tokens we can reproduce exactly (Latin, Thai and Hangul words,
//! each a run of one script; Han and kana characters, one word each; `\p{L}+`
//! words from a Latin letter or the prolonged sound mark `ー`) are counted
//! here, and [`Census`] answers only where the counts *prove* what lingua's
//! rules do; anything else goes to lingua.

use lingua::Language;

/// lingua's word, as a byte span of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    pub start: usize,
    pub end: usize,
}

/// The scripts of the characters we reproduce lingua's tokens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Thai,
    Hangul,
    /// Han and kana: every character is a word of its own (`\p{Han}`,
    /// `\p{Hiragana}`, `\p{Katakana}` take one character).
    Han,
    Hiragana,
    Katakana,
    /// A letter of no script's token class (`ー`, Script=Common): it starts a
    /// `\p{L}+` word, like a Latin letter, and counts for no language.
    Common,
}

impl Script {
    fn is_single(self) -> bool {
        matches!(self, Script::Han | Script::Hiragana | Script::Katakana)
    }

    /// Whether a word opened by this script is a `\p{L}+` word.
    fn opens_letter_run(self) -> bool {
        matches!(self, Script::Latin | Script::Common)
    }

    /// The language lingua's rule stage counts a character of this script
    /// for (its single-language alphabets, then Han for Chinese), as an index
    /// into [`RULE_LANGS`].
    fn rule_lang(self) -> Option<usize> {
        match self {
            Script::Han => Some(0),
            Script::Hiragana | Script::Katakana => Some(1),
            Script::Hangul => Some(2),
            Script::Thai => Some(3),
            Script::Latin | Script::Common => None,
        }
    }
}

/// The languages the rule stage can find in the words we reproduce, in
/// lingua's order (which breaks its ties).
const RULE_LANGS: [Language; 4] = [
    Language::Chinese,
    Language::Japanese,
    Language::Korean,
    Language::Thai,
];

/// lingua's alphabets of the words we reproduce, in its order (which breaks
/// its ties), with the languages that write each.
const ALPHABETS: [&[Language]; 6] = [
    &[Language::Chinese, Language::Japanese], // Han
    &[Language::Korean],                      // Hangul
    &[Language::Japanese],                    // Hiragana
    &[Language::Japanese],                    // Katakana
    &[],                                      // Latin: many, left to the n-grams
    &[Language::Thai],                        // Thai
];
const LATIN_ALPHABET: usize = 4;

/// A character as lingua's regex sees it: its script, and whether it is a
/// letter (`\p{L}`; Thai vowel and tone marks, digits and signs are not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Letter {
    script: Script,
    is_l: bool,
}

/// `Ok(Some)` for a character of a word, `Ok(None)` for one that is in no
/// word, `Err` where we do not know lingua's answer (other scripts, letters
/// whose lowercase is two characters).
fn classify(c: char) -> Result<Option<Letter>, ()> {
    let u = c as u32;
    let letter = |script| Ok(Some(Letter { script, is_l: true }));
    match u {
        _ if c.is_ascii_alphabetic() => letter(Script::Latin),
        0..0x80 => Ok(None),
        // İ lowercases to two characters.
        0x0130 => Err(()),
        // Latin-1 and Latin Extended-A/B letters, Latin Extended Additional.
        0x00C0..=0x024F if u != 0xD7 && u != 0xF7 => letter(Script::Latin),
        0x1E00..=0x1EFF => letter(Script::Latin),
        // Script=Thai: letters, and vowel and tone marks, digits and signs,
        // which `\p{Thai}+` takes but `\p{L}+` does not.
        0x0E01..=0x0E3A | 0x0E40..=0x0E5B => Ok(Some(Letter {
            script: Script::Thai,
            is_l: matches!(u, 0x0E01..=0x0E30 | 0x0E32 | 0x0E33 | 0x0E40..=0x0E46),
        })),
        0xAC00..=0xD7A3 | 0x1100..=0x11FF | 0x3131..=0x318E => letter(Script::Hangul),
        // 々 is Script=Han too.
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x3005 => letter(Script::Han),
        0x3041..=0x3096 => letter(Script::Hiragana),
        0x30A1..=0x30FA => letter(Script::Katakana),
        // The prolonged sound mark: a letter (Lm) of the Common script.
        0x30FC => letter(Script::Common),
        // Symbols of scripts with a token class of their own (Indic blocks,
        // CJK radicals, Hangul and Katakana symbols, enclosed ideographs):
        // not letters, yet words to lingua.
        0x0900..=0x0DFF
        | 0x2E80..=0x2FDF
        | 0x302E..=0x302F
        | 0x3200..=0x33FF
        | 0x1F200..=0x1F2FF => Err(()),
        // Any other letter (or mark that might be one): not reproduced.
        _ if crate::chars::is_alphabetic(c) => Err(()),
        // Punctuation, spaces, combining accents: in no word.
        _ => Ok(None),
    }
}

/// The word being read: a run of one script (`\p{Thai}+`, `\p{Hangul}+`) or
/// of letters of any script from a Latin one or `ー` (`\p{L}+`).
#[derive(Clone, Copy)]
struct Open {
    run: Script,
    start: usize,
    letters: usize,
    all_ascii: bool,
    all_latin: bool,
    /// Characters per rule language ([`RULE_LANGS`]).
    rule_chars: [u32; 4],
    /// A Latin letter outside ASCII, which may be unique to a language.
    accented: bool,
}

impl Open {
    fn new(l: Letter, c: char, start: usize) -> Self {
        let mut w = Open::empty(l.script, start);
        w.add(l, c);
        w
    }

    /// A word of this script opened at byte `start`, no letter counted yet.
    fn empty(run: Script, start: usize) -> Self {
        Open {
            run,
            start,
            letters: 0,
            all_ascii: true,
            all_latin: true,
            rule_chars: [0; 4],
            accented: false,
        }
    }

    fn add(&mut self, l: Letter, c: char) {
        self.letters += 1;
        self.all_ascii &= c.is_ascii();
        self.all_latin &= l.script == Script::Latin;
        self.accented |= l.script == Script::Latin && !c.is_ascii();
        if let Some(k) = l.script.rule_lang() {
            self.rule_chars[k] += 1;
        }
    }

    /// lingua's rule stage on this word (every language of [`RULE_LANGS`]
    /// configured): the language of its characters; Japanese where Chinese
    /// and Japanese are both counted; else the strictly most counted.
    fn rule_lang(&self) -> Option<usize> {
        let c = &self.rule_chars;
        if c[0] > 0 && c[1] > 0 {
            return Some(1);
        }
        // The most counted (the first on a tie), kept only if strictly ahead
        // of every other counted language.
        let mut top: Option<usize> = None;
        let mut runner_up = 0;
        for k in (0..4).filter(|&k| c[k] > 0) {
            match top {
                Some(t) if c[k] <= c[t] => runner_up = runner_up.max(c[k]),
                _ => {
                    runner_up = top.map_or(0, |t| c[t]);
                    top = Some(k);
                }
            }
        }
        top.filter(|&t| c[t] > runner_up)
    }

    /// The alphabet lingua's filter finds for the word (the first whose
    /// characters are all of it), as an index into [`ALPHABETS`].
    fn alphabet(&self) -> Option<usize> {
        match self.run {
            Script::Han => Some(0),
            Script::Hangul => Some(1),
            Script::Hiragana => Some(2),
            Script::Katakana => Some(3),
            Script::Thai => Some(5),
            Script::Latin | Script::Common => self.all_latin.then_some(LATIN_ALPHABET),
        }
    }
}

/// A [`Census`] being taken, character by character.
#[derive(Default)]
struct Reading {
    census: Census,
    open: Option<Open>,
}

impl Reading {
    /// The character `c` at byte `i`; `None` where lingua's words are not
    /// known (see [`classify`]) or a word grows past `max_word` letters.
    fn char(&mut self, i: usize, c: char, max_word: usize) -> Option<()> {
        let class = classify(c).ok()?;
        let census = &mut self.census;
        if let (Some(w), Some(l)) = (self.open.as_mut(), class) {
            let continues = if w.run.opens_letter_run() {
                l.is_l
            } else {
                l.script == w.run
            };
            if continues {
                w.add(l, c);
                census.accented += usize::from(l.script == Script::Latin && !c.is_ascii());
                return (w.letters <= max_word).then_some(());
            }
        }
        if let Some(w) = self.open.take() {
            census.close(w, i);
        }
        let Some(l) = class else { return Some(()) };
        census.accented += usize::from(l.script == Script::Latin && !c.is_ascii());
        let word = Open::new(l, c, i);
        if l.script.is_single() {
            census.close(word, i + c.len_utf8());
        } else {
            self.open = Some(word);
        }
        Some(())
    }

    /// `char` of each of the `run` ASCII letters from byte `i`, in one step
    /// (most of a Latin text): they go on with an open `\p{L}+` word or
    /// open one, and `add` of an ASCII letter only counts it.
    fn ascii_letters(&mut self, i: usize, run: usize, max_word: usize) -> Option<()> {
        let (w, limit) = match self.open.as_mut() {
            Some(w) if w.run.opens_letter_run() => (w, max_word),
            _ => {
                if let Some(w) = self.open.take() {
                    self.census.close(w, i);
                }
                // A word's first letter is not held against the limit.
                (
                    self.open.insert(Open::empty(Script::Latin, i)),
                    max_word.max(1),
                )
            }
        };
        w.letters += run;
        (w.letters <= limit).then_some(())
    }

    fn finish(mut self, end: usize) -> Census {
        if let Some(w) = self.open {
            self.census.close(w, end);
        }
        self.census
    }
}

/// What the rule stages look at.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Census {
    pub words: Vec<Word>,
    /// Words of ASCII letters only: lingua's rules find no language in them.
    pub ascii_words: usize,
    /// Letters in words of Latin letters only, and in words of one other
    /// script only (words mixing scripts belong to no alphabet for lingua).
    pub latin_letters: usize,
    pub other_letters: usize,
    /// Letters in all words: lingua's character count.
    pub letters: usize,
    /// Non-ASCII Latin letters in any word (é, ã, ß, …).
    pub accented: usize,
    /// The words' languages in lingua's rule stage: per [`RULE_LANGS`], and
    /// unknown (`None`).
    pub rule_words: [usize; 4],
    pub rule_unknown: usize,
    /// Words whose rule language we cannot tell (accented Latin letters).
    pub rule_opaque: usize,
    /// Per [`RULE_LANGS`], whether any character was counted for it (the
    /// counts hold only if lingua knows that language).
    pub rule_chars_seen: [bool; 4],
    /// Letters per alphabet of lingua's filter ([`ALPHABETS`]).
    pub alphabet_letters: [usize; 6],
}

impl Census {
    /// lingua's words of `text` (its regex on the lowercased text), or `None`
    /// where we cannot be sure of them (see [`classify`]) or a word is longer
    /// than `max_word` letters.
    pub fn of(text: &str, max_word: usize) -> Option<Self> {
        let mut reading = Reading::default();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_alphabetic() {
                let run = crate::chars::ascii_letter_prefix_len(&bytes[i..]);
                reading.ascii_letters(i, run, max_word)?;
                i += run;
                continue;
            }
            let c = text[i..].chars().next()?;
            reading.char(i, c, max_word)?;
            i += c.len_utf8();
        }
        Some(reading.finish(text.len()))
    }

    fn close(&mut self, w: Open, end: usize) {
        self.words.push(Word {
            start: w.start,
            end,
        });
        self.letters += w.letters;
        self.ascii_words += usize::from(w.all_ascii);
        if w.all_latin {
            self.latin_letters += w.letters;
        } else if !w.run.opens_letter_run() {
            self.other_letters += w.letters;
        }
        for (seen, &n) in self.rule_chars_seen.iter_mut().zip(&w.rule_chars) {
            *seen |= n > 0;
        }
        if w.accented {
            self.rule_opaque += 1;
        } else {
            match w.rule_lang() {
                Some(k) => self.rule_words[k] += 1,
                None => self.rule_unknown += 1,
            }
        }
        if let Some(a) = w.alphabet() {
            self.alphabet_letters[a] += w.letters;
        }
    }

    /// lingua's verdict from its rule stages, where they decide and we can
    /// reproduce them: no accented Latin word (its letters may be unique to a
    /// language), and every language the words are counted for among
    /// `configured` (lingua's languages):
    /// * the rule stage counts each word for a language (Chinese for Han,
    ///   Japanese for kana, Korean, Thai; Japanese where Han and kana mix),
    ///   unknown words being dropped when fewer than half; the most counted
    ///   wins, Japanese over Chinese when they are the top two, nothing on a
    ///   tie or when unknown wins;
    /// * when it finds nothing, the alphabet with most letters decides when it
    ///   belongs to one configured language (Thai, Hangul, kana).
    ///
    /// `None` wherever lingua would go on to its n-grams or we do not
    /// reproduce its rules, so the caller asks lingua (or
    /// [`Self::leaves_latin_trigrams`]).
    pub fn decided_by_rules(&self, configured: &[Language]) -> Option<Language> {
        let words = self.words.len();
        if words == 0 || self.rule_opaque > 0 {
            return None;
        }
        let seen_unconfigured =
            |k: usize| self.rule_chars_seen[k] && !configured.contains(&RULE_LANGS[k]);
        if (0..4).any(seen_unconfigured) {
            return None;
        }
        // The rule stage: counts per word language (None: unknown), ranked by
        // count, ties in key order (None first), as lingua's counter does.
        let mut counts: Vec<(Option<Language>, usize)> = (0..4)
            .filter(|&k| self.rule_words[k] > 0)
            .map(|k| (Some(RULE_LANGS[k]), self.rule_words[k]))
            .collect();
        if 2 * self.rule_unknown >= words && self.rule_unknown > 0 {
            counts.push((None, self.rule_unknown));
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let decided = match counts.as_slice() {
            [] => None,
            [(only, _)] => *only,
            [(first, n1), (second, n2), ..] => {
                let pair = [*first, *second];
                if pair.contains(&Some(Language::Japanese))
                    && pair.contains(&Some(Language::Chinese))
                {
                    Some(Language::Japanese)
                } else if n1 == n2 {
                    None
                } else {
                    *first
                }
            }
        };
        if decided.is_some() {
            return decided;
        }
        // The alphabet filter: the alphabet with most letters (ties to the
        // first in lingua's order), unless every alphabet has as many.
        let present: Vec<usize> = (0..6).filter(|&a| self.alphabet_letters[a] > 0).collect();
        let first = *present.first()?;
        if present.len() > 1
            && present
                .iter()
                .all(|&a| self.alphabet_letters[a] == self.alphabet_letters[first])
        {
            return None;
        }
        let top = present.iter().copied().max_by(|&a, &b| {
            self.alphabet_letters[a]
                .cmp(&self.alphabet_letters[b])
                .then(b.cmp(&a))
        })?;
        let mut langs = ALPHABETS[top].iter().filter(|l| configured.contains(l));
        match (langs.next(), langs.next()) {
            (Some(only), None) => Some(*only),
            _ => None, // Latin, or Han for both Chinese and Japanese: n-grams
        }
    }

    /// True when lingua's rules provably leave the verdict to the trigrams of
    /// the Latin-script languages, on 120 letters or more:
    /// * the rule stage finds no language: the words in which it finds none
    ///   (at least the ASCII ones) are more than half of all words, so that
    ///   "unknown" is the strict majority;
    /// * Latin is the most frequent alphabet: more letters in Latin words than
    ///   in all others together;
    /// * no letter-based narrowing: each accented letter adds at most one to a
    ///   language's count, and fewer than half as many as there are words
    ///   cannot reach lingua's half-of-the-words bar.
    pub fn leaves_latin_trigrams(&self) -> bool {
        self.leaves_latin_ngrams() && self.letters >= 120
    }

    /// The rule conditions of [`Self::leaves_latin_trigrams`] at any length:
    /// lingua's rules leave the text to the n-gram models of the Latin-script
    /// languages (trigrams from 120 letters on, orders 1 to 5 below).
    pub fn leaves_latin_ngrams(&self) -> bool {
        let words = self.words.len();
        words > 0
            && 2 * self.ascii_words > words
            && self.latin_letters > self.other_letters
            && 2 * self.accented < words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_follow_scripts_and_separators() {
        let c = Census::of("Le chat, 12 ครับ été\nvoilà", 1000).unwrap();
        let spans: Vec<&str> = c
            .words
            .iter()
            .map(|w| &"Le chat, 12 ครับ été\nvoilà"[w.start..w.end])
            .collect();
        assert_eq!(spans, ["Le", "chat", "ครับ", "été", "voilà"]);
        assert_eq!(c.ascii_words, 2);
        assert_eq!(c.latin_letters, 2 + 4 + 3 + 5);
        assert_eq!(c.other_letters, 4);
        assert_eq!(c.letters, 18);
        assert_eq!(c.accented, 3);
        // Han and kana characters are words of one letter each.
        let c = Census::of("数学 です ok", 1000).unwrap();
        assert_eq!(c.words.len(), 5);
        assert_eq!((c.other_letters, c.latin_letters, c.ascii_words), (4, 2, 1));
    }

    /// lingua's `\p{L}+` runs from a Latin letter through Han, kana, Hangul
    /// and Thai letters, and stops at a Thai vowel mark, which starts a
    /// `\p{Thai}+` word; a Han character starts a word of its own.
    #[test]
    fn words_run_from_latin_letters_into_other_scripts() {
        let text = "x是A每 abcครับ 是x";
        let c = Census::of(text, 1000).unwrap();
        let spans: Vec<&str> = c.words.iter().map(|w| &text[w.start..w.end]).collect();
        assert_eq!(spans, ["x是A每", "abcคร", "ับ", "是", "x"]);
        // Mixed words belong to no alphabet; all words count as letters.
        assert_eq!((c.latin_letters, c.other_letters), (1, 3));
        assert_eq!(c.letters, 4 + 5 + 2 + 1 + 1);
        assert_eq!(c.ascii_words, 1);
    }

    #[test]
    fn texts_lingua_tokenizes_in_ways_we_do_not_know_are_refused() {
        // Cyrillic, a dotted İ, a hiragana iteration mark, a Kangxi radical,
        // a Devanagari digit.
        for text in ["и так", "İstanbul", "こゝろ", "a ⼈ b", "१२"] {
            assert_eq!(Census::of(text, 1000), None, "{text}");
        }
        assert_eq!(Census::of("aaaaaa", 5), None);
    }

    #[test]
    fn texts_of_other_scripts_with_english_are_decided_by_lingua_rules() {
        use Language::*;
        let all = [Thai, Korean, Chinese, Japanese, English];
        let decided = |t: &str| Census::of(t, 1000).unwrap().decided_by_rules(&all);
        // Most words Thai.
        assert_eq!(decided("ครับ ผม the ครับ"), Some(Thai));
        // Half the words ASCII (unknown ties Thai), more Thai letters than Latin.
        assert_eq!(decided("ดังนั้นคำตอบคือ ok"), Some(Thai));
        assert_eq!(decided("답은 입니다 so"), Some(Korean));
        // Half the words ASCII with more Latin letters: the n-grams decide.
        assert_eq!(decided("ครับ therefore"), None);
        // Han characters are words of Chinese; kana of Japanese, which wins
        // when the two are on top.
        assert_eq!(decided("ครับ 是的 the"), Some(Chinese));
        assert_eq!(decided("数学 です"), Some(Japanese));
        assert_eq!(decided("数学数学 です the"), Some(Japanese));
        // `ー` opens a letter word that runs on through katakana; `々` is Han.
        assert_eq!(decided("コーヒー 人々 は x"), Some(Japanese));
        // A word from a Latin letter into Han and kana is Japanese.
        assert_eq!(decided("x是か the cat"), None);
        assert_eq!(decided("x是か 是"), Some(Japanese));
        // Two languages tied: the alphabet with most letters decides, unless
        // the alphabets tie too.
        assert_eq!(decided("ครับ 답은 x"), Some(Thai));
        assert_eq!(decided("ครับ 답은답은"), None);
        // Accented words, or a language the detector does not know: refused.
        assert_eq!(decided("ครับ ผม été"), None);
        let no_thai = Census::of("ครับ ผม the", 1000).unwrap();
        assert_eq!(no_thai.decided_by_rules(&[English, Korean]), None);
        assert_eq!(decided("the cat"), None);
        // Where it decides, lingua agrees.
        let lingua = lingua::LanguageDetectorBuilder::from_languages(&all).build();
        for text in [
            "ครับ ผม the ครับ",
            "ดังนั้นคำตอบคือ ok",
            "답은 입니다 so",
            "ครับ 是的 the",
            "数学 です",
            "数学数学 です the",
            "コーヒー 人々 は x",
            "x是か 是",
            "ครับ 답은 x",
        ] {
            assert_eq!(decided(text), lingua.detect_language_of(text), "{text}");
        }
    }

    fn all_languages_detector() -> &'static lingua::LanguageDetector {
        use std::sync::OnceLock;
        static DET: OnceLock<lingua::LanguageDetector> = OnceLock::new();
        DET.get_or_init(|| {
            use Language::*;
            lingua::LanguageDetectorBuilder::from_languages(&[
                Thai, Korean, Chinese, Japanese, English, French, German,
            ])
            .build()
        })
    }

    /// [`Census::of`] one character at a time: what its ASCII runs must equal.
    fn census_by_characters(text: &str, max_word: usize) -> Option<Census> {
        let mut reading = Reading::default();
        for (i, c) in text.char_indices() {
            reading.char(i, c, max_word)?;
        }
        Some(reading.finish(text.len()))
    }

    proptest::proptest! {
        #[test]
        fn ascii_runs_change_no_census(
            text in "[a-zA-Z0-9 ,.\n\téàßキー数ครับ่ั답\u{301}İ]{0,80}",
            max_word in 0usize..12,
        ) {
            proptest::prop_assert_eq!(Census::of(&text, max_word), census_by_characters(&text, max_word));
            proptest::prop_assert_eq!(Census::of(&text, 1000), census_by_characters(&text, 1000));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Random mixes of the word kinds the rules are reproduced for
        /// (ASCII, Thai, Hangul, Han, kana, `ー`, words running from Latin
        /// into other scripts): wherever the census decides, lingua agrees.
        #[test]
        fn the_rule_verdict_is_linguas_on_random_mixes(
            tokens in proptest::collection::vec(
                proptest::sample::select(vec![
                    "the", "cat", "x", "ครับ", "ดังนั้น", "답은", "입니다", "是", "的", "数",
                    "です", "か", "コーヒー", "ー", "人々", "x是", "aか", "ok", "ที่", "。",
                ]),
                1..30,
            ),
            glue in proptest::sample::select(vec![" ", "", ", "]),
        ) {
            let text = tokens.join(glue);
            let lingua = all_languages_detector();
            let configured = [
                Language::Thai, Language::Korean, Language::Chinese, Language::Japanese,
                Language::English, Language::French, Language::German,
            ];
            if let Some(census) = Census::of(&text, 1000) {
                if let Some(ours) = census.decided_by_rules(&configured) {
                    proptest::prop_assert_eq!(Some(ours), lingua.detect_language_of(&text), "{}", text);
                }
            }
        }
    }

    #[test]
    fn the_rules_pass_only_with_a_clear_ascii_latin_majority() {
        let english = "the quick brown fox jumps over the lazy dog ".repeat(4);
        assert!(Census::of(&english, 1000).unwrap().leaves_latin_trigrams());
        // Thai words outnumber the Latin ones.
        let thai = format!("{} {}", "ครับ ".repeat(40), "the fox ".repeat(10));
        assert!(!Census::of(&thai, 1000).unwrap().leaves_latin_trigrams());
        // Too short for the trigram-only stage.
        assert!(!Census::of("the quick brown fox", 1000)
            .unwrap()
            .leaves_latin_trigrams());
        // Accented letters on most words could narrow the languages.
        let accents = "été déjà où ".repeat(20);
        assert!(!Census::of(&accents, 1000).unwrap().leaves_latin_trigrams());
    }
}
