//! Work cut in two halves, the second on a thread of its own when the
//! machine has two cores: what a run does before its first request and
//! after its last reply, while the server is idle (reading a manifest,
//! indexing its lines, numbering and digesting its commands). In: two
//! closures; out: both results.

/// Whether there is a second core to give work to.
pub(crate) fn two() -> bool {
    std::thread::available_parallelism().is_ok_and(|p| p.get() > 1)
}

/// `a()` and `b()`: at once when `parallel` (`b` on a scoped thread), one
/// after the other when not.
pub(crate) fn both<A: Send, B: Send>(
    parallel: bool,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if !parallel {
        return (a(), b());
    }
    std::thread::scope(|s| {
        let b = s.spawn(b);
        let a = a();
        (a, b.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
    })
}
