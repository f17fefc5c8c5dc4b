//! [`Ast`] → [`Node`]: resolves names to [`Field`]s, checks types, folds constants and
//! compiles regexes, collecting every error instead of stopping at the first.
//!
//! A subtree that already failed has type `Err`, which every check accepts, so one mistake
//! yields one message rather than a cascade.

use regex::RegexBuilder;

use super::eval::{CmpOp, Lit, Node, TextOp};
use super::{Ast, AstNode, BinaryOp, ExprError, Span, UnaryOp};
use crate::event::EventKind;
use crate::field::{FRIENDLY_NAMES, Field, FieldType};
use crate::signals::SignalId;

/// The functions an expression may call, as the error for an unknown one lists them.
pub const FUNCTIONS: &[&str] = &[
    "has",
    "contains",
    "startsWith",
    "endsWith",
    "matches",
    "lower",
    "size",
    "field",
];

/// Names that are aggregations (rule `value:`), not expression functions.
const AGGREGATIONS: &[&str] = &[
    "count",
    "rate",
    "sum",
    "avg",
    "min",
    "max",
    "percentile",
    "ratio",
    "wilson_lower",
    "distinct",
    "absent",
    "change",
];

/// Compiled regexes are capped (the regex crate's default is 10 MiB) so a hostile rule
/// cannot make loading slow or large.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Static types during checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    Null,
    Bool,
    Num,
    Str,
    /// Known only per event (attributes, raw fields).
    Any,
    /// Already reported; accepted everywhere.
    Err,
}

impl Ty {
    fn from_field(t: FieldType) -> Ty {
        match t {
            FieldType::Str => Ty::Str,
            FieldType::Num => Ty::Num,
            FieldType::Bool => Ty::Bool,
            FieldType::Any => Ty::Any,
        }
    }

    pub(super) fn field_type(self) -> FieldType {
        match self {
            Ty::Bool => FieldType::Bool,
            Ty::Num => FieldType::Num,
            Ty::Str => FieldType::Str,
            Ty::Null | Ty::Any | Ty::Err => FieldType::Any,
        }
    }

    /// Whether a value of this type may stand where `want` is expected.
    fn fits(self, want: Ty) -> bool {
        self == want || matches!(self, Ty::Any | Ty::Err)
    }

    fn name(self) -> &'static str {
        match self {
            Ty::Null => "null",
            Ty::Bool => "bool",
            Ty::Num => "number",
            Ty::Str => "string",
            Ty::Any => "any",
            Ty::Err => "error",
        }
    }
}

pub(super) struct Compiler {
    pub errors: Vec<ExprError>,
}

/// `ty \`text\``, for messages: "number `latency_ms`".
fn show(ast: &Ast, ty: Ty) -> String {
    let text = ast.to_string();
    let text = if text.chars().count() > 40 {
        let cut: String = text.chars().take(37).collect();
        format!("{cut}...")
    } else {
        text
    };
    format!("{} `{text}`", ty.name())
}

impl Compiler {
    fn error(&mut self, span: Span, message: String) -> (Node, Ty) {
        self.errors.push(ExprError { span, message });
        (Node::Lit(Lit::Null), Ty::Err)
    }

