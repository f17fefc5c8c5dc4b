//! The compiled tree and its evaluator.
//!
//! # Why nothing allocates
//! Values are borrowed from the event or from the compiled tree. The one function that
//! would have to build a new string, `lower(s)`, is evaluated *lazily*: it yields
//! [`V::Lower`], the original slice plus a flag meaning "read me lowercased". Every consumer
//! of text (`==`, `<`, `in`, `contains`, `startsWith`, `endsWith`, `size`) compares through
//! [`Text`], which lowercases char by char while it walks (with a byte-wise ASCII fast
//! path), so `lower(output).contains("sorry")` scans `output` once and allocates nothing.
//! `matches(lower(s), re)` is compiled with the regex's case-insensitive flag instead (see
//! `check.rs`). Only a *result* of `lower(...)` handed back to the caller needs a buffer:
//! see [`super::Expr::eval_with`].

use std::cmp::Ordering;

use regex::Regex;

use crate::event::EventKind;
use crate::field::{Field, Record, Value};

/// A literal in the compiled tree.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(Box<str>),
}

impl Lit {
    fn v(&self) -> V<'_> {
        match self {
            Lit::Null => V::Null,
            Lit::Bool(b) => V::Bool(*b),
            Lit::Num(n) => V::Num(*n),
            Lit::Str(s) => V::Str(s),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator with its operands swapped (`a < b` ⇔ `b > a`).
    pub(super) fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }

    fn holds(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// The compiled expression: a closed enum, evaluated by one `match` per node.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Lit(Lit),
    Field(Field),
    /// `field <op> literal`, the shape of most predicates, without two child boxes.
    CmpField {
        op: CmpOp,
        field: Field,
        lit: Lit,
    },
    /// `kind == "interaction"`: an enum comparison instead of a string one.
    KindIs {
        kind: EventKind,
        negate: bool,
    },
    Cmp {
        op: CmpOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    /// `x == null` (`negate: false`) or `x != null`.
    IsNull {
        expr: Box<Node>,
        negate: bool,
    },
    In {
        expr: Box<Node>,
        list: Box<[Node]>,
    },
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Neg(Box<Node>),
    Has(Field),
    Lower(Box<Node>),
    Size(Box<Node>),
    Text {
        op: TextOp,
        s: Box<Node>,
        sub: Box<Node>,
    },
    Matches {
        s: Box<Node>,
        re: Regex,
    },
}

/// A value during evaluation: [`Value`] plus the lazily lowercased string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum V<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Str(&'a str),
    Lower(&'a str),
}

impl<'a> From<Value<'a>> for V<'a> {
    fn from(v: Value<'a>) -> Self {
        match v {
            Value::Null => V::Null,
            Value::Bool(b) => V::Bool(b),
            Value::Num(n) => V::Num(n),
            Value::Str(s) => V::Str(s),
        }
    }
}

impl<'a> V<'a> {
    fn text(self) -> Option<Text<'a>> {
        match self {
            V::Str(s) => Some(Text { s, lower: false }),
            V::Lower(s) => Some(Text { s, lower: true }),
            _ => None,
        }
    }
}

