//! Carries out the [`Effect`]s the app asks for, off the UI loop: folder listings,
//! imports and searches on the blocking pool, journal queries, and the run itself on
//! the engine. Every result comes back to the loop as a [`Msg`]. This is the console's
//! only door to the file system, the journal and the engine; it decides nothing.

use super::app::{ConfirmInfo, Effect, Entry, Msg, PreviewDataRef, SheetInfo};
use super::data::preview::PreviewData;
use super::screens::open_file::is_spreadsheet;
use super::screens::runs::{ItemLine, ItemsQuery, ItemsReply};
use crate::Secret;
use crate::api::{Client, ClientConfig};
use crate::engine::{self, EngineSettings, RunSource};
use crate::journal::{Item, Journal, JournalError, RunId};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Where and as whom the console sends.
#[derive(Debug, Clone)]
pub struct Connection {
    pub base_url: Option<String>,
    pub merchant: Option<String>,
    pub password: Option<Secret>,
}

pub struct Exec {
    tx: UnboundedSender<Msg>,
    journal: Journal,
    pub connection: Connection,
    pub settings: EngineSettings,
    cancel: Option<CancellationToken>,
    /// The drive of this process, if one is going (awaited after a hang-up).
    pub drive: Option<JoinHandle<()>>,
}

impl Exec {
    pub fn new(
        tx: UnboundedSender<Msg>,
        journal: Journal,
        connection: Connection,
        settings: EngineSettings,
    ) -> Exec {
        Exec {
            tx,
            journal,
            connection,
            settings,
            cancel: None,
            drive: None,
        }
    }

