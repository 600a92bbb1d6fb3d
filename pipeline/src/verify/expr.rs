//! Math expressions: a lexer and Pratt-style parser for LaTeX and plain
//! notation, the AST, exact rational evaluation and floating-point evaluation
//! (used at seeded random points for symbolic equality).
//!
//! The parser is deliberately lenient where answers usually are (implicit
//! multiplication, `\frac12`, `\sqrt2`, mixed numbers `2\frac{1}{2}`, `(a, b]`
//! intervals, `\pm`, matrices) and strict about everything else: leftover
//! tokens are an error, so that a sentence never parses as a product of
//! letters by accident. All work is bounded by a [`Budget`].

use super::rational::Q;
use std::fmt;

/// Work limits for parsing and comparing one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Longest response (bytes) that is scanned at all; longer ones are cut to
    /// their last `max_input` bytes (answers live at the end).
    pub max_input: usize,
    /// Longest extracted answer (bytes) that is parsed.
    pub max_answer: usize,
    /// Deepest nesting of groups / operators in the parser.
    pub max_depth: u32,
    /// Most parser + evaluator steps per expression.
    pub max_steps: u32,
    /// Most digits in one number literal.
    pub max_digits: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_input: 1 << 20,
            max_answer: 4096,
            max_depth: 160,
            max_steps: 20_000,
            max_digits: 4096,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PErr {
    Syntax,
    Budget,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Const {
    Pi,
    E,
    Inf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    Sqrt,
    Root, // args: [index, radicand]
    Sin,
    Cos,
    Tan,
    Cot,
    Sec,
    Csc,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Ln,
    Log, // args: [x] (base 10) or [base, x]
    Exp,
    Abs,
    Floor,
    Ceil,
    Binom,
    Max,
    Min,
    Gcd,
    Lcm,
    /// `a mod b` (`\bmod`)
    Mod,
}

impl Func {
    fn name(self) -> &'static str {
        match self {
            Func::Sqrt => "sqrt",
            Func::Root => "root",
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Tan => "tan",
            Func::Cot => "cot",
            Func::Sec => "sec",
            Func::Csc => "csc",
            Func::Asin => "asin",
            Func::Acos => "acos",
            Func::Atan => "atan",
            Func::Sinh => "sinh",
            Func::Cosh => "cosh",
            Func::Tanh => "tanh",
            Func::Ln => "ln",
            Func::Log => "log",
            Func::Exp => "exp",
            Func::Abs => "abs",
            Func::Floor => "floor",
            Func::Ceil => "ceil",
            Func::Binom => "binom",
            Func::Max => "max",
            Func::Min => "min",
            Func::Gcd => "gcd",
            Func::Lcm => "lcm",
            Func::Mod => "mod",
        }
    }

    fn from_name(s: &str) -> Option<Func> {
        Some(match s {
            "sqrt" => Func::Sqrt,
            "sin" => Func::Sin,
            "cos" => Func::Cos,
            "tan" | "tg" => Func::Tan,
            "cot" | "ctg" | "cotg" => Func::Cot,
            "sec" => Func::Sec,
            "csc" | "cosec" => Func::Csc,
            "arcsin" | "asin" => Func::Asin,
            "arccos" | "acos" => Func::Acos,
            "arctan" | "atan" | "arctg" => Func::Atan,
            "sinh" => Func::Sinh,
            "cosh" => Func::Cosh,
            "tanh" => Func::Tanh,
            "ln" => Func::Ln,
            "log" | "lg" => Func::Log,
            "exp" => Func::Exp,
            "abs" => Func::Abs,
            "floor" => Func::Floor,
            "ceil" => Func::Ceil,
            "binom" | "dbinom" | "tbinom" | "choose" => Func::Binom,
            "max" => Func::Max,
            "min" => Func::Min,
            "gcd" => Func::Gcd,
            "lcm" => Func::Lcm,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Approx,
    In,
}

impl RelOp {
    fn as_str(self) -> &'static str {
        match self {
            RelOp::Eq => "=",
            RelOp::Ne => "!=",
            RelOp::Lt => "<",
            RelOp::Le => "<=",
            RelOp::Gt => ">",
            RelOp::Ge => ">=",
            RelOp::Approx => "~=",
            RelOp::In => " in ",
        }
    }
    /// The relation with its sides swapped (`<` ↔ `>`).
    pub fn flipped(self) -> RelOp {
        match self {
            RelOp::Lt => RelOp::Gt,
            RelOp::Le => RelOp::Ge,
            RelOp::Gt => RelOp::Lt,
            RelOp::Ge => RelOp::Le,
            o => o,
        }
    }
}

/// The AST.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// Exact number written without a decimal point.
    Num(Q),
    /// Exact value of a number written with a decimal point (a "float").
    Dec(Q, Box<str>),
    /// A literal too long for `i128`: canonical digits and an approximation.
    Big(Box<str>, f64),
    Sym(Box<str>),
    /// A run of letters (`xy`, `Evelyn`): a product of one-letter symbols
    /// for evaluation, the word itself for text comparison.
    Word(Box<str>),
    /// Non-math text (any script).
    Text(Box<str>),
    Const(Const),
    Neg(Box<Node>),
    Add(Vec<Node>),
    Mul(Vec<Node>),
    Div(Box<Node>, Box<Node>),
    Pow(Box<Node>, Box<Node>),
    Func(Func, Vec<Node>),
    Fact(Box<Node>),
    Pct(Box<Node>),
    /// `a ± b`
    PlusMinus(Box<Node>, Box<Node>),
    /// `(a, b, …)`; a pair may also be read as an open interval.
    Tuple(Vec<Node>),
    Interval {
        lo: Box<Node>,
        hi: Box<Node>,
        lo_open: bool,
        hi_open: bool,
    },
    Set(Vec<Node>),
    /// A bare comma list `a, b, c` (compared as a set, like Math-Verify).
    List(Vec<Node>),
    Union(Vec<Node>),
    Matrix(Vec<Vec<Node>>),
    /// A chain `e0 op0 e1 op1 e2 …`.
    Rel(Vec<Node>, Vec<RelOp>),
}

// ───────────────────────────── lexer ─────────────────────────────

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok<'a> {
    Num(&'a str),
    Letters(&'a str),
    Word(&'a str),
    Cmd(&'a str),
    Ch(char),
    Eof,
}

#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    if c.is_whitespace() || super::numeral::native_digit(c).is_some() {
        return false;
    }
    !matches!(
        c,
        '。' | '、'
            | '，'
            | '「'
            | '」'
            | '『'
            | '』'
            | '（'
            | '）'
            | '【'
            | '】'
            | '《'
            | '》'
            | '？'
            | '！'
            | '：'
            | '；'
            | '“'
            | '”'
            | '‘'
            | '’'
            | '…'
            | '«'
            | '»'
            | '¿'
            | '¡'
            | '·'
            | '•'
            | '→'
            | '⇒'
            | '€'
            | '£'
            | '¥'
            | '₹'
            | '₽'
            | '₩'
            | '₫'
            | '฿'
            | '₪'
            | '₺'
            | '₴'
            | '₦'
            | '₱'
            | '¢'
            | '²'
            | '³'
            | '¹'
            | '½'
            | '¼'
            | '¾'
            | '⁄'
            | '\u{200b}'
            | '\u{200c}'
            | '\u{200d}'
            | '\u{feff}'
    )
}

struct Lexer<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn skip_ws(&mut self) {
        while self.pos < self.b.len() {
            let c = self.b[self.pos];
            if c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' {
                self.pos += 1;
            } else if c == b'\\' && self.pos + 1 < self.b.len() {
                // spacing commands
                let n = self.b[self.pos + 1];
                if matches!(n, b',' | b';' | b':' | b'!' | b' ' | b'>') {
                    self.pos += 2;
                } else if self.s[self.pos + 1..].starts_with("quad") {
                    self.pos += 5;
                } else if self.s[self.pos + 1..].starts_with("qquad") {
                    self.pos += 6;
                } else {
                    break;
                }
            } else if c == b'~' {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// Next token and the position after it, without consuming.
    fn scan(&mut self) -> (Tok<'a>, usize) {
        self.skip_ws();
        let b = self.b;
        let i = self.pos;
        if i >= b.len() {
            return (Tok::Eof, i);
        }
        let c = b[i];
        if c.is_ascii_digit() || (c == b'.' && i + 1 < b.len() && b[i + 1].is_ascii_digit()) {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j < b.len() && b[j] == b'.' && j + 1 < b.len() && b[j + 1].is_ascii_digit() {
                j += 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
            } else if j < b.len()
                && b[j] == b'.'
                && (j + 1 == b.len() || !b[j + 1].is_ascii_alphabetic())
                && j > i
            {
                // "5." — a trailing dot belongs to the number only if nothing follows
                if j + 1 == b.len() {
                    j += 1;
                }
            }
            return (Tok::Num(&self.s[i..j]), j);
        }
        if c.is_ascii_alphabetic() {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_alphabetic() {
                j += 1;
            }
            return (Tok::Letters(&self.s[i..j]), j);
        }
        if c == b'\\' {
            if i + 1 >= b.len() {
                return (Tok::Ch('\\'), i + 1);
            }
            let n = b[i + 1];
            if n.is_ascii_alphabetic() {
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_alphabetic() {
                    j += 1;
                }
                return (Tok::Cmd(&self.s[i + 1..j]), j);
            }
            // \{ \} \\ \| \% \$ and non-ASCII
            let ch_len = self.s[i + 1..]
                .chars()
                .next()
                .map(|c| c.len_utf8())
                .unwrap_or(1);
            return (Tok::Cmd(&self.s[i + 1..i + 1 + ch_len]), i + 1 + ch_len);
        }
        if c < 0x80 {
            return (Tok::Ch(c as char), i + 1);
        }
        let ch = self.s[i..].chars().next().unwrap_or('\u{fffd}');
        if is_word_char(ch) {
            let mut j = i;
            for ch in self.s[i..].chars() {
                if is_word_char(ch) || ch.is_ascii_alphabetic() {
                    j += ch.len_utf8();
                } else {
                    break;
                }
            }
            return (Tok::Word(&self.s[i..j]), j);
        }
        (Tok::Ch(ch), i + ch.len_utf8())
    }
}

// ───────────────────────────── parser ─────────────────────────────

pub struct Parser<'a> {
    lx: Lexer<'a>,
    peeked: Option<(Tok<'a>, usize)>,
    depth: u32,
    steps: u32,
    budget: Budget,
    abs_depth: u32,
}

type PResult<T> = Result<T, PErr>;

/// Parses a whole normalized answer. Leftover input is an error.
pub fn parse(s: &str, budget: &Budget) -> PResult<Node> {
    if s.len() > budget.max_answer {
        return Err(PErr::Budget);
    }
    let mut p = Parser {
        lx: Lexer {
            s,
            b: s.as_bytes(),
            pos: 0,
        },
        peeked: None,
        depth: 0,
        steps: 0,
        budget: *budget,
        abs_depth: 0,
    };
    let n = p.parse_top()?;
    if p.peek() != Tok::Eof {
        return Err(PErr::Syntax);
    }
    Ok(n)
}

fn is_relop_cmd(c: &str) -> Option<RelOp> {
    Some(match c {
        "le" | "leq" | "leqslant" | "leqq" => RelOp::Le,
        "ge" | "geq" | "geqslant" | "geqq" => RelOp::Ge,
        "lt" => RelOp::Lt,
        "gt" => RelOp::Gt,
        "ne" | "neq" => RelOp::Ne,
        "approx" | "simeq" | "sim" | "cong" => RelOp::Approx,
        "in" => RelOp::In,
        "equiv" => RelOp::Eq,
        _ => return None,
    })
}

fn greek(c: &str) -> bool {
    matches!(
        c,
        "alpha"
            | "beta"
            | "gamma"
            | "delta"
            | "epsilon"
            | "varepsilon"
            | "zeta"
            | "eta"
            | "theta"
            | "vartheta"
            | "iota"
            | "kappa"
            | "lambda"
            | "mu"
            | "nu"
            | "xi"
            | "rho"
            | "varrho"
            | "sigma"
            | "tau"
            | "upsilon"
            | "phi"
            | "varphi"
            | "chi"
            | "psi"
            | "omega"
            | "Gamma"
            | "Delta"
            | "Theta"
            | "Lambda"
            | "Xi"
            | "Pi"
            | "Sigma"
            | "Phi"
            | "Psi"
            | "Omega"
            | "ell"
    )
}

impl<'a> Parser<'a> {
    #[inline]
    fn step(&mut self) -> PResult<()> {
        self.steps += 1;
        if self.steps > self.budget.max_steps {
            Err(PErr::Budget)
        } else {
            Ok(())
        }
    }

    #[inline]
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.budget.max_depth {
            Err(PErr::Budget)
        } else {
            Ok(())
        }
    }

    #[inline]
    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn peek(&mut self) -> Tok<'a> {
        if let Some((t, _)) = self.peeked {
            return t;
        }
        let r = self.lx.scan();
        self.peeked = Some(r);
        r.0
    }

    fn bump(&mut self) -> Tok<'a> {
        let t = self.peek();
        if let Some((_, end)) = self.peeked.take() {
            self.lx.pos = end;
        }
        t
    }

    fn eat_ch(&mut self, c: char) -> bool {
        if self.peek() == Tok::Ch(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_ch(&mut self, c: char) -> PResult<()> {
        if self.eat_ch(c) {
            Ok(())
        } else {
            Err(PErr::Syntax)
        }
    }

    /// Raw position after the peeked token is discarded.
    fn raw_pos(&mut self) -> usize {
        if self.peeked.is_some() {
            self.peeked = None;
        }
        self.lx.skip_ws();
        self.lx.pos
    }

    // top := rel ((,|;) rel)*
    fn parse_top(&mut self) -> PResult<Node> {
        let first = self.parse_rel()?;
        let mut items = vec![first];
        while let Tok::Ch(',') | Tok::Ch(';') = self.peek() {
            self.bump();
            // tolerate trailing separators and ellipses
            if matches!(
                self.peek(),
                Tok::Eof | Tok::Ch(')') | Tok::Ch(']') | Tok::Ch('}')
            ) {
                break;
            }
            if let Tok::Cmd("ldots" | "dots" | "cdots") = self.peek() {
                self.bump();
                continue;
            }
            if matches!(self.peek(), Tok::Ch(',') | Tok::Ch(';')) {
                continue;
            }
            items.push(self.parse_rel()?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Node::List(vec![]))
        } else {
            Node::List(items)
        })
    }

    fn peek_relop(&mut self) -> Option<RelOp> {
        match self.peek() {
            Tok::Ch('!') if self.next_raw_is(b'=') => Some(RelOp::Ne),
            Tok::Ch('=') => Some(RelOp::Eq),
            Tok::Ch('<') => Some(RelOp::Lt),
            Tok::Ch('>') => Some(RelOp::Gt),
            Tok::Cmd(c) => is_relop_cmd(c),
            _ => None,
        }
    }

    /// Whether the byte right after the peeked token is `c`.
    fn next_raw_is(&mut self, c: u8) -> bool {
        match self.peeked {
            Some((_, end)) => self.lx.b.get(end) == Some(&c),
            None => false,
        }
    }

    fn bump_relop(&mut self, op: RelOp) -> RelOp {
        self.bump();
        if op == RelOp::Ne && self.peek() == Tok::Ch('=') {
            self.bump();
            return op;
        }
        // two-character forms: <= >= != ==
        match op {
            RelOp::Lt | RelOp::Gt => {
                if self.peek() == Tok::Ch('=') {
                    self.bump();
                    return if op == RelOp::Lt {
                        RelOp::Le
                    } else {
                        RelOp::Ge
                    };
                }
                op
            }
            RelOp::Eq => {
                if self.peek() == Tok::Ch('=') {
                    self.bump();
                }
                op
            }
            o => o,
        }
    }

    // rel := union (relop union)*
    fn parse_rel(&mut self) -> PResult<Node> {
        // "!=" as a prefix-less op is handled in parse_postfix (factorial) – rare
        let first = self.parse_union()?;
        let mut ops = Vec::new();
        let mut parts = vec![first];
        while let Some(op) = self.peek_relop() {
            self.step()?;
            let op = self.bump_relop(op);
            parts.push(self.parse_union()?);
            ops.push(op);
        }
        if ops.is_empty() {
            return Ok(parts.pop().unwrap_or(Node::List(vec![])));
        }
        // "… = 1/3 ≈ 0.33": an approximation after an expression is dropped
        let mut i = 0;
        while i < ops.len() {
            if ops[i] == RelOp::Approx && !symbols_only(&parts[i]) && ops.len() > 1 {
                ops.remove(i);
                parts.remove(i + 1);
            } else {
                i += 1;
            }
        }
        Ok(Node::Rel(parts, ops))
    }

    fn parse_union(&mut self) -> PResult<Node> {
        let first = self.parse_sum()?;
        if self.peek() != Tok::Cmd("cup") {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.peek() == Tok::Cmd("cup") {
            self.step()?;
            self.bump();
            parts.push(self.parse_sum()?);
        }
        Ok(Node::Union(parts))
    }

    // sum := term ((+|-|±) term)*
    fn parse_sum(&mut self) -> PResult<Node> {
        let first = self.parse_term()?;
        let mut terms = vec![first];
        let mut pm: Option<Node> = None;
        loop {
            self.step()?;
            match self.peek() {
                Tok::Ch('+') => {
                    self.bump();
                    terms.push(self.parse_term()?);
                }
                Tok::Ch('-') => {
                    self.bump();
                    let t = self.parse_term()?;
                    terms.push(Node::Neg(Box::new(t)));
                }
                Tok::Cmd("pm") | Tok::Cmd("mp") => {
                    self.bump();
                    let t = self.parse_term()?;
                    let base = if terms.len() == 1 {
                        terms.pop().unwrap_or(Node::Num(Q::ZERO))
                    } else {
                        Node::Add(std::mem::take(&mut terms))
                    };
                    let base = match pm.take() {
                        Some(Node::PlusMinus(a, b)) => {
                            Node::PlusMinus(a, Box::new(Node::Add(vec![*b, base])))
                        }
                        _ => base,
                    };
                    pm = Some(Node::PlusMinus(Box::new(base), Box::new(t)));
                }
                _ => break,
            }
        }
        if let Some(Node::PlusMinus(a, b)) = pm {
            if terms.is_empty() {
                return Ok(Node::PlusMinus(a, b));
            }
            // a ± b + c  → a + c ± b
            let mut t = vec![*a];
            t.extend(terms);
            return Ok(Node::PlusMinus(Box::new(Node::Add(t)), b));
        }
        Ok(if terms.len() == 1 {
            terms.pop().unwrap_or(Node::Num(Q::ZERO))
        } else {
            Node::Add(terms)
        })
    }

    fn starts_atom(&mut self) -> bool {
        match self.peek() {
            Tok::Num(_) | Tok::Letters(_) | Tok::Word(_) => true,
            Tok::Ch('(') | Tok::Ch('{') => true,
            Tok::Ch('|') => self.abs_depth == 0,
            Tok::Cmd(c) => {
                !(is_relop_cmd(c).is_some()
                    || matches!(
                        c,
                        "cdot"
                            | "times"
                            | "div"
                            | "pm"
                            | "mp"
                            | "cup"
                            | "cap"
                            | "end"
                            | "\\"
                            | "}"
                            | "right"
                            | "rfloor"
                            | "rceil"
                            | "rvert"
                            | "rangle"
                            | "setminus"
                            | "mid"
                            | "to"
                            | "rightarrow"
                            | "Rightarrow"
                            | "implies"
                            | "iff"
                            | "ldots"
                            | "dots"
                            | "cdots"
                            | "%"
                            | "over"
                            | "bmod"
                            | "mod"
                            | "|"
                            | "vert"
                            | "hline"
                            | "pmod"
                    ))
            }
            _ => false,
        }
    }

    // term := unary ((*|/|·|×|÷|implicit) unary)*
    fn parse_term(&mut self) -> PResult<Node> {
        let first = self.parse_unary()?;
        let mut factors = vec![first];
        loop {
            self.step()?;
            match self.peek() {
                Tok::Ch('*') | Tok::Cmd("cdot") | Tok::Cmd("times") | Tok::Cmd("ast") => {
                    self.bump();
                    // "**" as power
                    if self.peek() == Tok::Ch('*') {
                        self.bump();
                        let e = self.parse_unary()?;
                        let b = factors.pop().ok_or(PErr::Syntax)?;
                        factors.push(Node::Pow(Box::new(b), Box::new(e)));
                        continue;
                    }
                    factors.push(self.parse_unary()?);
                }
                Tok::Ch('/') | Tok::Cmd("div") | Tok::Ch(':') => {
                    if self.peek() == Tok::Ch(':') {
                        // ratio a:b only between numbers; otherwise stop
                        let save = (self.lx.pos, self.peeked);
                        self.bump();
                        match self.peek() {
                            Tok::Num(m) if m.len() == 2 && m.starts_with('0') => {
                                // a clock time 12:00
                                self.bump();
                                let h = factors.pop().map(|f| f.to_string()).unwrap_or_default();
                                factors.push(Node::Text(format!("{h}:{m}").into()));
                                continue;
                            }
                            Tok::Num(_) => {}
                            _ => {
                                self.lx.pos = save.0;
                                self.peeked = save.1;
                                break;
                            }
                        }
                    } else {
                        self.bump();
                    }
                    let d = self.parse_unary()?;
                    let n = if factors.len() == 1 {
                        factors.pop().unwrap_or(Node::Num(Q::ONE))
                    } else {
                        Node::Mul(std::mem::take(&mut factors))
                    };
                    factors.push(Node::Div(Box::new(n), Box::new(d)));
                }
                Tok::Cmd("bmod") | Tok::Cmd("mod") => {
                    // a mod b: keep as a symbolic function-free remainder only for integers
                    self.bump();
                    let m = self.parse_unary()?;
                    let a = if factors.len() == 1 {
                        factors.pop().unwrap_or(Node::Num(Q::ZERO))
                    } else {
                        Node::Mul(std::mem::take(&mut factors))
                    };
                    factors.push(Node::Func(Func::Mod, vec![a, m]));
                }
                Tok::Cmd("pmod") => {
                    // "9 \pmod{11}": the residue is the answer
                    self.bump();
                    self.parse_arg()?;
                }
                _ => {
                    if self.starts_atom() {
                        let f = self.parse_pow()?;
                        // mixed number: 2 \frac{1}{2} → 2 + 1/2
                        if let (Some(Node::Num(w)), Node::Div(n, d)) = (factors.last(), &f) {
                            if factors.len() == 1 && w.is_integer() && !w.is_negative() {
                                if let (Node::Num(a), Node::Num(b)) = (&**n, &**d) {
                                    if a.is_integer() && b.is_integer() && a < b {
                                        let w = *w;
                                        factors.pop();
                                        factors.push(Node::Add(vec![Node::Num(w), f.clone()]));
                                        continue;
                                    }
                                }
                            }
                        }
                        factors.push(f);
                    } else {
                        break;
                    }
                }
            }
        }
        Ok(if factors.len() == 1 {
            factors.pop().unwrap_or(Node::Num(Q::ONE))
        } else {
            Node::Mul(factors)
        })
    }

    fn parse_unary(&mut self) -> PResult<Node> {
        self.enter()?;
        self.step()?;
        let r = match self.peek() {
            Tok::Ch('-') => {
                self.bump();
                let x = self.parse_unary()?;
                Ok(match x {
                    Node::Num(q) => Node::Num(q.neg().ok_or(PErr::Syntax)?),
                    Node::Dec(q, s) => {
                        Node::Dec(q.neg().ok_or(PErr::Syntax)?, format!("-{s}").into())
                    }
                    other => Node::Neg(Box::new(other)),
                })
            }
            Tok::Ch('+') => {
                self.bump();
                self.parse_unary()
            }
            Tok::Cmd("pm") | Tok::Cmd("mp") => {
                self.bump();
                let x = self.parse_unary()?;
                Ok(Node::PlusMinus(Box::new(Node::Num(Q::ZERO)), Box::new(x)))
            }
            _ => self.parse_pow(),
        };
        self.leave();
        r
    }

    // pow := postfix (^ exponent)?
    fn parse_pow(&mut self) -> PResult<Node> {
        let base = self.parse_postfix()?;
        let r = if self.peek() == Tok::Ch('^') {
            self.bump();
            let e = self.parse_exponent()?;
            let mut n = Node::Pow(Box::new(base), Box::new(e));
            // postfix after exponent: x^2 !
            while self.peek() == Tok::Ch('%') || self.peek() == Tok::Cmd("%") {
                self.bump();
                n = Node::Pct(Box::new(n));
            }
            Ok(n)
        } else {
            Ok(base)
        };
        r
    }

    fn parse_exponent(&mut self) -> PResult<Node> {
        self.enter()?;
        let r = match self.peek() {
            Tok::Ch('{') => {
                self.bump();
                let e = self.parse_top()?;
                self.expect_ch('}')?;
                Ok(e)
            }
            Tok::Ch('-') => {
                self.bump();
                let e = self.parse_exponent()?;
                Ok(Node::Neg(Box::new(e)))
            }
            Tok::Ch('(') => self.parse_postfix(),
            Tok::Letters(l) if l.len() > 1 => {
                // x^ab → x^a · b  (LaTeX reads one character)
                let pos = self.raw_pos();
                let _ = l;
                let c = &self.lx.s[pos..pos + 1];
                self.lx.pos = pos + 1;
                Ok(Node::Sym(c.to_ascii_lowercase().into()))
            }
            _ => {
                let a = self.parse_atom()?;
                // allow x^2! style postfix
                Ok(a)
            }
        };
        self.leave();
        r
    }

    fn parse_postfix(&mut self) -> PResult<Node> {
        let mut n = self.parse_atom()?;
        loop {
            self.step()?;
            match self.peek() {
                Tok::Ch('!') => {
                    if self.next_raw_is(b'=') {
                        break; // "!=" is a relation
                    }
                    self.bump();
                    n = Node::Fact(Box::new(n));
                }
                Tok::Ch('%') | Tok::Cmd("%") => {
                    self.bump();
                    n = Node::Pct(Box::new(n));
                }
                Tok::Ch('\'') => {
                    self.bump();
                    n = match n {
                        Node::Sym(s) => Node::Sym(format!("{s}'").into()),
                        other => Node::Mul(vec![other, Node::Sym("'".into())]),
                    };
                }
                Tok::Ch('_') => {
                    self.bump();
                    let sub = self.parse_subscript()?;
                    n = match n {
                        Node::Sym(s) => Node::Sym(format!("{s}_{sub}").into()),
                        Node::Word(s) => Node::Sym(format!("{s}_{sub}").into()),
                        Node::Num(q) => Node::Text(format!("{q}_{sub}").into()),
                        other => Node::Text(format!("{other}_{sub}").into()),
                    };
                }
                _ => break,
            }
        }
        Ok(n)
    }

    fn parse_subscript(&mut self) -> PResult<String> {
        match self.peek() {
            Tok::Ch('{') => {
                self.bump();
                let e = self.parse_top()?;
                self.expect_ch('}')?;
                Ok(e.to_string())
            }
            Tok::Num(n) => {
                let pos = self.raw_pos();
                // LaTeX reads one character; keep multi-digit subscripts whole
                let _ = pos;
                self.lx.pos = pos + n.len();
                Ok(n.to_string())
            }
            Tok::Letters(l) => {
                let pos = self.raw_pos();
                self.lx.pos = pos + 1;
                let _ = l;
                Ok(self.lx.s[pos..pos + 1].to_ascii_lowercase())
            }
            _ => {
                let a = self.parse_atom()?;
                Ok(a.to_string())
            }
        }
    }

    /// A LaTeX macro argument: `{…}` or a single character / command.
    fn parse_arg(&mut self) -> PResult<Node> {
        self.enter()?;
        let r = match self.peek() {
            Tok::Ch('{') => {
                self.bump();
                let e = if self.peek() == Tok::Ch('}') {
                    Err(PErr::Syntax)
                } else {
                    self.parse_top()
                }?;
                self.expect_ch('}')?;
                Ok(e)
            }
            Tok::Num(n) => {
                let pos = self.raw_pos();
                // \frac12: one digit per argument
                let first = n.as_bytes()[0];
                if first == b'.' {
                    self.lx.pos = pos + n.len();
                    num_node(n, &self.budget)
                } else {
                    self.lx.pos = pos + 1;
                    Ok(Node::Num(Q::int((first - b'0') as i128)))
                }
            }
            Tok::Letters(_) => {
                let pos = self.raw_pos();
                self.lx.pos = pos + 1;
                Ok(letter_node(&self.lx.s[pos..pos + 1]))
            }
            Tok::Cmd(_) => self.parse_atom(),
            _ => Err(PErr::Syntax),
        };
        self.leave();
        r
    }

    /// `(` list `)` / `[` list `]` / `(a, b]` …
    fn parse_bracketed(&mut self, open: char) -> PResult<Node> {
        if (open == '(' && self.peek() == Tok::Ch(')'))
            || (open == '[' && self.peek() == Tok::Ch(']'))
        {
            self.bump();
            return Ok(Node::Tuple(vec![]));
        }
        let inner = self.parse_top()?;
        let close = match self.bump() {
            Tok::Ch(')') => ')',
            Tok::Ch(']') => ']',
            _ => return Err(PErr::Syntax),
        };
        let items = match inner {
            Node::List(v) => v,
            single => {
                if open == '(' && close == ')' || open == '[' && close == ']' {
                    return Ok(single);
                }
                return Err(PErr::Syntax);
            }
        };
        if items.len() == 2 && !(open == '(' && close == ')') {
            let mut it = items.into_iter();
            let lo = it.next().ok_or(PErr::Syntax)?;
            let hi = it.next().ok_or(PErr::Syntax)?;
            return Ok(Node::Interval {
                lo: Box::new(lo),
                hi: Box::new(hi),
                lo_open: open == '(',
                hi_open: close == ')',
            });
        }
        if open != '(' && close != ']' || open == '(' && close != ')' {
            return Err(PErr::Syntax);
        }
        Ok(Node::Tuple(items))
    }

    fn parse_env(&mut self) -> PResult<Node> {
        // after \begin
        self.expect_ch('{')?;
        let name = match self.bump() {
            Tok::Letters(l) => l,
            _ => return Err(PErr::Syntax),
        };
        if self.peek() == Tok::Ch('*') {
            self.bump();
        }
        self.expect_ch('}')?;
        if name == "array" {
            // column spec
            if self.peek() == Tok::Ch('{') {
                let mut depth = 0i32;
                loop {
                    self.step()?;
                    match self.bump() {
                        Tok::Ch('{') => depth += 1,
                        Tok::Ch('}') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Tok::Eof => return Err(PErr::Syntax),
                        _ => {}
                    }
                }
            }
        }
        let mut rows: Vec<Vec<Node>> = vec![];
        let mut row: Vec<Node> = vec![];
        loop {
            self.step()?;
            match self.peek() {
                Tok::Cmd("end") => {
                    self.bump();
                    self.expect_ch('{')?;
                    self.bump();
                    if self.peek() == Tok::Ch('*') {
                        self.bump();
                    }
                    self.expect_ch('}')?;
                    if !row.is_empty() {
                        rows.push(row);
                    }
                    break;
                }
                Tok::Cmd("hline") => {
                    self.bump();
                }
                Tok::Ch('&') => {
                    self.bump();
                }
                Tok::Cmd("\\") => {
                    self.bump();
                    if !row.is_empty() {
                        rows.push(std::mem::take(&mut row));
                    }
                }
                Tok::Eof => return Err(PErr::Syntax),
                _ => {
                    row.push(self.parse_rel()?);
                    if !matches!(
                        self.peek(),
                        Tok::Ch('&') | Tok::Cmd("\\") | Tok::Cmd("end") | Tok::Cmd("hline")
                    ) {
                        return Err(PErr::Syntax);
                    }
                }
            }
        }
        if rows.is_empty() {
            return Err(PErr::Syntax);
        }
        let w = rows[0].len();
        if rows.iter().any(|r| r.len() != w) {
            return Err(PErr::Syntax);
        }
        Ok(match name {
            "vmatrix" => Node::Func(Func::Abs, vec![Node::Matrix(rows)]),
            "cases" | "aligned" | "align" | "gathered" | "split" if w == 1 => {
                Node::List(rows.into_iter().flatten().collect())
            }
            _ => Node::Matrix(rows),
        })
    }

    fn parse_func(&mut self, f: Func) -> PResult<Node> {
        // optional power / base: \sin^2 x, \log_2 8
        let mut power: Option<Node> = None;
        let mut base: Option<Node> = None;
        for _ in 0..2 {
            match self.peek() {
                Tok::Ch('^') if power.is_none() => {
                    self.bump();
                    power = Some(self.parse_exponent()?);
                }
                Tok::Ch('_') if base.is_none() => {
                    self.bump();
                    base = Some(match self.peek() {
                        Tok::Ch('{') => self.parse_arg()?,
                        Tok::Num(n) => {
                            self.bump();
                            num_node(n, &self.budget)?
                        }
                        _ => self.parse_arg()?,
                    });
                }
                _ => break,
            }
        }
        let args: Vec<Node> = match self.peek() {
            Tok::Ch('(') => {
                self.bump();
                let inner = self.parse_top()?;
                self.expect_ch(')')?;
                match inner {
                    Node::List(v)
                        if matches!(
                            f,
                            Func::Max | Func::Min | Func::Gcd | Func::Lcm | Func::Binom | Func::Log
                        ) =>
                    {
                        v
                    }
                    other => vec![other],
                }
            }
            Tok::Ch('{') => vec![self.parse_arg()?],
            Tok::Eof => return Err(PErr::Syntax),
            _ => vec![self.parse_pow()?],
        };
        let mut n = match (f, base) {
            (Func::Log, Some(b)) => Node::Func(
                Func::Log,
                vec![b, args.into_iter().next().ok_or(PErr::Syntax)?],
            ),
            (Func::Log, None) if args.len() == 2 => {
                let mut it = args.into_iter();
                let x = it.next().ok_or(PErr::Syntax)?;
                let b = it.next().ok_or(PErr::Syntax)?;
                Node::Func(Func::Log, vec![b, x])
            }
            (_, _) => Node::Func(f, args),
        };
        if let Some(p) = power {
            // \sin^{-1} x = arcsin x
            let inv = matches!(&p, Node::Neg(x) if matches!(**x, Node::Num(q) if q == Q::ONE))
                || matches!(&p, Node::Num(q) if *q == Q::int(-1));
            n = match (inv, &n) {
                (true, Node::Func(Func::Sin, a)) => Node::Func(Func::Asin, a.clone()),
                (true, Node::Func(Func::Cos, a)) => Node::Func(Func::Acos, a.clone()),
                (true, Node::Func(Func::Tan, a)) => Node::Func(Func::Atan, a.clone()),
                _ => Node::Pow(Box::new(n), Box::new(p)),
            };
        }
        Ok(n)
    }

    fn parse_atom(&mut self) -> PResult<Node> {
        self.enter()?;
        self.step()?;
        let t = self.bump();
        let r = match t {
            Tok::Num(n) => num_node(n, &self.budget),
            Tok::Letters(l) => self.letters(l),
            Tok::Word(w) => Ok(Node::Text(w.to_lowercase().into())),
            Tok::Ch('(') => self.parse_bracketed('('),
            Tok::Ch('[') => self.parse_bracketed('['),
            Tok::Ch('{') => {
                if self.peek() == Tok::Ch('}') {
                    self.bump();
                    Ok(Node::Set(vec![]))
                } else {
                    let e = self.parse_top()?;
                    self.expect_ch('}')?;
                    Ok(match e {
                        Node::List(v) => Node::Set(v),
                        other => other,
                    })
                }
            }
            Tok::Ch('|') => {
                self.abs_depth += 1;
                let e = self.parse_sum();
                self.abs_depth -= 1;
                let e = e?;
                self.expect_ch('|')?;
                Ok(Node::Func(Func::Abs, vec![e]))
            }
            Tok::Cmd(c) => self.command(c),
            _ => Err(PErr::Syntax),
        };
        self.leave();
        r
    }

    fn letters(&mut self, l: &'a str) -> PResult<Node> {
        let lower = l.to_ascii_lowercase();
        if let Some(f) = Func::from_name(&lower) {
            if !matches!(
                f,
                Func::Exp
                    | Func::Abs
                    | Func::Max
                    | Func::Min
                    | Func::Gcd
                    | Func::Lcm
                    | Func::Floor
                    | Func::Ceil
                    | Func::Binom
            ) || self.peek() == Tok::Ch('(')
            {
                return self.parse_func(f);
            }
        }
        Ok(match lower.as_str() {
            "pi" => Node::Const(Const::Pi),
            "e" => Node::Const(Const::E),
            "inf" | "infty" | "infinity" | "oo" => Node::Const(Const::Inf),
            _ if l.len() == 1 => Node::Sym(lower.into()),
            _ => Node::Word(lower.into()),
        })
    }

    fn command(&mut self, c: &'a str) -> PResult<Node> {
        match c {
            "frac" | "dfrac" | "tfrac" | "cfrac" => {
                let n = self.parse_arg()?;
                let d = self.parse_arg()?;
                Ok(Node::Div(Box::new(n), Box::new(d)))
            }
            "binom" | "dbinom" | "tbinom" => {
                let n = self.parse_arg()?;
                let k = self.parse_arg()?;
                Ok(Node::Func(Func::Binom, vec![n, k]))
            }
            "sqrt" => {
                if self.peek() == Tok::Ch('[') {
                    self.bump();
                    let idx = self.parse_top()?;
                    self.expect_ch(']')?;
                    let x = self.parse_arg()?;
                    Ok(Node::Func(Func::Root, vec![idx, x]))
                } else {
                    let x = self.parse_arg()?;
                    Ok(Node::Func(Func::Sqrt, vec![x]))
                }
            }
            "pi" => Ok(Node::Const(Const::Pi)),
            "infty" | "infin" => Ok(Node::Const(Const::Inf)),
            "e" => Ok(Node::Const(Const::E)),
            "emptyset" | "varnothing" => Ok(Node::Set(vec![])),
            "{" | "lbrace" => {
                if self.peek() == Tok::Cmd("}") || self.peek() == Tok::Cmd("rbrace") {
                    self.bump();
                    return Ok(Node::Set(vec![]));
                }
                let e = self.parse_top()?;
                match self.bump() {
                    Tok::Cmd("}") | Tok::Cmd("rbrace") => {}
                    _ => return Err(PErr::Syntax),
                }
                Ok(match e {
                    Node::List(v) => Node::Set(v),
                    other => Node::Set(vec![other]),
                })
            }
            "lfloor" | "lceil" => {
                let e = self.parse_top()?;
                let close = if c == "lfloor" { "rfloor" } else { "rceil" };
                if self.bump() != Tok::Cmd(close) {
                    return Err(PErr::Syntax);
                }
                Ok(Node::Func(
                    if c == "lfloor" {
                        Func::Floor
                    } else {
                        Func::Ceil
                    },
                    vec![e],
                ))
            }
            "lvert" | "vert" | "|" | "lVert" | "Vert" => {
                self.abs_depth += 1;
                let e = self.parse_sum();
                self.abs_depth -= 1;
                let e = e?;
                match self.bump() {
                    Tok::Cmd("rvert" | "vert" | "|" | "rVert" | "Vert") | Tok::Ch('|') => {}
                    _ => return Err(PErr::Syntax),
                }
                Ok(Node::Func(Func::Abs, vec![e]))
            }
            "langle" => {
                let e = self.parse_top()?;
                if self.bump() != Tok::Cmd("rangle") {
                    return Err(PErr::Syntax);
                }
                Ok(match e {
                    Node::List(v) => Node::Tuple(v),
                    other => Node::Tuple(vec![other]),
                })
            }
            "begin" => self.parse_env(),
            "text" | "textbf" | "textit" | "textrm" | "textnormal" | "mathrm" | "mathit"
            | "mathbf" | "mbox" | "hbox" | "boldsymbol" | "bm" | "mathsf" | "texttt" | "mathtt"
            | "operatorname" | "mathcal" | "mathscr" | "mathfrak" => {
                let arg = self.raw_group()?;
                let t = arg.trim();
                if c == "operatorname" {
                    if let Some(f) = Func::from_name(&t.to_ascii_lowercase()) {
                        return self.parse_func(f);
                    }
                }
                if t.is_empty() {
                    return Err(PErr::Syntax);
                }
                // a nested parse of simple content (numbers, symbols); else text
                // (the nested parser gets what is left of the depth and step budget)
                let nested = Budget {
                    max_depth: self.budget.max_depth.saturating_sub(self.depth + 8),
                    max_steps: self.budget.max_steps.saturating_sub(self.steps),
                    ..self.budget
                };
                match parse(t, &nested) {
                    Ok(n) if !matches!(n, Node::Text(_)) => Ok(n),
                    _ => Ok(Node::Text(t.to_lowercase().into())),
                }
            }
            "mathbb" => {
                let arg = self.raw_group()?;
                Ok(Node::Text(format!("mathbb:{}", arg.trim()).into()))
            }
            "overline" | "bar" | "vec" | "hat" | "tilde" | "widehat" | "overrightarrow" | "dot"
            | "ddot" | "underline" => {
                let a = self.parse_arg()?;
                Ok(a)
            }
            "left" | "right" | "big" | "Big" | "bigg" | "Bigg" | "bigl" | "bigr" | "Bigl"
            | "Bigr" | "displaystyle" | "textstyle" | "limits" => self.parse_atom(),
            "circ" | "degree" => Ok(Node::Num(Q::ONE)),
            "$" => self.parse_atom(),
            _ => {
                if let Some(f) = Func::from_name(c) {
                    return self.parse_func(f);
                }
                if greek(c) {
                    return Ok(Node::Sym(c.to_ascii_lowercase().into()));
                }
                if c == "i" || c == "imath" {
                    return Ok(Node::Sym("i".into()));
                }
                Err(PErr::Syntax)
            }
        }
    }

    /// The raw text of a `{…}` group (for `\text`), braces balanced.
    fn raw_group(&mut self) -> PResult<&'a str> {
        if self.peek() != Tok::Ch('{') {
            // \text x: one token
            return match self.bump() {
                Tok::Letters(l) | Tok::Word(l) | Tok::Num(l) => Ok(l),
                _ => Err(PErr::Syntax),
            };
        }
        let start = self.raw_pos();
        let b = self.lx.b;
        // start points at '{' (after whitespace skip)
        let mut i = start;
        while i < b.len() && b[i] != b'{' {
            i += 1;
        }
        let open = i;
        let mut depth = 0i32;
        while i < b.len() {
            match b[i] {
                b'\\' => {
                    i += 2;
                    continue;
                }
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        self.lx.pos = i + 1;
                        return self.lx.s.get(open + 1..i).ok_or(PErr::Syntax);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        Err(PErr::Syntax)
    }
}

/// Whether a node is made of symbols only (`x`, `ab`, `f(x)`, `(p, q)`).
pub(crate) fn symbols_only(n: &Node) -> bool {
    match n {
        Node::Sym(_) | Node::Word(_) => true,
        Node::Mul(v) | Node::Tuple(v) => !v.is_empty() && v.iter().all(symbols_only),
        Node::Div(a, b) => symbols_only(a) && symbols_only(b),
        Node::Func(_, v) => v
            .iter()
            .all(|x| symbols_only(x) || matches!(x, Node::Num(_))),
        _ => false,
    }
}

fn letter_node(l: &str) -> Node {
    match l {
        "e" => Node::Const(Const::E),
        _ => Node::Sym(l.to_ascii_lowercase().into()),
    }
}

/// A number literal: exact when it fits, else a canonical big literal.
pub(crate) fn num_node(s: &str, budget: &Budget) -> PResult<Node> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.len() > budget.max_digits {
        return Err(PErr::Budget);
    }
    let has_dot = s.contains('.');
    match Q::parse_decimal(s) {
        Some(q) => Ok(if has_dot {
            Node::Dec(q, s.into())
        } else {
            Node::Num(q)
        }),
        None => {
            let canon = canonical_decimal(s);
            let approx: f64 = s.parse().unwrap_or(f64::INFINITY);
            Ok(Node::Big(canon.into(), approx))
        }
    }
}

/// `007.500` → `7.5`, `-0` → `0`.
pub fn canonical_decimal(s: &str) -> String {
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let mut out = String::with_capacity(body.len() + 1);
    if neg && !(int.is_empty() && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

// ───────────────────────────── display ─────────────────────────────

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, v: &[Node], sep: &str) -> fmt::Result {
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{x}")?;
            }
            Ok(())
        }
        /// A node as an operand: parenthesized unless it is atomic.
        fn operand(n: &Node) -> String {
            if atomic(n) {
                format!("{n}")
            } else {
                format!("({n})")
            }
        }

        fn atomic(n: &Node) -> bool {
            matches!(
                n,
                Node::Num(_)
                    | Node::Dec(..)
                    | Node::Big(..)
                    | Node::Sym(_)
                    | Node::Word(_)
                    | Node::Const(_)
                    | Node::Func(..)
                    | Node::Text(_)
            ) && !matches!(n, Node::Num(q) if !q.is_integer() || q.is_negative())
                && !matches!(n, Node::Dec(q, _) if q.is_negative())
        }
        match self {
            Node::Num(q) => write!(f, "{q}"),
            Node::Dec(_, s) => f.write_str(&canonical_decimal(s)),
            Node::Big(s, _) => f.write_str(s),
            Node::Sym(s) | Node::Word(s) => f.write_str(s),
            Node::Text(s) => write!(f, "\"{s}\""),
            Node::Const(Const::Pi) => f.write_str("pi"),
            Node::Const(Const::E) => f.write_str("e"),
            Node::Const(Const::Inf) => f.write_str("oo"),
            Node::Neg(x) => {
                if atomic(x) {
                    write!(f, "-{x}")
                } else {
                    write!(f, "-({x})")
                }
            }
            Node::Add(v) => {
                for (i, x) in v.iter().enumerate() {
                    match x {
                        Node::Neg(y) if i > 0 => {
                            if atomic(y) || matches!(**y, Node::Mul(_) | Node::Pow(..)) {
                                write!(f, " - {y}")?
                            } else {
                                write!(f, " - ({y})")?
                            }
                        }
                        _ => {
                            if i > 0 {
                                f.write_str(" + ")?;
                            }
                            write!(f, "{x}")?;
                        }
                    }
                }
                Ok(())
            }
            Node::Mul(v) => {
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str("*")?;
                    }
                    if atomic(x) || matches!(x, Node::Pow(..)) {
                        write!(f, "{x}")?;
                    } else {
                        write!(f, "({x})")?;
                    }
                }
                Ok(())
            }
            Node::Div(a, b) => {
                let (l, r) = (operand(a), operand(b));
                write!(f, "{l}/{r}")
            }
            Node::Pow(a, b) => {
                let (l, r) = (operand(a), operand(b));
                write!(f, "{l}^{r}")
            }
            Node::Func(func, v) => {
                write!(f, "{}(", func.name())?;
                list(f, v, ", ")?;
                f.write_str(")")
            }
            Node::Fact(x) => {
                if atomic(x) {
                    write!(f, "{x}!")
                } else {
                    write!(f, "({x})!")
                }
            }
            Node::Pct(x) => {
                if atomic(x) {
                    write!(f, "{x}%")
                } else {
                    write!(f, "({x})%")
                }
            }
            Node::PlusMinus(a, b) => {
                if matches!(**a, Node::Num(q) if q.is_zero()) {
                    write!(f, "±{b}")
                } else {
                    write!(f, "{a} ± {b}")
                }
            }
            Node::Tuple(v) => {
                f.write_str("(")?;
                list(f, v, ", ")?;
                f.write_str(")")
            }
            Node::Interval {
                lo,
                hi,
                lo_open,
                hi_open,
            } => {
                write!(
                    f,
                    "{}{lo}, {hi}{}",
                    if *lo_open { '(' } else { '[' },
                    if *hi_open { ')' } else { ']' }
                )
            }
            Node::Set(v) => {
                f.write_str("{")?;
                list(f, v, ", ")?;
                f.write_str("}")
            }
            Node::List(v) => list(f, v, ", "),
            Node::Union(v) => list(f, v, " U "),
            Node::Matrix(rows) => {
                f.write_str("[")?;
                for (i, r) in rows.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str("[")?;
                    list(f, r, ", ")?;
                    f.write_str("]")?;
                }
                f.write_str("]")
            }
            Node::Rel(parts, ops) => {
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        let op = ops[i - 1].as_str();
                        if op.starts_with(' ') {
                            f.write_str(op)?;
                        } else {
                            write!(f, " {op} ")?;
                        }
                    }
                    write!(f, "{p}")?;
                }
                Ok(())
            }
        }
    }
}

