//! Label sets: parsing koku's label JSON once per distinct string, filtering by the enabled
//! keys, merging (later wins) and rendering as Trino's JSON (keys sorted, compact).

use std::sync::Mutex;

use hashbrown::HashTable;
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;

use crate::error::{KernelError, Result};
use crate::intern::{Interner, StrId, NULL};

/// Id of an interned, filtered label set; [`EMPTY_SET`] is `{}`.
pub type SetId = u32;
pub const EMPTY_SET: SetId = 0;

/// The enabled keys K; `None` is Trino's NULL array (no OCP key enabled): every set filters to `{}`.
pub struct KeyFilter {
    keys: Option<FxHashSet<String>>,
    /// Filtered pairs per raw label string, kept across the days of a run: a cluster's label
    /// strings repeat day after day, so each is parsed about once. Bounded by bytes, see
    /// [`LabelCache`].
    cache: Mutex<LabelCache>,
}

/// What the label cache of a run holds and how well it served.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Raw label strings found in the cache, parsed and filtered earlier.
    pub hits: u64,
    /// Raw label strings parsed (the first time, or after eviction or refusal).
    pub misses: u64,
    /// Entries dropped because they were not used on the current or previous day.
    pub evicted: u64,
    /// Parsed strings not kept because the cache was full of strings still in use.
    pub refused: u64,
    pub entries: u64,
    pub bytes: u64,
}

/// Bytes the label cache may hold (its strings, their filtered pairs and a table slot each).
pub const LABEL_CACHE_BYTES: usize = 16 << 20;
/// A cached entry's bytes beyond its text and pairs: the table slot (key and value, 40 bytes,
/// at hashbrown's load factor) and the two allocations' headers.
const ENTRY_OVERHEAD: usize = 80;

/// Raw label string → its kept pairs, encoded in one allocation (see [`encode_pair`]). When a
/// new entry would exceed the byte budget, entries not used on the current or the previous day
/// go (once per day); if that is not enough, the new entry is not kept, so a cluster whose
/// label strings outnumber the budget keeps a stable part of them cached instead of thrashing.
struct LabelCache {
    entries: FxHashMap<Box<str>, CacheEntry>,
    budget: usize,
    bytes: usize,
    /// The current day (a counter: each new day of the run adds one).
    day: u32,
    swept_day: u32,
    stats: CacheStats,
}

struct CacheEntry {
    pairs: Box<[u8]>,
    used: u32,
}

impl LabelCache {
    fn new(budget: usize) -> Self {
        Self {
            entries: FxHashMap::default(),
            budget,
            bytes: 0,
            day: 1,
            swept_day: 0,
            stats: CacheStats::default(),
        }
    }

    fn entry_bytes(text: &str, pairs: &[u8]) -> usize {
        text.len() + pairs.len() + ENTRY_OVERHEAD
    }

    fn insert(&mut self, text: &str, pairs: Box<[u8]>) {
        let size = Self::entry_bytes(text, &pairs);
        if self.bytes + size > self.budget && self.swept_day != self.day {
            self.swept_day = self.day;
            let keep_from = self.day.saturating_sub(1);
            let before = self.entries.len();
            let mut freed = 0;
            self.entries.retain(|k, e| {
                let keep = e.used >= keep_from;
                if !keep {
                    freed += Self::entry_bytes(k, &e.pairs);
                }
                keep
            });
            self.bytes -= freed;
            self.stats.evicted += (before - self.entries.len()) as u64;
            if self.entries.len() * 2 < self.entries.capacity() {
                self.entries.shrink_to_fit();
            }
        }
        if self.bytes + size > self.budget {
            self.stats.refused += 1;
            return;
        }
        self.bytes += size;
        let used = self.day;
        self.entries.insert(text.into(), CacheEntry { pairs, used });
    }
}

/// Append one (key, value) pair: key length (u32, little-endian), key, value length
/// (`u32::MAX` for JSON null), value.
fn encode_pair(out: &mut Vec<u8>, key: &str, value: Option<&str>) {
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    match value {
        Some(v) => {
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v.as_bytes());
        }
        None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

/// The pairs [`encode_pair`] wrote, in order.
fn decode_pairs(mut bytes: &[u8], mut each: impl FnMut(&str, Option<&str>)) {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        head
    }
    fn len(bytes: &mut &[u8]) -> u32 {
        u32::from_le_bytes(take(bytes, 4).try_into().expect("four bytes"))
    }
    fn text<'a>(bytes: &mut &'a [u8], n: usize) -> &'a str {
        std::str::from_utf8(take(bytes, n)).expect("encoded from text")
    }
    while !bytes.is_empty() {
        let k = len(&mut bytes) as usize;
        let key = text(&mut bytes, k);
        let value = match len(&mut bytes) {
            u32::MAX => None,
            v => Some(text(&mut bytes, v as usize)),
        };
        each(key, value);
    }
}

