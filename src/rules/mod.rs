//! Rule files: YAML → validated, compiled rules, with every problem reported as
//! `file:line:column: message`.
