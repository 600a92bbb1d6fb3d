//! AdaMame's data pipeline: read raw generations, split reasoning from
//! answers, measure the reasoning language, verify answers, deduplicate and
//! decontaminate, and write curated, documented Parquet.

pub mod ascii_block;
pub mod build;
pub mod card;
pub mod chars;
pub mod distinct;
pub mod jsonl;
pub mod lang;
pub mod normalize;
pub mod prompt;
pub mod sink;
pub mod source;
pub mod tokens;
pub mod trace;
pub mod verify;
