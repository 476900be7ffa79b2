//! What a run, `check` or `plan` writes and where: the output settings
//! (format, quiet, report files, verbosity, the state file) read from the
//! settled flags once, with the environment's GitHub and golden-test switches.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::output;
use crate::diagnostic::Problem;
use crate::settings::table::Key;
use crate::settings::{Env, Layer, Value};

/// What stdout shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Table,
    Json,
}

/// Where a run's account goes.
#[derive(Debug, Clone)]
pub(crate) struct Outputs {
    pub format: Format,
    pub quiet: bool,
    pub verbose: u8,
    pub report_json: Option<PathBuf>,
    pub report_junit: Option<PathBuf>,
    pub report_html: Option<PathBuf>,
    pub metrics_file: Option<PathBuf>,
    /// The metrics' `name` label (`--metrics-name`).
    pub metrics_name: Option<String>,
    pub state: Option<PathBuf>,
    /// Under GitHub Actions: annotations, and the step summary file.
    pub github: bool,
    pub step_summary: Option<PathBuf>,
    /// Fixed durations and ids (golden tests).
    pub deterministic: bool,
}

impl Outputs {
    /// Warnings on stderr (not with `--quiet`), and as annotations under GitHub Actions.
    pub(crate) fn warn(&self, warnings: &[Problem]) {
        if warnings.is_empty() {
            return;
        }
        if !self.quiet {
            output::problems(warnings);
        }
        if self.github {
            output::stderr(&crate::report::problem_annotations(warnings));
        }
    }

    /// The output settings among the flags (they have no other source).
    pub(crate) fn new(flags: &Layer, env: &Env) -> Self {
        let path = |k| flags.value(k).and_then(Value::as_path).cloned();
        Outputs {
            format: match flags.value(Key::Format) {
                Some(Value::Choice("json")) => Format::Json,
                _ => Format::Table,
            },
            quiet: flags.value(Key::Quiet).and_then(Value::as_bool).unwrap_or(false),
            verbose: match flags.value(Key::Verbose) {
                Some(Value::Count(n)) => *n,
                _ => 0,
            },
            report_json: path(Key::ReportJson),
            report_junit: path(Key::ReportJunit),
            report_html: path(Key::ReportHtml),
            metrics_file: path(Key::MetricsFile),
            metrics_name: match flags.value(Key::MetricsName) {
                Some(Value::Text(t)) => Some(t.clone()),
                _ => None,
            },
            state: path(Key::State),
            github: env.github_actions(),
            step_summary: env.step_summary().map(PathBuf::from),
            deterministic: env.deterministic(),
        }
    }

    /// The report files asked for.
    pub(crate) fn report_files(&self) -> impl Iterator<Item = &PathBuf> {
        [&self.report_json, &self.report_junit, &self.report_html, &self.metrics_file].into_iter().flatten()
    }
}

/// Writes a report file atomically: into a temporary file beside it, then
/// renamed over it, so a reader sees the whole report or none (never an
/// empty or cut one, whatever stops the process). A failure is said once.
pub(crate) fn write_file(path: &Path, fill: &dyn Fn(&mut dyn Write) -> std::io::Result<()>) {
    if let Err(e) = write_atomically(path, fill) {
        output::error(&format!("cannot write {}: {e}", path.display()));
    }
}

fn write_atomically(path: &Path, fill: &dyn Fn(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    let tmp = temporary(path);
    let written = std::fs::File::create(&tmp).and_then(|f| {
        let mut out = Piped::new(f);
        fill(&mut out)?;
        out.finish()?.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Bytes handed to the writing thread at a time.
const BLOCK: usize = 64 * 1024;

/// Bytes written between two flushes to the disk, while a report is written.
const FLUSH: usize = 8 * 1024 * 1024;

fn join(flush: std::thread::JoinHandle<std::io::Result<()>>) -> std::io::Result<()> {
    flush.join().map_err(|_| std::io::Error::other("the report's flush panicked"))?
}

/// Writes to a file on a thread of its own, in blocks: a report is made
/// while the kernel copies the blocks before it into the file (a third of
/// writing the JSON report of 200,000 commands was that copy).
struct Piped {
    block: Vec<u8>,
    to_thread: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    /// Blocks written, back to be filled again.
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    thread: std::thread::JoinHandle<std::io::Result<std::fs::File>>,
}

impl Piped {
    fn new(mut file: std::fs::File) -> Self {
        let (to_thread, blocks) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let (back, spare) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            // What is written goes to the disk while the rest is made: the
            // file's `fsync` at the end then waits for its tail only (it took
            // 29 ms, a third of writing the JSON report of 200,000 commands).
            let mut flushing: Option<std::thread::JoinHandle<std::io::Result<()>>> = None;
            let mut unflushed = 0;
            for mut block in blocks {
                file.write_all(&block)?;
                unflushed += block.len();
                block.clear();
                let _ = back.send(block);
                if unflushed >= FLUSH && flushing.as_ref().is_none_or(|f| f.is_finished()) {
                    flushing.take().map(join).transpose()?;
                    let f = file.try_clone()?;
                    flushing = Some(std::thread::spawn(move || f.sync_data()));
                    unflushed = 0;
                }
            }
            flushing.map(join).transpose()?;
            Ok(file)
        });
        Piped { block: Vec::with_capacity(BLOCK), to_thread: Some(to_thread), spare, thread }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let next = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(BLOCK));
        let block = std::mem::replace(&mut self.block, next);
        match &self.to_thread {
            Some(tx) if tx.send(block).is_ok() => Ok(()),
            // The thread stopped at an error: `finish` says which.
            _ => Err(std::io::Error::other("the report's writer stopped")),
        }
    }

    /// Everything written: the file, or the first error.
    fn finish(mut self) -> std::io::Result<std::fs::File> {
        let sent = self.send();
        drop(self.to_thread.take());
        let file = self.thread.join().map_err(|_| std::io::Error::other("the report's writer panicked"))??;
        sent.map(|()| file)
    }
}

impl Write for Piped {
    /// Takes what fits in the block (`write_all` hands the rest again): a
    /// block never grows past its size, whatever is written at once.
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(BLOCK - self.block.len());
        self.block.extend_from_slice(&data[..n]);
        if self.block.len() >= BLOCK {
            self.send()?;
        }
        Ok(n)
    }

    /// Hands the block over; [`Piped::finish`] waits for it to be written.
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// Appends to GitHub's step summary file; a failure is said once.
pub(crate) fn append_step_summary(path: &Path, text: &str) {
    let appended =
        std::fs::OpenOptions::new().create(true).append(true).open(path).and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = appended {
        output::error(&format!("cannot append to GITHUB_STEP_SUMMARY: {e}"));
    }
}

/// The temporary file beside `path` that is renamed over it.
fn temporary(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Whether a report file can be written there (checked before sending:
/// a path that cannot be written is a bad option, found before anything
/// is sent): its temporary file can be made beside it. Nothing is left
/// behind, and a file already there stays as it is until the new one
/// replaces it (a metrics file's last success is read from it, and a
/// collector never sees it missing).
pub(crate) fn writable(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    let tmp = temporary(path);
    std::fs::File::create(&tmp).and_then(|_| std::fs::remove_file(&tmp))
}
