//! The daemon config (TOML): Kafka, store, rules, engine, limits. `llmwatch config check`
//! reports every problem with its key path (`kafka.topics: expected at least one topic`).
//!
//! Invariant: decoding validates; a `Config` that exists is complete and consistent.
//! Secrets stay unresolved ([`Secret`]) until the component that needs them starts.

mod check;
mod secret;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use check::Checker;
pub use secret::{Secret, SecretError};

use crate::event::{AttributionConfig, DedupConfig};

use crate::eval::EngineConfig;
use crate::signals::SignalConfig;
use crate::notify::NotifyConfig;
use crate::time::Duration;

/// One config problem: the key path and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { write!(f, "{}", self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

/// Every problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    pub file: PathBuf,
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {e}", self.file.display())?;
        }
        Ok(())
    }
}

/// `[kafka]`: where events come from.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port]`.
    pub brokers: String,
    /// Topics to consume (one consumer group over all of them).
    pub topics: Vec<String>,
    pub group_id: String,
    /// Where bad messages are copied, with an error header; none = only counted and logged.
    pub dead_letter_topic: Option<String>,
    /// Messages larger than this are rejected as `oversize`.
    pub max_message_bytes: usize,
    /// librdkafka settings passed through as they are (`security.protocol`, `sasl.*`,
    /// `ssl.*` …); values may be secrets.
    pub properties: BTreeMap<String, Secret>,
}

/// `[store]`: the sled database holding all state.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    pub path: PathBuf,
    /// How often windows, alerts, dedup memory and offsets are checkpointed together.
    pub checkpoint_interval: Duration,
}

/// `[limits]`: bounds that keep memory flat under pressure.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// How long shutdown may take before the process exits anyway.
    pub shutdown_timeout: Duration,
    /// librdkafka's prefetch queue, in KiB (`queued.max.messages.kbytes`): the bound on
    /// memory held for messages not yet processed.
    pub prefetch_kbytes: usize,
    /// An event timestamped further ahead of this machine's clock is rejected as
    /// `bad_timestamp` (and dead-lettered): accepted, it would move its partition's clock
    /// ahead and make every later event of that partition "late".
    pub max_future: Duration,
}

/// The whole daemon config.
#[derive(Debug, Clone)]
pub struct Config {
    pub kafka: KafkaConfig,
    pub store: StoreConfig,
    /// Rule files or directories.
    pub rules: Vec<PathBuf>,
    pub engine: EngineConfig,
    pub limits: Limits,
    /// `[[receivers]]` and `[routing]`.
    pub notify: NotifyConfig,
}

const TOP_KEYS: &[&str] = &["kafka", "store", "rules", "engine", "limits", "receivers", "routing"];
const KAFKA_KEYS: &[&str] = &["brokers", "topics", "group_id", "dead_letter_topic", "max_message_bytes", "properties"];
const STORE_KEYS: &[&str] = &["path", "checkpoint_interval"];
const RULES_KEYS: &[&str] = &["paths"];
const LIMITS_KEYS: &[&str] = &["shutdown_timeout", "prefetch_kbytes", "max_future"];
const ENGINE_KEYS: &[&str] = &["allowed_lateness", "tick", "samples", "max_series", "dedup", "attribution", "signals"];

