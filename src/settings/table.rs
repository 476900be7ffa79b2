//! The settings table: each setting once — its name, flag, environment
//! variable, manifest key (`server:` or `defaults:`), `~/.centrc` key,
//! kind (type and limits), default, help, and the subcommands that use it.
//! The flag parser, the manifest validation, the JSON Schema, the profile
//! reader and `--help` all read these rows. Adding a setting is one row
//! (and a `Key`) plus its use.

/// A setting's identity.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Url,
    ApiKey,
    ApiKeyFile,
    Secret,
    SecretFile,
    Protocol,
    Timeout,
    Insecure,
    Cacert,
    Concurrency,
    BatchSize,
    MaxBatchBytes,
    Retries,
    Rate,
    FailFast,
    Idempotency,
    RunId,
    Shard,
    State,
    Env,
    FileRoot,
    Var,
    VarFile,
    SecretVar,
    SecretEnv,
    SecretVarFile,
    Tags,
    SkipTags,
    Only,
    ServerConfig,
    TokenSecret,
    TokenSecretFile,
    TokenAlgorithm,
    TokenKeyFile,
    ReportJson,
    ReportJunit,
    ReportHtml,
    MetricsFile,
    MetricsName,
    Format,
    Quiet,
    Verbose,
}

/// What kind of value a setting holds, with its limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    /// A flag without a value that sets the setting to this boolean
    /// (`--fail-fast` sets true, `--no-idempotency` sets false); `true`
    /// or `false` elsewhere.
    Switch(bool),
    /// A whole number in `min..=max`.
    Int { min: u64, max: u64 },
    /// A number above zero (`--rate`).
    Positive,
    /// A duration in Go's form (`5s`, `1m30s`), above zero.
    Duration,
    /// Free text.
    Text,
    /// Text that is never shown (API keys, HMAC secrets).
    Secret,
    /// One or several server URLs (repeatable; `a,b` splits).
    Urls,
    /// `api`, `legacy` or `v1`.
    Protocol,
    /// A file or folder (relative paths from a manifest resolve from its folder).
    Path,
    /// `I/N`, `0 <= I < N`.
    Shard,
    /// Repeatable `NAME=VALUE`.
    Assign,
    /// Repeatable text (a name, a file); commas split where `split`.
    List { split: bool },
    /// One of these words.
    Choice(&'static [&'static str]),
    /// `-v`, `-vv`: how many times the flag is given.
    Count,
}

/// Where in a manifest a setting may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Server,
    Defaults,
}

impl Section {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Section::Server => "server",
            Section::Defaults => "defaults",
        }
    }
}

/// The subcommands a setting's flag belongs to (a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Uses(u8);

impl Uses {
    /// The set of these bits (a const generic parameter carries it).
    pub(crate) const fn from_bits(bits: u8) -> Uses {
        Uses(bits)
    }

    pub(crate) const fn bits(self) -> u8 {
        self.0
    }

    pub(crate) const RUN: Uses = Uses(1);
    pub(crate) const CHECK: Uses = Uses(2);
    pub(crate) const PLAN: Uses = Uses(4);
    pub(crate) const CALL: Uses = Uses(8);
    pub(crate) const CENT: Uses = Uses(16);

    pub(crate) const fn and(self, other: Uses) -> Uses {
        Uses(self.0 | other.0)
    }

    pub(crate) fn has(self, other: Uses) -> bool {
        self.0 & other.0 != 0
    }
}

const R: Uses = Uses::RUN;
const RP: Uses = Uses::RUN.and(Uses::PLAN);
const RCP: Uses = Uses::RUN.and(Uses::CHECK).and(Uses::PLAN);
const RC: Uses = Uses::RUN.and(Uses::CHECK);
const CONN: Uses = Uses::RUN.and(Uses::PLAN).and(Uses::CALL);
const SEND: Uses = Uses::RUN.and(Uses::CALL);

