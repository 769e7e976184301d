//! SQL aggregate accumulators shared by the rule modules: `max` and `sum` that skip NULLs.

/// SQL `max` accumulator that ignores NULLs. The kernel rejects non-finite input, so
/// `-Infinity` is free to mean "no value yet".
#[derive(Clone, Copy, Debug)]
pub struct Max(f64);

impl Default for Max {
    fn default() -> Self {
        Max(f64::NEG_INFINITY)
    }
}

impl Max {
    #[inline]
    pub fn add(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            if v > self.0 || self.0 == f64::NEG_INFINITY {
                self.0 = v;
            }
        }
    }

    pub fn merge(&mut self, other: Max) {
        self.add(other.get());
    }

    pub fn get(self) -> Option<f64> {
        (self.0 != f64::NEG_INFINITY).then_some(self.0)
    }
}

/// SQL `sum` accumulator: NULL when every input was NULL.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sum(Option<f64>);

impl Sum {
    #[inline]
    pub fn add(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            self.0 = Some(self.0.unwrap_or(0.0) + v);
        }
    }

    pub fn get(self) -> Option<f64> {
        self.0
    }
}

/// Trino's `greatest`: NULL when an argument is NULL.
pub fn greatest(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a?.max(b?))
}

/// `a + b` where a NULL side counts as 0, NULL only when both are.
pub fn add_present(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (None, None) => None,
        _ => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_and_sum_skip_nulls() {
        let mut m = Max::default();
        assert_eq!(m.get(), None);
        m.add(None);
        m.add(Some(-3.0));
        assert_eq!(m.get(), Some(-3.0));
        m.add(Some(2.5));
        m.add(Some(1.0));
        assert_eq!(m.get(), Some(2.5));

        let mut s = Sum::default();
        s.add(None);
        assert_eq!(s.get(), None);
        s.add(Some(1.5));
        s.add(None);
        s.add(Some(-0.5));
        assert_eq!(s.get(), Some(1.0));
    }

    #[test]
    fn greatest_and_add_present() {
        assert_eq!(greatest(Some(1.0), Some(2.0)), Some(2.0));
        assert_eq!(greatest(Some(1.0), None), None);
        assert_eq!(add_present(Some(1.0), None), Some(1.0));
        assert_eq!(add_present(None, None), None);
        assert_eq!(add_present(Some(1.0), Some(2.0)), Some(3.0));
    }
}