    pub(super) fn expr(&mut self, ast: &Ast) -> (Node, Ty) {
        match &ast.node {
            AstNode::Null => (Node::Lit(Lit::Null), Ty::Null),
            AstNode::Bool(b) => (Node::Lit(Lit::Bool(*b)), Ty::Bool),
            AstNode::Num(n) => (Node::Lit(Lit::Num(*n)), Ty::Num),
            AstNode::Str(s) => (Node::Lit(Lit::Str(s.as_str().into())), Ty::Str),
            AstNode::List(_) => self.error(
                ast.span,
                "a list can only stand right of `in` (`model in [\"a\", \"b\"]`) or in `size(...)`"
                    .to_string(),
            ),
            AstNode::Ident(name) => match self.field(name, ast.span) {
                Some(f) => {
                    let ty = Ty::from_field(f.ty());
                    (Node::Field(f), ty)
                }
                None => (Node::Lit(Lit::Null), Ty::Err),
            },
            AstNode::Unary { op, expr } => {
                let (node, ty) = self.expr(expr);
                match op {
                    UnaryOp::Not => {
                        if !ty.fits(Ty::Bool) {
                            return self.error(
                                ast.span,
                                format!("`!` expects a bool, found {}", show(expr, ty)),
                            );
                        }
                        (Node::Not(Box::new(node)), Ty::Bool)
                    }
                    UnaryOp::Neg => {
                        if !ty.fits(Ty::Num) {
                            return self.error(
                                ast.span,
                                format!("`-` expects a number, found {}", show(expr, ty)),
                            );
                        }
                        (Node::Neg(Box::new(node)), Ty::Num)
                    }
                }
            }
            AstNode::Binary { op, lhs, rhs } => self.binary(ast, *op, lhs, rhs),
            AstNode::Call {
                name,
                name_span,
                args,
                method,
            } => self.call(ast, name, *name_span, args, *method),
        }
    }

    fn field(&mut self, name: &str, span: Span) -> Option<Field> {
        if let Some(f) = Field::from_name(name) {
            return Some(f);
        }
        let message = if let Some(short) = name.strip_prefix("signal.") {
            let names: Vec<&str> = SignalId::ALL.iter().map(|s| s.name()).collect();
            match suggest_with(short, &names, "signal.") {
                Some(s) => format!("unknown signal `{name}`; did you mean {s}?"),
                None => format!(
                    "unknown signal `{name}`; expected one of: signal.{}",
                    names.join(", signal.")
                ),
            }
        } else {
            match suggest(name, FRIENDLY_NAMES) {
                Some(s) => format!("unknown field `{name}`; did you mean {s}?"),
                None => format!(
                    "unknown field `{name}`; expected a field such as `model`, `latency_ms`, \
                     `attr.<key>`, `signal.<name>` or `field(\"<raw name>\")`"
                ),
            }
        };
        self.errors.push(ExprError { span, message });
        None
    }