/// One setting.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Def {
    pub key: Key,
    /// Its name: the manifest key and the base of the flag.
    pub name: &'static str,
    /// The long flag (`None`: no flag), with a short one.
    pub flag: Option<&'static str>,
    pub short: Option<char>,
    /// The placeholder in `--help` (`N`, `FILE`).
    pub value_name: &'static str,
    pub env: Option<&'static str>,
    pub section: Option<Section>,
    pub profile: Option<&'static str>,
    pub kind: Kind,
    /// The default, as `--help` shows it (the value itself is in `resolve`).
    pub default: Option<&'static str>,
    pub help: &'static str,
    /// `--help`'s heading.
    pub heading: &'static str,
    pub uses: Uses,
}

const fn row(key: Key, name: &'static str, kind: Kind, uses: Uses, heading: &'static str, help: &'static str) -> Def {
    Def {
        key,
        name,
        flag: None,
        short: None,
        value_name: "",
        env: None,
        section: None,
        profile: None,
        kind,
        default: None,
        help,
        heading,
        uses,
    }
}

impl Def {
    const fn flag(mut self, flag: &'static str, value_name: &'static str) -> Def {
        self.flag = Some(flag);
        self.value_name = value_name;
        self
    }
    const fn short(mut self, c: char) -> Def {
        self.short = Some(c);
        self
    }
    const fn env(mut self, env: &'static str) -> Def {
        self.env = Some(env);
        self
    }
    const fn server(mut self) -> Def {
        self.section = Some(Section::Server);
        self
    }
    const fn defaults(mut self) -> Def {
        self.section = Some(Section::Defaults);
        self
    }
    const fn profile(mut self, key: &'static str) -> Def {
        self.profile = Some(key);
        self
    }
    const fn default(mut self, shown: &'static str) -> Def {
        self.default = Some(shown);
        self
    }

    /// The manifest key's dotted path (`server.url`, `defaults.retries`).
    pub(crate) fn manifest_path(&self) -> Option<String> {
        self.section.map(|s| format!("{}.{}", s.name(), self.name))
    }
}

const CONNECTION: &str = "Connection";
const RUNNING: &str = "Running";
const INPUT: &str = "Manifest input";
const OUTPUT: &str = "Output";
const LISTEN: &str = "Listeners (client connections)";

use Key as K;
use Kind::*;

