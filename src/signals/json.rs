//! `signal.invalid_json`: an answer that should be JSON and does not parse. A JSON value
//! wrapped in a Markdown code fence (```json … ```) counts as valid: chat models add fences
//! and every client strips them.

pub fn is_valid_json(output: &str) -> bool {
    let text = strip_fence(output.trim());
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

fn strip_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else { return text };
    let rest = rest.strip_prefix("json").or_else(|| rest.strip_prefix("JSON")).unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_and_plain_json_are_valid() {
        assert!(is_valid_json(r#"{"id": "A-1042", "status": "shipped"}"#));
        assert!(is_valid_json("```json\n{\"a\": [1, 2]}\n```"));
        assert!(is_valid_json("```\n[1]\n```"));
        assert!(!is_valid_json(r#"Here is the status: {"id": "A-1042", "status": shipped"#));
        assert!(!is_valid_json(""));
    }
}
