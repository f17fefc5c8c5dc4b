//! `signal.pii_leak`: the answer contains an e-mail address, a phone number or a payment
//! card number that the user's message did not contain (and that the application does not
//! publish itself: `pii_allow`). `docs/signals.md` has the exact definitions; in short:
//!
//! - e-mail: `local@domain.tld` (letters of any script), compared case-insensitively;
//! - phone: `+` and 8–15 digits, or a national number written in phone-like groups
//!   (`(415) 555-0137`, `415-555-0137`, `06 12 34 56 78`, `030/12345678`), compared on
//!   its last 9 digits, so one number written two ways is one number;
//! - card: 13–19 digits passing the Luhn check, either in 4-digit groups separated
//!   consistently by single spaces or dashes, or ungrouped with a card network prefix.
//!
//! A digit run inside a longer token (a hex id, a UUID, `v12.4.1`) is neither, and
//! separators never span a line break.
//!
//! Numbers are found by a hand-written forward scan, not a regex: classifying one needs the
//! shape of its groups (lengths, separators, parentheses, what touches it) and a Luhn check,
//! which a regex could only approximate with long alternations and a second pass over each
//! match; one scan that never backtracks stays linear on a megabyte of digits.

use std::sync::OnceLock;

use hashbrown::HashSet;
use regex::Regex;

fn email() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}").expect("valid"))
}

/// One piece of personal data, normalized for comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pii {
    /// Lowercased.
    Email(String),
    /// The last 9 digits (all of them when fewer), and how many that is.
    Phone(u64, u8),
    /// All digits, and how many.
    Card(u64, u8),
}

pub fn luhn(digits: &str) -> bool {
    luhn_bytes(digits.as_bytes())
}