impl Node {
    pub(super) fn eval<'a>(&'a self, rec: &Record<'a>) -> V<'a> {
        match self {
            Node::Lit(l) => l.v(),
            Node::Field(f) => rec.get(f).into(),
            Node::CmpField { op, field, lit } => V::Bool(match (rec.get(field), lit) {
                // The common shapes first, without widening to `V`.
                (Value::Num(x), Lit::Num(y)) => x.partial_cmp(y).map_or(*op == CmpOp::Ne, |o| op.holds(o)),
                (Value::Str(x), Lit::Str(y)) => match op {
                    CmpOp::Eq => x == &**y,
                    CmpOp::Ne => x != &**y,
                    _ => op.holds(x.cmp(y)),
                },
                (v, l) => compare(*op, v.into(), l.v()),
            }),
            Node::KindIs { kind, negate } => V::Bool((rec.kind() == *kind) != *negate),
            Node::Cmp { op, lhs, rhs } => V::Bool(compare(*op, lhs.eval(rec), rhs.eval(rec))),
            Node::IsNull { expr, negate } => V::Bool((expr.eval(rec) == V::Null) != *negate),
            Node::In { expr, list } => {
                let v = expr.eval(rec);
                V::Bool(list.iter().any(|item| match item.eval(rec) {
                    V::Null => v == V::Null,
                    w => compare(CmpOp::Eq, v, w),
                }))
            }
            Node::And(a, b) => match a.eval(rec) {
                V::Bool(false) => V::Bool(false),
                l => match (l, b.eval(rec)) {
                    (_, V::Bool(false)) => V::Bool(false),
                    (V::Bool(true), V::Bool(true)) => V::Bool(true),
                    _ => V::Null,
                },
            },
            Node::Or(a, b) => match a.eval(rec) {
                V::Bool(true) => V::Bool(true),
                l => match (l, b.eval(rec)) {
                    (_, V::Bool(true)) => V::Bool(true),
                    (V::Bool(false), V::Bool(false)) => V::Bool(false),
                    _ => V::Null,
                },
            },
            Node::Not(e) => match e.eval(rec) {
                V::Bool(b) => V::Bool(!b),
                _ => V::Null,
            },
            Node::Neg(e) => match e.eval(rec) {
                V::Num(n) => V::Num(-n),
                _ => V::Null,
            },
            Node::Has(f) => V::Bool(!rec.get(f).is_null()),
            Node::Lower(e) => match e.eval(rec) {
                V::Str(s) | V::Lower(s) => V::Lower(s),
                _ => V::Null,
            },
            Node::Size(e) => match e.eval(rec).text() {
                Some(t) => V::Num(t.len() as f64),
                None => V::Null,
            },
            Node::Text { op, s, sub } => match (s.eval(rec).text(), sub.eval(rec).text()) {
                (Some(s), Some(sub)) => V::Bool(match op {
                    TextOp::Contains => s.contains(sub),
                    TextOp::StartsWith => s.starts_with(sub),
                    TextOp::EndsWith => s.ends_with(sub),
                }),
                _ => V::Null,
            },
            Node::Matches { s, re } => match s.eval(rec) {
                // The regex carries `(?i)` when its subject was `lower(...)`.
                V::Str(s) | V::Lower(s) => V::Bool(re.is_match(s)),
                _ => V::Null,
            },
        }
    }

    /// Calls `f` on every field read, in evaluation order.
    pub(super) fn visit_fields(&self, f: &mut impl FnMut(&Field)) {
        match self {
            Node::Lit(_) => {}
            Node::KindIs { .. } => f(&Field::Kind),
            Node::Field(x) | Node::Has(x) | Node::CmpField { field: x, .. } => f(x),
            Node::Cmp { lhs, rhs, .. } | Node::And(lhs, rhs) | Node::Or(lhs, rhs) => {
                lhs.visit_fields(f);
                rhs.visit_fields(f);
            }
            Node::Text { s, sub, .. } => {
                s.visit_fields(f);
                sub.visit_fields(f);
            }
            Node::In { expr, list } => {
                expr.visit_fields(f);
                list.iter().for_each(|n| n.visit_fields(f));
            }
            Node::IsNull { expr: e, .. }
            | Node::Not(e)
            | Node::Neg(e)
            | Node::Lower(e)
            | Node::Size(e)
            | Node::Matches { s: e, .. } => e.visit_fields(f),
        }
    }
}

/// Comparison with the documented null rule: a null operand, or operands of different
/// types, make every comparison false except `!=`, which is always the negation of `==`
/// (as in CEL: `attr.tier != "free"` holds for an event without a tier). `== null` /
/// `!= null` compile to [`Node::IsNull`]. Numbers compare as f64 (NaN is unequal to
/// everything), strings by code point, bools only by `==`/`!=`.
pub(super) fn compare(op: CmpOp, a: V<'_>, b: V<'_>) -> bool {
    if op == CmpOp::Ne {
        return !compare(CmpOp::Eq, a, b);
    }
    match (a, b) {
        (V::Num(x), V::Num(y)) => x.partial_cmp(&y).is_some_and(|o| op.holds(o)),
        (V::Bool(x), V::Bool(y)) => match op {
            CmpOp::Eq => x == y,
            CmpOp::Ne => x != y,
            _ => false,
        },
        (V::Str(x), V::Str(y)) => match op {
            CmpOp::Eq => x == y,
            CmpOp::Ne => x != y,
            _ => op.holds(x.cmp(y)),
        },
        _ => match (a.text(), b.text()) {
            (Some(x), Some(y)) => match op {
                CmpOp::Eq => x.eq(y),
                CmpOp::Ne => !x.eq(y),
                _ => op.holds(x.cmp(y)),
            },
            _ => false,
        },
    }
}

