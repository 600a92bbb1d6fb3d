//! `tokenizer.json` through the `tokenizers` crate, the chat templates of the
//! paper's models, and training a small byte-level BPE tokenizer.
//!
//! Templates render to text that already holds its special tokens (BOS
//! included), so a rendered prompt is encoded with `add_special_tokens = false`.
//! Special-token ids are always looked up in the tokenizer.

use std::path::Path;
use std::str::FromStr;

use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::normalizers::{unicode::NFC, NormalizerWrapper};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{AddedToken, DecoderWrapper, SplitDelimiterBehavior, Tokenizer, TokenizerBuilder};

use crate::error::{Error, Result};

/// The pre-tokenizer split of the Qwen2 / Qwen3 tokenizers.
pub const QWEN_SPLIT_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Special tokens of the plain template (the tiny default model).
pub const PLAIN_SPECIAL_TOKENS: [&str; 6] = [
    "<|endoftext|>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<think>",
    "</think>",
];

/// A tokenizer loaded from (or saved to) `tokenizer.json`.
#[derive(Clone)]
pub struct Tok {
    inner: Tokenizer,
}

fn tok_err(e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(e.to_string())
}

impl Tok {
    pub fn from_file(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::Tokenizer(format!(
                "{}: no such file",
                path.display()
            )));
        }
        let inner = Tokenizer::from_file(path)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
        Ok(Self { inner })
    }

    /// `tokenizer.json` of a checkpoint folder.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Self::from_file(&dir.join("tokenizer.json"))
    }

    pub fn from_json_str(json: &str) -> Result<Self> {
        Ok(Self {
            inner: Tokenizer::from_str(json).map_err(tok_err)?,
        })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        self.inner
            .save(path, false)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))
    }

    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>> {
        Ok(self
            .inner
            .encode(text, add_special_tokens)
            .map_err(tok_err)?
            .get_ids()
            .to_vec())
    }

    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.inner.decode(ids, skip_special_tokens).map_err(tok_err)
    }

    /// The id of a token (special or not), read from the tokenizer.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Ids of the tokens marked special in tokenizer.json.
    pub fn special_token_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .inner
            .get_added_tokens_decoder()
            .into_iter()
            .filter(|(_, t)| t.special)
            .map(|(id, _)| id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Trains a byte-level BPE tokenizer (Qwen's split regex, NFC) on `texts`, with
    /// `special_tokens` first in the vocabulary.
    pub fn train_bpe<I, S>(texts: I, vocab_size: usize, special_tokens: &[&str]) -> Result<Self>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
    {
        let specials: Vec<AddedToken> = special_tokens
            .iter()
            .map(|t| AddedToken::from(t.to_string(), true))
            .collect();
        let mut trainer = BpeTrainerBuilder::new()
            .show_progress(false)
            .vocab_size(vocab_size)
            .min_frequency(2)
            .special_tokens(specials)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build();
        let split = Split::new(
            SplitPattern::Regex(QWEN_SPLIT_REGEX.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(tok_err)?;
        let pre = Sequence::new(vec![
            PreTokenizerWrapper::Split(split),
            PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, false, false)),
        ]);
        let mut tokenizer = TokenizerBuilder::<
            BPE,
            NormalizerWrapper,
            PreTokenizerWrapper,
            PostProcessorWrapper,
            DecoderWrapper,
        >::new()
        .with_model(BPE::default())
        .with_normalizer(Some(NormalizerWrapper::NFC(NFC)))
        .with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(pre)))
        .with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevel::default())))
        .build()
        .map_err(tok_err)?;
        tokenizer.train(&mut trainer, texts).map_err(tok_err)?;
        Ok(Self {
            inner: Tokenizer::from(tokenizer),
        })
    }
}

/// The chat formats of the paper's models and of the tiny default model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatTemplate {
    /// DeepSeek-R1-Distill-Qwen: `<｜begin▁of▁sentence｜>{system}<｜User｜>{q}<｜Assistant｜><think>\n`.
    R1Distill,
    /// Qwen3 with thinking switched off: the prompt ends in an empty think block,
    /// and the reasoning is the response text before its last blank line.
    Qwen3NoThink,
    /// `<|user|>\n{q}\n<|assistant|>\n<think>\n`, for the tiny default model.
    Plain,
}

const R1_BOS: &str = "<｜begin▁of▁sentence｜>";
const R1_USER: &str = "<｜User｜>";
const R1_ASSISTANT: &str = "<｜Assistant｜>";
const R1_EOS: &str = "<｜end▁of▁sentence｜>";
const IM_START: &str = "<|im_start|>";
const IM_END: &str = "<|im_end|>";

impl FromStr for ChatTemplate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "r1-distill" | "deepseek-r1" | "r1" => Ok(Self::R1Distill),
            "qwen3" | "qwen3-nothink" | "qwen3-non-thinking" => Ok(Self::Qwen3NoThink),
            "plain" => Ok(Self::Plain),
            other => Err(Error::Tokenizer(format!(
                "unknown chat template {other:?} (r1-distill, qwen3, plain)"
            ))),
        }
    }
}

