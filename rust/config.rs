//! Reference data of a run: enabled label keys, cost-category patterns, node roles.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use rustc_hash::FxHashMap;

use crate::cost_category::CostCategories;
use crate::labels::KeyFilter;

pub struct Config {
    pub filter: KeyFilter,
    pub categories: CostCategories,
    /// `max(node_role)` per (node, resource_id), as koku's cte_node_role.
    roles: FxHashMap<String, FxHashMap<String, String>>,
    /// The last finished day's table sizes.
    pub day_sizes: DaySizes,
}

/// How large a day's main tables grew: its daily pod rows, its distinct strings and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DaySize {
    pub pods: usize,
    pub strings: usize,
    pub text_bytes: usize,
}

impl DaySize {
    /// These sizes and 1/16 more: room for a day a little larger than the last.
    pub fn with_headroom(self) -> Self {
        let more = |n: usize| n + n / 16;
        Self {
            pods: more(self.pods),
            strings: more(self.strings),
            text_bytes: more(self.text_bytes),
        }
    }
}

/// The last finished day's [`DaySize`], shared by the days of a run: a cluster's day is much like
/// the day before, so a new day's tables start near their final size instead of doubling their
/// way there (a doubled table is a quarter spare on average, half at worst).
#[derive(Default)]
pub struct DaySizes {
    pods: AtomicUsize,
    strings: AtomicUsize,
    text_bytes: AtomicUsize,
}

impl DaySizes {
    pub fn get(&self) -> DaySize {
        DaySize {
            pods: self.pods.load(Relaxed),
            strings: self.strings.load(Relaxed),
            text_bytes: self.text_bytes.load(Relaxed),
        }
    }

    pub fn set(&self, size: DaySize) {
        self.pods.store(size.pods, Relaxed);
        self.strings.store(size.strings, Relaxed);
        self.text_bytes.store(size.text_bytes, Relaxed);
    }
}

impl Config {
    pub fn new(
        enabled_keys: Vec<String>,
        cost_categories: Vec<(String, i64)>,
        node_roles: Vec<(String, String, String)>,
    ) -> Self {
        let mut roles: FxHashMap<String, FxHashMap<String, String>> = FxHashMap::default();
        for (node, resource_id, role) in node_roles {
            let e = roles
                .entry(node)
                .or_default()
                .entry(resource_id)
                .or_default();
            if role > *e {
                *e = role;
            }
        }
        Self {
            filter: KeyFilter::new(&enabled_keys),
            categories: CostCategories::new(cost_categories),
            roles,
            day_sizes: DaySizes::default(),
        }
    }

    pub fn role_of(&self, node: &str, resource_id: &str) -> Option<&str> {
        self.roles.get(node)?.get(resource_id).map(String::as_str)
    }
}