/// A string, possibly to be read lowercased. All operations walk the text in place.
///
/// Lowercasing is per char (`char::to_lowercase`), so it matches `str::to_lowercase`
/// except for the context-dependent final sigma.
#[derive(Debug, Clone, Copy)]
pub(super) struct Text<'a> {
    pub s: &'a str,
    pub lower: bool,
}

impl<'a> Text<'a> {
    fn ascii(self) -> bool {
        self.s.is_ascii()
    }

    fn byte(self, i: usize) -> u8 {
        let b = self.s.as_bytes()[i];
        if self.lower {
            b.to_ascii_lowercase()
        } else {
            b
        }
    }

    fn chars(self) -> TextChars<'a> {
        TextChars {
            chars: self.s.chars(),
            lower: self.lower,
            pending: None,
        }
    }

    /// Length in chars (after lowercasing).
    pub(super) fn len(self) -> usize {
        if !self.lower || self.ascii() {
            self.s.chars().count()
        } else {
            self.chars().count()
        }
    }

    fn eq(self, o: Text<'_>) -> bool {
        if !self.lower && !o.lower {
            return self.s == o.s;
        }
        if self.ascii() && o.ascii() {
            return self.s.len() == o.s.len()
                && (0..self.s.len()).all(|i| self.byte(i) == o.byte(i));
        }
        self.chars().eq(o.chars())
    }

    fn cmp(self, o: Text<'_>) -> Ordering {
        if !self.lower && !o.lower {
            return self.s.cmp(o.s);
        }
        // Code point order equals UTF-8 byte order, so chars compare like bytes would.
        self.chars().cmp(o.chars())
    }

    fn starts_with(self, p: Text<'_>) -> bool {
        if !self.lower && !p.lower {
            return self.s.starts_with(p.s);
        }
        if self.ascii() && p.ascii() {
            return p.s.len() <= self.s.len() && (0..p.s.len()).all(|i| self.byte(i) == p.byte(i));
        }
        let mut hay = self.chars();
        p.chars().all(|c| hay.next() == Some(c))
    }

    fn ends_with(self, p: Text<'_>) -> bool {
        if !self.lower && !p.lower {
            return self.s.ends_with(p.s);
        }
        if self.ascii() && p.ascii() {
            let (n, m) = (self.s.len(), p.s.len());
            return m <= n && (0..m).all(|i| self.byte(n - m + i) == p.byte(i));
        }
        let (n, m) = (self.len(), p.len());
        m <= n && self.chars().skip(n - m).eq(p.chars())
    }

    fn contains(self, p: Text<'_>) -> bool {
        if !self.lower && !p.lower {
            return self.s.contains(p.s);
        }
        if self.ascii() && p.ascii() {
            let (n, m) = (self.s.len(), p.s.len());
            if m > n {
                return false;
            }
            return (0..=n - m).any(|at| (0..m).all(|i| self.byte(at + i) == p.byte(i)));
        }
        if p.s.is_empty() {
            return true;
        }
        // Try every position of the lowercased stream: each char of the original, and each
        // char inside a multi-char lowercase expansion.
        for (at, c) in self.s.char_indices() {
            let expansion = if self.lower {
                c.to_lowercase().count()
            } else {
                1
            };
            for skip in 0..expansion {
                let mut hay = Text {
                    s: &self.s[at..],
                    lower: self.lower,
                }
                .chars()
                .skip(skip);
                if p.chars().all(|pc| hay.next() == Some(pc)) {
                    return true;
                }
            }
        }
        false
    }
}

/// The chars of a [`Text`], lowercased on the fly when asked.
#[derive(Clone)]
struct TextChars<'a> {
    chars: std::str::Chars<'a>,
    lower: bool,
    pending: Option<std::char::ToLowercase>,
}

impl Iterator for TextChars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        loop {
            if let Some(p) = &mut self.pending {
                if let Some(c) = p.next() {
                    return Some(c);
                }
                self.pending = None;
            }
            let c = self.chars.next()?;
            if !self.lower {
                return Some(c);
            }
            self.pending = Some(c.to_lowercase());
        }
    }
}