impl KeyFilter {
    pub fn new(keys: &[String]) -> Self {
        Self::with_cache_bytes(keys, LABEL_CACHE_BYTES)
    }

    pub fn with_cache_bytes(keys: &[String], budget: usize) -> Self {
        Self {
            keys: if keys.is_empty() {
                None
            } else {
                Some(keys.iter().cloned().collect())
            },
            cache: Mutex::new(LabelCache::new(budget)),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, LabelCache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new day of the run begins (its entries count as used from now on).
    pub fn begin_day(&self) {
        let mut cache = self.cache();
        cache.day = cache.day.saturating_add(1);
    }

    pub fn stats(&self) -> CacheStats {
        let cache = self.cache();
        CacheStats {
            entries: cache.entries.len() as u64,
            bytes: cache.bytes as u64,
            ..cache.stats
        }
    }

    /// Call `each` with the kept (key, value) pairs of a label JSON object, sorted by key, or
    /// say why the text is not one.
    fn filter_json(
        &self,
        text: &str,
        each: impl FnMut(&str, Option<&str>),
    ) -> std::result::Result<(), String> {
        let mut cache = self.cache();
        let day = cache.day;
        if let Some(found) = cache.entries.get_mut(text) {
            found.used = day;
            decode_pairs(&found.pairs, each);
            cache.stats.hits += 1;
            return Ok(());
        }
        cache.stats.misses += 1;
        drop(cache);
        let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON ({e})"))?;
        let Value::Object(map) = value else {
            return Err("not a JSON object".to_string());
        };
        let mut pairs: Vec<(&str, Option<std::borrow::Cow<'_, str>>)> = Vec::new();
        for (k, v) in &map {
            let v = label_value(v).map_err(str::to_string)?;
            if !self.keeps_nothing() && self.keeps(k) {
                pairs.push((k.as_str(), v));
            }
        }
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let mut encoded = Vec::new();
        for (k, v) in &pairs {
            encode_pair(&mut encoded, k, v.as_deref());
        }
        decode_pairs(&encoded, each);
        self.cache().insert(text, encoded.into_boxed_slice());
        Ok(())
    }

    fn keeps(&self, key: &str) -> bool {
        self.keys.as_ref().is_some_and(|k| k.contains(key))
    }

    fn keeps_nothing(&self) -> bool {
        self.keys.is_none()
    }
}

/// Label sets of one day, each distinct set stored once.
pub struct LabelSets {
    /// Keys and values of every label, interned apart from the day's other strings.
    words: Interner,
    /// Every set's (key, value) word ids, sorted by key string (a JSON null value is [`NULL`]),
    /// one set after the other: set `id` is `pairs[starts[id]..starts[id + 1]]`.
    pairs: Vec<(StrId, StrId)>,
    starts: Vec<u32>,
    /// Set ids, hashed by their pairs; each set's hash, kept for the table's growth.
    table: HashTable<SetId>,
    hashes: Vec<u64>,
    /// Raw label string id → filtered set id (`u32::MAX` until parsed).
    parsed: Vec<SetId>,
    merged: FxHashMap<(SetId, SetId), SetId>,
    /// Pairs being built (a parsed or merged set before it is interned).
    scratch: Vec<(StrId, StrId)>,
}

const UNPARSED: SetId = SetId::MAX;

fn hash_pairs(pairs: &[(StrId, StrId)]) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(pairs)
}

/// A label value as Trino's cast to varchar gives it; `None` for JSON null.
fn label_value(v: &Value) -> std::result::Result<Option<std::borrow::Cow<'_, str>>, &'static str> {
    match v {
        Value::String(s) => Ok(Some(s.as_str().into())),
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(if *b { "true" } else { "false" }.into())),
        Value::Number(n) => Ok(Some(n.to_string().into())),
        Value::Array(_) | Value::Object(_) => Err("a label value is not a scalar"),
    }
}

impl LabelSets {
    pub fn new() -> Self {
        let mut table = HashTable::new();
        table.insert_unique(hash_pairs(&[]), EMPTY_SET, |_| hash_pairs(&[]));
        Self {
            words: Interner::new(),
            pairs: Vec::new(),
            starts: vec![0, 0],
            table,
            hashes: vec![hash_pairs(&[])],
            parsed: Vec::new(),
            merged: FxHashMap::default(),
            scratch: Vec::new(),
        }
    }

