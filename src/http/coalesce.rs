//! Read coalescing: concurrent reads of one kind of object become one list request.
//!
//! Terraform refreshes every resource with its own ReadResource call, `-parallelism`
//! (10) at a time, and the calls arrive in waves: when a batch is answered, Terraform
//! finishes those resources and starts the next reads spread over some milliseconds of
//! its own work (tens of milliseconds on a busy machine). A [`Coalescer`] collects the
//! reads that arrive together into a batch, sends one request for it (a vendor-specific
//! function: a SCIM `id eq` filter, Run:ai's list of every idp, Fudo's list of every
//! assignment) and answers each read from that.
//!
//! # When a batch is sent
//!
//! The first read to find no batch open opens one (it is the batch's *leader*) and
//! collects company until one of these holds:
//!
//! - **Full**: the batch holds as many reads as were ever in progress at once (the
//!   *target*: Terraform's parallelism for these reads, as far as seen). Each waiting read
//!   holds one of Terraform's slots, so with every slot waiting here no other read can
//!   come. The target only grows (reads that start while a batch is in flight raise it),
//!   up to [`CoalesceSettings::max_batch`].
//! - **Quiet**: every read in progress is in this batch (none in flight elsewhere, whose
//!   answer would free slots for new reads) and nothing arrived or finished for
//!   [`CoalesceSettings::quiet`]. This closes a batch whose target cannot be reached
//!   (other resource kinds share Terraform's slots, the last reads of a refresh) after a
//!   short wait, without lowering the target for the next wave.
//! - **Window**: [`CoalesceSettings::max_window`] has passed since it opened (e.g. while
//!   another batch is slow to answer).
//!
//! Until a first batch has been sent (in a new process, or after
//! [`CoalesceSettings::idle_reset`] with no read in progress) nothing is known: a batch
//! closes when quiet for [`CoalesceSettings::first_quiet`], so a lone read, as in a plan
//! of one resource, hardly waits.
//!
//! # Correctness
//!
//! A batch answer only ever says "found". A key missing from it, a failed batch, a
//! batch of fewer than [`CoalesceSettings::min_batch`] keys and a leader cancelled before
//! it answered all make the read ask alone (the caller's single read), so a deleted object
//! is still reported gone by a definite 404, and no read waits for a leader that is gone.

use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
// tokio's clock, so that tests can run the waits on a paused clock.
use tokio::time::Instant;

/// How a [`Coalescer`] batches.
#[derive(Clone, Copy, Debug)]
pub struct CoalesceSettings {
    /// Before anything is learned, a batch is sent after this long without news.
    pub first_quiet: Duration,
    /// A batch that cannot fill is sent after this long without news (see the module doc).
    pub quiet: Duration,
    /// The longest a batch collects.
    pub max_window: Duration,
    /// A batch this big is sent at once, and the target never exceeds it.
    pub max_batch: usize,
    /// A batch of fewer distinct keys is not sent: its reads ask alone.
    pub min_batch: usize,
    /// After this long with no read in progress, what was learned is forgotten.
    pub idle_reset: Duration,
    /// Off: every read asks alone at once (the vendor block's `batch_reads = false`).
    pub enabled: bool,
}

impl CoalesceSettings {
    pub const DEFAULT: CoalesceSettings = CoalesceSettings {
        first_quiet: Duration::from_millis(3),
        quiet: Duration::from_millis(10),
        max_window: Duration::from_millis(50),
        max_batch: 50,
        min_batch: 2,
        idle_reset: Duration::from_secs(1),
        enabled: true,
    };

    /// These settings, with batching on or off.
    pub const fn enabled(self, enabled: bool) -> Self {
        CoalesceSettings { enabled, ..self }
    }
}

impl Default for CoalesceSettings {
    fn default() -> Self {
        CoalesceSettings::DEFAULT
    }
}

/// Counters, for tests and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoalesceStats {
    /// Batch requests started (calls of the batch function).
    pub batches: u64,
    /// Reads answered from a batch.
    pub found: u64,
    /// Reads that asked alone (lone reads, misses, failed or abandoned batches).
    pub alone: u64,
    /// Batches closed because they were full, quiet, or out of time.
    pub full: u64,
    pub quiet: u64,
    pub window: u64,
    /// The target (0 until a batch was sent).
    pub target: usize,
}

