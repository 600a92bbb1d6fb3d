//! The Unicode-script layer: which writing system a letter belongs to, and
//! what the script alone settles about the language.
//!
//! Hangul is Korean, kana is Japanese, Thai, Bengali and Telugu script each
//! belong to one configured language, Cyrillic is Russian and Arabic script
//! is Arabic among the languages we know. Han without kana is Chinese. Only
//! Latin text needs an n-gram detector to tell English from French.

/// A writing system, as far as language identification cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Script {
    Latin,
    Cyrillic,
    Greek,
    Arabic,
    Hebrew,
    Devanagari,
    Bengali,
    Telugu,
    Thai,
    Hangul,
    Hiragana,
    Katakana,
    Han,
    Other,
}

/// Script groups: runs of text are cut where the group changes. Han and kana
/// are one group (Japanese mixes them in every sentence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    Latin,
    Cyrillic,
    Greek,
    Arabic,
    Hebrew,
    Devanagari,
    Bengali,
    Telugu,
    Thai,
    Hangul,
    Cjk,
    Other,
}

impl Script {
    pub fn group(self) -> Group {
        match self {
            Script::Latin => Group::Latin,
            Script::Cyrillic => Group::Cyrillic,
            Script::Greek => Group::Greek,
            Script::Arabic => Group::Arabic,
            Script::Hebrew => Group::Hebrew,
            Script::Devanagari => Group::Devanagari,
            Script::Bengali => Group::Bengali,
            Script::Telugu => Group::Telugu,
            Script::Thai => Group::Thai,
            Script::Hangul => Group::Hangul,
            Script::Hiragana | Script::Katakana | Script::Han => Group::Cjk,
            Script::Other => Group::Other,
        }
    }

    pub fn is_kana(self) -> bool {
        matches!(self, Script::Hiragana | Script::Katakana)
    }
}

impl Group {
    /// How much language evidence one letter of this group carries, relative
    /// to a Latin letter (a Han character is about a word).
    pub fn weight(self) -> u32 {
        match self {
            Group::Cjk | Group::Hangul => 3,
            _ => 1,
        }
    }
}

/// The script of a letter; `None` for anything that is not a letter (digits,
/// punctuation, symbols, spaces, combining marks outside letter blocks).
#[inline]
pub fn script_of(c: char) -> Option<Script> {
    script_table().of(c)
}

/// [`script_of`] for loops over many characters: the table fetched once.
#[derive(Clone, Copy)]
pub struct ScriptTable(&'static [u8]);

pub fn script_table() -> ScriptTable {
    ScriptTable(bmp_scripts())
}

impl ScriptTable {
    /// [`script_of`]`(c)`.
    #[inline]
    pub fn of(self, c: char) -> Option<Script> {
        let u = c as u32;
        if u < 0x80 {
            return if c.is_ascii_alphabetic() {
                Some(Script::Latin)
            } else {
                None
            };
        }
        self.of_non_ascii(u)
    }

    /// [`Self::of`] a non-ASCII code point (a `char`'s): one load for the
    /// Basic Multilingual Plane, the blocks beyond it.
    #[inline]
    fn of_non_ascii(self, code: u32) -> Option<Script> {
        match self.0.get(code as usize) {
            Some(&index) => SCRIPT_CODES[usize::from(index)],
            None => char::from_u32(code).and_then(script_by_blocks),
        }
    }

    /// The byte length of the longest prefix of `text` made of non-ASCII
    /// characters whose script satisfies `keep` (asked once per character,
    /// in order, until it says no), decoded with
    /// [`crate::chars::decode_at`]: runs of them are most of a non-Latin trace.
    #[inline]
    pub fn non_ascii_prefix_len(
        self,
        text: &str,
        mut keep: impl FnMut(Option<Script>) -> bool,
    ) -> usize {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < text.len() {
            // Three-byte characters (Thai, kana, Han, Hangul) in a loop of
            // their own.
            while let Some(code) = crate::chars::three_byte_code_at(bytes, i) {
                if !keep(self.of_non_ascii(code)) {
                    return i;
                }
                i += 3;
            }
            if i >= text.len() {
                break;
            }
            let (code, len) = crate::chars::decode_at(text, i);
            if code < 0x80 || !keep(self.of_non_ascii(code)) {
                break;
            }
            i += len;
        }
        i
    }
}

/// [`script_of`] for every character of the Basic Multilingual Plane, one
/// byte each (its index in [`SCRIPT_CODES`]): one load instead of a walk
/// through the block ranges, which every pass over a Thai or Japanese trace
/// asks for every character.
fn bmp_scripts() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Box<[u8]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        crate::chars::bmp_byte_table(|c| {
            let script = script_by_blocks(c);
            SCRIPT_CODES.iter().position(|&s| s == script).unwrap_or(0) as u8
        })
    })
}