    fn binary(&mut self, ast: &Ast, op: BinaryOp, lhs: &Ast, rhs: &Ast) -> (Node, Ty) {
        let (sym, cmp) = match op {
            BinaryOp::And | BinaryOp::Or => {
                let (l, lt) = self.expr(lhs);
                let (r, rt) = self.expr(rhs);
                let sym = if op == BinaryOp::And { "&&" } else { "||" };
                let mut bad = false;
                for (side, ty) in [(lhs, lt), (rhs, rt)] {
                    if !ty.fits(Ty::Bool) {
                        bad = true;
                        self.errors.push(ExprError {
                            span: side.span,
                            message: format!(
                                "`{sym}` expects bool operands, found {}",
                                show(side, ty)
                            ),
                        });
                    }
                }
                if bad {
                    return (Node::Lit(Lit::Null), Ty::Err);
                }
                let node = if op == BinaryOp::And {
                    Node::And(Box::new(l), Box::new(r))
                } else {
                    Node::Or(Box::new(l), Box::new(r))
                };
                return (node, Ty::Bool);
            }
            BinaryOp::In => return self.in_list(ast, lhs, rhs),
            BinaryOp::Eq => ("==", CmpOp::Eq),
            BinaryOp::Ne => ("!=", CmpOp::Ne),
            BinaryOp::Lt => ("<", CmpOp::Lt),
            BinaryOp::Le => ("<=", CmpOp::Le),
            BinaryOp::Gt => (">", CmpOp::Gt),
            BinaryOp::Ge => (">=", CmpOp::Ge),
        };
        let (l, lt) = self.expr(lhs);
        let (r, rt) = self.expr(rhs);
        if lt == Ty::Err || rt == Ty::Err {
            return (Node::Lit(Lit::Null), Ty::Err);
        }
        let ordering = !matches!(cmp, CmpOp::Eq | CmpOp::Ne);
        if lt == Ty::Null || rt == Ty::Null {
            if ordering {
                return self.error(
                    ast.span,
                    format!("`{sym}` cannot compare with null; expected `== null` or `!= null`"),
                );
            }
            let (expr, _) = if lt == Ty::Null { (r, rt) } else { (l, lt) };
            return (
                Node::IsNull {
                    expr: Box::new(expr),
                    negate: cmp == CmpOp::Ne,
                },
                Ty::Bool,
            );
        }
        if lt != Ty::Any && rt != Ty::Any && lt != rt {
            return self.error(
                ast.span,
                format!(
                    "cannot compare {} with {}: expected a {} on both sides of `{sym}`",
                    show(lhs, lt),
                    show(rhs, rt),
                    lt.name()
                ),
            );
        }
        if ordering && (lt == Ty::Bool || rt == Ty::Bool) {
            return self.error(
                ast.span,
                format!("`{sym}` cannot order bools; expected numbers or strings"),
            );
        }
        let node = match (l, r) {
            (Node::Field(Field::Kind), Node::Lit(Lit::Str(k)))
            | (Node::Lit(Lit::Str(k)), Node::Field(Field::Kind))
                if !ordering =>
            {
                match EventKind::parse(&k) {
                    Some(kind) => Node::KindIs {
                        kind,
                        negate: cmp == CmpOp::Ne,
                    },
                    None => {
                        return self.error(
                            ast.span,
                            format!(
                                "`kind` is never \"{k}\"; expected \"interaction\", \"feedback\" \
                                 or \"outcome\""
                            ),
                        );
                    }
                }
            }
            (Node::Field(field), Node::Lit(lit)) => Node::CmpField {
                op: cmp,
                field,
                lit,
            },
            (Node::Lit(lit), Node::Field(field)) => Node::CmpField {
                op: cmp.flip(),
                field,
                lit,
            },
            (l, r) => Node::Cmp {
                op: cmp,
                lhs: Box::new(l),
                rhs: Box::new(r),
            },
        };
        (node, Ty::Bool)
    }

    fn in_list(&mut self, ast: &Ast, lhs: &Ast, rhs: &Ast) -> (Node, Ty) {
        let (l, lt) = self.expr(lhs);
        let AstNode::List(items) = &rhs.node else {
            self.expr(rhs);
            return self.error(
                rhs.span,
                format!(
                    "`in` expects a list literal on its right, like `model in [\"a\", \"b\"]`; \
                     found {}",
                    show(rhs, Ty::Any).trim_start_matches("any ")
                ),
            );
        };
        let mut list = Vec::with_capacity(items.len());
        let mut ok = lt != Ty::Err;
        for item in items {
            let (n, t) = self.expr(item);
            if t == Ty::Err {
                ok = false;
            } else if !matches!(lt, Ty::Any | Ty::Err)
                && !matches!(t, Ty::Any | Ty::Null)
                && t != lt
            {
                ok = false;
                self.errors.push(ExprError {
                    span: item.span,
                    message: format!(
                        "list item {} cannot match {}: expected a {}",
                        show(item, t),
                        show(lhs, lt),
                        lt.name()
                    ),
                });
            }
            list.push(n);
        }
        let _ = ast;
        if !ok {
            return (Node::Lit(Lit::Null), Ty::Err);
        }
        (
            Node::In {
                expr: Box::new(l),
                list: list.into_boxed_slice(),
            },
            Ty::Bool,
        )
    }

