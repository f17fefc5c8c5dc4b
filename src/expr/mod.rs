//! The rule expression language: a small, documented subset of CEL (rules.md,
//! "Expressions"). Parsed into an [`Ast`] with byte spans, then compiled — names resolved
//! to [`Field`]s, types checked — into an [`Expr`] that evaluates without allocating.
//!
//! Invariant: knows fields and values, not rules, windows or YAML.
//!
//! What the language accepts beyond rules.md: single- or double-quoted strings with the
//! escapes `\" \' \\ \n \t \r`, raw strings `r"\d+"` for regexes, a trailing comma in
//! lists, `kind` compared only against the three kinds. Semantics worth knowing: a
//! comparison with a null operand, or with operands of different types at run time, is
//! false, except `!=`, which is always the negation of `==` (as in CEL: `attr.tier !=
//! "free"` holds without a tier); `&&`/`||` short-circuit and give null when an
//! operand is not a bool; `lower(s).matches(re)` runs `re` case-insensitively on `s`.
//!
//! Layout: `lexer` (text → tokens), `parser` (tokens → [`Ast`]), `check` (Ast → compiled
//! tree, with type errors), `eval` (the compiled tree and the allocation-free evaluator,
//! including how `lower(...)` avoids building strings).

mod check;
mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use std::fmt;

use crate::field::{Field, FieldType, Record, Value};
use crate::signals::SignalSet;

pub use check::FUNCTIONS;
pub use parser::MAX_DEPTH;

/// A byte range in the expression source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A parse or type error, with the span it is about and a message saying what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub span: Span,
    pub message: String,
}

/// The 1-based column (in chars, from the start of its line) of a byte offset in `src`, as
/// messages and `file:line:column` reports need it.
pub fn column(src: &str, byte: usize) -> usize {
    let byte = floor_char_boundary(src, byte.min(src.len()));
    let line_start = src[..byte].rfind('\n').map_or(0, |i| i + 1);
    src[line_start..byte].chars().count() + 1
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl std::error::Error for ExprError {}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The untyped syntax tree, with spans. Public so the rules module can read the
/// aggregation call in `value:` (`percentile(latency_ms, 95)`, `change(count())`).
#[derive(Debug, Clone, PartialEq)]
pub struct Ast {
    pub span: Span,
    pub node: AstNode,
}

/// One syntax node. Literal numbers are already signed: `-2` parses as `Num(-2.0)`.
#[derive(Debug, Clone, PartialEq)]
pub enum AstNode {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    List(Vec<Ast>),
    /// A name or dotted path as written: `model`, `attr.region`, `signal.refusal`.
    Ident(String),
    /// `name(args)`, or `recv.name(args)` with the receiver as the first argument and
    /// `method` set.
    Call {
        name: String,
        name_span: Span,
        args: Vec<Ast>,
        method: bool,
    },
    Unary {
        op: UnaryOp,
        expr: Box<Ast>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Ast>,
        rhs: Box<Ast>,
    },
}

/// A prefix operator: `!` or `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

/// An infix operator. Comparisons and `in` do not chain; `&&` and `||` associate left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    In,
}

impl BinaryOp {
    /// The operator as written, for messages and printing.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
            BinaryOp::In => "in",
        }
    }

    /// Binding strength: `||` 1, `&&` 2, comparisons and `in` 3.
    fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            _ => 3,
        }
    }
}

/// Parses an expression into its syntax tree. Never panics; nesting deeper than
/// [`MAX_DEPTH`] is an error.
pub fn parse(src: &str) -> Result<Ast, ExprError> {
    parser::parse(src)
}

impl Ast {
    fn precedence(&self) -> u8 {
        match &self.node {
            AstNode::Binary { op, .. } => op.precedence(),
            AstNode::Unary { .. } => 4,
            // A negative literal prints with its `-`, so it binds like a unary.
            AstNode::Num(n) if n.is_sign_negative() => 4,
            _ => 5,
        }
    }

    fn fmt_prec(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.precedence() < min {
            f.write_str("(")?;
            fmt::Display::fmt(self, f)?;
            return f.write_str(")");
        }
        fmt::Display::fmt(self, f)
    }
}

