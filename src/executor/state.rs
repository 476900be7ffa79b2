//! `--state FILE`: what earlier runs applied, so a re-run sends only the rest.
//!
//! JSON lines: a header `{"cent_run_state":1,"run_id":..}` then one line per
//! applied command `{"i":index,"f":fingerprint}`, appended and flushed after
//! every batch (the state file listens to the run's events) so a killed run
//! loses at most its in-flight batches. A torn last line is ignored. The
//! fingerprint covers the method and the params (before the automatic
//! idempotency key), so an edited manifest does not skip a command that
//! changed. The file is locked while a run uses it: a second run at once
//! (an overlapping cron job) is refused.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::events::{Event, Listener};
use super::outcome::Status;
use crate::manifest::Command;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
#[error("state file {path}: {message}")]
pub struct StateError {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    cent_run_state: u32,
    run_id: String,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    i: usize,
    f: String,
}

/// A stable fingerprint of a command: its method and its params as
/// validated (before a derived idempotency key is added).
pub fn fingerprint(command: &Command) -> String {
    let mut h = Sha256::new();
    h.update(command.method.name.as_bytes());
    h.update([0]);
    h.update(command.params().as_bytes());
    hex::encode(&h.finalize()[..12])
}

pub struct State {
    path: PathBuf,
    pub run_id: String,
    applied: HashSet<(usize, String)>,
    /// The open file and the entries not yet written.
    out: Mutex<(File, String)>,
    /// The first write that failed (the run goes on).
    error: Mutex<Option<StateError>>,
}

impl State {
    /// Opens (or creates) the state file. An existing file's run id wins over
    /// `run_id`, so re-sends reuse the same idempotency keys.
    pub fn open(path: &Path, run_id: &str) -> Result<Self, StateError> {
        let err = |message: String| StateError { path: path.to_owned(), message };
        let mut applied = HashSet::new();
        let mut existing_run = None;
        if path.exists() {
            let f = File::open(path).map_err(|e| err(e.to_string()))?;
            for (n, line) in BufReader::new(f).lines().enumerate() {
                let line = line.map_err(|e| err(e.to_string()))?;
                if n == 0 {
                    let h: Header =
                        serde_json::from_str(&line).map_err(|e| err(format!("not a cent-run state file: {e}")))?;
                    existing_run = Some(h.run_id);
                } else if let Ok(e) = serde_json::from_str::<Entry>(&line) {
                    applied.insert((e.i, e.f));
                }
            }
        }
        let torn = std::fs::read(path).is_ok_and(|b| b.last().is_some_and(|&c| c != b'\n'));
        let mut file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| err(e.to_string()))?;
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => {
                err("in use by another cent-run (it is locked); wait for that run to end, or give another --state file"
                    .into())
            }
            std::fs::TryLockError::Error(e) => err(format!("cannot lock it: {e}")),
        })?;
        if torn {
            // Start on a fresh line so the next entry is not glued to a torn one.
            file.write_all(b"\n").map_err(|e| err(e.to_string()))?;
        }
        let run_id = match existing_run {
            Some(r) => r,
            None => {
                let h = Header { cent_run_state: 1, run_id: run_id.to_owned() };
                writeln!(file, "{}", serde_json::to_string(&h).expect("serialises")).map_err(|e| err(e.to_string()))?;
                file.flush().map_err(|e| err(e.to_string()))?;
                run_id.to_owned()
            }
        };
        Ok(State {
            path: path.to_owned(),
            run_id,
            applied,
            out: Mutex::new((file, String::new())),
            error: Mutex::new(None),
        })
    }

    /// Whether command `index` was applied by an earlier run, unchanged.
    pub fn is_applied(&self, index: usize, command: &Command) -> bool {
        !self.applied.is_empty() && self.applied.contains(&(index, fingerprint(command)))
    }

    /// The first write that failed, if any.
    pub fn take_error(&self) -> Option<StateError> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Writes the buffered entries and makes them durable.
    fn flush(&self) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let (file, buf) = &mut *out;
        if buf.is_empty() {
            return;
        }
        let written = file.write_all(buf.as_bytes()).and_then(|()| file.flush()).and_then(|()| file.sync_data());
        buf.clear();
        if let Err(e) = written {
            let mut error = self.error.lock().unwrap_or_else(|e| e.into_inner());
            error.get_or_insert(StateError { path: self.path.clone(), message: e.to_string() });
        }
    }
}

impl Listener for State {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Outcome { index, command, outcome } if outcome.status == Status::Ok => {
                let f = fingerprint(command);
                let line = serde_json::to_string(&Entry { i: *index, f }).expect("serialises");
                let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
                out.1.push_str(&line);
                out.1.push('\n');
            }
            Event::BatchDone | Event::End { .. } => self.flush(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(s: &State, commands: &[Command], applied: &[usize]) {
        let ok = crate::executor::Outcome {
            status: Status::Ok,
            ..crate::executor::Outcome::skipped(super::super::SkipReason::FailFast)
        };
        for &index in applied {
            s.event(&Event::Outcome { index, command: &commands[index], outcome: &ok });
        }
        s.event(&Event::BatchDone);
    }

    fn commands(data: u32) -> std::sync::Arc<Vec<Command>> {
        let text = format!(
            "commands:\n  - publish: {{channel: a, data: {data}}}\n  - publish: {{channel: b, data: 1}}\n  - disconnect: {{user: u}}\n  - history: {{channel: a, limit: 1}}\n  - publish: {{channel: c, data: 1}}\n"
        );
        crate::manifest::load_text("t.yaml", &text, &Default::default()).unwrap().commands
    }

    #[test]
    fn reopened_state_keeps_run_id_and_applied_commands() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        let cmds = commands(1);
        let s = State::open(&p, "run-a").unwrap();
        record(&s, &cmds, &[0, 2]);
        drop(s);
        // A torn last line (killed mid-write) is ignored.
        std::fs::OpenOptions::new().append(true).open(&p).unwrap().write_all(b"{\"i\":3,").unwrap();
        let s = State::open(&p, "run-b").unwrap();
        assert_eq!(s.run_id, "run-a");
        assert!(s.is_applied(0, &cmds[0]) && s.is_applied(2, &cmds[2]));
        assert!(!s.is_applied(1, &cmds[1]) && !s.is_applied(3, &cmds[3]));
        // The same position with other content is another command.
        assert!(!s.is_applied(0, &commands(2)[0]) && !s.is_applied(1, &cmds[0]));
        record(&s, &cmds, &[4]);
        drop(s);
        assert!(State::open(&p, "x").unwrap().is_applied(4, &cmds[4]));
    }

    #[test]
    fn a_state_file_in_use_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        let first = State::open(&p, "run-a").unwrap();
        let second = State::open(&p, "run-b").err().expect("locked");
        assert!(second.to_string().contains("in use by another cent-run"), "{second}");
        drop(first);
        assert!(State::open(&p, "run-c").is_ok());
    }
}
