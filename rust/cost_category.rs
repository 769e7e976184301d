//! Cost categories: koku joins `reporting_ocp_cost_category_namespace` with
//! `namespace LIKE pattern` (case-sensitive, `%` and `_`, no escape character).

use rustc_hash::FxHashMap;

use crate::intern::{Interner, StrId};

/// SQL LIKE without an escape character: `%` matches any run of characters, `_` exactly one.
pub fn like(text: &str, pattern: &str) -> bool {
    if text.is_ascii() && pattern.is_ascii() {
        // One byte per character: match the bytes, with no allocation.
        return like_units(text.as_bytes(), pattern.as_bytes(), b'%', b'_');
    }
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    like_units(&t, &p, '%', '_')
}

/// LIKE over characters (`any_run` is `%`, `any_one` is `_`): greedy matching with
/// backtracking to the last `%`.
fn like_units<T: Copy + PartialEq>(t: &[T], p: &[T], any_run: T, any_one: T) -> bool {
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == any_run {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == any_one || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == any_run {
        pi += 1;
    }
    pi == p.len()
}

/// What the cost-category join gives one namespace.
#[derive(Clone, Debug, Default)]
pub struct CategoryMatch {
    /// The ids of every matching (pattern, id) row, in table order.
    pub ids: Vec<i64>,
}

impl CategoryMatch {
    /// `max(cost_category_id)` over the joined rows.
    pub fn max_id(&self) -> Option<i64> {
        self.ids.iter().copied().max()
    }

    /// How many times each row of the namespace is repeated by the LEFT JOIN (at least once).
    pub fn multiplicity(&self) -> f64 {
        self.ids.len().max(1) as f64
    }
}

pub struct CostCategories {
    rows: Vec<(String, i64)>,
}

impl CostCategories {
    pub fn new(rows: Vec<(String, i64)>) -> Self {
        Self { rows }
    }

    /// The rows whose pattern the namespace matches; a NULL namespace matches none.
    pub fn matching(&self, namespace: Option<&str>) -> CategoryMatch {
        let Some(ns) = namespace else {
            return CategoryMatch::default();
        };
        CategoryMatch {
            ids: self
                .rows
                .iter()
                .filter(|(pattern, _)| like(ns, pattern))
                .map(|(_, id)| *id)
                .collect(),
        }
    }
}

/// Each namespace's match of one day, computed once.
pub struct NamespaceCategories<'a> {
    categories: &'a CostCategories,
    strings: &'a Interner,
    by_namespace: FxHashMap<StrId, CategoryMatch>,
}

impl<'a> NamespaceCategories<'a> {
    pub fn new(categories: &'a CostCategories, strings: &'a Interner) -> Self {
        Self {
            categories,
            strings,
            by_namespace: FxHashMap::default(),
        }
    }

    /// (max matching id, how many times the join repeats a row) of a namespace.
    pub fn join(&mut self, namespace: StrId) -> (Option<i64>, f64) {
        let m = self
            .by_namespace
            .entry(namespace)
            .or_insert_with(|| self.categories.matching(self.strings.get(namespace)));
        (m.max_id(), m.multiplicity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_and_underscore() {
        assert!(like("team_a1", "team_a%"));
        assert!(like("teamXa1", "team_a%"));
        assert!(!like("team-b", "team_a%"));
        assert!(like("openshift-monitoring", "openshift-%"));
        assert!(like("abc", "%"));
        assert!(like("", "%"));
        assert!(!like("", "_"));
        assert!(like("kube-system", "kube-%"));
        assert!(like("a%b", "a%b"));
        assert!(like("axxb", "a%b"));
        assert!(!like("axxbc", "a%b"));
        assert!(like("axbxb", "a%b"));
        assert!(like("ab", "a%%b"));
    }

    #[test]
    fn underscore_is_one_character_not_one_byte() {
        assert!(like("é-1", "_-1"));
        assert!(!like("é-1", "__-1"));
        assert!(like("prod-é", "prod-%"));
        assert!(like("ns-日本", "ns-__"));
    }

    #[test]
    fn case_sensitive_and_backslash_literal() {
        assert!(!like("Team_a1", "team_a%"));
        assert!(like("a\\b", "a\\b"));
        assert!(like("a\\b", "a\\_"));
        assert!(!like("a_b", "a\\_b"));
    }

    #[test]
    fn each_namespace_matches_once_a_day() {
        let categories = CostCategories::new(vec![
            ("team%".into(), 1),
            ("team-a%".into(), 2),
            ("x".into(), 3),
        ]);
        let mut strings = Interner::new();
        let (a, other) = (strings.intern("team-a1"), strings.intern("other"));
        let mut join = NamespaceCategories::new(&categories, &strings);
        assert_eq!(join.join(a), (Some(2), 2.0));
        assert_eq!(join.join(other), (None, 1.0));
        assert_eq!(join.join(crate::intern::NULL), (None, 1.0));
    }

    #[test]
    fn overlapping_patterns_multiply_sums_and_the_max_id_wins() {
        use crate::testing::*;
        let mut state = day_with(&[], &[("team%", 1), ("team-a%", 2), ("Team%", 9)], &[]);
        let pod = |namespace, cpu_seconds| PodIn {
            hour: hour(3),
            namespace,
            node: "n1",
            pod: namespace,
            usage_cpu: Some(cpu_seconds),
            ..Default::default()
        };
        let rows = [
            pod("team-a1", 3600.0),
            pod("team-b", 1800.0),
            pod("ops", 900.0),
        ];
        state.push_pod_usage(&pod_batch(&rows, true)).unwrap();
        let out = finish(state);
        let usage = |ns| {
            let r = out.row(&[("namespace", Some(ns))]);
            (
                out.int(r, "cost_category_id"),
                out.float(r, "pod_usage_cpu_core_hours"),
            )
        };
        // team-a1 matches team% and team-a%: id max(1, 2), sums joined twice: 2 × 3600 / 3600.
        assert_eq!(usage("team-a1"), (Some(2), Some(2.0)));
        // team-b matches team% only (LIKE is case-sensitive: not Team%): 1800 / 3600.
        assert_eq!(usage("team-b"), (Some(1), Some(0.5)));
        // ops matches nothing: NULL id, sums once: 900 / 3600.
        assert_eq!(usage("ops"), (None, Some(0.25)));
    }
}
