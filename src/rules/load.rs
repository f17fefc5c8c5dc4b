//! Loading rule files: every problem in every file is collected; a file with any problem
//! is rejected whole, and the other files still load.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::aggregation::Aggregation;
use super::diagnostic::Diagnostic;
use super::yaml::{self, Node, Reporter};
use super::{CmpOp, Condition, Rule, RuleSet, Severity, Stage};
use crate::expr::Expr;
use crate::field::{FRIENDLY_NAMES, Field, FieldType};
use crate::time::Duration;
use crate::window::{AggKind, WindowSpec};

/// What loading checks beyond the files themselves.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Receiver names from the daemon config; when set, `notify:` entries must be among them.
    pub receivers: Option<HashSet<String>>,
}

/// Default number of bins per window when a rule gives no `bin:`.
pub const DEFAULT_BINS: i64 = 15;

const RULE_KEYS: &[&str] = &[
    "name",
    "description",
    "business_value",
    "stage",
    "severity",
    "when",
    "group_by",
    "window",
    "bin",
    "value",
    "condition",
    "min_events",
    "for",
    "keep_firing_for",
    "repeat_interval",
    "labels",
    "annotations",
    "notify",
];

/// Expands directories (recursively, `*.yaml`/`*.yml`, sorted) and keeps files as given.
/// Each file is read once however it is reached (named twice, or through a symlink).
/// Inside a directory, hidden entries are skipped (so are the `..data` and `..2026_…`
/// entries of a mounted Kubernetes ConfigMap, whose files are also linked at the top) and
/// symlinks to directories are not followed (a link to `.` or `..` looped or walked the
/// whole disk), as `find` does without `-L`.
pub fn rule_files_in(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    let (out, errors) = rule_files_and_errors(paths);
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// The files of `paths`, and a diagnostic for each path that cannot be read: both, so one
/// missing path does not hide the problems of the others.
fn rule_files_and_errors(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut walk = Walk::default();
    for p in paths {
        if p.is_dir() {
            walk.dir(p);
        } else if p.is_file() {
            walk.file(p.clone());
        } else {
            walk.errors.push(Diagnostic { file: p.clone(), line: 0, column: 0, message: "no such file or directory".into() });
        }
    }
    (walk.files, walk.errors)
}

#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    errors: Vec<Diagnostic>,
    /// Canonical paths of the files taken and the directories entered.
    seen: std::collections::HashSet<PathBuf>,
}

impl Walk {
    fn file(&mut self, p: PathBuf) {
        if self.seen.insert(std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone())) {
            self.files.push(p);
        }
    }

    fn dir(&mut self, dir: &Path) {
        if !self.seen.insert(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())) {
            return;
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.errors.push(Diagnostic { file: dir.into(), line: 0, column: 0, message: e.to_string() });
                return;
            }
        };
        let mut paths: Vec<(PathBuf, bool)> = entries.filter_map(|e| e.ok().map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_symlink())))).collect();
        paths.sort();
        for (p, link) in paths {
            if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')) {
                continue;
            }
            if p.is_dir() {
                if !link {
                    self.dir(&p);
                }
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                self.file(p);
            }
        }
    }
}

/// Loads rule files and directories. Returns the rules of every file that had no problem,
/// and every problem found (sorted by file, line, column).
pub fn load_files(paths: &[PathBuf], opts: &LoadOptions) -> (RuleSet, Vec<Diagnostic>) {
    let (files, mut diags) = rule_files_and_errors(paths);
    let mut sources = Vec::new();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(s) => sources.push((file, s)),
            Err(e) => diags.push(Diagnostic { file, line: 0, column: 0, message: format!("cannot read: {e}") }),
        }
    }
    let (set, more) = load_sources(&sources, opts);
    diags.extend(more);
    diags.sort();
    (set, diags)
}

