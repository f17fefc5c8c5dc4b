//! `signal.invalid_json`: an answer that should be JSON and does not parse. A JSON value
//! wrapped in a Markdown code fence (```json … ```) counts as valid: chat models add fences
//! and every client strips them. A fence that is never closed is a cut-off answer: invalid.

/// Whether a `gen_ai.output.type` or `attributes.expected_format` value asks for JSON:
/// `json`, OpenAI's `json_object` and `json_schema`, in any case.
pub fn asks_for_json(format: &str) -> bool {
    ["json", "json_object", "json_schema"].iter().any(|f| format.eq_ignore_ascii_case(f))
}

pub fn is_valid_json(output: &str) -> bool {
    let text = output.trim_start_matches('\u{FEFF}').trim();
    let Some(text) = strip_fence(text) else { return false };
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// The text inside an enclosing code fence (its `json` tag, in any case, dropped); the
/// text itself when not fenced; `None` for a fence that is not closed.
fn strip_fence(text: &str) -> Option<&str> {
    let Some(rest) = text.strip_prefix("```") else { return Some(text) };
    let rest = match rest.get(..4) {
        Some(tag) if tag.eq_ignore_ascii_case("json") => &rest[4..],
        _ => rest,
    };
    let inner = rest.strip_suffix("```")?;
    Some(inner.trim())
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

    #[test]
    fn bom_tag_case_and_unclosed_fences() {
        assert!(is_valid_json("\u{FEFF}{\"id\": \"A-1042\", \"status\": \"shipped\"}"));
        assert!(is_valid_json("```Json\n{\"id\": \"A-1042\"}\n```"));
        // Cut off before the closing fence: the answer is truncated, not valid.
        assert!(!is_valid_json("```json\n{\"id\": \"A-1042\"}\n"));
        assert!(!is_valid_json("```json\n{\"id\": \"A-1042\", \"items\": [1, 2"));
        assert!(asks_for_json("JSON") && asks_for_json("json_object") && !asks_for_json("text"));
    }
}
