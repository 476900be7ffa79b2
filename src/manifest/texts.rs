//! Commands as validation makes them, their params texts packed into
//! shared chunks. In: each command with its params' JSON text; out: the
//! commands, each holding its chunk and its range in it — or, for `check`,
//! only their number.
//!
//! Why: a long manifest is mostly short commands, and one allocation per
//! params text, plus a vector of commands grown by doubling (copied each
//! time, into fresh pages the kernel must zero), cost a third of `check`.
//! Texts go one after another into chunks of 64 KiB, written once and
//! never grown; a full chunk is given to its commands (one `Arc`); the
//! vector of commands is reserved once, from a bound its caller knows (the
//! lines of the text: reserved capacity that is never touched costs no
//! memory).

use std::sync::Arc;

use super::Command;
use super::plain::Scratch;

/// Bytes of params texts per chunk.
const CHUNK: usize = 64 * 1024;

/// A command's params text: a range of a chunk shared with other commands.
#[derive(Clone)]
pub(crate) struct Text {
    /// `None` only while the chunk is being filled (never outside [`Commands`]).
    chunk: Option<Arc<String>>,
    start: u32,
    /// [`WHOLE`]: the whole chunk (a text with a chunk of its own, of any size).
    len: u32,
}

const WHOLE: u32 = u32::MAX;

impl Text {
    /// The text of a command that is being made: its range is set when it is stored.
    pub(crate) const PENDING: Text = Text { chunk: None, start: 0, len: 0 };

    /// A text with a chunk of its own (one command made outside a manifest).
    pub(crate) fn own(text: String) -> Text {
        Text { chunk: Some(Arc::new(text)), start: 0, len: WHOLE }
    }

    pub(crate) fn as_str(&self) -> &str {
        let chunk = self.chunk.as_deref().expect("a stored command's text has its chunk");
        if self.len == WHOLE { chunk } else { &chunk[self.start as usize..(self.start + self.len) as usize] }
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The commands of one part of a manifest, as they are validated.
pub(crate) struct Commands {
    /// The commands; those from `sealed` on have their texts in `chunk`.
    done: Vec<Command>,
    sealed: usize,
    chunk: String,
    /// Where a plain command's params are written before they are stored.
    scratch: Scratch,
    /// `false` (`check`): keep only the commands something after validation
    /// reads (those with steps), count the others.
    keep: bool,
    counted: usize,
    /// The longest params text.
    longest: usize,
}

impl Commands {
    /// Commands kept (`keep`) or counted; `expected`: a bound on how many, to
    /// reserve (more are taken, by growing).
    pub(crate) fn new(keep: bool, expected: usize) -> Self {
        Commands {
            done: Vec::with_capacity(if keep { expected } else { 0 }),
            sealed: 0,
            chunk: String::new(),
            scratch: Scratch::default(),
            keep,
            counted: 0,
            longest: 0,
        }
    }

    /// Room for `n` more commands (a `for_each`).
    pub(crate) fn reserve(&mut self, n: usize) {
        if self.keep {
            self.done.reserve(n);
        }
    }

    /// How many commands are kept so far.
    pub(crate) fn kept(&self) -> usize {
        self.done.len()
    }

    /// How many commands were stored, kept or counted.
    pub(crate) fn pushed(&self) -> usize {
        self.done.len() + self.counted
    }

    /// Where a plain command's params are written.
    pub(crate) fn scratch(&mut self) -> &mut Scratch {
        &mut self.scratch
    }

    /// Stores a plain command `c` (its `own_key` known) with the params text
    /// in [`Commands::scratch`].
    pub(crate) fn push_scratch(&mut self, c: Command) {
        let text = std::mem::take(&mut self.scratch.text);
        self.store(c, &text);
        self.scratch.text = text;
    }

    /// Stores `c` with its params text `text`.
    pub(crate) fn push(&mut self, mut c: Command, text: &str) {
        c.own_key = super::own_key(c.method, text);
        self.store(c, text);
    }

    fn store(&mut self, mut c: Command, text: &str) {
        self.longest = self.longest.max(text.len());
        // Steps and listeners are kept: later commands are checked against them.
        if !self.keep && c.steps().is_none() && !std::ptr::eq(c.method, &crate::methods::LISTEN) {
            self.counted += 1;
            return;
        }
        if text.len() > CHUNK / 4 || text.len() > u32::MAX as usize / 2 {
            c.params = Text::own(text.to_owned());
        } else {
            if self.chunk.len() + text.len() > self.chunk.capacity() {
                self.seal();
                self.chunk = String::with_capacity(CHUNK);
            }
            c.params = Text { chunk: None, start: self.chunk.len() as u32, len: text.len() as u32 };
            self.chunk.push_str(text);
        }
        self.done.push(c);
    }

    /// Gives the chunk to the commands whose texts it holds.
    fn seal(&mut self) {
        if self.sealed == self.done.len() {
            return;
        }
        let chunk = Arc::new(std::mem::take(&mut self.chunk));
        for c in &mut self.done[self.sealed..] {
            if c.params.chunk.is_none() {
                c.params.chunk = Some(chunk.clone());
            }
        }
        self.sealed = self.done.len();
    }

    /// The stored commands, how many more were only counted, and the
    /// longest params text of all.
    pub(crate) fn finish(mut self) -> (Vec<Command>, usize, usize) {
        self.seal();
        (self.done, self.counted, self.longest)
    }
}