impl Config {
    /// Reads and validates a config file. Relative paths in it are relative to the file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            file: path.into(),
            errors: vec![ConfigError { path: String::new(), message: format!("cannot read: {e}") }],
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, base).map_err(|errors| ConfigErrors { file: path.into(), errors })
    }

    /// Validates config text; every problem is returned.
    pub fn parse(text: &str, base: &Path) -> Result<Config, Vec<ConfigError>> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let where_ = e.span().map(|s| line_col(text, s.start)).map(|(l, c)| format!("line {l}, column {c}: ")).unwrap_or_default();
            vec![ConfigError { path: String::new(), message: format!("{where_}invalid TOML: {}", e.message()) }]
        })?;
        let mut c = Checker::default();
        c.known_keys(&table, "", TOP_KEYS);

        let kafka = c.section(&table, "kafka", true).map(|t| {
            c.known_keys(t, "kafka", KAFKA_KEYS);
            let topics: Vec<String> = c.required(t, "kafka", "topics").unwrap_or_default();
            if t.contains_key("topics") && topics.is_empty() {
                c.error("kafka.topics", "expected at least one topic");
            }
            if topics.iter().any(|t| t.trim().is_empty()) {
                c.error("kafka.topics", "a topic name must not be empty");
            }
            // Empty names pass TOML and fail in librdkafka with messages naming no key.
            KafkaConfig {
                brokers: c.required_nonempty(t, "kafka", "brokers").unwrap_or_default(),
                topics,
                group_id: c.optional_nonempty(t, "kafka", "group_id").unwrap_or_else(|| "llmwatch".into()),
                dead_letter_topic: c.optional_nonempty(t, "kafka", "dead_letter_topic"),
                max_message_bytes: c.optional_positive(t, "kafka", "max_message_bytes").unwrap_or(1 << 20),
                properties: kafka_properties(t, &mut c, base),
            }
        });
        let store = c.section(&table, "store", true).map(|t| {
            c.known_keys(t, "store", STORE_KEYS);
            let path: PathBuf = c.required(t, "store", "path").unwrap_or_default();
            if t.contains_key("path") && path.as_os_str().is_empty() {
                c.error("store.path", "must not be empty");
            }
            StoreConfig {
                path: base.join(path),
                checkpoint_interval: c.optional_positive_duration(t, "store", "checkpoint_interval").unwrap_or(Duration::from_secs(1)),
            }
        });
        let rules = c.section(&table, "rules", true).map(|t| {
            c.known_keys(t, "rules", RULES_KEYS);
            let paths: Vec<PathBuf> = c.required(t, "rules", "paths").unwrap_or_default();
            if t.contains_key("paths") && paths.is_empty() {
                c.error("rules.paths", "expected at least one rule file or directory");
            }
            paths.into_iter().map(|p| base.join(p)).collect::<Vec<_>>()
        });
        let mut engine = EngineConfig::default();
        if let Some(t) = c.section(&table, "engine", false) {
            c.known_keys(t, "engine", ENGINE_KEYS);
            if let Some(d) = c.optional_duration(t, "engine", "allowed_lateness") {
                engine.allowed_lateness = d;
            }
            if let Some(d) = c.optional_duration(t, "engine", "tick") {
                if d.as_millis() < 1000 {
                    c.error("engine.tick", "expected at least 1s");
                }
                engine.tick = d;
            }
            if let Some(n) = c.optional(t, "engine", "samples") {
                engine.samples = n;
            }
            if let Some(n) = c.optional_positive(t, "engine", "max_series") {
                engine.max_series = n;
            }
            if let Some(v) = c.optional::<DedupConfig>(t, "engine", "dedup") {
                if v.max_ids == 0 {
                    c.error("engine.dedup.max_ids", "expected a whole number greater than 0 (0 would turn duplicate detection off)");
                }
                engine.dedup = v;
            }
            if let Some(v) = c.optional::<AttributionConfig>(t, "engine", "attribution") {
                if v.max_entries == 0 {
                    c.error("engine.attribution.max_entries", "expected a whole number greater than 0");
                }
                engine.attribution = v;
            }
            if let Some(mut v) = c.optional::<SignalConfig>(t, "engine", "signals") {
                // Checked before the merge, so `prices[i]` is the file's i-th entry.
                for (key, message) in v.validate() {
                    c.error(format!("engine.signals.{key}"), message);
                }
                // Configured prices add to and override the default table, never replace it.
                v.prices = crate::signals::merge_prices(v.prices);
                engine.signals = v;
            }
        }
        let mut limits = Limits { shutdown_timeout: Duration::from_secs(10), prefetch_kbytes: 16 * 1024, max_future: Duration::from_secs(3600) };
        if let Some(t) = c.section(&table, "limits", false) {
            c.known_keys(t, "limits", LIMITS_KEYS);
            if let Some(d) = c.optional_positive_duration(t, "limits", "shutdown_timeout") {
                limits.shutdown_timeout = d;
            }
            if let Some(n) = c.optional_positive(t, "limits", "prefetch_kbytes") {
                limits.prefetch_kbytes = n;
            }
            if let Some(d) = c.optional_positive_duration(t, "limits", "max_future") {
                limits.max_future = d;
            }
        }
        let notify = NotifyConfig::decode(&table, &mut c, base);
        if c.errors.is_empty() {
            Ok(Config {
                kafka: kafka.expect("checked"),
                store: store.expect("checked"),
                rules: rules.expect("checked"),
                engine,
                limits,
                notify,
            })
        } else {
            Err(c.errors)
        }
    }
}

