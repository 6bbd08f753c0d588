//! The proptest driver shared by the fuzz modules `fuzz_decoders` and `fuzz_vendor` of the
//! `fuzz` test binary (`tests/fuzz/`).
//!
//! cargo-fuzz needs a nightly toolchain; these targets run on stable as ordinary tests.
//! Each target is a proptest strategy plus a property (no panic, and whatever else the
//! target checks). Knobs, all optional:
//!
//! - `IDENTITY_FUZZ_CASES=N`: cases per target (default: each target's CI figure, chosen
//!   so that a module runs in well under 20 s in debug on two cores).
//! - `IDENTITY_FUZZ_SECS=N`: time-boxed run: the targets of one module (`fuzz_decoders`,
//!   `fuzz_vendor`) share N seconds (N / number of targets each), in batches of at most
//!   [`BATCH`] cases with fresh seeds, and print how many cases they ran. Run with
//!   `--test-threads=1` for N seconds of wall time per module (with the default two threads
//!   a module takes about N/2 s of wall time, N s of CPU time).
//! - `IDENTITY_FUZZ_SEED=N`: the base seed (u64); printed by every target and in every
//!   failure, so a failure can be replayed with the same seed.
//! - `IDENTITY_FUZZ_HANG_SECS=N`: a watchdog aborts the process when a target makes no
//!   progress for N seconds (default 120): a hang is a failure too.
//!
//! A failing case is shrunk by proptest and reported with its minimal input; turn that
//! into a plain regression test in the module that found it.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::fmt::{self, Debug};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

/// The most cases per batch of a time-boxed run (each batch has a seed of its own).
pub const BATCH: u32 = 2_000;
/// A single case that takes longer than this fails (inputs are a few KiB at most).
pub const SLOW_CASE: Duration = Duration::from_secs(10);

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={v:?} is not a non-negative integer"),
    }
}

/// A setting that sets how much fuzzing runs (`IDENTITY_FUZZ_CASES`, `IDENTITY_FUZZ_SECS`):
/// at least 1 (zero would run nothing and pass), and refused under CI, which runs each
/// target's fixed case count.
fn env_amount(name: &str) -> Option<u64> {
    let n = env_u64(name)?;
    assert!(n >= 1, "{name}=0 would run no fuzz case at all; leave it unset for the default");
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true" || v == "1"),
        "{name} is set under CI (CI=true): CI runs every fuzz target's fixed case count"
    );
    Some(n)
}

/// The base seed: `IDENTITY_FUZZ_SEED`, else a fresh one.
pub fn base_seed() -> u64 {
    env_u64("IDENTITY_FUZZ_SEED").unwrap_or_else(|| {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        // Mix in the thread, so that targets started in the same nanosecond differ.
        let tid = format!("{:?}", std::thread::current().id());
        tid.bytes().fold(nanos, |acc, b| acc.rotate_left(7) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    })
}

fn rng(seed: u64, batch: u64) -> TestRng {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..].copy_from_slice(&batch.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::XorShift, &bytes)
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        // No proptest-regressions files next to the tests: regressions are plain tests.
        failure_persistence: None,
        max_shrink_iters: 4_096,
        max_shrink_time: 120_000,
        max_global_rejects: 1_000_000,
        max_local_rejects: 1_000_000,
        ..Config::default()
    }
}

thread_local! {
    /// Whether this thread is running fuzz cases (their panics are expected: quiet).
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The message and place of the last quiet panic.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that keeps the panics of fuzz cases off stderr (a
/// shrinking run panics hundreds of times) and remembers where the last one happened;
/// other panics go to the previous hook.
fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let place = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("panicked at {place}: {msg}")));
            } else {
                previous(info);
            }
        }));
    });
}

