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
}

impl FileSink {
    pub fn open(path: &Path) -> std::io::Result<FileSink> {
        let mut last_seq = 0;
        if let Ok(f) = std::fs::File::open(path) {
            for line in std::io::BufReader::new(f).lines() {
                let line = line?;
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && let Some(seq) = v["seq"].as_u64()
                {
                    last_seq = last_seq.max(seq);
                }
            }
        }
        Ok(FileSink { path: path.to_path_buf(), last_seq })
    }

    /// Appends the transitions not delivered yet, then syncs the file.
    pub fn deliver(&mut self, items: &[(u64, Transition)]) -> std::io::Result<()> {
        let fresh: Vec<&(u64, Transition)> = items.iter().filter(|(seq, _)| *seq > self.last_seq).collect();
        if fresh.is_empty() {
            return Ok(());
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        let mut buf = Vec::new();
        for (seq, t) in &fresh {
            let mut v = transition_json(t, true);
            v.as_object_mut().expect("object").insert("seq".into(), (*seq).into());
            serde_json::to_writer(&mut buf, &v)?;
            buf.push(b'\n');
        }
        f.write_all(&buf)?;
        f.sync_data()?;
        self.last_seq = fresh.last().map_or(self.last_seq, |(s, _)| *s);
        Ok(())
    }
}
