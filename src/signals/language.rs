//! Language detection (whatlang), restricted to the configured languages and bounded in
//! cost: at most `max_chars` characters are read, and texts with fewer than `min_letters`
//! letters or a low-confidence result give no answer rather than a guess.

use whatlang::{Detector, Lang};

use super::config::LanguageConfig;

/// A detected language as its ISO 639-3 code (`eng`, `fra`, …): small, `Copy`, serializable.
pub type LangCode = [u8; 3];

pub struct LanguageDetector {
    detector: Detector,
    min_letters: usize,
    max_chars: usize,
    min_confidence: f64,
}

impl LanguageDetector {
    pub fn new(config: &LanguageConfig) -> Self {
        let langs: Vec<Lang> = config.languages.iter().filter_map(|c| Lang::from_code(c.as_str())).collect();
        let detector = if langs.is_empty() { Detector::new() } else { Detector::with_allowlist(langs) };
        LanguageDetector {
            detector,
            min_letters: config.min_letters,
            max_chars: config.max_chars,
            min_confidence: config.min_confidence,
        }
    }

    /// The language of `text`, or `None` when too short or not confidently detected.
    pub fn detect(&self, text: &str) -> Option<LangCode> {
        let sample = super::prefix_chars(text, self.max_chars);
        if sample.chars().filter(|c| c.is_alphabetic()).count() < self.min_letters {
            return None;
        }
        let info = self.detector.detect(sample)?;
        if info.confidence() < self.min_confidence {
            return None;
        }
        let code = info.lang().code().as_bytes();
        Some([code[0], code[1], code[2]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_short_is_unknown() {
        let d = LanguageDetector::new(&LanguageConfig::default());
        assert_eq!(d.detect("Merci !"), None);
        assert_eq!(&d.detect("Vous pouvez retourner tout article dans les trente jours.").unwrap(), b"fra");
    }
}
