//! String interning: every distinct string of a day gets a small id, so groups hash integers.
//!
//! Each string is stored once, in one byte arena; the hash table holds ids only and compares
//! candidates against the arena. An interner lives as long as its day (or its label sets), so
//! its size is that of the day's distinct strings, never the run's.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// Id of an interned string; [`NULL`] stands for SQL NULL.
pub type StrId = u32;
pub const NULL: StrId = 0;

pub struct Interner {
    /// Every string's bytes, one after the other.
    text: String,
    /// `ends[id]`: where string `id` ends in `text`; it starts where `id - 1` ends (slot 0, NULL,
    /// is empty and never looked up by value).
    ends: Vec<usize>,
    /// Each string's hash (kept so that growing the table hashes no text again).
    hashes: Vec<u64>,
    /// Ids of the strings, hashed by their text.
    table: HashTable<StrId>,
}

impl Default for Interner {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn hash_str(s: &str) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(s)
}

impl Interner {
    pub fn new() -> Self {
        Self::with_capacity(0, 0)
    }

    /// An interner with room for `strings` strings of `text_bytes` bytes in all.
    pub fn with_capacity(strings: usize, text_bytes: usize) -> Self {
        let mut ends = Vec::with_capacity(strings + 1);
        ends.push(0);
        let mut hashes = Vec::with_capacity(strings + 1);
        hashes.push(0);
        Self {
            text: String::with_capacity(text_bytes),
            ends,
            hashes,
            table: HashTable::with_capacity(strings),
        }
    }

    #[inline]
    fn slice<'a>(text: &'a str, ends: &[usize], id: StrId) -> &'a str {
        let i = id as usize;
        &text[ends[i - 1]..ends[i]]
    }

    pub fn intern(&mut self, s: &str) -> StrId {
        let hash = hash_str(s);
        let (text, ends) = (&self.text, &self.ends);
        if let Some(&id) = self
            .table
            .find(hash, |&id| Self::slice(text, ends, id) == s)
        {
            return id;
        }
        let id = StrId::try_from(self.ends.len()).expect("more than 2³² strings in a day");
        self.text.push_str(s);
        self.ends.push(self.text.len());
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table
            .insert_unique(hash, id, |&id| hashes[id as usize]);
        id
    }

    /// The string of an id, `None` for NULL.
    #[inline]
    pub fn get(&self, id: StrId) -> Option<&str> {
        if id == NULL {
            None
        } else {
            Some(Self::slice(&self.text, &self.ends, id))
        }
    }

    /// How many ids there are (NULL included); ids run from 0 to `len() - 1`.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of all the strings.
    pub fn text_bytes(&self) -> usize {
        self.text.len()
    }

    /// SQL `max` over two string ids: NULL loses, otherwise the larger string by byte order.
    pub fn max(&self, a: StrId, b: StrId) -> StrId {
        if a == b || b == NULL {
            return a;
        }
        if a == NULL {
            return b;
        }
        if self.get(b) > self.get(a) {
            b
        } else {
            a
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_distinct_string_once() {
        let mut i = Interner::new();
        let words: Vec<String> = (0..5000).map(|n| format!("pod-{n}")).collect();
        let ids: Vec<StrId> = words.iter().map(|w| i.intern(w)).collect();
        assert_eq!(i.intern(""), 5001, "the empty string is a string, not NULL");
        for (w, &id) in words.iter().zip(&ids) {
            assert_eq!(i.intern(w), id);
            assert_eq!(i.get(id), Some(w.as_str()));
        }
        assert_eq!(i.get(NULL), None);
        assert_eq!(i.len(), 5002);
        assert_eq!(i.max(ids[2], ids[10]), ids[2], "pod-2 > pod-10 by bytes");
        assert_eq!(i.max(NULL, ids[10]), ids[10]);
    }
}
