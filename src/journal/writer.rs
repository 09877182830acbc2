//! The journal's one writer for a run: a dedicated thread that owns a [`Journal`] and
//! does every write the engine asks for, so no journal call (each ends in an fsync)
//! ever blocks the async executor, and no two callers share a connection behind a
//! lock of their own.
//!
//! Group commit: the thread takes every request waiting in its queue at once. The
//! batches' write-ahead records and answers among them are written in one transaction
//! ([`Journal::write_group`]: one commit and one fsync for all of them, each in its
//! own savepoint). Nobody hears of a write before its transaction is committed: a
//! request whose batch is being begun leaves only once the batch is durably in flight,
//! which keeps the write-ahead order, and an answer is reported to a face only once it
//! is in the file. Other calls ([`JournalWriter::call`]) run alone, in queue order.
//!
//! The thread keeps clocks of its own time (wall, CPU, waiting for a CPU, commits) for
//! the benchmark's split of what a batch costs the journal.

use super::batches::{Applied, GroupOp, GroupResult};
use super::checkpoints::CheckpointClocks;
use super::model::{AttemptRecord, BatchId, ItemId, ItemOutcome, RunId};
use super::{Journal, JournalError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Most writes committed together; a bound on how long the first of them waits.
const MAX_GROUP: usize = 64;

type Call = Box<dyn FnOnce(&Journal) + Send>;

enum Request {
    Write {
        op: GroupOp,
        reply: oneshot::Sender<GroupResult>,
    },
    Call(Call),
}

/// A handle on the writer thread. Cheap to clone; the thread ends once every handle is
/// dropped and its queue is done.
#[derive(Clone)]
pub struct JournalWriter {
    queue: Sender<Request>,
    clocks: Arc<Clocks>,
    path: PathBuf,
}

/// The thread's time spent serving requests: wall time (waiting for the disk and for
/// a CPU included) and its own CPU time; and how many commits its writes took.
#[derive(Default)]
struct Clocks {
    busy_ns: AtomicU64,
    cpu_ns: AtomicU64,
    /// Of `cpu_ns`, what [`JournalWriter::call`]s took (reads, run state changes).
    call_cpu_ns: AtomicU64,
    commits: AtomicU64,
    /// Of `busy_ns`, the time of those commits (WAL frames written and fsync'd).
    commit_ns: AtomicU64,
    /// Of `busy_ns`, the time spent ready to run but waiting for a CPU (taken by other
    /// threads and processes), where the system reports it.
    cpu_wait_ns: AtomicU64,
    /// Whether the system reported the wait at least once (`cpu_wait_ns` is then real,
    /// not a default zero).
    cpu_wait_known: AtomicBool,
    /// The checkpoint thread's, apart from the writer's.
    checkpoints: Arc<CheckpointClocks>,
}

/// This thread's CPU time so far (0 where the clock cannot be read).
pub(super) fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes into it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// This thread's time spent waiting for a CPU while ready to run, as Linux's
/// scheduler statistics report it (`/proc/thread-self/schedstat`: time on a CPU, time
/// waiting on a run queue, time slices). The file is opened once and read at an offset,
/// one system call per reading.
struct CpuWaitClock {
    file: Option<std::fs::File>,
}

impl CpuWaitClock {
    /// For the calling thread: `thread-self` is resolved when the file is opened, so
    /// the file keeps naming the thread that opened it; open it on the thread to be
    /// measured.
    fn open() -> CpuWaitClock {
        CpuWaitClock {
            file: std::fs::File::open("/proc/thread-self/schedstat").ok(),
        }
    }

    /// Nanoseconds waited so far; `None` where the statistics are not kept.
    fn now(&self) -> Option<u64> {
        use std::os::unix::fs::FileExt;
        let file = self.file.as_ref()?;
        let mut buf = [0u8; 96];
        let n = file.read_at(&mut buf, 0).ok()?;
        parse_run_delay(buf.get(..n)?)
    }
}

/// The second field of a schedstat line ("on-CPU ns, run-queue wait ns, slices").
/// `None` when all three are 0: older kernels print that when they keep no such
/// statistics, while a thread reading its own has been on a CPU at least once (its
/// on-CPU time alone can still read 0 before the first scheduler tick).
fn parse_run_delay(line: &[u8]) -> Option<u64> {
    // Read twice per served request: no allocation.
    let mut fields = std::str::from_utf8(line).ok()?.split_ascii_whitespace();
    let mut next = || fields.next()?.parse::<u64>().ok();
    match (next()?, next()?, next()?) {
        (0, 0, 0) => None,
        (_, waited, _) => Some(waited),
    }
}

impl std::fmt::Debug for JournalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalWriter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl JournalWriter {
    /// Starts the writer thread, which owns `journal` from now on.
    pub fn start(journal: Journal) -> Result<JournalWriter, JournalError> {
        let (queue, requests) = channel();
        let clocks = Arc::new(Clocks::default());
        let path = journal.path().to_path_buf();
        let served = clocks.clone();
        // Not fatal: SQLite then checkpoints inside the writer's commits, as it does
        // for every other connection.
        let aside = journal
            .checkpoints_aside(clocks.checkpoints.clone())
            .inspect_err(|e| tracing::warn!(error = %e, "journal checkpoints stay in the writer"))
            .ok();
        std::thread::Builder::new()
            .name("paypro-journal".to_string())
            .spawn(move || {
                serve(&journal, &requests, &served);
                drop(aside);
            })
            .map_err(|source| JournalError::Io {
                path: path.clone(),
                context: "starting the journal's writer thread",
                source,
            })?;
        Ok(JournalWriter {
            queue,
            clocks,
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Time the thread has spent writing and reading so far, commits and waits for a
    /// CPU included (the benchmark's "journal per batch").
    pub fn busy(&self) -> Duration {
        Duration::from_nanos(self.clocks.busy_ns.load(Ordering::Relaxed))
    }

    /// The CPU time of that work (what it costs on an idle machine, fsyncs aside).
    pub fn cpu(&self) -> Duration {
        Duration::from_nanos(self.clocks.cpu_ns.load(Ordering::Relaxed))
    }

    /// Of [`JournalWriter::cpu`], the CPU time of [`JournalWriter::call`]s (the
    /// engine's reads of pending items among them); the rest is batch records.
    pub fn call_cpu(&self) -> Duration {
        Duration::from_nanos(self.clocks.call_cpu_ns.load(Ordering::Relaxed))
    }

    /// Of [`JournalWriter::busy`], the wall time of the commits of batch records (the
    /// WAL frames written and fsync'd): the disk's part.
    pub fn commit_wait(&self) -> Duration {
        Duration::from_nanos(self.clocks.commit_ns.load(Ordering::Relaxed))
    }

    /// Of [`JournalWriter::busy`], the time the thread was ready to run but waited for a
    /// CPU that other threads or processes had (on a machine with as many busy threads
    /// as cores, a large part of the wall time). `None` where the system does not report
    /// it.
    pub fn cpu_wait(&self) -> Option<Duration> {
        self.clocks
            .cpu_wait_known
            .load(Ordering::Relaxed)
            .then(|| Duration::from_nanos(self.clocks.cpu_wait_ns.load(Ordering::Relaxed)))
    }

    /// Commits of batch writes so far (one fsync each): one per group of writes, or
    /// one per write of a group that fell back to a transaction each. With
    /// [`JournalWriter::busy`], how well group commit shares the disk's syncs.
    pub fn commits(&self) -> u64 {
        self.clocks.commits.load(Ordering::Relaxed)
    }

    /// What checkpoints cost on their own thread, beside the writer's time: wall time,
    /// CPU time, how many, how many the writer made itself (to finish a copy the thread
    /// nearly made, and the backstop), and the most pages the WAL held after a commit.
    pub fn checkpoint_figures(&self) -> CheckpointFigures {
        let c = &self.clocks.checkpoints;
        CheckpointFigures {
            wall: Duration::from_nanos(c.wall_ns.load(Ordering::Relaxed)),
            cpu: Duration::from_nanos(c.cpu_ns.load(Ordering::Relaxed)),
            count: c.count.load(Ordering::Relaxed),
            backstops: c.backstops.load(Ordering::Relaxed),
            finishes: c.finishes.load(Ordering::Relaxed),
            most_wal_pages: c.most_pages.load(Ordering::Relaxed),
        }
    }

    /// [`Journal::begin_batch`], answered once the batch is durably in flight.
    pub async fn begin_batch(
        &self,
        run: RunId,
        endpoint: &str,
        items: Vec<ItemId>,
    ) -> Result<BatchId, JournalError> {
        let op = GroupOp::Begin {
            run,
            endpoint: endpoint.to_string(),
            items,
        };
        match self.write(op).await? {
            GroupResult::Begun(result) => result,
            GroupResult::Finished(_) => Err(mixed_up()),
        }
    }

    /// [`Journal::finish_batch`], answered once the answer is in the file.
    pub async fn finish_batch(
        &self,
        batch: BatchId,
        record: AttemptRecord,
        outcomes: Vec<(ItemId, ItemOutcome)>,
    ) -> Result<Vec<Applied>, JournalError> {
        let op = GroupOp::Finish {
            batch,
            record,
            outcomes,
        };
        match self.write(op).await? {
            GroupResult::Finished(result) => result,
            GroupResult::Begun(_) => Err(mixed_up()),
        }
    }

    async fn write(&self, op: GroupOp) -> Result<GroupResult, JournalError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Request::Write { op, reply })
            .map_err(|_| JournalError::WriterGone)?;
        answer.await.map_err(|_| JournalError::WriterGone)
    }

    /// Runs `f` on the writer thread, after every request queued before it.
    pub async fn call<T, F>(&self, f: F) -> Result<T, JournalError>
    where
        T: Send + 'static,
        F: FnOnce(&Journal) -> T + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let call: Call = Box::new(move |journal| {
            // The caller may have gone away; the work is done either way.
            let _ = reply.send(f(journal));
        });
        self.queue
            .send(Request::Call(call))
            .map_err(|_| JournalError::WriterGone)?;
        answer.await.map_err(|_| JournalError::WriterGone)
    }
}

/// See [`JournalWriter::checkpoint_figures`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckpointFigures {
    pub wall: Duration,
    pub cpu: Duration,
    pub count: u64,
    pub backstops: u64,
    /// Checkpoints the writer made to copy the few pages the thread's last one left.
    pub finishes: u64,
    pub most_wal_pages: u64,
}