    fn call(
        &mut self,
        ast: &Ast,
        name: &str,
        name_span: Span,
        args: &[Ast],
        method: bool,
    ) -> (Node, Ty) {
        // (arity without receiver, usage)
        let (arity, usage) = match name {
            "has" => (1, "has(field)"),
            "field" => (1, "field(\"raw.name\")"),
            "lower" => (1, "lower(string)"),
            "size" => (1, "size(string or list)"),
            "contains" => (2, "contains(string, substring) or s.contains(substring)"),
            "startsWith" => (2, "startsWith(string, prefix) or s.startsWith(prefix)"),
            "endsWith" => (2, "endsWith(string, suffix) or s.endsWith(suffix)"),
            "matches" => (2, "matches(string, \"regex\") or s.matches(\"regex\")"),
            _ => return self.unknown_function(name, name_span, args),
        };
        if method && matches!(name, "has" | "field") {
            args.iter().for_each(|a| {
                self.expr(a);
            });
            return self.error(
                name_span,
                format!("`{name}` is not a method; expected `{usage}`"),
            );
        }
        if args.len() != arity {
            let (want, found) = if method {
                (arity - 1, args.len() - 1)
            } else {
                (arity, args.len())
            };
            let plural = if want == 1 { "" } else { "s" };
            return self.error(
                ast.span,
                format!(
                    "`{name}` takes {want} argument{plural}, found {found}; expected `{usage}`"
                ),
            );
        }
        match name {
            "has" => match &args[0].node {
                AstNode::Ident(n) => match self.field(n, args[0].span) {
                    Some(f) => (Node::Has(f), Ty::Bool),
                    None => (Node::Lit(Lit::Null), Ty::Err),
                },
                AstNode::Call { name, .. } if name == "field" => match self.expr(&args[0]) {
                    (Node::Field(f), _) => (Node::Has(f), Ty::Bool),
                    _ => (Node::Lit(Lit::Null), Ty::Err),
                },
                _ => self.error(
                    args[0].span,
                    "`has` expects a field, like `has(attr.region)`".to_string(),
                ),
            },
            "field" => match &args[0].node {
                AstNode::Str(s) if !s.is_empty() => {
                    let f = Field::Raw(s.as_str().into());
                    (Node::Field(f), Ty::Any)
                }
                _ => self.error(
                    args[0].span,
                    "`field` expects a non-empty string literal, like `field(\"gen_ai.request.model\")`"
                        .to_string(),
                ),
            },
            "lower" => {
                let (n, t) = self.string_arg(name, &args[0]);
                match n {
                    _ if t == Ty::Err => (n, t),
                    Node::Lit(Lit::Str(s)) => (Node::Lit(Lit::Str(s.to_lowercase().into())), Ty::Str),
                    n => (Node::Lower(Box::new(n)), Ty::Str),
                }
            }
            "size" => {
                if let AstNode::List(items) = &args[0].node {
                    let mut ok = true;
                    for item in items {
                        ok &= self.expr(item).1 != Ty::Err;
                    }
                    if !ok {
                        return (Node::Lit(Lit::Null), Ty::Err);
                    }
                    return (Node::Lit(Lit::Num(items.len() as f64)), Ty::Num);
                }
                let (n, t) = self.string_arg(name, &args[0]);
                match n {
                    _ if t == Ty::Err => (n, t),
                    Node::Lit(Lit::Str(s)) => (Node::Lit(Lit::Num(s.chars().count() as f64)), Ty::Num),
                    n => (Node::Size(Box::new(n)), Ty::Num),
                }
            }
            "matches" => {
                let (s, st) = self.string_arg(name, &args[0]);
                let AstNode::Str(pattern) = &args[1].node else {
                    self.expr(&args[1]);
                    return self.error(
                        args[1].span,
                        "`matches` expects its regex as a string literal, compiled once when the \
                         rule loads"
                            .to_string(),
                    );
                };
                // `lower(x).matches(re)` runs `re` case-insensitively on `x`: the same for any
                // pattern written in lowercase, and no lowercased copy is made.
                let (s, folded) = match s {
                    Node::Lower(inner) => (*inner, true),
                    other => (other, false),
                };
                let re = RegexBuilder::new(pattern)
                    .case_insensitive(folded)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build();
                match re {
                    Ok(re) if st != Ty::Err => (Node::Matches { s: Box::new(s), re }, Ty::Bool),
                    Ok(_) => (Node::Lit(Lit::Null), Ty::Err),
                    Err(e) => {
                        let detail = regex_error(&e);
                        self.error(args[1].span, format!("invalid regex in `matches`: {detail}"))
                    }
                }
            }
            _ => {
                let op = match name {
                    "contains" => TextOp::Contains,
                    "startsWith" => TextOp::StartsWith,
                    _ => TextOp::EndsWith,
                };
                let (s, st) = self.string_arg(name, &args[0]);
                let (sub, subt) = self.string_arg(name, &args[1]);
                if st == Ty::Err || subt == Ty::Err {
                    return (Node::Lit(Lit::Null), Ty::Err);
                }
                (Node::Text { op, s: Box::new(s), sub: Box::new(sub) }, Ty::Bool)
            }
        }
    }