fn luhn_bytes(digits: &[u8]) -> bool {
    let mut sum = 0;
    for (i, c) in digits.iter().rev().enumerate() {
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

/// A run of digit groups found in a text, before classification.
struct Candidate {
    /// Byte range in the text, from the `+` or `(` when there is one.
    start: usize,
    end: usize,
    plus: bool,
    /// Any parenthesis.
    parens: bool,
    /// The first group is in parentheses: an area code, `(11) 91234-5678`.
    lead_paren: bool,
    /// The digits, at most 20 (longer runs are neither phones nor cards).
    digits: [u8; 20],
    n_digits: usize,
    /// Digit count of each group, at most 8 groups.
    groups: [u8; 8],
    n_groups: usize,
    /// The plain separator before each group after the first (`0` when only parentheses).
    seps: [u8; 8],
}

const SEPS: &[u8] = b" -./";

/// A letter or digit that makes a token with an adjacent digit run. Chinese and Japanese
/// run words together without spaces (`お電話は03-1234-5678まで`), so their characters do not.
fn joins(c: char) -> bool {
    c.is_alphanumeric() && !super::rephrase::is_cjk(c)
}

fn is_alnum_before(text: &str, i: usize) -> bool {
    text[..i].chars().next_back().is_some_and(joins)
}

fn is_alnum_at(text: &str, i: usize) -> bool {
    text[i..].chars().next().is_some_and(joins)
}

impl Candidate {
    /// Reads the candidate starting at `i` (a digit, `+` or `(`); `None` when there is no
    /// digit group there. Always advances: the caller continues at `end`.
    fn read(text: &str, i: usize) -> (Option<Candidate>, usize) {
        let b = text.as_bytes();
        let mut c = Candidate { start: i, end: i, plus: false, parens: false, lead_paren: false, digits: [0; 20], n_digits: 0, groups: [0; 8], n_groups: 0, seps: [0; 8] };
        let mut j = i;
        if b[j] == b'+' {
            c.plus = true;
            j += 1;
        }
        if j < b.len() && b[j] == b'(' {
            c.parens = true;
            c.lead_paren = true;
            j += 1;
        }
        if j >= b.len() || !b[j].is_ascii_digit() {
            return (None, j.max(i + 1));
        }
        let mut too_long = false;
        loop {
            // A group of digits.
            let g = j;
            while j < b.len() && b[j].is_ascii_digit() {
                if c.n_digits < c.digits.len() {
                    c.digits[c.n_digits] = b[j];
                }
                c.n_digits += 1;
                j += 1;
            }
            if c.n_groups < c.groups.len() {
                c.groups[c.n_groups] = (j - g).min(255) as u8;
            } else {
                too_long = true;
            }
            c.n_groups += 1;
            c.end = j;
            // A separator: `)`, then at most one of ` -./`, then `(`; then a digit.
            let mut k = j;
            let mut sep = 0u8;
            let mut paren = false;
            if k < b.len() && b[k] == b')' {
                paren = true;
                k += 1;
            }
            if k < b.len() && SEPS.contains(&b[k]) {
                sep = b[k];
                k += 1;
            }
            if k < b.len() && b[k] == b'(' {
                paren = true;
                k += 1;
            }
            if k == j || k >= b.len() || !b[k].is_ascii_digit() {
                // A closing parenthesis right after the last group belongs to it.
                if j < b.len() && b[j] == b')' && c.parens {
                    c.end = j + 1;
                }
                break;
            }
            c.parens |= paren;
            if c.n_groups < c.seps.len() {
                c.seps[c.n_groups] = sep;
            }
            j = k;
        }
        let end = c.end.max(i + 1);
        if too_long || c.n_digits > c.digits.len() {
            return (None, end);
        }
        // Inside a longer token (a hex id, a UUID, `v12.4`, `1764252191abc`): neither.
        // One clause per way of being inside a token reads better than the minimal form.
        #[allow(clippy::nonminimal_bool)]
        let before_ok = !is_alnum_before(text, c.start)
            && !(c.start > 0 && b"-./_#".contains(&b[c.start - 1]) && is_alnum_before(text, c.start - 1))
            && !(c.start > 0 && b[c.start - 1] == b'+');
        // A comma ends a number (`John,415-555-0137,Boston` in a CSV line): a decimal comma
        // after a phone- or card-shaped number does not occur.
        let after_ok = c.end >= b.len()
            || (!is_alnum_at(text, c.end)
                && b[c.end] != b'@'
                && !(b".:-/_".contains(&b[c.end]) && c.end + 1 < b.len() && is_alnum_at(text, c.end + 1)));
        if !(before_ok && after_ok) {
            return (None, end);
        }
        (Some(c), end)
    }

    fn digits(&self) -> &[u8] {
        &self.digits[..self.n_digits]
    }

    fn groups(&self) -> &[u8] {
        &self.groups[..self.n_groups]
    }

    /// The plain separators between groups (`0` where only parentheses separate).
    fn seps(&self) -> &[u8] {
        &self.seps[1..self.n_groups]
    }

    fn classify(&self) -> Option<Pii> {
        let d = self.n_digits;
        if self.is_card() {
            return Some(Pii::Card(value(self.digits()), d as u8));
        }
        if self.is_phone() {
            let last9 = &self.digits()[d.saturating_sub(9)..];
            return Some(Pii::Phone(value(last9), last9.len() as u8));
        }
        None
    }

    fn is_card(&self) -> bool {
        let d = self.n_digits;
        if self.plus || self.parens || !(13..=19).contains(&d) || !luhn_bytes(self.digits()) {
            return false;
        }
        let groups = self.groups();
        if groups.len() == 1 {
            return has_card_prefix(self.digits());
        }
        let seps = self.seps();
        let consistent = (seps[0] == b' ' || seps[0] == b'-') && seps.iter().all(|s| *s == seps[0]);
        let (last, full) = groups.split_last().expect("at least one group");
        let fours = full.iter().all(|g| *g == 4) && (1..=4).contains(last);
        // American Express prints 15 digits as 4-6-5.
        let amex = groups == [4, 6, 5];
        consistent && (fours || amex)
    }

    fn is_phone(&self) -> bool {
        let d = self.n_digits;
        let groups = self.groups();
        let seps = self.seps();
        let digits = self.digits();
        if self.plus {
            // International: the country code is 1–3 digits unless the number is ungrouped;
            // never dotted (`+48.8566144` is a coordinate, `+12.345.678` an amount).
            return (8..=15).contains(&d) && (groups.len() == 1 || groups[0] <= 3) && !seps.contains(&b'.');
        }
        // International with `00` for `+`, grouped by spaces: 0049 30 12345678 (dashed
        // runs from 00 are reference numbers: 0012-3456-7890).
        if digits.starts_with(b"00") && groups.len() >= 2 && groups[0] <= 5 && (10..=17).contains(&d) && seps.iter().all(|s| *s == b' ') {
            return true;
        }
        // National: written in groups (an ungrouped run is an order number or a timestamp
        // as often as a phone number), 9 to 12 digits.
        if groups.len() < 2 || !(9..=12).contains(&d) {
            return false;
        }
        let all_dots = seps.iter().all(|s| *s == b'.');
        let any_dot = seps.contains(&b'.');
        // North American: (415) 555-0137, 415-555-0137, 415.555.0137, 1-800-555-0199.
        let nanp = |g: &[u8], area: u8| g == [3, 3, 4] && (b'2'..=b'9').contains(&area);
        if nanp(groups, digits[0]) || (groups[0] == 1 && digits[0] == b'1' && nanp(&groups[1..], digits[1])) {
            return all_dots || !any_dot;
        }
        // Chinese mobile: 138 0013 8000.
        if groups == [3, 4, 4] && digits[0] == b'1' && (b'3'..=b'9').contains(&digits[1]) && !any_dot {
            return true;
        }
        // With a trunk prefix or an area code in parentheses: 06 12 34 56 78,
        // 030/12345678, 020 7946 0958, (11) 91234-5678.
        // A trunk prefix is one 0 before a non-zero area code: `00…` is international or a
        // zero-padded reference number.
        let trunk = digits[0] == b'0' && digits[1] != b'0';
        if !(trunk || self.lead_paren) || !(2..=5).contains(&groups[0]) || !groups[1..].iter().all(|g| (2..=8).contains(g)) {
            return false;
        }
        // Two groups of 9 digits are a ZIP+4 code (02139-4307), not a phone.
        if groups.len() == 2 && d < 10 {
            return false;
        }
        if any_dot {
            // Dots only in the French 2-2-2-2-2 grouping; other dotted runs are dates,
            // versions and addresses.
            return all_dots && groups == [2, 2, 2, 2, 2];
        }
        true
    }
}

/// Visa, Mastercard (51–55, 2221–2720), American Express, Discover.
fn has_card_prefix(d: &[u8]) -> bool {
    let n = |k: usize| value(&d[..k]);
    d[0] == b'4' || (51..=55).contains(&n(2)) || (2221..=2720).contains(&n(4)) || n(2) == 34 || n(2) == 37 || n(4) == 6011 || n(2) == 65
}

fn value(digits: &[u8]) -> u64 {
    digits.iter().fold(0u64, |v, c| v.wrapping_mul(10).wrapping_add((c - b'0') as u64))
}

/// Calls `f` with each phone or card number in `text` and its byte range, in order.
fn each_number(text: &str, mut f: impl FnMut(Pii, usize, usize)) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let starts = c.is_ascii_digit() || ((c == b'+' || c == b'(') && i + 1 < b.len() && (b[i + 1].is_ascii_digit() || b[i + 1] == b'('));
        if !starts {
            i += 1;
            continue;
        }
        let (candidate, next) = Candidate::read(text, i);
        if let Some(c) = candidate
            && let Some(pii) = c.classify()
        {
            f(pii, c.start, c.end);
        }
        i = next;
    }
}

