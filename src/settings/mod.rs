//! One settings model. Every source — flags, an explicit `--profile`, the
//! environment, the manifest's `server:` and `defaults:` — gives a [`Layer`]
//! of optional values; [`Layer::over`] merges two layers; [`resolve`] turns
//! the merged layer, once and before anything runs, into a [`Connection`] and
//! run options. Precedence (SPEC §9): flag > profile > environment >
//! manifest. A new option is one field in [`Layer`] plus its flag.

mod profile;
mod resolve;

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::manifest::{Problem, Source, Span};
use crate::protocol::Protocol;

pub use profile::{Profile, load_profile};
pub use profile::{ProfileError, parse_profile};
pub use resolve::{Connection, Mode, Settings, resolve};
#[cfg(test)]
pub use resolve::{DEFAULT_TIMEOUT, DEFAULT_URL};

/// Where a value came from, so a bad one can be pointed at.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A command-line flag, e.g. `--url`.
    Flag(&'static str),
    /// A `~/.centrc` section: the file as shown and the section name.
    Profile { file: String, section: String },
    /// An environment variable.
    Env(&'static str),
    /// A value in a manifest.
    Manifest { source: Source, span: Span },
    /// Built into cent-run.
    Default,
}

impl Origin {
    /// Places a problem with this value where it came from.
    pub fn locate(&self, problem: Problem) -> Problem {
        match self {
            // Already located (at the exact `${...}`, say): keep that.
            Origin::Manifest { .. } if problem.source.is_some() => problem,
            Origin::Manifest { source, span } => problem.at(source, *span, "here"),
            Origin::Flag(flag) => Problem { message: format!("{flag}: {}", problem.message), ..problem },
            Origin::Env(var) => Problem { message: format!("{var}: {}", problem.message), ..problem },
            Origin::Profile { file, section } => {
                Problem { message: format!("{file} [{section}]: {}", problem.message), ..problem }
            }
            Origin::Default => problem,
        }
    }
}

/// One value of a layer: what was given (or why it could not be worked
/// out, e.g. an undefined `${VAR}`) and where.
#[derive(Debug, Clone)]
pub struct Setting<T> {
    pub value: Result<T, Box<Problem>>,
    pub from: Origin,
}

impl<T> Setting<T> {
    pub fn new(value: T, from: Origin) -> Self {
        Setting { value: Ok(value), from }
    }

    pub fn broken(problem: Problem, from: Origin) -> Self {
        Setting { value: Err(Box::new(problem)), from }
    }
}

macro_rules! layer {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty ),* $(,)?) => {
        /// Optional values from one source.
        #[derive(Debug, Default, Clone)]
        pub struct Layer {
            $( $(#[$doc])* pub $field: Option<Setting<$ty>>, )*
        }

        impl Layer {
            /// `self` over `lower`: each value from the first layer that has it.
            pub fn over(self, lower: Layer) -> Layer {
                Layer { $( $field: self.$field.or(lower.$field), )* }
            }
        }
    };
}

layer! {
    /// Server addresses (several: nodes of one cluster).
    urls: Vec<String>,
    api_key: SecretString,
    /// HMAC secret (protocol v1).
    secret: SecretString,
    protocol: Protocol,
    timeout: Duration,
    insecure: bool,
    /// A CA certificate (PEM) to trust.
    cacert: PathBuf,
    concurrency: usize,
    batch_size: usize,
    max_batch_bytes: usize,
    retries: u32,
    /// Commands per second.
    rate: f64,
    fail_fast: bool,
    /// Send idempotency keys with publish and broadcast.
    idempotency: bool,
    run_id: String,
    /// Run part I of N (0-based), cut by lanes.
    shard: (usize, usize),
}

/// Environment variables that carry connection settings.
pub const ENV_URL: &str = "CENTRIFUGO_URL";
pub const ENV_API_KEY: &str = "CENTRIFUGO_API_KEY";
pub const ENV_SECRET: &str = "CENTRIFUGO_SECRET";

/// The environment's layer: `CENTRIFUGO_URL` (one URL or a comma-separated
/// list), `CENTRIFUGO_API_KEY`, `CENTRIFUGO_SECRET`. An empty variable — what
/// CI gives for a variable that is not set — counts as unset.
pub fn env_layer(get: impl Fn(&str) -> Option<String>) -> Layer {
    let get = |name| get(name).filter(|v| !v.trim().is_empty());
    Layer {
        urls: get(ENV_URL).map(|v| Setting::new(split_urls(&v), Origin::Env(ENV_URL))),
        api_key: get(ENV_API_KEY).map(|v| Setting::new(SecretString::from(v), Origin::Env(ENV_API_KEY))),
        secret: get(ENV_SECRET).map(|v| Setting::new(SecretString::from(v), Origin::Env(ENV_SECRET))),
        ..Layer::default()
    }
}

/// `a,b` → `[a, b]`, blanks dropped.
pub fn split_urls(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}
