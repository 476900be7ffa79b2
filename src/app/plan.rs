//! `plan`: the exact requests a run would send — method, URL, headers,
//! body, secrets as `***` — with the steps between them; no network. And
//! the warning for a command that alone is over the request size limit.

use super::output;
use crate::error::Error;
use crate::executor::{self, RunOptions};
use crate::exit::Exit;
use crate::manifest::{self, Manifest};
use crate::report;
use crate::resolve::Settings;

/// A command whose request alone exceeds `--max-batch-bytes` is sent alone,
/// over the limit a proxy in front of the server may enforce. Its size is
/// the one the batches are cut by (a derived key included).
/// Whether any command, kept or only counted, may be over the byte budget
/// (the longest params with the longest key `check` would derive).
pub(crate) fn may_be_oversized(m: &Manifest, opts: &RunOptions) -> bool {
    let key = ",\"idempotency_key\":\"\"".len() + executor::idempotency_key_len(&opts.run_id, 0);
    executor::command_size(m.longest_params + key) > opts.max_batch_bytes
}

pub(crate) fn oversized(m: &Manifest, opts: &RunOptions) -> Vec<crate::manifest::Problem> {
    let plan = executor::Plan::new(m.commands.clone(), m.protocol, &opts.run_id, opts.idempotency);
    (0..plan.len())
        .filter(|&i| plan.size(i) > opts.max_batch_bytes)
        .take(10)
        .map(|i| {
            let c = plan.command(i);
            let p = crate::manifest::Problem::error(format!(
                "command #{} ({}) is {} bytes, over --max-batch-bytes {}: it is sent alone, in a request over the limit",
                c.index,
                c.method.name,
                plan.size(i),
                opts.max_batch_bytes
            ));
            let src = &m.sources[c.manifest()];
            p.at(src, crate::manifest::Span { offset: c.offset(), len: 1 }, "this command").warning()
        })
        .collect()
}

pub(crate) fn plan(m: &Manifest, settings: &Settings, secret_values: Vec<String>) -> Result<Exit, Error> {
    let (conn, opts) = (&settings.connection, &settings.run);
    let client =
        crate::client::Client::new(conn.client_config(&conn.urls[0])).map_err(|e| Error::Usage(e.to_string()))?;
    let plan = executor::Plan::new(m.commands.clone(), conn.protocol, &opts.run_id, opts.idempotency);
    let batches = executor::plan_batches(&plan, opts);
    let secrets = conn.secrets().with(secret_values);
    let mut out = String::new();
    let requests = batches.iter().filter(|b| !m.commands[b[0]].is_step()).count();
    out.push_str(&format!(
        "# run {}: {} {} in {} {}, protocol {}\n",
        opts.run_id,
        report::count(plan.len()),
        report::plural(plan.len(), "command", "commands"),
        report::count(requests),
        report::plural(requests, "request", "requests"),
        conn.protocol
    ));
    let mut n = 0;
    for cmds in &batches {
        let first = &m.commands[cmds[0]];
        if let Some(steps) = first.steps().filter(|s| s.wait.is_some()) {
            let pause = crate::duration::show(steps.wait.unwrap_or_default());
            out.push_str(&format!(
                "\n# step {} ({}:{}): wait {pause} — every request above is answered first\n",
                first.index,
                m.sources[first.manifest()].name,
                first.line
            ));
            continue;
        }
        if first.is_listen() {
            let p = first.params_map();
            let field = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let at = match p.get("url").and_then(|v| v.as_str()) {
                Some(u) => executor::listen::websocket(u),
                None => executor::listen::websocket(&conn.urls[0]),
            };
            out.push_str(&format!(
                "\n# step {} ({}:{}): listen — a client of user `{}` connects to {at} and subscribes to `{}` before anything after it\n",
                first.index,
                m.sources[first.manifest()].name,
                first.line,
                field("user"),
                field("channel")
            ));
            continue;
        }
        n += 1;
        out.push_str(&format!("\n# request {n} of {requests}: commands {}\n", describe(m, cmds)));
        for &c in cmds {
            // Shown by its index in the whole run (a shard holds a part of it).
            let cmd = &m.commands[c];
            if cmd.method.pro {
                let i = cmd.index;
                out.push_str(&format!("# command {i} ({}) is PRO-only: an OSS server answers 104\n", cmd.method.name));
            }
            out.push_str(&steps_plan(cmd.index(), cmd, &m.sources));
        }
        let encoded: Vec<_> = cmds.iter().map(|&c| plan.encoded(c)).collect();
        let body = crate::protocol::body(conn.protocol, &encoded);
        let req = client.request(body, true);
        out.push_str(&format!("POST {}\n", req.url));
        for (k, v) in &req.headers {
            out.push_str(&format!("{k}: {v}\n"));
        }
        let body = String::from_utf8_lossy(&req.body);
        out.push_str(&format!("\n{}\n", manifest::steps::shown_placeholders(&secrets.redact(&body))));
        if out.len() > 1 << 16 {
            output::write(&out);
            out.clear();
        }
    }
    output::write(&out);
    Ok(Exit::Ok)
}

/// A command's checks, repeats and saves, as plan comments.
fn steps_plan(c: usize, cmd: &crate::manifest::Command, sources: &[crate::manifest::Source]) -> String {
    let Some(s) = cmd.steps() else { return String::new() };
    let mut out = String::new();
    if !s.uses.is_empty() {
        let names: Vec<String> = s.uses.iter().map(|n| format!("${{{n}}}")).collect();
        out.push_str(&format!("# command {c} starts after {} are saved, and is filled with them\n", names.join(", ")));
    }
    if let Some((within, _)) = &s.delivered {
        out.push_str(&format!(
            "# command {c} is sent alone, and the listeners that can hear it must within {}\n",
            crate::duration::show(*within)
        ));
    }
    if let Some(u) = &s.until {
        out.push_str(&format!(
            "# command {c} is sent every {} until its checks hold, for at most {}\n",
            crate::duration::show(u.every),
            crate::duration::show(u.timeout)
        ));
    }
    let at = |at: &manifest::steps::At| format!("{}:{}", sources[at.manifest as usize].name, at.line);
    if let Some((code, where_)) = &s.expect_error {
        out.push_str(&format!("# command {c} expects the server to refuse it with {code} ({})\n", at(where_)));
    }
    for check in &s.expect {
        let wanted = manifest::steps::shown_placeholders(&check.cond.describe());
        out.push_str(&format!("# command {c} expects {}: {wanted} ({})\n", check.path, at(&check.at)));
    }
    for (name, path) in &s.save {
        out.push_str(&format!("# command {c} saves ${{{name}}} = result.{path}\n"));
    }
    out
}

fn describe(m: &Manifest, cmds: &[usize]) -> String {
    cmds.iter()
        .map(|&c| {
            let cmd = &m.commands[c];
            format!("{} ({}:{})", cmd.index, m.sources[cmd.manifest()].name, cmd.line)
        })
        .collect::<Vec<_>>()
        .join(", ")
}
