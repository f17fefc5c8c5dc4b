//! Event time: milliseconds since the Unix epoch, and the duration syntax of rule files.

use std::fmt;

/// Milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// The wall clock, for the edges only (the daemon's live clock, notification delivery);
/// the engine never reads it — its time comes with the events.
pub fn wall_clock_ms() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as Millis)
}

/// Formats epoch milliseconds as RFC 3339 UTC (`2026-11-27T14:20:00Z`, with `.250` when the
/// milliseconds are not zero) — the form replay output and rule tests use.
pub fn format_rfc3339(ms: Millis) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => {
            if ms.rem_euclid(1000) == 0 {
                ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            }
        }
        Err(_) => ms.to_string(),
    }
}

/// Parses an RFC 3339 timestamp into epoch milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    if let Some(ms) = parse_canonical(s.as_bytes()) {
        return Some(ms);
    }
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond());
    }
    // RFC 3339 allows any number of fraction digits; jiff reads at most nine (nanoseconds),
    // far below the milliseconds kept here, so the rest are dropped.
    let dot = s.find('.')?;
    let digits = s[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
    if digits <= 9 {
        return None;
    }
    let trimmed = format!("{}{}", &s[..dot + 10], &s[dot + 1 + digits..]);
    trimmed.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

/// The form nearly every producer writes, `YYYY-MM-DDTHH:MM:SS[.mmm]Z`, read by hand: jiff's
/// general parser cost ~620 instructions of the ~12 000 that decoding an event takes, this
/// ~60. Anything else (offsets, other fraction lengths, lowercase separators, a leap
/// second) returns `None` and goes to jiff; a property test checks that both agree.
fn parse_canonical(b: &[u8]) -> Option<Millis> {
    let frac = match b.len() {
        20 => None,
        24 if b[19] == b'.' => Some(&b[20..23]),
        _ => return None,
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[b.len() - 1] != b'Z' {
        return None;
    }
    let num = |r: &[u8]| r.iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')));
    let (year, month, day) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (hour, minute, second) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    let millis = match frac {
        Some(f) => num(f)?,
        None => 0,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&month) || day < 1 || day > month_days[(month - 1) as usize] || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm; years 0000–9999 are all positive).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let ms = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis;
    // jiff's range ends a day short of the years' ends (it allows any UTC offset).
    event_time_range().contains(&ms).then_some(ms)
}

/// The event times llmwatch accepts: those an RFC 3339 timestamp can name (jiff's range,
/// years -9999 to 9999). An integer timestamp outside it is rejected as a string that does
/// not parse is; inside it, time arithmetic (bins, ticks, lateness) cannot overflow.
pub fn event_time_range() -> std::ops::RangeInclusive<Millis> {
    jiff::Timestamp::MIN.as_millisecond()..=jiff::Timestamp::MAX.as_millisecond()
}

/// A duration written in a rule or config file: a whole number followed by `ms`, `s`, `m`, `h`
/// or `d`, several of which may be chained (`1h30m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub Millis);

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: expected a number followed by a unit (ms, s, m, h, d), e.g. 15m or 1h30m")]
pub struct DurationError {
    pub input: String,
}

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub fn from_secs(s: i64) -> Self {
        Duration(s * 1000)
    }

    pub fn from_millis(ms: Millis) -> Self {
        Duration(ms)
    }

    pub fn as_millis(self) -> Millis {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    pub fn parse(input: &str) -> Result<Self, DurationError> {
        let err = || DurationError { input: input.to_string() };
        let s = input.trim();
        if s.is_empty() {
            return Err(err());
        }
        if s == "0" {
            return Ok(Duration::ZERO);
        }
        let bytes = s.as_bytes();
        let mut total: i64 = 0;
        let mut i = 0;
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return Err(err());
            }
            let n: i64 = s[start..i].parse().map_err(|_| err())?;
            let unit_start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let factor = match &s[unit_start..i] {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(err()),
            };
            total = n.checked_mul(factor).and_then(|v| total.checked_add(v)).ok_or_else(err)?;
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms == 0 {
            return write!(f, "0s");
        }
        for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
            if ms % size == 0 {
                return write!(f, "{}{}", ms / size, unit);
            }
        }
        write!(f, "{}ms", ms)
    }
}

