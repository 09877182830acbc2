//! Where the program's `tracing` events go: for every command but `sim`, a log file
//! rotated daily under the data directory, next to the default journal
//! (`$XDG_DATA_HOME/paypro-console/logs/` on Linux, `PAYPRO_LOG_DIR` to put it elsewhere)
//! and never the terminal, which belongs to the command's own output. The simulator is a
//! server run in a terminal or by tests, so it logs warnings to stderr instead.
//!
//! Logging is never a reason for a command to fail: when the directory cannot be made,
//! the command runs without a log file and says so once on stderr.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The level (`error`, `warn`, `info`, `debug`, `trace`, `off`) or, for experts,
/// `tracing` target directives such as `info,paypro_console::engine=debug`.
pub const LEVEL_ENV: &str = "PAYPRO_LOG";

/// The directory of the log files, instead of the data directory's `logs`.
pub const DIR_ENV: &str = "PAYPRO_LOG_DIR";

/// Log files are `paypro-console.YYYY-MM-DD.log` (UTC dates). Several processes may
/// append to one at once (each line is one write). There is deliberately no "latest"
/// link and no pruning: tracing-appender does both without regard for other processes,
/// so two commands starting together could fail or print to the terminal. A line per
/// request makes a few hundred kilobytes on a busy day.
pub const FILE_PREFIX: &str = "paypro-console";
pub const FILE_SUFFIX: &str = "log";

/// Keeps the log writer's background thread alive: hold it until the process ends, or
/// the last lines are lost.
#[must_use = "logging stops when the guard is dropped"]
pub struct LogGuard {
    _worker: Option<WorkerGuard>,
    /// Where the log files go, if logging to a file.
    pub dir: Option<PathBuf>,
}

/// The default directory: `logs` in the data directory that holds the default journal.
pub fn default_dir() -> Option<PathBuf> {
    crate::journal::default_path()
        .ok()
        .and_then(|journal| journal.parent().map(|dir| dir.join("logs")))
}

/// `PAYPRO_LOG_DIR` if set and not empty, else [`default_dir`].
pub fn resolve_dir(env: Option<OsString>) -> Option<PathBuf> {
    match env {
        Some(value) if !value.is_empty() => Some(PathBuf::from(value)),
        _ => default_dir(),
    }
}

/// The filter for a `PAYPRO_LOG` value, or why the value was not understood. A bare
/// level applies to this program; other crates get at most `info`, so that `debug`
/// does not bury the console's own lines under HTTP library internals.
pub fn filter_from(value: Option<&str>, default: LevelFilter) -> Result<Targets, String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let Some(value) = value else {
        return Ok(level_filter(default));
    };
    if let Ok(level) = LevelFilter::from_str(value) {
        return Ok(level_filter(level));
    }
    Targets::from_str(value)
        .map_err(|e| format!("{LEVEL_ENV}='{value}' is not a level or a filter ({e})"))
}

fn level_filter(level: LevelFilter) -> Targets {
    Targets::new()
        .with_target("paypro_console", level)
        .with_default(level.min(LevelFilter::INFO))
}

/// The filter from the environment; a value not understood is said on stderr and the
/// default used.
fn filter_from_env(default: LevelFilter) -> Targets {
    let value = std::env::var(LEVEL_ENV).ok();
    filter_from(value.as_deref(), default).unwrap_or_else(|problem| {
        eprintln!("paypro-console: {problem}; logging at {default}");
        level_filter(default)
    })
}

/// Creates `dir` and any missing parents, readable by the user only (logs name
/// merchants, customers and amounts).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The appender writing daily files into `dir` (created if missing).
fn appender(dir: &Path) -> Result<RollingFileAppender, String> {
    create_private_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .filename_suffix(FILE_SUFFIX)
        .build(dir)
        .map_err(|e| format!("cannot open a log file in {}: {e}", dir.display()))
}

