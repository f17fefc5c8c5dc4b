//! Silences: label matchers with a time span. A silenced notification is recorded in the
//! delivery log but not sent.
//!
//! Silences live in a JSON file beside the config (`[routing] silences`), not in sled: sled
//! locks its database to one process, and `llmwatch silence add` must work while the daemon
//! runs. The CLI rewrites the file atomically (write, fsync, rename); the daemon re-reads it
//! when its modification time changes.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::time::Millis;

#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    #[error("matcher `{0}`: expected label=value, label!=value, label=~regex or label!~regex")]
    BadMatcher(String),
    #[error("matcher `{matcher}`: invalid regex: {reason}")]
    BadRegex { matcher: String, reason: String },
    #[error("expected at least one matcher, e.g. --match rule=refusal_rate,model=gpt-4o")]
    NoMatchers,
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("no silence with id `{0}`")]
    UnknownId(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchOp {
    #[serde(rename = "=")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
    #[serde(rename = "=~")]
    Regex,
    #[serde(rename = "!~")]
    NotRegex,
}

/// `label=value`, `label!=value`, `label=~regex` or `label!~regex` (anchored, like
/// Alertmanager's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
    /// The regex of an `=~` matcher, compiled at its first use (a silence read from the
    /// file is matched against every notification while it lasts).
    #[serde(skip)]
    compiled: CompiledRegex,
}

/// A lazily compiled regex: derived from the matcher's text, so ignored by equality.
#[derive(Debug, Clone, Default)]
struct CompiledRegex(std::sync::OnceLock<Option<Regex>>);

impl PartialEq for CompiledRegex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for CompiledRegex {}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        };
        write!(f, "{}{op}{}", self.label, self.value)
    }
}

impl Matcher {
    /// Parses `rule=X,model=Y`.
    pub fn parse_list(s: &str) -> Result<Vec<Matcher>, SilenceError> {
        let list: Vec<Matcher> = s.split(',').filter(|p| !p.trim().is_empty()).map(Matcher::parse).collect::<Result<_, _>>()?;
        if list.is_empty() {
            return Err(SilenceError::NoMatchers);
        }
        Ok(list)
    }

    pub fn parse(s: &str) -> Result<Matcher, SilenceError> {
        let s = s.trim();
        let bad = || SilenceError::BadMatcher(s.into());
        // The operator is the first `=` or `!`: a label name may hold anything else (rules
        // group by `field("k8s/namespace")` or label `team:owner`).
        let at = s.find(['=', '!']).ok_or_else(bad)?;
        let (label, rest) = (s[..at].trim(), &s[at..]);
        let (op, value) = if let Some(v) = rest.strip_prefix("!~") {
            (MatchOp::NotRegex, v)
        } else if rest.starts_with("!=~") {
            // Not a "not equal to `~…`": that would silence nearly everything.
            return Err(bad());
        } else if let Some(v) = rest.strip_prefix("!=") {
            (MatchOp::NotEqual, v)
        } else if let Some(v) = rest.strip_prefix("=~") {
            (MatchOp::Regex, v)
        } else if let Some(v) = rest.strip_prefix('=') {
            (MatchOp::Equal, v)
        } else {
            return Err(bad());
        };
        if label.is_empty() {
            return Err(bad());
        }
        let m = Matcher { label: label.into(), op, value: value.trim().into(), compiled: CompiledRegex::default() };
        if matches!(op, MatchOp::Regex | MatchOp::NotRegex) {
            m.regex().map_err(|e| SilenceError::BadRegex { matcher: s.into(), reason: e.to_string() })?;
        }
        Ok(m)
    }

    fn regex(&self) -> Result<Regex, regex::Error> {
        Regex::new(&format!("^(?:{})$", self.value))
    }

