//! Cost categories: koku joins `reporting_ocp_cost_category_namespace` with
//! `namespace LIKE pattern` (case-sensitive, `%` and `_`, no escape character).

/// SQL LIKE without an escape character: `%` matches any run of characters, `_` exactly one.
pub fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // Greedy matching with backtracking to the last `%`.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
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
    while pi < p.len() && p[pi] == '%' {
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

#[cfg(test)]
mod tests {
    use super::like;

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
    fn case_sensitive_and_backslash_literal() {
        assert!(!like("Team_a1", "team_a%"));
        assert!(like("a\\b", "a\\b"));
        assert!(like("a\\b", "a\\_"));
        assert!(!like("a_b", "a\\_b"));
    }
}
