//! Language detection (whatlang), restricted to the configured languages and bounded in
//! cost: at most `max_chars` characters are read, and texts with fewer than `min_letters`
//! letters or a low-confidence result give no answer rather than a guess.

use std::borrow::Cow;

use whatlang::{Detector, Lang};

use super::config::LanguageConfig;

/// A detected language as its ISO 639-3 code (`eng`, `fra`, …): small, `Copy`, serializable.
pub type LangCode = [u8; 3];

pub struct LanguageDetector {
    detector: Detector,
    min_letters: usize,
    max_chars: usize,
    min_confidence: f64,
    /// Japanese is among the configured languages (or every language is).
    japanese_allowed: bool,
}

impl LanguageDetector {
    pub fn new(config: &LanguageConfig) -> Self {
        let langs: Vec<Lang> = config.languages.iter().filter_map(|c| Lang::from_code(c.as_str())).collect();
        let japanese_allowed = langs.is_empty() || langs.contains(&Lang::Jpn);
        let detector = if langs.is_empty() { Detector::new() } else { Detector::with_allowlist(langs) };
        LanguageDetector {
            detector,
            min_letters: config.min_letters,
            max_chars: config.max_chars,
            min_confidence: config.min_confidence,
            japanese_allowed,
        }
    }

    /// The language of `text`, or `None` when too short or not confidently detected.
    /// Code (fenced blocks, inline `code` spans) and URLs are not prose and are left out;
    /// a text whose letters include enough kana is Japanese.
    pub fn detect(&self, text: &str) -> Option<LangCode> {
        let prose = prose(text, self.max_chars);
        let sample: &str = &prose;
        let (mut letters, mut kana) = (0usize, 0usize);
        for c in sample.chars().filter(|c| c.is_alphabetic()) {
            letters += 1;
            kana += is_kana(c) as usize;
        }
        if letters < self.min_letters {
            return None;
        }
        // Hiragana and katakana are written in Japanese only; Latin terms in a Japanese
        // sentence ("Reactのコンポーネントでstateを…") would otherwise outvote them.
        if kana * 10 >= letters * KANA_TENTHS && self.japanese_allowed {
            return Some(*b"jpn");
        }
        let info = self.detector.detect(sample)?;
        if info.confidence() < self.min_confidence {
            return None;
        }
        let code = info.lang().code().as_bytes();
        Some([code[0], code[1], code[2]])
    }
}

/// A text is Japanese when at least this many tenths of its letters are kana: Japanese
/// prose with Latin terms has about half, an English answer quoting a Japanese phrase
/// ("a polite thank you is ありがとうございます") about a seventh.
const KANA_TENTHS: usize = 3;

fn is_kana(c: char) -> bool {
    matches!(c as u32, 0x3041..=0x309F | 0x30A1..=0x30FA | 0x30FD..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9D)
}

/// The first `max_chars` characters of `text` once fenced code blocks (to the closing
/// fence, or to the end when it is not closed), inline `code` spans and URLs
/// (`http://…`, `https://…`, `www.…`, to the next whitespace) are cut out. Borrowed when
/// the text has none of them.
fn prose(text: &str, max_chars: usize) -> Cow<'_, str> {
    let head = super::prefix_chars(text, max_chars);
    // Only a marker starting within the first `max_chars` characters changes what is read,
    // and the longest (`https://`) ends within 7 more: look there, not through a megabyte.
    let near = super::prefix_chars(text, max_chars + 7);
    if !near.contains('`') && !near.contains("://") && !near.contains("www.") {
        return Cow::Borrowed(head);
    }
    let mut out = String::with_capacity(head.len());
    let mut kept = 0;
    let mut rest = text;
    while kept < max_chars && !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("```") {
            rest = after.find("```").map_or("", |i| &after[i + 3..]);
            out.push(' ');
            continue;
        }
        if let Some(after) = rest.strip_prefix('`')
            && let Some(i) = after.find(['`', '\n'])
            && after.as_bytes()[i] == b'`'
        {
            rest = &after[i + 1..];
            out.push(' ');
            continue;
        }
        if rest.starts_with("http://") || rest.starts_with("https://") || rest.starts_with("www.") {
            rest = rest.find(char::is_whitespace).map_or("", |i| &rest[i..]);
            continue;
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        kept += 1;
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
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

    #[test]
    fn japanese_with_latin_terms_code_and_urls() {
        let d = LanguageDetector::new(&LanguageConfig::default());
        let ja = "Reactのコンポーネントでstateを更新するにはuseStateフックを使います。";
        assert_eq!(&d.detect(ja).unwrap(), b"jpn");
        // Code and links are not the answer's language.
        let fenced = "Voici comment faire :\n```python\ndef reset_password(user):\n    return send_reset_link(user.email)\n```\nEnsuite, vérifiez votre boîte de réception.";
        assert_eq!(&d.detect(fenced).unwrap(), b"fra");
        let inline = "Utilisez `getServerSideProps` ou `useEffect` et consultez https://nextjs.org/docs/pages/building-your-application/data-fetching pour les détails.";
        assert_eq!(&d.detect(inline).unwrap(), b"fra");
        assert_eq!(prose("a `b` c https://x.y/z d ```e``` f", 100), "a   c  d   f");
        assert_eq!(prose("a ```unclosed code", 100), "a  ");
        // A marker after what is read changes nothing; one straddling its end does.
        assert!(matches!(prose("abcd efghijkl `x`", 4), Cow::Borrowed("abcd")));
        assert_eq!(prose("abc https://x.y/z def", 5), "abc  ");
    }
}
