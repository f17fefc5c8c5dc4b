//! `signal.refusal`: the answer opens with one of the configured refusal phrases.

use regex::Regex;

/// One case-insensitive alternation of every phrase, compiled once.
pub struct RefusalMatcher {
    regex: Option<Regex>,
    scan_chars: usize,
}

impl RefusalMatcher {
    pub fn new(phrases: &[String], scan_chars: usize) -> Result<Self, regex::Error> {
        let alternatives: Vec<String> = phrases
            .iter()
            .filter(|p| !p.trim().is_empty())
            // Typographic and straight apostrophes alike: models emit both.
            .map(|p| regex::escape(p.trim()).replace(['\'', '’'], "['’]"))
            .collect();
        let regex = if alternatives.is_empty() { None } else { Some(Regex::new(&format!("(?i)(?:{})", alternatives.join("|")))?) };
        Ok(RefusalMatcher { regex, scan_chars })
    }

    pub fn is_refusal(&self, output: &str) -> bool {
        let Some(re) = &self.regex else { return false };
        re.is_match(super::prefix_chars(output, self.scan_chars))
    }
}
