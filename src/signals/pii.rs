//! `signal.pii_leak`: the answer contains an e-mail address, a phone number or a payment
//! card number that the user's message did not contain.
//!
//! - e-mail: `local@domain.tld`, compared case-insensitively;
//! - phone: a run of digits with spaces, dots, dashes or parentheses, optionally starting
//!   with `+`, holding 9 to 15 digits (E.164 allows 15; fewer than 9 would catch dates and
//!   order numbers), compared on its digits;
//! - card: 13 to 19 digits, optionally grouped by spaces or dashes, passing the Luhn check,
//!   compared on its digits.

use std::sync::OnceLock;

use regex::Regex;

fn email() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}").expect("valid"))
}

fn digits_run() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"\+?\(?\d[\d\s().-]{7,}\d").expect("valid"))
}

/// What counts as personal data in a text, normalized for comparison.
#[derive(Debug, Default, PartialEq)]
pub struct Found {
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub cards: Vec<String>,
}

pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.bytes().rev().enumerate() {
        let mut d = (c - b'0') as u32;
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

pub fn find(text: &str) -> Found {
    let mut found = Found::default();
    for m in email().find_iter(text) {
        found.emails.push(m.as_str().to_lowercase());
    }
    for m in digits_run().find_iter(text) {
        let raw = m.as_str();
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        let grouped_like_a_card = raw.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
        if (13..=19).contains(&digits.len()) && grouped_like_a_card && luhn(&digits) {
            found.cards.push(digits);
        } else if (9..=15).contains(&digits.len()) {
            found.phones.push(digits);
        }
    }
    found
}

/// `text` with every e-mail address, phone number and payment card number (by the same
/// definitions as detection, so what is flagged is what is masked) replaced by `[email]`,
/// `[phone]` or `[card]`. Digit runs that are neither (dates, order numbers) stay.
pub fn mask(text: &str) -> String {
    let text = email().replace_all(text, "[email]");
    digits_run()
        .replace_all(&text, |c: &regex::Captures<'_>| {
            let raw = &c[0];
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            let grouped_like_a_card = raw.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
            if (13..=19).contains(&digits.len()) && grouped_like_a_card && luhn(&digits) {
                "[card]".to_string()
            } else if (9..=15).contains(&digits.len()) {
                "[phone]".to_string()
            } else {
                raw.to_string()
            }
        })
        .into_owned()
}

/// True when the output holds personal data the input did not.
pub fn leaks(input: Option<&str>, output: &str) -> bool {
    let out = find(output);
    if out == Found::default() {
        return false;
    }
    let given = input.map(find).unwrap_or_default();
    out.emails.iter().any(|e| !given.emails.contains(e))
        || out.phones.iter().any(|p| !given.phones.contains(p))
        || out.cards.iter().any(|c| !given.cards.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaks_are_new_personal_data_not_echoes() {
        assert!(leaks(Some("What is my balance?"), "Contact jane.doe@example-corp.com for details."));
        assert!(!leaks(Some("My email is Jane.Doe@Example-Corp.com"), "I sent it to jane.doe@example-corp.com."));
        assert!(leaks(None, "Call our specialist on +1 415 555 0137."));
        assert!(leaks(None, "Ruf uns an: +49 30 1234 5678."));
        assert!(leaks(None, "Appelez le 06 12 34 56 78."));
        assert!(!leaks(Some("my number is 06 12 34 56 78"), "We will call you on 06.12.34.56.78."));
        assert!(leaks(None, "The card on file is 4111 1111 1111 1111."));
        assert!(!leaks(None, "Your order 2026-11-27 ships today, tracking A-1042."));
        // Not Luhn-valid and too long for a phone: not personal data.
        assert!(!leaks(None, "Reference 4111 1111 1111 1112 noted."));
        assert!(luhn("79927398713"));
        assert!(!luhn("79927398710"));
    }
}
