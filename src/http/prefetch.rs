//! Prefetching reads: a refresh of many objects of one kind served from one listing of
//! the whole collection.
//!
//! [`super::coalesce`] turns Terraform's reads into one request per batch, but a batch can
//! hold only the reads Terraform has in flight (10 by default), so a refresh of N objects
//! still costs N/10 round trips one after another, and against a server 100 ms away that
//! is the refresh's time. A [`Prefetch`] instead lists the collection in pages, in
//! parallel, once the refresh has shown it is large compared with the collection:
//!
//! 1. Every read counts. After [`PrefetchSettings::probe_after`] reads, one request asks
//!    the collection's size (the *probe*).
//! 2. A collection larger than [`PrefetchSettings::max_objects`] is never listed (memory
//!    stays bounded, and a small refresh in a huge directory costs nothing more).
//! 3. Otherwise, once the reads reach [`PrefetchSettings::reads_per_page_tenths`] per page
//!    the listing takes, the collection is listed, its pages in parallel (under the
//!    vendor's governor), and the objects are kept for the rest of the process. A
//!    collection of more than [`PrefetchSettings::small_pages`] pages waits for
//!    [`PrefetchSettings::large_reads_per_page_tenths`] instead: by then the batches sent
//!    cost about as many requests as the listing will, so a refresh never pays more than
//!    twice the requests batches alone would have taken, while a small collection (whose
//!    listing costs few requests whatever happens) is listed early.
//!
//! # What a read then sees
//!
//! The listing is a snapshot: a read answered from it sees the object as it was when its
//! page was fetched, as a batched read a moment earlier would have. An object the snapshot
//! lacks (created since, or missed because the collection shifted between pages) is read
//! on its own, so a deleted object is still reported gone by a definite 404, never by its
//! absence from a listing. Writes through the same client [`Prefetch::forget`] the object,
//! so the process never reads back its own stale copy. The snapshot expires after
//! [`PrefetchSettings::ttl`]; Terraform starts a new provider process for every plan and
//! apply, so in practice it lives for one refresh.
//!
//! A failed probe or listing is logged and turns prefetching off for the process: reads
//! go on as before, batched.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// When a [`Prefetch`] lists the collection.
#[derive(Clone, Copy, Debug)]
pub struct PrefetchSettings {
    /// Off: never (the vendor block's `batch_reads = false`).
    pub enabled: bool,
    /// Reads before the collection's size is asked (the probe may bring the listing's first
    /// page with it).
    pub probe_after: usize,
    /// The listing starts once the reads reach this many per page it takes (in tenths:
    /// 10 is one read a page)...
    pub reads_per_page_tenths: usize,
    /// ... for a collection of at most this many pages; a larger one waits for
    /// `large_reads_per_page_tenths`.
    pub small_pages: usize,
    pub large_reads_per_page_tenths: usize,
    /// The page size of the listing.
    pub page_size: usize,
    /// A larger collection is never listed.
    pub max_objects: usize,
    /// How long a snapshot is used.
    pub ttl: Duration,
}

impl PrefetchSettings {
    pub const DEFAULT: PrefetchSettings = PrefetchSettings {
        enabled: true,
        probe_after: 20,
        reads_per_page_tenths: 10,
        small_pages: 40,
        large_reads_per_page_tenths: 100,
        page_size: 50,
        max_objects: 10_000,
        ttl: Duration::from_secs(300),
    };

    /// The reads after which a collection of `total` objects is listed.
    pub fn reads_to_load(&self, total: usize) -> usize {
        let pages = total.div_ceil(self.page_size.max(1));
        let per_page = if pages <= self.small_pages { self.reads_per_page_tenths } else { self.large_reads_per_page_tenths };
        (pages * per_page).div_ceil(10).max(self.probe_after)
    }
}

/// Counters, for tests, logs and the benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefetchStats {
    pub reads: u64,
    /// Size probes and listings started.
    pub probes: u64,
    pub loads: u64,
    /// Objects the last listing held.
    pub objects: usize,
    /// Reads answered from the snapshot, and reads the snapshot lacked.
    pub hits: u64,
    pub misses: u64,
}