/// Loads rule files given as (path, text): the embedded packs of the demo use this too.
pub fn load_sources(sources: &[(PathBuf, String)], opts: &LoadOptions) -> (RuleSet, Vec<Diagnostic>) {
    let mut set = RuleSet::default();
    let mut diags = Vec::new();
    let mut seen: HashMap<String, (PathBuf, usize)> = HashMap::new();
    for (file, src) in sources {
        let (group, rules, mut file_diags) = load_str(file, src, opts);
        // Names are unique across all loaded files.
        for rule in &rules {
            if let Some((f, line)) = seen.get(&rule.name) {
                file_diags.push(Diagnostic {
                    file: file.clone(),
                    line: rule.line,
                    column: 1,
                    message: format!(
                        "duplicate rule name `{}`: already defined at {}:{}; rule names must be unique across all rule files",
                        rule.name,
                        f.display(),
                        line
                    ),
                });
            }
        }
        if file_diags.is_empty() {
            for rule in &rules {
                seen.insert(rule.name.clone(), (file.clone(), rule.line));
            }
            if let Some(g) = group {
                set.groups.push((g, file.clone()));
            }
            set.rules.extend(rules);
        }
        diags.extend(file_diags);
    }
    diags.sort();
    (set, diags)
}

/// Loads one file's text. Returns its group name, its rules, and its problems (the rules
/// are only meaningful when there are no problems).
pub fn load_str(file: &Path, src: &str, opts: &LoadOptions) -> (Option<String>, Vec<Rule>, Vec<Diagnostic>) {
    let mut r = Reporter::new(file);
    let Some(docs) = yaml::load(src, &mut r) else {
        return (None, Vec::new(), r.diagnostics);
    };
    if docs.len() != 1 {
        r.at((1, 1), format!("expected exactly one YAML document with `group:` and `rules:`, found {}", docs.len()));
        return (None, Vec::new(), r.diagnostics);
    }
    let root = Node::new(&docs[0], src);
    let Some(entries) = root.entries(src) else {
        r.node(&root, format!("expected a mapping with `group:` and `rules:`, found {}", root.kind_name()));
        return (None, Vec::new(), r.diagnostics);
    };
    let mut group = None;
    let mut rules = Vec::new();
    let mut names_here: HashMap<String, usize> = HashMap::new();
    let mut saw_rules = false;
    for (key, key_node, value) in &entries {
        match key.as_str() {
            "group" => match value.as_str() {
                Some(g) if !g.trim().is_empty() => group = Some(g.to_string()),
                _ => r.node(value, "expected a non-empty string: the group name"),
            },
            "rules" => {
                saw_rules = true;
                let Some(items) = value.items(src) else {
                    r.node(value, format!("expected a list of rules, found {}", value.kind_name()));
                    continue;
                };
                for item in items {
                    if let Some(rule) = load_rule(&item, src, group.as_deref().unwrap_or(""), file, opts, &mut r) {
                        if let Some(line) = names_here.get(&rule.name) {
                            r.at((rule.line, 1), format!("duplicate rule name `{}`: already defined at line {line}", rule.name));
                        } else {
                            names_here.insert(rule.name.clone(), rule.line);
                            rules.push(rule);
                        }
                    }
                }
            }
            other => r.node(key_node, format!("unknown key `{other}`{}; a rule file has `group:` and `rules:`", yaml::suggest(other, ["group", "rules"]))),
        }
    }
    if group.is_none() && !entries.iter().any(|(k, _, _)| k == "group") {
        r.node(&root, "missing `group:`: every rule file names its group");
    }
    if !saw_rules {
        r.node(&root, "missing `rules:`: expected a list of rules");
    }
    let g = group.clone().unwrap_or_default();
    for rule in &mut rules {
        rule.group = g.clone();
    }
    (group, rules, r.diagnostics)
}