/// The answers of [`script_of`], indexed by the codes of [`bmp_scripts`].
const SCRIPT_CODES: [Option<Script>; 15] = [
    None,
    Some(Script::Latin),
    Some(Script::Cyrillic),
    Some(Script::Greek),
    Some(Script::Arabic),
    Some(Script::Hebrew),
    Some(Script::Devanagari),
    Some(Script::Bengali),
    Some(Script::Telugu),
    Some(Script::Thai),
    Some(Script::Hangul),
    Some(Script::Hiragana),
    Some(Script::Katakana),
    Some(Script::Han),
    Some(Script::Other),
];

/// [`script_of`] from the Unicode blocks, for any non-ASCII character.
fn script_by_blocks(c: char) -> Option<Script> {
    let u = c as u32;
    // Blocks (or parts) where every code point is a letter or a vowel/tone
    // mark of a letter: no need for the general (slower) letter test.
    match u {
        0x00C0..=0x024F => {
            return if u == 0xD7 || u == 0xF7 {
                None
            } else {
                Some(Script::Latin)
            }
        }
        0x1E00..=0x1EFF => return Some(Script::Latin),
        0x0410..=0x044F => return Some(Script::Cyrillic),
        0x0620..=0x064A => return Some(Script::Arabic),
        0x0985..=0x09CE => return Some(Script::Bengali),
        0x0C05..=0x0C56 => return Some(Script::Telugu),
        0x0E01..=0x0E3A | 0x0E40..=0x0E4E => return Some(Script::Thai),
        0x3041..=0x3096 => return Some(Script::Hiragana),
        0x30A1..=0x30FA | 0x30FC..=0x30FF => return Some(Script::Katakana),
        0x4E00..=0x9FFF | 0x3400..=0x4DBF => return Some(Script::Han),
        0xAC00..=0xD7A3 => return Some(Script::Hangul),
        _ => {}
    }
    let s = match u {
        0x00AA | 0x00BA => Script::Latin,
        0x0250..=0x02AF | 0x1D00..=0x1DBF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xAB30..=0xAB6F => {
            Script::Latin
        }
        0xFF21..=0xFF3A | 0xFF41..=0xFF5A => Script::Latin, // fullwidth
        0x0300..=0x036F => return None,                     // combining diacritics
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        0x0590..=0x05FF | 0xFB1D..=0xFB4F => Script::Hebrew,
        0x0600..=0x06FF | 0x0750..=0x077F | 0x0870..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
            Script::Arabic
        }
        0x0900..=0x097F | 0xA8E0..=0xA8FF => Script::Devanagari,
        0x0980..=0x09FF => Script::Bengali,
        0x0C00..=0x0C7F => Script::Telugu,
        0x0E00..=0x0E7F => Script::Thai,
        0x1100..=0x11FF | 0x3130..=0x318F | 0xA960..=0xA97F | 0xD7B0..=0xD7FF | 0xFFA0..=0xFFDC => {
            Script::Hangul
        }
        0x3040..=0x309F => Script::Hiragana,
        0x30A0..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => Script::Katakana,
        0x3005 | 0x3007 | 0x3021..=0x3029 | 0xF900..=0xFAFF | 0x20000..=0x3FFFF => Script::Han,
        _ => Script::Other,
    };
    // Marks and signs inside the letter blocks count only when Unicode calls
    // them alphabetic; punctuation and digits in those blocks do not.
    if crate::chars::is_alphabetic(c) {
        Some(s)
    } else {
        None
    }
}

/// Is this a combining mark that continues the current word (accents written
/// as separate code points)?
#[inline]
pub fn is_word_continuer(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F | 0x200C | 0x200D)
}

/// Letter counts per script of one piece of text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptCounts {
    counts: [u32; 14],
}

