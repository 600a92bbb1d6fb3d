//! whatlang 0.18: trigram profiles, fast, no Swahili.

use whatlang::Lang;

use super::{latin_langs, Ngram};
use crate::lang::Detection;

/// ISO 639-1 ↔ whatlang for the languages we support (whatlang speaks ISO 639-3).
const TABLE: &[(&str, Lang)] = &[
    ("ar", Lang::Ara),
    ("bn", Lang::Ben),
    ("de", Lang::Deu),
    ("en", Lang::Eng),
    ("es", Lang::Spa),
    ("fr", Lang::Fra),
    ("ja", Lang::Jpn),
    ("ko", Lang::Kor),
    ("pt", Lang::Por),
    ("ru", Lang::Rus),
    ("te", Lang::Tel),
    ("th", Lang::Tha),
    ("vi", Lang::Vie),
    ("zh", Lang::Cmn),
];

/// whatlang's language for an ISO 639-1 code (`None`: whatlang lacks it, e.g. `sw`).
pub fn to_whatlang(code: &str) -> Option<Lang> {
    TABLE.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// The ISO 639-1 code of a whatlang language we support.
pub fn from_whatlang(lang: Lang) -> Option<&'static str> {
    TABLE.iter().find(|(_, l)| *l == lang).map(|(c, _)| *c)
}

pub struct WhatlangBackend {
    det: Option<whatlang::Detector>,
}

impl WhatlangBackend {
    pub fn new(langs: &[&'static str]) -> Self {
        let allow: Vec<Lang> = latin_langs(langs)
            .iter()
            .filter_map(|l| to_whatlang(l))
            .collect();
        // An empty allowlist would allow everything: no Latin language, no detector.
        let det = (!allow.is_empty()).then(|| whatlang::Detector::with_allowlist(allow));
        Self { det }
    }
}

impl Ngram for WhatlangBackend {
    fn name(&self) -> &'static str {
        "whatlang"
    }

    fn ranked(&self, text: &str) -> Vec<Detection> {
        self.top(text).into_iter().collect()
    }

    fn top(&self, text: &str) -> Option<Detection> {
        let info = self.det.as_ref()?.detect(text)?;
        let lang = from_whatlang(info.lang())?;
        Some(Detection {
            lang,
            confidence: info.confidence(),
        })
    }
}
