//! Lanes and batches. Commands that share a target (a channel; a user for
//! user-targeted commands) form one lane, kept in manifest order; a command
//! with several targets (a broadcast) joins their lanes. The [`Packer`] cuts
//! lanes into batches: consecutive commands of a free lane, then of the next
//! free lane, up to the batch size and byte budget. Pure logic, no I/O.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::manifest::Target;
use crate::methods::{Method, TargetKind};

/// The targets a command acts on, as lane keys (`c:` channel, `u:` user...).
pub fn targets(method: &Method, target: &Target) -> Vec<String> {
    fn s(v: &Option<String>) -> Option<&str> {
        v.as_deref().filter(|v| !v.is_empty())
    }
    let mut out = Vec::new();
    match method.target {
        TargetKind::Channel => out.extend(s(&target.channel).map(|c| format!("c:{c}"))),
        TargetKind::Channels => {
            if let Some(chs) = &target.channels {
                out.extend(chs.iter().map(|c| format!("c:{c}")));
            }
        }
        TargetKind::User => {
            out.extend(s(&target.user).map(|u| format!("u:{u}")));
            out.extend(s(&target.client).map(|c| format!("k:{c}")));
            out.extend(s(&target.session).map(|c| format!("s:{c}")));
            out.extend(s(&target.channel).map(|c| format!("c:{c}")));
            if out.is_empty() {
                // No user: anonymous connections, or every channel of them.
                out.push("u:".into());
            }
        }
        TargetKind::None => {}
    }
    out
}

/// Groups commands into lanes: union-find over shared targets. Returns, per
/// lane, its command indices in manifest order; lanes ordered by first command.
pub fn lanes(targets: &[&[String]]) -> Vec<Vec<usize>> {
    let n = targets.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (i, ts) in targets.iter().enumerate() {
        for t in *ts {
            match owner.get(t.as_str()) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => {
                    owner.insert(t, i);
                }
            }
        }
    }
    let mut index: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let root = find(&mut parent, i);
        let lane = *index.entry(root).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[lane].push(i);
    }
    out
}

/// Which commands belong to part `part` of `parts` (0-based), cut by lanes
/// so a lane is never split and per-target order holds within a part: each
/// lane, in order of its first command, goes to the part with the fewest
/// commands so far. A saved name joins its saver's and its users' lanes. A
/// `wait` step is in every part (it is a barrier within each).
pub fn shard(commands: &[crate::manifest::Command], part: usize, parts: usize) -> Vec<bool> {
    let is_wait = |c: &crate::manifest::Command| c.is_wait();
    let targets: Vec<Vec<String>> = commands
        .iter()
        .map(|c| {
            let mut t = targets(c.method, &c.target);
            if let Some(s) = &c.steps {
                t.extend(s.save.iter().map(|(n, _)| format!("s:{n}")));
                t.extend(s.uses.iter().map(|n| format!("s:{n}")));
            }
            t
        })
        .collect();
    let ordinary: Vec<usize> = (0..commands.len()).filter(|&i| !is_wait(&commands[i])).collect();
    let refs: Vec<&[String]> = ordinary.iter().map(|&i| targets[i].as_slice()).collect();
    let mut keep: Vec<bool> = commands.iter().map(is_wait).collect();
    let mut load = vec![0usize; parts.max(1)];
    for lane in lanes(&refs) {
        let to = (0..load.len()).min_by_key(|&p| (load[p], p)).unwrap_or(0);
        load[to] += lane.len();
        if to == part {
            for k in lane {
                keep[ordinary[k]] = true;
            }
        }
    }
    keep
}

/// Limits on one request.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_commands: usize,
    pub max_bytes: usize,
}

/// Hands out batches from lanes; a lane is out of `ready` while a batch of
/// it is in flight.
pub struct Packer {
    queues: Vec<VecDeque<usize>>,
    /// Free lanes with work, ordered by their next command's index.
    ready: BTreeSet<(usize, usize)>,
}

impl Packer {
    pub fn new(lanes: Vec<Vec<usize>>) -> Self {
        let ready = lanes.iter().enumerate().filter_map(|(l, q)| q.first().map(|&h| (h, l))).collect();
        Packer { queues: lanes.into_iter().map(VecDeque::from).collect(), ready }
    }

    /// The next batch: `(commands, lanes it took from)`; `None` when no free
    /// lane has work. `size` gives a command's encoded size in bytes.
    pub fn next(&mut self, limits: BatchLimits, size: &dyn Fn(usize) -> usize) -> Option<(Vec<usize>, Vec<usize>)> {
        let mut batch = Vec::new();
        let mut used = Vec::new();
        let mut bytes = 0;
        while batch.len() < limits.max_commands {
            let Some(&(head, lane)) = self.ready.iter().next() else { break };
            if !batch.is_empty() && bytes + size(head) > limits.max_bytes {
                break;
            }
            self.ready.remove(&(head, lane));
            used.push(lane);
            let q = &mut self.queues[lane];
            while let Some(&c) = q.front() {
                let sz = size(c);
                if batch.len() >= limits.max_commands || (!batch.is_empty() && bytes + sz > limits.max_bytes) {
                    break;
                }
                q.pop_front();
                bytes += sz;
                batch.push(c);
            }
            if q.front().is_some() {
                // The lane still has work but this batch is full.
                break;
            }
        }
        (!batch.is_empty()).then_some((batch, used))
    }

    /// Marks lanes free again after their batch finished.
    pub fn release(&mut self, lanes: &[usize]) {
        for &l in lanes {
            if let Some(&h) = self.queues[l].front() {
                self.ready.insert((h, l));
            }
        }
    }

    /// Takes every command not yet handed out (the run is stopping).
    pub fn drain(&mut self) -> Vec<usize> {
        self.ready.clear();
        let mut all: Vec<usize> = self.queues.iter_mut().flat_map(|q| q.drain(..)).collect();
        all.sort_unstable();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter().map(|ts| ts.iter().map(|s| s.to_string()).collect()).collect()
    }

    #[test]
    fn shared_targets_form_one_lane_in_order() {
        let ts = t(&[&["c:a"], &["c:b"], &["c:a"], &[], &["c:b", "c:c"], &["c:c"]]);
        let lanes = lanes(&ts.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert_eq!(lanes, vec![vec![0, 2], vec![1, 4, 5], vec![3]]);
    }

    #[test]
    fn broadcast_joins_lanes_transitively() {
        let ts = t(&[&["c:a"], &["c:b"], &["c:a", "c:b"], &["c:b"]]);
        let lanes = lanes(&ts.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert_eq!(lanes, vec![vec![0, 1, 2, 3]]);
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
