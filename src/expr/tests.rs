//! Data-driven tests: one table of expressions and their values against a fixed event, one
//! table of mistakes with their messages and spans, and property tests for the parser.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use proptest::prelude::*;

use super::*;
use crate::event::{Event, EventKind, Scalar};
use crate::signals::{SignalId, SignalValue, Signals};

/// Counts allocations made by the current thread, so the no-allocation tests are not
/// disturbed by tests running on other threads.
struct CountingAlloc;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocations() -> usize {
    ALLOCS.with(Cell::get)
}

fn event() -> (Event, Signals) {
    let mut e = Event::new("e1", 1_700_000_000_000, EventKind::Interaction);
    e.request_model = Some("gpt-4o".into());
    e.provider = Some("OpenAI".into());
    e.user = Some("u1".into());
    e.latency_ms = Some(2500.0);
    e.ttft_ms = Some(300.0);
    e.input_tokens = Some(100.0);
    e.input = Some("Bonjour ÉCOLE".into());
    e.output = Some("I'm Sorry, I can't help with that.".into());
    e.finish_reasons = vec!["length".into()];
    e.set_attribute("region", Scalar::Str("eu-west".into()));
    e.set_attribute("prompt.version", Scalar::Str("v2".into()));
    e.set_attribute("tier", Scalar::Num(3.0));
    e.set_attribute("flag", Scalar::Bool(true));
    e.extra
        .push(("gen_ai.custom".into(), serde_json::json!("x")));
    let mut s = Signals::default();
    s.set(SignalId::Refusal, SignalValue::Bool(true));
    s.set(SignalId::CostUsd, SignalValue::Num(0.02));
    (e, s)
}