/// Durations are written as text in config files (`"15m"`).
impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Duration::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_jiff(s: &str) -> Option<Millis> {
        s.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
    }

    #[test]
    fn canonical_timestamps_read_by_hand_as_jiff_reads_them() {
        for s in ["1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "2024-02-29T12:00:00.500Z", "2000-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-30T22:00:00.999Z", "2026-11-27T12:00:00.568Z"] {
            assert_eq!(parse_canonical(s.as_bytes()), by_jiff(s), "{s}");
            assert!(parse_canonical(s.as_bytes()).is_some(), "{s}");
        }
        // Not the canonical form, or not a date: left to jiff, which decides.
        for s in ["2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2016-12-31T23:59:60Z", "2026-01-01t00:00:00Z", "2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00+01:00", "2026-01-01T00:00:0aZ", "+2026-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"] {
            assert_eq!(parse_canonical(s.as_bytes()), None, "{s}");
        }
        assert_eq!(parse_rfc3339("2016-12-31T23:59:60Z"), by_jiff("2016-12-31T23:59:60Z"));
    }

    proptest::proptest! {
        #[test]
        fn canonical_parse_agrees_with_jiff(y in proptest::prop_oneof![0i64..=9999, proptest::strategy::Just(9999i64)], mo in 0i64..=13, d in 0i64..=32, h in 0i64..=24, mi in 0i64..=60, s in 0i64..=60, ms in proptest::option::of(0i64..=999)) {
            let text = match ms {
                Some(ms) => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z"),
                None => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
            };
            let mine = parse_canonical(text.as_bytes());
            proptest::prop_assert!(mine.is_none() || mine == by_jiff(&text), "{} read as {:?}, jiff {:?}", text, mine, by_jiff(&text));
            // Only a leap second is left to jiff among the dates it accepts.
            proptest::prop_assert!(mine.is_some() || by_jiff(&text).is_none() || s == 60, "{} left to jiff", text);
            proptest::prop_assert_eq!(parse_rfc3339(&text), by_jiff(&text));
        }
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(Duration::parse("15m").unwrap(), Duration(900_000));
        assert_eq!(Duration::parse("1h30m").unwrap(), Duration(5_400_000));
        assert_eq!(Duration::parse("250ms").unwrap(), Duration(250));
        assert_eq!(Duration::parse("0").unwrap(), Duration::ZERO);
        assert!(Duration::parse("15").is_err());
        assert!(Duration::parse("m").is_err());
        assert!(Duration::parse("5 minutes").is_err());
        assert!(Duration::parse("-5m").is_err());
        assert_eq!(Duration(900_000).to_string(), "15m");
        assert_eq!(Duration(5_400_000).to_string(), "90m");
    }

    #[test]
    fn rfc3339_round_trip() {
        let ms = parse_rfc3339("2026-11-27T14:03:11.250Z").unwrap();
        assert_eq!(format_rfc3339(ms), "2026-11-27T14:03:11.250Z");
        let ms = parse_rfc3339("2026-11-27T14:20:00Z").unwrap();
        assert_eq!(format_rfc3339(ms), "2026-11-27T14:20:00Z");
        assert_eq!(parse_rfc3339("2026-11-27T15:20:00+01:00").unwrap(), ms);
        // Any number of fraction digits (RFC 3339 `time-secfrac`); milliseconds are kept.
        assert_eq!(parse_rfc3339("2026-11-27T14:20:00.2509999991Z").unwrap(), ms + 250);
        assert_eq!(parse_rfc3339("2026-11-27T15:20:00.123456789012+01:00").unwrap(), ms + 123);
        assert_eq!(parse_rfc3339("2026-11-27T14:20:00.Z"), None);
    }
}
