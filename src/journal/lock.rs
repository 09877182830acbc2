//! The run lock: which process drives a run. Two records of it:
//!
//! - an OS file lock (`flock`, through std's `File::try_lock`) on
//!   `<journal>.locks/run-N.lock`, held for as long as the drive lasts. The kernel
//!   releases it when its holder ends however it ends (`kill -9` included), so on this
//!   host "is the holder alive?" is answered by trying the lock, never by guessing from
//!   pids (which are reused, and differ between containers);
//! - the holder's pid, host, OS user and start time in the run's row, for the messages
//!   and for `runs`.
//!
//! A lock whose row names another host cannot be checked from here (the file lock is
//! not trusted across machines): it is respected until `paypro-console unlock RUN`
//! clears it ([`Journal::break_lock`]), which is recorded with who did it.

use super::error::{Context, JournalError};
use super::model::{LockHolder, RunId};
use super::{Journal, now_text, parse_time};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Who this process is, as recorded in a lock and in a run's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcessIdentity {
    pub pid: u32,
    pub host: String,
    /// The OS user running this program.
    pub user: String,
    pub start_ticks: Option<u64>,
}

impl ProcessIdentity {
    pub fn current() -> Self {
        let pid = std::process::id();
        ProcessIdentity {
            pid,
            host: hostname(),
            user: os_user(),
            start_ticks: proc_stat(pid).map(|s| s.start_ticks),
        }
    }

    /// `user@host`, as runs and their history show it.
    pub fn who(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }
}

/// This machine's host name, as locks and a run's history record it.
pub fn this_host() -> String {
    hostname()
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".to_string();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The name of the effective user (the password database first: `USER` can be set to
/// anything, and is unset under cron), else `USER`/`LOGNAME`, else `uid N`.
fn os_user() -> String {
    // SAFETY: geteuid never fails and touches no memory.
    let uid = unsafe { libc::geteuid() };
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 4096];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the sizes given; getpwuid_r writes the entry's
    // strings into `buf` and points `pwd`'s fields into it, and sets `result` to
    // `&mut pwd` on success or to null.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
        // SAFETY: on success pw_name points to a NUL-terminated string inside `buf`,
        // which is still alive here.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        let name = name.to_string_lossy().into_owned();
        if !name.is_empty() {
            return name;
        }
    }
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| format!("uid {uid}"))
}

struct ProcStat {
    start_ticks: u64,
}

/// Start time (field 22) from `/proc/<pid>/stat`.
fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_proc_stat(&text)
}

fn parse_proc_stat(text: &str) -> Option<ProcStat> {
    // Field 2 is the command in parentheses and may itself hold spaces and ')'.
    let after_comm = &text[text.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace();
    fields.next()?.chars().next()?;
    // After the state (field 3), field 22 is the 19th further field.
    let start_ticks = fields.nth(18)?.parse().ok()?;
    Some(ProcStat { start_ticks })
}

/// Whether a run's recorded lock holder still drives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// On this host, and its file lock is held: it is driving the run.
    Alive,
    /// On this host, and nobody holds its file lock: it has ended; its lock is taken
    /// over by the next drive.
    Gone,
    /// Recorded by another host: cannot be checked from here. Cleared only by
    /// `paypro-console unlock RUN`.
    OtherHost,
}

/// The directory of the run lock files of the journal at `journal`.
pub(crate) fn lock_dir(journal: &Path) -> PathBuf {
    let mut dir = journal.as_os_str().to_os_string();
    dir.push(".locks");
    PathBuf::from(dir)
}

pub(crate) fn lock_file(journal: &Path, run: RunId) -> PathBuf {
    lock_dir(journal).join(format!("run-{run}.lock"))
}

/// Tries taken for a file lock before it counts as held: a look from another
/// process ([`file_lock_held`]) holds it for a moment.
const LOCK_TRIES: u32 = 20;
const LOCK_PAUSE: Duration = Duration::from_millis(5);

