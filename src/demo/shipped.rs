//! The shipped rule packs, embedded so `llmwatch demo` works from any directory.

use std::path::PathBuf;

use crate::rules::{Diagnostic, LoadOptions, RuleSet, load_sources};

macro_rules! packs {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../", $path)))),*]
    };
}

/// (path in the repository, text) of every shipped rule file.
pub const SHIPPED_RULES: &[(&str, &str)] = packs![
    "rules/crawl/answers.yaml",
    "rules/crawl/errors.yaml",
    "rules/crawl/latency.yaml",
    "rules/crawl/traffic.yaml",
    "rules/walk/feedback.yaml",
    "rules/walk/format.yaml",
    "rules/walk/language.yaml",
    "rules/walk/pii.yaml",
    "rules/walk/refusals.yaml",
    "rules/run/comparisons.yaml",
    "rules/run/cost.yaml",
    "rules/run/outcomes.yaml",
    "rules/run/rephrase.yaml",
];

/// Loads the embedded packs.
pub fn shipped_rules() -> Result<RuleSet, Vec<Diagnostic>> {
    let sources: Vec<(PathBuf, String)> = SHIPPED_RULES.iter().map(|(p, s)| (PathBuf::from(p), s.to_string())).collect();
    let (set, diags) = load_sources(&sources, &LoadOptions::default());
    if diags.is_empty() { Ok(set) } else { Err(diags) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rule_file_in_the_repository_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = crate::rules::rule_files_in(&[root.join("rules")]).unwrap();
        let embedded: Vec<_> = super::SHIPPED_RULES.iter().map(|(p, _)| root.join(p)).collect();
        for f in files {
            assert!(embedded.contains(&f), "{} is not in SHIPPED_RULES", f.display());
        }
    }
}