impl ChatTemplate {
    pub fn name(self) -> &'static str {
        match self {
            Self::R1Distill => "r1-distill",
            Self::Qwen3NoThink => "qwen3",
            Self::Plain => "plain",
        }
    }

    /// The template whose special tokens the tokenizer has.
    pub fn detect(tok: &Tok) -> Result<Self> {
        [Self::R1Distill, Self::Qwen3NoThink, Self::Plain]
            .into_iter()
            .find(|t| t.check(tok).is_ok())
            .ok_or_else(|| {
                Error::Tokenizer(
                    "the tokenizer has the special tokens of none of the chat templates \
                     (r1-distill, qwen3, plain); pass one explicitly"
                        .into(),
                )
            })
    }

    /// The special tokens the rendered text relies on.
    pub fn required_tokens(self) -> &'static [&'static str] {
        match self {
            Self::R1Distill => &[R1_BOS, R1_USER, R1_ASSISTANT, R1_EOS],
            Self::Qwen3NoThink => &[IM_START, IM_END],
            Self::Plain => &["<|endoftext|>", "<|user|>", "<|assistant|>"],
        }
    }

    /// Checks that every token the template relies on is in the tokenizer.
    pub fn check(self, tok: &Tok) -> Result<()> {
        match self
            .required_tokens()
            .iter()
            .find(|t| tok.token_id(t).is_none())
        {
            Some(missing) => Err(Error::Tokenizer(format!(
                "chat template {} needs the token {missing:?}, which the tokenizer lacks",
                self.name()
            ))),
            None => Ok(()),
        }
    }

    /// The token that ends a response.
    pub fn eos_token(self) -> &'static str {
        match self {
            Self::R1Distill => R1_EOS,
            Self::Qwen3NoThink => IM_END,
            Self::Plain => "<|endoftext|>",
        }
    }

    /// Its id in this tokenizer.
    pub fn eos_id(self, tok: &Tok) -> Result<u32> {
        tok.token_id(self.eos_token())
            .ok_or_else(|| Error::Tokenizer(format!("the tokenizer lacks {:?}", self.eos_token())))
    }

    /// The prompt side, ending where the model starts writing (after the `<think>` opener).
    pub fn prompt(self, system: Option<&str>, user: &str) -> String {
        let system = system.filter(|s| !s.is_empty());
        match self {
            Self::R1Distill => format!(
                "{R1_BOS}{}{R1_USER}{user}{R1_ASSISTANT}<think>\n",
                system.unwrap_or("")
            ),
            Self::Qwen3NoThink => {
                let sys = system
                    .map(|s| format!("{IM_START}system\n{s}{IM_END}\n"))
                    .unwrap_or_default();
                format!("{sys}{IM_START}user\n{user}{IM_END}\n{IM_START}assistant\n<think>\n\n</think>\n\n")
            }
            Self::Plain => {
                let sys = system
                    .map(|s| format!("<|system|>\n{s}\n"))
                    .unwrap_or_default();
                format!("{sys}<|user|>\n{user}\n<|assistant|>\n<think>\n")
            }
        }
    }

    /// The response side (what the loss is computed on), ending with the EOS token.
    pub fn response(self, reasoning: &str, answer: &str) -> String {
        let reasoning = reasoning.trim_end();
        let answer = answer.trim();
        match self {
            Self::R1Distill | Self::Plain => {
                format!("{reasoning}\n</think>\n\n{answer}{}", self.eos_token())
            }
            Self::Qwen3NoThink if reasoning.is_empty() => format!("{answer}{IM_END}"),
            Self::Qwen3NoThink => format!("{reasoning}\n\n{answer}{IM_END}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<String> {
        let base = [
            "Natalia sold 48 clips in April and half as many in May.",
            "Natalia a vendu 48 trombones en avril.",
            "娜塔莉亚在四月份卖了48个夹子。",
            "The answer is \\boxed{72}.",
        ];
        (0..20)
            .flat_map(|_| base.iter().map(|s| s.to_string()))
            .collect()
    }

    #[test]
    fn trained_bpe_round_trips_and_keeps_specials_whole() {
        let tok = Tok::train_bpe(corpus().into_iter(), 320, &PLAIN_SPECIAL_TOKENS).unwrap();
        assert!(
            tok.vocab_size() <= 320 && tok.vocab_size() > 262,
            "{}",
            tok.vocab_size()
        );
        assert_eq!(tok.token_id("<|endoftext|>"), Some(0));
        let text = "Ναταλία 娜塔莉亚 sold 48 clips.";
        let ids = tok.encode(text, false).unwrap();
        assert_eq!(tok.decode(&ids, false).unwrap(), text);
        let prompt = ChatTemplate::Plain.prompt(None, "2+2?");
        let ids = tok.encode(&prompt, false).unwrap();
        assert!(ids.contains(&tok.token_id("<|user|>").unwrap()));
        assert!(ids.contains(&tok.token_id("<think>").unwrap()));
        assert_eq!(ChatTemplate::detect(&tok).unwrap(), ChatTemplate::Plain);
        // Merges learned: common words take fewer tokens than bytes.
        assert!(tok.encode("Natalia", false).unwrap().len() < 7);
    }

    #[test]
    fn templates_render_the_paper_formats() {
        assert_eq!(
            ChatTemplate::R1Distill.prompt(None, "Q"),
            "<｜begin▁of▁sentence｜><｜User｜>Q<｜Assistant｜><think>\n"
        );
        assert_eq!(
            ChatTemplate::R1Distill.response("r\n", "a"),
            "r\n</think>\n\na<｜end▁of▁sentence｜>"
        );
        assert_eq!(
            ChatTemplate::Qwen3NoThink.prompt(Some("S"), "Q"),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
        );
        assert_eq!(
            ChatTemplate::Qwen3NoThink.response("r", "a"),
            "r\n\na<|im_end|>"
        );
        assert_eq!(
            "qwen3".parse::<ChatTemplate>().unwrap(),
            ChatTemplate::Qwen3NoThink
        );
        assert!("chatml".parse::<ChatTemplate>().is_err());
    }

    #[test]
    fn missing_template_token_is_named() {
        let tok = Tok::train_bpe(corpus().into_iter(), 300, &["<|endoftext|>"]).unwrap();
        let err = ChatTemplate::R1Distill.check(&tok).unwrap_err();
        assert!(err.to_string().contains("begin▁of▁sentence"), "{err}");
    }
}
