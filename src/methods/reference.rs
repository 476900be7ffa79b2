//! The method reference (`docs/methods.md`): every method of every
//! protocol, what it needs, how it is retried, and every field of its
//! request and result — rendered from the method table and the embedded
//! API definitions, so the page cannot drift (a test compares them).

use std::fmt::Write;

use super::replies::{fields, request_fields};
use super::{Access, METHODS, Method, Retry, Rule};
use crate::protocol::Protocol;

/// The whole page, markdown.
pub(crate) fn reference() -> String {
    let mut out = String::from(
        "# Server API methods\n\n\
         Every method a manifest (or `cent-run call`, or `cent`) can send, generated from cent-run's\n\
         method table and Centrifugo 6.9.1's own `api.proto` (for v1 servers: the v1.8.0 API). The\n\
         tests regenerate this page and fail when it differs (`UPDATE_GOLDEN=1 cargo test --test it\n\
         methods_md` rewrites it).\n\n\
         - **Request fields**: what a command may hold. `data`, `info` and `meta` of type JSON are sent\n  \
           verbatim (numbers of any size exactly as written); `b64…` fields are base64. Integers are\n  \
           checked against their exact type (`int32`: −2147483648…2147483647, `uint64`: 0…2^64−1, …).\n\
         - **Result fields**: the paths `expect:` and `save:` can read (`publications.0.data`: `[]`\n  \
           is a list, indexed from 0; `{}` a map, read by key). `check` refuses a path the result\n  \
           does not have, with a did-you-mean.\n\
         - **Retried**: `safe` commands are sent again after a lost answer; `keyed` ones only with\n  \
           an idempotency key (cent-run derives one unless told not to); `never` ones are reported\n  \
           `unknown` instead.\n\
         - **PRO**: served only by Centrifugo PRO; an open-source server answers error 104, and\n  \
           cent-run says so once per run.\n\n",
    );
    out.push_str("| method | protocols | access | retried | PRO |\n|---|---|---|---|---|\n");
    for m in METHODS {
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} | {} | {} | {} |",
            m.name,
            m.name,
            protocols(m),
            if m.access == Access::Read { "read" } else { "write" },
            retried(m),
            if m.pro { "PRO" } else { "" }
        );
    }
    for m in METHODS {
        method(&mut out, m);
    }
    out
}

fn protocols(m: &Method) -> String {
    let names: Vec<&str> = [Protocol::Api, Protocol::Legacy, Protocol::V1]
        .into_iter()
        .filter(|p| m.on.has(*p))
        .map(|p| match p {
            Protocol::Api => "api",
            Protocol::Legacy => "legacy",
            Protocol::V1 => "v1",
        })
        .collect();
    names.join(", ")
}

fn retried(m: &Method) -> &'static str {
    match m.retry {
        Retry::Safe => "safe",
        Retry::WithIdempotencyKey => "keyed",
        Retry::Unsafe => "never",
    }
}

fn rule(r: &Rule) -> Option<String> {
    let list = |fs: &[&str]| fs.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(" or ");
    Some(match r {
        Rule::NonEmpty(f) => format!("`{f}`, not empty"),
        Rule::NonEmptyItems(f) => format!("`{f}`, each item a non-empty string"),
        Rule::AnyPresent(fs) => format!("{} given", list(fs)),
        Rule::AnyNonEmpty(fs) => format!("{}, not empty", list(fs)),
        Rule::Positive(f) => format!("`{f}` above 0"),
        Rule::Check(_) => return None,
    })
}

fn method(out: &mut String, m: &Method) {
    let _ = write!(out, "\n## {}\n\n", m.name);
    let mut facts =
        vec![protocols(m), format!("{}, retried: {}", if m.reads() { "read" } else { "write" }, retried(m))];
    if m.pro {
        facts.push("Centrifugo PRO only".into());
    }
    if let Some(v1) = m.v1_name {
        facts.push(format!("sent to v1 servers as `{v1}`"));
    }
    if m.data_file {
        facts.push("takes `data_file: PATH` (a JSON file sent as `data`)".into());
    }
    let _ = writeln!(out, "{}.", facts.join(" · "));
    for p in [Protocol::Api, Protocol::V1] {
        if !m.on.has(p) {
            continue;
        }
        let needs: Vec<String> = m
            .requirements(p)
            .filter_map(|r| {
                rule(&r.rule).map(|t| r.stricter.map_or(t.clone(), |why| format!("{t} (cent-run's rule: {why})")))
            })
            .collect();
        let on = if p == Protocol::V1 { " (v1)" } else { "" };
        if !needs.is_empty() {
            let _ = writeln!(out, "\nNeeds{on}: {}.", needs.join("; "));
        }
        table(out, &format!("Request fields{on}"), &request_fields(m, p));
        table(out, &format!("Result fields{on}"), &fields(m, p));
    }
}

fn table(out: &mut String, title: &str, rows: &[(String, String)]) {
    if rows.is_empty() {
        let _ = writeln!(out, "\n{title}: none.");
        return;
    }
    let _ = write!(out, "\n{title}:\n\n| field | type |\n|---|---|\n");
    for (path, ty) in rows {
        let _ = writeln!(out, "| `{path}` | {ty} |");
    }
}