/// Prints the expression back as source, with only the parentheses precedence needs; the
/// output parses to the same tree (spans aside). Used in messages and by the fuzz tests.
impl fmt::Display for Ast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            AstNode::Null => f.write_str("null"),
            AstNode::Bool(b) => write!(f, "{b}"),
            AstNode::Num(n) => write!(f, "{n}"),
            AstNode::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\t' => f.write_str("\\t")?,
                        '\r' => f.write_str("\\r")?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            AstNode::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    item.fmt(f)?;
                }
                f.write_str("]")
            }
            AstNode::Ident(name) => f.write_str(name),
            AstNode::Call {
                name, args, method, ..
            } => {
                let rest = if *method && !args.is_empty() {
                    args[0].fmt_prec(f, 5)?;
                    write!(f, ".{name}(")?;
                    &args[1..]
                } else {
                    write!(f, "{name}(")?;
                    &args[..]
                };
                for (i, a) in rest.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    a.fmt(f)?;
                }
                f.write_str(")")
            }
            AstNode::Unary { op, expr } => {
                f.write_str(match op {
                    UnaryOp::Not => "!",
                    UnaryOp::Neg => "-",
                })?;
                expr.fmt_prec(f, 4)
            }
            AstNode::Binary { op, lhs, rhs } => {
                let p = op.precedence();
                // `&&`/`||` associate left; comparisons do not chain.
                let left_min = if p == 3 { 4 } else { p };
                lhs.fmt_prec(f, left_min)?;
                write!(f, " {} ", op.symbol())?;
                rhs.fmt_prec(f, p + 1)
            }
        }
    }
}

/// A compiled, type-checked expression.
#[derive(Debug, Clone)]
pub struct Expr {
    root: eval::Node,
    ty: FieldType,
    fields: Vec<Field>,
}

impl Expr {
    /// Parses and compiles; every error found is returned.
    pub fn compile_str(src: &str) -> Result<Expr, Vec<ExprError>> {
        let ast = parse(src).map_err(|e| vec![e])?;
        Expr::compile(&ast)
    }

    /// Resolves names and checks types.
    pub fn compile(ast: &Ast) -> Result<Expr, Vec<ExprError>> {
        let mut c = check::Compiler { errors: Vec::new() };
        let (root, ty) = c.expr(ast);
        if !c.errors.is_empty() {
            c.errors.sort_by_key(|e| (e.span.start, e.span.end));
            return Err(c.errors);
        }
        let mut fields: Vec<Field> = Vec::new();
        root.visit_fields(&mut |f| {
            if !fields.contains(f) {
                fields.push(f.clone());
            }
        });
        Ok(Expr {
            root,
            ty: ty.field_type(),
            fields,
        })
    }

    /// The static type of the result. `Any` when it depends on the event (an attribute or a
    /// raw field); callers wanting a predicate accept `Bool` or `Any`.
    pub fn ty(&self) -> FieldType {
        self.ty
    }

    /// Evaluates against one event. Never allocates; a type mismatch at run time (an
    /// attribute holding a string where a number was compared) yields `Null`/false.
    ///
    /// When the *result* itself is `lower(s)` (not a comparison on it), it can only be
    /// returned without a buffer if `s` is already lowercase; otherwise this yields `Null`.
    /// Use [`Expr::eval_with`] where such values matter (`distinct(lower(user))`).
    pub fn eval<'a>(&'a self, rec: &Record<'a>) -> Value<'a> {
        match self.root.eval(rec) {
            eval::V::Null => Value::Null,
            eval::V::Bool(b) => Value::Bool(b),
            eval::V::Num(n) => Value::Num(n),
            eval::V::Str(s) => Value::Str(s),
            eval::V::Lower(s) if s.chars().all(|c| c.to_lowercase().eq([c])) => Value::Str(s),
            eval::V::Lower(_) => Value::Null,
        }
    }

    /// Like [`Expr::eval`], but a string still to be lowercased comes back unlowered, with
    /// `true`: for a consumer that lowercases as it reads (`distinct` hashes it char by
    /// char), so nothing is allocated and no value is lost to `Null`.
    pub fn eval_unlowered<'a>(&'a self, rec: &Record<'a>) -> (Value<'a>, bool) {
        match self.root.eval(rec) {
            eval::V::Null => (Value::Null, false),
            eval::V::Bool(b) => (Value::Bool(b), false),
            eval::V::Num(n) => (Value::Num(n), false),
            eval::V::Str(s) => (Value::Str(s), false),
            eval::V::Lower(s) => (Value::Str(s), true),
        }
    }

    /// Like [`Expr::eval`], but a lowercased result is written into `scratch` (cleared first)
    /// and borrowed from it. Reusing one buffer across events keeps this allocation-free
    /// once the buffer has grown.
    pub fn eval_with<'a>(&'a self, rec: &Record<'a>, scratch: &'a mut String) -> Value<'a> {
        match self.root.eval(rec) {
            eval::V::Lower(s) => {
                scratch.clear();
                scratch.extend(s.chars().flat_map(char::to_lowercase));
                Value::Str(scratch)
            }
            _ => self.eval(rec),
        }
    }

    /// Every field the expression reads, each once, in evaluation order.
    pub fn fields(&self) -> Vec<Field> {
        self.fields.clone()
    }

    /// The signals the expression reads.
    pub fn signals(&self) -> SignalSet {
        let mut set = SignalSet::EMPTY;
        for f in self.fields() {
            if let Field::Signal(s) = f {
                set.insert(s);
            }
        }
        set
    }
}