/// Why a batch stopped collecting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closed {
    Full,
    Quiet,
    Window,
}

/// What a read learns from its batch.
enum Answer<V> {
    Found(V),
    /// Not in the batch's answer, the batch failed or was too small: ask alone.
    AskAlone,
}

type Waiter<K, V> = (K, oneshot::Sender<Answer<V>>);

/// The batch now collecting.
struct Open<K, V> {
    id: u64,
    waiting: Vec<Waiter<K, V>>,
    opened: Instant,
    full: Arc<Notify>,
}

struct State<K, V> {
    open: Option<Open<K, V>>,
    next_id: u64,
    /// Reads inside [`Coalescer::read`] now, and the most at once since the last reset.
    active: usize,
    peak: usize,
    /// Whether a batch was sent since the last reset (until then: no target).
    learned: bool,
    /// When a read last entered or left.
    last_change: Instant,
    stats: CoalesceStats,
}

impl<K, V> State<K, V> {
    /// The size that closes a batch at once.
    fn close_at(&self, max_batch: usize) -> usize {
        if self.learned { self.peak.clamp(1, max_batch) } else { max_batch }
    }
}

/// Coalesces concurrent reads by key `K` of values `V` (see the module documentation).
pub struct Coalescer<K, V> {
    what: &'static str,
    settings: CoalesceSettings,
    state: Mutex<State<K, V>>,
}

impl<K, V> std::fmt::Debug for Coalescer<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer").field("what", &self.what).field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// Counts a read in `active` while it lives.
struct Active<'a, K, V>(&'a Coalescer<K, V>);

impl<K, V> Drop for Active<'_, K, V> {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.active = st.active.saturating_sub(1);
        st.last_change = Instant::now();
    }
}

/// Closes the leader's batch. Dropped without [`CloseOnDrop::close`] (the leader was
/// cancelled), it closes the batch and drops its waiters' senders, so they ask alone
/// instead of waiting for an answer that will never come.
struct CloseOnDrop<'a, K, V> {
    owner: &'a Coalescer<K, V>,
    id: u64,
    closed: bool,
}

impl<K, V> CloseOnDrop<'_, K, V> {
    fn close(mut self) -> Vec<Waiter<K, V>> {
        self.closed = true;
        self.owner.take(self.id)
    }
}

impl<K, V> Drop for CloseOnDrop<'_, K, V> {
    fn drop(&mut self) {
        if !self.closed {
            drop(self.owner.take(self.id));
        }
    }
}

impl<K, V> Coalescer<K, V> {
    /// `what` names the reads in logs (e.g. "SCIM user reads").
    pub fn new(what: &'static str, settings: CoalesceSettings) -> Self {
        let settings = CoalesceSettings { max_batch: settings.max_batch.max(1), ..settings };
        Coalescer {
            what,
            settings,
            state: Mutex::new(State {
                open: None,
                next_id: 0,
                active: 0,
                peak: 0,
                learned: false,
                last_change: Instant::now(),
                stats: CoalesceStats::default(),
            }),
        }
    }

    pub fn settings(&self) -> &CoalesceSettings {
        &self.settings
    }

    /// The counters so far.
    pub fn stats(&self) -> CoalesceStats {
        let st = self.lock();
        CoalesceStats { target: if st.learned { st.close_at(self.settings.max_batch) } else { 0 }, ..st.stats }
    }

    fn lock(&self) -> MutexGuard<'_, State<K, V>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enter(&self) -> Active<'_, K, V> {
        let mut st = self.lock();
        let now = Instant::now();
        if st.active == 0 && now.duration_since(st.last_change) >= self.settings.idle_reset {
            st.learned = false;
            st.peak = 0;
        }
        st.active += 1;
        st.peak = st.peak.max(st.active);
        st.last_change = now;
        Active(self)
    }

    /// Takes the waiters of batch `id` if it is still the open one.
    fn take(&self, id: u64) -> Vec<Waiter<K, V>> {
        let mut st = self.lock();
        match st.open.take() {
            Some(open) if open.id == id => open.waiting,
            other => {
                st.open = other;
                Vec::new()
            }
        }
    }

