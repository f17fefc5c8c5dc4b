//! `signal.cost_usd`: input tokens × input price + output tokens × output price, from the
//! price table entry with the longest model-name prefix. Model names are compared
//! case-insensitively once provider and region prefixes are cut off
//! (`us.anthropic.claude-3-5-haiku-20241022-v1:0`, `openai/gpt-4o`, `models/gemini-2.0-flash`).

use super::config::Price;

pub struct PriceTable {
    /// (model name as compared, price), longest name first.
    prices: Vec<(String, Price)>,
}

/// `model` without what providers and gateways put before the model's own name: anything
/// up to the last `/` (`openai/`, `models/`), then leading dotted segments made of letters
/// only (`us.`, `eu.`, `apac.`, `anthropic.`, `meta.`). `gpt-4.1` keeps its dot: `gpt-4`
/// is not letters only.
pub fn model_name(model: &str) -> &str {
    let mut m = model.rsplit('/').next().unwrap_or(model).trim();
    while let Some((head, rest)) = m.split_once('.')
        && !head.is_empty()
        && head.bytes().all(|b| b.is_ascii_alphabetic())
    {
        m = rest;
    }
    m
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

impl PriceTable {
    pub fn new(prices: &[Price]) -> Self {
        // Names cut once here, not on every event.
        let mut prices: Vec<(String, Price)> = prices.iter().map(|p| (model_name(&p.model).to_string(), p.clone())).collect();
        prices.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        PriceTable { prices }
    }

    /// `None` for an unknown model or a negative token count.
    pub fn cost(&self, model: &str, input_tokens: f64, output_tokens: f64) -> Option<f64> {
        if input_tokens < 0.0 || output_tokens < 0.0 || input_tokens.is_nan() || output_tokens.is_nan() {
            return None;
        }
        let name = model_name(model);
        let (_, p) = self.prices.iter().find(|(prefix, _)| starts_with_ignore_case(name, prefix))?;
        Some((input_tokens * p.input_per_million + output_tokens * p.output_per_million) / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::SignalConfig;

    fn per_million_in(t: &PriceTable, model: &str) -> Option<f64> {
        t.cost(model, 1_000_000.0, 0.0)
    }

    #[test]
    fn longest_prefix_wins() {
        let t = PriceTable::new(&SignalConfig::default().prices);
        let mini = t.cost("gpt-4o-mini-2024-07-18", 1_000_000.0, 0.0).unwrap();
        assert!((mini - 0.15).abs() < 1e-12);
        let full = t.cost("gpt-4o-2024-08-06", 0.0, 1_000_000.0).unwrap();
        assert!((full - 10.0).abs() < 1e-12);
        assert_eq!(t.cost("unknown-model", 1.0, 1.0), None);
        assert_eq!(per_million_in(&t, "gpt-4.1-nano-2025-04-14"), Some(0.10));
        assert_eq!(per_million_in(&t, "gpt-4.1-2025-04-14"), Some(2.00));
        assert_eq!(per_million_in(&t, "o3-mini-2025-01-31"), Some(1.10));
        assert_eq!(per_million_in(&t, "o1-2024-12-17"), Some(15.00));
        assert_eq!(per_million_in(&t, "gemini-1.5-flash-8b-001"), Some(0.0375));
    }

    #[test]
    fn provider_prefixes_case_and_negative_counts() {
        let t = PriceTable::new(&SignalConfig::default().prices);
        assert_eq!(model_name("us.anthropic.claude-3-5-haiku-20241022-v1:0"), "claude-3-5-haiku-20241022-v1:0");
        assert_eq!(model_name("gpt-4.1-mini"), "gpt-4.1-mini");
        assert_eq!(per_million_in(&t, "anthropic.claude-3-haiku-20240307-v1:0"), Some(0.25));
        assert_eq!(per_million_in(&t, "apac.anthropic.claude-sonnet-4-20250514-v1:0"), Some(3.00));
        assert_eq!(per_million_in(&t, "openai/GPT-4o-mini"), Some(0.15));
        assert_eq!(per_million_in(&t, "models/gemini-2.0-flash-001"), Some(0.10));
        assert_eq!(per_million_in(&t, "Claude-Opus-4-20250514"), Some(15.00));
        assert_eq!(t.cost("gpt-4o", -5.0, 10.0), None);
    }
}