    /// Runs `work` on the blocking pool and sends its message.
    fn blocking(&self, work: impl FnOnce() -> Msg + Send + 'static) {
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(work());
        });
    }

    pub fn run(&mut self, effect: Effect) {
        match effect {
            Effect::ListDir(path) => self.blocking(move || Msg::Dir {
                result: list_dir(&path),
                path,
            }),
            Effect::ListSheets(path) => self.blocking(move || Msg::Sheets {
                result: list_sheets(&path),
                path,
            }),
            Effect::Load {
                seq,
                path,
                kind,
                sheet,
            } => self.blocking(move || Msg::Loaded {
                seq,
                result: crate::sheet::read(&path, kind, sheet.as_deref())
                    .map(|imported| Arc::new(PreviewDataRef(PreviewData::new(imported))))
                    .map_err(|e| e.to_string()),
            }),
            Effect::Search {
                seq,
                data,
                query,
                among,
            } => self.blocking(move || Msg::Searched {
                seq,
                rows: data.0.search(&query, among.as_deref()),
            }),
            Effect::LoadRuns => {
                let journal = self.journal.clone();
                self.blocking(move || {
                    let interrupted = journal
                        .interrupted_runs()
                        .map(|rs| rs.into_iter().map(|r| r.id).collect())
                        .unwrap_or_default();
                    Msg::Runs(journal.runs().map_err(|e| e.to_string()), interrupted)
                })
            }
            Effect::Plan { data } => {
                let journal = self.journal.clone();
                let connection = self.connection.clone();
                self.blocking(move || Msg::Planned(plan(&journal, &connection, &data.0)))
            }
            Effect::Start { data } => self.start(data),
            Effect::Resume(run) => self.resume(run, false),
            Effect::Retry(run) => self.resume(run, true),
            // Pausing needs the engine's run API (commands to a running drive).
            Effect::Pause | Effect::Continue => {}
            Effect::Cancel => {
                if let Some(c) = &self.cancel {
                    c.cancel();
                }
            }
            Effect::LoadItems(query) => {
                let journal = self.journal.clone();
                self.blocking(move || Msg::Items(items_page(&journal, query)))
            }
            Effect::LoadAttempts { seq, item } => {
                let journal = self.journal.clone();
                self.blocking(move || Msg::Attempts {
                    seq,
                    result: journal
                        .item_attempts(item)
                        .map(|attempts| attempts.iter().map(attempt_line).collect())
                        .map_err(|e| e.to_string()),
                })
            }
            Effect::SetPassword(secret) => self.connection.password = Some(secret),
        }
    }

    fn client(&self, base_url: &str, merchant: &str) -> Result<Client, String> {
        let password = self.connection.password.clone().ok_or_else(|| {
            format!(
                "no password for merchant {merchant}: set {} or type it at start",
                crate::config::ENV_PASSWORD
            )
        })?;
        self.journal.set_redactions(vec![password.clone()]);
        Client::new(ClientConfig::new(base_url, merchant, password)).map_err(|e| e.to_string())
    }

    fn start(&mut self, data: Arc<PreviewDataRef>) {
        let (Some(base_url), Some(merchant)) = (
            self.connection.base_url.clone(),
            self.connection.merchant.clone(),
        ) else {
            let _ = self.tx.send(Msg::Started(Err(
                "no merchant or service URL is configured".into(),
            )));
            return;
        };
        let client = match self.client(&base_url, &merchant) {
            Ok(c) => c,
            Err(e) => {
                let _ = self.tx.send(Msg::Started(Err(e)));
                return;
            }
        };
        let journal = self.journal.clone();
        let prepare = move || -> Result<RunId, String> {
            let imported = &data.0.imported;
            let file =
                std::fs::canonicalize(&imported.file).unwrap_or_else(|_| imported.file.clone());
            let source = RunSource {
                sha256: engine::sha256_file(&file).map_err(|e| e.to_string())?,
                file,
            };
            engine::prepare_run(&journal, imported, &source, &merchant, &base_url, false)
                .map(|p| p.run)
                .map_err(|e| e.to_string())
        };
        self.spawn_drive(client, Box::new(prepare));
    }

    fn resume(&mut self, run: RunId, retry: bool) {
        let journal = self.journal.clone();
        let record = match journal.run(run) {
            Ok(Some(r)) => r,
            Ok(None) => {
                let _ = self.tx.send(Msg::Started(Err(format!(
                    "run {run} is not in the journal"
                ))));
                return;
            }
            Err(e) => {
                let _ = self.tx.send(Msg::Started(Err(e.to_string())));
                return;
            }
        };
        let base_url = self
            .connection
            .base_url
            .clone()
            .unwrap_or_else(|| record.base_url.clone());
        let client = match self.client(&base_url, &record.merchant_id) {
            Ok(c) => c,
            Err(e) => {
                let _ = self.tx.send(Msg::Started(Err(e)));
                return;
            }
        };
        let prepare = move || -> Result<RunId, String> {
            if retry {
                let lock = journal.lock_run(run).map_err(|e| e.to_string())?;
                let reset = journal.retry_failed(run).map_err(|e| e.to_string());
                let released = lock.release().map_err(|e| e.to_string());
                reset?;
                released?;
            }
            Ok(run)
        };
        self.spawn_drive(client, Box::new(prepare));
    }

    fn spawn_drive(
        &mut self,
        client: Client,
        prepare: Box<dyn FnOnce() -> Result<RunId, String> + Send>,
    ) {
        let cancel = CancellationToken::new();
        self.cancel = Some(cancel.clone());
        let tx = self.tx.clone();
        let journal = self.journal.clone();
        let settings = self.settings.clone();
        self.drive = Some(tokio::spawn(async move {
            let prepared = tokio::task::spawn_blocking(prepare)
                .await
                .unwrap_or_else(|e| Err(format!("the run could not be set up: {e}")));
            let run = match prepared {
                Ok(run) => run,
                Err(e) => {
                    let _ = tx.send(Msg::Started(Err(e)));
                    return;
                }
            };
            let _ = tx.send(Msg::Started(Ok(run)));
            let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
            let shared = Arc::new(Mutex::new(journal));
            let drive = engine::drive(shared, client, run, &settings, cancel, etx);
            tokio::pin!(drive);
            let result = loop {
                tokio::select! {
                    Some(event) = erx.recv() => { let _ = tx.send(Msg::Engine(event)); }
                    result = &mut drive => break result,
                }
            };
            while let Ok(event) = erx.try_recv() {
                let _ = tx.send(Msg::Engine(event));
            }
            let _ = tx.send(Msg::RunEnded(match result {
                Ok(report) => Ok(format!(
                    "run {} {}: {} created, {} rejected, {} failed",
                    report.run,
                    report.state,
                    report.counts.created + report.counts.exists_id_unknown,
                    report.counts.rejected,
                    report.counts.failed
                )),
                Err(e) => Err(e.to_string()),
            }));
        }));
    }
}