/// Every setting.
pub(crate) static TABLE: &[Def] = &[
    row(K::Url, "url", Urls, CONN, CONNECTION, "Server address: http://host:8000, with or without `/api`; repeat (or separate with commas) for the nodes of a cluster")
        .flag("url", "URL").env("CENTRIFUGO_URL").server().profile("address").default("http://localhost:8000"),
    row(K::ApiKey, "api_key", Secret, CONN, CONNECTION, "API key (protocols api and legacy); prefer --api-key-file: a flag is visible in `ps`")
        .flag("api-key", "KEY").env("CENTRIFUGO_API_KEY").server().profile("api_key"),
    row(K::ApiKeyFile, "api_key_file", Path, CONN.and(Uses::CENT), CONNECTION, "Read the API key from this file (trailing newline removed)")
        .flag("api-key-file", "FILE"),
    row(K::Secret, "secret", Secret, CONN, CONNECTION, "HMAC secret for protocol v1 (`--secret NAME=VALUE` declares a secret variable instead)")
        .flag("secret", "SECRET").env("CENTRIFUGO_SECRET").server().profile("secret"),
    row(K::SecretFile, "secret_file", Path, CONN.and(Uses::CENT), CONNECTION, "Read the v1 HMAC secret from this file (trailing newline removed)")
        .flag("secret-file", "FILE"),
    row(K::Protocol, "protocol", Protocol, CONN.and(Uses::CHECK), CONNECTION, "Server protocol: api (Centrifugo v5/v6), legacy (v2–v4 `/api`), v1 (HMAC-signed)")
        .flag("protocol", "PROTOCOL").server().profile("protocol").default("api"),
    row(K::Timeout, "timeout", Duration, SEND, CONNECTION, "Request timeout, e.g. 5s, 500ms, 1m30s")
        .flag("timeout", "DURATION").server().profile("timeout").default("5s"),
    row(K::Insecure, "insecure", Switch(true), SEND, CONNECTION, "Do not verify TLS certificates (a warning says so)")
        .flag("insecure", "").server(),
    row(K::Cacert, "cacert", Path, SEND, CONNECTION, "Trust this CA certificate (PEM) too")
        .flag("cacert", "FILE").server().profile("cacert"),
    row(K::Concurrency, "concurrency", Int { min: 1, max: 1024 }, RP, RUNNING, "Requests in flight at once (1: every command in manifest order)")
        .flag("concurrency", "N").defaults().default("4"),
    row(K::BatchSize, "batch_size", Int { min: 1, max: 100_000 }, RP, RUNNING, "Commands per request")
        .flag("batch-size", "N").defaults().default("100"),
    row(K::MaxBatchBytes, "max_batch_bytes", Int { min: 1024, max: 1 << 31 }, RCP, RUNNING, "Largest request body in bytes (a command larger than this is sent alone)")
        .flag("max-batch-bytes", "N").defaults().default("921600"),
    row(K::Retries, "retries", Int { min: 0, max: 100 }, R, RUNNING, "Retries for connection errors, timeouts, 5xx and error 100")
        .flag("retries", "N").defaults().default("3"),
    row(K::Rate, "rate", Positive, RP, RUNNING, "At most N commands per second [default: no limit]")
        .flag("rate", "N").defaults(),
    row(K::FailFast, "fail_fast", Switch(true), R, RUNNING, "Stop sending after the first failed command (`finally:` still runs)")
        .flag("fail-fast", "").defaults(),
    row(K::Idempotency, "idempotency", Switch(false), RP, RUNNING, "Send no idempotency keys: at most once (a publish whose answer is lost is reported unknown, not re-sent)")
        .flag("no-idempotency", "").defaults(),
    row(K::RunId, "run_id", Text, RP, RUNNING, "Run id for derived idempotency keys and the state file, e.g. the CI pipeline id [default: a new one per run]")
        .flag("run-id", "ID"),
    row(K::Shard, "shard", Shard, RP, RUNNING, "Run only part I of N (0-based: 0/4 .. 3/4), cut by lanes; every part needs the same --run-id")
        .flag("shard", "I/N"),
    row(K::State, "state", Path, R, RUNNING, "Record applied commands here; a re-run skips them (the only guard against doubles after the server's 5-minute idempotency window)")
        .flag("state", "FILE"),
    row(K::Env, "env", Switch(false), RCP, INPUT, "Do not read the environment in `${NAME}` (only vars:, --var and variable files): for manifests you did not write")
        .flag("no-env", "").defaults().profile("no_env"),
    row(K::FileRoot, "file_root", Path, RCP, INPUT, "Files a manifest names (data_file, for_each files, includes) must be inside this folder [default: the manifest's folder]")
        .flag("file-root", "DIR"),
    row(K::Var, "var", Assign, RCP, INPUT, "Set a variable (overrides vars: and variable files); the value is read as a YAML scalar: 5 is a number, '\"5\"' a string")
        .flag("var", "NAME=VALUE"),
    row(K::VarFile, "var_file", List { split: false }, RCP, INPUT, "Variables from a file (YAML mapping or dotenv); repeatable, later files win")
        .flag("var-file", "FILE"),
    row(K::SecretVar, "secret_var", Assign, RCP, INPUT, "A variable whose value is redacted in every output (see --secret)")
        .flag("secret-var", "NAME=VALUE"),
    row(K::SecretEnv, "secret_env", List { split: true }, RCP, INPUT, "A variable taken from the environment variable of the same name, redacted in every output")
        .flag("secret-env", "NAME"),
    row(K::SecretVarFile, "secret_var_file", List { split: false }, RCP, INPUT, "Like --var-file, and every value is redacted in every output")
        .flag("secret-var-file", "FILE"),
    row(K::Tags, "tags", List { split: true }, RCP, INPUT, "Run only commands with one of these tags (comma-separated, repeatable)")
        .flag("tags", "TAG,.."),
    row(K::SkipTags, "skip_tags", List { split: true }, RCP, INPUT, "Leave out commands with one of these tags")
        .flag("skip-tags", "TAG,.."),
    row(K::Only, "only", List { split: false }, RCP, INPUT, "Run only the commands with this `name:` (repeatable)")
        .flag("only", "NAME"),
    row(K::ServerConfig, "config", Path, RCP, INPUT, "Centrifugo's own configuration file (JSON, YAML or TOML): commands it would refuse are reported before sending")
        .flag("server-config", "FILE").server(),
    row(K::TokenSecret, "token_secret", Secret, R, LISTEN, "HMAC secret that signs listeners' connection and subscription tokens")
        .flag("token-secret", "SECRET").env("CENTRIFUGO_TOKEN_SECRET").server(),
    row(K::TokenSecretFile, "token_secret_file", Path, R, LISTEN, "Read the token HMAC secret from this file")
        .flag("token-secret-file", "FILE"),
    row(K::TokenAlgorithm, "token_algorithm", Choice(&["HS256", "HS384", "HS512", "RS256", "ES256"]), R, LISTEN, "How listeners' tokens are signed")
        .flag("token-algorithm", "ALG").server().default("HS256"),
    row(K::TokenKeyFile, "token_key_file", Path, R, LISTEN, "Private key (PEM) for RS256/ES256 listener tokens")
        .flag("token-key-file", "FILE").server(),
    row(K::ReportJson, "report_json", Path, RC, OUTPUT, "Write the JSON report here (also for an invalid manifest); written atomically")
        .flag("report-json", "FILE"),
    row(K::ReportJunit, "report_junit", Path, RC, OUTPUT, "Write a JUnit XML report here (also for an invalid manifest); written atomically")
        .flag("report-junit", "FILE"),
    row(K::ReportHtml, "report_html", Path, RC, OUTPUT, "Write a self-contained HTML report here (also for an invalid manifest)")
        .flag("report-html", "FILE"),
    row(K::MetricsFile, "metrics_file", Path, RC, OUTPUT, "Write Prometheus metrics here (textfile collector format), atomically")
        .flag("metrics-file", "FILE"),
    row(K::MetricsName, "metrics_name", Text, RC, OUTPUT, "The `name` label of the --metrics-file metrics [default: the manifests' file names without extension]")
        .flag("metrics-name", "NAME"),
    row(K::Format, "format", Choice(&["table", "json"]), RC, OUTPUT, "What stdout shows: the table, or the JSON report (for `check`: the problems)")
        .flag("format", "FORMAT").default("table"),
    row(K::Quiet, "quiet", Switch(true), RC, OUTPUT, "Nothing when every command is ok; else the commands that are not, grouped by cause, and the summary")
        .flag("quiet", "").short('q'),
    row(K::Verbose, "verbose", Count, SEND.and(Uses::CENT), OUTPUT, "Log requests to stderr (-vv adds bodies); secrets are redacted")
        .flag("verbose", "").short('v'),
];

