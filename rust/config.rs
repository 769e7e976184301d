//! Reference data of a run: enabled label keys, cost-category patterns, node roles.

use rustc_hash::FxHashMap;

use crate::cost_category::CostCategories;
use crate::labels::KeyFilter;

pub struct Config {
    pub filter: KeyFilter,
    pub categories: CostCategories,
    /// `max(node_role)` per (node, resource_id), as koku's cte_node_role.
    roles: FxHashMap<(String, String), String>,
}

impl Config {
    pub fn new(
        enabled_keys: Vec<String>,
        cost_categories: Vec<(String, i64)>,
        node_roles: Vec<(String, String, String)>,
    ) -> Self {
        let mut roles: FxHashMap<(String, String), String> = FxHashMap::default();
        for (node, resource_id, role) in node_roles {
            let e = roles.entry((node, resource_id)).or_default();
            if role > *e {
                *e = role;
            }
        }
        Self {
            filter: KeyFilter::new(&enabled_keys),
            categories: CostCategories::new(cost_categories),
            roles,
        }
    }

    pub fn role_of(&self, node: &str, resource_id: &str) -> Option<String> {
        self.roles
            .get(&(node.to_string(), resource_id.to_string()))
            .cloned()
    }
}