/// What Confirm shows for the previewed sheet.
fn plan(
    journal: &Journal,
    connection: &Connection,
    data: &PreviewData,
) -> Result<ConfirmInfo, String> {
    let imported = &data.imported;
    let merchant = connection
        .merchant
        .clone()
        .ok_or("no merchant is configured")?;
    let base_url = connection
        .base_url
        .clone()
        .ok_or("no service URL is configured")?;
    let prior = engine::prior_creations(journal, imported, &merchant).map_err(|e| e.to_string())?;
    let skipped_rows: std::collections::HashSet<u32> = prior.iter().map(|(r, _, _)| *r).collect();
    let preview = crate::cli::submit::Preview::of(imported, &skipped_rows);
    Ok(ConfirmInfo {
        file: imported.file.clone(),
        sheet: imported.sheet.clone(),
        kind: imported.kind,
        rows: preview.rows,
        valid: preview.valid,
        invalid: preview.invalid,
        to_send: preview.to_send,
        skipped: prior
            .into_iter()
            .map(|(row, key, p)| (row, key, p.to_string()))
            .collect(),
        total: preview
            .total
            .map(|t| crate::cli::submit::group_thousands(&t)),
        merchant,
        base_url,
    })
}

/// Folders and spreadsheets of `dir`, folders first, by name; dot-files left out.
pub fn list_dir(dir: &Path) -> Result<Vec<Entry>, String> {
    let read = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // Follows symlinks, so a linked folder browses like a folder.
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        if meta.is_dir() || (meta.is_file() && is_spreadsheet(&name)) {
            out.push(Entry {
                name,
                dir: meta.is_dir(),
                size: meta.len(),
            });
        }
    }
    out.sort_by(|a, b| {
        b.dir
            .cmp(&a.dir)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(out)
}

/// The worksheets of a workbook (a CSV file is one sheet named after the file).
pub fn list_sheets(path: &Path) -> Result<Vec<SheetInfo>, String> {
    use calamine::{Reader, SheetType, SheetVisible};
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if matches!(ext.as_str(), "csv" | "tsv" | "txt") {
        return Ok(vec![SheetInfo {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            hidden: false,
        }]);
    }
    let wb = calamine::open_workbook_auto(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(wb
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| SheetInfo {
            name: s.name.clone(),
            hidden: s.visible != SheetVisible::Visible,
        })
        .collect())
}

/// A page of a run's items, as the Run screen shows them.
pub fn items_page(journal: &Journal, query: ItemsQuery) -> ItemsReply {
    let result = page(journal, &query).map_err(|e| e.to_string());
    ItemsReply { query, result }
}

fn page(journal: &Journal, q: &ItemsQuery) -> Result<Vec<ItemLine>, JournalError> {
    let needle = q.text.as_ref().map(|t| t.to_lowercase());
    let items = journal.items(q.run, q.state)?;
    Ok(items
        .iter()
        .filter(|i| q.after.is_none_or(|a| i.row > a))
        .map(item_line)
        .filter(|l| {
            needle.as_ref().is_none_or(|n| {
                l.key.to_lowercase().contains(n)
                    || l.message.to_lowercase().contains(n)
                    || l.connectpay_id
                        .as_ref()
                        .is_some_and(|c| c.to_lowercase().contains(n))
                    || l.row.to_string() == *n
            })
        })
        .take(q.limit)
        .collect())
}

pub fn item_line(i: &Item) -> ItemLine {
    let message = i
        .description
        .clone()
        .or_else(|| i.last_error.clone())
        .or_else(|| {
            i.issues.as_array().filter(|a| !a.is_empty()).map(|a| {
                a.iter()
                    .filter_map(|v| {
                        let col = v.get("column")?.as_str()?;
                        let msg = v.get("message")?.as_str()?;
                        Some(format!("{col}: {msg}"))
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        })
        .unwrap_or_default();
    ItemLine {
        id: i.id,
        row: i.row,
        key: i.key.clone(),
        state: i.state,
        connectpay_id: i.connectpay_id.clone(),
        message,
        attempts: i.attempts,
    }
}

fn attempt_line(a: &crate::journal::AttemptInfo) -> String {
    let mut s = format!(
        "{} {} batch {} ({} of {}): ",
        a.started_at.format("%H:%M:%S"),
        a.endpoint,
        a.batch,
        a.position + 1,
        a.batch_size
    );
    match (&a.http_status, &a.batch_outcome) {
        (Some(h), Some(o)) => s.push_str(&format!("HTTP {h}, {o}")),
        (None, Some(o)) => s.push_str(o),
        _ => s.push_str("no answer yet"),
    }
    if let Some(r) = &a.result {
        s.push_str(&format!(" → {r}"));
    }
    if let Some(code) = &a.status_code {
        s.push_str(&format!(" · status {code}"));
    }
    if let Some(d) = a.description.as_ref().or(a.error.as_ref()) {
        s.push_str(&format!(" · {d}"));
    }
    s
}

/// The folder the browser starts in for a file given on the command line.
pub fn dir_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