    /// Compiles an argument that must be a string (or `any`).
    fn string_arg(&mut self, func: &str, arg: &Ast) -> (Node, Ty) {
        let (n, t) = self.expr(arg);
        if t.fits(Ty::Str) {
            return (n, t);
        }
        self.error(
            arg.span,
            format!("`{func}` expects a string, found {}", show(arg, t)),
        )
    }

    fn unknown_function(&mut self, name: &str, name_span: Span, args: &[Ast]) -> (Node, Ty) {
        // Still check the arguments, so their mistakes are reported too; `ratio(score < 0)`
        // style aggregations are the rules module's business.
        for a in args {
            self.expr(a);
        }
        let message = if AGGREGATIONS.contains(&name) {
            format!(
                "`{name}` is an aggregation: it belongs in a rule's `value:`, not in an expression"
            )
        } else {
            match suggest(name, FUNCTIONS) {
                Some(s) => format!("unknown function `{name}`; did you mean {s}?"),
                None => format!(
                    "unknown function `{name}`; expected one of: {}",
                    FUNCTIONS.join(", ")
                ),
            }
        };
        self.error(name_span, message)
    }
}

/// The first line of the regex crate's message, which is the useful one.
fn regex_error(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(_) => {
            format!("the regex is too large (limit {REGEX_SIZE_LIMIT} bytes compiled)")
        }
        other => {
            let text = other.to_string();
            text.lines()
                .rev()
                .find(|l| l.starts_with("error:"))
                .map_or(text.clone(), |l| l.to_string())
        }
    }
}

/// Up to three close candidates as "`a`, `b` or `c`", closest first.
pub(super) fn suggest(name: &str, candidates: &[&str]) -> Option<String> {
    suggest_with(name, candidates, "")
}

/// [`suggest`], printing each candidate after `prefix`.
fn suggest_with(name: &str, candidates: &[&str], prefix: &str) -> Option<String> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "");
    let n = norm(name);
    let limit = (name.chars().count().div_ceil(3)).max(1);
    let mut close: Vec<(usize, &str)> = candidates
        .iter()
        .map(|c| {
            (
                if norm(c) == n {
                    0
                } else {
                    distance(&n, &norm(c)).max(1)
                },
                *c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .collect();
    close.sort_by_key(|(d, _)| *d);
    let best = close.first().map_or(0, |(d, _)| *d);
    close.retain(|(d, _)| *d <= best + 1);
    close.truncate(3);
    let names: Vec<String> = close
        .iter()
        .map(|(_, c)| format!("`{prefix}{c}`"))
        .collect();
    match names.len() {
        0 => None,
        1 => Some(names[0].clone()),
        k => Some(format!("{} or {}", names[..k - 1].join(", "), names[k - 1])),
    }
}

/// Edit distance over chars, counting a swap of neighbours (`modle`) as one edit.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}