fn mixed_up() -> JournalError {
    JournalError::Corrupt {
        detail: "the journal's writer answered a request with another's result".to_string(),
    }
}

/// The thread: takes what is queued, writes it, answers, until every handle is gone.
fn serve(journal: &Journal, requests: &Receiver<Request>, clocks: &Clocks) {
    let mut pending: std::collections::VecDeque<Request> = std::collections::VecDeque::new();
    let wait_clock = CpuWaitClock::open();
    loop {
        if pending.is_empty() {
            match requests.recv() {
                Ok(request) => pending.push_back(request),
                Err(_) => return,
            }
        }
        while pending.len() < MAX_GROUP {
            match requests.try_recv() {
                Ok(request) => pending.push_back(request),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let cpu_started = thread_cpu_ns();
        let wait_started = wait_clock.now();
        let mut was_call = false;
        match pending.pop_front() {
            Some(Request::Call(call)) => {
                was_call = true;
                call(journal);
            }
            Some(Request::Write { op, reply }) => {
                // Writes queued right behind it join it; a call ends the group, so
                // every request is served in queue order.
                let mut ops = vec![op];
                let mut replies = vec![reply];
                while let Some(Request::Write { .. }) = pending.front() {
                    if let Some(Request::Write { op, reply }) = pending.pop_front() {
                        ops.push(op);
                        replies.push(reply);
                    }
                }
                let (results, commits) = journal.write_group_timed(&ops);
                clocks.commits.fetch_add(commits.count, Ordering::Relaxed);
                let ns = u64::try_from(commits.time.as_nanos()).unwrap_or(u64::MAX);
                clocks.commit_ns.fetch_add(ns, Ordering::Relaxed);
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            None => {}
        }
        // Read in the reverse order of the start, so that the CPU and the wait windows
        // lie inside the wall one (a preemption between two readings can last
        // milliseconds on a busy machine).
        let wait_ended = wait_clock.now();
        let cpu = thread_cpu_ns().saturating_sub(cpu_started);
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        clocks.busy_ns.fetch_add(ns, Ordering::Relaxed);
        clocks.cpu_ns.fetch_add(cpu, Ordering::Relaxed);
        if was_call {
            clocks.call_cpu_ns.fetch_add(cpu, Ordering::Relaxed);
        }
        if let (Some(from), Some(to)) = (wait_started, wait_ended) {
            clocks
                .cpu_wait_ns
                .fetch_add(to.saturating_sub(from), Ordering::Relaxed);
            clocks.cpu_wait_known.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_for_a_cpu_is_the_second_schedstat_field() {
        assert_eq!(parse_run_delay(b"1083677 2500 17\n"), Some(2500));
        assert_eq!(parse_run_delay(b"1083677 0 1"), Some(0));
        assert_eq!(parse_run_delay(b"1083677\n"), None);
        assert_eq!(parse_run_delay(b"a b c"), None);
        assert_eq!(parse_run_delay(b""), None);
    }

    #[test]
    fn no_statistics_are_no_wait() {
        assert_eq!(parse_run_delay(b"0 0 0\n"), None);
        assert_eq!(parse_run_delay(b"0 0 1\n"), Some(0));
    }

    /// The clock names the thread that opened it, not the one that reads it: opened on
    /// a thread that has ended, it reads nothing, where a clock resolved at each
    /// reading would read this thread's figures.
    #[test]
    fn the_wait_clock_reads_the_thread_that_opened_it() {
        if !std::path::Path::new("/proc/thread-self/schedstat").exists() {
            assert_eq!(CpuWaitClock::open().now(), None);
            return;
        }
        assert!(CpuWaitClock::open().now().is_some());
        // SAFETY: gettid takes no arguments and only returns the caller's id.
        let (ended, tid) = std::thread::spawn(|| (CpuWaitClock::open(), unsafe { libc::gettid() }))
            .join()
            .unwrap();
        // A joined thread lingers in /proc until the kernel has reaped it.
        let task = std::path::PathBuf::from(format!("/proc/self/task/{tid}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while task.exists() {
            assert!(
                Instant::now() < deadline,
                "{} never went away",
                task.display()
            );
            std::thread::yield_now();
        }
        assert_eq!(ended.now(), None);
    }
}
