//! Equality of a gold answer and a predicted answer.
//!
//! * numbers: exact rationals; a literal with a decimal point compared with a
//!   non-terminating value (1/3 vs 0.333333) or an irrational one (√2 vs
//!   1.41421) is rounded to `float_sig_digits` significant digits;
//! * percentages: `10%` equals `0.1` and (like Math-Verify) `10`;
//! * expressions with symbols: exact evaluation at seeded random rational
//!   points when possible, floating-point evaluation otherwise;
//! * tuples in order, sets and bare lists in any order, intervals with their
//!   ends, unions, matrices element-wise;
//! * relations: `x = 5` vs `5` (the gold decides, as in Math-Verify), `a < b`
//!   vs `b > a`, equations up to a constant factor;
//! * words: case-insensitive text.

use super::expr::{Const, Env, Node, RelOp, Steps};
use super::rational::Q;
use super::VerifyConfig;
use rand::{Rng, SeedableRng};
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Equal,
    NotEqual,
    /// Division by zero, NaN, infinities that cannot be compared.
    Undefined,
    /// The work budget ran out.
    Budget,
}

impl Cmp {
    fn and(self, o: Cmp) -> Cmp {
        match (self, o) {
            (Cmp::Equal, x) | (x, Cmp::Equal) => x,
            (Cmp::NotEqual, _) | (_, Cmp::NotEqual) => Cmp::NotEqual,
            (Cmp::Budget, _) | (_, Cmp::Budget) => Cmp::Budget,
            _ => Cmp::Undefined,
        }
    }
}

const N_POINTS: usize = 6;
const MAX_VARS: usize = 8;

struct Points {
    /// Exact rational sample values, per point per variable slot.
    exact: Vec<[Q; MAX_VARS]>,
    /// Real sample values.
    real: Vec<[f64; MAX_VARS]>,
}

fn points() -> &'static Points {
    static P: OnceLock<Points> = OnceLock::new();
    P.get_or_init(|| {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x05EE_DADA_3A3E);
        let mut exact = Vec::new();
        let mut real = Vec::new();
        for _ in 0..N_POINTS {
            let mut e = [Q::ZERO; MAX_VARS];
            let mut r = [0.0; MAX_VARS];
            for k in 0..MAX_VARS {
                // small rationals p/q, p in 2..=19, q in 1..=7, random sign
                let p: i128 = rng.random_range(2..=19);
                let q: i128 = rng.random_range(1..=7);
                let s: bool = rng.random_bool(0.3);
                e[k] = Q::new(if s { -p } else { p }, q).unwrap_or(Q::ONE);
                let mag: f64 = rng.random_range(0.35..2.65);
                let neg: bool = rng.random_bool(0.25);
                r[k] = if neg { -mag } else { mag };
            }
            exact.push(e);
            real.push(r);
        }
        Points { exact, real }
    })
}

/// Top-level comparison.
pub fn equal(gold: &Node, pred: &Node, cfg: &VerifyConfig, steps: &mut Steps) -> Cmp {
    if steps.left == 0 {
        return Cmp::Budget;
    }
    steps.left -= 1;
    let gold = expand_pm(gold);
    let pred = expand_pm(pred);
    let (gold, pred) = unwrap_relations(&gold, &pred);

    // relations
    let g_rel = matches!(gold, Node::Rel(..));
    let p_rel = matches!(pred, Node::Rel(..));
    if g_rel && p_rel {
        return rel_eq(&gold, &pred, cfg, steps);
    }
    if g_rel && (is_setlike(&pred) || matches!(&pred, Node::Tuple(v) if v.len() == 2)) {
        if let Some(s) = relation_as_set(&gold) {
            let pred = match pred {
                Node::Tuple(v) if v.len() == 2 => {
                    let mut it = v.into_iter();
                    let lo = it.next().unwrap_or(Node::Num(Q::ZERO));
                    let hi = it.next().unwrap_or(Node::Num(Q::ZERO));
                    Node::Interval {
                        lo: Box::new(lo),
                        hi: Box::new(hi),
                        lo_open: true,
                        hi_open: true,
                    }
                }
                other => other,
            };
            return equal(&s, &pred, cfg, steps);
        }
        return Cmp::NotEqual;
    }
    if g_rel || p_rel {
        return Cmp::NotEqual;
    }

    // matrix arithmetic: A + B, 2A, AB
    let gold = if has_matrix_op(&gold) {
        matrix_value(&gold).map(Node::Matrix).unwrap_or(gold)
    } else {
        gold
    };
    let pred = if has_matrix_op(&pred) {
        matrix_value(&pred).map(Node::Matrix).unwrap_or(pred)
    } else {
        pred
    };

    // collections
    if is_collection(&gold) || is_collection(&pred) {
        return collection_eq(&gold, &pred, cfg, steps);
    }

    // text
    if gold.has_text() || pred.has_text() {
        return if text_key(&gold) == text_key(&pred) {
            Cmp::Equal
        } else {
            Cmp::NotEqual
        };
    }
    if let (Some(a), Some(b)) = (word_key(&gold), word_key(&pred)) {
        if a == b {
            return Cmp::Equal;
        }
    }
    scalar_eq(&gold, &pred, cfg, steps)
}

