//! Per-thread memos of values computed from a long-lived table (lingua's
//! models, the trigram table): the same words and n-grams recur in every
//! trace, and one probe of a small hot map replaces several probes of a big
//! cold one. The values are pure functions of the key and the table, so
//! results do not depend on which thread saw a key first.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash};

use super::trigram::Fx;

pub(super) struct TableMemo<K, V> {
    /// The table the values belong to (its address: tables live for the process).
    owner: usize,
    values: HashMap<K, V, BuildHasherDefault<Fx>>,
}

impl<K, V> Default for TableMemo<K, V> {
    fn default() -> Self {
        Self {
            owner: 0,
            values: HashMap::default(),
        }
    }
}

impl<K: Hash + Eq, V: Copy> TableMemo<K, V> {
    /// Makes the memo `table`'s: emptied when it held another table's values,
    /// or already `max` of them (which bounds its memory).
    pub(super) fn claim<T>(&mut self, table: &T, max: usize) {
        let owner = table as *const T as usize;
        if self.owner != owner || self.values.len() >= max {
            self.owner = owner;
            self.values.clear();
        }
    }

    pub(super) fn get_or_insert_with(&mut self, key: K, value: impl FnOnce() -> V) -> V {
        *self.values.entry(key).or_insert_with(value)
    }
}