/// The row of `key`.
pub(crate) fn def(key: Key) -> &'static Def {
    TABLE.iter().find(|d| d.key == key).expect("every key has a row")
}

/// The row written as `name` in a manifest's `section`.
pub(crate) fn in_section(section: Section, name: &str) -> Option<&'static Def> {
    TABLE.iter().find(|d| d.section == Some(section) && d.name == name)
}

/// Every key of a manifest section, in table order.
pub(crate) fn section_keys(section: Section) -> impl Iterator<Item = &'static str> {
    TABLE.iter().filter(move |d| d.section == Some(section)).map(|d| d.name)
}

/// `docs/settings.md`: every setting, where it can be given, its kind and
/// default — from the rows, so the page cannot drift (a test compares).
pub(crate) fn reference() -> String {
    let mut out = String::from(
        "# Settings\n\n\
         Every setting of `cent-run`, generated from its settings table (the tests regenerate\n\
         this page and fail when it differs: `UPDATE_GOLDEN=1 cargo test --test it settings_md`).\n\n\
         A setting can come from several places; the first that gives it wins:\n\n\
         1. a **flag** (`--concurrency 8`);\n\
         2. the **profile** chosen with `--profile NAME` (a section of `~/.centrc`, or of `--config FILE`);\n\
         3. the **environment** (`CENTRIFUGO_URL`, …);\n\
         4. the **manifest**'s `server:` or `defaults:` (with several manifests, the first that sets a key);\n\
         5. the built-in default.\n\n\
         Secrets (`api_key`, `secret`, `token_secret`) are best given as files (`--api-key-file`)\n\
         or in the environment: a flag is visible to other users in `ps`.\n",
    );
    let mut heading = "";
    for d in TABLE {
        if d.heading != heading {
            heading = d.heading;
            out.push_str(&format!(
                "\n## {heading}\n\n| setting | flag | environment | manifest | profile | value | default |\n|---|---|---|---|---|---|---|\n"
            ));
        }
        let code = |s: Option<String>| s.map(|s| format!("`{s}`")).unwrap_or_default();
        let flag = d.flag.map(|f| match (d.short, d.value_name) {
            (Some(c), "") => format!("-{c}, --{f}"),
            (None, "") => format!("--{f}"),
            (Some(c), v) => format!("-{c}, --{f} {v}"),
            (None, v) => format!("--{f} {v}"),
        });
        out.push_str(&format!(
            "| **{}** — {} | {} | {} | {} | {} | {} | {} |\n",
            d.name,
            d.help.replace('|', "\\|"),
            code(flag),
            code(d.env.map(str::to_owned)),
            code(d.manifest_path()),
            code(d.profile.map(str::to_owned)),
            kind(d.kind),
            code(d.default.map(str::to_owned)),
        ));
    }
    out
}

