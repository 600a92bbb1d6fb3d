//! The verbs beyond `build`: thin layers over the library that print.

pub mod export;
pub mod input;
pub mod inspect;
pub mod parse;
pub mod score;
