//! Any UTF-8 text: parsing and compiling return errors, never panic or overflow the stack;
//! what compiles evaluates without panicking, and its printed tree parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmwatch::event::{Event, EventKind, Scalar};
use llmwatch::expr::{Expr, parse};
use llmwatch::field::Record;
use llmwatch::signals::Signals;

fuzz_target!(|src: &str| {
    if let Ok(ast) = parse(src) {
        let printed = ast.to_string();
        if let Err(e) = parse(&printed) {
            panic!("{src:?} printed as {printed:?}, which does not parse: {e}");
        }
    }
    if let Ok(expr) = Expr::compile_str(src) {
        let mut e = Event::new("e", 0, EventKind::Interaction);
        e.request_model = Some("gpt-4o".into());
        e.output = Some("Désolé, I can't ẞ help".into());
        e.latency_ms = Some(1.0);
        e.set_attribute("region", Scalar::Str("EU".into()));
        e.set_attribute("n", Scalar::Num(2.0));
        let s = Signals::default();
        let _ = expr.eval(&Record::new(&e, &s));
        let _ = expr.fields();
    }
});
