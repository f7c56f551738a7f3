//! Thread pools per `n_jobs` and the fixed-grid chunked map-reduce every kernel uses.
//!
//! Chunks are fixed row ranges independent of the thread count and every reduction merged over
//! them is exact (integer counts, exact sums, total-order selections), so results are identical
//! for any number of threads.

use rayon::prelude::*;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

/// Rows per work item: large enough to amortise scheduling, small enough to balance 2+ threads.
pub const CHUNK_ROWS: usize = 16 * 1024;

/// Below this many matrix elements a call runs on the calling thread (pool start-up costs more).
pub const SERIAL_ELEMENTS: usize = 1 << 18;

static DEFAULT_THREADS: Mutex<Option<usize>> = Mutex::new(None);

fn pools() -> &'static Mutex<HashMap<usize, Arc<rayon::ThreadPool>>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Set the thread count used when `n_jobs` is `None` (`None` restores "all cores").
pub fn set_default_threads(n: Option<usize>) {
    *DEFAULT_THREADS.lock().unwrap_or_else(|e| e.into_inner()) = n.filter(|&n| n > 0);
}

/// Number of threads for a call: `n_jobs`, else the default, else all available cores.
pub fn resolve_threads(n_jobs: Option<usize>) -> usize {
    n_jobs
        .filter(|&n| n > 0)
        .or(*DEFAULT_THREADS.lock().unwrap_or_else(|e| e.into_inner()))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Run `f` on a cached pool of exactly `threads` threads (one thread means serial kernels).
pub fn install<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    let threads = threads.max(1);
    let pool = {
        let mut map = pools().lock().unwrap_or_else(|e| e.into_inner());
        map.entry(threads)
            .or_insert_with(|| {
                Arc::new(
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .thread_name(|i| format!("labelsieve-{i}"))
                        .build()
                        .expect("failed to start a thread pool"),
                )
            })
            .clone()
    };
    pool.install(f)
}

/// `install` for a call over `elements` matrix entries: below `SERIAL_ELEMENTS` the kernels
/// run serially anyway, so run on the calling thread and skip the hop to the pool.
pub fn install_sized<R: Send>(threads: usize, elements: usize, f: impl FnOnce() -> R + Send) -> R {
    if elements < SERIAL_ELEMENTS {
        f()
    } else {
        install(threads, f)
    }
}

/// Map `map` over fixed row chunks of `0..n` and merge with `merge`, in parallel when `parallel`.
/// `merge` must be associative and commutative in effect (exact reductions only).
pub fn map_reduce<A, M, R>(
    n: usize,
    parallel: bool,
    init: impl Fn() -> A + Sync + Send,
    map: M,
    merge: R,
) -> A
where
    A: Send,
    M: Fn(&mut A, Range<usize>) + Sync + Send,
    R: Fn(A, A) -> A + Sync + Send,
{
    // The same chunks as `map_reduce_out` over `n` zero-sized entries (no memory).
    map_reduce_out(
        &mut vec![(); n],
        parallel,
        init,
        |acc, start, part| map(acc, start..start + part.len()),
        merge,
    )
}

/// `map_reduce` over the rows of `out` (one entry per row), whose `map` also writes its rows'
/// entries: `map(acc, first_row, entries)` over the same fixed chunks.
pub fn map_reduce_out<A, V, M, R>(
    out: &mut [V],
    parallel: bool,
    init: impl Fn() -> A + Sync + Send,
    map: M,
    merge: R,
) -> A
where
    A: Send,
    V: Send,
    M: Fn(&mut A, usize, &mut [V]) + Sync + Send,
    R: Fn(A, A) -> A + Sync + Send,
{
    let chunks = out.len().div_ceil(CHUNK_ROWS);
    if !parallel || chunks <= 1 {
        let mut acc = init();
        for (c, part) in out.chunks_mut(CHUNK_ROWS).enumerate() {
            map(&mut acc, c * CHUNK_ROWS, part);
        }
        return acc;
    }
    // One contiguous range per thread: few accumulators (selectors hold up to 2x their quota, so
    // memory grows with their number) that each see many rows. Rounded down: rayon only splits
    // a range whose halves both reach the minimum length (with `div_ceil` an odd chunk count was
    // never split and the whole call ran on one thread).
    let min_len = (chunks / rayon::current_num_threads()).max(1);
    out.par_chunks_mut(CHUNK_ROWS)
        .enumerate()
        .with_min_len(min_len)
        .fold(&init, |mut acc, (c, part)| {
            map(&mut acc, c * CHUNK_ROWS, part);
            acc
        })
        // `reduce_with`, not `reduce(init, ..)`: that one starts every part's reduction from a
        // fresh `init()` and merges the part into it, one wasted merge per part (5 ms each for
        // the prune selectors at K = 100).
        .reduce_with(merge)
        .unwrap_or_else(init)
}

/// Whether a call over `elements` matrix entries is worth running in parallel.
pub fn worth_parallel(elements: usize) -> bool {
    elements >= SERIAL_ELEMENTS && rayon::current_num_threads() > 1
}