/// A held OS lock on a run's lock file. Released (and the file removed) by
/// [`FileLock::release`], or by the kernel when the process ends.
#[derive(Debug)]
pub(crate) struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Takes the lock on `path` (creating it, and its directory with mode 0700), or
    /// `None` when another open file holds it (another process, or another drive in
    /// this one).
    fn acquire(path: &Path) -> Result<Option<FileLock>, JournalError> {
        let io = |context: &'static str| {
            let path = path.to_path_buf();
            move |source| JournalError::Io {
                path,
                context,
                source,
            }
        };
        if let Some(dir) = path.parent() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io("creating the run lock directory"))?;
        }
        let mut busy = 0;
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(io("opening the run lock file"))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    busy += 1;
                    if busy >= LOCK_TRIES {
                        return Ok(None);
                    }
                    std::thread::sleep(LOCK_PAUSE);
                    continue;
                }
                Err(TryLockError::Error(e)) => return Err(io("locking the run lock file")(e)),
            }
            // A releasing holder removes the file while it holds the lock: a lock
            // taken on a file that is no longer at `path` guards nothing; start again.
            let ours = file.metadata().map_err(io("reading the run lock file"))?;
            match std::fs::metadata(path) {
                Ok(now) if now.ino() == ours.ino() && now.dev() == ours.dev() => {
                    return Ok(Some(FileLock {
                        file,
                        path: path.to_path_buf(),
                    }));
                }
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("reading the run lock file")(e)),
            }
        }
    }

    /// Removes the file while still holding the lock (so nobody locks a file about to
    /// vanish), then unlocks.
    fn release(self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Whether some process on this host holds the run's file lock. A look that cannot
/// be made (permissions) counts as held: the safe side.
pub(crate) fn file_lock_held(journal: &Path, run: RunId) -> bool {
    let path = lock_file(journal, run);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
        Err(_) => return true,
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(_) => true,
    }
}

/// Whether the recorded holder of `run`'s lock still drives it.
pub(crate) fn liveness(
    holder: &LockHolder,
    me: &ProcessIdentity,
    journal: &Path,
    run: RunId,
) -> Liveness {
    if holder.host != me.host {
        Liveness::OtherHost
    } else if file_lock_held(journal, run) {
        Liveness::Alive
    } else {
        Liveness::Gone
    }
}

pub(crate) fn read_holder(
    tx: &Connection,
    run: RunId,
) -> Result<Option<Option<LockHolder>>, JournalError> {
    tx.prepare_cached(
        "SELECT lock_pid, lock_host, lock_start, lock_since, lock_user FROM runs WHERE id = ?1",
    )
    .and_then(|mut stmt| {
        stmt.query_row([run.0], |r| {
            let pid: Option<i64> = r.get(0)?;
            let Some(pid) = pid else { return Ok(None) };
            let start: Option<i64> = r.get(2)?;
            let since: Option<String> = r.get(3)?;
            Ok(Some(LockHolder {
                pid: u32::try_from(pid).unwrap_or(0),
                host: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                user: r.get::<_, Option<String>>(4)?,
                start_ticks: start.and_then(|s| u64::try_from(s).ok()),
                since: match since {
                    Some(s) => parse_time(&s)?,
                    None => chrono::DateTime::UNIX_EPOCH,
                },
            }))
        })
        .optional()
    })
    .ctx("reading the run's lock")
}

pub(crate) fn locked_error(run: RunId, holder: &LockHolder, other_host: bool) -> JournalError {
    JournalError::Locked {
        run,
        pid: holder.pid,
        host: holder.host.clone(),
        since: holder.since.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        other_host,
    }
}

impl LockHolder {
    fn is(&self, me: &ProcessIdentity) -> bool {
        self.pid == me.pid && self.host == me.host && self.start_ticks == me.start_ticks
    }
}

impl Journal {
    /// Whether the recorded holder of `run`'s lock still drives it.
    pub fn liveness(&self, run: RunId, holder: &LockHolder) -> Liveness {
        liveness(holder, &self.inner.me, self.path(), run)
    }

