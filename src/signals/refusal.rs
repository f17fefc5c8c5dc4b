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
            // Straight, typographic (U+2019) and modifier-letter (U+02BC) apostrophes alike,
            // and any space as a normal, no-break (U+00A0) or narrow no-break (U+202F) one:
            // models and keyboards emit them all.
            .map(|p| {
                let p: String = p.trim().chars().map(|c| if matches!(c, '\u{00A0}' | '\u{202F}') { ' ' } else { c }).collect();
                let pattern = regex::escape(&p).replace(['\'', '’', 'ʼ'], "['’ʼ]").replace(' ', "[ \u{00A0}\u{202F}]");
                // A phrase starting with a letter starts a word: "API cannot provide" holds
                // "i cannot provide". ASCII-only, which keeps the regex on its fast engine.
                if p.starts_with(|c: char| c.is_ascii_alphanumeric()) { format!("(?-u:\\b){pattern}") } else { pattern }
            })
            .collect();
        let regex = if alternatives.is_empty() { None } else { Some(Regex::new(&format!("(?i)(?:{})", alternatives.join("|")))?) };
        Ok(RefusalMatcher { regex, scan_chars })
    }

    pub fn is_refusal(&self, output: &str) -> bool {
        let Some(re) = &self.regex else { return false };
        re.is_match(super::prefix_chars(output, self.scan_chars))
    }
}
