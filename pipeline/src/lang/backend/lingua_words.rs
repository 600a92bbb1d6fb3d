//! The words lingua 1.8 cuts a text into, and whether its rules would leave a
//! long text to the trigram models of the Latin-script languages: the
//! conditions under which [`super::trigram::TrigramTable::lingua_long_text`]
//! gives lingua's own verdict.
//!
//! lingua lowercases the text and takes tokens with a regex (`\p{Thai}+`,
//! `\p{Hangul}+`, `\p{Han}`, …, `\p{L}+`). Then, in order: a rule stage that
//! decides by script and by letters unique to one language; a filter keeping
//! the languages of the most frequent alphabet (by letters), narrowed further
//! by letters such as `é` or `ã` when at least half of the words have them;
//! and for 120 letters or more, the sums of trigram log-probabilities. Only
//! texts whose tokens we can reproduce exactly (Latin, Thai and Hangul words,
//! each a run of one script; Han and kana characters, one word each) and
//! whose counts *prove* that the rules pass through to the Latin trigrams are
//! answered here; anything else goes to lingua.

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
    Kana,
}

impl Script {
    fn is_single(self) -> bool {
        matches!(self, Script::Han | Script::Kana)
    }
}

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
        0x4E00..=0x9FFF | 0x3400..=0x4DBF => letter(Script::Han),
        0x3041..=0x3096 | 0x30A1..=0x30FA => letter(Script::Kana),
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
/// of letters of any script from a Latin one (`\p{L}+`).
#[derive(Clone, Copy)]
struct Open {
    run: Script,
    start: usize,
    letters: usize,
    all_ascii: bool,
    all_latin: bool,
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
    /// Words of Thai only, of Hangul only, Han characters and kana
    /// characters, with their letters.
    pub thai: ScriptWords,
    pub hangul: ScriptWords,
    pub han: ScriptWords,
    pub kana: ScriptWords,
}

/// Words of one script and their letters (lingua's character count).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScriptWords {
    pub words: usize,
    pub letters: usize,
}

impl Census {
    /// lingua's words of `text` (its regex on the lowercased text), or `None`
    /// where we cannot be sure of them (see [`classify`]) or a word is longer
    /// than `max_word` letters.
    pub fn of(text: &str, max_word: usize) -> Option<Self> {
        let mut census = Census::default();
        let mut open: Option<Open> = None;
        for (i, c) in text.char_indices() {
            let class = classify(c).ok()?;
            if let (Some(w), Some(l)) = (open.as_mut(), class) {
                let continues = match w.run {
                    Script::Latin => l.is_l,
                    run => l.script == run,
                };
                if continues {
                    w.letters += 1;
                    w.all_ascii &= c.is_ascii();
                    w.all_latin &= l.script == Script::Latin;
                    census.accented += usize::from(l.script == Script::Latin && !c.is_ascii());
                    if w.letters > max_word {
                        return None;
                    }
                    continue;
                }
            }
            if let Some(w) = open.take() {
                census.close(w, i);
            }
            let Some(l) = class else { continue };
            census.accented += usize::from(l.script == Script::Latin && !c.is_ascii());
            let word = Open {
                run: l.script,
                start: i,
                letters: 1,
                all_ascii: c.is_ascii(),
                all_latin: l.script == Script::Latin,
            };
            if l.script.is_single() {
                census.close(word, i + c.len_utf8());
            } else {
                open = Some(word);
            }
        }
        if let Some(w) = open {
            census.close(w, text.len());
        }
        Some(census)
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
        } else if w.run != Script::Latin {
            self.other_letters += w.letters;
        }
        let script = match w.run {
            Script::Thai => Some(&mut self.thai),
            Script::Hangul => Some(&mut self.hangul),
            Script::Han => Some(&mut self.han),
            Script::Kana => Some(&mut self.kana),
            Script::Latin => None,
        };
        if let Some(s) = script {
            s.words += 1;
            s.letters += w.letters;
        }
    }

    /// lingua's verdict from its rule stages, for a text whose words are all
    /// ASCII, Thai, Hangul, or single Han or kana characters (each language
    /// of these among `configured`, given as lingua's languages):
    /// * the rule stage counts a word per language: Thai, Korean, Chinese
    ///   (Han), Japanese (kana); ASCII words are unknown, and dropped when
    ///   fewer than half. The most frequent wins, Japanese over Chinese when
    ///   they are the top two, nothing on a tie or when unknown wins;
    /// * when it finds nothing and there is no Han or kana, the alphabet with
    ///   most letters decides if it is Thai or Hangul (one language each).
    ///
    /// `None` wherever lingua would go on to its n-grams or we do not
    /// reproduce its rules, so the caller asks lingua (or
    /// [`Self::leaves_latin_trigrams`]).
    pub fn decided_by_rules(&self, configured: &[Language]) -> Option<Language> {
        let by_word = [
            (Language::Thai, self.thai),
            (Language::Korean, self.hangul),
            (Language::Chinese, self.han),
            (Language::Japanese, self.kana),
        ];
        let words = self.words.len();
        let known: usize = by_word.iter().map(|(_, s)| s.words).sum();
        if known == 0 || self.ascii_words + known != words {
            return None;
        }
        if by_word
            .iter()
            .any(|(l, s)| s.words > 0 && !configured.contains(l))
        {
            return None;
        }
        // The rule stage: counts per word language (None: unknown), ranked by
        // count, ties in key order (None first), as lingua's counter does.
        let mut counts: Vec<(Option<Language>, usize)> = by_word
            .iter()
            .filter(|(_, s)| s.words > 0)
            .map(|(l, s)| (Some(*l), s.words))
            .collect();
        if 2 * self.ascii_words >= words {
            counts.push((None, self.ascii_words));
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
        // The alphabet filter, without Han or kana (whose alphabets belong to
        // two languages, or whose n-grams we do not have).
        if self.han.words + self.kana.words > 0 {
            return None;
        }
        let mut letters = [
            (Some(Language::Thai), self.thai.letters),
            (Some(Language::Korean), self.hangul.letters),
            (None, self.latin_letters),
        ];
        letters.sort_by_key(|l| std::cmp::Reverse(l.1));
        let [(top, most), (_, next), _] = letters;
        (most > next).then_some(top).flatten()
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
        // Cyrillic, a dotted İ, the (Common-script) prolonged sound mark, a
        // Kangxi radical, a Devanagari digit.
        for text in ["и так", "İstanbul", "コーヒー", "a ⼈ b", "१२"] {
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
            "ครับ 답은 x",
        ] {
            assert_eq!(decided(text), lingua.detect_language_of(text), "{text}");
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
