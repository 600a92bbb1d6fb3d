//! Exact rationals over `i128` with checked arithmetic (overflow → `None`).

use std::cmp::Ordering;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Q {
    n: i128,
    d: i128, // > 0, gcd(n, d) == 1
}

#[inline]
fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

// Checked arithmetic returning `Option`, deliberately not the `std::ops` traits.
#[allow(clippy::should_implement_trait)]
impl Q {
    pub const ZERO: Q = Q { n: 0, d: 1 };
    pub const ONE: Q = Q { n: 1, d: 1 };

    #[inline]
    pub fn int(n: i128) -> Q {
        Q { n, d: 1 }
    }

    /// `n / d`, reduced; `None` when `d == 0` or on overflow.
    pub fn new(n: i128, d: i128) -> Option<Q> {
        if d == 0 {
            return None;
        }
        if n == i128::MIN || d == i128::MIN {
            return None;
        }
        let g = gcd(n, d);
        let (mut n, mut d) = (n / g, d / g);
        if d < 0 {
            n = -n;
            d = -d;
        }
        Some(Q { n, d })
    }

    #[inline]
    pub fn numer(&self) -> i128 {
        self.n
    }
    #[inline]
    pub fn denom(&self) -> i128 {
        self.d
    }
    #[inline]
    pub fn is_integer(&self) -> bool {
        self.d == 1
    }
    #[inline]
    pub fn is_zero(&self) -> bool {
        self.n == 0
    }
    #[inline]
    pub fn is_negative(&self) -> bool {
        self.n < 0
    }

    pub fn neg(self) -> Option<Q> {
        Some(Q {
            n: self.n.checked_neg()?,
            d: self.d,
        })
    }

    pub fn add(self, o: Q) -> Option<Q> {
        if self.d == 1 && o.d == 1 {
            return Some(Q::int(self.n.checked_add(o.n)?));
        }
        let g = gcd(self.d, o.d);
        let a = self.n.checked_mul(o.d / g)?;
        let b = o.n.checked_mul(self.d / g)?;
        let d = (self.d / g).checked_mul(o.d)?;
        Q::new(a.checked_add(b)?, d)
    }

    pub fn sub(self, o: Q) -> Option<Q> {
        self.add(o.neg()?)
    }

    pub fn mul(self, o: Q) -> Option<Q> {
        if self.d == 1 && o.d == 1 {
            return Some(Q::int(self.n.checked_mul(o.n)?));
        }
        let g1 = gcd(self.n, o.d).max(1);
        let g2 = gcd(o.n, self.d).max(1);
        let n = (self.n / g1).checked_mul(o.n / g2)?;
        let d = (self.d / g2).checked_mul(o.d / g1)?;
        Q::new(n, d)
    }

    pub fn recip(self) -> Option<Q> {
        Q::new(self.d, self.n)
    }

    pub fn div(self, o: Q) -> Option<Q> {
        self.mul(o.recip()?)
    }

    /// Integer power; `None` on overflow, 0^negative, or |e| > 4096.
    pub fn pow(self, e: i128) -> Option<Q> {
        if e.unsigned_abs() > 4096 {
            // Only trivial bases survive huge exponents.
            if self.n == 0 && e > 0 {
                return Some(Q::ZERO);
            }
            if self.d == 1 && self.n == 1 {
                return Some(Q::ONE);
            }
            if self.d == 1 && self.n == -1 {
                return Some(if e % 2 == 0 { Q::ONE } else { Q::int(-1) });
            }
            return None;
        }
        let base = if e < 0 { self.recip()? } else { self };
        let mut e = e.unsigned_abs();
        let mut acc = Q::ONE;
        let mut b = base;
        while e > 0 {
            if e & 1 == 1 {
                acc = acc.mul(b)?;
            }
            e >>= 1;
            if e > 0 {
                b = b.mul(b)?;
            }
        }
        Some(acc)
    }

    pub fn to_f64(self) -> f64 {
        self.n as f64 / self.d as f64
    }

    /// Exact rational square root, if both parts are perfect squares.
    pub fn sqrt_exact(self) -> Option<Q> {
        if self.n < 0 {
            return None;
        }
        let a = isqrt(self.n)?;
        let b = isqrt(self.d)?;
        Q::new(a, b)
    }

    /// Whether the decimal expansion terminates (denominator 2^a 5^b).
    pub fn is_terminating(&self) -> bool {
        let mut d = self.d;
        while d % 2 == 0 {
            d /= 2;
        }
        while d % 5 == 0 {
            d /= 5;
        }
        d == 1
    }

    /// Parses `123`, `-4.50`, `.5` exactly; `None` if too long for i128.
    pub fn parse_decimal(s: &str) -> Option<Q> {
        let (neg, body) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int, frac) = match body.split_once('.') {
            Some((a, b)) => (a, b),
            None => (body, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        if int.len() + frac.len() > 36 {
            return None;
        }
        let mut n: i128 = 0;
        for c in int.bytes().chain(frac.bytes()) {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + (c - b'0') as i128;
        }
        let d = 10i128.checked_pow(frac.len() as u32)?;
        Q::new(if neg { -n } else { n }, d)
    }
}

fn isqrt(n: i128) -> Option<i128> {
    if n < 0 {
        return None;
    }
    if n < 2 {
        return Some(n);
    }
    let mut x = (n as f64).sqrt() as i128;
    // fix up float error
    while x > 0 && x.checked_mul(x).is_none_or(|v| v > n) {
        x -= 1;
    }
    while (x + 1).checked_mul(x + 1).is_some_and(|v| v <= n) {
        x += 1;
    }
    if x * x == n {
        Some(x)
    } else {
        None
    }
}

impl PartialOrd for Q {
    fn partial_cmp(&self, o: &Q) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Q {
    fn cmp(&self, o: &Q) -> Ordering {
        match (self.n.checked_mul(o.d), o.n.checked_mul(self.d)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self
                .to_f64()
                .partial_cmp(&o.to_f64())
                .unwrap_or(Ordering::Equal),
        }
    }
}

impl fmt::Display for Q {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.d == 1 {
            write!(f, "{}", self.n)
        } else {
            write!(f, "{}/{}", self.n, self.d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        let a = Q::new(1, 3).unwrap();
        let b = Q::new(1, 6).unwrap();
        assert_eq!(a.add(b).unwrap(), Q::new(1, 2).unwrap());
        assert_eq!(a.mul(b).unwrap(), Q::new(1, 18).unwrap());
        assert_eq!(Q::int(2).pow(10).unwrap(), Q::int(1024));
        assert_eq!(Q::int(2).pow(-2).unwrap(), Q::new(1, 4).unwrap());
        assert!(Q::int(10).pow(200).is_none());
        assert!(Q::int(1).div(Q::ZERO).is_none());
        assert_eq!(Q::parse_decimal("0.50").unwrap(), Q::new(1, 2).unwrap());
        assert_eq!(Q::parse_decimal("-12.25").unwrap(), Q::new(-49, 4).unwrap());
        assert_eq!(Q::parse_decimal(".5").unwrap(), Q::new(1, 2).unwrap());
        assert_eq!(
            Q::new(9, 4).unwrap().sqrt_exact().unwrap(),
            Q::new(3, 2).unwrap()
        );
        assert!(Q::int(8).sqrt_exact().is_none());
        assert!(Q::new(1, 8).unwrap().is_terminating());
        assert!(!Q::new(1, 3).unwrap().is_terminating());
    }
}
