//! `--state FILE`: what earlier runs applied, so a re-run sends only the rest.
//!
//! JSON lines: a header `{"cent_run_state":2,"run_id":..}` then one line per
//! applied command `{"f":fingerprint,"n":occurrence}` — the command's
//! identity by content, the same the idempotency keys carry — appended and
//! flushed after every batch (the state file listens to the run's events),
//! so a killed run loses at most its in-flight batches. A torn last line is
//! ignored. Inserting, removing or moving other commands changes no
//! command's identity, so a re-run of an edited manifest skips exactly what
//! was applied; a shard's state and a whole run's are the same file format.
//! The file is locked while a run uses it: a second run at once (an
//! overlapping cron job) is refused.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::events::{Event, Listener};
use super::outcome::Status;
use crate::manifest::Command;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
#[error("state file {path}: {message}")]
pub(crate) struct StateError {
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
    f: String,
    n: usize,
}

/// The format this cent-run writes; version 1 recorded positions.
const VERSION: u32 = 2;

pub(crate) struct State {
    path: PathBuf,
    pub run_id: String,
    applied: HashSet<(String, usize)>,
    /// Entries of version 1 (positions) it could not use.
    pub stale: usize,
    /// The open file and the entries not yet written.
    out: Mutex<(File, String)>,
    /// The first write that failed (the run goes on).
    error: Mutex<Option<StateError>>,
}

impl State {
    /// Opens (or creates) the state file. An existing file's run id wins over
    /// `run_id`, so re-sends reuse the same idempotency keys.
    pub(crate) fn open(path: &Path, run_id: &str) -> Result<Self, StateError> {
        let err = |message: String| StateError { path: path.to_owned(), message };
        let mut applied = HashSet::new();
        let mut existing_run = None;
        let mut stale = 0;
        let mut version = VERSION;
        if path.exists() {
            let f = File::open(path).map_err(|e| err(e.to_string()))?;
            for (n, line) in BufReader::new(f).lines().enumerate() {
                let line = line.map_err(|e| err(e.to_string()))?;
                if n == 0 {
                    let h: Header =
                        serde_json::from_str(&line).map_err(|e| err(format!("not a cent-run state file: {e}")))?;
                    existing_run = Some(h.run_id);
                    version = h.cent_run_state;
                } else if let Ok(e) = serde_json::from_str::<Entry>(&line) {
                    applied.insert((e.f, e.n));
                } else if version < VERSION && !line.trim().is_empty() {
                    stale += 1;
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
                let h = Header { cent_run_state: VERSION, run_id: run_id.to_owned() };
                writeln!(file, "{}", serde_json::to_string(&h).expect("serialises")).map_err(|e| err(e.to_string()))?;
                file.flush().map_err(|e| err(e.to_string()))?;
                run_id.to_owned()
            }
        };
        Ok(State {
            path: path.to_owned(),
            run_id,
            applied,
            stale,
            out: Mutex::new((file, String::new())),
            error: Mutex::new(None),
        })
    }

    /// Whether an earlier run applied this command (by its identity).
    pub(crate) fn is_applied(&self, command: &Command) -> bool {
        !self.applied.is_empty() && self.applied.contains(&(command.fingerprint(), command.occurrence()))
    }

    /// How many commands it records as applied.
    pub(crate) fn len(&self) -> usize {
        self.applied.len()
    }

    /// The first write that failed, if any.
    pub(crate) fn take_error(&self) -> Option<StateError> {
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
            Event::Outcome { command, outcome } if outcome.status == Status::Ok => {
                let line = serde_json::to_string(&Entry { f: command.fingerprint(), n: command.occurrence() })
                    .expect("serialises");
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
        let ok = crate::executor::Outcome::with_status(Status::Ok);
        for &index in applied {
            s.event(&Event::Outcome { command: &commands[index], outcome: &ok });
        }
        s.event(&Event::BatchDone);
    }

    fn commands(text: &str) -> Vec<Command> {
        let mut c = crate::manifest::load_text("t.yaml", text, &Default::default()).unwrap().commands.to_vec();
        crate::manifest::number_occurrences(&mut c);
        c
    }

    const TEXT: &str = "commands:\n  - publish: {channel: a, data: 1}\n  - publish: {channel: b, data: 1}\n  - disconnect: {user: u}\n  - publish: {channel: a, data: 1}\n";

    #[test]
    fn a_command_is_known_by_its_content_and_occurrence_not_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        let cmds = commands(TEXT);
        let s = State::open(&p, "run-a").unwrap();
        record(&s, &cmds, &[0, 2]);
        drop(s);
        // A torn last line (killed mid-write) is ignored.
        std::fs::OpenOptions::new().append(true).open(&p).unwrap().write_all(b"{\"f\":").unwrap();
        let s = State::open(&p, "run-b").unwrap();
        assert_eq!(s.run_id, "run-a");
        // A command inserted at the top moves every other one: they are still known.
        let moved = commands(&TEXT.replace("commands:\n", "commands:\n  - publish: {channel: c, data: 9}\n"));
        let applied: Vec<bool> = moved.iter().map(|c| s.is_applied(c)).collect();
        assert_eq!(applied, [false, true, false, true, false], "the first publish to a and the disconnect");
        // An edited command is another command.
        assert!(!s.is_applied(
            &commands(&TEXT.replace("data: 1}\n  - publish: {channel: b", "data: 2}\n  - publish: {channel: b"))[0]
        ));
        record(&s, &cmds, &[3]);
        drop(s);
        assert!(State::open(&p, "x").unwrap().is_applied(&cmds[3]), "the second publish to a");
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
