//! Value parsers for flags whose type allows nonsense: a count that must be
//! positive, a share that must lie in [0, 1]. clap reports their errors with
//! the flag's name before anything runs.

/// A count of at least one (`-k`, `--threads`, `--max-per-question`, n-gram sizes).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(k) => Ok(k),
        Err(e) => Err(e.to_string()),
    }
}

/// A share from 0 to 1 (`--min-purity 0.9`, not 90).
pub fn share(s: &str) -> Result<f64, String> {
    let x = number(s)?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err("must be a share from 0 to 1 (0.9 for 90%)".into())
    }
}

/// A share below 1 (`--val-fraction`: some rows must stay in train).
pub fn share_below_one(s: &str) -> Result<f64, String> {
    let x = number(s)?;
    if (0.0..1.0).contains(&x) {
        Ok(x)
    } else {
        Err("must be at least 0 and below 1".into())
    }
}

/// A similarity above 0 and at most 1 (`--near-dup-threshold`).
pub fn similarity(s: &str) -> Result<f64, String> {
    let x = number(s)?;
    if x > 0.0 && x <= 1.0 {
        Ok(x)
    } else {
        Err("must be above 0 and at most 1".into())
    }
}

fn number(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| format!("`{s}` is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonsense_values_are_refused() {
        assert_eq!(at_least_one("3"), Ok(3));
        assert!(at_least_one("0").is_err());
        assert_eq!(share("0.9"), Ok(0.9));
        assert_eq!(share("1"), Ok(1.0));
        for bad in ["90", "-0.1", "NaN", "x"] {
            assert!(share(bad).is_err(), "{bad}");
        }
        assert_eq!(share_below_one("0"), Ok(0.0));
        assert!(share_below_one("1").is_err());
        assert_eq!(similarity("1"), Ok(1.0));
        for bad in ["0", "1.5", "nan", "inf"] {
            assert!(similarity(bad).is_err(), "{bad}");
        }
    }
}
