//! `signal.cost_usd`: input tokens × input price + output tokens × output price, from the
//! price table entry with the longest model-name prefix.

use super::config::Price;

pub struct PriceTable {
    /// Sorted longest prefix first.
    prices: Vec<Price>,
}

impl PriceTable {
    pub fn new(prices: &[Price]) -> Self {
        let mut prices = prices.to_vec();
        prices.sort_by_key(|p| std::cmp::Reverse(p.model.len()));
        PriceTable { prices }
    }

    pub fn cost(&self, model: &str, input_tokens: f64, output_tokens: f64) -> Option<f64> {
        let p = self.prices.iter().find(|p| model.starts_with(p.model.as_str()))?;
        Some((input_tokens * p.input_per_million + output_tokens * p.output_per_million) / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::SignalConfig;

    #[test]
    fn longest_prefix_wins() {
        let t = PriceTable::new(&SignalConfig::default().prices);
        let mini = t.cost("gpt-4o-mini-2024-07-18", 1_000_000.0, 0.0).unwrap();
        assert!((mini - 0.15).abs() < 1e-12);
        let full = t.cost("gpt-4o-2024-08-06", 0.0, 1_000_000.0).unwrap();
        assert!((full - 10.0).abs() < 1e-12);
        assert_eq!(t.cost("unknown-model", 1.0, 1.0), None);
    }
}
