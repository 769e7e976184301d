//! Unallocated capacity: per node, its capacity less the sums of the day's pod rows, under the
//! namespace its role gives (master/infra → Platform unallocated, worker → Worker unallocated),
//! written as more `Pod` rows.

use rustc_hash::FxHashMap;

use crate::accumulators::{Max, Sum};
use crate::config::Config;
use crate::intern::{Interner, StrId, NULL};
use crate::metrics::{Capacity, Measures, PodMeasures};
use crate::output::{RowSink, SummaryRow};
use crate::pod::PodRow;

/// Namespaces of rows that koku's unallocated step leaves out.
pub const EXCLUDED_NAMESPACES: [&str; 4] = [
    "Platform unallocated",
    "Worker unallocated",
    "Network unattributed",
    "Storage unattributed",
];

pub struct UnallocatedRow {
    pub node: StrId,
    pub resource_id: StrId,
    pub namespace: Option<&'static str>,
    /// The node's capacity hours less the pod rows' sums; limits are NULL.
    pub hours: PodMeasures<Option<f64>>,
    pub capacity: Capacity<Option<f64>>,
}

/// koku's `CASE max(node_role)`.
pub fn namespace_of_role(role: Option<&str>) -> Option<&'static str> {
    match role {
        Some("master") | Some("infra") => Some("Platform unallocated"),
        Some("worker") => Some("Worker unallocated"),
        _ => None,
    }
}

/// `capacity − Σ used` of usage, request and effective usage (NULL when either side is).
fn left_over(capacity: Option<f64>, used: Measures<Sum>) -> Measures<Option<f64>> {
    let less = |u: Sum| match (capacity, u.get()) {
        (Some(c), Some(u)) => Some(c - u),
        _ => None,
    };
    Measures {
        usage: less(used.usage),
        request: less(used.request),
        effective: less(used.effective),
        limit: None,
    }
}

pub fn unallocated_rows<'r>(
    rows: impl IntoIterator<Item = PodRow>,
    strings: &Interner,
    role_of: impl Fn(&str, &str) -> Option<&'r str>,
) -> Vec<UnallocatedRow> {
    struct Acc<'r> {
        resource_id: StrId,
        role: Option<&'r str>,
        /// The resource_id whose role was joined last: the node's next rows mostly share it,
        /// and joining the same (node, resource_id) again cannot change `max(node_role)`.
        role_joined_for: StrId,
        used: PodMeasures<Sum>,
        capacity: Capacity<Max>,
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
                role_joined_for: NULL,
                used: Default::default(),
                capacity: Default::default(),
            }
        });
        acc.resource_id = strings.max(acc.resource_id, r.resource_id);
        // The role joins each pod row on (node, its resource_id); koku takes max(node_role).
        if r.resource_id != acc.role_joined_for {
            acc.role_joined_for = r.resource_id;
            if let (Some(n), Some(rid)) = (strings.get(r.node), strings.get(r.resource_id)) {
                if let Some(role) = role_of(n, rid) {
                    if acc.role.is_none_or(|cur| role > cur) {
                        acc.role = Some(role);
                    }
                }
            }
        }
        acc.used.cpu.add(r.hours.cpu);
        acc.used.memory.add(r.hours.memory);
        acc.capacity.add(&r.capacity);
    }
    order
        .into_iter()
        .map(|node| {
            let acc = &by_node[&node];
            let capacity = acc.capacity.map(Max::get);
            UnallocatedRow {
                node,
                resource_id: acc.resource_id,
                namespace: namespace_of_role(acc.role),
                hours: PodMeasures {
                    cpu: left_over(capacity.node_cpu_core_hours, acc.used.cpu),
                    memory: left_over(capacity.node_memory_gigabyte_hours, acc.used.memory),
                },
                capacity,
            }
        })
        .collect()
}