/// Sends every command's logs to the log file (see the module doc). Call once, first
/// thing in `main`, and keep the guard until the end.
pub fn init_file() -> LogGuard {
    let filter = filter_from_env(LevelFilter::INFO);
    let Some(dir) = resolve_dir(std::env::var_os(DIR_ENV)) else {
        eprintln!(
            "paypro-console: no data directory found for the log files; running without a \
             log file (set {DIR_ENV} to keep one)"
        );
        return LogGuard {
            _worker: None,
            dir: None,
        };
    };
    let appender = match appender(&dir) {
        Ok(appender) => appender,
        Err(problem) => {
            eprintln!(
                "paypro-console: {problem}; running without a log file (set {DIR_ENV} to \
                 keep one elsewhere)"
            );
            return LogGuard {
                _worker: None,
                dir: None,
            };
        }
    };
    // Not lossy: a log line is worth a short wait more than speed at a burst.
    let (writer, worker) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("paypro-console-log")
        .finish(appender);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_target(true);
    // Fails only if a subscriber is already set (a test harness): keep that one.
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
    LogGuard {
        _worker: Some(worker),
        dir: Some(dir),
    }
}

/// The simulator's logging: warnings and errors on stderr (or `PAYPRO_LOG`).
pub fn init_stderr() -> LogGuard {
    let filter = filter_from_env(LevelFilter::WARN);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(true);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
    LogGuard {
        _worker: None,
        dir: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn enabled(t: &Targets, target: &str, level: Level) -> bool {
        t.would_enable(target, &level)
    }

    #[test]
    fn levels_apply_to_the_program_and_cap_other_crates_at_info() {
        let t = filter_from(None, LevelFilter::INFO).unwrap();
        assert!(enabled(&t, "paypro_console::engine", Level::INFO));
        assert!(!enabled(&t, "paypro_console::engine", Level::DEBUG));
        let t = filter_from(Some(" debug "), LevelFilter::INFO).unwrap();
        assert!(enabled(&t, "paypro_console::api", Level::DEBUG));
        assert!(!enabled(&t, "hyper::client", Level::DEBUG));
        assert!(enabled(&t, "hyper::client", Level::INFO));
        let t = filter_from(Some("warn"), LevelFilter::INFO).unwrap();
        assert!(!enabled(&t, "paypro_console", Level::INFO));
        assert!(!enabled(&t, "reqwest", Level::INFO));
        let t = filter_from(Some("off"), LevelFilter::INFO).unwrap();
        assert!(!enabled(&t, "paypro_console", Level::ERROR));
        let t = filter_from(Some(""), LevelFilter::WARN).unwrap();
        assert!(!enabled(&t, "paypro_console", Level::INFO));
    }

    #[test]
    fn directives_are_taken_as_written_and_nonsense_is_refused() {
        let t = filter_from(Some("warn,paypro_console::engine=trace"), LevelFilter::INFO).unwrap();
        assert!(enabled(&t, "paypro_console::engine::drive", Level::TRACE));
        assert!(!enabled(&t, "paypro_console::api", Level::INFO));
        let e = filter_from(Some("loud=very"), LevelFilter::INFO).unwrap_err();
        assert!(e.contains("PAYPRO_LOG") && e.contains("loud=very"), "{e}");
    }

    #[test]
    fn the_directory_is_the_environment_value_or_next_to_the_default_journal() {
        assert_eq!(
            resolve_dir(Some(OsString::from("/tmp/x/logs"))),
            Some(PathBuf::from("/tmp/x/logs"))
        );
        let default = resolve_dir(Some(OsString::new()));
        assert_eq!(default, default_dir());
        if let (Some(dir), Ok(journal)) = (default, crate::journal::default_path()) {
            assert_eq!(dir.parent(), journal.parent());
            assert!(dir.ends_with("logs"));
        }
    }

    #[test]
    fn the_directory_is_private_and_a_file_in_the_way_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a").join("logs");
        drop(appender(&dir).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for d in [dir.as_path(), tmp.path().join("a").as_path()] {
                let mode = std::fs::metadata(d).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o700, "{}", d.display());
            }
        }
        let blocker = tmp.path().join("file");
        std::fs::write(&blocker, "x").unwrap();
        let e = appender(&blocker.join("logs")).unwrap_err();
        assert!(e.contains("cannot create"), "{e}");
    }
}
