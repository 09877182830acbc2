//! Checkpoints of a run's journal on a thread of their own, so the writer's commits
//! never wait for them.
//!
//! In WAL mode a commit appends to the `-wal` file; a checkpoint copies those pages
//! back into the main file and fsyncs it. SQLite does it by itself every 1,000 pages,
//! inside the commit that crossed the mark, so one answer in ~30 waited for ~600 pages
//! to be copied and synced (measured: a tenth of the writer's CPU, more of its wall
//! time). While the writer thread runs ([`super::writer`]), its connection only tells
//! this thread that the WAL has grown; the thread checkpoints on a connection of its
//! own (`PASSIVE`: it never blocks the writer, and SQLite lets it run beside commits).
//!
//! Durability is unchanged: a checkpoint only copies what is already durable in the
//! WAL, and SQLite syncs the main file before it marks the pages as copied.
//!
//! The WAL starts over from its beginning only when a transaction begins with every
//! page copied. The thread copies beside the commits, so under writes that leave no
//! gap it rarely finds the WAL fully copied: once its checkpoint is done, the writer
//! copies the few pages written meanwhile itself (at most [`FINISH_PAGES`]), and its
//! next transaction starts the WAL over. Should even that not happen, the WAL grows to
//! [`BACKSTOP_PAGES`] (~16 MB), where the writer checkpoints itself inside its commit,
//! as SQLite does at 1,000 pages. A reader holding an old snapshot stops every
//! checkpoint, these and SQLite's alike. When the writer stops, SQLite's
//! own checkpoints take over again.

use super::writer::thread_cpu_ns;
use super::{Journal, JournalError};
use rusqlite::{Connection, OpenFlags};
use std::os::raw::c_int;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// WAL pages that ask for a checkpoint: SQLite's own default.
const CHECKPOINT_PAGES: c_int = 1000;

/// WAL pages at which the writer checkpoints itself (~16 MB): the checkpoint thread
/// has not managed to let the WAL start over.
const BACKSTOP_PAGES: c_int = 4000;

/// Pages the thread's last checkpoint left uncopied (written while it ran) that the
/// writer copies itself, so that the WAL is wholly copied when its next transaction
/// begins and starts over (~1 MB: a millisecond or two, once per ~1,000 pages).
const FINISH_PAGES: c_int = 256;

/// What the checkpoint thread did: for the benchmark, which reports it beside the
/// writer's own time.
#[derive(Default, Debug)]
pub(crate) struct CheckpointClocks {
    pub wall_ns: AtomicU64,
    pub cpu_ns: AtomicU64,
    /// Checkpoints of the thread that copied the whole WAL.
    pub count: AtomicU64,
    /// Checkpoints the writer made itself (the backstop) without an error.
    pub backstops: AtomicU64,
    /// The most pages the WAL held after a commit.
    pub most_pages: AtomicU64,
    /// The pages the WAL held after the last commit.
    pub pages_now: AtomicU64,
    /// How far into the WAL the thread's last complete checkpoint copied (0: none
    /// since the writer last finished one).
    pub copied_up_to: AtomicU64,
    /// Checkpoints the writer made to finish what the thread had nearly copied.
    pub finishes: AtomicU64,
}

/// Checkpoints handed to their thread; dropping it hands them back to SQLite and
/// waits for the thread to finish the checkpoint it may be in.
pub(crate) struct CheckpointsAside {
    journal: Journal,
    thread: Option<JoinHandle<()>>,
}

impl Journal {
    /// Hands this journal's checkpoints to a thread of their own (see the module doc).
    pub(crate) fn checkpoints_aside(
        &self,
        clocks: Arc<CheckpointClocks>,
    ) -> Result<CheckpointsAside, JournalError> {
        let path = self.path().to_path_buf();
        let io = |source: rusqlite::Error| JournalError::Sqlite {
            context: "opening the journal for checkpoints",
            source,
        };
        // The journal's own flags (a `file:` path means the same file), but never
        // creating one.
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(io)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(io)?;
        let (wake, woken) = sync_channel::<()>(1);
        let served = clocks.clone();
        let thread = std::thread::Builder::new()
            .name("paypro-checkpoint".to_string())
            .spawn(move || serve(&conn, &woken, &served))
            .map_err(|source| JournalError::Io {
                path: path.clone(),
                context: "starting the journal's checkpoint thread",
                source,
            })?;
        // On an error the hook's closure, and with it `wake`, is gone: the thread ends.
        self.hook_checkpoints(wake, clocks)?;
        Ok(CheckpointsAside {
            journal: self.clone(),
            thread: Some(thread),
        })
    }

