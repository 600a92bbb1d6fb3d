//! Cheap removal of repeated values before work whose result depends only
//! on the set of values (a minimum, a set of distinct n-grams).

/// Tells most values seen before from new ones: a direct-mapped table of
/// the values seen catches a repeat in one probe. A repeat it misses (two
/// values that share a slot in turn) counts as new, so callers must not
/// mind duplicates, only pay for them. A value seen for the first time is
/// always new.
pub struct RepeatFilter {
    seen: Vec<u64>,
    shift: u32,
}

impl RepeatFilter {
    /// A filter sized for about `n` values.
    pub fn for_values(n: usize) -> Self {
        let bits = (2 * n)
            .next_power_of_two()
            .clamp(64, 1 << 14)
            .trailing_zeros();
        RepeatFilter {
            // 0 marks an empty slot, so a value of 0 is never taken for a repeat.
            seen: vec![0u64; 1 << bits],
            shift: 64 - bits,
        }
    }

    /// False when `v` was seen before (most repeats); remembers it.
    #[inline]
    pub fn first_time(&mut self, v: u64) -> bool {
        let slot = &mut self.seen[(v.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize];
        let repeat = *slot == v && v != 0;
        *slot = v;
        !repeat
    }
}

/// Leaves out most values of `values` seen before in it (a [`RepeatFilter`]),
/// keeping the first of each and the order. The distinct values are always
/// all kept.
pub fn drop_most_repeats(values: &mut Vec<u64>) {
    let mut filter = RepeatFilter::for_values(values.len());
    values.retain(|&v| filter.first_time(v));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_distinct(v: &[u64]) -> Vec<u64> {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    }

    #[test]
    fn keeps_every_distinct_value_and_drops_most_repeats() {
        // 700 distinct values repeated, and the empty-slot marker 0 twice.
        let mut values: Vec<u64> = (0..5000u64)
            .map(|i| crate::build::units::mix(i % 700))
            .collect();
        values.extend([0, 0]);
        let original = values.clone();
        drop_most_repeats(&mut values);
        assert!(values.len() < 1000, "{} left", values.len());
        assert_eq!(sorted_distinct(&values), sorted_distinct(&original));
        // First occurrences keep their order.
        let firsts = |v: &[u64]| {
            let mut seen = std::collections::HashSet::new();
            v.iter()
                .copied()
                .filter(|x| seen.insert(*x))
                .collect::<Vec<_>>()
        };
        assert_eq!(firsts(&values), firsts(&original));
    }

    proptest::proptest! {
        #[test]
        fn never_loses_a_distinct_value(values in proptest::collection::vec(0u64..50, 0..300)) {
            let mut kept = values.clone();
            drop_most_repeats(&mut kept);
            proptest::prop_assert_eq!(sorted_distinct(&kept), sorted_distinct(&values));
        }
    }
}
