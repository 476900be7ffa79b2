//! Command tags (`tags: [morning, smoke]`): each distinct set is kept once
//! for the whole process, and a command holds its set's number, so a
//! million tagged `for_each` commands cost two bytes each.

use std::sync::{Arc, Mutex, OnceLock};

fn sets() -> &'static Mutex<Vec<Arc<[String]>>> {
    static SETS: OnceLock<Mutex<Vec<Arc<[String]>>>> = OnceLock::new();
    SETS.get_or_init(|| Mutex::new(vec![Arc::from(Vec::new())]))
}

/// The number of this set of tags (0: none); `None` when there are more
/// distinct sets than a command can number.
pub(crate) fn intern(tags: Vec<String>) -> Option<u16> {
    if tags.is_empty() {
        return Some(0);
    }
    let mut all = sets().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = all.iter().position(|s| **s == *tags) {
        return u16::try_from(i).ok();
    }
    let i = u16::try_from(all.len()).ok()?;
    all.push(Arc::from(tags));
    Some(i)
}

/// The tags of set `id`.
pub(crate) fn get(id: u16) -> Arc<[String]> {
    sets()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(usize::from(id))
        .cloned()
        .unwrap_or_else(|| Arc::from(Vec::new()))
}

/// A tag: letters, digits, `_`, `-`, `.`.
pub(crate) fn is_tag(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c))
}