// ───────────────────────────── evaluation ─────────────────────────────

/// Symbol values for evaluation, looked up by name.
pub struct Env<'e, T> {
    pub names: &'e [Box<str>],
    pub values: &'e [T],
}

impl<T: Copy> Env<'_, T> {
    #[inline]
    fn get(&self, name: &str) -> Option<T> {
        self.names
            .iter()
            .position(|n| &**n == name)
            .map(|i| self.values[i])
    }
}

/// A step counter shared by evaluations of one comparison.
pub struct Steps {
    pub left: u32,
}

impl Steps {
    #[inline]
    fn tick(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        true
    }
}

impl Node {
    /// Whether the expression contains a literal written with a decimal point.
    pub fn has_float(&self) -> bool {
        let mut found = false;
        self.walk(&mut |n| {
            if matches!(n, Node::Dec(..) | Node::Big(..)) {
                if let Node::Big(s, _) = n {
                    if s.contains('.') {
                        found = true;
                    }
                } else {
                    found = true;
                }
            }
        });
        found
    }

    pub fn has_text(&self) -> bool {
        let mut found = false;
        self.walk(&mut |n| {
            if matches!(n, Node::Text(_)) {
                found = true;
            }
        });
        found
    }

    pub fn walk(&self, f: &mut dyn FnMut(&Node)) {
        f(self);
        match self {
            Node::Neg(x) | Node::Fact(x) | Node::Pct(x) => x.walk(f),
            Node::Add(v)
            | Node::Mul(v)
            | Node::Func(_, v)
            | Node::Tuple(v)
            | Node::Set(v)
            | Node::List(v)
            | Node::Union(v) => {
                for x in v {
                    x.walk(f)
                }
            }
            Node::Rel(v, _) => {
                for x in v {
                    x.walk(f)
                }
            }
            Node::Div(a, b) | Node::Pow(a, b) | Node::PlusMinus(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Node::Interval { lo, hi, .. } => {
                lo.walk(f);
                hi.walk(f);
            }
            Node::Matrix(rows) => {
                for r in rows {
                    for x in r {
                        x.walk(f)
                    }
                }
            }
            _ => {}
        }
    }

    /// Free symbol names, sorted and deduplicated (a word contributes its letters).
    pub fn free_symbols(&self, out: &mut Vec<Box<str>>) {
        self.walk(&mut |n| match n {
            Node::Sym(s) => out.push(s.clone()),
            Node::Word(w) => {
                for c in w.chars() {
                    out.push(c.to_string().into());
                }
            }
            _ => {}
        });
        out.sort();
        out.dedup();
    }

    /// Exact rational value (symbols from `env`), `None` when irrational,
    /// undefined, too large, or not a scalar.
    pub fn exact(&self, env: &Env<'_, Q>, steps: &mut Steps) -> Option<Q> {
        if !steps.tick() {
            return None;
        }
        match self {
            Node::Num(q) | Node::Dec(q, _) => Some(*q),
            Node::Sym(s) => env.get(s),
            Node::Word(w) => {
                let mut acc = Q::ONE;
                let mut buf = [0u8; 4];
                for c in w.chars() {
                    acc = acc.mul(env.get(c.encode_utf8(&mut buf))?)?;
                }
                Some(acc)
            }
            Node::Neg(x) => x.exact(env, steps)?.neg(),
            Node::Add(v) => {
                let mut acc = Q::ZERO;
                for x in v {
                    acc = acc.add(x.exact(env, steps)?)?;
                }
                Some(acc)
            }
            Node::Mul(v) => {
                let mut acc = Q::ONE;
                for x in v {
                    acc = acc.mul(x.exact(env, steps)?)?;
                }
                Some(acc)
            }
            Node::Div(a, b) => a.exact(env, steps)?.div(b.exact(env, steps)?),
            Node::Pct(x) => x.exact(env, steps)?.div(Q::int(100)),
            Node::Pow(a, b) => {
                let e = b.exact(env, steps)?;
                let base = a.exact(env, steps)?;
                if e.is_integer() {
                    base.pow(e.numer())
                } else if e.denom() == 2 {
                    base.sqrt_exact()?.pow(e.numer())
                } else {
                    None
                }
            }
            Node::Func(Func::Sqrt, v) if v.len() == 1 => v[0].exact(env, steps)?.sqrt_exact(),
            Node::Func(Func::Abs, v) if v.len() == 1 => {
                let x = v[0].exact(env, steps)?;
                if x.is_negative() {
                    x.neg()
                } else {
                    Some(x)
                }
            }
            Node::Func(Func::Floor, v) if v.len() == 1 => {
                let x = v[0].exact(env, steps)?;
                Some(Q::int(x.numer().div_euclid(x.denom())))
            }
            Node::Func(Func::Ceil, v) if v.len() == 1 => {
                let x = v[0].exact(env, steps)?;
                Some(Q::int(-((-x.numer()).div_euclid(x.denom()))))
            }
            Node::Fact(x) => {
                let n = x.exact(env, steps)?;
                if !n.is_integer() || n.is_negative() || n.numer() > 33 {
                    return None;
                }
                let mut acc: i128 = 1;
                for k in 2..=n.numer() {
                    acc = acc.checked_mul(k)?;
                }
                Some(Q::int(acc))
            }
            Node::Func(Func::Binom, v) if v.len() == 2 => {
                let n = v[0].exact(env, steps)?;
                let k = v[1].exact(env, steps)?;
                if !n.is_integer() || !k.is_integer() || n.is_negative() {
                    return None;
                }
                let (n, k) = (n.numer(), k.numer());
                if k < 0 || k > n {
                    return Some(Q::ZERO);
                }
                let k = k.min(n - k);
                if k > 200 {
                    return None;
                }
                let mut acc: i128 = 1;
                for i in 0..k {
                    acc = acc.checked_mul(n - i)? / (i + 1);
                }
                Some(Q::int(acc))
            }
            Node::Func(Func::Max | Func::Min, v) if !v.is_empty() => {
                let mut best = v[0].exact(env, steps)?;
                for x in &v[1..] {
                    let y = x.exact(env, steps)?;
                    let take = if matches!(self, Node::Func(Func::Max, _)) {
                        y > best
                    } else {
                        y < best
                    };
                    if take {
                        best = y;
                    }
                }
                Some(best)
            }
            Node::Func(Func::Root, v) if v.len() == 2 => {
                let n = v[0].exact(env, steps)?;
                let x = v[1].exact(env, steps)?;
                if n == Q::int(2) {
                    return x.sqrt_exact();
                }
                if !n.is_integer() || n.numer() < 1 || n.numer() > 64 || !x.is_integer() {
                    return None;
                }
                let r = x.to_f64().abs().powf(1.0 / n.numer() as f64).round() as i128;
                let sign = if x.is_negative() {
                    if n.numer() % 2 == 1 {
                        -1
                    } else {
                        return None;
                    }
                } else {
                    1
                };
                let cand = Q::int(sign * r);
                if cand.pow(n.numer())? == x {
                    Some(cand)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Floating-point value (NaN when undefined or not a scalar).
    pub fn eval(&self, env: &Env<'_, f64>, steps: &mut Steps) -> f64 {
        if !steps.tick() {
            return f64::NAN;
        }
        match self {
            Node::Num(q) | Node::Dec(q, _) => q.to_f64(),
            Node::Big(_, a) => *a,
            Node::Sym(s) => env.get(s).unwrap_or(f64::NAN),
            Node::Word(w) => {
                let mut acc = 1.0;
                let mut buf = [0u8; 4];
                for c in w.chars() {
                    acc *= env.get(c.encode_utf8(&mut buf)).unwrap_or(f64::NAN);
                }
                acc
            }
            Node::Const(Const::Pi) => std::f64::consts::PI,
            Node::Const(Const::E) => std::f64::consts::E,
            Node::Const(Const::Inf) => f64::INFINITY,
            Node::Neg(x) => -x.eval(env, steps),
            Node::Add(v) => v.iter().map(|x| x.eval(env, steps)).sum(),
            Node::Mul(v) => v.iter().map(|x| x.eval(env, steps)).product(),
            Node::Div(a, b) => {
                let d = b.eval(env, steps);
                if d == 0.0 {
                    return f64::NAN;
                }
                a.eval(env, steps) / d
            }
            Node::Pct(x) => x.eval(env, steps) / 100.0,
            Node::Pow(a, b) => {
                let base = a.eval(env, steps);
                let e = b.eval(env, steps);
                if base == 0.0 && e < 0.0 {
                    return f64::NAN;
                }
                if base < 0.0 && e.fract() != 0.0 {
                    // odd roots of negatives: (-8)^(1/3)
                    if let Some(q) = b.exact(
                        &Env {
                            names: &[],
                            values: &[],
                        },
                        &mut Steps { left: 64 },
                    ) {
                        if q.denom() % 2 == 1 {
                            let r = (-base).powf(e);
                            return if q.numer() % 2 == 0 { r } else { -r };
                        }
                    }
                    return f64::NAN;
                }
                base.powf(e)
            }
            Node::Fact(x) => {
                let n = x.eval(env, steps);
                if n < 0.0 || n.fract() != 0.0 || n > 170.0 {
                    return f64::NAN;
                }
                let mut acc = 1.0;
                let mut k = 2.0;
                while k <= n {
                    acc *= k;
                    k += 1.0;
                }
                acc
            }
            Node::Func(func, v) => {
                let arg = |i: usize, steps: &mut Steps| {
                    v.get(i).map(|x| x.eval(env, steps)).unwrap_or(f64::NAN)
                };
                match func {
                    Func::Sqrt => {
                        let x = arg(0, steps);
                        if x < 0.0 {
                            f64::NAN
                        } else {
                            x.sqrt()
                        }
                    }
                    Func::Root => {
                        let n = arg(0, steps);
                        let x = arg(1, steps);
                        if x < 0.0 {
                            if n.fract() == 0.0 && (n as i64) % 2 == 1 {
                                -(-x).powf(1.0 / n)
                            } else {
                                f64::NAN
                            }
                        } else {
                            x.powf(1.0 / n)
                        }
                    }
                    Func::Sin => arg(0, steps).sin(),
                    Func::Cos => arg(0, steps).cos(),
                    Func::Tan => arg(0, steps).tan(),
                    Func::Cot => 1.0 / arg(0, steps).tan(),
                    Func::Sec => 1.0 / arg(0, steps).cos(),
                    Func::Csc => 1.0 / arg(0, steps).sin(),
                    Func::Asin => arg(0, steps).asin(),
                    Func::Acos => arg(0, steps).acos(),
                    Func::Atan => arg(0, steps).atan(),
                    Func::Sinh => arg(0, steps).sinh(),
                    Func::Cosh => arg(0, steps).cosh(),
                    Func::Tanh => arg(0, steps).tanh(),
                    Func::Ln => {
                        let x = arg(0, steps);
                        if x <= 0.0 {
                            f64::NAN
                        } else {
                            x.ln()
                        }
                    }
                    Func::Log => {
                        if v.len() == 2 {
                            let b = arg(0, steps);
                            let x = arg(1, steps);
                            if x <= 0.0 || b <= 0.0 || b == 1.0 {
                                f64::NAN
                            } else {
                                x.ln() / b.ln()
                            }
                        } else {
                            let x = arg(0, steps);
                            if x <= 0.0 {
                                f64::NAN
                            } else {
                                x.log10()
                            }
                        }
                    }
                    Func::Exp => arg(0, steps).exp(),
                    Func::Abs => {
                        if matches!(v.first(), Some(Node::Matrix(_))) {
                            return f64::NAN;
                        }
                        arg(0, steps).abs()
                    }
                    Func::Floor => arg(0, steps).floor(),
                    Func::Ceil => arg(0, steps).ceil(),
                    Func::Binom => {
                        let n = arg(0, steps);
                        let k = arg(1, steps);
                        if n.fract() != 0.0
                            || k.fract() != 0.0
                            || n < 0.0
                            || k < 0.0
                            || k > n
                            || n > 1000.0
                        {
                            return f64::NAN;
                        }
                        let k = k.min(n - k);
                        let mut acc = 1.0;
                        let mut i = 0.0;
                        while i < k {
                            acc = acc * (n - i) / (i + 1.0);
                            i += 1.0;
                        }
                        acc.round()
                    }
                    Func::Max => v
                        .iter()
                        .map(|x| x.eval(env, steps))
                        .fold(f64::NEG_INFINITY, f64::max),
                    Func::Min => v
                        .iter()
                        .map(|x| x.eval(env, steps))
                        .fold(f64::INFINITY, f64::min),
                    Func::Mod => {
                        let a = arg(0, steps);
                        let m = arg(1, steps);
                        if m == 0.0 {
                            f64::NAN
                        } else {
                            a.rem_euclid(m)
                        }
                    }
                    Func::Gcd | Func::Lcm => {
                        let mut it = v.iter().map(|x| x.eval(env, steps));
                        let mut acc = it.next().unwrap_or(f64::NAN);
                        for y in it {
                            if acc.fract() != 0.0
                                || y.fract() != 0.0
                                || !acc.is_finite()
                                || !y.is_finite()
                            {
                                return f64::NAN;
                            }
                            let (mut a, mut b) = (acc.abs() as u64, y.abs() as u64);
                            let (oa, ob) = (a, b);
                            while b != 0 {
                                let t = a % b;
                                a = b;
                                b = t;
                            }
                            acc = if *func == Func::Gcd {
                                a as f64
                            } else {
                                oa.checked_div(a).map_or(0.0, |q| q as f64 * ob as f64)
                            };
                        }
                        acc
                    }
                }
            }
            _ => f64::NAN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        parse(s, &Budget::default())
            .map(|n| n.to_string())
            .unwrap_or_else(|e| format!("ERR {e:?}"))
    }

    #[test]
    fn parses() {
        assert_eq!(p("1+2"), "1 + 2");
        assert_eq!(p("\\frac{1}{2}"), "1/2");
        assert_eq!(p("\\frac12"), "1/2");
        assert_eq!(p("2\\sqrt{2}"), "2*sqrt(2)");
        assert_eq!(p("\\sqrt2"), "sqrt(2)");
        assert_eq!(p("(x+1)^2"), "(x + 1)^2");
        assert_eq!(p("x = 5"), "x = 5");
        assert_eq!(p("[0,1)"), "[0, 1)");
        assert_eq!(p("(1,2)"), "(1, 2)");
        assert_eq!(p("1,2,3"), "1, 2, 3");
        assert_eq!(p("\\{1,2\\}"), "{1, 2}");
        assert_eq!(p("2\\frac{1}{2}"), "2 + 1/2");
        assert_eq!(p("1 \\pm \\sqrt{19}"), "1 ± sqrt(19)");
        assert_eq!(
            p("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}"),
            "[[1, 2], [3, 4]]"
        );
        assert_eq!(p("\\sin^2 x + \\cos^2 x"), "sin(x)^2 + cos(x)^2");
        assert_eq!(p("\\log_2 8"), "log(2, 8)");
        assert_eq!(p("x \\le 3"), "x <= 3");
        assert_eq!(
            p("(-\\infty, -3] \\cup [2, \\infty)"),
            "(-oo, -3] U [2, oo)"
        );
        assert!(p("\\frac{1}").starts_with("ERR"));
        assert!(p("1 +").starts_with("ERR"));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let s = format!("{}1{}", "{".repeat(500), "}".repeat(500));
        assert_eq!(parse(&s, &Budget::default()), Err(PErr::Budget));
        let s = format!("{}1{}", "(".repeat(60), ")".repeat(60));
        assert_eq!(parse(&s, &Budget::default()), Ok(Node::Num(Q::ONE)));
    }
}
