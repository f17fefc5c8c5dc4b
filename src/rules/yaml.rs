//! A thin, located view of a YAML document (saphyr's `MarkedYaml`) for validating decoders
//! that collect every problem instead of stopping at the first, as serde would.

use std::path::{Path, PathBuf};

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::diagnostic::Diagnostic;
use crate::expr::Span;

/// Where a node starts (1-based line and column) and, for single-line scalars, how to map an
/// offset inside the scalar's text back to a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
    /// Offset, in columns, from the node start to the first character of its text (1 for
    /// quoted scalars); `None` when the text does not sit on the node's line as written
    /// (block scalars, multi-line or escaped text).
    text_col: Option<usize>,
}

impl Pos {
    /// The position of a byte offset inside the scalar's text.
    pub fn at_offset(self, text: &str, byte: usize) -> (usize, usize) {
        match self.text_col {
            Some(shift) => {
                let chars = text.get(..byte.min(text.len())).map_or(0, |s| s.chars().count());
                (self.line, self.column + shift + chars)
            }
            None => (self.line, self.column),
        }
    }

    pub fn at_span(self, text: &str, span: Span) -> (usize, usize) {
        self.at_offset(text, span.start)
    }
}

/// Collects diagnostics for one file.
pub struct Reporter {
    pub file: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
}

impl Reporter {
    pub fn new(file: &Path) -> Self {
        Reporter { file: file.to_path_buf(), diagnostics: Vec::new() }
    }

    pub fn at(&mut self, (line, column): (usize, usize), message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
        });
    }

    pub fn node(&mut self, node: &Node<'_>, message: impl Into<String>) {
        self.at((node.pos.line, node.pos.column), message);
    }
}

/// A YAML node with its position.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    pub yaml: &'a MarkedYaml<'a>,
    pub pos: Pos,
}

/// Parses one YAML document. A syntax error becomes a diagnostic.
pub fn load<'a>(src: &'a str, r: &mut Reporter) -> Option<Vec<MarkedYaml<'a>>> {
    match MarkedYaml::load_from_str(src) {
        Ok(docs) => Some(docs),
        Err(e) => {
            let m = e.marker();
            r.at((m.line(), m.col() + 1), format!("invalid YAML: {}", e.info()));
            None
        }
    }
}

impl<'a> Node<'a> {
    pub fn new(yaml: &'a MarkedYaml<'a>, src: &str) -> Self {
        let start = yaml.span.start;
        let end = yaml.span.end;
        // saphyr does not keep the scalar style on marked nodes; the first source character
        // tells a quoted scalar from a plain one.
        let first = src.chars().nth(start.index());
        let text_col = match (&yaml.data, first) {
            (YamlData::Value(v), Some('"')) | (YamlData::Value(v), Some('\''))
                if start.line() == end.line() =>
            {
                // With escapes (`\"`, `''`, `\u0022`) the text no longer lines up with
                // the source: point at the scalar rather than at a wrong column.
                let raw: String = src.chars().skip(start.index() + 1).take(end.index().saturating_sub(start.index() + 2)).collect();
                matches!(v, Scalar::String(text) if **text == *raw).then_some(1)
            }
            (YamlData::Value(_), Some(c)) if c != '|' && c != '>' && start.line() == end.line() => {
                Some(0)
            }
            _ => None,
        };
        Node { yaml, pos: Pos { line: start.line(), column: start.col() + 1, text_col } }
    }

    /// Mapping entries as (key text, key node, value node); `None` when not a mapping.
    pub fn entries(&self, src: &str) -> Option<Vec<(String, Node<'a>, Node<'a>)>> {
        match &self.yaml.data {
            YamlData::Mapping(m) => Some(
                m.iter()
                    .map(|(k, v)| {
                        let key = Node::new(k, src);
                        (key.scalar_text().unwrap_or_default(), key, Node::new(v, src))
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    pub fn items(&self, src: &str) -> Option<Vec<Node<'a>>> {
        match &self.yaml.data {
            YamlData::Sequence(s) => Some(s.iter().map(|n| Node::new(n, src)).collect()),
            _ => None,
        }
    }

    /// The text of any scalar (numbers and booleans as written/resolved).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.yaml.data {
            YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
            YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
            YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
            YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
            YamlData::Value(Scalar::Null) => None,
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&'a str> {
        match &self.yaml.data {
            YamlData::Value(Scalar::String(s)) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.yaml.data {
            YamlData::Value(Scalar::Integer(i)) => Some(*i),
            _ => None,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.yaml.data {
            YamlData::Mapping(_) => "a mapping",
            YamlData::Sequence(_) => "a list",
            YamlData::Value(Scalar::Null) => "null",
            YamlData::Value(Scalar::Boolean(_)) => "a boolean",
            YamlData::Value(Scalar::Integer(_)) => "an integer",
            YamlData::Value(Scalar::FloatingPoint(_)) => "a number",
            YamlData::Value(Scalar::String(_)) => "a string",
            _ => "an unsupported YAML node",
        }
    }

    /// Converts to JSON (for inline events in rule tests).
    pub fn to_json(self, src: &str) -> serde_json::Value {
        match &self.yaml.data {
            YamlData::Mapping(_) => serde_json::Value::Object(
                self.entries(src)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, _, v)| (k, v.to_json(src)))
                    .collect(),
            ),
            YamlData::Sequence(_) => serde_json::Value::Array(
                self.items(src).unwrap_or_default().iter().map(|n| n.to_json(src)).collect(),
            ),
            YamlData::Value(Scalar::String(s)) => serde_json::Value::String(s.to_string()),
            YamlData::Value(Scalar::Integer(i)) => serde_json::Value::from(*i),
            YamlData::Value(Scalar::FloatingPoint(f)) => serde_json::Value::from(f.into_inner()),
            YamlData::Value(Scalar::Boolean(b)) => serde_json::Value::Bool(*b),
            _ => serde_json::Value::Null,
        }
    }
}

/// "did you mean …?" for a misspelt name, by edit distance.
pub fn suggest<'n>(name: &str, candidates: impl IntoIterator<Item = &'n str>) -> String {
    let best = candidates
        .into_iter()
        .map(|c| {
            // A name that is part of a longer one ("lateness" for "allowed_lateness") is
            // as likely meant as a typo.
            let d = if name.len() >= 4 && c.contains(name) { 1 } else { edit_distance(name, c) };
            (d, c)
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((_, c)) => format!(" (did you mean `{c}`?)"),
        None => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
