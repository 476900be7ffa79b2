//! Lanes and batches. Commands that share a target (a channel; a user for
//! user-targeted commands) form one lane, kept in manifest order; a command
//! with several targets (a broadcast) joins their lanes. The [`Packer`] cuts
//! lanes into batches: consecutive commands of a free lane, then of the next
//! free lane, up to the batch size and byte budget. Pure logic, no I/O.
//!
//! Sized for a million commands: a target is a 64-bit hash (FNV-1a of its
//! kind and name; two targets that collide only share a lane, which costs
//! concurrency, never order), commands sharing a key are found by sorting
//! (key, command) pairs, lanes are one array of command indices cut into
//! runs, and the packer keeps a cursor per lane and a heap of free lanes —
//! a few bytes per command, no allocation per lane.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::manifest::{Command, PreHashed};
use crate::methods::TargetKind;

/// FNV-1a over a target's kind and name.
fn key(kind: u8, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(kind).chain(name.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The targets a command acts on, as lane keys, appended to `out`.
/// `saves`: a name it saves or uses is a target too (sharding keeps a saver
/// and its users together).
pub(crate) fn keys(c: &Command, saves: bool, out: &mut Vec<u64>) {
    let t = c.target_ref();
    fn s<'a>(v: &'a Option<std::borrow::Cow<'_, str>>) -> Option<&'a str> {
        v.as_deref().filter(|v| !v.is_empty())
    }
    let start = out.len();
    match c.method.target {
        TargetKind::Channel => out.extend(s(&t.channel).map(|v| key(b'c', v))),
        TargetKind::Channels => out.extend(t.channels.iter().flatten().map(|v| key(b'c', v))),
        TargetKind::User => {
            out.extend(s(&t.user).map(|v| key(b'u', v)));
            out.extend(s(&t.client).map(|v| key(b'k', v)));
            out.extend(s(&t.session).map(|v| key(b's', v)));
            out.extend(s(&t.channel).map(|v| key(b'c', v)));
            if out.len() == start {
                // No user: anonymous connections, or every channel of them.
                out.push(key(b'u', ""));
            }
        }
        TargetKind::None => {}
    }
    if saves && let Some(steps) = c.steps() {
        out.extend(steps.save.iter().map(|(n, _)| key(b'$', n)));
        out.extend(steps.uses.iter().map(|n| key(b'$', n)));
    }
}

/// Commands grouped into lanes: each lane's command indices in manifest
/// order, lanes ordered by their first command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lanes {
    /// Every command, lane after lane.
    order: Vec<u32>,
    /// Where each lane starts in `order`, and a last entry: its length.
    start: Vec<u32>,
}

impl Lanes {
    /// One lane of these commands, in this order.
    pub(crate) fn one(cmds: &[usize]) -> Self {
        Lanes { order: cmds.iter().map(|&c| c as u32).collect(), start: vec![0, cmds.len() as u32] }
    }

    /// How many lanes.
    pub(crate) fn len(&self) -> usize {
        self.start.len() - 1
    }

    /// Lane `l`'s commands.
    pub(crate) fn lane(&self, l: usize) -> impl Iterator<Item = usize> + '_ {
        self.order[self.start[l] as usize..self.start[l + 1] as usize].iter().map(|&c| c as usize)
    }

    /// Each lane as a list.
    #[cfg(test)]
    pub(crate) fn to_vecs(&self) -> Vec<Vec<usize>> {
        (0..self.len()).map(|l| self.lane(l).collect()).collect()
    }
}

impl From<Vec<Vec<usize>>> for Lanes {
    fn from(lanes: Vec<Vec<usize>>) -> Self {
        let mut start = vec![0];
        let mut order = Vec::new();
        for l in lanes {
            order.extend(l.iter().map(|&c| c as u32));
            start.push(order.len() as u32);
        }
        Lanes { order, start }
    }
}