/// What the snapshot says about a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<V> {
    /// In the snapshot.
    Hit(V),
    /// A snapshot exists and lacks it: read it on its own.
    Miss,
    /// No snapshot (yet): read as usual.
    NoSnapshot,
}

#[derive(Debug)]
enum Phase {
    /// Counting reads; the size is not known yet.
    Counting,
    /// The size is known and small enough: listing once the reads reach `at`.
    Known { total: usize, at: usize },
    /// A probe is running.
    Busy,
    /// The listing is running; `done` turns true when it ends (or is dropped).
    Listing { done: tokio::sync::watch::Receiver<bool> },
    /// The snapshot, taken at `at`.
    Loaded { at: Instant },
    /// Too large, or a probe or listing failed: reads as usual for the rest of the process.
    Off,
}

struct State<V> {
    phase: Phase,
    /// Tells the reads waiting in [`Prefetch::wait_for_listing`] that the listing ended.
    listed: Option<tokio::sync::watch::Sender<bool>>,
    reads: usize,
    objects: HashMap<String, V>,
    stats: PrefetchStats,
}

/// The prefetcher of one collection (see the module documentation).
pub struct Prefetch<V> {
    what: &'static str,
    settings: PrefetchSettings,
    state: Mutex<State<V>>,
}

impl<V> std::fmt::Debug for Prefetch<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefetch").field("what", &self.what).field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// What [`Prefetch::after_read`] is to do, decided under the lock.
enum Step {
    Nothing,
    Probe,
    Load(usize),
}

/// Puts the phase back to `Off` if the probe or listing is cancelled midway, so that
/// prefetching never stays `Busy` for ever.
struct BusyGuard<'a, V> {
    owner: &'a Prefetch<V>,
    done: bool,
}

impl<V> Drop for BusyGuard<'_, V> {
    fn drop(&mut self) {
        if !self.done {
            let mut st = self.owner.lock();
            if matches!(st.phase, Phase::Busy | Phase::Listing { .. }) {
                st.phase = Phase::Off;
                st.listed = None; // wakes the waiting reads
            }
        }
    }
}

impl<V> Prefetch<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<V>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<V> Prefetch<V> {
    /// Enters the listing phase (under the lock).
    fn start_listing(&self, st: &mut State<V>) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        st.phase = Phase::Listing { done: rx };
        st.listed = Some(tx);
        st.stats.loads += 1;
    }
}

impl<V: Clone> Prefetch<V> {
    /// `what` names the collection in logs (e.g. "SCIM users").
    pub fn new(what: &'static str, settings: PrefetchSettings) -> Self {
        let phase = if settings.enabled { Phase::Counting } else { Phase::Off };
        let state = State { phase, listed: None, reads: 0, objects: HashMap::new(), stats: PrefetchStats::default() };
        Prefetch { what, settings, state: Mutex::new(state) }
    }

    /// The counters so far.
    pub fn stats(&self) -> PrefetchStats {
        let st = self.lock();
        PrefetchStats { reads: st.reads as u64, ..st.stats }
    }

    /// What the snapshot holds for `key`. A snapshot past its time is dropped, and
    /// counting starts again.
    pub fn lookup(&self, key: &str) -> Lookup<V> {
        let mut st = self.lock();
        let Phase::Loaded { at } = st.phase else { return Lookup::NoSnapshot };
        if at.elapsed() >= self.settings.ttl {
            st.phase = Phase::Counting;
            st.reads = 0;
            st.objects = HashMap::new();
            return Lookup::NoSnapshot;
        }
        match st.objects.get(key).cloned() {
            Some(v) => {
                st.stats.hits += 1;
                Lookup::Hit(v)
            }
            None => {
                st.stats.misses += 1;
                Lookup::Miss
            }
        }
    }

