//! Unallocated capacity: per node, its capacity less the sums of the day's pod rows, under the
//! namespace its role gives (master/infra → Platform unallocated, worker → Worker unallocated).

use rustc_hash::FxHashMap;

use crate::capacity::{Max, Sum};
use crate::intern::{Interner, StrId, NULL};

/// Namespaces of rows that koku's unallocated step leaves out.
pub const EXCLUDED_NAMESPACES: [&str; 4] = [
    "Platform unallocated",
    "Worker unallocated",
    "Network unattributed",
    "Storage unattributed",
];

/// A pod summary row as the unallocated step reads it (hours and GiB-hours).
pub struct PodRowValues {
    pub namespace: StrId,
    pub node: StrId,
    pub resource_id: StrId,
    /// usage, request, effective for cpu then memory.
    pub used: [Option<f64>; 6],
    /// cores, core-hours, GiB, GiB-hours, cluster core-hours, cluster GiB-hours.
    pub capacity: [Option<f64>; 6],
}

pub struct UnallocatedRow {
    pub node: StrId,
    pub resource_id: StrId,
    pub namespace: Option<&'static str>,
    /// capacity hours less the sums: usage, request, effective for cpu then memory.
    pub values: [Option<f64>; 6],
    pub capacity: [Option<f64>; 6],
}

/// koku's `CASE max(node_role)`.
pub fn namespace_of_role(role: Option<&str>) -> Option<&'static str> {
    match role {
        Some("master") | Some("infra") => Some("Platform unallocated"),
        Some("worker") => Some("Worker unallocated"),
        _ => None,
    }
}

pub fn unallocated_rows(
    rows: &[PodRowValues],
    strings: &Interner,
    role_of: impl Fn(&str, &str) -> Option<String>,
) -> Vec<UnallocatedRow> {
    struct Acc {
        resource_id: StrId,
        role: Option<String>,
        used: [Sum; 6],
        capacity: [Max; 6],
    }
    let mut by_node: FxHashMap<StrId, Acc> = FxHashMap::default();
    let mut order: Vec<StrId> = Vec::new();
    for r in rows {
        let Some(ns) = strings.get(r.namespace) else {
            continue; // NULL != 'x' is not true: koku's filter drops NULL namespaces
        };
        if r.node == NULL || EXCLUDED_NAMESPACES.contains(&ns) {
            continue;
        }
        let acc = by_node.entry(r.node).or_insert_with(|| {
            order.push(r.node);
            Acc {
                resource_id: NULL,
                role: None,
                used: Default::default(),
                capacity: Default::default(),
            }
        });
        acc.resource_id = strings.max(acc.resource_id, r.resource_id);
        // The role joins each pod row on (node, its resource_id); koku takes max(node_role).
        if let (Some(n), Some(rid)) = (strings.get(r.node), strings.get(r.resource_id)) {
            if let Some(role) = role_of(n, rid) {
                if acc.role.as_ref().is_none_or(|cur| role > *cur) {
                    acc.role = Some(role);
                }
            }
        }
        for (s, v) in acc.used.iter_mut().zip(r.used) {
            s.add(v);
        }
        for (m, v) in acc.capacity.iter_mut().zip(r.capacity) {
            m.add(v);
        }
    }
    order
        .into_iter()
        .map(|node| {
            let acc = &by_node[&node];
            let cap_cpu_hours = acc.capacity[1].get();
            let cap_mem_hours = acc.capacity[3].get();
            let mut values = [None; 6];
            for (i, v) in values.iter_mut().enumerate() {
                let cap = if i < 3 { cap_cpu_hours } else { cap_mem_hours };
                *v = match (cap, acc.used[i].get()) {
                    (Some(c), Some(u)) => Some(c - u),
                    _ => None,
                };
            }
            UnallocatedRow {
                node,
                resource_id: acc.resource_id,
                namespace: namespace_of_role(acc.role.as_deref()),
                values,
                capacity: acc.capacity.map(|m| m.get()),
            }
        })
        .collect()
}
