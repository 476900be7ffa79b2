//! A run's commands, ready to send. Nothing is copied or encoded ahead: a
//! command's request text is its validated params (spliced with a derived
//! idempotency key where one is due) built when its batch goes out, so a
//! run holds the commands once, whatever their number. Values saved by
//! earlier commands are filled into copies of the few commands that use
//! them, kept beside the plan.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::manifest::{Command, hex, steps::Steps};
use crate::methods::{Method, Retry};
use crate::protocol::{self, Encoded, Protocol};

/// The commands of a run and how they are sent.
pub(crate) struct Plan {
    commands: Arc<Vec<Command>>,
    protocol: Protocol,
    run_id: Box<str>,
    /// The run id needs no escape in a JSON string (keys are written as they are).
    plain_run_id: bool,
    /// Derive idempotency keys (on, and the protocol honours them).
    keys: bool,
    /// Commands filled with saved values: their params and steps.
    filled: RwLock<HashMap<usize, Arc<Filled>>>,
    /// Any command was filled (reads skip the lock until then).
    any_filled: AtomicBool,
}

struct Filled {
    params: Box<str>,
    steps: Arc<Steps>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan").field("commands", &self.commands.len()).field("protocol", &self.protocol).finish()
    }
}

impl Plan {
    /// A plan for `commands` on `protocol`; keys derived from `run_id` when
    /// `idempotency` is on and the protocol honours them.
    pub(crate) fn new(commands: Arc<Vec<Command>>, protocol: Protocol, run_id: &str, idempotency: bool) -> Self {
        Plan {
            commands,
            protocol,
            run_id: run_id.into(),
            plain_run_id: !protocol::needs_escape(run_id),
            keys: idempotency && protocol.has_idempotency(),
            filled: RwLock::default(),
            any_filled: AtomicBool::new(false),
        }
    }

    /// The protocol the commands are sent with.
    pub(crate) fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// How many commands.
    pub(crate) fn len(&self) -> usize {
        self.commands.len()
    }

    /// The commands, as validated.
    pub(crate) fn commands(&self) -> &[Command] {
        &self.commands
    }

    /// Command `i`, as validated.
    pub(crate) fn command(&self, i: usize) -> &Command {
        &self.commands[i]
    }

    /// Command `i`'s method.
    pub(crate) fn method(&self, i: usize) -> &'static Method {
        self.commands[i].method
    }

    fn filled(&self, i: usize) -> Option<Arc<Filled>> {
        if !self.any_filled.load(Ordering::Acquire) {
            return None;
        }
        self.filled.read().unwrap_or_else(|e| e.into_inner()).get(&i).cloned()
    }

    /// Command `i`'s steps, with saved values filled in once they are.
    pub(crate) fn steps(&self, i: usize) -> Option<Arc<Steps>> {
        match self.filled(i) {
            Some(f) => Some(f.steps.clone()),
            None => self.commands[i].steps().cloned(),
        }
    }

    /// Fills command `i` with saved values: its params as JSON text and its steps.
    pub(crate) fn fill(&self, i: usize, params: String, steps: Steps) {
        let filled = Arc::new(Filled { params: params.into(), steps: Arc::new(steps) });
        self.filled.write().unwrap_or_else(|e| e.into_inner()).insert(i, filled);
        self.any_filled.store(true, Ordering::Release);
    }

    /// The manifest's own `idempotency_key:` (publish and broadcast only).
    fn own_key(&self, i: usize) -> bool {
        self.commands[i].own_key
    }

    /// A key is derived for command `i` (it has none of its own).
    fn derives_key(&self, i: usize) -> bool {
        self.keys && self.commands[i].method.retry == Retry::WithIdempotencyKey && !self.own_key(i)
    }

    /// Command `i` carries an idempotency key the server honours: a re-send
    /// after an unknown outcome is safe.
    pub(crate) fn idempotent(&self, i: usize) -> bool {
        self.protocol.has_idempotency() && (self.derives_key(i) || self.own_key(i))
    }

    /// Command `i`'s digest (what `--state` records and keys carry).
    #[cfg(test)]
    pub(crate) fn fingerprint(&self, i: usize) -> String {
        self.commands[i].fingerprint()
    }

    /// Broadcast: command `i`'s channels, in order (empty for other methods).
    pub(crate) fn channels(&self, i: usize) -> Vec<String> {
        let c = &self.commands[i];
        if !c.method.per_channel {
            return Vec::new();
        }
        c.target_ref().channels.map(|cs| cs.into_iter().map(|c| c.into_owned()).collect()).unwrap_or_default()
    }

    /// Command `i` as sent: its params (filled, if it uses saved values),
    /// with a derived idempotency key spliced in, not re-encoded.
    pub(crate) fn encoded(&self, i: usize) -> Encoded {
        let mut text = Vec::with_capacity(self.size(i));
        self.write_params(i, &mut text);
        Encoded::from_json(self.commands[i].method.name, String::from_utf8(text).expect("JSON text"))
    }

    /// Writes command `i`'s params as sent (see [`Plan::encoded`]) into a
    /// request body: no text of its own, no JSON value.
    pub(crate) fn write_params(&self, i: usize, out: &mut Vec<u8>) {
        let c = &self.commands[i];
        let filled = self.filled(i);
        let text: &str = filled.as_ref().map_or(c.params(), |f| &f.params);
        if self.protocol == Protocol::V1 {
            let params = serde_json::from_str(text).expect("params are a JSON object");
            out.extend_from_slice(protocol::encode(self.protocol, c.method.name, &params).params.as_bytes());
            return;
        }
        if !self.derives_key(i) {
            out.extend_from_slice(text.as_bytes());
            return;
        }
        out.extend_from_slice(&text.as_bytes()[..text.len() - 1]); // all but the object's closing brace
        if text != "{}" {
            out.push(b',');
        }
        out.extend_from_slice(b"\"idempotency_key\":");
        let digest = c.digest();
        let occurrence = c.occurrence();
        if self.plain_run_id {
            // What `super::idempotency_key` makes, as a JSON string, written in place.
            out.extend_from_slice(b"\"cent-run-");
            out.extend_from_slice(self.run_id.as_bytes());
            out.push(b'-');
            hex(&digest[..super::KEY_DIGEST / 2], out);
            out.push(b'-');
            out.extend_from_slice(itoa::Buffer::new().format(occurrence).as_bytes());
            out.push(b'"');
        } else {
            let mut fp = Vec::with_capacity(super::KEY_DIGEST);
            hex(&digest[..super::KEY_DIGEST / 2], &mut fp);
            let fp = String::from_utf8(fp).expect("hex");
            let key = super::idempotency_key(&self.run_id, &fp, occurrence);
            serde_json::to_writer(&mut *out, &key).expect("a JSON string");
        }
        out.push(b'}');
    }

    /// Command `i`'s share of a request body, in bytes, without encoding it
    /// (v1's layout adds a few spaces: within the margin of the budget).
    pub(crate) fn size(&self, i: usize) -> usize {
        let c = &self.commands[i];
        let params = self.filled(i).map_or(c.params().len(), |f| f.params.len());
        let key = if self.derives_key(i) {
            // ,"idempotency_key":"KEY"
            ",\"idempotency_key\":\"\"".len() + super::idempotency_key_len(&self.run_id, c.occurrence())
        } else {
            0
        };
        super::command_size(params + key)
    }
}