    /// While the listing runs, waits for it to end (the read is then answered from it
    /// instead of costing a request of its own); returns at once otherwise.
    pub async fn wait_for_listing(&self) {
        let done = match &self.lock().phase {
            Phase::Listing { done } => done.clone(),
            _ => return,
        };
        let mut done = done;
        // An error means the listing was abandoned: the read goes on as usual.
        let _ = done.wait_for(|d| *d).await;
    }

    /// Drops `key` from the snapshot (the object was written: read it afresh).
    pub fn forget(&self, key: &str) {
        self.lock().objects.remove(key);
    }

    /// Counts a read that found no snapshot, and when it is time, asks the collection's
    /// size (`size`, which returns it with the objects it brought, if any: the listing's
    /// first page) or lists it (`list`, given the size; it returns the objects by key that
    /// the probe did not bring).
    /// One read does that while the others go on as usual; a failure is logged and turns
    /// prefetching off.
    pub async fn after_read<S, SF, L, LF, E>(&self, size: S, list: L)
    where
        S: FnOnce() -> SF,
        SF: Future<Output = Result<(usize, Vec<(String, V)>), E>>,
        L: FnOnce(usize) -> LF,
        LF: Future<Output = Result<Vec<(String, V)>, E>>,
        E: Display,
    {
        let step = {
            let mut st = self.lock();
            st.reads += 1;
            match st.phase {
                Phase::Counting if st.reads >= self.settings.probe_after => {
                    st.phase = Phase::Busy;
                    st.stats.probes += 1;
                    Step::Probe
                }
                Phase::Known { total, at } if st.reads >= at => {
                    self.start_listing(&mut st);
                    Step::Load(total)
                }
                _ => Step::Nothing,
            }
        };
        let mut first: Vec<(String, V)> = Vec::new();
        let total = match step {
            Step::Nothing => return,
            Step::Load(total) => total,
            Step::Probe => {
                let mut guard = BusyGuard { owner: self, done: false };
                let probed = size().await;
                guard.done = true;
                let mut st = self.lock();
                match probed {
                    Ok((total, objects)) if total <= self.settings.max_objects => {
                        let at = self.settings.reads_to_load(total);
                        tracing::debug!(collection = self.what, total, at, "prefetch: the collection will be listed after {at} reads");
                        if st.reads < at {
                            st.phase = Phase::Known { total, at };
                            return;
                        }
                        self.start_listing(&mut st);
                        first = objects;
                        total
                    }
                    Ok((total, _)) => {
                        tracing::debug!(collection = self.what, total, max = self.settings.max_objects, "prefetch: too large to list");
                        st.phase = Phase::Off;
                        return;
                    }
                    Err(e) => {
                        tracing::debug!(collection = self.what, error = %e, "prefetch: the size probe failed; reads go on one batch at a time");
                        st.phase = Phase::Off;
                        return;
                    }
                }
            }
        };
        let mut guard = BusyGuard { owner: self, done: false };
        let listed = list(total).await.map(|mut objects| {
            objects.append(&mut first);
            objects
        });
        guard.done = true;
        let mut st = self.lock();
        if let Some(tx) = st.listed.take() {
            let _ = tx.send(true);
        }
        match listed {
            Ok(objects) if objects.len() <= self.settings.max_objects.saturating_mul(2) => {
                tracing::debug!(collection = self.what, objects = objects.len(), "prefetch: listed the collection");
                st.stats.objects = objects.len();
                st.objects = objects.into_iter().collect();
                st.phase = Phase::Loaded { at: Instant::now() };
            }
            Ok(objects) => {
                tracing::debug!(
                    collection = self.what,
                    objects = objects.len(),
                    "prefetch: the listing holds far more than announced; not used"
                );
                st.phase = Phase::Off;
            }
            Err(e) => {
                tracing::debug!(collection = self.what, error = %e, "prefetch: listing failed; reads go on one batch at a time");
                st.phase = Phase::Off;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn settings() -> PrefetchSettings {
        PrefetchSettings { probe_after: 4, reads_per_page_tenths: 20, page_size: 10, max_objects: 100, ..PrefetchSettings::DEFAULT }
    }

    #[test]
    fn large_collections_are_listed_later() {
        let s = PrefetchSettings::DEFAULT;
        assert_eq!(s.reads_to_load(10), 20, "never before the probe");
        assert_eq!(s.reads_to_load(1_000), 20, "20 pages: a read a page");
        assert_eq!(s.reads_to_load(2_000), 40, "40 pages: still small");
        assert_eq!(s.reads_to_load(2_001), 410, "41 pages: 10 reads a page, the requests the batches cost by then");
        assert_eq!(s.reads_to_load(10_000), 2_000);
    }

    fn objects(n: usize) -> Vec<(String, usize)> {
        (0..n).map(|i| (format!("k{i}"), i)).collect()
    }

    /// `reads` reads through `p` against a collection of `total`; counts probes and lists.
    async fn read_n(p: &Prefetch<usize>, reads: usize, total: usize, probes: &AtomicUsize, lists: &AtomicUsize) {
        for _ in 0..reads {
            p.after_read(
                || async {
                    probes.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, String>((total, Vec::new()))
                },
                |n| async move {
                    lists.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, String>(objects(n))
                },
            )
            .await;
        }
    }

    #[tokio::test]
    async fn probes_then_lists_once_the_reads_pay_for_it() {
        let p = Prefetch::new("things", settings());
        let (probes, lists) = (AtomicUsize::new(0), AtomicUsize::new(0));
        // 50 objects: 5 pages of 10, listed after 2 reads a page = 10 reads; probed after 4.
        assert_eq!(settings().reads_to_load(50), 10);
        read_n(&p, 3, 50, &probes, &lists).await;
        assert_eq!((probes.load(Ordering::SeqCst), lists.load(Ordering::SeqCst)), (0, 0));
        assert_eq!(p.lookup("k1"), Lookup::NoSnapshot);
        read_n(&p, 1, 50, &probes, &lists).await;
        assert_eq!((probes.load(Ordering::SeqCst), lists.load(Ordering::SeqCst)), (1, 0), "probed at the 4th read");
        read_n(&p, 5, 50, &probes, &lists).await;
        assert_eq!(lists.load(Ordering::SeqCst), 0, "9 reads: not yet");
        read_n(&p, 1, 50, &probes, &lists).await;
        assert_eq!((probes.load(Ordering::SeqCst), lists.load(Ordering::SeqCst)), (1, 1), "listed at the 10th read");
        assert_eq!(p.lookup("k7"), Lookup::Hit(7));
        assert_eq!(p.lookup("k50"), Lookup::Miss, "not in the snapshot: read on its own");
        p.forget("k7");
        assert_eq!(p.lookup("k7"), Lookup::Miss, "a written object is read afresh");
        read_n(&p, 20, 50, &probes, &lists).await;
        assert_eq!((probes.load(Ordering::SeqCst), lists.load(Ordering::SeqCst)), (1, 1), "listed once per process");
        let s = p.stats();
        assert_eq!((s.probes, s.loads, s.objects, s.hits, s.misses), (1, 1, 50, 1, 2));
    }

    #[tokio::test]
    async fn a_small_refresh_lists_nothing_and_a_large_collection_never() {
        let (probes, lists) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let p = Prefetch::new("things", settings());
        read_n(&p, 3, 50, &probes, &lists).await;
        assert_eq!((probes.load(Ordering::SeqCst), lists.load(Ordering::SeqCst)), (0, 0), "a few reads cost nothing extra");

        let p = Prefetch::new("things", settings());
        read_n(&p, 500, 101, &probes, &lists).await;
        assert_eq!((probes.load(Ordering::SeqCst), lists.load(Ordering::SeqCst)), (1, 0), "over max_objects: probed once, never listed");
        assert_eq!(p.lookup("k1"), Lookup::NoSnapshot);
    }

    #[tokio::test]
    async fn failures_and_batching_off_turn_it_off() {
        let p: Prefetch<usize> = Prefetch::new("things", settings());
        for _ in 0..10 {
            p.after_read(|| async { Err::<(usize, Vec<(String, usize)>), _>("probe refused") }, |_| async { Ok(Vec::new()) }).await;
        }
        assert_eq!(p.stats().probes, 1, "a failed probe is not repeated");
        assert_eq!(p.lookup("k1"), Lookup::NoSnapshot);

        let p: Prefetch<usize> = Prefetch::new("things", settings());
        for _ in 0..20 {
            p.after_read(|| async { Ok::<_, String>((50, Vec::new())) }, |_| async { Err("page 3 failed".to_string()) }).await;
        }
        assert_eq!((p.stats().probes, p.stats().loads), (1, 1), "a failed listing is not repeated");
        assert_eq!(p.lookup("k1"), Lookup::NoSnapshot);

        let p: Prefetch<usize> = Prefetch::new("things", PrefetchSettings { enabled: false, ..settings() });
        let (probes, lists) = (AtomicUsize::new(0), AtomicUsize::new(0));
        read_n(&p, 100, 50, &probes, &lists).await;
        assert_eq!((probes.load(Ordering::SeqCst), lists.load(Ordering::SeqCst)), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_snapshot_expires() {
        let p = Prefetch::new("things", PrefetchSettings { ttl: Duration::from_secs(60), ..settings() });
        let (probes, lists) = (AtomicUsize::new(0), AtomicUsize::new(0));
        read_n(&p, 10, 50, &probes, &lists).await;
        assert_eq!(p.lookup("k1"), Lookup::Hit(1));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(p.lookup("k1"), Lookup::NoSnapshot, "expired");
        read_n(&p, 4, 50, &probes, &lists).await;
        assert_eq!(probes.load(Ordering::SeqCst), 2, "counting starts again");
    }

    #[tokio::test]
    async fn reads_during_the_listing_wait_for_it_instead_of_asking() {
        let p = std::sync::Arc::new(Prefetch::new("things", settings()));
        for _ in 0..9 {
            p.after_read(|| async { Ok::<_, String>((50, Vec::new())) }, |_| async { Ok(Vec::new()) }).await;
        }
        let (release, gate) = tokio::sync::oneshot::channel::<()>();
        let lister = {
            let p = p.clone();
            tokio::spawn(async move {
                p.after_read(
                    || async { Ok::<_, String>((50, Vec::new())) },
                    |n| async move {
                        let _ = gate.await;
                        Ok(objects(n))
                    },
                )
                .await
            })
        };
        while !matches!(p.lock().phase, Phase::Listing { .. }) {
            tokio::task::yield_now().await;
        }
        let reader = {
            let p = p.clone();
            tokio::spawn(async move {
                p.wait_for_listing().await;
                p.lookup("k3")
            })
        };
        tokio::task::yield_now().await;
        assert!(!reader.is_finished(), "the read waits for the listing");
        release.send(()).expect("release");
        assert_eq!(reader.await.expect("reader"), Lookup::Hit(3));
        lister.await.expect("lister");
        // With no listing running, nothing waits.
        p.wait_for_listing().await;
    }

    #[tokio::test]
    async fn a_cancelled_listing_turns_it_off_instead_of_hanging() {
        let p: Prefetch<usize> = Prefetch::new("things", settings());
        for _ in 0..9 {
            p.after_read(|| async { Ok::<_, String>((50, Vec::new())) }, |_| async { Ok(Vec::new()) }).await;
        }
        let listing = p
            .after_read(|| async { Ok::<_, String>((50, Vec::new())) }, |_| std::future::pending::<Result<Vec<(String, usize)>, String>>());
        assert!(tokio::time::timeout(Duration::from_millis(20), listing).await.is_err(), "still listing");
        assert_eq!(p.lookup("k1"), Lookup::NoSnapshot);
        p.wait_for_listing().await; // the abandoned listing wakes its waiters
        p.after_read(|| async { Ok::<_, String>((50, Vec::new())) }, |_| async { Ok(objects(50)) }).await;
        assert_eq!(p.lookup("k1"), Lookup::NoSnapshot, "off after the cancelled listing");
    }
}