/// Write each node's unallocated row, once per matching cost-category pattern (koku joins
/// without max here), with `{}` as all_labels.
pub fn write_unallocated_rows(
    rows: &[UnallocatedRow],
    strings: &Interner,
    config: &Config,
    empty_labels: &str,
    out: &mut impl RowSink,
) {
    // The joined ids of each namespace a role gives (three at most), matched once.
    let mut joined: Vec<(Option<&str>, Vec<Option<i64>>)> = Vec::new();
    for u in rows {
        let at = match joined.iter().position(|(ns, _)| *ns == u.namespace) {
            Some(at) => at,
            None => {
                let matched = config.categories.matching(u.namespace);
                let ids = if matched.ids.is_empty() {
                    vec![None]
                } else {
                    matched.ids.iter().map(|&i| Some(i)).collect()
                };
                joined.push((u.namespace, ids));
                joined.len() - 1
            }
        };
        for &id in &joined[at].1 {
            out.push(&SummaryRow {
                data_source: "Pod",
                namespace: u.namespace,
                node: strings.get(u.node),
                resource_id: strings.get(u.resource_id),
                pod: u.hours,
                capacity: u.capacity,
                all_labels: empty_labels,
                cost_category_id: id,
                ..Default::default()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::namespace_of_role;
    use crate::testing::*;

    /// A pod of `namespace` on `node` (4 cores, 16 GiB) at hour `h`, using `cores` and `gib`
    /// for the hour, requesting twice that, effective usage equal to usage.
    fn busy(namespace: &'static str, node: &'static str, h: i64, cores: f64, gib: f64) -> PodIn {
        PodIn {
            hour: hour(h),
            namespace,
            node,
            pod: namespace,
            resource_id: if node == "n1" { "i-1" } else { "i-2" },
            usage_cpu: Some(cores * 3600.0),
            request_cpu: Some(2.0 * cores * 3600.0),
            limit_cpu: Some(8.0 * 3600.0),
            effective_cpu: Some(cores * 3600.0),
            usage_memory: Some(gib * GIB_BYTES * 3600.0),
            request_memory: Some(2.0 * gib * GIB_BYTES * 3600.0),
            effective_memory: Some(gib * GIB_BYTES * 3600.0),
            capacity_cores: Some(4.0),
            capacity_core_seconds: Some(4.0 * 3600.0),
            capacity_memory_bytes: Some(16.0 * GIB_BYTES),
            capacity_memory_byte_seconds: Some(16.0 * GIB_BYTES * 3600.0),
            ..Default::default()
        }
    }

    #[test]
    fn node_capacity_less_the_pod_rows_under_the_role_namespace() {
        let mut state = day_with(
            &[],
            &[("Worker%", 5), ("%unallocated", 6)],
            &[("n1", "i-1", "worker"), ("n2", "i-2", "master")],
        );
        let rows = [
            busy("shop", "n1", 0, 1.0, 1.0),
            busy("shop", "n1", 1, 1.0, 1.0),
            busy("blog", "n1", 0, 0.5, 0.5),
            // Rows of koku's own namespaces do not count as used.
            busy("Storage unattributed", "n1", 1, 3.0, 3.0),
            busy("api", "n2", 0, 1.0, 2.0),
        ];
        state.push_pod_usage(&pod_batch(&rows, true)).unwrap();
        let out = finish(state);

        // n1 (worker): capacity 4 cores × 2 hours = 8 core-hours, 16 GiB × 2 hours = 32 GiB-hours.
        // Used: shop 1 + 1, blog 0.5 → 2.5 core-hours and 2.5 GiB-hours; requests twice that.
        // Two rows: "Worker unallocated" matches both cost-category patterns (no max here).
        let n1 = out.rows_where(&[("namespace", Some("Worker unallocated"))]);
        assert_eq!(n1.len(), 2);
        let ids: Vec<_> = n1.iter().map(|&r| out.int(r, "cost_category_id")).collect();
        assert_eq!(ids, [Some(5), Some(6)]);
        for r in n1 {
            assert_eq!(
                out.floats(r, POD_HOUR_COLUMNS),
                [
                    Some(5.5),  // 8 − 2.5
                    Some(3.0),  // 8 − 5
                    Some(5.5),  // 8 − 2.5
                    None,       // limits stay NULL
                    Some(29.5), // 32 − 2.5
                    Some(27.0), // 32 − 5
                    Some(29.5), // 32 − 2.5
                    None,
                ]
            );
            assert_eq!(out.text(r, "node"), Some("n1"));
            assert_eq!(out.text(r, "resource_id"), Some("i-1"));
            assert_eq!(out.text(r, "data_source"), Some("Pod"));
            assert_eq!(out.float(r, "node_capacity_cpu_cores"), Some(4.0));
            assert_eq!(out.float(r, "node_capacity_cpu_core_hours"), Some(8.0));
            assert_eq!(out.float(r, "node_capacity_memory_gigabytes"), Some(16.0));
            // Cluster: n1's 8 and n2's 4 core-hours; 32 and 16 GiB-hours.
            assert_eq!(out.float(r, "cluster_capacity_cpu_core_hours"), Some(12.0));
            assert_eq!(
                out.float(r, "cluster_capacity_memory_gigabyte_hours"),
                Some(48.0)
            );
            assert_eq!(out.text(r, "pod_labels"), None);
            assert_eq!(out.text(r, "all_labels"), Some("{}"));
            assert_eq!(out.text(r, "infrastructure_usage_cost"), None);
        }

        // n2 (master): 4 core-hours − 1; 16 GiB-hours − 2×2; only %unallocated matches.
        let n2 = out.row(&[("namespace", Some("Platform unallocated"))]);
        assert_eq!(out.float(n2, "pod_usage_cpu_core_hours"), Some(3.0));
        assert_eq!(
            out.float(n2, "pod_request_memory_gigabyte_hours"),
            Some(12.0)
        ); // 16 − 4
        assert_eq!(out.int(n2, "cost_category_id"), Some(6));
    }

    #[test]
    fn roles_name_the_namespace() {
        assert_eq!(
            namespace_of_role(Some("master")),
            Some("Platform unallocated")
        );
        assert_eq!(
            namespace_of_role(Some("infra")),
            Some("Platform unallocated")
        );
        assert_eq!(
            namespace_of_role(Some("worker")),
            Some("Worker unallocated")
        );
        assert_eq!(namespace_of_role(Some("gpu")), None);
        assert_eq!(namespace_of_role(None), None);
    }

    #[test]
    fn the_role_is_the_greatest_over_each_resource_id_the_nodes_pods_carry() {
        // n1's pods alternate between two resource ids; koku joins each pod row on (node,
        // resource_id) and takes max(node_role): "worker" > "master", whichever row comes last.
        let mut state = day_with(
            &[],
            &[],
            &[("n1", "i-a", "worker"), ("n1", "i-b", "master")],
        );
        let on = |namespace, resource_id| PodIn {
            resource_id,
            ..busy(namespace, "n1", 0, 1.0, 1.0)
        };
        let rows = [
            on("a", "i-b"),
            on("b", "i-a"),
            on("c", "i-b"),
            on("d", "i-b"),
        ];
        state.push_pod_usage(&pod_batch(&rows, true)).unwrap();
        let out = finish(state);
        let r = out.row(&[("namespace", Some("Worker unallocated"))]);
        assert_eq!(out.text(r, "resource_id"), Some("i-b")); // max(resource_id)
        assert_eq!(out.float(r, "pod_usage_cpu_core_hours"), Some(0.0)); // 4 − 4 × 1
        assert!(out
            .rows_where(&[("namespace", Some("Platform unallocated"))])
            .is_empty());
    }

    #[test]
    fn a_node_without_role_gets_a_null_namespace() {
        let mut state = day();
        let rows = [busy("shop", "n3", 0, 1.0, 1.0)];
        state.push_pod_usage(&pod_batch(&rows, true)).unwrap();
        let out = finish(state);
        let r = out.row(&[("namespace", None)]);
        // 4 core-hours of one hour − 1.
        assert_eq!(out.float(r, "pod_usage_cpu_core_hours"), Some(3.0));
    }
}