fn line_col(text: &str, byte: usize) -> (usize, usize) {
    let before = &text[..byte.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// `[kafka.properties]`, each passed to librdkafka as text: strings, numbers and booleans
/// as written, secrets resolved later. A bad one is reported under its own name.
fn kafka_properties(t: &toml::Table, c: &mut Checker, base: &Path) -> BTreeMap<String, Secret> {
    let mut out = BTreeMap::new();
    let Some(v) = t.get("properties") else { return out };
    let Some(table) = v.as_table() else {
        c.error("kafka.properties", "expected a table of librdkafka properties");
        return out;
    };
    for (key, v) in table {
        let value = match v {
            toml::Value::String(s) => Some(Secret::Inline(s.clone())),
            toml::Value::Integer(i) => Some(Secret::Inline(i.to_string())),
            toml::Value::Float(f) => Some(Secret::Inline(f.to_string())),
            toml::Value::Boolean(b) => Some(Secret::Inline(b.to_string())),
            other => other.clone().try_into::<Secret>().ok(),
        };
        match value {
            Some(secret) => {
                out.insert(key.clone(), secret.relative_to(base));
            }
            None => c.error(format!("kafka.properties.{key}"), "expected a string, number, boolean, { env = \"…\" } or { file = \"…\" }"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[kafka]
brokers = "127.0.0.1:9092"
topics = ["llm-events"]
group_id = "llmwatch-prod"
dead_letter_topic = "llm-events-dlq"

[kafka.properties]
"security.protocol" = "SASL_SSL"
"sasl.password" = { env = "KAFKA_PASSWORD" }
"ssl.key.password" = { file = "secrets/key-password" }
"fetch.max.bytes" = 1048576
"enable.partition.eof" = false

[store]
path = "state"
checkpoint_interval = "2s"

[rules]
paths = ["rules"]

[engine]
allowed_lateness = "1m"
dedup = { horizon = "2h", max_ids = 5000 }
"#;

    #[test]
    fn a_good_config_decodes_with_paths_relative_to_the_file() {
        let c = Config::parse(GOOD, Path::new("/etc/llmwatch")).unwrap();
        assert_eq!(c.kafka.topics, ["llm-events"]);
        assert_eq!(c.store.path, PathBuf::from("/etc/llmwatch/state"));
        assert_eq!(c.store.checkpoint_interval, Duration::from_secs(2));
        assert_eq!(c.engine.allowed_lateness, Duration::from_secs(60));
        assert_eq!(c.engine.dedup.max_ids, 5000);
        assert_eq!(c.kafka.properties["sasl.password"], Secret::Env { env: "KAFKA_PASSWORD".into() });
        // Secret files too are relative to the config file, not to the working directory.
        assert_eq!(c.kafka.properties["ssl.key.password"], Secret::File { file: "/etc/llmwatch/secrets/key-password".into() });
        // librdkafka properties are text: numbers and booleans are passed as written.
        assert_eq!(c.kafka.properties["fetch.max.bytes"], Secret::Inline("1048576".into()));
        assert_eq!(c.kafka.properties["enable.partition.eof"], Secret::Inline("false".into()));
        assert_eq!(c.rules, [PathBuf::from("/etc/llmwatch/rules")]);
    }

    #[test]
    fn every_error_is_reported_with_its_key_path() {
        let bad = r#"
[kafka]
brokers = ""
topics = []
max_message_bytes = 0
bootstrap = "x"
properties = { "sasl.password" = { evn = "X" } }

[store]
checkpoint_interval = "soon"

[engine]
tick = "100ms"
lateness = "30s"

[limits]
prefetch_kbytes = "big"
"#;
        let errors = Config::parse(bad, Path::new(".")).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let expect = [
            "kafka: unknown key `bootstrap`",
            "kafka.topics: expected at least one topic",
            "kafka.brokers: must not be empty",
            "kafka.max_message_bytes: expected a whole number greater than 0",
            "kafka.properties.sasl.password: expected a string, number, boolean",
            "store.path: missing",
            "store.checkpoint_interval: invalid duration \"soon\"",
            "rules: missing section [rules]",
            "engine: unknown key `lateness` (did you mean `allowed_lateness`?)",
            "engine.tick: expected at least 1s",
            "limits.prefetch_kbytes: expected a whole number greater than 0",
        ];
        for want in expect {
            assert!(text.iter().any(|t| t.starts_with(want)), "missing {want:?} in {text:#?}");
        }
        assert_eq!(text.len(), expect.len(), "{text:#?}");
    }

    #[test]
    fn empty_names_partial_engine_tables_and_nested_sections_are_checked_by_key_path() {
        let text = r#"
[kafka]
brokers = "localhost:9092"
topics = ["events", " "]
group_id = ""
dead_letter_topic = ""

[store]
path = ""
checkpoint_interval = "0s"

[rules]
paths = ["rules"]

[engine]
dedup = { horizon = "2h" }
attribution = { max_entriez = 5 }

[routing]
default = "team"
"#;
        let errors = Config::parse(text, Path::new(".")).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let expect = [
            "kafka.topics: a topic name must not be empty",
            "kafka.group_id: must not be empty",
            "kafka.dead_letter_topic: must not be empty",
            "store.path: must not be empty",
            "store.checkpoint_interval: expected a duration longer than 0",
            "engine.attribution: unknown field `max_entriez`",
            "routing.default: expected a table",
        ];
        for want in expect {
            assert!(text.iter().any(|t| t.starts_with(want)), "missing {want:?} in {text:#?}");
        }
        assert_eq!(text.len(), expect.len(), "{text:#?}");
        // A partial table keeps the defaults of what it leaves out; zero is refused.
        let ok = GOOD.replace("dedup = { horizon = \"2h\", max_ids = 5000 }", "dedup = { horizon = \"2h\" }");
        assert_eq!(Config::parse(&ok, Path::new(".")).unwrap().engine.dedup.max_ids, DedupConfig::default().max_ids);
        let zero = GOOD.replace("max_ids = 5000", "max_ids = 0");
        let errors = Config::parse(&zero, Path::new(".")).unwrap_err();
        assert!(errors[0].to_string().starts_with("engine.dedup.max_ids: expected a whole number greater than 0"), "{errors:?}");
    }

    #[test]
    fn signal_settings_are_validated_by_key_path_and_prices_merge_over_the_defaults() {
        let bad = format!(
            "{GOOD}\n[engine.signals]\nrefusal_phrases = [\"\"]\npii_allow = [\"support@acme.com\", \"front desk\"]\nlanguage = {{ languages = [\"klingon\"], min_confidence = 7 }}\nrephrase = {{ min_similarity = -3 }}\nmemory = {{ max_conversations = 0 }}\n[[engine.signals.prices]]\nmodel = \"my-finetune\"\ninput_per_million = -1.0\noutput_per_million = 2.0\n"
        );
        let errors = Config::parse(&bad, Path::new(".")).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let expect = [
            "engine.signals.refusal_phrases[0]: a phrase must not be empty",
            "engine.signals.language.languages[0]: unknown ISO 639-3 code `klingon`",
            "engine.signals.language.min_confidence: expected a number from 0 to 1, found 7",
            "engine.signals.rephrase.min_similarity: expected a number from 0 to 1, found -3",
            "engine.signals.pii_allow[1]: `front desk` is neither an e-mail address nor a phone number",
            "engine.signals.prices[0].input_per_million: expected a price of 0 or more for `my-finetune`, found -1",
            "engine.signals.memory.max_conversations: expected at least 1",
        ];
        for want in expect {
            assert!(text.iter().any(|t| t.starts_with(want)), "missing {want:?} in {text:#?}");
        }
        assert_eq!(text.len(), expect.len(), "{text:#?}");

        let ok = format!("{GOOD}\n[[engine.signals.prices]]\nmodel = \"GPT-4o\"\ninput_per_million = 2.0\noutput_per_million = 8.0\n[[engine.signals.prices]]\nmodel = \"my-finetune\"\ninput_per_million = 3.0\noutput_per_million = 12.0\n");
        let prices = Config::parse(&ok, Path::new(".")).unwrap().engine.signals.prices;
        let price = |m: &str| prices.iter().find(|p| p.model.eq_ignore_ascii_case(m)).map(|p| p.input_per_million);
        assert_eq!(price("gpt-4o"), Some(2.0), "overridden");
        assert_eq!(price("my-finetune"), Some(3.0), "added");
        assert_eq!(price("gpt-4o-mini"), Some(0.15), "defaults kept");
        assert_eq!(prices.len(), crate::signals::SignalConfig::default().prices.len() + 1);
    }

    #[test]
    fn toml_syntax_errors_have_a_position() {
        let errors = Config::parse("[kafka\nbrokers = 1", Path::new(".")).unwrap_err();
        assert!(errors[0].message.starts_with("line 1, column"), "{}", errors[0]);
    }
}