/// Groups `cmds` into lanes: union-find over shared keys (`keys(c, out)`
/// appends command `c`'s).
pub(crate) fn lanes(cmds: &[usize], keys: impl Fn(usize, &mut Vec<u64>)) -> Lanes {
    let n = cmds.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    let join = |parent: &mut [u32], x: u32, y: u32| {
        let (a, b) = (find(parent, x), find(parent, y));
        if a != b {
            parent[a.max(b) as usize] = a.min(b);
        }
    };
    let mut ks = Vec::new();
    // Few targets for many commands (20 channels, 200,000 publishes): each
    // command joins the first command of each of its keys, found in a map
    // small enough to stay in the cache. Past `FEW` keys the map is left
    // for sorting (joins made so far stand: joining twice changes nothing).
    const FEW: usize = 1 << 14;
    let mut first: std::collections::HashMap<u64, u32, std::hash::BuildHasherDefault<PreHashed>> = Default::default();
    let mut few = true;
    for (i, &c) in cmds.iter().enumerate() {
        ks.clear();
        keys(c, &mut ks);
        for &k in &ks {
            match first.entry(k) {
                std::collections::hash_map::Entry::Occupied(e) => join(&mut parent, *e.get(), i as u32),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(i as u32);
                }
            }
        }
        if first.len() > FEW {
            few = false;
            break;
        }
    }
    drop(first);
    if !few {
        // Every (key, command) pair, sorted by key: commands sharing a key
        // are neighbours (16 bytes a pair, less than a map from key to command).
        let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(n);
        for (i, &c) in cmds.iter().enumerate() {
            ks.clear();
            keys(c, &mut ks);
            pairs.extend(ks.iter().map(|&k| (k, i as u32)));
        }
        pairs.sort_unstable();
        for w in pairs.windows(2) {
            if w[0].0 == w[1].0 {
                join(&mut parent, w[0].1, w[1].1);
            }
        }
    }
    // Every command points at its root: the smallest index of its lane.
    for i in 0..n as u32 {
        parent[i as usize] = find(&mut parent, i);
    }
    // Number lanes by their root, in order: a root's entry becomes its lane
    // number before any later command of the lane reads it.
    let mut lane_of = parent;
    let mut sizes: Vec<u32> = Vec::new();
    for i in 0..n {
        let root = lane_of[i] as usize;
        let lane = if root == i {
            sizes.push(0);
            (sizes.len() - 1) as u32
        } else {
            lane_of[root]
        };
        lane_of[i] = lane;
        sizes[lane as usize] += 1;
    }
    let mut start = Vec::with_capacity(sizes.len() + 1);
    let mut at = 0u32;
    for s in &sizes {
        start.push(at);
        at += s;
    }
    start.push(at);
    let mut fill: Vec<u32> = start[..sizes.len()].to_vec();
    let mut order = vec![0u32; n];
    for (i, &c) in cmds.iter().enumerate() {
        let l = lane_of[i] as usize;
        order[fill[l] as usize] = c as u32;
        fill[l] += 1;
    }
    Lanes { order, start }
}

/// Which commands belong to part `part` of `parts` (0-based), cut by lanes
/// so a lane is never split and per-target order holds within a part: each
/// lane, in order of its first command, goes to the part with the fewest
/// commands so far. A saved name joins its saver's and its users' lanes. A
/// `wait` step is in every part (it is a barrier within each).
pub(crate) fn shard(commands: &[Command], part: usize, parts: usize) -> Vec<bool> {
    let ordinary: Vec<usize> = (0..commands.len()).filter(|&i| !commands[i].is_step()).collect();
    let mut keep: Vec<bool> = commands.iter().map(Command::is_step).collect();
    let mut load = vec![0usize; parts.max(1)];
    let lanes = lanes(&ordinary, |c, out| keys(&commands[c], true, out));
    for l in 0..lanes.len() {
        let size = lanes.lane(l).count();
        let to = (0..load.len()).min_by_key(|&p| (load[p], p)).unwrap_or(0);
        load[to] += size;
        if to == part {
            for c in lanes.lane(l) {
                keep[c] = true;
            }
        }
    }
    keep
}

/// Limits on one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchLimits {
    pub max_commands: usize,
    pub max_bytes: usize,
}

/// Hands out batches from lanes; a lane is out of `ready` while a batch of
/// it is in flight.
pub(crate) struct Packer {
    lanes: Lanes,
    /// Per lane, how many of its commands were handed out.
    taken: Vec<u32>,
    /// Free lanes with work, by their next command's index (smallest first).
    ready: BinaryHeap<Reverse<(u32, u32)>>,
}

impl Packer {
    pub(crate) fn new(lanes: impl Into<Lanes>) -> Self {
        let lanes = lanes.into();
        let ready =
            (0..lanes.len()).filter_map(|l| lanes.lane(l).next().map(|h| Reverse((h as u32, l as u32)))).collect();
        Packer { taken: vec![0; lanes.len()], lanes, ready }
    }

    /// Lane `l`'s next command.
    fn front(&self, l: usize) -> Option<usize> {
        let at = self.lanes.start[l] + self.taken[l];
        (at < self.lanes.start[l + 1]).then(|| self.lanes.order[at as usize] as usize)
    }

    /// The next batch: `(commands, lanes it took from)`; `None` when no free
    /// lane has work. `size` gives a command's encoded size in bytes.
    pub(crate) fn next(
        &mut self,
        limits: BatchLimits,
        size: &dyn Fn(usize) -> usize,
    ) -> Option<(Vec<usize>, Vec<usize>)> {
        let mut batch = Vec::new();
        let mut used = Vec::new();
        let mut bytes = 0;
        while batch.len() < limits.max_commands {
            let Some(&Reverse((head, lane))) = self.ready.peek() else { break };
            if !batch.is_empty() && bytes + size(head as usize) > limits.max_bytes {
                break;
            }
            self.ready.pop();
            let lane = lane as usize;
            used.push(lane);
            while let Some(c) = self.front(lane) {
                let sz = size(c);
                if batch.len() >= limits.max_commands || (!batch.is_empty() && bytes + sz > limits.max_bytes) {
                    break;
                }
                self.taken[lane] += 1;
                bytes += sz;
                batch.push(c);
            }
            if self.front(lane).is_some() {
                // The lane still has work but this batch is full.
                break;
            }
        }
        (!batch.is_empty()).then_some((batch, used))
    }