fn quietly<T>(f: impl FnOnce() -> T) -> T {
    QUIET.with(|q| q.set(true));
    let out = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    match out {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Report {
    pub cases: u64,
    pub elapsed: Duration,
}

/// Runs one fuzz target: `targets` lists every target of the calling module (the
/// time budget is split between them), `name` is this one, `ci_cases` its case count when
/// neither `IDENTITY_FUZZ_CASES` nor `IDENTITY_FUZZ_SECS` is set. Panics with the seed and
/// the minimal failing input when the property fails (an `Err`, a panic, or a slow case).
pub fn fuzz<S>(targets: &[&str], name: &str, ci_cases: u32, strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>) -> Report
where
    S: Strategy,
    S::Value: Debug,
{
    assert!(targets.contains(&name), "fuzz target {name} is missing from the file's TARGETS list");
    let seed = base_seed();
    let per_target = env_amount("IDENTITY_FUZZ_SECS").map(|s| Duration::from_secs_f64(s as f64 / targets.len() as f64));
    let cases_env = env_amount("IDENTITY_FUZZ_CASES").map(|c| c.min(u32::MAX as u64) as u32);
    let hang = Duration::from_secs(env_u64("IDENTITY_FUZZ_HANG_SECS").unwrap_or(120));

    let count = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (count, done, name) = (count.clone(), done.clone(), name.to_string());
        std::thread::spawn(move || {
            let mut last = (count.load(Ordering::Relaxed), Instant::now());
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let now = count.load(Ordering::Relaxed);
                if now != last.0 {
                    last = (now, Instant::now());
                } else if last.1.elapsed() > hang {
                    eprintln!("fuzz target {name}: no progress for {hang:?} after {now} cases (seed {seed}): a hang; aborting");
                    std::process::abort();
                }
            }
        })
    };

    quiet_panics();
    let started = Instant::now();
    let check = |v: S::Value| {
        let t = Instant::now();
        let r = property(v);
        count.fetch_add(1, Ordering::Relaxed);
        let took = t.elapsed();
        if took > SLOW_CASE {
            return Err(TestCaseError::fail(format!("a single case took {took:?} (more than {SLOW_CASE:?})")));
        }
        r
    };
    // Lent to every batch's runner (and kept for replaying a failure).
    let check_each = &check;
    let mut batch = 0u64;
    loop {
        let cases = match (per_target, cases_env) {
            // Batches sized to what is left of the budget at the rate seen so far.
            (Some(budget), _) => {
                let done = count.load(Ordering::Relaxed).max(1) as f64;
                let per_case = started.elapsed().as_secs_f64() / done;
                let left = budget.saturating_sub(started.elapsed()).as_secs_f64();
                if batch == 0 { 32 } else { ((left / per_case.max(1e-7)) as u32).clamp(16, BATCH) }
            }
            (None, Some(c)) => c,
            (None, None) => ci_cases,
        };
        let mut runner = TestRunner::new_with_rng(config(cases), rng(seed, batch));
        match quietly(|| runner.run(&strategy, check_each)) {
            Ok(()) => {}
            Err(TestError::Fail(why, input)) => {
                done.store(true, Ordering::Relaxed);
                let shown = format!("{input:#?}");
                // Once more, to tell where the minimal input panics (if it does).
                LAST_PANIC.with(|p| p.borrow_mut().take());
                let _ = quietly(|| catch_unwind(AssertUnwindSafe(|| check(input))));
                let place = LAST_PANIC.with(|p| p.borrow_mut().take()).map(|p| format!("\n{p}")).unwrap_or_default();
                panic!(
                    "fuzz target {name} failed (IDENTITY_FUZZ_SEED={seed}, batch {batch}, after {} cases): {why}{place}\nminimal input: {shown}",
                    count.load(Ordering::Relaxed)
                );
            }
            Err(TestError::Abort(why)) => {
                done.store(true, Ordering::Relaxed);
                panic!("fuzz target {name} aborted (IDENTITY_FUZZ_SEED={seed}, batch {batch}): {why}");
            }
        }
        batch += 1;
        match per_target {
            Some(budget) if started.elapsed() < budget => continue,
            _ => break,
        }
    }
    done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    let report = Report { cases: count.load(Ordering::Relaxed), elapsed: started.elapsed() };
    println!(
        "fuzz target {name}: {} cases in {:.1} s ({} batch(es), IDENTITY_FUZZ_SEED={seed}): no failure",
        report.cases,
        report.elapsed.as_secs_f64(),
        batch
    );
    report
}