    #[inline]
    fn set_pairs<'a>(
        pairs: &'a [(StrId, StrId)],
        starts: &[u32],
        id: SetId,
    ) -> &'a [(StrId, StrId)] {
        let i = id as usize;
        &pairs[starts[i] as usize..starts[i + 1] as usize]
    }

    /// The pairs of a set.
    #[inline]
    fn get(&self, id: SetId) -> &[(StrId, StrId)] {
        Self::set_pairs(&self.pairs, &self.starts, id)
    }

    /// The id of the set in `scratch` (added when new).
    fn intern_scratch(&mut self) -> SetId {
        let hash = hash_pairs(&self.scratch);
        let (pairs, starts, new) = (&self.pairs, &self.starts, &self.scratch);
        if let Some(&id) = self.table.find(hash, |&id| {
            Self::set_pairs(pairs, starts, id) == new.as_slice()
        }) {
            return id;
        }
        let id = SetId::try_from(self.starts.len() - 1).expect("fewer than 2³² label sets");
        self.pairs.extend_from_slice(&self.scratch);
        let end = u32::try_from(self.pairs.len()).expect("fewer than 2³² label pairs");
        self.starts.push(end);
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table
            .insert_unique(hash, id, |&id| hashes[id as usize]);
        id
    }

    /// How many sets there are; ids run from 0 to `len() - 1`.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// The filtered set of a raw label string (parsed and checked on first sight).
    /// NULL labels read as `{}`, as koku's coalesce does for missing joins.
    #[inline]
    pub fn filtered(
        &mut self,
        raw: StrId,
        strings: &Interner,
        filter: &KeyFilter,
        column: &'static str,
    ) -> Result<SetId> {
        match self.parsed.get(raw as usize) {
            Some(&id) if id != UNPARSED => Ok(id),
            _ => self.parse(raw, strings, filter, column),
        }
    }

    #[cold]
    fn parse(
        &mut self,
        raw: StrId,
        strings: &Interner,
        filter: &KeyFilter,
        column: &'static str,
    ) -> Result<SetId> {
        if raw == NULL {
            return Ok(EMPTY_SET);
        }
        let idx = raw as usize;
        if idx < self.parsed.len() && self.parsed[idx] != UNPARSED {
            return Ok(self.parsed[idx]);
        }
        let text = strings.get(raw).unwrap_or("{}");
        let bad = |reason: &str| KernelError::Label {
            column,
            reason: reason.to_string(),
            value: text.chars().take(200).collect(),
            hour: None,
        };
        // Sorted by key string, which interning does not change.
        self.scratch.clear();
        let (words, pairs) = (&mut self.words, &mut self.scratch);
        filter
            .filter_json(text, |k, v| {
                let value = v.map_or(NULL, |v| words.intern(v));
                pairs.push((words.intern(k), value));
            })
            .map_err(|reason| bad(&reason))?;
        let id = self.intern_scratch();
        if self.parsed.len() <= idx {
            self.parsed.resize(strings.len().max(idx + 1), UNPARSED);
        }
        self.parsed[idx] = id;
        Ok(id)
    }

    /// `base ⊕ over`: the union of both, `over`'s value winning on a shared key.
    pub fn merge(&mut self, base: SetId, over: SetId) -> SetId {
        if over == EMPTY_SET {
            return base;
        }
        if base == EMPTY_SET || base == over {
            return over;
        }
        if let Some(&id) = self.merged.get(&(base, over)) {
            return id;
        }
        let (pairs, starts, words) = (&self.pairs, &self.starts, &self.words);
        let a = Self::set_pairs(pairs, starts, base);
        let b = Self::set_pairs(pairs, starts, over);
        let key = |id: StrId| words.get(id);
        let out = &mut self.scratch;
        out.clear();
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if j == b.len() || (i < a.len() && a[i].0 != b[j].0 && key(a[i].0) < key(b[j].0)) {
                out.push(a[i]);
                i += 1;
            } else {
                if i < a.len() && a[i].0 == b[j].0 {
                    i += 1;
                }
                out.push(b[j]);
                j += 1;
            }
        }
        let id = self.intern_scratch();
        self.merged.insert((base, over), id);
        id
    }

    /// Trino's `json_format(cast(map as json))`: keys sorted, no spaces.
    #[cfg(test)]
    pub fn to_json(&self, id: SetId) -> String {
        let mut out = String::new();
        self.write_json(id, &mut out);
        out
    }

    /// Append the JSON of a set to `out`.
    fn write_json(&self, id: SetId, out: &mut String) {
        out.push('{');
        for (n, &(k, v)) in self.get(id).iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            push_json_string(out, self.words.get(k).unwrap_or_default());
            out.push(':');
            match self.words.get(v) {
                Some(v) => push_json_string(out, v),
                None => out.push_str("null"),
            }
        }
        out.push('}');
    }
}