    /// Marks lanes free again after their batch finished.
    pub(crate) fn release(&mut self, lanes: &[usize]) {
        for &l in lanes {
            if let Some(h) = self.front(l) {
                self.ready.push(Reverse((h as u32, l as u32)));
            }
        }
    }

    /// Takes every command not yet handed out (the run is stopping).
    pub(crate) fn drain(&mut self) -> Vec<usize> {
        self.ready.clear();
        let mut all = Vec::new();
        for l in 0..self.lanes.len() {
            while let Some(c) = self.front(l) {
                self.taken[l] += 1;
                all.push(c);
            }
        }
        all.sort_unstable();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lanes over commands 0..n whose keys are the given names.
    fn grouped(v: &[&[&str]]) -> Vec<Vec<usize>> {
        let all: Vec<usize> = (0..v.len()).collect();
        lanes(&all, |c, out| out.extend(v[c].iter().map(|s| key(b'c', s)))).to_vecs()
    }

    #[test]
    fn shared_targets_form_one_lane_in_order() {
        let lanes = grouped(&[&["a"], &["b"], &["a"], &[], &["b", "c"], &["c"]]);
        assert_eq!(lanes, vec![vec![0, 2], vec![1, 4, 5], vec![3]]);
    }

    #[test]
    fn broadcast_joins_lanes_transitively() {
        assert_eq!(grouped(&[&["a"], &["b"], &["a", "b"], &["b"]]), vec![vec![0, 1, 2, 3]]);
        // Joined late: the lane keeps manifest order and its first command's place.
        let lanes = grouped(&[&["x"], &["a"], &["b"], &["a"], &["b"], &["a", "b"], &["x"]]);
        assert_eq!(lanes, vec![vec![0, 6], vec![1, 2, 3, 4, 5]]);
    }

    #[test]
    fn many_targets_are_grouped_as_few_are() {
        // Past the small map's limit the pairs are sorted: the same lanes,
        // whether the shared keys come before the limit is reached or after.
        let mut rng = crate::testutil::Rng(11);
        let n = 60_000;
        let keys: Vec<Vec<u64>> = (0..n)
            .map(|i| {
                let mut k = vec![key(b'u', &format!("user-{i}"))];
                if rng.below(5) == 0 {
                    k.push(key(b'c', &format!("shared-{}", rng.below(300))));
                }
                k
            })
            .collect();
        let all: Vec<usize> = (0..n).collect();
        let got = lanes(&all, |c, out| out.extend(&keys[c])).to_vecs();
        // The reference: commands joined through a map of every key.
        let mut root: Vec<usize> = (0..n).collect();
        fn find(r: &mut [usize], x: usize) -> usize {
            if r[x] != x {
                r[x] = find(r, r[x]);
            }
            r[x]
        }
        let mut seen = std::collections::HashMap::new();
        for (i, ks) in keys.iter().enumerate() {
            for k in ks {
                let j = *seen.entry(*k).or_insert(i);
                let (a, b) = (find(&mut root, i), find(&mut root, j));
                root[a.max(b)] = a.min(b);
            }
        }
        let mut want: Vec<Vec<usize>> = Vec::new();
        let mut lane_of = std::collections::HashMap::new();
        for i in 0..n {
            let r = find(&mut root, i);
            let l = *lane_of.entry(r).or_insert_with(|| {
                want.push(Vec::new());
                want.len() - 1
            });
            want[l].push(i);
        }
        assert_eq!(got, want);
    }

    #[test]
    fn lanes_of_a_subset_hold_the_given_indices() {
        let names = ["a", "b", "a", "b", "a"];
        let todo = [1, 2, 4];
        let lanes = lanes(&todo, |c, out| out.push(key(b'c', names[c])));
        assert_eq!(lanes.to_vecs(), vec![vec![1], vec![2, 4]]);
    }

    #[test]
    fn packer_respects_size_bytes_and_busy_lanes() {
        let mut p = Packer::new(vec![vec![0, 2, 4, 6], vec![1, 3], vec![5]]);
        let lim = BatchLimits { max_commands: 3, max_bytes: 1000 };
        let one = |_| 10;
        assert_eq!(p.next(lim, &one), Some((vec![0, 2, 4], vec![0])));
        // Lane 0 is busy, so the next batch comes from lanes 1 and 2.
        assert_eq!(p.next(lim, &one), Some((vec![1, 3, 5], vec![1, 2])));
        assert_eq!(p.next(lim, &one), None);
        p.release(&[0]);
        assert_eq!(p.next(lim, &one), Some((vec![6], vec![0])));
        assert_eq!(p.drain(), Vec::<usize>::new());
        let mut p = Packer::new(vec![vec![0, 1, 2]]);
        let big = |_| 400;
        assert_eq!(p.next(BatchLimits { max_commands: 10, max_bytes: 1000 }, &big), Some((vec![0, 1], vec![0])));
    }
}
