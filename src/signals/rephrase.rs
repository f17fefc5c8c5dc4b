//! `signal.rephrase`: how alike two user turns are. Texts are normalized (lowercased,
//! punctuation dropped, at most `max_chars` characters) and compared as sets of words with
//! the Jaccard index |A ∩ B| / |A ∪ B|: robust to reordering, added filler ("sorry,
//! again:") and punctuation, cheap, and language-independent.

/// Lowercased words of the first `max_chars` characters, punctuation removed.
pub fn normalize(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars));
    let mut last_space = true;
    for c in text.chars().take(max_chars) {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            last_space = false;
        } else if !last_space {
            out.push(' ');
            last_space = true;
        }
    }
    out.trim_end().to_string()
}

/// Jaccard similarity of the word sets of two normalized texts (0 when either is empty).
pub fn similarity(a: &str, b: &str) -> f64 {
    let mut wa: Vec<&str> = a.split(' ').filter(|w| !w.is_empty()).collect();
    let mut wb: Vec<&str> = b.split(' ').filter(|w| !w.is_empty()).collect();
    if wa.is_empty() || wb.is_empty() {
        return 0.0;
    }
    wa.sort_unstable();
    wa.dedup();
    wb.sort_unstable();
    wb.dedup();
    let inter = wa.iter().filter(|w| wb.binary_search(w).is_ok()).count();
    inter as f64 / (wa.len() + wb.len() - inter) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(a: &str, b: &str) -> f64 {
        similarity(&normalize(a, 500), &normalize(b, 500))
    }

    #[test]
    fn rephrasings_are_similar_and_follow_ups_are_not() {
        assert!(sim("how do I reset my password", "how can I reset my password??") >= 0.6);
        assert!(sim("Why was my card declined?", "my card was declined, why?") >= 0.6);
        assert!(sim("Comment réinitialiser mon mot de passe ?", "Pardon, encore une fois : comment réinitialiser mon mot de passe ?") >= 0.6);
        assert!(sim("how do I reset my password", "thanks! and how long does shipping take?") < 0.3);
        assert_eq!(sim("", "anything"), 0.0);
    }
}
