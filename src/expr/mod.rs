//! The rule expression language: a small, documented subset of CEL (rules.md,
//! "Expressions"). Parsed into an [`Ast`] with byte spans, then compiled — names resolved
//! to [`Field`]s, types checked — into an [`Expr`] that evaluates without allocating.
//!
//! Invariant: knows fields and values, not rules, windows or YAML.

use std::fmt;

use crate::field::{Field, FieldType, Record, Value};
use crate::signals::SignalSet;

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
    Call { name: String, name_span: Span, args: Vec<Ast>, method: bool },
    Unary { op: UnaryOp, expr: Box<Ast> },
    Binary { op: BinaryOp, lhs: Box<Ast>, rhs: Box<Ast> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

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

/// Parses an expression into its syntax tree.
pub fn parse(src: &str) -> Result<Ast, ExprError> {
    let _ = src;
    todo!("expr helper")
}

/// A compiled, type-checked expression.
#[derive(Debug, Clone)]
pub struct Expr {}

impl Expr {
    /// Parses and compiles; every error found is returned.
    pub fn compile_str(src: &str) -> Result<Expr, Vec<ExprError>> {
        let ast = parse(src).map_err(|e| vec![e])?;
        Expr::compile(&ast)
    }

    /// Resolves names and checks types.
    pub fn compile(ast: &Ast) -> Result<Expr, Vec<ExprError>> {
        let _ = ast;
        todo!("expr helper")
    }

    /// The static type of the result.
    pub fn ty(&self) -> FieldType {
        todo!("expr helper")
    }

    /// Evaluates against one event. Never allocates; a type mismatch at run time (an
    /// attribute holding a string where a number was compared) yields `Null`/false.
    pub fn eval<'a>(&'a self, rec: &Record<'a>) -> Value<'a> {
        let _ = rec;
        todo!("expr helper")
    }

    /// Every field the expression reads.
    pub fn fields(&self) -> Vec<Field> {
        todo!("expr helper")
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
