//! Secrets in the config: never written inline in production, never logged.

use std::fmt;

use serde::Deserialize;

/// A secret value: inline (for tests), from an environment variable, or from a file (the
/// systemd-credentials / Kubernetes-secret way). `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Secret {
    Inline(String),
    Env { env: String },
    File { file: std::path::PathBuf },
}

/// Why a secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    #[error("cannot read secret file {path}: {reason}")]
    File { path: String, reason: String },
}

impl Secret {
    /// With a relative file path taken relative to `base` (the config file's directory), as
    /// every other path in the config is: under systemd the working directory is `/`.
    pub fn relative_to(self, base: &std::path::Path) -> Secret {
        match self {
            Secret::File { file } => Secret::File { file: base.join(file) },
            other => other,
        }
    }

    /// The value; a file's trailing newline is dropped.
    pub fn resolve(&self) -> Result<String, SecretError> {
        match self {
            Secret::Inline(v) => Ok(v.clone()),
            Secret::Env { env } => std::env::var(env).map_err(|_| SecretError::MissingEnv(env.clone())),
            Secret::File { file } => std::fs::read_to_string(file)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| SecretError::File { path: file.display().to_string(), reason: e.to_string() }),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Inline(_) => write!(f, "Secret(<inline, redacted>)"),
            Secret::Env { env } => write!(f, "Secret(env {env})"),
            Secret::File { file } => write!(f, "Secret(file {})", file.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_resolve_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "hunter2\n").unwrap();
        let s = Secret::File { file: path };
        assert_eq!(s.resolve().unwrap(), "hunter2");
        assert!(!format!("{:?}", Secret::Inline("hunter2".into())).contains("hunter2"));
        let e = Secret::Env { env: "LLMWATCH_TEST_SURELY_UNSET".into() }.resolve().unwrap_err();
        assert_eq!(e.to_string(), "environment variable LLMWATCH_TEST_SURELY_UNSET is not set");
    }
}