    /// Replaces SQLite's automatic checkpoints on this connection by a hook that wakes
    /// the checkpoint thread at [`CHECKPOINT_PAGES`] and checkpoints itself at
    /// [`BACKSTOP_PAGES`]. On an error SQLite's own checkpoints are on again.
    fn hook_checkpoints(
        &self,
        wake: SyncSender<()>,
        clocks: Arc<CheckpointClocks>,
    ) -> Result<(), JournalError> {
        let mut conn = self.conn();
        let hooked = conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: c_int| {
            let now = u64::try_from(pages).unwrap_or(0);
            clocks.most_pages.fetch_max(now, Ordering::Relaxed);
            clocks.pages_now.store(now, Ordering::Relaxed);
            let copied = clocks.copied_up_to.load(Ordering::Relaxed);
            let nearly_copied = copied > 0
                && now.saturating_sub(copied) <= u64::try_from(FINISH_PAGES).unwrap_or(0);
            if pages >= CHECKPOINT_PAGES && nearly_copied {
                // What the thread left is small: copying it here lets the next
                // transaction start the WAL over (a thread alone rarely can, since
                // the writer appends while it copies).
                clocks.copied_up_to.store(0, Ordering::Relaxed);
                checkpoint_in_commit(wal, &clocks.finishes, "finishing");
            } else if pages >= BACKSTOP_PAGES {
                checkpoint_in_commit(wal, &clocks.backstops, "backstop");
            } else if pages >= CHECKPOINT_PAGES {
                match wake.try_send(()) {
                    Ok(()) | Err(TrySendError::Full(())) => {}
                    Err(TrySendError::Disconnected(())) => {
                        tracing::warn!("the journal's checkpoint thread is gone");
                    }
                }
            }
            Ok(())
        }));
        if let Err(source) = hooked {
            give_back(&mut conn);
            return Err(JournalError::Sqlite {
                context: "handing checkpoints to their thread",
                source,
            });
        }
        Ok(())
    }
}

/// The writer's own checkpoint, inside the hook of a commit that has happened: an
/// error must not be reported as the commit's failure (SQLite's own checkpoint ignores
/// it the same way). Busy: the thread is checkpointing right now. `done` counts the
/// ones that worked.
fn checkpoint_in_commit(wal: &mut rusqlite::hooks::Wal, done: &AtomicU64, what: &str) {
    match wal.checkpoint() {
        Ok(()) => {
            done.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) if is_busy(&e) => {
            tracing::debug!(what, "the writer's checkpoint: the thread has it");
        }
        Err(e) => tracing::warn!(error = %e, what, "the writer's checkpoint of the journal failed"),
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Removes the hook (dropping the thread's wake-up sender: SQLite's own automatic
/// checkpoints would replace the hook in SQLite but leave its closure alive in
/// rusqlite) and turns SQLite's automatic checkpoints on again. Returns whether the
/// hook is gone.
fn give_back(conn: &mut Connection) -> bool {
    let unhooked = conn
        .wal_hook(None::<fn(&mut rusqlite::hooks::Wal, c_int) -> rusqlite::Result<()>>)
        .is_ok();
    if let Err(e) = conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES) {
        tracing::warn!(error = %e, "could not give the journal's checkpoints back to SQLite");
    }
    unhooked
}

fn serve(conn: &Connection, woken: &Receiver<()>, clocks: &CheckpointClocks) {
    while woken.recv().is_ok() {
        checkpoint_once(conn, clocks);
    }
}

/// One checkpoint of the thread: copies what the WAL holds, and tells the writer how
/// far it got.
fn checkpoint_once(conn: &Connection, clocks: &CheckpointClocks) {
    let started = Instant::now();
    let cpu = thread_cpu_ns();
    // Busy (1 if it could not go on: the writer was checkpointing, or a reader holds
    // an older snapshot) and how many of the WAL's pages are copied.
    let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(2)?))
    });
    match result {
        Ok((0, copied)) => {
            clocks.count.fetch_add(1, Ordering::Relaxed);
            let copied = u64::try_from(copied).unwrap_or(0);
            clocks.copied_up_to.store(copied, Ordering::Relaxed);
        }
        Ok(_) => {}
        // The WAL keeps what was not copied; the next checkpoint copies it.
        Err(e) => tracing::warn!(error = %e, "a checkpoint of the journal failed"),
    }
    add(&clocks.wall_ns, started.elapsed());
    clocks
        .cpu_ns
        .fetch_add(thread_cpu_ns().saturating_sub(cpu), Ordering::Relaxed);
}