fn kind(k: Kind) -> String {
    match k {
        Kind::Switch(_) => "on/off".into(),
        Kind::Int { min, max } => format!("integer {min}–{max}"),
        Kind::Positive => "number above 0".into(),
        Kind::Duration => "duration (`5s`, `1m30s`)".into(),
        Kind::Text => "text".into(),
        Kind::Secret => "secret".into(),
        Kind::Urls => "URLs (repeat, or `a,b`)".into(),
        Kind::Protocol => "`api`, `legacy`, `v1`".into(),
        Kind::Path => "path".into(),
        Kind::Shard => "`I/N`".into(),
        Kind::Assign => "`NAME=VALUE`, repeatable".into(),
        Kind::List { split: true } => "list (repeat, or `a,b`)".into(),
        Kind::List { split: false } => "list (repeat)".into(),
        Kind::Choice(words) => words.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", "),
        Kind::Count => "count (`-vv`)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_key_and_unique_names() {
        let mut keys: Vec<Key> = TABLE.iter().map(|d| d.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), TABLE.len());
        let mut flags: Vec<&str> = TABLE.iter().filter_map(|d| d.flag).collect();
        flags.sort();
        let n = flags.len();
        flags.dedup();
        assert_eq!(flags.len(), n, "a flag is used twice");
        for s in [Section::Server, Section::Defaults] {
            let mut names: Vec<&str> = section_keys(s).collect();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n, "{s:?}");
        }
        for d in TABLE {
            assert!(!d.help.is_empty() && d.help.len() < 200, "{:?}", d.key);
            assert!(d.flag.is_none() || !d.value_name.is_empty() || matches!(d.kind, Kind::Switch(_) | Kind::Count));
        }
    }
}
