//! The run lock: which process drives a run, recorded in the run's row. A holder is
//! recognised as gone when, on this host, its pid no longer exists, is a zombie, or now
//! belongs to a process that started at another time (pid reuse); such a lock is taken
//! over. A holder on another host cannot be checked and is respected.

use super::error::{Context, JournalError};
use super::model::{LockHolder, RunId};
use super::{Journal, now_text, parse_time};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// Who this process is, as recorded in a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcessIdentity {
    pub pid: u32,
    pub host: String,
    pub start_ticks: Option<u64>,
}

impl ProcessIdentity {
    pub fn current() -> Self {
        let pid = std::process::id();
        ProcessIdentity {
            pid,
            host: hostname(),
            start_ticks: proc_stat(pid).map(|s| s.start_ticks),
        }
    }
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

struct ProcStat {
    state: char,
    start_ticks: u64,
}

/// State (field 3) and start time (field 22) from `/proc/<pid>/stat`.
fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_proc_stat(&text)
}

fn parse_proc_stat(text: &str) -> Option<ProcStat> {
    // Field 2 is the command in parentheses and may itself hold spaces and ')'.
    let after_comm = &text[text.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state (field 3), field 22 is the 19th further field.
    let start_ticks = fields.nth(18)?.parse().ok()?;
    Some(ProcStat { state, start_ticks })
}

/// Whether the process recorded as a lock holder may still be running.
pub(crate) fn holder_alive(holder: &LockHolder, me: &ProcessIdentity) -> bool {
    if holder.host != me.host {
        // Cannot be checked from here; respect it.
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(holder.pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission; nothing is delivered.
    let rc = unsafe { libc::kill(pid, 0) };
    if rc != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EPERM) {
        return false;
    }
    match proc_stat(holder.pid) {
        // A zombie has ended; only its exit status is left for its parent to collect.
        Some(stat) if matches!(stat.state, 'Z' | 'X' | 'x') => false,
        Some(stat) => holder.start_ticks.is_none_or(|t| t == stat.start_ticks),
        // No /proc (or it vanished just now): trust kill().
        None => true,
    }
}

pub(crate) fn read_holder(
    tx: &Connection,
    run: RunId,
) -> Result<Option<Option<LockHolder>>, JournalError> {
    tx.prepare_cached("SELECT lock_pid, lock_host, lock_start, lock_since FROM runs WHERE id = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([run.0], |r| {
                let pid: Option<i64> = r.get(0)?;
                let Some(pid) = pid else { return Ok(None) };
                let start: Option<i64> = r.get(2)?;
                let since: Option<String> = r.get(3)?;
                Ok(Some(LockHolder {
                    pid: u32::try_from(pid).unwrap_or(0),
                    host: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
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

fn locked_error(run: RunId, holder: &LockHolder) -> JournalError {
    JournalError::Locked {
        run,
        pid: holder.pid,
        host: holder.host.clone(),
        since: holder.since.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    }
}

impl LockHolder {
    fn is(&self, me: &ProcessIdentity) -> bool {
        self.pid == me.pid && self.host == me.host && self.start_ticks == me.start_ticks
    }
}

impl Journal {
    /// Takes the run's lock for this process. A live holder (including another lock of
    /// this same process) gets [`JournalError::Locked`] naming it; a lock left by a
    /// process that has ended is taken over. Released when the [`RunLock`] is dropped.
    pub fn lock_run(&self, run: RunId) -> Result<RunLock, JournalError> {
        let me = &self.inner.me;
        let token: i64 = rand::random::<i64>();
        let mut conn = self.conn();
        // IMMEDIATE: the check and the claim happen under SQLite's write lock, so two
        // processes cannot both see the run free and both claim it.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("locking the run")?;
        let holder = read_holder(&tx, run)?.ok_or_else(|| JournalError::NotFound {
            what: format!("run {run}"),
        })?;
        if let Some(holder) = holder {
            if holder_alive(&holder, me) {
                return Err(locked_error(run, &holder));
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
                             lock_since = ?6
             WHERE id = ?1",
            params![
                run.0,
                me.pid,
                me.host,
                me.start_ticks.and_then(|t| i64::try_from(t).ok()),
                token,
                now_text()
            ],
        )
        .ctx("locking the run")?;
        tx.commit().ctx("locking the run")?;
        drop(conn);
        Ok(RunLock {
            journal: self.clone(),
            run,
            token,
            released: false,
        })
    }

    /// Clears a run's lock whoever holds it, for an operator who knows the holder is
    /// gone but cannot be checked from here (another host). Returns the former holder.
    pub fn break_lock(&self, run: RunId) -> Result<Option<LockHolder>, JournalError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("breaking the run's lock")?;
        let holder = read_holder(&tx, run)?.ok_or_else(|| JournalError::NotFound {
            what: format!("run {run}"),
        })?;
        tx.execute(
            "UPDATE runs SET lock_pid = NULL, lock_host = NULL, lock_start = NULL,
                             lock_token = NULL, lock_since = NULL
             WHERE id = ?1",
            [run.0],
        )
        .ctx("breaking the run's lock")?;
        tx.commit().ctx("breaking the run's lock")?;
        if let Some(h) = &holder {
            tracing::warn!(run = run.0, pid = h.pid, host = %h.host, "run lock broken by request");
        }
        Ok(holder)
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
            Some(Some(holder)) if holder_alive(&holder, me) => Err(locked_error(run, &holder)),
            Some(_) => Err(JournalError::NotLocked { run }),
        }
    }
}

/// Proof that this process drives a run. Dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    journal: Journal,
    run: RunId,
    token: i64,
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

    fn release_inner(&self) -> Result<(), JournalError> {
        let conn = self.journal.conn();
        // Only our own lock: it may have been broken and taken by someone else since.
        conn.execute(
            "UPDATE runs SET lock_pid = NULL, lock_host = NULL, lock_start = NULL,
                             lock_token = NULL, lock_since = NULL
             WHERE id = ?1 AND lock_token = ?2",
            params![self.run.0, self.token],
        )
        .ctx("releasing the run's lock")?;
        Ok(())
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
        assert_eq!(stat.state, 'S');
        assert_eq!(stat.start_ticks, 987654);
        assert!(parse_proc_stat("garbage").is_none());
    }

    #[test]
    fn own_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = ProcessIdentity::current();
        let mut holder = LockHolder {
            pid: me.pid,
            host: me.host.clone(),
            start_ticks: me.start_ticks,
            since: chrono::Utc::now(),
        };
        assert!(holder_alive(&holder, &me));
        if let Some(t) = me.start_ticks {
            holder.start_ticks = Some(t + 1);
            assert!(
                !holder_alive(&holder, &me),
                "pid reuse must not count as alive"
            );
        }
        holder.pid = 0;
        assert!(
            !holder_alive(&holder, &me),
            "pid 0 would mean our process group"
        );
        holder.host = "elsewhere".into();
        assert!(holder_alive(&holder, &me), "other hosts cannot be checked");
    }
}
