//! Carries out the [`Effect`]s the app asks for, off the UI loop: folder listings,
//! imports and searches on the blocking pool, journal queries, and the run itself on
//! the engine. Every result comes back to the loop as a [`Msg`]. This is the console's
//! only door to the file system, the journal and the engine; it decides nothing.

use super::app::{ConfirmInfo, Effect, Entry, Msg, PlanRef, PreviewDataRef, SheetInfo};
use super::data::preview::PreviewData;
use super::screens::open_file::is_spreadsheet;
use super::screens::runs::{ItemLine, ItemsQuery, ItemsReply};
use crate::Secret;
use crate::api::ClientConfig;
use crate::engine::{self, EngineSettings, RunControl, RunSource, Start, Target};
use crate::journal::{Item, ItemFilter, Journal, JournalError, RunId};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

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
    /// Steers the run this process drives.
    control: Option<RunControl>,
    pending_control: Option<oneshot::Receiver<RunControl>>,
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
            control: None,
            pending_control: None,
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
            Effect::Start { plan } => {
                let what = Start::plan(plan.0.clone());
                let merchant = plan.0.target.merchant_id.clone();
                let base_url = plan.0.target.base_url.clone();
                self.start(what, &base_url, &merchant);
            }
            Effect::Resume(run) => self.resume(run, false),
            Effect::Retry(run) => self.resume(run, true),
            Effect::Pause => self.command(RunControl::pause),
            Effect::Continue => self.command(RunControl::resume),
            Effect::Cancel => self.command(RunControl::cancel),
            Effect::LoadItems(query) => {
                let journal = self.journal.clone();
                self.blocking(move || Msg::Items(items_page(&journal, query)))
            }
            Effect::LoadAttempts { seq, item } => {
                let journal = self.journal.clone();
                self.blocking(move || Msg::Attempts {
                    seq,
                    result: journal
                        .item_history(item)
                        .map(|attempts| attempts.iter().map(attempt_line).collect())
                        .map_err(|e| e.to_string()),
                })
            }
            Effect::SetPassword(secret) => self.connection.password = Some(secret),
        }
    }

    fn command(&self, f: fn(&RunControl) -> bool) {
        if let Some(control) = &self.control {
            f(control);
        }
    }

    fn client_config(&self, base_url: &str, merchant: &str) -> Result<ClientConfig, String> {
        let password = self.connection.password.clone().ok_or_else(|| {
            format!(
                "no password for merchant {merchant}: set {} or type it when the console starts",
                crate::config::ENV_PASSWORD
            )
        })?;
        Ok(ClientConfig::new(base_url, merchant, password))
    }

    fn resume(&mut self, run: RunId, retry: bool) {
        let record = match self.journal.run(run) {
            Ok(Some(r)) => r,
            Ok(None) => return self.failed(format!("run {run} is not in the journal")),
            Err(e) => return self.failed(e.to_string()),
        };
        // The run keeps its merchant; its recorded URL unless one was given.
        let base_url = self
            .connection
            .base_url
            .clone()
            .unwrap_or_else(|| record.base_url.clone());
        let what = if retry {
            Start::Retry(run)
        } else {
            Start::Resume(run)
        };
        self.start(what, &base_url, &record.merchant_id);
    }

    fn failed(&self, message: String) {
        let _ = self.tx.send(Msg::Started(Err(message)));
    }

    /// Starts a drive on the engine and forwards its events until it ends.
    fn start(&mut self, what: Start, base_url: &str, merchant: &str) {
        let config = match self.client_config(base_url, merchant) {
            Ok(c) => c,
            Err(e) => return self.failed(e),
        };
        let tx = self.tx.clone();
        let journal = self.journal.clone();
        let settings = self.settings.clone();
        let (control_tx, control_rx) = tokio::sync::oneshot::channel();
        self.drive = Some(tokio::spawn(async move {
            let mut handle = match engine::start(&journal, what, Some(config), &settings).await {
                Ok(h) => h,
                Err(e) => {
                    let _ = tx.send(Msg::Started(Err(e.to_string())));
                    return;
                }
            };
            let _ = control_tx.send(handle.control.clone());
            let _ = tx.send(Msg::Started(Ok(handle.run)));
            while let Some(event) = handle.events.recv().await {
                let _ = tx.send(Msg::Engine(event));
            }
            let _ = tx.send(Msg::RunEnded(match handle.report.await {
                Ok(report) => Ok(format!(
                    "run {} {}: {} created, {} existed, {} rejected, {} failed",
                    report.run,
                    report.state,
                    report.counts.created + report.counts.exists_id_unknown,
                    report.counts.exists_before_run,
                    report.counts.rejected,
                    report.counts.failed
                )),
                Err(e) => Err(e.to_string()),
            }));
        }));
        // The control arrives once the engine has set the run up ([`Exec::poll_control`]).
        self.control = None;
        self.pending_control = Some(control_rx);
    }

    /// Takes the run's control once the engine has handed it over.
    pub fn poll_control(&mut self) {
        if let Some(rx) = &mut self.pending_control
            && let Ok(control) = rx.try_recv()
        {
            self.control = Some(control);
            self.pending_control = None;
        }
    }
}

/// What Confirm shows for the previewed sheet, and the plan `y` starts.
fn plan(
    journal: &Journal,
    connection: &Connection,
    data: &PreviewData,
) -> Result<(ConfirmInfo, Arc<PlanRef>), String> {
    let imported = &data.imported;
    let merchant = connection
        .merchant
        .clone()
        .ok_or("no merchant is configured")?;
    let base_url = connection
        .base_url
        .clone()
        .ok_or("no service URL is configured")?;
    let file = std::fs::canonicalize(&imported.file).unwrap_or_else(|_| imported.file.clone());
    let source = RunSource::of(&file).map_err(|e| e.to_string())?;
    let plan = engine::plan_imported(
        journal,
        imported.clone(),
        source,
        Target {
            base_url: base_url.clone(),
            merchant_id: merchant.clone(),
        },
        false,
    )
    .map_err(|e| e.to_string())?;
    let p = &plan.preview;
    let info = ConfirmInfo {
        file: p.file.clone(),
        sheet: p.sheet.clone(),
        kind: p.kind,
        rows: p.rows,
        valid: p.valid,
        invalid: p.invalid,
        to_send: p.to_send,
        skipped: plan
            .earlier
            .iter()
            .map(|(row, key, prior)| (*row, key.clone(), prior.to_string()))
            .collect(),
        total: p.total.map(|t| crate::cli::submit::group_thousands(&t)),
        merchant: p.merchant_id.clone(),
        base_url: p.base_url.clone(),
    };
    Ok((info, Arc::new(PlanRef(plan))))
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
    let filter = ItemFilter {
        states: q.state.into_iter().collect(),
        text: q.text.clone(),
    };
    Ok(journal
        .items_page(q.run, &filter, q.after, q.limit)?
        .iter()
        .map(item_line)
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

fn attempt_line(detail: &crate::journal::AttemptDetail) -> String {
    let a = &detail.attempt;
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
