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

/// lingua's word, as a byte span of the text and its script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    pub start: usize,
    pub end: usize,
    pub latin: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Latin,
    Thai,
    Hangul,
    /// Han or kana: every character is a word of its own.
    Single,
}

/// How lingua's tokenizer sees `c`: a letter of a word of some kind, a
/// separator (`Some(None)`), or `None` when we do not reproduce lingua there.
fn kind(c: char) -> Option<Option<Kind>> {
    let u = c as u32;
    Some(match u {
        _ if c.is_ascii_alphabetic() => Some(Kind::Latin),
        _ if u < 0x80 => None,
        // Latin-1 and Latin Extended-A/B letters, Latin Extended Additional:
        // one-character lowercase forms (U+0130 lowercases to two).
        0x0130 => return None,
        0x00C0..=0x024F if u != 0xD7 && u != 0xF7 => Some(Kind::Latin),
        0x1E00..=0x1EFF => Some(Kind::Latin),
        // Script=Thai: letters, vowel and tone marks, digits, signs.
        0x0E01..=0x0E3A | 0x0E40..=0x0E5B => Some(Kind::Thai),
        0xAC00..=0xD7A3 | 0x1100..=0x11FF | 0x3131..=0x318E => Some(Kind::Hangul),
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x3041..=0x3096 | 0x30A1..=0x30FA => Some(Kind::Single),
        // Any other letter (or mark lingua might count): not reproduced.
        _ if crate::chars::is_alphabetic(c) => return None,
        // Digits, punctuation, spaces, combining accents: never in a word.
        _ => None,
    })
}

/// What the rule stages look at.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Census {
    pub words: Vec<Word>,
    /// Words of ASCII letters only: lingua's rules find no language in them.
    pub ascii_words: usize,
    /// Letters in Latin words, and in all other words.
    pub latin_letters: usize,
    pub other_letters: usize,
    /// Non-ASCII letters in Latin words (é, ã, ß, …).
    pub accented: usize,
}

impl Census {
    /// lingua's words of `text`, or `None` where its tokenizer might differ
    /// (other scripts, two scripts touching, words of over `max_word` letters).
    pub fn of(text: &str, max_word: usize) -> Option<Self> {
        let mut census = Census::default();
        let mut cur: Option<(Kind, usize, usize, bool)> = None; // kind, start, letters, ascii
        let close = |census: &mut Census, w: (Kind, usize, usize, bool), end: usize| {
            let (k, start, letters, ascii) = w;
            census.words.push(Word {
                start,
                end,
                latin: k == Kind::Latin,
            });
            if k == Kind::Latin {
                census.latin_letters += letters;
                census.ascii_words += ascii as usize;
            } else {
                census.other_letters += letters;
            }
        };
        for (i, c) in text.char_indices() {
            match (kind(c)?, cur) {
                // lingua's `\p{L}+` would take it into the word before.
                (Some(Kind::Single), Some(_)) => return None,
                (Some(Kind::Single), None) => {
                    close(&mut census, (Kind::Single, i, 1, false), i + c.len_utf8())
                }
                (Some(k), Some((ck, s, n, ascii))) => {
                    // lingua's `\p{L}+` runs on across scripts: not reproduced.
                    if k != ck || n >= max_word {
                        return None;
                    }
                    cur = Some((ck, s, n + 1, ascii && c.is_ascii()));
                }
                (Some(k), None) => cur = Some((k, i, 1, c.is_ascii())),
                (None, Some(w)) => {
                    close(&mut census, w, i);
                    cur = None;
                }
                (None, None) => {}
            }
            if !c.is_ascii() && kind(c) == Some(Some(Kind::Latin)) {
                census.accented += 1;
            }
        }
        if let Some(w) = cur {
            close(&mut census, w, text.len());
        }
        Some(census)
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
        let words = self.words.len();
        words > 0
            && 2 * self.ascii_words > words
            && self.latin_letters > self.other_letters
            && 2 * self.accented < words
            && self.latin_letters + self.other_letters >= 120
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
        assert_eq!(c.accented, 3);
        // Han and kana characters are words of one letter each.
        let c = Census::of("数学 です ok", 1000).unwrap();
        assert_eq!(c.words.len(), 5);
        assert_eq!((c.other_letters, c.latin_letters, c.ascii_words), (4, 2, 1));
    }

    #[test]
    fn texts_lingua_tokenizes_differently_are_refused() {
        // A Latin word running into Thai letters or Han, Cyrillic, a dotted İ,
        // the (Common-script) prolonged sound mark.
        for text in ["abcครับ", "voir数", "и так", "İstanbul", "コーヒー"] {
            assert_eq!(Census::of(text, 1000), None, "{text}");
        }
        assert_eq!(Census::of("aaaaaa", 5), None);
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