fn show(v: Value<'_>) -> String {
    match v {
        Value::Str(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn run(src: &str) -> String {
    let (e, s) = event();
    let expr = match Expr::compile_str(src) {
        Ok(x) => x,
        Err(errs) => return format!("error: {}", errs[0].message),
    };
    show(expr.eval(&Record::new(&e, &s)))
}

#[test]
fn values() {
    let table: &[(&str, &str)] = &[
        // literals
        ("null", "null"),
        ("true", "true"),
        ("3.5", "3.5"),
        ("-2", "-2"),
        ("--2", "2"),
        ("1e3 == 1000", "true"),
        ("\"x\"", "\"x\""),
        ("'x'", "\"x\""),
        // precedence: `||` < `&&` < comparison < unary
        ("true || false && false", "true"),
        ("(true || false) && false", "false"),
        ("!false && false", "false"),
        ("!(false && false)", "true"),
        ("false && false || true", "true"),
        ("latency_ms > 2000 && model == \"gpt-4o\"", "true"),
        (
            "kind == \"interaction\" && model == \"gpt-4o\" && latency_ms > 2000",
            "true",
        ),
        ("-latency_ms < -2000", "true"),
        ("!has(conversation) || conversation == \"c1\"", "true"),
        // numbers
        ("latency_ms == 2500.0", "true"),
        ("latency_ms >= 2500", "true"),
        ("latency_ms < 1e4", "true"),
        ("ttft_ms <= 300", "true"),
        ("input_tokens != 100", "false"),
        ("2000 < latency_ms", "true"),
        ("latency_ms", "2500"),
        // strings and escapes
        ("\"abc\" < \"abd\"", "true"),
        ("model > \"gpt-3\"", "true"),
        ("'single' == \"single\"", "true"),
        (r#""a\"b" == 'a"b'"#, "true"),
        (r#"'it\'s' == "it's""#, "true"),
        (r#"size("a\nb")"#, "3"),
        (r#"size("\\")"#, "1"),
        (r#"size("\t")"#, "1"),
        (r#"size(r"\d")"#, "2"),
        (r#""tab\there""#, "\"tab\\there\""),
        // fields
        ("model", "\"gpt-4o\""),
        ("kind == \"interaction\"", "true"),
        ("finish_reason == \"length\"", "true"),
        ("kind != \"feedback\"", "true"),
        ("\"outcome\" == kind", "false"),
        ("kind > \"feedback\"", "true"),
        ("kind in [\"feedback\", \"interaction\"]", "true"),
        ("provider", "\"OpenAI\""),
        ("conversation", "null"),
        ("attr.region == \"eu-west\"", "true"),
        ("attr.prompt.version == \"v2\"", "true"),
        ("prompt_version == \"v2\"", "true"),
        ("attr.tier > 2", "true"),
        ("attr.flag", "true"),
        ("attr.flag && true", "true"),
        ("field(\"gen_ai.request.model\") == \"gpt-4o\"", "true"),
        ("field(\"gen_ai.custom\") == \"x\"", "true"),
        ("signal.refusal", "true"),
        ("signal.cost_usd > 0.01", "true"),
        ("signal.truncated", "null"),
        ("signal.truncated == true", "false"),
        // runtime type mismatches: false or null, never a panic
        ("attr.tier == \"3\"", "false"),
        ("attr.tier != \"3\"", "true"),
        ("attr.region > 5", "false"),
        ("!attr.region", "null"),
        ("attr.region && true", "null"),
        ("attr.region || true", "true"),
        ("-attr.region", "null"),
        ("contains(attr.tier, \"3\")", "null"),
        ("size(attr.tier)", "null"),
        ("lower(attr.tier)", "null"),
        ("attr.tier.matches(\"3\")", "null"),
        // null
        ("conversation == null", "true"),
        ("conversation != null", "false"),
        ("model != null", "true"),
        ("null == conversation", "true"),
        ("null == null", "true"),
        ("conversation == \"x\"", "false"),
        // `!=` is the negation of `==`, null or not (as in CEL).
        ("conversation != \"x\"", "true"),
        ("attr.nope != 3", "true"),
        ("!(conversation == \"x\")", "true"),
        ("attr.nope < 3", "false"),
        ("attr.nope == attr.nope", "false"),
        // in
        ("model in [\"gpt-4o\", \"claude\"]", "true"),
        ("model in [\"claude\"]", "false"),
        ("model in []", "false"),
        ("latency_ms in [1, 2500]", "true"),
        ("conversation in [\"a\"]", "false"),
        ("conversation in [null]", "true"),
        ("attr.tier in [3]", "true"),
        ("\"b\" in ['a', 'b',]", "true"),
        ("lower(provider) in [\"openai\"]", "true"),
        ("!(model in [\"x\"])", "true"),
        // has
        ("has(model)", "true"),
        ("has(conversation)", "false"),
        ("has(attr.region)", "true"),
        ("has(attr.nope)", "false"),
        ("has(field(\"gen_ai.custom\"))", "true"),
        ("has(signal.refusal)", "true"),
        ("has(signal.pii_leak)", "false"),
        // contains / startsWith / endsWith, both call forms
        ("contains(output, \"Sorry\")", "true"),
        ("output.contains(\"sorry\")", "false"),
        ("contains(lower(output), \"sorry\")", "true"),
        ("lower(output).contains(\"sorry\")", "true"),
        ("output.lower().contains(\"SORRY\")", "false"),
        ("contains(output, \"\")", "true"),
        ("startsWith(output, \"I'm\")", "true"),
        ("output.startsWith(\"i'm\")", "false"),
        ("lower(output).startsWith(\"i'm\")", "true"),
        ("endsWith(output, \"that.\")", "true"),
        ("output.endsWith(\"That.\")", "false"),
        ("endsWith(lower(output), \"THAT.\")", "false"),
        ("conversation.contains(\"x\")", "null"),
        // matches, both forms; `lower(...)` subjects match case-insensitively
        ("matches(model, \"^gpt-4\")", "true"),
        ("model.matches(\"^gpt-[0-9]o$\")", "true"),
        ("output.matches(\"sorry\")", "false"),
        ("lower(output).matches(\"sorry\")", "true"),
        ("lower(input).matches(\"école$\")", "true"),
        (r#"output.matches(r"\bcan't\b")"#, "true"),
        // lower, including non-ASCII text
        ("lower(provider) == \"openai\"", "true"),
        ("lower(provider) == \"OpenAI\"", "false"),
        ("lower(provider) != \"openai\"", "false"),
        ("\"openai\" == lower(provider)", "true"),
        ("lower(input) == \"bonjour école\"", "true"),
        ("lower(input).contains(\"jour éc\")", "true"),
        ("lower(input).startsWith(\"bonjour é\")", "true"),
        ("lower(input).endsWith(\"cole\")", "true"),
        ("lower(input) > \"bonjour\"", "true"),
        ("lower(input) < \"bonjour\"", "false"),
        ("lower(lower(provider)) == \"openai\"", "true"),
        ("lower(provider) == lower(\"OPENAI\")", "true"),
        ("lower(\"ABC\")", "\"abc\""),
        ("lower(model)", "\"gpt-4o\""),
        ("lower(provider)", "null"),
        // size
        ("size(output)", "34"),
        ("size(input)", "13"),
        ("size(lower(input))", "13"),
        ("output.size() > 10", "true"),
        ("size([1, 2, 3])", "3"),
        ("size(\"héllo\")", "5"),
    ];
    let mut failures = Vec::new();
    for (src, want) in table {
        let got = run(src);
        if got != *want {
            failures.push(format!("{src:<50} want {want:<10} got {got}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// `(source, message, span start, span end)` of the first error.
#[test]
fn errors() {
    let table: &[(&str, &str, usize, usize)] = &[
        (
            "modle == \"x\"",
            "unknown field `modle`; did you mean `model`?",
            0,
            5,
        ),
        (
            "bogus > 1",
            "unknown field `bogus`; expected a field such as `model`, `latency_ms`, `attr.<key>`, \
             `signal.<name>` or `field(\"<raw name>\")`",
            0,
            5,
        ),
        (
            "signal.refusl",
            "unknown signal `signal.refusl`; did you mean `signal.refusal`?",
            0,
            13,
        ),
        (
            "foo(model)",
            "unknown function `foo`; expected one of: has, contains, startsWith, endsWith, \
             matches, lower, size, field",
            0,
            3,
        ),
        (
            "starts_with(model, \"g\")",
            "unknown function `starts_with`; did you mean `startsWith`?",
            0,
            11,
        ),
        (
            "count() > 3",
            "`count` is an aggregation: it belongs in a rule's `value:`, not in an expression",
            0,
            5,
        ),
        (
            "latency_ms == \"x\"",
            "cannot compare number `latency_ms` with string `\"x\"`: expected a number on both \
             sides of `==`",
            0,
            17,
        ),
        (
            "has(model",
            "expected `)` to close the call opened at column 4, found end of input",
            9,
            9,
        ),
        (
            "contains(output, \"a\" \"b\")",
            "expected `)` to close the call opened at column 9, found a string",
            21,
            24,
        ),
        (
            "(model == \"a\"",
            "expected `)` to close the `(` opened at column 1, found end of input",
            13,
            13,
        ),
        (
            "model == \"a\" &&",
            "expected an expression after `&&`, found end of input",
            15,
            15,
        ),
        (
            "model == \"a\" || )",
            "expected an expression after `||`, found `)`",
            16,
            17,
        ),
        (
            "model ==",
            "expected an expression after `==`, found end of input",
            8,
            8,
        ),
        ("", "expected an expression, found end of input", 0, 0),
        (
            "[1, 2",
            "expected `,` or `]` to close the list opened at column 1, found end of input",
            5,
            5,
        ),
        (
            "contains(output)",
            "`contains` takes 2 arguments, found 1; expected `contains(string, substring) or \
             s.contains(substring)`",
            0,
            16,
        ),
        (
            "output.lower(1)",
            "`lower` takes 0 arguments, found 1; expected `lower(string)`",
            0,
            15,
        ),
        (
            "matches(output, \"(\")",
            "invalid regex in `matches`: error: unclosed group",
            16,
            19,
        ),
        (
            "matches(output, model)",
            "`matches` expects its regex as a string literal, compiled once when the rule loads",
            16,
            21,
        ),
        (
            "latency_ms && true",
            "`&&` expects bool operands, found number `latency_ms`",
            0,
            10,
        ),
        (
            "!latency_ms",
            "`!` expects a bool, found number `latency_ms`",
            0,
            11,
        ),
        ("-model", "`-` expects a number, found string `model`", 0, 6),
        ("model = \"x\"", "expected `==` to compare, found `=`", 6, 7),
        ("model == \"x\" & true", "expected `&&`, found `&`", 13, 14),
        (
            "\"abc",
            "expected a closing `\"` for the string opened at column 1",
            0,
            4,
        ),
        (
            r#""a\d""#,
            "unknown escape `\\d`: expected one of \\\" \\' \\\\ \\n \\t \\r (for a regex, write \
             `\\\\d` or use a raw string r\"...\")",
            2,
            4,
        ),
        (
            "1 < latency_ms < 3",
            "comparisons cannot be chained: expected `&&` or `||` before `<` (write `a < b && b \
             < c`)",
            15,
            16,
        ),
        (
            "model in \"gpt\"",
            "`in` expects a list literal on its right, like `model in [\"a\", \"b\"]`; found \
             `\"gpt\"`",
            9,
            14,
        ),
        (
            "model in [1]",
            "list item number `1` cannot match string `model`: expected a string",
            10,
            11,
        ),
        (
            "[1] == 1",
            "a list can only stand right of `in` (`model in [\"a\", \"b\"]`) or in `size(...)`",
            0,
            3,
        ),
        ("model #", "unexpected character `#` at column 7", 6, 7),
        (
            "model.",
            "expected a field or method name after `.`, found end of input",
            6,
            6,
        ),
        (
            "model == \"a\" model",
            "expected an operator (`&&`, `||`, `==`, …) or the end of the expression, found \
             `model`",
            13,
            18,
        ),
        ("size(1)", "`size` expects a string, found number `1`", 5, 6),
        (
            "latency_ms < null",
            "`<` cannot compare with null; expected `== null` or `!= null`",
            0,
            17,
        ),
        (
            "signal.refusal > true",
            "`>` cannot order bools; expected numbers or strings",
            0,
            21,
        ),
        (
            "model.has()",
            "`has` is not a method; expected `has(field)`",
            6,
            9,
        ),
        (
            "has(lower(model))",
            "`has` expects a field, like `has(attr.region)`",
            4,
            16,
        ),
        (
            "field(model)",
            "`field` expects a non-empty string literal, like `field(\"gen_ai.request.model\")`",
            6,
            11,
        ),
        (
            "1.5.x",
            "`.x` can only follow a field name; expected a method call `.x(...)`",
            3,
            5,
        ),
        ("in [1]", "expected an expression before `in`", 0, 2),
        ("1ex", "invalid number `1ex`", 0, 3),
        (
            "attr.",
            "expected a field or method name after `.`, found end of input",
            5,
            5,
        ),
        ("é", "unexpected character `é` at column 1", 0, 2),
        (
            "kind == \"feedbak\"",
            "`kind` is never \"feedbak\"; expected \"interaction\", \"feedback\" or \"outcome\"",
            0,
            17,
        ),
    ];
    let mut failures = Vec::new();
    for (src, msg, start, end) in table {
        match Expr::compile_str(src) {
            Ok(_) => failures.push(format!("{src}: compiled, expected `{msg}`")),
            Err(errs) => {
                let e = &errs[0];
                if e.message != *msg
                    || e.span
                        != (Span {
                            start: *start,
                            end: *end,
                        })
                {
                    failures.push(format!(
                        "{src}\n   want {start}..{end} {msg}\n   got  {}..{} {}",
                        e.span.start, e.span.end, e.message
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_type_error_is_collected() {
    let errs =
        Expr::compile_str("modle == \"x\" && latency_ms == \"y\" && foo(1) || !size(output)")
            .unwrap_err();
    let msgs: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(errs.len(), 4, "{msgs:#?}");
    assert!(msgs[0].starts_with("unknown field `modle`"));
    assert!(msgs[1].starts_with("cannot compare number `latency_ms`"));
    assert!(msgs[2].starts_with("unknown function `foo`"));
    assert!(msgs[3].starts_with("`!` expects a bool"));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for src in [
        format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000)),
        format!("{}true", "!".repeat(10_000)),
        format!("{}1", "-".repeat(10_000)),
        format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)),
        format!("{}model", "size(".repeat(10_000)),
        vec!["true"; 10_000].join(" && "),
        vec!["true"; 10_000].join(" || "),
        format!("model{}", ".lower()".repeat(10_000)),
    ] {
        let e = parse(&src).unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{}", e.message);
    }
    // Moderate nesting is fine.
    assert!(Expr::compile_str(&vec!["true"; 40].join(" && ")).is_ok());
}

#[test]
fn ty_and_fields() {
    let x = Expr::compile_str(
        "kind == \"feedback\" && score < 0 && lower(attr.region) in [\"eu\"] || signal.refusal \
         && has(field(\"x.y\")) && model == model",
    )
    .unwrap();
    assert_eq!(x.ty(), FieldType::Bool);
    assert_eq!(
        x.fields(),
        vec![
            Field::Kind,
            Field::Score,
            Field::Attr("region".into()),
            Field::Signal(SignalId::Refusal),
            Field::Raw("x.y".into()),
            Field::Model,
        ]
    );
    assert!(x.signals().contains(SignalId::Refusal));
    assert!(!x.signals().contains(SignalId::CostUsd));
    for (src, ty) in [
        ("latency_ms", FieldType::Num),
        ("size(output)", FieldType::Num),
        ("lower(model)", FieldType::Str),
        ("attr.x", FieldType::Any),
        ("field(\"y\")", FieldType::Any),
        ("null", FieldType::Any),
        ("signal.cost_usd", FieldType::Num),
        ("has(model)", FieldType::Bool),
    ] {
        assert_eq!(Expr::compile_str(src).unwrap().ty(), ty, "{src}");
    }
}

#[test]
fn compile_sub_ast_of_an_aggregation() {
    // The rules module parses `value:` and compiles the aggregation's argument.
    let ast = parse("ratio(score < 0)").unwrap();
    let AstNode::Call { name, args, .. } = &ast.node else {
        panic!()
    };
    assert_eq!(name, "ratio");
    let x = Expr::compile(&args[0]).unwrap();
    assert_eq!(x.fields(), vec![Field::Score]);
    let err = Expr::compile(&parse("percentile(latncy_ms, 95)").unwrap()).unwrap_err();
    // The argument's mistake is reported alongside the unknown aggregation.
    assert_eq!(err.len(), 2);
    assert_eq!(err[1].span, Span { start: 11, end: 20 });
}

#[test]
fn eval_with_scratch_returns_lowered_text() {
    let (e, s) = event();
    let rec = Record::new(&e, &s);
    let x = Expr::compile_str("lower(input)").unwrap();
    let mut buf = String::new();
    assert_eq!(x.eval_with(&rec, &mut buf), Value::Str("bonjour école"));
    let y = Expr::compile_str("latency_ms").unwrap();
    let mut buf = String::new();
    assert_eq!(y.eval_with(&rec, &mut buf), Value::Num(2500.0));
}

#[test]
fn eval_does_not_allocate() {
    let (e, s) = event();
    let rec = Record::new(&e, &s);
    let exprs: Vec<Expr> = [
        "kind == \"interaction\" && model == \"gpt-4o\" && latency_ms > 2000",
        "contains(lower(output), \"sorry\")",
        "lower(input).contains(\"école\") && lower(input) == \"bonjour école\"",
        "lower(provider) in [\"openai\", \"anthropic\"] && size(lower(input)) > 3",
        "lower(output).endsWith(\"that.\") || lower(output).startsWith(\"i'm\")",
        "attr.region == \"eu-west\" && attr.prompt.version != \"v1\" && has(field(\"gen_ai.custom\"))",
        "signal.refusal && signal.cost_usd > 0.01 && !has(conversation)",
        "lower(output).matches(\"sorry|apolog\")",
    ]
    .iter()
    .map(|s| Expr::compile_str(s).unwrap())
    .collect();
    // Warm up: the regex crate fills its per-thread cache on first use.
    for x in &exprs {
        x.eval(&rec);
    }
    let before = allocations();
    let mut trues = 0;
    for _ in 0..100 {
        for x in &exprs {
            trues += usize::from(x.eval(&rec).is_true());
        }
    }
    assert_eq!(allocations() - before, 0);
    assert_eq!(trues, 800);
}

/// `cargo test --release --lib expr::tests::speed -- --ignored --nocapture`
#[test]
#[ignore]
fn speed() {
    let (e, s) = event();
    let rec = Record::new(&e, &s);
    for src in [
        "kind == \"interaction\" && model == \"gpt-4o\" && latency_ms > 2000",
        "contains(lower(output), \"sorry\")",
        "model in [\"a\", \"b\", \"gpt-4o\"] && !has(conversation)",
    ] {
        let x = Expr::compile_str(src).unwrap();
        let n = 5_000_000;
        let t = std::time::Instant::now();
        let mut k = 0usize;
        for _ in 0..n {
            k += usize::from(
                std::hint::black_box(&x)
                    .eval(std::hint::black_box(&rec))
                    .is_true(),
            );
        }
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        println!("{ns:6.1} ns/eval  {src}  ({k})");
    }
}

fn arb_ast() -> impl Strategy<Value = Ast> {
    let s = Span::default;
    let leaf = prop_oneof![
        Just(AstNode::Null),
        any::<bool>().prop_map(AstNode::Bool),
        (-1000i32..1000, 0u8..4)
            .prop_map(|(n, d)| AstNode::Num(f64::from(n) / f64::from(10u32.pow(u32::from(d))))),
        "[a-zA-Z \"'\\\\\n\té]{0,6}".prop_map(AstNode::Str),
        prop_oneof![
            Just("model"),
            Just("latency_ms"),
            Just("attr.region"),
            Just("attr.prompt.version"),
            Just("attr.in"),
            Just("signal.refusal"),
        ]
        .prop_map(|n| AstNode::Ident(n.to_string())),
    ]
    .prop_map(move |node| Ast { span: s(), node });
    leaf.prop_recursive(5, 40, 4, move |inner| {
        let bin = prop_oneof![
            Just(BinaryOp::Eq),
            Just(BinaryOp::Ne),
            Just(BinaryOp::Lt),
            Just(BinaryOp::Le),
            Just(BinaryOp::Gt),
            Just(BinaryOp::Ge),
            Just(BinaryOp::And),
            Just(BinaryOp::Or),
            Just(BinaryOp::In),
        ];
        let name = prop_oneof![Just("contains"), Just("lower"), Just("size"), Just("f")];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(AstNode::List),
            (bin, inner.clone(), inner.clone()).prop_map(|(op, l, r)| AstNode::Binary {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r)
            }),
            (any::<bool>(), inner.clone()).prop_map(|(not, e)| AstNode::Unary {
                op: if not { UnaryOp::Not } else { UnaryOp::Neg },
                expr: Box::new(e)
            }),
            (name, prop::collection::vec(inner, 1..3), any::<bool>()).prop_map(
                |(n, args, method)| AstNode::Call {
                    name: n.to_string(),
                    name_span: Span::default(),
                    args,
                    method
                }
            ),
        ]
        .prop_map(move |node| Ast { span: s(), node })
    })
}

/// The tree with spans cleared, for comparing structure.
fn strip(ast: &Ast) -> Ast {
    let node = match &ast.node {
        AstNode::List(items) => AstNode::List(items.iter().map(strip).collect()),
        AstNode::Call {
            name, args, method, ..
        } => AstNode::Call {
            name: name.clone(),
            name_span: Span::default(),
            args: args.iter().map(strip).collect(),
            method: *method,
        },
        AstNode::Unary { op, expr } => AstNode::Unary {
            op: *op,
            expr: Box::new(strip(expr)),
        },
        AstNode::Binary { op, lhs, rhs } => AstNode::Binary {
            op: *op,
            lhs: Box::new(strip(lhs)),
            rhs: Box::new(strip(rhs)),
        },
        other => other.clone(),
    };
    Ast {
        span: Span::default(),
        node,
    }
}

proptest! {
    #[test]
    fn parse_never_panics(src in "\\PC{0,60}") {
        let _ = Expr::compile_str(&src);
    }

    #[test]
    fn parse_never_panics_on_expression_like_text(
        src in "[a-z_. ()\\[\\],!=<>&|\"'\\\\0-9-]{0,60}"
    ) {
        if let Ok(x) = Expr::compile_str(&src) {
            let (e, s) = event();
            let _ = x.eval(&Record::new(&e, &s));
        }
        if let Err(e) = parse(&src) {
            prop_assert!(e.span.start <= e.span.end && e.span.end <= src.len());
            prop_assert!(src.is_char_boundary(e.span.start) && src.is_char_boundary(e.span.end));
        }
    }

    #[test]
    fn printed_ast_parses_back_to_the_same_tree(ast in arb_ast()) {
        // Unary minus on a literal folds into the literal when parsed; compare the printed
        // forms after one round trip, and structure after two.
        let printed = ast.to_string();
        let once = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed}: {e}")))?;
        let again = parse(&once.to_string()).unwrap();
        prop_assert_eq!(once.to_string(), again.to_string());
        prop_assert_eq!(strip(&once), strip(&again));
    }

    #[test]
    fn compiled_expressions_never_panic(ast in arb_ast()) {
        if let Ok(x) = Expr::compile(&ast) {
            let (e, s) = event();
            let _ = x.eval(&Record::new(&e, &s));
            let _ = x.fields();
        }
    }
}