/// Reads one rule mapping; reports every problem; returns the rule only when it is valid.
fn load_rule(node: &Node<'_>, src: &str, group: &str, file: &Path, opts: &LoadOptions, r: &mut Reporter) -> Option<Rule> {
    let Some(entries) = node.entries(src) else {
        r.node(node, format!("expected a rule (a mapping with name, window, value, condition …), found {}", node.kind_name()));
        return None;
    };
    let before = r.diagnostics.len();
    let mut fields: BTreeMap<&str, Node<'_>> = BTreeMap::new();
    for (key, key_node, value) in &entries {
        match RULE_KEYS.iter().find(|k| **k == key.as_str()) {
            Some(k) => {
                fields.insert(k, *value);
            }
            None => r.node(
                key_node,
                format!("unknown rule field `{key}`{}; expected one of: {}", yaml::suggest(key, RULE_KEYS.iter().copied()), RULE_KEYS.join(", ")),
            ),
        }
    }
    let required = |name: &str, r: &mut Reporter| -> Option<Node<'_>> {
        let n = fields.get(name).copied();
        if n.is_none() {
            r.node(node, format!("missing required field `{name}`"));
        }
        n
    };

    let name = required("name", r).and_then(|n| match n.as_str() {
        Some(s) if is_identifier(s) => Some(s.to_string()),
        _ => {
            r.node(&n, "expected a rule name: letters, digits and underscores, starting with a letter (e.g. thumbs_down_rate)");
            None
        }
    });
    let text = |key: &str, r: &mut Reporter| -> Option<String> {
        let n = fields.get(key)?;
        match n.scalar_text() {
            Some(s) => Some(s),
            None => {
                r.node(n, format!("expected text for `{key}`, found {}", n.kind_name()));
                None
            }
        }
    };
    let description = text("description", r);
    let business_value = text("business_value", r);
    let stage = fields.get("stage").and_then(|n| {
        let s = n.as_str().and_then(Stage::parse);
        if s.is_none() {
            r.node(n, format!("unknown stage `{}`: expected `crawl`, `walk` or `run`", n.scalar_text().unwrap_or_default()));
        }
        s
    });
    let severity = match fields.get("severity") {
        None => Some(Severity::Ticket),
        Some(n) => {
            let s = n.as_str().and_then(Severity::parse);
            if s.is_none() {
                r.node(n, format!("unknown severity `{}`: expected `page`, `ticket` or `info`", n.scalar_text().unwrap_or_default()));
            }
            s
        }
    };

    let when = fields.get("when").and_then(|n| {
        let src_text = n.scalar_text().or_else(|| {
            r.node(n, format!("expected an expression, found {}", n.kind_name()));
            None
        })?;
        match Expr::compile_str(&src_text) {
            Ok(e) if matches!(e.ty(), FieldType::Bool | FieldType::Any) => Some((e, src_text)),
            Ok(e) => {
                r.node(n, format!("`when` must be true or false for each event, but this expression is a {}", e.ty()));
                None
            }
            Err(errors) => {
                for e in errors {
                    r.at(n.pos.at_span(&src_text, e.span), format!("in `when`: {}", e.message));
                }
                None
            }
        }
    });

    let mut group_by = Vec::new();
    let mut group_labels = Vec::new();
    if let Some(n) = fields.get("group_by") {
        match n.items(src) {
            Some(items) => {
                for item in items {
                    match item.as_str().and_then(parse_group_field) {
                        Some(f) => {
                            group_labels.push(f.label());
                            group_by.push(f);
                        }
                        None => {
                            let shown = item.scalar_text().unwrap_or_default();
                            r.node(
                                &item,
                                format!("unknown field `{shown}` in `group_by`{}; expected a field such as model, tenant, provider, attr.<key> or field(\"<name>\")", yaml::suggest(&shown, FRIENDLY_NAMES.iter().copied())),
                            );
                        }
                    }
                }
            }
            None => r.node(n, format!("expected a list of fields, e.g. [model], found {}", n.kind_name())),
        }
    }

    let duration = |key: &str, r: &mut Reporter| -> Option<Option<Duration>> {
        let Some(n) = fields.get(key) else { return Some(None) };
        let text = n.scalar_text().unwrap_or_default();
        match Duration::parse(&text) {
            Ok(d) => Some(Some(d)),
            Err(e) => {
                r.node(n, format!("`{key}`: {e}"));
                None
            }
        }
    };
    let window = required("window", r).and_then(|_| duration("window", r)).flatten();
    let window = window.and_then(|w| {
        if w.as_millis() < 1000 {
            r.node(&fields["window"], "`window` must be at least 1s");
            None
        } else {
            Some(w)
        }
    });
    let bin = duration("bin", r);
    let for_ = duration("for", r);
    let keep_firing_for = duration("keep_firing_for", r);
    let repeat_interval = duration("repeat_interval", r).inspect(|d| {
        // 0s once meant a reminder on every evaluation: every event, every tick.
        if d.is_some_and(|d| d.as_millis() < 1000) {
            r.node(&fields["repeat_interval"], "`repeat_interval` must be at least 1s (leave it out for no reminders)");
        }
    });

    let value = required("value", r).and_then(|n| {
        let text = n.scalar_text().or_else(|| {
            r.node(&n, format!("expected an aggregation, found {}", n.kind_name()));
            None
        })?;
        match Aggregation::parse(&text) {
            Ok(a) => Some(a),
            Err(errors) => {
                for e in errors {
                    r.at(n.pos.at_span(&text, e.span), format!("in `value`: {}", e.message));
                }
                None
            }
        }
    });

    let condition = required("condition", r).and_then(|n| {
        let text = n.scalar_text().unwrap_or_default();
        let c = parse_condition(&text);
        if c.is_none() {
            r.node(&n, format!("invalid condition {text:?}: expected an operator (>, >=, <, <=, ==, !=) and a number, e.g. \"> 0.2\" (quote it in YAML)"));
        }
        c
    });

    let min_events = match fields.get("min_events") {
        None => Some(0),
        Some(n) => match n.as_i64() {
            Some(v) if v >= 0 => Some(v as u64),
            _ => {
                r.node(n, "expected a whole number ≥ 0 for `min_events`");
                None
            }
        },
    };

    let string_map = |key: &str, r: &mut Reporter| -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(n) = fields.get(key) {
            match n.entries(src) {
                Some(es) => {
                    for (k, _, v) in es {
                        match v.scalar_text() {
                            Some(t) => {
                                // Annotations are templates (docs/notifications.md): one that
                                // does not compile would be shown raw in every message.
                                if key == "annotations"
                                    && let Err(e) = minijinja::Environment::new().template_from_str(&t)
                                {
                                    r.node(&v, format!("`annotations.{k}` is not a valid template: {}", e.detail().unwrap_or("syntax error")));
                                }
                                out.insert(k, t);
                            }
                            None => r.node(&v, format!("expected text for `{key}.{k}`, found {}", v.kind_name())),
                        }
                    }
                }
                None => r.node(n, format!("expected a mapping of names to text for `{key}`")),
            }
        }
        out
    };
    let labels = string_map("labels", r);
    let annotations = string_map("annotations", r);

    let mut notify = Vec::new();
    if let Some(n) = fields.get("notify") {
        match n.items(src) {
            Some(items) => {
                for item in items {
                    match item.as_str() {
                        Some(name) => {
                            if let Some(known) = &opts.receivers
                                && !known.contains(name)
                            {
                                let mut names: Vec<&str> = known.iter().map(String::as_str).collect();
                                names.sort();
                                r.node(&item, format!("unknown receiver `{name}`{}; the config defines: {}", yaml::suggest(name, names.iter().copied()), names.join(", ")));
                            }
                            notify.push(name.to_string());
                        }
                        None => r.node(&item, "expected a receiver name"),
                    }
                }
            }
            None => r.node(n, "expected a list of receiver names, e.g. [oncall-slack]"),
        }
    }

    // Cross-field checks, once the fields themselves are valid.
    let (window, value) = (window?, value?);
    let bin_ms = match bin? {
        Some(b) => {
            if b.as_millis() <= 0 || window.as_millis() % b.as_millis() != 0 {
                r.node(&fields["bin"], format!("`bin` must divide the window ({window}) evenly"));
                return None;
            }
            b.as_millis()
        }
        None => default_bin(window.as_millis()),
    };
    if matches!(value.kind, AggKind::Absent) && fields.contains_key("min_events") {
        r.node(&fields["min_events"], "`min_events` does not apply to absent(): an absent group has no events");
    }
    if r.diagnostics.len() > before {
        return None;
    }
    Some(Rule {
        name: name?,
        group: group.to_string(),
        description,
        business_value,
        stage,
        severity: severity?,
        when: when.as_ref().map(|(e, _)| e.clone()),
        when_src: when.map(|(_, s)| s),
        group_by,
        group_labels,
        window: WindowSpec { agg: value.kind.clone(), window_ms: window.as_millis(), bin_ms },
        value,
        condition: condition?,
        min_events: min_events?,
        for_: for_?.unwrap_or_default(),
        keep_firing_for: keep_firing_for?.unwrap_or_default(),
        repeat_interval: repeat_interval?,
        labels,
        annotations,
        notify,
        file: file.to_path_buf(),
        line: node.pos.line,
    })
}

