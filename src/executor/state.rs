//! `--state FILE`: what earlier runs applied, so a re-run sends only the rest.
//!
//! JSON lines: a header `{"cent_run_state":1,"run_id":..}` then one line per
//! applied command `{"i":index,"f":fingerprint}`, appended and flushed after
//! every batch so a killed run loses at most its in-flight batches. A torn
//! last line is ignored. The fingerprint covers the method and the params
//! (before the automatic idempotency key), so an edited manifest does not
//! skip a command that changed.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

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

/// A stable fingerprint of a command.
pub fn fingerprint(method: &str, params_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(params_json.as_bytes());
    hex::encode(&h.finalize()[..12])
}

pub struct State {
    path: PathBuf,
    file: File,
    pub run_id: String,
    applied: HashSet<(usize, String)>,
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
        Ok(State { path: path.to_owned(), file, run_id, applied })
    }

    pub fn is_applied(&self, index: usize, fingerprint: &str) -> bool {
        self.applied.contains(&(index, fingerprint.to_owned()))
    }

    /// Records applied commands and flushes them to disk.
    pub fn record<'a>(&mut self, applied: impl IntoIterator<Item = (usize, &'a str)>) -> Result<(), StateError> {
        let mut buf = String::new();
        for (i, f) in applied {
            buf.push_str(&serde_json::to_string(&Entry { i, f: f.to_owned() }).expect("serialises"));
            buf.push('\n');
        }
        if buf.is_empty() {
            return Ok(());
        }
        let err = |e: std::io::Error| StateError { path: self.path.clone(), message: e.to_string() };
        self.file.write_all(buf.as_bytes()).map_err(err)?;
        self.file.flush().map_err(err)?;
        self.file.sync_data().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopened_state_keeps_run_id_and_applied_commands() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        let mut s = State::open(&p, "run-a").unwrap();
        s.record([(0, "f0"), (2, "f2")]).unwrap();
        drop(s);
        // A torn last line (killed mid-write) is ignored.
        std::fs::OpenOptions::new().append(true).open(&p).unwrap().write_all(b"{\"i\":3,").unwrap();
        let s = State::open(&p, "run-b").unwrap();
        assert_eq!(s.run_id, "run-a");
        assert!(s.is_applied(0, "f0") && s.is_applied(2, "f2"));
        assert!(!s.is_applied(2, "other") && !s.is_applied(3, "f3"));
        let mut s = s;
        s.record([(4, "f4")]).unwrap();
        drop(s);
        assert!(State::open(&p, "x").unwrap().is_applied(4, "f4"));
    }
}