// ---------------------------------------------------------------- allocation accounting

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// A global allocator that keeps, per thread, the bytes it holds and their high-water
/// mark, so that a target can bound what one decode allocates. `tests/fuzz/main.rs`
/// installs it for the whole `fuzz` binary (`#[global_allocator]`).
pub struct Counting;

fn account(delta: isize) {
    let _ = LIVE.try_with(|l| {
        let now = l.get() + delta;
        l.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

// The one unsafe block of the project: a counting allocator forwarding to the system one.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) };
        account(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            account(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// The most bytes `f` held at once on this thread beyond what was held before (needs
/// [`Counting`] installed; 0 otherwise), and its result.
pub fn peak_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    let peak = PEAK.with(Cell::get);
    (out, (peak - base).max(0) as usize)
}

// ---------------------------------------------------------------- inputs

/// Bytes that print as hex.
#[derive(Clone)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hex \"")?;
        for (i, b) in self.0.iter().enumerate() {
            write!(f, "{}{b:02x}", if i == 0 { "" } else { " " })?;
        }
        write!(f, "\" ({} bytes; as text: {:?})", self.0.len(), String::from_utf8_lossy(&self.0))
    }
}

/// A byte-level change to an input (structure-blind; see the callers for the
/// structure-aware ones).
#[derive(Clone, Debug)]
pub enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, Vec<u8>),
    InsertInteresting(Index, Index),
    OverwriteInteresting(Index, Index),
    Delete(Index, u8),
    Truncate(Index),
    /// Copies a chunk of the input to another place (splices structure into itself).
    Splice(Index, Index, u8),
}

pub fn arb_mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..6)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), any::<Index>()).prop_map(|(i, w)| Mutation::InsertInteresting(i, w)),
        (any::<Index>(), any::<Index>()).prop_map(|(i, w)| Mutation::OverwriteInteresting(i, w)),
        (any::<Index>(), 1u8..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<Index>(), 1u8..32).prop_map(|(a, b, n)| Mutation::Splice(a, b, n)),
    ]
    .boxed()
}

/// Applies `mutations` in order; `interesting` holds the byte sequences worth inserting.
pub fn mutate(mut b: Vec<u8>, mutations: &[Mutation], interesting: &[Vec<u8>]) -> Vec<u8> {
    let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len) };
    for m in mutations {
        let len = b.len();
        match m {
            Mutation::Flip(i, bit) if len > 0 => {
                let p = at(i, len);
                b[p] ^= 1 << bit;
            }
            Mutation::Set(i, v) if len > 0 => {
                let p = at(i, len);
                b[p] = *v;
            }
            Mutation::Insert(i, v) => {
                let p = at(i, len + 1);
                b.splice(p..p, v.iter().copied());
            }
            Mutation::InsertInteresting(i, w) => {
                let p = at(i, len + 1);
                b.splice(p..p, interesting[w.index(interesting.len())].iter().copied());
            }
            Mutation::OverwriteInteresting(i, w) => {
                let p = at(i, len + 1);
                let seq = &interesting[w.index(interesting.len())];
                let end = (p + seq.len()).min(len);
                b.splice(p..end, seq.iter().copied());
            }
            Mutation::Delete(i, n) if len > 0 => {
                let p = at(i, len);
                let end = (p + *n as usize).min(len);
                b.drain(p..end);
            }
            Mutation::Truncate(i) => b.truncate(at(i, len + 1)),
            Mutation::Splice(from, to, n) if len > 0 => {
                let p = at(from, len);
                let chunk: Vec<u8> = b[p..(p + *n as usize).min(len)].to_vec();
                let q = at(to, len + 1);
                b.splice(q..q, chunk);
            }
            _ => {}
        }
    }
    b
}