    /// `user@host` of this process, as the journal records it.
    pub fn who_am_i(&self) -> String {
        self.inner.me.who()
    }

    /// Takes the run's lock for this process: its OS file lock first (held by a live
    /// process on this host, including another drive of this one: refused), then the
    /// record in the run's row. A record left by a process of this host that has
    /// ended is taken over; one of another host is respected
    /// ([`JournalError::Locked`] with `other_host`: `unlock` clears it). Released when
    /// the [`RunLock`] is released or dropped, or by the kernel when the process ends.
    pub fn lock_run(&self, run: RunId) -> Result<RunLock, JournalError> {
        let me = &self.inner.me;
        let file = FileLock::acquire(&lock_file(self.path(), run))?;
        let token: i64 = rand::random::<i64>();
        let mut conn = self.conn();
        // IMMEDIATE: the check and the claim of the row happen under SQLite's write
        // lock, so two hosts cannot both see the run free and both claim it.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("locking the run")?;
        let holder = read_holder(&tx, run)?.ok_or_else(|| JournalError::NotFound {
            what: format!("run {run}"),
        })?;
        let Some(file) = file else {
            // Held on this host. The row may not name the holder yet (it is between
            // its file lock and its row): name this host then.
            let holder = holder.unwrap_or_else(|| LockHolder {
                pid: 0,
                host: me.host.clone(),
                user: None,
                start_ticks: None,
                since: chrono::Utc::now(),
            });
            return Err(locked_error(run, &holder, false));
        };
        if let Some(holder) = holder {
            if holder.host != me.host {
                drop(tx);
                file.release();
                return Err(locked_error(run, &holder, true));
            }
            tracing::warn!(
                run = run.0,
                pid = holder.pid,
                host = %holder.host,
                since = %holder.since,
                "taking over the lock of a run whose process has ended"
            );
        }
        tx.execute(
            "UPDATE runs SET lock_pid = ?2, lock_host = ?3, lock_start = ?4, lock_token = ?5,
                             lock_since = ?6, lock_user = ?7
             WHERE id = ?1",
            params![
                run.0,
                me.pid,
                me.host,
                me.start_ticks.and_then(|t| i64::try_from(t).ok()),
                token,
                now_text(),
                me.user
            ],
        )
        .ctx("locking the run")?;
        tx.commit().ctx("locking the run")?;
        drop(conn);
        Ok(RunLock {
            journal: self.clone(),
            run,
            token,
            file: Some(file),
            released: false,
        })
    }

    /// Clears a run's lock record, for an operator who knows its holder is gone but
    /// cannot be checked from here (another host). Refused while a process of this
    /// host holds the run's file lock. Recorded in the run's history (`unlocked`,
    /// with who did it and whose lock it was). Returns the former holder.
    pub fn break_lock(&self, run: RunId) -> Result<Option<LockHolder>, JournalError> {
        let me = &self.inner.me;
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("breaking the run's lock")?;
        let holder = read_holder(&tx, run)?.ok_or_else(|| JournalError::NotFound {
            what: format!("run {run}"),
        })?;
        if file_lock_held(self.path(), run) {
            let holder = holder.unwrap_or_else(|| LockHolder {
                pid: 0,
                host: me.host.clone(),
                user: None,
                start_ticks: None,
                since: chrono::Utc::now(),
            });
            return Err(locked_error(run, &holder, false));
        }
        let Some(h) = holder else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE runs SET lock_pid = NULL, lock_host = NULL, lock_start = NULL,
                             lock_token = NULL, lock_since = NULL, lock_user = NULL
             WHERE id = ?1",
            [run.0],
        )
        .ctx("breaking the run's lock")?;
        let detail = format!(
            "lock of process {} on host {} (since {}) cleared",
            h.pid,
            h.host,
            h.since.format("%Y-%m-%d %H:%M:%S UTC")
        );
        super::runs::insert_action(&tx, run, super::RunAction::Unlocked, me, Some(&detail))?;
        tx.commit().ctx("breaking the run's lock")?;
        tracing::warn!(run = run.0, pid = h.pid, host = %h.host, "run lock broken by request");
        Ok(Some(h))
    }

    /// Fails unless this process holds the run's lock: a live other holder gives
    /// [`JournalError::Locked`], no holder (or a dead one) [`JournalError::NotLocked`].
    pub(crate) fn require_lock(&self, tx: &Connection, run: RunId) -> Result<(), JournalError> {
        let me = &self.inner.me;
        match read_holder(tx, run)? {
            None => Err(JournalError::NotFound {
                what: format!("run {run}"),
            }),
            Some(Some(holder)) if holder.is(me) => Ok(()),
            Some(Some(holder)) => match liveness(&holder, me, self.path(), run) {
                Liveness::Alive => Err(locked_error(run, &holder, false)),
                Liveness::OtherHost => Err(locked_error(run, &holder, true)),
                Liveness::Gone => Err(JournalError::NotLocked { run }),
            },
            Some(None) => Err(JournalError::NotLocked { run }),
        }
    }
}

