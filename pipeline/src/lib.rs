pub mod jsonl;
pub mod lang;
pub mod verify;
