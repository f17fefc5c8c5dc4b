//! Where the daemon's transitions go until notifications are wired (issue 4): a JSONL file,
//! one line per transition with its sequence number. Delivery is idempotent: lines carry a
//! store-assigned `seq`, and on start the sink skips every `seq` the file already has, so
//! replaying the outbox after a crash never writes a transition twice.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::eval::Transition;
use crate::output::transition_json;

pub struct FileSink {
    path: PathBuf,
    last_seq: u64,
    /// The file ends inside a line (a write cut short by a crash): the next append starts
    /// on a new line, or it would be glued to the torn one and lost with it.
    torn: bool,
}

impl FileSink {
    /// Reads the sequence numbers already delivered. A line that does not parse (cut short
    /// by a crash, or damaged) is skipped with a warning naming it, never fatal.
    pub fn open(path: &Path) -> std::io::Result<FileSink> {
        let (mut last_seq, mut torn) = (0, false);
        if let Ok(f) = std::fs::File::open(path) {
            let mut reader = std::io::BufReader::new(f);
            let mut line = Vec::new();
            let mut number = 0;
            while reader.read_until(b'\n', &mut line)? > 0 {
                number += 1;
                torn = line.last() != Some(&b'\n');
                match serde_json::from_slice::<serde_json::Value>(&line) {
                    Ok(v) => last_seq = last_seq.max(v["seq"].as_u64().unwrap_or(0)),
                    Err(error) => tracing::warn!(message = "Unreadable line in the transitions file; skipped.", file = %path.display(), line = number, %error),
                }
                line.clear();
            }
        }
        Ok(FileSink { path: path.to_path_buf(), last_seq, torn })
    }

    /// Appends the transitions not delivered yet, then syncs the file.
    pub fn deliver(&mut self, items: &[(u64, Transition)]) -> std::io::Result<()> {
        let fresh: Vec<&(u64, Transition)> = items.iter().filter(|(seq, _)| *seq > self.last_seq).collect();
        if fresh.is_empty() {
            return Ok(());
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        let mut buf = Vec::new();
        if self.torn {
            buf.push(b'\n');
        }
        for (seq, t) in &fresh {
            let mut v = transition_json(t, true);
            v.as_object_mut().expect("object").insert("seq".into(), (*seq).into());
            serde_json::to_writer(&mut buf, &v)?;
            buf.push(b'\n');
        }
        f.write_all(&buf)?;
        f.sync_data()?;
        self.torn = false;
        self.last_seq = fresh.last().map_or(self.last_seq, |(s, _)| *s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::AlertState;

    fn transition(at_ms: i64) -> Transition {
        Transition {
            rule: "r".into(),
            group: Vec::new(),
            state: AlertState::Firing,
            at_ms,
            value: Some(1.0),
            threshold: 0.5,
            events: 3,
            samples: Vec::new(),
            reminder: false,
            firing_since_ms: Some(at_ms),
        }
    }

    #[test]
    fn a_torn_or_damaged_file_is_read_past_and_appended_to_on_a_new_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        // seq 1 delivered; seq 2 cut short by a crash, mid-character.
        std::fs::write(&path, b"{\"seq\":1}\n{\"seq\":2,\"rule\":\"soci\xc3").unwrap();
        let mut sink = FileSink::open(&path).unwrap();
        sink.deliver(&[(1, transition(0)), (2, transition(1000)), (3, transition(2000))]).unwrap();
        let text = std::fs::read(&path).unwrap();
        let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 4, "{}", String::from_utf8_lossy(&text));
        let seqs: Vec<u64> = lines[2..].iter().map(|l| serde_json::from_slice::<serde_json::Value>(l).unwrap()["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, [2, 3], "the torn transition is written again, whole");
        // Opening again finds everything delivered.
        let mut again = FileSink::open(&path).unwrap();
        again.deliver(&[(3, transition(2000))]).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), text);
    }
}
