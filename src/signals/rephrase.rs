//! `signal.rephrase`: how alike two user turns are. Texts are normalized (lowercased,
//! punctuation dropped, at most `max_chars` characters) and compared as sets of words with
//! the Jaccard index |A ∩ B| / |A ∪ B|: robust to reordering, added filler ("sorry,
//! again:") and punctuation, cheap, and language-independent. Chinese and Japanese are
//! written without spaces, so a run of their characters counts as its character bigrams
//! (怎么重置我的密码 → 怎么 么重 重置 …): reordered clauses still share most of them.

/// Han ideographs, hiragana and katakana: scripts written without spaces between words.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF // hiragana, katakana
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF // Han
        | 0x31F0..=0x31FF | 0xFF66..=0xFF9D) // katakana extensions, half-width katakana
}

/// Lowercased words of the first `max_chars` characters, punctuation removed; a run of CJK
/// characters becomes its character bigrams (one character alone stays itself).
pub fn normalize(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    let mut last_space = true;
    let mut prev_cjk: Option<char> = None;
    let mut run = 0;
    let space = |out: &mut String, last_space: &mut bool| {
        if !*last_space {
            out.push(' ');
            *last_space = true;
        }
    };
    for c in text.chars().take(max_chars) {
        if is_cjk(c) {
            if let Some(p) = prev_cjk {
                if run == 1 {
                    // The run's first character was written alone; it now starts a bigram.
                    out.push(c);
                } else {
                    space(&mut out, &mut last_space);
                    out.push(p);
                    out.push(c);
                }
                last_space = false;
                run += 1;
            } else {
                space(&mut out, &mut last_space);
                out.push(c);
                last_space = false;
                run = 1;
            }
            prev_cjk = Some(c);
        } else if c.is_alphanumeric() {
            if prev_cjk.take().is_some() {
                space(&mut out, &mut last_space);
            }
            out.extend(c.to_lowercase());
            last_space = false;
        } else {
            prev_cjk = None;
            space(&mut out, &mut last_space);
        }
    }
    out.trim_end().to_string()
}

/// Whether a normalized turn is long enough to be compared: at least `min_words` words
/// (a run of n CJK characters, n − 1 bigrams, counting as n − 1 words) or at least
/// `min_chars` characters, spaces apart. "yes", "ok", "thanks", "12345", "好的" are not.
pub fn long_enough(turn: &str, min_words: usize, min_chars: usize) -> bool {
    let words = turn.split(' ').filter(|w| !w.is_empty()).count();
    words >= min_words || turn.chars().filter(|c| *c != ' ').count() >= min_chars
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

    #[test]
    fn chinese_and_japanese_compare_character_bigrams() {
        assert_eq!(normalize("怎么重置我的密码？", 500), "怎么 么重 重置 置我 我的 的密 密码");
        assert_eq!(normalize("我的iPhone", 500), "我的 iphone");
        assert!(sim("怎么重置我的密码？", "我的密码怎么重置？") >= 0.6);
        assert!(sim("パスワードをリセットするには？", "パスワードのリセット方法を教えて") >= 0.3);
        assert!(sim("怎么重置我的密码？", "运费是多少？") < 0.1);
    }

    #[test]
    fn short_turns_are_not_long_enough() {
        for short in ["yes", "thanks", "ok", "12345", "好的"] {
            assert!(!long_enough(&normalize(short, 500), 3, 12), "{short}");
        }
        for long in ["how do I reset my password", "怎么重置我的密码？", "Passwort zurücksetzen"] {
            assert!(long_enough(&normalize(long, 500), 3, 12), "{long}");
        }
    }
}