    /// A missing label reads as the empty string, as in Alertmanager.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.label).map_or("", String::as_str);
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            // A hand-edited file can hold an invalid regex: it matches nothing.
            MatchOp::Regex => self.compiled.0.get_or_init(|| self.regex().ok()).as_ref().is_some_and(|r| r.is_match(v)),
            // Like a hand-edited invalid `=~`, an invalid `!~` matches nothing.
            MatchOp::NotRegex => self.compiled.0.get_or_init(|| self.regex().ok()).as_ref().is_some_and(|r| !r.is_match(v)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    /// Wall-clock epoch milliseconds.
    pub starts_at: Millis,
    pub ends_at: Millis,
    pub comment: String,
    pub created_by: String,
}

impl Silence {
    pub fn is_active(&self, now: Millis) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>, now: Millis) -> bool {
        self.is_active(now) && self.matchers.iter().all(|m| m.matches(labels))
    }

    pub fn matchers_text(&self) -> String {
        self.matchers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
    }
}

/// The silences file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Silences {
    pub silences: Vec<Silence>,
}

impl Silences {
    /// Reads the file; a missing file holds no silences.
    pub fn load(path: &Path) -> Result<Silences, SilenceError> {
        let err = |reason: String| SilenceError::File { path: path.to_path_buf(), reason };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| err(format!("not a silences file: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Silences::default()),
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Writes the file atomically: a reader sees the old or the new content, never half.
    pub fn save(&self, path: &Path) -> Result<(), SilenceError> {
        let err = |e: std::io::Error| SilenceError::File { path: path.to_path_buf(), reason: e.to_string() };
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp).map_err(err)?;
            f.write_all(&serde_json::to_vec_pretty(self).expect("serializable")).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// Reads, changes and writes the file under an exclusive lock on `<file>.lock`, so two
    /// `silence add` at the same instant both land (each rewrites the whole file). The
    /// daemon only reads, and the atomic rename keeps its reads whole without the lock.
    pub fn update<T>(path: &Path, change: impl FnOnce(&mut Silences) -> Result<T, SilenceError>) -> Result<T, SilenceError> {
        let err = |e: std::io::Error| SilenceError::File { path: path.to_path_buf(), reason: e.to_string() };
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(err)?;
        lock.lock().map_err(err)?;
        let mut silences = Silences::load(path)?;
        let out = change(&mut silences)?;
        silences.save(path)?;
        // Closing `lock` on return releases it.
        Ok(out)
    }

    /// The first active silence matching these labels.
    pub fn matching(&self, labels: &BTreeMap<String, String>, now: Millis) -> Option<&Silence> {
        self.silences.iter().find(|s| s.matches(labels, now))
    }

    /// Ends a silence now.
    pub fn expire(&mut self, id: &str, now: Millis) -> Result<(), SilenceError> {
        let s = self.silences.iter_mut().find(|s| s.id == id).ok_or_else(|| SilenceError::UnknownId(id.into()))?;
        s.ends_at = s.ends_at.min(now);
        Ok(())
    }

    /// Drops silences that ended more than `keep` ago.
    pub fn prune(&mut self, now: Millis, keep: Millis) {
        self.silences.retain(|s| s.ends_at > now - keep);
    }
}

/// A fresh silence id: 8 random bytes, hex.
pub fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn matchers_parse_and_match() {
        let m = Matcher::parse_list("rule=refusal_rate, model!=gpt-4o-mini,tenant=~acme|globex").unwrap();
        assert_eq!(m.len(), 3);
        let s = Silence { id: "a".into(), matchers: m, starts_at: 0, ends_at: 100, comment: String::new(), created_by: String::new() };
        assert!(s.matches(&labels(&[("rule", "refusal_rate"), ("model", "gpt-4o"), ("tenant", "acme")]), 50));
        assert!(!s.matches(&labels(&[("rule", "refusal_rate"), ("model", "gpt-4o-mini"), ("tenant", "acme")]), 50));
        assert!(!s.matches(&labels(&[("rule", "refusal_rate"), ("model", "gpt-4o"), ("tenant", "acmeX")]), 50), "anchored");
        assert!(!s.matches(&labels(&[("rule", "refusal_rate"), ("model", "gpt-4o"), ("tenant", "acme")]), 100), "ended");
        assert!(Matcher::parse_list("").is_err());
        assert!(Matcher::parse("model").is_err());
        assert!(matches!(Matcher::parse("m=~("), Err(SilenceError::BadRegex { .. })));
    }

    #[test]
    fn a_negative_regex_matcher_and_labels_of_any_name() {
        let not_gpt = Matcher::parse("model!~gpt.*").unwrap();
        assert_eq!((not_gpt.op, not_gpt.to_string()), (MatchOp::NotRegex, "model!~gpt.*".to_string()));
        assert!(!not_gpt.matches(&labels(&[("model", "gpt-4o")])));
        assert!(not_gpt.matches(&labels(&[("model", "claude-3-5-sonnet")])));
        // `!=~` once parsed as "not equal to `~gpt.*`", which silenced nearly everything.
        assert!(matches!(Matcher::parse("model!=~gpt.*"), Err(SilenceError::BadMatcher(_))));
        assert!(Matcher::parse("!=x").is_err());
        // Rules may group by any field name and label with any key.
        for (text, label) in [("k8s/namespace=prod", "k8s/namespace"), ("team:owner=ml", "team:owner"), ("attr.region =~ eu-.*", "attr.region")] {
            assert_eq!(Matcher::parse(text).unwrap().label, label, "{text}");
        }
        let round: Matcher = serde_json::from_str(&serde_json::to_string(&not_gpt).unwrap()).unwrap();
        assert_eq!(round, not_gpt);
    }

    #[test]
    fn the_file_round_trips_and_expires() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("silences.json");
        assert_eq!(Silences::load(&path).unwrap(), Silences::default());
        let mut s = Silences::default();
        s.silences.push(Silence { id: new_id(), matchers: Matcher::parse_list("rule=x").unwrap(), starts_at: 0, ends_at: 1000, comment: "deploy".into(), created_by: "me".into() });
        s.save(&path).unwrap();
        let mut back = Silences::load(&path).unwrap();
        assert_eq!(back, s);
        let id = back.silences[0].id.clone();
        back.expire(&id, 10).unwrap();
        assert!(!back.silences[0].is_active(10));
        assert!(back.expire("nope", 10).is_err());
        std::fs::write(&path, "{").unwrap();
        assert!(Silences::load(&path).unwrap_err().to_string().contains("silences.json"));
    }

    #[test]
    fn concurrent_updates_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("silences.json");
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    Silences::update(&path, |s| {
                        let matchers = Matcher::parse_list(&format!("tenant=t{i}")).unwrap();
                        s.silences.push(Silence { id: format!("s{i}"), matchers, starts_at: 0, ends_at: 100, comment: String::new(), created_by: String::new() });
                        // Widen the window in which an unlocked read-modify-write loses one.
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        Ok(())
                    })
                    .unwrap()
                })
            })
            .collect();
        writers.into_iter().for_each(|w| w.join().unwrap());
        let mut ids: Vec<_> = Silences::load(&path).unwrap().silences.into_iter().map(|s| s.id).collect();
        ids.sort();
        assert_eq!(ids, (0..8).map(|i| format!("s{i}")).collect::<Vec<_>>());
    }

    #[test]
    fn a_regex_matcher_is_compiled_once_and_an_invalid_one_matches_nothing() {
        let m = &Matcher::parse_list("tenant=~acme|globex").unwrap()[0];
        assert!(m.matches(&labels(&[("tenant", "acme")])) && m.matches(&labels(&[("tenant", "globex")])));
        assert!(m.compiled.0.get().is_some_and(Option::is_some));
        let bad: Matcher = serde_json::from_str(r#"{"label":"tenant","op":"=~","value":"("}"#).unwrap();
        assert!(!bad.matches(&labels(&[("tenant", "(")])));
    }
}