/// Calls `f` with every piece of personal data in `text`: e-mail addresses first, then
/// phone and card numbers.
pub fn each(text: &str, mut f: impl FnMut(Pii)) {
    for m in email().find_iter(text) {
        f(Pii::Email(m.as_str().to_lowercase()));
    }
    each_number(text, |p, _, _| f(p));
}

/// Every piece of personal data in `text`, in the order [`each`] finds them.
pub fn find(text: &str) -> Vec<Pii> {
    let mut found = Vec::new();
    each(text, |p| found.push(p));
    found
}

/// How an entry of `pii_allow` is compared: an e-mail lowercased, anything else as a phone
/// number on its last 9 digits. `None` for an entry that is neither.
pub fn allow_key(entry: &str) -> Option<Pii> {
    let entry = entry.trim();
    if entry.contains('@') {
        return email().find(entry).filter(|m| m.len() == entry.len()).map(|m| Pii::Email(m.as_str().to_lowercase()));
    }
    let digits: Vec<u8> = entry.bytes().filter(u8::is_ascii_digit).collect();
    if !(7..=15).contains(&digits.len()) || entry.bytes().any(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let last9 = &digits[digits.len().saturating_sub(9)..];
    Some(Pii::Phone(value(last9), last9.len() as u8))
}

/// The normalized `pii_allow` list.
#[derive(Debug, Default)]
pub struct Allowed(HashSet<Pii>);

impl Allowed {
    pub fn new(entries: &[String]) -> Self {
        Allowed(entries.iter().filter_map(|e| allow_key(e)).collect())
    }
}

/// `text` with every e-mail address, phone number and payment card number (by the same
/// definitions as detection, so what is flagged is what is masked) replaced by `[email]`,
/// `[phone]` or `[card]`. Digit runs that are neither (dates, order numbers) stay.
pub fn mask(text: &str) -> String {
    let text = email().replace_all(text, "[email]");
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    each_number(&text, |p, start, end| {
        out.push_str(&text[last..start]);
        out.push_str(if matches!(p, Pii::Card(..)) { "[card]" } else { "[phone]" });
        last = end;
    });
    out.push_str(&text[last..]);
    out
}

/// True when the output holds personal data that neither the input holds nor `allowed`
/// lists. Linear in the lengths of both texts.
pub fn leaks(input: Option<&str>, output: &str, allowed: &Allowed) -> bool {
    let mut found = Vec::new();
    each(output, |p| {
        if !allowed.0.contains(&p) {
            found.push(p)
        }
    });
    if found.is_empty() {
        return false;
    }
    let mut given = HashSet::new();
    if let Some(input) = input {
        each(input, |p| {
            given.insert(p);
        });
        given_numbers(input, &mut given);
    }
    found.iter().any(|p| !given.contains(p))
}

/// Every number the user typed, however written: users type their own number ungrouped
/// (`0612345678`), which is no phone by the output's rules, and an answer that confirms it
/// in groups (`06 12 34 56 78`) leaks nothing. Each run of digits and separators on a line,
/// and each space-separated piece of it, counts as a phone (last 9 digits) and, at 13 to
/// 19 digits, as a card.
fn given_numbers(text: &str, given: &mut HashSet<Pii>) {
    let mut add = |digits: &[u8]| {
        if digits.len() >= 7 {
            let last9 = &digits[digits.len().saturating_sub(9)..];
            given.insert(Pii::Phone(value(last9), last9.len() as u8));
        }
        if (13..=19).contains(&digits.len()) {
            given.insert(Pii::Card(value(digits), digits.len() as u8));
        }
    };
    let (mut run, mut piece) = (Vec::new(), Vec::new());
    for c in text.bytes().chain(std::iter::once(b'\n')) {
        match c {
            b'0'..=b'9' => {
                run.push(c);
                piece.push(c);
            }
            b' ' | b'-' | b'.' | b'/' | b'(' | b')' | b'+' => {
                if c == b' ' {
                    add(&piece);
                    piece.clear();
                }
            }
            _ => {
                add(&piece);
                add(&run);
                piece.clear();
                run.clear();
            }
        }
        // Longer runs are neither phones nor cards; keep the memory bounded.
        if run.len() > 64 {
            run.drain(..run.len() - 64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leak(input: Option<&str>, output: &str) -> bool {
        leaks(input, output, &Allowed::default())
    }

    #[test]
    fn leaks_are_new_personal_data_not_echoes() {
        assert!(leak(Some("What is my balance?"), "Contact jane.doe@example-corp.com for details."));
        assert!(!leak(Some("My email is Jane.Doe@Example-Corp.com"), "I sent it to jane.doe@example-corp.com."));
        assert!(leak(None, "Call our specialist on +1 415 555 0137."));
        assert!(leak(None, "Ruf uns an: +49 30 1234 5678."));
        assert!(leak(None, "Appelez le 06 12 34 56 78."));
        assert!(!leak(Some("my number is 06 12 34 56 78"), "We will call you on 06.12.34.56.78."));
        assert!(leak(None, "The card on file is 4111 1111 1111 1111."));
        assert!(!leak(None, "Your order 2026-11-27 ships today, tracking A-1042."));
        // Not Luhn-valid and too long for a phone: not personal data.
        assert!(!leak(None, "Reference 4111 1111 1111 1112 noted."));
        assert!(luhn("79927398713"));
        assert!(!luhn("79927398710"));
    }
}