impl ScriptCounts {
    pub fn of(text: &str) -> Self {
        let mut sc = Self::default();
        for c in text.chars() {
            if let Some(s) = script_of(c) {
                sc.add(s, 1);
            }
        }
        sc
    }

    #[inline]
    pub fn add(&mut self, s: Script, n: u32) {
        self.counts[s as usize] = self.counts[s as usize].saturating_add(n);
    }

    pub fn get(&self, s: Script) -> u32 {
        self.counts[s as usize]
    }

    pub fn letters(&self) -> u32 {
        self.counts.iter().fold(0u32, |a, &b| a.saturating_add(b))
    }

    pub fn group_letters(&self, g: Group) -> u32 {
        ALL_SCRIPTS
            .iter()
            .filter(|s| s.group() == g)
            .fold(0u32, |a, s| a.saturating_add(self.get(*s)))
    }

    pub fn kana(&self) -> u32 {
        self.get(Script::Hiragana)
            .saturating_add(self.get(Script::Katakana))
    }

    /// The group with the most weighted letters, if there are letters.
    pub fn dominant_group(&self) -> Option<Group> {
        let mut best: Option<(Group, u64)> = None;
        for g in ALL_GROUPS {
            let w = self.group_letters(g) as u64 * g.weight() as u64;
            if w > 0 && best.is_none_or(|(_, bw)| w > bw) {
                best = Some((g, w));
            }
        }
        best.map(|(g, _)| g)
    }
}

pub const ALL_SCRIPTS: [Script; 14] = [
    Script::Latin,
    Script::Cyrillic,
    Script::Greek,
    Script::Arabic,
    Script::Hebrew,
    Script::Devanagari,
    Script::Bengali,
    Script::Telugu,
    Script::Thai,
    Script::Hangul,
    Script::Hiragana,
    Script::Katakana,
    Script::Han,
    Script::Other,
];

pub const ALL_GROUPS: [Group; 12] = [
    Group::Latin,
    Group::Cyrillic,
    Group::Greek,
    Group::Arabic,
    Group::Hebrew,
    Group::Devanagari,
    Group::Bengali,
    Group::Telugu,
    Group::Thai,
    Group::Hangul,
    Group::Cjk,
    Group::Other,
];

/// What the script alone says about the language of a text in one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The script belongs to exactly one language (ISO 639-1).
    Lang(&'static str),
    /// Latin (or another shared script): an n-gram detector must decide.
    NeedsNgram,
    /// A script of a language we do not know.
    Unknown,
}

/// The language a script group settles, ignoring which languages are
/// configured (the caller filters). For the CJK group, `kana` and `han`
/// decide between Japanese and Chinese: any real share of kana is Japanese.
pub fn settle_group(g: Group, kana: u32, han: u32) -> Settled {
    match g {
        Group::Latin => Settled::NeedsNgram,
        Group::Cyrillic => Settled::Lang("ru"),
        Group::Arabic => Settled::Lang("ar"),
        Group::Bengali => Settled::Lang("bn"),
        Group::Telugu => Settled::Lang("te"),
        Group::Thai => Settled::Lang("th"),
        Group::Hangul => Settled::Lang("ko"),
        Group::Devanagari => Settled::Lang("hi"),
        Group::Greek => Settled::Lang("el"),
        Group::Hebrew => Settled::Lang("he"),
        Group::Cjk => {
            // Japanese prose is 30-70% kana; one kana in a long Chinese
            // paragraph (a quoted word) does not make it Japanese.
            if kana > 0 && kana.saturating_mul(10) >= kana.saturating_add(han) {
                Settled::Lang("ja")
            } else {
                Settled::Lang("zh")
            }
        }
        Group::Other => Settled::Unknown,
    }
}

/// Languages written in the Latin script (for `word_pass`).
pub fn is_latin_script_lang(lang: &str) -> bool {
    matches!(
        lang,
        "en" | "fr"
            | "de"
            | "es"
            | "pt"
            | "sw"
            | "vi"
            | "it"
            | "nl"
            | "id"
            | "ms"
            | "tr"
            | "pl"
            | "ro"
            | "ca"
            | "sv"
            | "da"
            | "no"
            | "nb"
            | "fi"
            | "cs"
            | "hu"
            | "tl"
            | "yo"
            | "ha"
            | "so"
            | "zu"
            | "xh"
    )
}

