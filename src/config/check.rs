//! A validating walk over a TOML table that collects every problem with its key path,
//! where serde would stop at the first.

use serde::de::DeserializeOwned;

use super::ConfigError;
use crate::time::Duration;

#[derive(Debug, Default)]
pub struct Checker {
    pub errors: Vec<ConfigError>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

impl Checker {
    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError { path: path.into(), message: message.into() });
    }

    /// Reports keys not in `known`, with a suggestion for a near miss.
    pub fn known_keys(&mut self, table: &toml::Table, path: &str, known: &[&str]) {
        for key in table.keys() {
            if !known.contains(&key.as_str()) {
                let hint = crate::rules::yaml::suggest(key, known.iter().copied());
                let at = if path.is_empty() { String::new() } else { path.to_string() };
                self.error(at, format!("unknown key `{key}`{hint}; expected one of: {}", known.join(", ")));
            }
        }
    }

    /// A sub-table; `required` sections missing are an error.
    pub fn section<'t>(&mut self, table: &'t toml::Table, key: &str, required: bool) -> Option<&'t toml::Table> {
        self.section_at(table, "", key, required)
    }

    /// [`Checker::section`] for a table inside the table at `path`, reported under its
    /// full key path (`routing.default`, not `default`).
    pub fn section_at<'t>(&mut self, table: &'t toml::Table, path: &str, key: &str, required: bool) -> Option<&'t toml::Table> {
        match table.get(key) {
            Some(toml::Value::Table(t)) => Some(t),
            Some(_) => {
                self.error(join(path, key), "expected a table");
                None
            }
            None if required => {
                let at = join(path, key);
                self.error(at.clone(), format!("missing section [{at}]"));
                None
            }
            None => None,
        }
    }

    pub fn optional<T: DeserializeOwned>(&mut self, table: &toml::Table, path: &str, key: &str) -> Option<T> {
        let v = table.get(key)?;
        match v.clone().try_into::<T>() {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(join(path, key), e.message().trim().to_string());
                None
            }
        }
    }

    pub fn required<T: DeserializeOwned>(&mut self, table: &toml::Table, path: &str, key: &str) -> Option<T> {
        if !table.contains_key(key) {
            self.error(join(path, key), "missing");
            return None;
        }
        self.optional(table, path, key)
    }

    pub fn required_nonempty(&mut self, table: &toml::Table, path: &str, key: &str) -> Option<String> {
        let s: String = self.required(table, path, key)?;
        if s.trim().is_empty() {
            self.error(join(path, key), "must not be empty");
            return None;
        }
        Some(s)
    }

    /// [`Checker::required_nonempty`] for a key that may be left out.
    pub fn optional_nonempty(&mut self, table: &toml::Table, path: &str, key: &str) -> Option<String> {
        let s: String = self.optional(table, path, key)?;
        if s.trim().is_empty() {
            self.error(join(path, key), "must not be empty");
            return None;
        }
        Some(s)
    }

    pub fn optional_positive(&mut self, table: &toml::Table, path: &str, key: &str) -> Option<usize> {
        match table.get(key)? {
            toml::Value::Integer(n) if *n > 0 => Some(*n as usize),
            _ => {
                self.error(join(path, key), "expected a whole number greater than 0");
                None
            }
        }
    }

    pub fn optional_duration(&mut self, table: &toml::Table, path: &str, key: &str) -> Option<Duration> {
        match table.get(key)? {
            toml::Value::String(s) => match Duration::parse(s) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.error(join(path, key), e.to_string());
                    None
                }
            },
            _ => {
                self.error(join(path, key), "expected a duration string such as \"30s\" or \"5m\"");
                None
            }
        }
    }

    /// [`Checker::optional_duration`] that must be longer than zero.
    pub fn optional_positive_duration(&mut self, table: &toml::Table, path: &str, key: &str) -> Option<Duration> {
        let d = self.optional_duration(table, path, key)?;
        if d.as_millis() <= 0 {
            self.error(join(path, key), "expected a duration longer than 0");
            return None;
        }
        Some(d)
    }
}