/// Proof that this process drives a run. Dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    journal: Journal,
    run: RunId,
    token: i64,
    file: Option<FileLock>,
    released: bool,
}

impl RunLock {
    pub fn run(&self) -> RunId {
        self.run
    }

    /// Releases the lock, reporting a failure to write that (drop only logs it).
    pub fn release(mut self) -> Result<(), JournalError> {
        self.released = true;
        self.release_inner()
    }

    fn release_inner(&mut self) -> Result<(), JournalError> {
        let cleared = {
            let conn = self.journal.conn();
            // Only our own record: it may have been broken and taken by someone else
            // since.
            conn.execute(
                "UPDATE runs SET lock_pid = NULL, lock_host = NULL, lock_start = NULL,
                                 lock_token = NULL, lock_since = NULL, lock_user = NULL
                 WHERE id = ?1 AND lock_token = ?2",
                params![self.run.0, self.token],
            )
            .ctx("releasing the run's lock")
        };
        // The file lock goes last: until the row is cleared, nobody may take over.
        if let Some(file) = self.file.take() {
            file.release();
        }
        cleared.map(|_| ())
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Err(e) = self.release_inner() {
            tracing::error!(run = self.run.0, error = %e, "could not release the run's lock");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_with_awkward_command_names() {
        let line = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 1000 100 18446744073709551615";
        let stat = parse_proc_stat(line).unwrap();
        assert_eq!(stat.start_ticks, 987654);
        assert!(parse_proc_stat("garbage").is_none());
    }

    #[test]
    fn the_file_lock_tells_who_is_alive_on_this_host() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("j.sqlite3");
        let me = ProcessIdentity::current();
        let run = RunId(3);
        let holder = LockHolder {
            pid: me.pid,
            host: me.host.clone(),
            user: Some(me.user.clone()),
            start_ticks: me.start_ticks,
            since: chrono::Utc::now(),
        };
        assert_eq!(liveness(&holder, &me, &journal, run), Liveness::Gone);
        let held = FileLock::acquire(&lock_file(&journal, run))
            .unwrap()
            .unwrap();
        assert_eq!(liveness(&holder, &me, &journal, run), Liveness::Alive);
        // A second open file of this same process is refused too.
        assert!(
            FileLock::acquire(&lock_file(&journal, run))
                .unwrap()
                .is_none()
        );
        held.release();
        assert!(
            !lock_file(&journal, run).exists(),
            "the file goes with the lock"
        );
        assert_eq!(liveness(&holder, &me, &journal, run), Liveness::Gone);
        let elsewhere = LockHolder {
            host: "elsewhere".into(),
            ..holder
        };
        assert_eq!(
            liveness(&elsewhere, &me, &journal, run),
            Liveness::OtherHost
        );
    }

    #[test]
    fn this_process_has_a_user_and_a_host() {
        let me = ProcessIdentity::current();
        assert!(!me.user.is_empty() && !me.host.is_empty());
        assert_eq!(me.who(), format!("{}@{}", me.user, me.host));
    }
}