/// The script group a language is written in (for the languages we know).
pub fn lang_group(lang: &str) -> Option<Group> {
    Some(match lang {
        "ru" => Group::Cyrillic,
        "ar" => Group::Arabic,
        "bn" => Group::Bengali,
        "te" => Group::Telugu,
        "th" => Group::Thai,
        "ko" => Group::Hangul,
        "ja" | "zh" => Group::Cjk,
        "hi" => Group::Devanagari,
        "el" => Group::Greek,
        "he" => Group::Hebrew,
        l if is_latin_script_lang(l) => Group::Latin,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_answers_as_the_blocks_do() {
        for c in ('\u{80}'..=char::MAX).take_while(|c| (*c as u32) < 0x1_0000) {
            assert_eq!(script_of(c), script_by_blocks(c), "{c:?}");
        }
        // Every answer has a code (none fell back to code 0 by mistake).
        assert!(SCRIPT_CODES.iter().skip(1).all(|s| s.is_some()));
    }

    #[test]
    fn scripts_of_letters() {
        assert_eq!(script_of('a'), Some(Script::Latin));
        assert_eq!(script_of('é'), Some(Script::Latin));
        assert_eq!(script_of('ệ'), Some(Script::Latin));
        assert_eq!(script_of('×'), None);
        assert_eq!(script_of('7'), None);
        assert_eq!(script_of('д'), Some(Script::Cyrillic));
        assert_eq!(script_of('한'), Some(Script::Hangul));
        assert_eq!(script_of('の'), Some(Script::Hiragana));
        assert_eq!(script_of('ス'), Some(Script::Katakana));
        assert_eq!(script_of('ー'), Some(Script::Katakana));
        assert_eq!(script_of('・'), None);
        assert_eq!(script_of('米'), Some(Script::Han));
        assert_eq!(script_of('ก'), Some(Script::Thai));
        assert_eq!(script_of('অ'), Some(Script::Bengali));
        assert_eq!(script_of('త'), Some(Script::Telugu));
        assert_eq!(script_of('ع'), Some(Script::Arabic));
        assert_eq!(script_of('。'), None);
        assert_eq!(script_of('😀'), None);
        assert_eq!(script_of('١'), None);
    }

    #[test]
    fn settles_cjk() {
        assert_eq!(settle_group(Group::Cjk, 0, 10), Settled::Lang("zh"));
        assert_eq!(settle_group(Group::Cjk, 5, 10), Settled::Lang("ja"));
        assert_eq!(settle_group(Group::Cjk, 1, 50), Settled::Lang("zh"));
        assert_eq!(settle_group(Group::Latin, 0, 0), Settled::NeedsNgram);
    }

    /// The prefix by characters and `script_of`, as the fast scan's definition.
    fn prefix_by_chars(text: &str, keep: impl Fn(Option<Script>) -> bool) -> usize {
        text.chars()
            .take_while(|&c| !c.is_ascii() && keep(script_of(c)))
            .map(char::len_utf8)
            .sum()
    }

    #[test]
    fn non_ascii_prefixes_by_bytes_are_those_by_characters() {
        let not_greek = |s: Option<Script>| s.is_some_and(|s| s != Script::Greek);
        for text in [
            "ภาษาไทย 12",
            "日本語のテキスト。次",
            "дом×2",
            "ñandú",
            "𠀀𠀁字a",
            "",
            "a",
            "πx",
        ] {
            assert_eq!(
                script_table().non_ascii_prefix_len(text, not_greek),
                prefix_by_chars(text, not_greek),
                "{text:?}"
            );
        }
        let thai = |s: Option<Script>| s == Some(Script::Thai);
        assert_eq!(
            script_table().non_ascii_prefix_len("ไทย日本", thai),
            "ไทย".len()
        );
    }

    proptest::proptest! {
        #[test]
        fn non_ascii_prefixes_agree_on_random_texts(
            text in "[a ×éдπกの字한𠀀\u{301}\u{e48}]{0,24}"
        ) {
            for keep in [
                (|s: Option<Script>| s.is_some()) as fn(Option<Script>) -> bool,
                |s| s.is_some_and(|s| s != Script::Greek),
                |s| s.is_none(),
                |s| s == Some(Script::Thai),
            ] {
                proptest::prop_assert_eq!(
                    script_table().non_ascii_prefix_len(&text, keep),
                    prefix_by_chars(&text, keep)
                );
            }
        }
    }
}
