//! String interning: every distinct string of a day gets a small id, so groups hash integers.

use rustc_hash::FxHashMap;

/// Id of an interned string; [`NULL`] stands for SQL NULL.
pub type StrId = u32;
pub const NULL: StrId = 0;

#[derive(Default)]
pub struct Interner {
    ids: FxHashMap<Box<str>, StrId>,
    strings: Vec<Box<str>>,
}

impl Interner {
    pub fn new() -> Self {
        Self {
            ids: FxHashMap::default(),
            strings: vec!["".into()], // slot 0 is NULL, never looked up by value
        }
    }

    pub fn intern(&mut self, s: &str) -> StrId {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strings.len() as StrId;
        self.strings.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    /// The string of an id, `None` for NULL.
    pub fn get(&self, id: StrId) -> Option<&str> {
        if id == NULL {
            None
        } else {
            Some(&self.strings[id as usize])
        }
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// SQL `max` over two string ids: NULL loses, otherwise the larger string by byte order.
    pub fn max(&self, a: StrId, b: StrId) -> StrId {
        if a == b || b == NULL {
            return a;
        }
        if a == NULL {
            return b;
        }
        if self.strings[b as usize] > self.strings[a as usize] {
            b
        } else {
            a
        }
    }
}