    /// Joins the open batch, or opens one: then returns what its leader needs.
    fn join(&self, key: K, tx: oneshot::Sender<Answer<V>>) -> Option<(u64, Arc<Notify>)> {
        let mut st = self.lock();
        let close_at = st.close_at(self.settings.max_batch);
        if let Some(open) = st.open.as_mut() {
            open.waiting.push((key, tx));
            if open.waiting.len() >= close_at {
                open.full.notify_one();
            }
            return None;
        }
        let id = st.next_id;
        st.next_id += 1;
        let full = Arc::new(Notify::new());
        if close_at <= 1 {
            full.notify_one();
        }
        st.open = Some(Open { id, waiting: vec![(key, tx)], opened: Instant::now(), full: full.clone() });
        Some((id, full))
    }

    /// The leader's wait: until batch `id` is full, quiet or out of time.
    async fn collect(&self, id: u64, full: &Notify) -> Closed {
        loop {
            let wake = {
                let st = self.lock();
                let Some(open) = st.open.as_ref().filter(|o| o.id == id) else { return Closed::Full };
                let now = Instant::now();
                let deadline = open.opened + self.settings.max_window;
                if now >= deadline {
                    return Closed::Window;
                }
                let quiet = if st.learned { self.settings.quiet } else { self.settings.first_quiet };
                // Every read in progress waits here: only time can bring more.
                let settled = st.active <= open.waiting.len();
                let quiet_at = st.last_change + quiet;
                if settled && now >= quiet_at {
                    return Closed::Quiet;
                }
                // Not settled: reads elsewhere will finish (and free slots); look again soon.
                let wake = if settled { quiet_at } else { quiet_at.max(now + quiet / 2) };
                wake.min(deadline)
            };
            tokio::select! {
                _ = full.notified() => return Closed::Full,
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }
}

impl<K, V> Coalescer<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    /// Reads `key`: from a batch when other reads come along, else (and whenever the
    /// batch does not answer for it) with `single`. `batch` gets the batch's distinct keys
    /// and answers what it found; only the leader's `batch` is called. An error from
    /// `batch` is logged and makes every read of the batch ask alone.
    pub async fn read<B, BF, S, SF, E>(&self, key: K, batch: B, single: S) -> Result<Option<V>, E>
    where
        B: FnOnce(Vec<K>) -> BF,
        BF: Future<Output = Result<HashMap<K, V>, E>>,
        S: FnOnce() -> SF,
        SF: Future<Output = Result<Option<V>, E>>,
        E: Display,
    {
        if !self.settings.enabled {
            self.lock().stats.alone += 1;
            return single().await;
        }
        let _active = self.enter();
        let (tx, rx) = oneshot::channel();
        if let Some((id, full)) = self.join(key, tx) {
            let guard = CloseOnDrop { owner: self, id, closed: false };
            let closed = self.collect(id, &full).await;
            let waiting = guard.close();
            self.send(waiting, closed, batch).await;
        }
        match rx.await {
            Ok(Answer::Found(v)) => Ok(Some(v)),
            // Missing from the batch, the batch failed, or its leader was cancelled.
            Ok(Answer::AskAlone) | Err(_) => {
                self.lock().stats.alone += 1;
                single().await
            }
        }
    }

    /// Sends a closed batch and answers every waiter (the leader's own read included).
    /// Cancelled while the request is out, it drops the senders: the waiters ask alone.
    async fn send<B, BF, E>(&self, waiting: Vec<Waiter<K, V>>, closed: Closed, batch: B)
    where
        B: FnOnce(Vec<K>) -> BF,
        BF: Future<Output = Result<HashMap<K, V>, E>>,
        E: Display,
    {
        {
            let mut st = self.lock();
            st.learned = true;
            match closed {
                Closed::Full => st.stats.full += 1,
                Closed::Quiet => st.stats.quiet += 1,
                Closed::Window => st.stats.window += 1,
            }
        }
        let mut seen = HashSet::new();
        let keys: Vec<K> = waiting.iter().filter(|(k, _)| seen.insert(k.clone())).map(|(k, _)| k.clone()).collect();
        let found = if keys.len() >= self.settings.min_batch {
            self.lock().stats.batches += 1;
            let asked = keys.len();
            match batch(keys).await {
                Ok(found) => {
                    tracing::debug!(what = self.what, asked, found = found.len(), closed = ?closed, "coalesced reads");
                    found
                }
                Err(e) => {
                    tracing::debug!(what = self.what, asked, error = %e, "coalesced read failed; reading one by one");
                    HashMap::new()
                }
            }
        } else {
            HashMap::new()
        };
        let mut answered = 0;
        for (key, tx) in waiting {
            let answer = match found.get(&key) {
                Some(v) => {
                    answered += 1;
                    Answer::Found(v.clone())
                }
                None => Answer::AskAlone,
            };
            let _ = tx.send(answer);
        }
        self.lock().stats.found += answered;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::future::join_all;

    use super::*;

    /// A fake vendor: values for `known` keys, counting batch and single reads.
    #[derive(Default)]
    struct Fake {
        known: Vec<&'static str>,
        fail_batches: bool,
        /// How long a batch request takes.
        delay: Mutex<Duration>,
        batches: AtomicUsize,
        batch_keys: Mutex<Vec<Vec<String>>>,
        singles: AtomicUsize,
    }

    impl Fake {
        fn new(known: &[&'static str]) -> Arc<Fake> {
            Arc::new(Fake { known: known.to_vec(), ..Default::default() })
        }
        async fn batch(&self, keys: Vec<String>) -> Result<HashMap<String, String>, String> {
            self.batches.fetch_add(1, Ordering::SeqCst);
            self.batch_keys.lock().unwrap().push(keys.clone());
            let delay = *self.delay.lock().unwrap();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if self.fail_batches {
                return Err("filters not supported".into());
            }
            Ok(keys.into_iter().filter(|k| self.known.contains(&k.as_str())).map(|k| (k.clone(), format!("value of {k}"))).collect())
        }
        async fn single(&self, key: &str) -> Result<Option<String>, String> {
            self.singles.fetch_add(1, Ordering::SeqCst);
            Ok(self.known.contains(&key).then(|| format!("value of {key}")))
        }
        fn batches(&self) -> usize {
            self.batches.load(Ordering::SeqCst)
        }
        fn singles(&self) -> usize {
            self.singles.load(Ordering::SeqCst)
        }
    }

    async fn read(c: &Coalescer<String, String>, f: &Fake, key: &str) -> Option<String> {
        c.read(key.to_string(), |keys| f.batch(keys), || f.single(key)).await.expect("read")
    }

    fn coalescer(settings: CoalesceSettings) -> Arc<Coalescer<String, String>> {
        Arc::new(Coalescer::new("test reads", settings))
    }

    const TEN: [&str; 10] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];

    #[tokio::test]
    async fn concurrent_reads_share_one_batch_and_a_missing_key_is_read_alone() {
        let f = Fake::new(&TEN[..9]);
        let c = coalescer(CoalesceSettings::default());
        let got = join_all(TEN.iter().map(|k| read(&c, &f, k))).await;
        assert_eq!(f.batches(), 1, "one batch for ten reads");
        assert_eq!(f.batch_keys.lock().unwrap()[0].len(), 10);
        assert_eq!(f.singles(), 1, "only the key missing from the batch is read alone");
        for (k, g) in TEN.iter().zip(&got) {
            if *k == "j" {
                assert_eq!(g, &None, "missing from the batch and from the single read: gone");
            } else {
                assert_eq!(g.as_deref(), Some(format!("value of {k}").as_str()));
            }
        }
        let s = c.stats();
        assert_eq!((s.batches, s.found, s.alone), (1, 9, 1));
        assert_eq!(s.target, 10, "the first batch teaches the concurrency");
    }

    #[tokio::test]
    async fn a_failed_batch_falls_back_to_single_reads() {
        let f = Arc::new(Fake { known: TEN.to_vec(), fail_batches: true, ..Default::default() });
        let c = coalescer(CoalesceSettings::default());
        let got = join_all(TEN.iter().map(|k| read(&c, &f, k))).await;
        assert!(got.iter().all(Option::is_some));
        assert_eq!((f.batches(), f.singles()), (1, 10));
    }

    #[tokio::test]
    async fn duplicate_keys_are_asked_once_and_all_answered() {
        let f = Fake::new(&TEN);
        let c = coalescer(CoalesceSettings::default());
        let got = join_all(["a", "b", "a", "a"].iter().map(|k| read(&c, &f, k))).await;
        assert_eq!(f.batch_keys.lock().unwrap()[0], vec!["a".to_string(), "b".to_string()]);
        assert_eq!(got.iter().filter(|g| g.as_deref() == Some("value of a")).count(), 3);
        assert_eq!(f.singles(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_read_is_not_batched_and_hardly_waits() {
        let f = Fake::new(&TEN);
        let c = coalescer(CoalesceSettings::default());
        assert!(read(&c, &f, "a").await.is_some());
        assert_eq!((f.batches(), f.singles()), (0, 1), "a batch of one is a plain read");
        assert_eq!(c.stats().target, 1);
        // Learned: the next lone read is sent at once, without waiting to be quiet.
        let c = coalescer(CoalesceSettings { quiet: Duration::from_secs(60), max_window: Duration::from_secs(60), ..Default::default() });
        read(&c, &f, "a").await;
        let started = Instant::now();
        read(&c, &f, "b").await;
        assert_eq!(started.elapsed(), Duration::ZERO, "a target of 1 does not wait");
        assert_eq!(c.stats().full, 1);
    }

    /// Waits (at most 10 s) until `done`.
    async fn until(done: impl Fn() -> bool) {
        let give_up = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < give_up, "gave up waiting");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Reads started one after another, `gap` apart, as Terraform's walker does.
    async fn staggered(c: &Arc<Coalescer<String, String>>, f: &Arc<Fake>, keys: &[&'static str], gap: Duration) -> Vec<Option<String>> {
        let mut tasks = Vec::new();
        for &k in keys {
            let (c, f) = (c.clone(), f.clone());
            tasks.push(tokio::spawn(async move { read(&c, &f, k).await }));
            tokio::time::sleep(gap).await;
        }
        join_all(tasks).await.into_iter().map(|r| r.expect("task")).collect()
    }

    /// Never quiet, never out of time: only a full batch is sent.
    fn patient() -> CoalesceSettings {
        CoalesceSettings { quiet: Duration::from_secs(60), max_window: Duration::from_secs(60), ..Default::default() }
    }

    #[tokio::test]
    async fn a_batch_is_sent_when_it_holds_as_many_reads_as_ever_ran_at_once() {
        let f = Fake::new(&TEN);
        let c = coalescer(patient());
        join_all(TEN.iter().map(|k| read(&c, &f, k))).await;
        assert_eq!(c.stats().target, 10, "the first batch teaches the concurrency");
        // Spread out, 2 ms apart: never quiet, so the batch goes when the tenth arrives.
        let got = staggered(&c, &f, &TEN, Duration::from_millis(2)).await;
        assert!(got.iter().all(Option::is_some));
        assert_eq!(f.batches(), 2, "the ten spread-out reads went as one batch");
        let s = c.stats();
        assert_eq!((s.full, s.quiet, s.window), (1, 1, 0), "the first batch closed quiet, the second full");
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_that_cannot_fill_is_sent_when_quiet_and_keeps_the_target() {
        let f = Fake::new(&TEN);
        let c = coalescer(CoalesceSettings { quiet: Duration::from_millis(30), max_window: Duration::from_secs(60), ..Default::default() });
        join_all(TEN.iter().map(|k| read(&c, &f, k))).await;
        // Only four come (other resource kinds hold Terraform's other slots).
        let started = Instant::now();
        join_all(TEN[..4].iter().map(|k| read(&c, &f, k))).await;
        // On the paused clock: sent after the 30 ms quiet time, not at the 60 s window.
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(30) && waited < Duration::from_secs(1), "sent when quiet, not at the window: {waited:?}");
        let s = c.stats();
        assert_eq!((s.batches, s.quiet, s.window, s.target), (2, 2, 0, 10), "{s:?}");
        // More reads at once than ever raise the target.
        let keys: Vec<String> = (0..12).map(|i| format!("k{i}")).collect();
        join_all(keys.iter().map(|k| read(&c, &f, k))).await;
        assert_eq!(c.stats().target, 12);
    }

    #[tokio::test]
    async fn a_batch_is_not_quiet_while_another_is_in_flight() {
        let f = Arc::new(Fake { known: TEN.to_vec(), ..Default::default() });
        let c = coalescer(CoalesceSettings { quiet: Duration::from_millis(10), max_window: Duration::from_secs(60), ..Default::default() });
        join_all(TEN.iter().map(|k| read(&c, &f, k))).await; // target 10
        // Batch A: five reads whose request takes a while.
        *f.delay.lock().unwrap() = Duration::from_millis(1500);
        let first = {
            let (c, f) = (c.clone(), f.clone());
            tokio::spawn(async move { join_all(TEN[..5].iter().map(|k| read(&c, &f, k))).await })
        };
        until(|| f.batches() == 2).await; // A went quiet and was sent
        // Batch B: five more while A is out. A's answer frees slots for new reads, so B
        // waits for it instead of going quiet.
        let second = {
            let (c, f) = (c.clone(), f.clone());
            tokio::spawn(async move { join_all(TEN[5..].iter().map(|k| read(&c, &f, k))).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(f.batches(), 2, "B is still collecting while A is in flight");
        *f.delay.lock().unwrap() = Duration::ZERO;
        assert!(first.await.expect("A").iter().all(Option::is_some));
        assert!(second.await.expect("B").iter().all(Option::is_some));
        assert_eq!(f.batches(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn what_was_learned_is_forgotten_after_a_pause() {
        let f = Fake::new(&TEN);
        let c = coalescer(CoalesceSettings { first_quiet: Duration::from_millis(1), idle_reset: Duration::from_millis(50), ..patient() });
        join_all(TEN.iter().map(|k| read(&c, &f, k))).await;
        assert_eq!(c.stats().target, 10);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        read(&c, &f, "a").await;
        assert!(started.elapsed() < Duration::from_secs(1), "after a pause the short first wait applies again: {:?}", started.elapsed());
        assert_eq!(c.stats().target, 1);
    }

    #[tokio::test]
    async fn a_cancelled_leader_does_not_leave_its_batch_waiting() {
        let f = Fake::new(&TEN);
        // The leader would wait a minute for company.
        let c = coalescer(CoalesceSettings {
            first_quiet: Duration::from_secs(60),
            max_window: Duration::from_secs(120),
            ..Default::default()
        });
        let leader = {
            let (c, f) = (c.clone(), f.clone());
            tokio::spawn(async move { read(&c, &f, "a").await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiters: Vec<_> = TEN[1..4]
            .iter()
            .map(|k| {
                let (c, f) = (c.clone(), f.clone());
                tokio::spawn(async move { read(&c, &f, k).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        leader.abort();
        let got = tokio::time::timeout(Duration::from_secs(10), join_all(waiters)).await.expect("the waiters finished");
        assert!(got.into_iter().all(|r| r.expect("task").is_some()));
        assert_eq!((f.batches(), f.singles()), (0, 3), "the waiters read alone");
        assert!(c.lock().open.is_none(), "the batch was closed: the next read opens a new one");
    }

    #[tokio::test]
    async fn a_leader_cancelled_during_its_request_releases_the_waiters() {
        let singles = Arc::new(AtomicUsize::new(0));
        let c = coalescer(CoalesceSettings {
            first_quiet: Duration::from_millis(200),
            max_window: Duration::from_secs(1),
            ..Default::default()
        });
        let spawn = |k: &'static str| {
            let (c, singles) = (c.clone(), singles.clone());
            tokio::spawn(async move {
                c.read(
                    k.to_string(),
                    // The batch request never answers.
                    |_| std::future::pending::<Result<HashMap<String, String>, String>>(),
                    || async move {
                        singles.fetch_add(1, Ordering::SeqCst);
                        Ok(Some(k.to_string()))
                    },
                )
                .await
            })
        };
        let leader = spawn("a");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let waiters = vec![spawn("b"), spawn("c")];
        // The batch goes quiet; its request is out and hangs.
        until(|| c.stats().batches == 1).await;
        assert!(!leader.is_finished() && waiters.iter().all(|w| !w.is_finished()));
        leader.abort();
        let got = tokio::time::timeout(Duration::from_secs(10), join_all(waiters)).await.expect("the waiters finished");
        assert!(got.into_iter().all(|r| matches!(r, Ok(Ok(Some(_))))));
        assert_eq!(singles.load(Ordering::SeqCst), 2, "the waiters read alone");
    }
}