/// The JSON text of the label sets a day's rows use, each rendered once, into one string.
pub struct RenderedLabels {
    text: String,
    /// Set id → its range in `text`; `(0, 0)` when not rendered.
    ranges: Vec<(u32, u32)>,
}

impl RenderedLabels {
    /// Render `used` and `{}`.
    pub fn new(labels: &LabelSets, used: impl IntoIterator<Item = SetId>) -> Self {
        let mut ranges = vec![(0u32, 0u32); labels.len()];
        let mut text = String::new();
        for id in used.into_iter().chain([EMPTY_SET]) {
            let range = &mut ranges[id as usize];
            if range.1 == 0 {
                let start = text.len();
                labels.write_json(id, &mut text);
                *range = (start as u32, text.len() as u32);
            }
        }
        assert!(u32::try_from(text.len()).is_ok(), "4 GiB of label JSON");
        text.shrink_to_fit();
        Self { text, ranges }
    }

    /// The JSON of a rendered set (`{}` for any other).
    #[inline]
    pub fn get(&self, id: SetId) -> &str {
        match self.ranges[id as usize] {
            (_, 0) => "{}",
            (start, end) => &self.text[start as usize..end as usize],
        }
    }
}

/// Append `s` as a JSON string literal (quotes, backslashes and control characters escaped).
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The distinct filtered label sets each object (node or namespace) had during the day.
#[derive(Default)]
pub struct ObjectLabels {
    seen_raw: FxHashSet<(StrId, StrId)>,
    sets: FxHashMap<StrId, Vec<SetId>>,
}

impl ObjectLabels {
    /// Record that `object` carried raw labels `raw`; returns whether the raw pair is new.
    pub fn observe_raw(&mut self, object: StrId, raw: StrId) -> bool {
        self.seen_raw.insert((object, raw))
    }

    pub fn add_set(&mut self, object: StrId, set: SetId) {
        let sets = self.sets.entry(object).or_default();
        if !sets.contains(&set) {
            sets.push(set);
        }
    }

