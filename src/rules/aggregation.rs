//! `value:` — which aggregation a rule computes, and what it reads from each event.

use crate::expr::{Ast, AstNode, Expr};
use crate::field::{FieldType, Record, Value};
use crate::signals::SignalSet;
use crate::window::{AggKind, Observation};

/// A compiled aggregation: the window kind plus the expression it reads per event.
#[derive(Debug, Clone)]
pub struct Aggregation {
    pub kind: AggKind,
    /// The argument: a number (sum, avg, min, max, percentile), a predicate (ratio,
    /// wilson_lower) or any value (distinct). `None` for count, rate, absent.
    pub arg: Option<Expr>,
    /// As written, for messages.
    pub src: String,
}

/// The aggregation functions, with a usage line for messages.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("count", "count()"),
    ("rate", "rate()"),
    ("sum", "sum(number)"),
    ("avg", "avg(number)"),
    ("min", "min(number)"),
    ("max", "max(number)"),
    ("percentile", "percentile(number, p) with 0 < p < 100"),
    ("ratio", "ratio(predicate)"),
    ("wilson_lower", "wilson_lower(predicate)"),
    ("distinct", "distinct(field)"),
    ("absent", "absent()"),
    ("change", "change(aggregation)"),
];

/// A problem in `value:`, at a byte span of its text.
pub struct AggError {
    pub span: crate::expr::Span,
    pub message: String,
}

impl Aggregation {
    pub fn is_change(&self) -> bool {
        matches!(self.kind, AggKind::Change(_))
    }

    pub fn signals(&self) -> SignalSet {
        self.arg.as_ref().map_or(SignalSet::EMPTY, |a| a.signals())
    }

    /// What the window sees of one event.
    #[inline]
    pub fn observe(&self, rec: &Record<'_>) -> Observation {
        let Some(arg) = &self.arg else {
            return Observation::default();
        };
        if let AggKind::Distinct = base_kind(&self.kind) {
            let (v, lower) = arg.eval_unlowered(rec);
            return Observation { hash: hash_value(v, lower), ..Default::default() };
        }
        let v = arg.eval(rec);
        match base_kind(&self.kind) {
            AggKind::Ratio | AggKind::WilsonLower => Observation { hit: v.is_true(), ..Default::default() },
            _ => Observation { num: v.as_f64().filter(|n| n.is_finite()), ..Default::default() },
        }
    }

    /// Parses and checks `value:`.
    pub fn parse(src: &str) -> Result<Aggregation, Vec<AggError>> {
        let ast = crate::expr::parse(src)
            .map_err(|e| vec![AggError { span: e.span, message: e.message }])?;
        let (kind, arg) = compile_call(&ast, false)?;
        Ok(Aggregation { kind, arg, src: src.trim().to_string() })
    }
}

fn base_kind(kind: &AggKind) -> &AggKind {
    match kind {
        AggKind::Change(inner) => base_kind(inner),
        k => k,
    }
}

/// The hash `distinct` counts; a string to `lower` is hashed as its lowercase text (the
/// same hash as that text), streamed char by char.
fn hash_value(v: Value<'_>, lower: bool) -> Option<u64> {
    use xxhash_rust::xxh3::{Xxh3, xxh3_64_with_seed};
    match v {
        Value::Null => None,
        Value::Str(s) if lower && !s.chars().all(|c| c.to_lowercase().eq([c])) => {
            let mut h = Xxh3::with_seed(1);
            let mut buf = [0u8; 4];
            for c in s.chars().flat_map(char::to_lowercase) {
                h.update(c.encode_utf8(&mut buf).as_bytes());
            }
            Some(h.digest())
        }
        Value::Str(s) => Some(xxh3_64_with_seed(s.as_bytes(), 1)),
        // `+ 0.0` turns -0 into 0: one value, as they are one group.
        Value::Num(n) => Some(xxh3_64_with_seed(&(n + 0.0).to_bits().to_le_bytes(), 2)),
        Value::Bool(b) => Some(xxh3_64_with_seed(&[b as u8], 3)),
    }
}

fn err(span: crate::expr::Span, message: impl Into<String>) -> Vec<AggError> {
    vec![AggError { span, message: message.into() }]
}

fn compile_call(ast: &Ast, inside_change: bool) -> Result<(AggKind, Option<Expr>), Vec<AggError>> {
    let AstNode::Call { name, name_span, args, method: false } = &ast.node else {
        return Err(err(
            ast.span,
            format!("expected an aggregation such as count(), ratio(predicate) or percentile(latency_ms, 95); one of: {}", names()),
        ));
    };
    let usage = FUNCTIONS.iter().find(|(n, _)| n == name).map(|(_, u)| *u);
    let Some(usage) = usage else {
        let hint = crate::rules::yaml::suggest(name, FUNCTIONS.iter().map(|(n, _)| *n));
        return Err(err(*name_span, format!("unknown aggregation `{name}`{hint}; expected one of: {}", names())));
    };
    let want = match name.as_str() {
        "count" | "rate" | "absent" => 0,
        "percentile" => 2,
        _ => 1,
    };
    if args.len() != want {
        return Err(err(ast.span, format!("`{name}` takes {want} argument(s): {usage}")));
    }
    let compile = |a: &Ast, want: FieldType, what: &str| -> Result<Expr, Vec<AggError>> {
        let e = Expr::compile(a).map_err(|es| {
            es.into_iter().map(|e| AggError { span: e.span, message: e.message }).collect::<Vec<_>>()
        })?;
        let ok = match want {
            FieldType::Any => true,
            t => e.ty() == t || e.ty() == FieldType::Any,
        };
        if !ok {
            return Err(err(a.span, format!("`{name}` needs {what}, but this is a {}", e.ty())));
        }
        Ok(e)
    };
    Ok(match name.as_str() {
        "count" => (AggKind::Count, None),
        "rate" => (AggKind::Rate, None),
        "absent" if inside_change => return Err(err(ast.span, "change(absent()) is not meaningful: absent() is already 0 or 1")),
        "absent" => (AggKind::Absent, None),
        "sum" => (AggKind::Sum, Some(compile(&args[0], FieldType::Num, "a number")?)),
        "avg" => (AggKind::Avg, Some(compile(&args[0], FieldType::Num, "a number")?)),
        "min" => (AggKind::Min, Some(compile(&args[0], FieldType::Num, "a number")?)),
        "max" => (AggKind::Max, Some(compile(&args[0], FieldType::Num, "a number")?)),
        "ratio" => (AggKind::Ratio, Some(compile(&args[0], FieldType::Bool, "a predicate (true/false)")?)),
        "wilson_lower" => (AggKind::WilsonLower, Some(compile(&args[0], FieldType::Bool, "a predicate (true/false)")?)),
        "distinct" => (AggKind::Distinct, Some(compile(&args[0], FieldType::Any, "a value")?)),
        "percentile" => {
            let p = match &args[1].node {
                AstNode::Num(p) if *p > 0.0 && *p < 100.0 => *p,
                _ => return Err(err(args[1].span, "the percentile must be a number strictly between 0 and 100, e.g. 95 or 99.9")),
            };
            (AggKind::Percentile(p), Some(compile(&args[0], FieldType::Num, "a number")?))
        }
        "change" => {
            if inside_change {
                return Err(err(ast.span, "change() cannot be nested"));
            }
            let (inner, arg) = compile_call(&args[0], true)?;
            (AggKind::Change(Box::new(inner)), arg)
        }
        _ => unreachable!("every listed function is handled"),
    })
}

fn names() -> String {
    FUNCTIONS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}