fn expand_pm(n: &Node) -> Node {
    match n {
        Node::PlusMinus(a, b) => Node::List(vec![
            Node::Add(vec![(**a).clone(), (**b).clone()]),
            Node::Add(vec![(**a).clone(), Node::Neg(b.clone())]),
        ]),
        Node::List(v) if v.iter().any(|x| matches!(x, Node::PlusMinus(..))) => {
            let mut out = Vec::new();
            for x in v {
                match expand_pm(x) {
                    Node::List(w) => out.extend(w),
                    y => out.push(y),
                }
            }
            Node::List(out)
        }
        Node::Rel(parts, ops) if parts.iter().any(|x| matches!(x, Node::PlusMinus(..))) => {
            // x = 1 ± √2 → x = {1+√2, 1-√2}
            let parts = parts.iter().map(expand_pm).collect();
            Node::Rel(parts, ops.clone())
        }
        other => other.clone(),
    }
}

use super::expr::symbols_only;

fn is_equation(n: &Node) -> bool {
    matches!(n, Node::Rel(_, ops) if ops.iter().all(|o| matches!(o, RelOp::Eq | RelOp::In | RelOp::Approx)))
}

fn is_assignment(n: &Node) -> bool {
    is_equation(n) && matches!(n, Node::Rel(parts, _) if symbols_only(&parts[0]))
}

fn last_rhs(n: &Node) -> Node {
    match n {
        Node::Rel(parts, ops) => {
            // x ≈ 3.14 with an expression on the left keeps the left side
            if ops.len() == 1 && ops[0] == RelOp::Approx && !symbols_only(&parts[0]) {
                return parts[0].clone();
            }
            parts.last().cloned().unwrap_or(Node::List(vec![]))
        }
        other => other.clone(),
    }
}

/// Math-Verify's asymmetric handling of `x = 5`.
fn unwrap_relations(gold: &Node, pred: &Node) -> (Node, Node) {
    let g_eq = is_equation(gold);
    let p_eq = is_equation(pred);
    let g_assign = is_assignment(gold);
    let p_assign = is_assignment(pred);
    let mut g = gold.clone();
    let mut p = pred.clone();
    if g_assign {
        if let Node::Rel(parts, _) = gold {
            g = Node::Rel(
                vec![parts[0].clone(), parts[parts.len() - 1].clone()],
                vec![RelOp::Eq],
            );
        }
    }
    if p_assign {
        if let Node::Rel(parts, _) = pred {
            p = Node::Rel(
                vec![parts[0].clone(), parts[parts.len() - 1].clone()],
                vec![RelOp::Eq],
            );
        }
    }
    if p_eq && !g_eq {
        p = last_rhs(pred);
    } else if g_assign && !p_eq {
        g = last_rhs(gold);
    }
    (g, p)
}

fn has_matrix_op(n: &Node) -> bool {
    !matches!(n, Node::Matrix(_)) && {
        let mut found = false;
        n.walk(&mut |x| {
            if matches!(x, Node::Matrix(_)) {
                found = true;
            }
        });
        found
    }
}

