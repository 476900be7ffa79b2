//! `cent-run`: parse arguments, hand them to the library, exit with its code.

/// Every command becomes a handful of small allocations (tree nodes, strings,
/// request bodies); mimalloc makes them and their release at exit cheaper than
/// glibc's malloc (see BENCHMARKS.md). Built without transparent huge pages
/// (`no_thp`): they made the kernel zero 2 MB for each region first touched.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cent_run::app::cent_run().into()
}