    /// The sets joined to `object`; an object without label rows joins once with `{}` (LEFT JOIN).
    pub fn sets_of(&self, object: StrId) -> &[SetId] {
        const NONE: &[SetId] = &[EMPTY_SET];
        if object == NULL {
            return NONE;
        }
        self.sets.get(&object).map_or(NONE, |v| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(
        labels: &mut LabelSets,
        strings: &mut Interner,
        json: &str,
        filter: &KeyFilter,
    ) -> SetId {
        let raw = strings.intern(json);
        labels.filtered(raw, strings, filter, "pod_labels").unwrap()
    }

    #[test]
    fn filter_merge_and_render() {
        let keys: Vec<String> = ["app", "env", "tier", "q\"k"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let filter = KeyFilter::new(&keys);
        let (mut labels, mut strings) = (LabelSets::new(), Interner::new());
        let node = set(
            &mut labels,
            &mut strings,
            r#"{"tier":"db","app":"x","drop":"1"}"#,
            &filter,
        );
        let pod = set(
            &mut labels,
            &mut strings,
            r#"{"env":"prod","app":"y","q\"k":null}"#,
            &filter,
        );
        let same = set(
            &mut labels,
            &mut strings,
            r#"{"app":"x","tier":"db"}"#,
            &filter,
        );
        assert_eq!(node, same, "key order and dropped keys do not matter");
        let merged = labels.merge(node, pod);
        assert_eq!(
            labels.to_json(merged),
            r#"{"app":"y","env":"prod","q\"k":null,"tier":"db"}"#
        );
        assert_eq!(labels.to_json(EMPTY_SET), "{}");
    }

    #[test]
    fn label_cache_is_bounded_by_bytes_and_keeps_what_is_in_use() {
        let keys = vec!["app".to_string()];
        let text = |n: usize| format!(r#"{{"app":"a{n:04}","pad":"{}"}}"#, "x".repeat(100));
        // Room for about ten entries of ~120 bytes of text each.
        let entry = LabelCache::entry_bytes(&text(0), &[0; 13]);
        let filter = KeyFilter::with_cache_bytes(&keys, 10 * entry + entry / 2);
        let parse = |n: usize| {
            let (mut labels, mut strings) = (LabelSets::new(), Interner::new());
            let raw = strings.intern(&text(n));
            let id = labels
                .filtered(raw, &strings, &filter, "pod_labels")
                .unwrap();
            labels.to_json(id)
        };
        // Day 1: twenty strings; ten are kept, ten refused, and each filters right either way.
        for n in 0..20 {
            assert_eq!(parse(n), format!(r#"{{"app":"a{n:04}"}}"#));
        }
        let s = filter.stats();
        assert_eq!((s.misses, s.hits, s.entries, s.refused), (20, 0, 10, 10));
        assert!(s.bytes as usize <= 10 * entry + entry / 2);
        // Day 2 uses the first five again: hits.
        filter.begin_day();
        for n in 0..5 {
            parse(n);
        }
        assert_eq!(filter.stats().hits, 5);
        // Day 3: new strings evict what was used on neither day 2 nor day 3 (5..10), not 0..5.
        filter.begin_day();
        for n in 100..105 {
            parse(n);
        }
        let s = filter.stats();
        assert_eq!((s.evicted, s.entries, s.refused), (5, 10, 10));
        for n in 0..5 {
            parse(n);
        }
        assert_eq!(filter.stats().hits, 10);
    }

    #[test]
    fn no_enabled_key_keeps_nothing() {
        let filter = KeyFilter::new(&[]);
        let (mut labels, mut strings) = (LabelSets::new(), Interner::new());
        let id = set(
            &mut labels,
            &mut strings,
            r#"{"vm_kubevirt_io_name":"vm1"}"#,
            &filter,
        );
        assert_eq!(id, EMPTY_SET);
    }

    #[test]
    fn rejects_non_objects() {
        let filter = KeyFilter::new(&["a".to_string()]);
        let (mut labels, mut strings) = (LabelSets::new(), Interner::new());
        let raw = strings.intern("[1, 2]");
        let err = labels
            .filtered(raw, &strings, &filter, "pod_labels")
            .unwrap_err();
        assert!(err.to_string().contains("not a JSON object"), "{err}");
    }

    #[test]
    fn node_namespace_and_pod_labels_merge_and_fan_out() {
        use crate::testing::*;
        let mut state = day_with(&["app", "tier", "env"], &[], &[]);
        // Node n1 had two filtered label sets during the day (the hour-5 set again at hour 6,
        // with a key not enabled, is the same set); the namespace had one.
        let node_labels = [
            (hour(0), "n1", r#"{"tier":"a","app":"node"}"#),
            (hour(5), "n1", r#"{"tier":"b","app":"node"}"#),
            (hour(6), "n1", r#"{"app":"node","tier":"b","rack":"7"}"#),
            (hour(0) - 3_600_000, "n1", r#"{"tier":"yesterday"}"#),
        ];
        state
            .push_node_labels(&labels_batch("node", "node_labels", &node_labels))
            .unwrap();
        let namespace_labels = [(hour(0), "shop", r#"{"env":"prod","app":"ns"}"#)];
        state
            .push_namespace_labels(&labels_batch(
                "namespace",
                "namespace_labels",
                &namespace_labels,
            ))
            .unwrap();
        let pod = PodIn {
            hour: hour(2),
            namespace: "shop",
            node: "n1",
            pod: "web",
            labels: r#"{"app":"web"}"#,
            usage_cpu: Some(1800.0),
            ..Default::default()
        };
        state.push_pod_usage(&pod_batch(&[pod], true)).unwrap();
        let out = finish(state);
        // node ⊕ namespace ⊕ pod, the later winning on app; once per node label set, each
        // with the whole sum (1800 / 3600).
        for tier in ["a", "b"] {
            let labels = format!(r#"{{"app":"web","env":"prod","tier":"{tier}"}}"#);
            let r = out.row(&[("pod_labels", Some(labels.as_str()))]);
            assert_eq!(out.float(r, "pod_usage_cpu_core_hours"), Some(0.5));
        }
        // Two Pod rows and one unallocated row (no node role: NULL namespace).
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn label_error_names_column_and_hour() {
        use crate::testing::*;
        let mut state = day_with(&["app"], &[], &[]);
        let rows = [(hour(9), "n1", r#"{"app":["x"]}"#)];
        let err = state
            .push_node_labels(&labels_batch("node", "node_labels", &rows))
            .unwrap_err();
        assert_eq!(err.column(), Some("node_labels"));
        assert_eq!(err.hour().as_deref(), Some("2026-08-03T09:00:00"));
        assert_eq!(
            err.to_string(),
            r#"column node_labels: a label value is not a scalar in label value "{\"app\":[\"x\"]}" at 2026-08-03T09:00:00"#
        );
    }
}
