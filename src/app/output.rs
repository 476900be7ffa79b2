//! Where output goes and how it looks: results on stdout, diagnostics and
//! progress on stderr; colour only on a terminal and never with `NO_COLOR`;
//! a closed pipe ends the output quietly (never a panic); the progress bar
//! and the `-v` log are run-event listeners.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use clap::CommandFactory;

use crate::diagnostic::{self, Problem};
use crate::executor::{Event, Listener};
use crate::redact::Secrets;
use crate::settings::Env;

static NO_COLOR: OnceLock<bool> = OnceLock::new();

/// Takes what output needs from the environment (`NO_COLOR`), once.
pub(crate) fn init(env: &Env) {
    let _ = NO_COLOR.set(env.no_color());
}

fn no_color() -> bool {
    NO_COLOR.get().copied().unwrap_or(false)
}

pub(crate) fn color_stdout() -> bool {
    !no_color() && std::io::stdout().is_terminal()
}

pub(crate) fn color_stderr() -> bool {
    !no_color() && std::io::stderr().is_terminal()
}

/// Writes to stdout; a closed pipe (`| head`, `| grep -q`) is not an error.
pub(crate) fn write(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// A line on stdout.
pub(crate) fn line(text: &str) {
    write(&format!("{text}\n"));
}

/// Writes to stderr, ignoring a closed pipe.
pub(crate) fn stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

pub(crate) fn error(message: &str) {
    stderr(&format!("error: {message}\n"));
}

/// Located problems, rendered with their snippets.
pub(crate) fn problems(problems: &[Problem]) {
    stderr(&diagnostic::render(problems, color_stderr()));
}

/// Frees `value` on another thread: freeing the commands of a large
/// manifest takes up to a tenth of a second, and the process exits next.
pub(crate) fn drop_in_background<T: Send + 'static>(value: T) {
    std::thread::spawn(move || drop(value));
}

/// A shell completion script for `cent-run`.
pub(crate) fn completions(shell: clap_complete::Shell) -> String {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut crate::cli::Cli::command(), "cent-run", &mut buf);
    let script = String::from_utf8(buf).expect("completion scripts are UTF-8");
    match shell {
        // clap_complete 4.6 names a subcommand's case `cent__subcmd__run__…`
        // but tracks it as `cent__run__…` for a binary name with a hyphen,
        // so nothing below the top level completed: one name for both.
        clap_complete::Shell::Bash => script.replace("cent__subcmd__run", "cent__run"),
        _ => script,
    }
}

/// The manual page of `cent-run` or one of its subcommands, in roff.
pub(crate) fn man(subcommand: Option<&str>) -> Result<crate::exit::Exit, crate::error::Error> {
    let mut cmd = crate::cli::Cli::command();
    cmd.build();
    let page = match subcommand {
        None => cmd,
        Some(name) => match cmd.find_subcommand(name) {
            Some(sub) => sub.clone().name(Box::leak(format!("cent-run-{name}").into_boxed_str()) as &str),
            None => {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                return Err(crate::error::Error::Usage(format!(
                    "no subcommand `{name}` (there are: {})",
                    names.join(", ")
                )));
            }
        },
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out).map_err(|e| crate::error::Error::Usage(e.to_string()))?;
    write(&String::from_utf8_lossy(&out));
    Ok(crate::exit::Exit::Ok)
}

/// A progress bar on stderr, only when stderr is a terminal and the run is long.
pub(crate) struct Progress(indicatif::ProgressBar);

impl Progress {
    pub(crate) fn new(total: usize, quiet: bool) -> Option<Progress> {
        if quiet || total < 200 || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} commands{steady_eta}",
            )
            .expect("valid template")
            .with_key("steady_eta", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                if let Some(eta) = steady_eta(state.pos(), state.len().unwrap_or(0), state.elapsed()) {
                    let _ = write!(w, ", about {} left", crate::duration::show(eta));
                }
            }),
        );
        Some(Progress(bar))
    }
}

/// The time left at the run's average pace so far, said only once the
/// pace means something (2 s and 2% in: the first batches' estimates jump
/// from hours to minutes), rounded to whole seconds.
fn steady_eta(done: u64, total: u64, elapsed: std::time::Duration) -> Option<std::time::Duration> {
    if done == 0 || done >= total || elapsed < std::time::Duration::from_secs(2) || done * 50 < total {
        return None;
    }
    let left = elapsed.as_secs_f64() * (total - done) as f64 / done as f64;
    Some(std::time::Duration::from_secs(left.round() as u64))
}

impl Listener for Progress {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Outcome { .. } => self.0.inc(1),
            Event::End { .. } => self.0.finish_and_clear(),
            _ => {}
        }
    }
}

/// `-v` request logging to stderr; `-vv` adds bodies. Secrets redacted.
pub(crate) struct Log {
    pub verbose: u8,
    pub secrets: Secrets,
}

impl Listener for Log {
    fn event(&self, event: &Event<'_>) {
        let Event::Answered(x) = event else { return };
        let status = match (x.status, x.error) {
            (Some(s), _) => s.to_string(),
            (None, Some(e)) => format!("error: {e}"),
            (None, None) => "-".into(),
        };
        let mut line = format!(
            "POST {} ({} commands, {} bytes) -> {} in {}ms ({} bytes)",
            self.secrets.redact(x.url),
            x.commands,
            x.request_body.len(),
            self.secrets.redact(&status),
            x.elapsed.as_millis(),
            x.response_body.map_or(0, <[u8]>::len)
        );
        if self.verbose > 1 {
            line.push_str("\n  request: ");
            line.push_str(&self.secrets.redact(&String::from_utf8_lossy(x.request_body)));
            if let Some(b) = x.response_body {
                line.push_str("\n  response: ");
                line.push_str(&self.secrets.redact(&String::from_utf8_lossy(b)));
            }
        }
        line.push('\n');
        stderr(&line);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::steady_eta;

    #[test]
    fn the_estimate_waits_for_a_steady_pace_and_does_not_jump() {
        assert_eq!(steady_eta(5, 1000, Duration::from_millis(500)), None, "too early");
        assert_eq!(steady_eta(10, 1000, Duration::from_secs(3)), None, "1% in: too early");
        let at = |done, secs| steady_eta(done, 1000, Duration::from_secs(secs)).unwrap().as_secs();
        // A steady pace gives estimates that fall steadily.
        let estimates = [at(100, 10), at(200, 20), at(500, 50), at(900, 90)];
        assert_eq!(estimates, [90, 80, 50, 10]);
    }
}
