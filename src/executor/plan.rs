//! A run's commands, ready to send. Nothing is copied or encoded ahead: a
//! command's request text is its validated params (spliced with a derived
//! idempotency key where one is due) built when its batch goes out, so a
//! run holds the commands once, whatever their number. Values saved by
//! earlier commands are filled into copies of the few commands that use
//! them, kept beside the plan.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::manifest::{Command, steps::Steps};
use crate::methods::{Method, Retry};
use crate::protocol::{self, Encoded, Protocol};

/// The commands of a run and how they are sent.
pub(crate) struct Plan {
    commands: Arc<Vec<Command>>,
    protocol: Protocol,
    run_id: Box<str>,
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
            None => self.commands[i].steps.clone(),
        }
    }

    /// Fills command `i` with saved values: its params as JSON text and its steps.
    pub(crate) fn fill(&self, i: usize, params: String, steps: Steps) {
        let filled = Arc::new(Filled { params: params.into(), steps: Arc::new(steps) });
        self.filled.write().unwrap_or_else(|e| e.into_inner()).insert(i, filled);
        self.any_filled.store(true, Ordering::Release);
    }

    /// The manifest's own `idempotency_key:` (publish and broadcast only).
    /// Asked for every command packed and sent: the params are decoded only
    /// when their text holds the name at all.
    fn own_key(&self, i: usize) -> bool {
        let c = &self.commands[i];
        c.method.retry == Retry::WithIdempotencyKey
            && c.params().contains("\"idempotency_key\"")
            && c.target_ref().idempotency_key.is_some()
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
        let c = &self.commands[i];
        let filled = self.filled(i);
        let text: &str = filled.as_ref().map_or(c.params(), |f| &f.params);
        if self.protocol == Protocol::V1 {
            let params = serde_json::from_str(text).expect("params are a JSON object");
            return protocol::encode(self.protocol, c.method.name, &params);
        }
        if !self.derives_key(i) {
            return Encoded::from_json(c.method.name, text.to_owned());
        }
        let key = serde_json::to_string(&super::idempotency_key(&self.run_id, &self.fingerprint(i), c.occurrence()))
            .expect("JSON string");
        let mut spliced = String::with_capacity(text.len() + key.len() + 20);
        spliced.push_str(&text[..text.len() - 1]); // all but the object's closing brace
        if text != "{}" {
            spliced.push(',');
        }
        spliced.push_str("\"idempotency_key\":");
        spliced.push_str(&key);
        spliced.push('}');
        Encoded::from_json(c.method.name, spliced)
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
