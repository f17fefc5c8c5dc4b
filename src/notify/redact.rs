//! Masks personal data in the excerpts a message shows: e-mail addresses, phone numbers
//! and payment card numbers, by the same definitions `signal.pii_leak` detects them with.

pub fn redact(text: &str) -> String {
    crate::signals::pii::mask(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_emails_phones_and_cards_but_not_dates_or_order_numbers() {
        assert_eq!(redact("Écrivez à marie.dupont@example.fr ou au +33 6 12 34 56 78."), "Écrivez à [email] ou au [phone].");
        assert_eq!(redact("Card 4111 1111 1111 1111 was charged"), "Card [card] was charged");
        assert_eq!(redact("Order 12345 shipped on 2026-11-28"), "Order 12345 shipped on 2026-11-28");
    }
}