/// window / 15, rounded down to a whole second that divides the window (at least 1 s).
/// The bin of a rule without `bin:` — the largest divisor of the window at most
/// `window / DEFAULT_BINS`, in whole seconds when the window is whole seconds (else in
/// milliseconds: a `1500ms` window once divided by zero here). Divisors are found up to
/// the square root, so even an absurd window costs little.
fn default_bin(window_ms: i64) -> i64 {
    let unit = if window_ms % 1000 == 0 { 1000 } else { 1 };
    let (w, most) = (window_ms / unit, (window_ms / DEFAULT_BINS / unit).max(1));
    let mut best = 1;
    let mut d = 1;
    while d * d <= w {
        if w % d == 0 {
            for divisor in [d, w / d] {
                if divisor <= most {
                    best = best.max(divisor);
                }
            }
        }
        d += 1;
    }
    best * unit
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_group_field(s: &str) -> Option<Field> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix("field(").and_then(|x| x.strip_suffix(')')) {
        let name = inner.trim().trim_matches(|c| c == '"' || c == '\'');
        return (!name.is_empty()).then(|| Field::Raw(name.into()));
    }
    Field::from_name(s)
}

fn parse_condition(text: &str) -> Option<Condition> {
    let t = text.trim();
    let (op, rest) = [(">=", CmpOp::Ge), ("<=", CmpOp::Le), ("==", CmpOp::Eq), ("!=", CmpOp::Ne), (">", CmpOp::Gt), ("<", CmpOp::Lt)]
        .into_iter()
        .find_map(|(p, op)| t.strip_prefix(p).map(|rest| (op, rest)))?;
    let threshold: f64 = rest.trim().parse().ok()?;
    threshold.is_finite().then_some(Condition { op, threshold })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_bins_divide_the_window() {
        assert_eq!(default_bin(900_000), 60_000);
        assert_eq!(default_bin(3_600_000), 240_000);
        assert_eq!(default_bin(10_000), 1000);
        assert_eq!(default_bin(70_000), 2000);
        // Windows that are not whole seconds get millisecond bins (these divided by zero).
        for window in [1500, 2500, 61_500, 999, 1] {
            let bin = default_bin(window);
            assert!(bin >= 1 && window % bin == 0 && bin <= (window / DEFAULT_BINS).max(1), "{window} -> {bin}");
        }
        assert_eq!(default_bin(1500), 100);
        // A window of 317 years: a prime number of seconds, so one-second bins.
        assert_eq!(default_bin(10_000_000_019_000), 1000);
    }

    #[test]
    fn an_error_in_a_quoted_expression_is_located_exactly_or_at_its_scalar_when_escaped() {
        let yaml = r#"group: g
rules:
  - name: a
    when: "model == 'a' && modle == 'b'"
    window: 1m
    value: count()
    condition: '> 1'
  - name: b
    when: "model == \"a\" && modle == \"b\""
    window: 1m
    value: count()
    condition: '> 1'
  - name: c
    when: 'model == ''a'' && modle == ''b'''
    window: 1m
    value: count()
    condition: '> 1'
"#;
        let (_, diags) = crate::rules::load_sources(&[("r.yaml".into(), yaml.to_string())], &crate::rules::LoadOptions::default());
        let at: Vec<(usize, usize)> = diags.iter().map(|d| (d.line, d.column)).collect();
        // Line 4: no escapes, the column of `modle`. Lines 9 and 14: escapes shift the text,
        // so the diagnostic points at the scalar (these once pointed two columns short).
        assert_eq!(at, [(4, 28), (9, 11), (14, 11)], "{diags:?}");
        assert!(diags.iter().all(|d| d.message.contains("modle")), "{diags:?}");
    }

    #[test]
    fn an_annotation_that_is_not_a_valid_template_is_reported_where_it_is() {
        let yaml = r#"group: g
rules:
  - name: a
    window: 1m
    value: count()
    condition: '> 1'
    annotations:
      runbook: https://example.com/{{ model }}
      summary: "{{ value  of {% if %}"
"#;
        let (_, diags) = crate::rules::load_sources(&[("r.yaml".into(), yaml.to_string())], &crate::rules::LoadOptions::default());
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!((diags[0].line, diags[0].column), (9, 16), "{diags:?}");
        assert!(diags[0].message.starts_with("`annotations.summary` is not a valid template"), "{diags:?}");
    }

    #[test]
    fn each_rule_file_is_read_once_however_it_is_reached_and_every_bad_path_is_reported() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // A mounted ConfigMap: the file, in a timestamped directory reached through `..data`.
        std::fs::create_dir(root.join("..2026_11_29")).unwrap();
        std::fs::write(root.join("..2026_11_29/a.yaml"), "group: g\nrules:\n  - name: burst\n    window: 1m\n    value: count()\n    condition: '> 1'\n").unwrap();
        symlink("..2026_11_29", root.join("..data")).unwrap();
        symlink("..data/a.yaml", root.join("a.yaml")).unwrap();
        // A symlink loop, and a link to the parent.
        symlink(".", root.join("self")).unwrap();
        symlink("..", root.join("up")).unwrap();
        let files = rule_files_in(&[root.to_path_buf(), root.join("a.yaml")]).unwrap();
        assert_eq!(files, [root.join("a.yaml")]);
        let (set, diags) = load_files(&[root.to_path_buf(), root.join("a.yaml")], &LoadOptions::default());
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(set.rules.len(), 1);
        // A missing path is reported beside the problems of the others, not instead of them.
        std::fs::write(root.join("bad.yaml"), "group: g\nrules:\n  - name: other\n    window: soon\n    value: count()\n    condition: '> 1'\n").unwrap();
        let (_, diags) = load_files(&[root.join("missing"), root.join("bad.yaml")], &LoadOptions::default());
        let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text.iter().any(|t| t.contains("missing:0:0: no such file or directory")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("bad.yaml:4:") && t.contains("soon")), "{text:?}");
    }

    #[test]
    fn repeat_interval_below_a_second_is_refused() {
        let yaml = "group: g\nrules:\n  - name: a\n    window: 1m\n    value: count()\n    condition: '> 1'\n    repeat_interval: 0s\n";
        let (_, diags) = crate::rules::load_sources(&[("r.yaml".into(), yaml.to_string())], &crate::rules::LoadOptions::default());
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!((diags[0].line, diags[0].column), (7, 22));
        assert!(diags[0].message.contains("at least 1s"), "{diags:?}");
    }

    #[test]
    fn conditions() {
        assert_eq!(parse_condition("> 0.2"), Some(Condition { op: CmpOp::Gt, threshold: 0.2 }));
        assert_eq!(parse_condition(">=5"), Some(Condition { op: CmpOp::Ge, threshold: 5.0 }));
        assert_eq!(parse_condition("!= 0"), Some(Condition { op: CmpOp::Ne, threshold: 0.0 }));
        assert_eq!(parse_condition("0.2"), None);
        assert_eq!(parse_condition("> high"), None);
        assert_eq!(parse_condition("=> 1"), None);
    }
}