fn add(clock: &AtomicU64, d: Duration) {
    clock.fetch_add(
        u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
}

impl Drop for CheckpointsAside {
    fn drop(&mut self) {
        let unhooked = give_back(&mut self.journal.conn());
        // With the hook still there the thread would wait for ever: leave it then.
        if let (true, Some(thread)) = (unhooked, self.thread.take())
            && thread.join().is_err()
        {
            tracing::warn!("the journal's checkpoint thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Commits `n` transactions of one ~8 KB row each (two or three WAL pages).
    fn write(journal: &Journal, n: usize) {
        let conn = journal.conn();
        conn.execute_batch("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
            .unwrap();
        let mut insert = conn.prepare("INSERT INTO filler VALUES (?1)").unwrap();
        for i in 0..n {
            let row = vec![u8::try_from(i % 251).unwrap(); 8000];
            insert.execute([row]).unwrap();
        }
    }

    fn autocheckpoint(journal: &Journal) -> i64 {
        journal
            .conn()
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap()
    }

    /// Waits for `done` on the clocks (the thread's own record of its work), failing
    /// after a generous bound.
    fn wait_for(clocks: &CheckpointClocks, done: impl Fn(&CheckpointClocks) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(clocks) {
            assert!(Instant::now() < deadline, "gave up waiting: {clocks:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn checkpoints_run_on_their_thread_and_are_handed_back_to_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        assert_eq!(autocheckpoint(&journal), 1000);
        let clocks = Arc::new(CheckpointClocks::default());
        let aside = journal.checkpoints_aside(clocks.clone()).unwrap();
        // SQLite's own checkpoints are off while the thread has them.
        assert_eq!(autocheckpoint(&journal), 0);
        write(&journal, 600);
        wait_for(&clocks, |c| c.count.load(Ordering::Relaxed) >= 1);
        assert_eq!(clocks.backstops.load(Ordering::Relaxed), 0);
        let most = clocks.most_pages.load(Ordering::Relaxed);
        assert!(
            (u64::try_from(CHECKPOINT_PAGES).unwrap()..u64::try_from(BACKSTOP_PAGES).unwrap())
                .contains(&most),
            "the WAL held {most} pages"
        );
        drop(aside);
        assert_eq!(autocheckpoint(&journal), 1000);
        // What was written is all there.
        let rows: i64 = journal
            .conn()
            .query_row("SELECT COUNT(*) FROM filler", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 600);
    }

    #[test]
    fn a_wal_nobody_else_empties_is_checkpointed_by_the_writer_at_the_backstop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite3");
        let journal = Journal::open(&path).unwrap();
        let main_file = || std::fs::metadata(&path).unwrap().len();
        let before = main_file();
        // The hook without its thread: nothing answers the wake-ups.
        let (wake, _woken) = sync_channel(1);
        let clocks = Arc::new(CheckpointClocks::default());
        journal.hook_checkpoints(wake, clocks.clone()).unwrap();
        write(&journal, 2100);
        assert!(clocks.backstops.load(Ordering::Relaxed) >= 1, "{clocks:?}");
        // The pages went into the main file, and the WAL started over instead of
        // growing past the backstop.
        assert!(main_file() > before + 4_000_000, "{} bytes", main_file());
        let most = clocks.most_pages.load(Ordering::Relaxed);
        assert!(
            most < u64::try_from(BACKSTOP_PAGES).unwrap() + 10,
            "{most} pages"
        );
        assert!(give_back(&mut journal.conn()));
        assert_eq!(autocheckpoint(&journal), 1000);
    }

    #[test]
    fn the_writer_copies_what_the_threads_checkpoint_left_and_the_wal_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite3");
        let journal = Journal::open(&path).unwrap();
        // The hook, and the thread's work done here, one step at a time.
        let (wake, _woken) = sync_channel(1);
        let clocks = Arc::new(CheckpointClocks::default());
        journal.hook_checkpoints(wake, clocks.clone()).unwrap();
        write(&journal, 450);
        let pages = || clocks.pages_now.load(Ordering::Relaxed);
        let before = pages();
        assert!(
            before >= u64::try_from(CHECKPOINT_PAGES).unwrap(),
            "{before} pages"
        );
        // As when the writer appends while the thread copies: a reader's snapshot
        // keeps the checkpoint to the pages written before it.
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT COUNT(*) FROM filler", [], |r| r.get(0))
            .unwrap();
        write(&journal, 20);
        let thread_conn = Connection::open(&path).unwrap();
        checkpoint_once(&thread_conn, &clocks);
        reader.execute_batch("COMMIT").unwrap();
        assert_eq!(clocks.count.load(Ordering::Relaxed), 1);
        assert_eq!(clocks.copied_up_to.load(Ordering::Relaxed), before);
        assert!(pages() > before);
        // The next commit finds the WAL nearly copied and finishes the copy...
        write(&journal, 1);
        assert_eq!(clocks.finishes.load(Ordering::Relaxed), 1, "{clocks:?}");
        // ...so the one after starts the WAL over.
        write(&journal, 1);
        assert!(pages() < 10, "the WAL holds {} pages", pages());
        assert_eq!(clocks.backstops.load(Ordering::Relaxed), 0);
        assert!(give_back(&mut journal.conn()));
    }
}
