//! JSONL files: one event per line, read in bounded memory whatever the file size.

use std::collections::BTreeMap;
use std::io::BufRead;

use crate::event::{DecodeError, DecodeErrorReason, Decoder, Event};

/// One rejected line: where, why, and a short excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    pub line: u64,
    pub error: DecodeError,
    pub excerpt: String,
}

/// Bad lines counted per reason, with the first few line numbers of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BadInputSummary {
    pub counts: BTreeMap<DecodeErrorReason, u64>,
    pub first_lines: BTreeMap<DecodeErrorReason, Vec<u64>>,
    pub examples: Vec<BadInput>,
}

impl BadInputSummary {
    const LINES_PER_REASON: usize = 10;
    const EXAMPLES: usize = 5;

    pub fn record(&mut self, bad: BadInput) {
        let reason = bad.error.reason;
        *self.counts.entry(reason).or_default() += 1;
        let lines = self.first_lines.entry(reason).or_default();
        if lines.len() < Self::LINES_PER_REASON {
            lines.push(bad.line);
        }
        if self.examples.len() < Self::EXAMPLES {
            self.examples.push(bad);
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// `skipped 3 bad lines: not_json 2 (lines 4, 9), missing_field 1 (line 12)`.
    pub fn describe(&self) -> String {
        if self.counts.is_empty() {
            return "no bad lines".into();
        }
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(reason, n)| {
                let lines = &self.first_lines[reason];
                let shown: Vec<String> = lines.iter().map(u64::to_string).collect();
                let more = if *n as usize > lines.len() { ", …" } else { "" };
                let word = if lines.len() == 1 { "line" } else { "lines" };
                format!("{reason} {n} ({word} {}{more})", shown.join(", "))
            })
            .collect();
        format!("skipped {} bad line(s): {}", self.total(), parts.join(", "))
    }
}

/// Opens a recorded stream: `-` is stdin, a `.gz` file is decompressed on the fly.
pub fn open_events(path: &std::path::Path) -> std::io::Result<Box<dyn BufRead>> {
    const BUF: usize = 1 << 16;
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::BufReader::with_capacity(BUF, std::io::stdin())));
    }
    let file = std::fs::File::open(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(std::io::BufReader::with_capacity(BUF, flate2::read::MultiGzDecoder::new(file))))
    } else {
        Ok(Box::new(std::io::BufReader::with_capacity(BUF, file)))
    }
}

/// The first `max` characters of a line, for logs.
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// Iterates the events of a JSONL stream; blank lines are skipped, bad lines are returned
/// as errors with their line number and never stop the iteration.
pub struct JsonlEvents<R> {
    reader: R,
    decoder: Decoder,
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> JsonlEvents<R> {
    pub fn new(reader: R, decoder: Decoder) -> Self {
        JsonlEvents { reader, decoder, line: 0, buf: Vec::with_capacity(4096) }
    }

    /// Reads one line, but keeps at most `max_bytes + 1` of it in memory: an oversize line
    /// is drained, not buffered, so a multi-gigabyte line cannot exhaust memory.
    fn read_line(&mut self) -> std::io::Result<Option<usize>> {
        self.buf.clear();
        let limit = self.decoder.max_bytes().saturating_add(1);
        let mut total = 0usize;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                return Ok(if total == 0 { None } else { Some(total) });
            }
            let (take, done) = match memchr_newline(chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let room = limit.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            total += take;
            self.reader.consume(take);
            if done {
                return Ok(Some(total));
            }
        }
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

impl<R: BufRead> Iterator for JsonlEvents<R> {
    type Item = std::io::Result<Result<Event, BadInput>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let total = match self.read_line() {
                Ok(Some(n)) => n,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            self.line += 1;
            while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                self.buf.pop();
            }
            // Oversize first: only a prefix of a long line is kept, and a blank prefix
            // would have hidden the rest of the line (dropped uncounted).
            let oversize = total > self.decoder.max_bytes().saturating_add(2);
            if !oversize && self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let result = if oversize {
                Err(DecodeError {
                    reason: DecodeErrorReason::Oversize,
                    message: format!("line of {total} bytes, the limit is {}", self.decoder.max_bytes()),
                })
            } else {
                self.decoder.decode(&self.buf)
            };
            return Some(Ok(result.map_err(|error| BadInput {
                line: self.line,
                error,
                excerpt: excerpt(&self.buf, 80),
            })));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_reported_with_their_numbers_and_the_rest_is_read() {
        let input = b"{\"event_id\":\"a\",\"timestamp\":0,\"kind\":\"feedback\"}\n\nnot json\n{\"event_id\":\"b\",\"timestamp\":1,\"kind\":\"feedback\"}\r\n{\"kind\":\"feedback\"}\n";
        let mut summary = BadInputSummary::default();
        let mut ids = Vec::new();
        for item in JsonlEvents::new(&input[..], Decoder::default()) {
            match item.unwrap() {
                Ok(e) => ids.push(e.id.to_string()),
                Err(bad) => summary.record(bad),
            }
        }
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(summary.counts[&DecodeErrorReason::NotJson], 1);
        assert_eq!(summary.first_lines[&DecodeErrorReason::NotJson], vec![3]);
        assert_eq!(summary.first_lines[&DecodeErrorReason::MissingField], vec![5]);
        assert!(summary.describe().contains("not_json 1 (line 3)"), "{}", summary.describe());
    }

    #[test]
    fn an_oversize_line_is_rejected_without_buffering_it() {
        let mut input = vec![b'x'; 100_000];
        input.push(b'\n');
        input.extend_from_slice(b"{\"event_id\":\"a\",\"timestamp\":0,\"kind\":\"feedback\"}\n");
        let mut it = JsonlEvents::new(std::io::BufReader::with_capacity(1024, &input[..]), Decoder::new(1000));
        let first = it.next().unwrap().unwrap().unwrap_err();
        assert_eq!(first.error.reason, DecodeErrorReason::Oversize);
        assert!(it.buf.capacity() < 50_000);
        assert!(it.next().unwrap().unwrap().is_ok());
    }

    #[test]
    fn an_oversize_line_that_starts_blank_is_still_counted() {
        let mut input = b"{\"event_id\":\"a\",\"timestamp\":0,\"kind\":\"feedback\"}\n".to_vec();
        input.extend(std::iter::repeat_n(b' ', 101));
        input.extend_from_slice(b"garbage\n\n   \n");
        let items: Vec<_> = JsonlEvents::new(&input[..], Decoder::new(100)).map(Result::unwrap).collect();
        assert_eq!(items.len(), 2, "the blank lines are skipped, the long one is not");
        let bad = items[1].as_ref().unwrap_err();
        assert_eq!((bad.line, bad.error.reason), (2, DecodeErrorReason::Oversize));
    }
}
