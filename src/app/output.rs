//! Where output goes and how it looks: colour only on a terminal and never
//! with NO_COLOR; progress only on a terminal; secrets redacted.

use std::io::IsTerminal;

pub fn color_stdout() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

pub fn color_stderr() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// A progress bar on stderr, only when stderr is a terminal and the run is long.
pub fn progress(total: usize, quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || total < 200 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} commands, eta {eta}",
        )
        .expect("valid template"),
    );
    Some(bar)
}

/// `-v` request logging to stderr; `-vv` adds bodies. Secrets redacted.
pub fn logger(verbose: u8, secrets: Vec<String>) -> impl Fn(&crate::client::Exchange) + Send + Sync + 'static {
    move |x| {
        let status = match (x.status, x.error) {
            (Some(s), _) => s.to_string(),
            (None, Some(e)) => format!("error: {e}"),
            (None, None) => "-".into(),
        };
        let mut line = format!(
            "POST {} ({} commands, {} bytes) -> {} in {}ms ({} bytes)",
            x.url,
            x.commands,
            x.request_body.len(),
            status,
            x.elapsed.as_millis(),
            x.response_body.map_or(0, <[u8]>::len)
        );
        if verbose > 1 {
            line.push_str("\n  request: ");
            line.push_str(&String::from_utf8_lossy(x.request_body));
            if let Some(b) = x.response_body {
                line.push_str("\n  response: ");
                line.push_str(&String::from_utf8_lossy(b));
            }
        }
        eprintln!("{}", crate::config::redact(&line, &secrets));
    }
}
