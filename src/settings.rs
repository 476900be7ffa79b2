//! Settings as plain data: the [`table`] of every setting, a [`Layer`] of
//! values from one source (flags, a `~/.centrc` profile, the environment, a
//! manifest's `server:` and `defaults:`), each [`Setting`] with its
//! [`Origin`] so a bad value can be pointed at, and the process
//! environment read once ([`Env`]). Stacking the layers and settling them
//! into what a run needs is `crate::resolve`'s job, above the client and
//! the engine; nothing here knows them.

mod env;
mod profile;
pub(crate) mod table;
pub(crate) mod value;

use std::collections::BTreeMap;

use crate::diagnostic::{Problem, Source, Span};

pub(crate) use env::Env;
pub use profile::parse_profile;
pub(crate) use profile::{Profile, ProfileError, load_profile};
pub(crate) use table::Key;
pub(crate) use value::{Value, split_urls};

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
            Origin::Flag(flag) => Problem { message: format!("--{flag}: {}", problem.message), ..problem },
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
pub struct Setting {
    pub value: Result<Value, Box<Problem>>,
    pub from: Origin,
}

impl Setting {
    pub fn new(value: Value, from: Origin) -> Self {
        Setting { value: Ok(value), from }
    }

    pub fn broken(problem: Problem, from: Origin) -> Self {
        Setting { value: Err(Box::new(problem)), from }
    }
}

/// Values from one source, by setting.
#[derive(Debug, Default, Clone)]
pub struct Layer(BTreeMap<Key, Setting>);

impl Layer {
    /// Sets a value (replacing one from the same source).
    pub fn set(&mut self, key: Key, setting: Setting) {
        self.0.insert(key, setting);
    }

    /// A value with where it came from.
    pub fn get(&self, key: Key) -> Option<&Setting> {
        self.0.get(&key)
    }

    /// A value that was worked out (not a broken one).
    pub fn value(&self, key: Key) -> Option<&Value> {
        self.0.get(&key).and_then(|s| s.value.as_ref().ok())
    }

    /// Takes a value out.
    pub fn take(&mut self, key: Key) -> Option<Setting> {
        self.0.remove(&key)
    }

    /// Whether a value was given.
    pub fn has(&self, key: Key) -> bool {
        self.0.contains_key(&key)
    }

    /// `self` over `lower`: each value from the first layer that has it.
    pub fn over(mut self, lower: Layer) -> Layer {
        for (k, v) in lower.0 {
            self.0.entry(k).or_insert(v);
        }
        self
    }

    /// Every value, by setting.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &Setting)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
}
