//! `check`: the manifests are valid (the problems were found by loading,
//! and by the server's configuration when one was given); say so, as a
//! line or as JSON.

use super::output;
use super::outputs::{Format, Outputs};
use crate::error::Error;
use crate::exit::Exit;
use crate::manifest::{Manifest, Problem};
use crate::report;
use crate::server_config::ServerConfig;

pub(crate) fn check(
    manifest: &Manifest,
    warnings: &[Problem],
    outputs: &Outputs,
    server_config: Option<&ServerConfig>,
) -> Result<Exit, Error> {
    let (n, m) = (manifest.len(), manifest.sources.len());
    if outputs.format == Format::Json {
        let mut text = Vec::new();
        write_json(&mut text, Some(manifest), warnings);
        output::write(&String::from_utf8_lossy(&text));
    } else if !outputs.quiet {
        output::line(&format!(
            "ok: {} {} in {m} {} ({} protocol)",
            report::count(n),
            report::plural(n, "command", "commands"),
            report::plural(m, "manifest", "manifests"),
            manifest.protocol
        ));
        if let Some(config) = server_config {
            output::line(&format!("the server's configuration {} refuses none of them", config.describe()));
        }
        if !manifest.env_reads.is_empty() {
            output::line(&format!("reads the environment: {}", manifest.env_reads.join(", ")));
        }
    }
    Ok(Exit::Ok)
}

/// What `check --format json` prints: valid or not, the commands, the problems.
pub(crate) fn write_json(out: &mut Vec<u8>, manifest: Option<&Manifest>, problems: &[Problem]) {
    let check = report::CheckJson {
        version: 2,
        valid: manifest.is_some(),
        total: manifest.map_or(0, |m| m.len()),
        protocol: manifest.map(|m| m.protocol.as_str()),
        env_reads: manifest.map_or(&[], |m| &m.env_reads),
        problems: report::json_problems(problems),
    };
    let _ = serde_json::to_writer(&mut *out, &check);
    out.push(b'\n');
}