type Mat = Vec<Vec<Node>>;

/// Evaluates sums, scalar multiples and products of matrices element-wise.
fn matrix_value(n: &Node) -> Option<Mat> {
    match n {
        Node::Matrix(m) => Some(m.clone()),
        Node::Tuple(v) if v.len() == 1 => matrix_value(&v[0]),
        Node::Neg(x) => Some(
            matrix_value(x)?
                .into_iter()
                .map(|r| r.into_iter().map(|e| Node::Neg(Box::new(e))).collect())
                .collect(),
        ),
        Node::Add(v) => {
            let mut acc: Option<Mat> = None;
            for x in v {
                let m = matrix_value(x)?;
                acc = Some(match acc {
                    None => m,
                    Some(a) => {
                        if a.len() != m.len() || a.iter().zip(&m).any(|(r, s)| r.len() != s.len()) {
                            return None;
                        }
                        a.into_iter()
                            .zip(m)
                            .map(|(r, s)| {
                                r.into_iter()
                                    .zip(s)
                                    .map(|(x, y)| Node::Add(vec![x, y]))
                                    .collect()
                            })
                            .collect()
                    }
                });
            }
            acc
        }
        Node::Mul(v) => {
            let mut scalar: Vec<Node> = Vec::new();
            let mut acc: Option<Mat> = None;
            for x in v {
                if has_matrix_op(x) || matches!(x, Node::Matrix(_)) {
                    let m = matrix_value(x)?;
                    acc = Some(match acc {
                        None => m,
                        Some(a) => {
                            let inner = a.first()?.len();
                            if inner != m.len() {
                                return None;
                            }
                            let cols = m.first()?.len();
                            (0..a.len())
                                .map(|i| {
                                    (0..cols)
                                        .map(|j| {
                                            Node::Add(
                                                (0..inner)
                                                    .map(|k| {
                                                        Node::Mul(vec![
                                                            a[i][k].clone(),
                                                            m[k][j].clone(),
                                                        ])
                                                    })
                                                    .collect(),
                                            )
                                        })
                                        .collect()
                                })
                                .collect()
                        }
                    });
                } else {
                    scalar.push(x.clone());
                }
            }
            let m = acc?;
            if scalar.is_empty() {
                return Some(m);
            }
            Some(
                m.into_iter()
                    .map(|r| {
                        r.into_iter()
                            .map(|e| {
                                let mut f = scalar.clone();
                                f.push(e);
                                Node::Mul(f)
                            })
                            .collect()
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

fn is_setlike(n: &Node) -> bool {
    matches!(n, Node::Interval { .. } | Node::Union(_) | Node::Set(_))
}

/// Tuples, sets, lists, intervals, unions and matrices: compared element-wise.
pub(super) fn is_collection(n: &Node) -> bool {
    matches!(
        n,
        Node::Tuple(_)
            | Node::Set(_)
            | Node::List(_)
            | Node::Interval { .. }
            | Node::Union(_)
            | Node::Matrix(_)
    )
}

/// `x > 2` → (2, ∞), `1 <= x < 3` → [1, 3).
fn relation_as_set(n: &Node) -> Option<Node> {
    let Node::Rel(parts, ops) = n else {
        return None;
    };
    let inf = || Node::Const(Const::Inf);
    let ninf = || Node::Neg(Box::new(Node::Const(Const::Inf)));
    let is_var = |x: &Node| symbols_only(x) && !matches!(x, Node::Tuple(_));
    match (parts.len(), ops.as_slice()) {
        (2, [op]) => {
            let (var_left, c) = if is_var(&parts[0]) {
                (true, parts[1].clone())
            } else if is_var(&parts[1]) {
                (false, parts[0].clone())
            } else {
                return None;
            };
            let op = if var_left { *op } else { op.flipped() };
            let c = Box::new(c);
            Some(match op {
                RelOp::Gt => Node::Interval {
                    lo: c,
                    hi: Box::new(inf()),
                    lo_open: true,
                    hi_open: true,
                },
                RelOp::Ge => Node::Interval {
                    lo: c,
                    hi: Box::new(inf()),
                    lo_open: false,
                    hi_open: true,
                },
                RelOp::Lt => Node::Interval {
                    lo: Box::new(ninf()),
                    hi: c,
                    lo_open: true,
                    hi_open: true,
                },
                RelOp::Le => Node::Interval {
                    lo: Box::new(ninf()),
                    hi: c,
                    lo_open: true,
                    hi_open: false,
                },
                RelOp::Eq | RelOp::In => match *c {
                    s @ (Node::Set(_) | Node::Interval { .. } | Node::Union(_)) => s,
                    other => Node::Set(vec![other]),
                },
                _ => return None,
            })
        }
        (3, [a, b]) if is_var(&parts[1]) => {
            let lt = |o: &RelOp| matches!(o, RelOp::Lt | RelOp::Le);
            let gt = |o: &RelOp| matches!(o, RelOp::Gt | RelOp::Ge);
            if lt(a) && lt(b) {
                Some(Node::Interval {
                    lo: Box::new(parts[0].clone()),
                    hi: Box::new(parts[2].clone()),
                    lo_open: *a == RelOp::Lt,
                    hi_open: *b == RelOp::Lt,
                })
            } else if gt(a) && gt(b) {
                Some(Node::Interval {
                    lo: Box::new(parts[2].clone()),
                    hi: Box::new(parts[0].clone()),
                    lo_open: *b == RelOp::Gt,
                    hi_open: *a == RelOp::Gt,
                })
            } else {
                None
            }
        }
        _ => None,
    }
}

fn items(n: &Node) -> Option<&[Node]> {
    match n {
        Node::Tuple(v) | Node::Set(v) | Node::List(v) => Some(v),
        _ => None,
    }
}

fn collection_eq(g: &Node, p: &Node, cfg: &VerifyConfig, steps: &mut Steps) -> Cmp {
    // singletons: {5} vs 5
    let g1 = match g {
        Node::Set(v) | Node::List(v) | Node::Tuple(v) if v.len() == 1 => Some(&v[0]),
        _ => None,
    };
    let p1 = match p {
        Node::Set(v) | Node::List(v) | Node::Tuple(v) if v.len() == 1 => Some(&v[0]),
        _ => None,
    };
    if !is_collection(g) || !is_collection(p) {
        return match (g1, p1) {
            (Some(a), _) if !is_collection(p) => equal(a, p, cfg, steps),
            (_, Some(b)) if !is_collection(g) => equal(g, b, cfg, steps),
            _ => Cmp::NotEqual,
        };
    }
    match (g, p) {
        (
            Node::Interval {
                lo: gl,
                hi: gh,
                lo_open: glo,
                hi_open: gho,
            },
            Node::Interval {
                lo: pl,
                hi: ph,
                lo_open: plo,
                hi_open: pho,
            },
        ) => {
            if glo != plo || gho != pho {
                return Cmp::NotEqual;
            }
            equal(gl, pl, cfg, steps).and(equal(gh, ph, cfg, steps))
        }
        // an open interval (a, b) is also the pair a, b (Math-Verify reads "(1,2)" as an interval)
        (
            Node::Interval {
                lo,
                hi,
                lo_open: true,
                hi_open: true,
            },
            other,
        ) if items(other).is_some_and(|v| v.len() == 2) => {
            let v = items(other).unwrap_or(&[]);
            equal(lo, &v[0], cfg, steps).and(equal(hi, &v[1], cfg, steps))
        }
        (
            other,
            Node::Interval {
                lo,
                hi,
                lo_open: true,
                hi_open: true,
            },
        ) if items(other).is_some_and(|v| v.len() == 2) => {
            let v = items(other).unwrap_or(&[]);
            equal(&v[0], lo, cfg, steps).and(equal(&v[1], hi, cfg, steps))
        }
        (Node::Interval { .. }, _) | (_, Node::Interval { .. }) => Cmp::NotEqual,
        (Node::Union(a), Node::Union(b)) => unordered(a, b, cfg, steps),
        (Node::Union(_), _) | (_, Node::Union(_)) => Cmp::NotEqual,
        (Node::Matrix(a), Node::Matrix(b)) => {
            if a.len() != b.len() || a.iter().zip(b).any(|(x, y)| x.len() != y.len()) {
                return Cmp::NotEqual;
            }
            let mut acc = Cmp::Equal;
            for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
                acc = acc.and(equal(x, y, cfg, steps));
                if acc == Cmp::NotEqual {
                    break;
                }
            }
            acc
        }
        (Node::Matrix(m), other) | (other, Node::Matrix(m)) => {
            // a vector written as a tuple
            let flat: Vec<&Node> = m.iter().flatten().collect();
            let is_vec = m.len() == 1 || m.iter().all(|r| r.len() == 1);
            match items(other) {
                Some(v) if is_vec && v.len() == flat.len() && matches!(other, Node::Tuple(_)) => {
                    let mut acc = Cmp::Equal;
                    for (x, y) in flat.iter().zip(v) {
                        acc = if std::ptr::eq(other, p) {
                            acc.and(equal(x, y, cfg, steps))
                        } else {
                            acc.and(equal(y, x, cfg, steps))
                        };
                        if acc == Cmp::NotEqual {
                            break;
                        }
                    }
                    acc
                }
                _ => Cmp::NotEqual,
            }
        }
        _ => {
            let (Some(a), Some(b)) = (items(g), items(p)) else {
                return Cmp::NotEqual;
            };
            // a gold tuple keeps its order (Math-Verify compares a tuple with the
            // prediction's elements as written); sets and lists are unordered
            let ordered = matches!(g, Node::Tuple(_));
            if ordered {
                if a.len() != b.len() {
                    return Cmp::NotEqual;
                }
                let mut acc = Cmp::Equal;
                for (x, y) in a.iter().zip(b) {
                    acc = acc.and(equal(x, y, cfg, steps));
                    if acc == Cmp::NotEqual {
                        break;
                    }
                }
                acc
            } else {
                unordered(a, b, cfg, steps)
            }
        }
    }
}

/// Multiset matching (greedy, O(n²) comparisons, bounded by the budget).
fn dedup(v: &[Node]) -> Vec<&Node> {
    let mut out: Vec<&Node> = Vec::with_capacity(v.len());
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

fn unordered(a: &[Node], b: &[Node], cfg: &VerifyConfig, steps: &mut Steps) -> Cmp {
    if a.len() > 1024 || b.len() > 1024 {
        return Cmp::Budget;
    }
    let (a, b) = (dedup(a), dedup(b));
    if a.len() != b.len() {
        return Cmp::NotEqual;
    }
    if a.len() > 256 {
        return Cmp::Budget;
    }
    let mut used = vec![false; b.len()];
    let mut worst = Cmp::Equal;
    for x in a {
        let mut found = false;
        let mut local = Cmp::NotEqual;
        for (j, y) in b.iter().copied().enumerate() {
            if used[j] {
                continue;
            }
            match equal(x, y, cfg, steps) {
                Cmp::Equal => {
                    used[j] = true;
                    found = true;
                    break;
                }
                Cmp::Budget => local = Cmp::Budget,
                Cmp::Undefined if local != Cmp::Budget => local = Cmp::Undefined,
                _ => {}
            }
        }
        if !found {
            worst = if local == Cmp::NotEqual {
                Cmp::NotEqual
            } else {
                local
            };
            if worst == Cmp::NotEqual {
                return worst;
            }
        }
    }
    worst
}

fn text_key(n: &Node) -> String {
    let s = n.to_string().to_lowercase();
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '*' | '(' | ')' | '.'))
        .collect()
}

/// A product of letters / words / text read as one word (`\text{Evelyn}` vs `Evelyn`).
fn word_key(n: &Node) -> Option<String> {
    fn go(n: &Node, out: &mut String) -> bool {
        match n {
            Node::Sym(s) | Node::Word(s) | Node::Text(s) => {
                out.push_str(s);
                true
            }
            Node::Const(Const::E) => {
                out.push('e');
                true
            }
            Node::Const(Const::Pi) => {
                out.push_str("pi");
                true
            }
            Node::Mul(v) => v.iter().all(|x| go(x, out)),
            _ => false,
        }
    }
    let mut s = String::new();
    if go(n, &mut s) && s.chars().count() > 1 {
        Some(s.to_lowercase())
    } else {
        None
    }
}

/// Percent variants of a scalar: (fraction value, face value).
fn pct_parts(n: &Node) -> Option<(Node, Node)> {
    match n {
        Node::Pct(x) => Some((n.clone(), (**x).clone())),
        Node::Neg(x) => match &**x {
            Node::Pct(y) => Some((n.clone(), Node::Neg(y.clone()))),
            _ => None,
        },
        _ => None,
    }
}

/// The values a node may stand for: a percentage as its fraction and/or its
/// face value (as configured), anything else as itself.
fn percent_readings(n: &Node, parts: &Option<(Node, Node)>, cfg: &VerifyConfig) -> Vec<Node> {
    match parts {
        Some((fraction, face)) => {
            let mut v = Vec::new();
            if cfg.percent_as_fraction {
                v.push(fraction.clone());
            }
            if cfg.percent_face_value {
                v.push(face.clone());
            }
            v
        }
        None => vec![n.clone()],
    }
}

fn scalar_eq(g: &Node, p: &Node, cfg: &VerifyConfig, steps: &mut Steps) -> Cmp {
    let gp = pct_parts(g);
    let pp = pct_parts(p);
    if gp.is_some() || pp.is_some() {
        let mut worst = Cmp::NotEqual;
        let gv = percent_readings(g, &gp, cfg);
        let pv = percent_readings(p, &pp, cfg);
        for a in &gv {
            for b in &pv {
                match value_eq(a, b, cfg, steps) {
                    Cmp::Equal => return Cmp::Equal,
                    Cmp::Budget => worst = Cmp::Budget,
                    Cmp::Undefined if worst == Cmp::NotEqual => worst = Cmp::Undefined,
                    _ => {}
                }
            }
        }
        return worst;
    }
    value_eq(g, p, cfg, steps)
}

/// Rounds to `digits` significant digits, as a comparable string.
fn sig(x: f64, digits: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    format!("{:.*e}", digits.saturating_sub(1).min(30), x)
}

fn float_close(a: f64, b: f64, cfg: &VerifyConfig) -> bool {
    if a == b {
        return true;
    }
    if sig(a, cfg.float_sig_digits) == sig(b, cfg.float_sig_digits) {
        return true;
    }
    let scale = a.abs().max(b.abs());
    (a - b).abs() <= cfg.float_rel_tol * scale
}

fn tight_close(a: f64, b: f64) -> bool {
    if a == b {
        return true;
    }
    let scale = a.abs().max(b.abs()).max(1e-300);
    (a - b).abs() <= 1e-9 * scale || (a - b).abs() < 1e-12
}

fn big_of(n: &Node) -> Option<&str> {
    match n {
        Node::Big(s, _) => Some(s),
        _ => None,
    }
}

fn value_eq(g: &Node, p: &Node, cfg: &VerifyConfig, steps: &mut Steps) -> Cmp {
    // huge literals: compare digits
    match (big_of(g), big_of(p)) {
        (Some(a), Some(b)) => return if a == b { Cmp::Equal } else { Cmp::NotEqual },
        (Some(_), None) | (None, Some(_))
            if matches!(g, Node::Num(_) | Node::Dec(..))
                || matches!(p, Node::Num(_) | Node::Dec(..)) =>
        {
            return Cmp::NotEqual
        }
        _ => {}
    }
    let mut syms: Vec<Box<str>> = Vec::new();
    g.free_symbols(&mut syms);
    let mut ps: Vec<Box<str>> = Vec::new();
    p.free_symbols(&mut ps);
    syms.extend(ps);
    syms.sort();
    syms.dedup();
    let floaty = g.has_float() || p.has_float();
    if syms.is_empty() {
        let env = Env {
            names: &[],
            values: &[] as &[Q],
        };
        let gx = g.exact(&env, steps);
        let px = p.exact(&env, steps);
        if let (Some(a), Some(b)) = (gx, px) {
            if a == b {
                return Cmp::Equal;
            }
            if floaty && (!a.is_terminating() || !b.is_terminating()) {
                return if float_close(a.to_f64(), b.to_f64(), cfg) {
                    Cmp::Equal
                } else {
                    Cmp::NotEqual
                };
            }
            return Cmp::NotEqual;
        }
        if steps.left == 0 {
            return Cmp::Budget;
        }
        let fenv = Env {
            names: &[],
            values: &[] as &[f64],
        };
        let a = g.eval(&fenv, steps);
        let b = p.eval(&fenv, steps);
        if steps.left == 0 {
            return Cmp::Budget;
        }
        if a.is_nan() || b.is_nan() {
            return Cmp::Undefined;
        }
        if a.is_infinite() || b.is_infinite() {
            if a == b && (is_inf_const(g) && is_inf_const(p)) {
                return Cmp::Equal;
            }
            if a.is_infinite() && b.is_infinite() {
                return Cmp::Undefined;
            }
            return if a.is_finite() != b.is_finite() && (is_inf_const(g) || is_inf_const(p)) {
                Cmp::NotEqual
            } else {
                Cmp::Undefined
            };
        }
        let ok = if floaty {
            float_close(a, b, cfg)
        } else {
            tight_close(a, b)
        };
        return if ok { Cmp::Equal } else { Cmp::NotEqual };
    }
    if syms.len() > MAX_VARS {
        return Cmp::Budget;
    }
    let pts = points();
    let mut valid = 0;
    for k in 0..N_POINTS {
        if steps.left == 0 {
            return Cmp::Budget;
        }
        let env = Env {
            names: &syms,
            values: &pts.exact[k][..syms.len()],
        };
        let ge = g.exact(&env, steps);
        let pe = p.exact(&env, steps);
        if let (Some(a), Some(b)) = (ge, pe) {
            if a != b && !(floaty && float_close(a.to_f64(), b.to_f64(), cfg)) {
                return Cmp::NotEqual;
            }
            valid += 1;
            continue;
        }
        let fenv = Env {
            names: &syms,
            values: &pts.real[k][..syms.len()],
        };
        let a = g.eval(&fenv, steps);
        let b = p.eval(&fenv, steps);
        if !a.is_finite() || !b.is_finite() {
            if a.is_finite() != b.is_finite() && !(a.is_nan() || b.is_nan()) {
                return Cmp::NotEqual;
            }
            continue;
        }
        let ok = if floaty {
            float_close(a, b, cfg)
        } else {
            tight_close(a, b)
        };
        if !ok {
            return Cmp::NotEqual;
        }
        valid += 1;
    }
    if steps.left == 0 {
        return Cmp::Budget;
    }
    if valid >= 3 {
        Cmp::Equal
    } else {
        Cmp::Undefined
    }
}

fn is_inf_const(n: &Node) -> bool {
    match n {
        Node::Const(Const::Inf) => true,
        Node::Neg(x) => is_inf_const(x),
        _ => false,
    }
}

/// `lhs - rhs` of one relation.
fn diff(l: &Node, r: &Node) -> Node {
    Node::Add(vec![l.clone(), Node::Neg(Box::new(r.clone()))])
}

/// Whether `a ≡ k·b` for a constant k with the required sign (0: any non-zero).
fn proportional(a: &Node, b: &Node, sign: i8, cfg: &VerifyConfig, steps: &mut Steps) -> Cmp {
    let mut syms: Vec<Box<str>> = Vec::new();
    a.free_symbols(&mut syms);
    let mut s2 = Vec::new();
    b.free_symbols(&mut s2);
    syms.extend(s2);
    syms.sort();
    syms.dedup();
    if syms.len() > MAX_VARS {
        return Cmp::Budget;
    }
    let pts = points();
    let mut ratio: Option<f64> = None;
    let mut valid = 0;
    let floaty = a.has_float() || b.has_float();
    let n_pts = if syms.is_empty() { 1 } else { N_POINTS };
    for k in 0..n_pts {
        if steps.left == 0 {
            return Cmp::Budget;
        }
        let env = Env {
            names: &syms,
            values: &pts.real[k][..syms.len()],
        };
        let x = a.eval(&env, steps);
        let y = b.eval(&env, steps);
        if !x.is_finite() || !y.is_finite() {
            continue;
        }
        if y.abs() < 1e-12 && x.abs() < 1e-12 {
            valid += 1;
            continue;
        }
        if y.abs() < 1e-12 || x.abs() < 1e-12 {
            return Cmp::NotEqual;
        }
        let r = x / y;
        match ratio {
            None => ratio = Some(r),
            Some(r0) => {
                let ok = if floaty {
                    float_close(r0, r, cfg)
                } else {
                    tight_close(r0, r)
                };
                if !ok {
                    return Cmp::NotEqual;
                }
            }
        }
        valid += 1;
    }
    if valid == 0 || (!syms.is_empty() && valid < 3) {
        return Cmp::Undefined;
    }
    match ratio {
        Some(r) if sign > 0 && r <= 0.0 => Cmp::NotEqual,
        Some(r) if sign < 0 && r >= 0.0 => Cmp::NotEqual,
        _ => Cmp::Equal,
    }
}

// Two relations side by side (gold, then prediction), then the shared state.
#[allow(clippy::too_many_arguments)]
fn one_rel_eq(
    gl: &Node,
    gop: RelOp,
    gr: &Node,
    pl: &Node,
    pop: RelOp,
    pr: &Node,
    cfg: &VerifyConfig,
    steps: &mut Steps,
) -> Cmp {
    let dg = diff(gl, gr);
    let dp = diff(pl, pr);
    let symmetric = matches!(gop, RelOp::Eq | RelOp::Ne | RelOp::Approx | RelOp::In);
    if symmetric {
        if !(gop == pop || matches!((gop, pop), (RelOp::Eq, RelOp::In) | (RelOp::In, RelOp::Eq))) {
            return Cmp::NotEqual;
        }
        // sides may be sets (x ∈ [1,2]): compare structurally
        if is_collection(gr) || is_collection(pr) {
            return equal(gl, pl, cfg, steps).and(equal(gr, pr, cfg, steps));
        }
        return proportional(&dg, &dp, 0, cfg, steps);
    }
    if gop == pop {
        proportional(&dg, &dp, 1, cfg, steps)
    } else if gop == pop.flipped() {
        proportional(&dg, &dp, -1, cfg, steps)
    } else {
        Cmp::NotEqual
    }
}

fn rel_eq(g: &Node, p: &Node, cfg: &VerifyConfig, steps: &mut Steps) -> Cmp {
    let (Node::Rel(gp, gops), Node::Rel(pp, pops)) = (g, p) else {
        return Cmp::NotEqual;
    };
    if gops.len() != pops.len() {
        return Cmp::NotEqual;
    }
    // identical text is equal (also for undefined sides)
    if g == p {
        return Cmp::Equal;
    }
    // same direction, pairwise
    let mut acc = Cmp::Equal;
    for i in 0..gops.len() {
        acc = acc.and(one_rel_eq(
            &gp[i],
            gops[i],
            &gp[i + 1],
            &pp[i],
            pops[i],
            &pp[i + 1],
            cfg,
            steps,
        ));
        if acc == Cmp::NotEqual {
            break;
        }
    }
    if acc == Cmp::Equal || gops.len() == 1 {
        return acc;
    }
    // reversed chain: a < x < b vs b > x > a
    let n = gops.len();
    let mut acc2 = Cmp::Equal;
    for i in 0..n {
        let j = n - 1 - i;
        acc2 = acc2.and(one_rel_eq(
            &gp[i],
            gops[i],
            &gp[i + 1],
            &pp[j + 1],
            pops[j].flipped(),
            &pp[j],
            cfg,
            steps,
        ));
        if acc2 == Cmp::NotEqual {
            break;
        }
    }
    if acc2 == Cmp::Equal {
        Cmp::Equal
    } else {
        acc
    }
}
