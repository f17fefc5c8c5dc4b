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
