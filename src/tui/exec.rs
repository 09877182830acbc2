//! Carries out the [`Effect`]s the app asks for, off the UI loop: folder listings,
//! imports and searches on the blocking pool, journal queries, and the run itself on
//! the engine. Every result comes back to the loop as a [`Msg`]. This is the console's
//! only door to the file system, the journal and the engine; it decides nothing.

use super::app::{ConfirmInfo, Effect, Entry, Msg, PlanRef, PreviewDataRef, ReportRef, SheetInfo};
use super::data::preview::PreviewData;
use super::screens::open_file::is_spreadsheet;
use super::screens::runs::{ItemLine, ItemsQuery, ItemsReply};
use crate::Secret;
use crate::api::{Client, ClientConfig};
use crate::engine::status::{StatusOptions, StatusRequest, StatusSource, refresh_status};
use crate::engine::{self, EngineSettings, RunControl, RunSource, Start, Target};
use crate::journal::{Item, ItemFilter, Journal, JournalError, RunId};
use crate::report::{DateRange, FetchOptions};
use crate::sheet::write::{self, Overwrite};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;
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
                rows_read,
            } => self.blocking(move || Msg::Loaded {
                seq,
                result: crate::sheet::read_with(
                    &path,
                    &crate::sheet::ReadOptions {
                        kind,
                        sheet: sheet.as_deref(),
                        rows_read: Some(&rows_read.0),
                        ..crate::sheet::ReadOptions::default()
                    },
                )
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
            Effect::StatusRefresh(run) => self.status_refresh(run),
            Effect::ExportResults { run, dir } => {
                let journal = self.journal.clone();
                self.blocking(move || Msg::Exported(export_results_to(&journal, run, &dir)))
            }
            Effect::FetchReport { seq, range } => self.fetch_report(seq, range),
            Effect::ExportReport { report, dir } => {
                let journal = self.journal.clone();
                self.blocking(move || Msg::Exported(export_report_to(&journal, &report, &dir)))
            }
        }
    }

    /// The client for the run's merchant (its recorded URL unless one was given), if
    /// this console can send as that merchant.
    fn client_for_run(&self, run: RunId) -> Result<(Client, String, String), String> {
        let record = self
            .journal
            .run(run)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("run {run} is not in the journal"))?;
        if let Some(m) = &self.connection.merchant
            && *m != record.merchant_id
        {
            return Err(format!(
                "run {run} belongs to merchant {}; this console sends as {m}",
                record.merchant_id
            ));
        }
        let base_url = self
            .connection
            .base_url
            .clone()
            .unwrap_or_else(|| record.base_url.clone());
        let config = self.client_config(&base_url, &record.merchant_id)?;
        let client = Client::new(config).map_err(|e| e.to_string())?;
        Ok((client, record.merchant_id, base_url))
    }

    /// Looks a run's orders up; the Status screen hears how far it is and the tally.
    fn status_refresh(&mut self, run: RunId) {
        let tx = self.tx.clone();
        let (client, merchant_id, base_url) = match self.client_for_run(run) {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.send(Msg::StatusEnded {
                    run,
                    result: Err(e),
                });
                return;
            }
        };
        let journal = self.journal.clone();
        if let Some(p) = &self.connection.password {
            journal.set_redactions(vec![p.clone()]);
        }
        let options = StatusOptions {
            concurrency: self.settings.concurrency,
            ..StatusOptions::default()
        };
        tokio::spawn(async move {
            let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
            let request = StatusRequest {
                merchant_id,
                base_url,
                source: StatusSource::Run(run),
            };
            let refresh = refresh_status(
                &journal,
                &client,
                request,
                &options,
                Some(etx),
                CancellationToken::new(),
            );
            let result = forwarding(refresh, &mut erx, |event| {
                let _ = tx.send(Msg::Status { run, event });
            })
            .await;
            let _ = tx.send(Msg::StatusEnded {
                run,
                result: result
                    .map(|r| (r.check.0, r.tally))
                    .map_err(|e| e.to_string()),
            });
        });
    }

    /// Fetches the paid-orders report; the Report screen hears each chunk, then the
    /// report (after the ids it shows are filled into the journal and its orders
    /// recorded as paid).
    fn fetch_report(&mut self, seq: u64, range: DateRange) {
        let tx = self.tx.clone();
        let failed = |e: String| {
            let _ = tx.send(Msg::ReportFetched {
                seq,
                result: Err(e),
            });
        };
        let (Some(merchant), Some(base_url)) = (
            self.connection.merchant.clone(),
            self.connection.base_url.clone(),
        ) else {
            return failed("no merchant or service URL is configured".to_string());
        };
        let client = match self
            .client_config(&base_url, &merchant)
            .and_then(|c| Client::new(c).map_err(|e| e.to_string()))
        {
            Ok(c) => c,
            Err(e) => return failed(e),
        };
        let journal = self.journal.clone();
        if let Some(p) = &self.connection.password {
            journal.set_redactions(vec![p.clone()]);
        }
        let options = FetchOptions {
            concurrency: self.settings.concurrency,
            ..FetchOptions::default()
        };
        tokio::spawn(async move {
            let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
            let fetch = crate::report::fetch_paid_orders(
                &client,
                &merchant,
                &base_url,
                range,
                &options,
                Some(etx),
                CancellationToken::new(),
            );
            let result = forwarding(fetch, &mut erx, |event| {
                let _ = tx.send(Msg::Report { seq, event });
            })
            .await;
            let result = match result {
                Ok(report) => tokio::task::spawn_blocking(move || {
                    let filled = crate::report::reconcile(&journal, &report)
                        .map_err(|e| e.to_string())?
                        .len();
                    crate::report::record_paid(&journal, &report).map_err(|e| e.to_string())?;
                    Ok(Arc::new(ReportRef { report, filled }))
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string())),
                Err(e) => Err(e.to_string()),
            };
            let _ = tx.send(Msg::ReportFetched { seq, result });
        });
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
                Ok(report) if report.counts.done > 0 => Ok(format!(
                    "run {} {}: {} done, {} rejected, {} failed",
                    report.run,
                    report.state,
                    report.counts.done,
                    report.counts.rejected,
                    report.counts.failed
                )),
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
        refused: refused_rows(imported, &plan.imported),
        total: p.total.map(|t| crate::cli::submit::group_thousands(&t)),
        merchant: p.merchant_id.clone(),
        base_url: p.base_url.clone(),
    };
    Ok((info, Arc::new(PlanRef(plan))))
}

/// Runs `work`, forwarding its events as they come; every event sent before it ended
/// is forwarded before its result is returned.
async fn forwarding<T, E>(
    work: impl std::future::Future<Output = T>,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<E>,
    send: impl Fn(E),
) -> T {
    tokio::pin!(work);
    let result = loop {
        tokio::select! {
            Some(event) = events.recv() => send(event),
            result = &mut work => break result,
        }
    };
    while let Ok(event) = events.try_recv() {
        send(event);
    }
    result
}

/// `dir/stem.ext`, or `dir/stem (2).ext`, ... : the first name not taken, so an export
/// from the console never replaces a file (the write itself refuses one that appears
/// meanwhile).
pub fn free_path(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    let first = dir.join(format!("{stem}.{ext}"));
    if !first.exists() {
        return first;
    }
    (2..10_000)
        .map(|n| dir.join(format!("{stem} ({n}).{ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

/// Writes a run's results workbook into `dir`; what to tell the clerk.
pub fn export_results_to(journal: &Journal, run: RunId, dir: &Path) -> Result<Vec<String>, String> {
    let path = free_path(dir, &format!("run-{run}-results"), "xlsx");
    let written = crate::report::results::export_results(
        journal,
        run,
        &crate::report::results::ResultsTarget::Xlsx(path),
        Overwrite::Refuse,
        &mut write::no_progress,
    )
    .map_err(|e| e.to_string())?;
    let counts: Vec<String> = written
        .groups
        .iter()
        .filter(|(_, t)| t.rows > 0)
        .map(|(g, t)| format!("{} {}", t.rows, g.sheet_name().to_lowercase()))
        .collect();
    let mut lines: Vec<String> = written
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    lines.push(format!(
        "run {run}: {} rows: {}",
        written.rows(),
        counts.join(", ")
    ));
    Ok(lines)
}

/// Writes a fetched report's workbook into `dir`; what to tell the clerk.
pub fn export_report_to(
    journal: &Journal,
    report: &ReportRef,
    dir: &Path,
) -> Result<Vec<String>, String> {
    let r = &report.report;
    let name = crate::cli::report::default_file_name(&r.merchant_id, r.range);
    let stem = name.strip_suffix(".xlsx").unwrap_or(&name);
    let path = free_path(dir, stem, "xlsx");
    let known = crate::report::known_orders(r, journal).map_err(|e| e.to_string())?;
    let notes = vec![("Server".to_string(), r.base_url.clone())];
    let doc = write::PaidOrdersDoc {
        merchant_id: &r.merchant_id,
        start: r.range.start,
        end: r.range.end,
        generated_at: r.fetched_at.with_timezone(&chrono::Local).naive_local(),
        expected_rows: r.orders.len() as u64,
        notes: &notes,
    };
    let rows = r.orders.iter().map(|o| crate::report::paid_row(o, &known));
    let written = write::write_paid_orders(
        &path,
        &doc,
        rows,
        Overwrite::Refuse,
        &mut write::no_progress,
    )
    .map_err(|e| e.to_string())?;
    Ok(vec![
        written.path.display().to_string(),
        format!(
            "{} paid orders, total paid {:.2}",
            written.orders, written.total_paid
        ),
    ])
}

/// Rows valid in the preview that the plan refused (the refund checks), with why.
fn refused_rows(
    previewed: &crate::sheet::Imported,
    planned: &crate::sheet::Imported,
) -> Vec<(u32, String)> {
    previewed
        .rows
        .iter()
        .zip(&planned.rows)
        .filter(|(before, after)| before.is_valid() && !after.is_valid())
        .map(|(_, after)| {
            let why = after
                .issues
                .iter()
                .filter(|i| i.is_error())
                .map(|i| format!("{}: {}", i.column, i.message))
                .collect::<Vec<_>>()
                .join("; ");
            (after.row, why)
        })
        .collect()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::api::PaidOrder;
    use crate::journal::{ItemState, NewItem, NewRun};
    use calamine::Reader;
    use chrono::{NaiveDate, TimeZone, Utc};
    use rust_decimal::Decimal;

    #[test]
    fn console_exports_never_replace_a_file_and_say_where_they_went() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
        let (run, _) = journal
            .create_run_with_items(
                &NewRun {
                    kind: "mark-paid".into(),
                    source_file: "paid.csv".into(),
                    source_sha256: String::new(),
                    sheet: None,
                    merchant_id: "acme".into(),
                    base_url: "http://pp".into(),
                },
                &[NewItem {
                    row: 2,
                    key: "A-1".into(),
                    payload: serde_json::json!({"order_number": "A-1"}),
                    issues: serde_json::json!([]),
                    state: ItemState::Pending,
                }],
            )
            .unwrap();
        let first = export_results_to(&journal, run, dir.path()).unwrap();
        let second = export_results_to(&journal, run, dir.path()).unwrap();
        assert!(first[0].ends_with("run-1-results.xlsx"), "{first:?}");
        assert!(second[0].ends_with("run-1-results (2).xlsx"), "{second:?}");
        assert_eq!(first[1], "run 1: 1 rows: 1 not sent");
        let wb = calamine::open_workbook_auto(&first[0]).unwrap();
        assert!(wb.sheet_names().contains(&"Done".to_string()));

        let day = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
        let paid = |n: &str| PaidOrder {
            order_number: n.into(),
            connectpay_id: Some(format!("00440000000{n}")),
            order_amount: Some(Decimal::new(150_050, 2)),
            amount_paid: Some(Decimal::new(150_050, 2)),
            date_paid: day.and_hms_opt(10, 0, 0),
            date_created: None,
            issue_date: None,
            due_date: None,
            customer_email: None,
            customer_mobile: None,
            customer_address: None,
        };
        let report = ReportRef {
            report: crate::report::PaidReport {
                merchant_id: "acme".into(),
                base_url: "http://pp".into(),
                range: DateRange {
                    start: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                    end: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                },
                fetched_at: Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
                chunks: 1,
                orders: vec![paid("001"), paid("002")],
                duplicates: 0,
            },
            filled: 0,
        };
        let written = export_report_to(&journal, &report, dir.path()).unwrap();
        assert!(
            written[0].ends_with("paid-orders-acme-2026-11-01-to-2026-11-30.xlsx"),
            "{written:?}"
        );
        assert_eq!(written[1], "2 paid orders, total paid 3001.00");
        let again = export_report_to(&journal, &report, dir.path()).unwrap();
        assert!(again[0].ends_with("2026-11-30 (2).xlsx"), "{again:?}");
        let mut wb = calamine::open_workbook_auto(&written[0]).unwrap();
        let sheet = wb.worksheet_range("Paid orders").unwrap();
        let numbers: Vec<String> = (1..=2)
            .map(|r| sheet.get((r, 0)).unwrap().to_string())
            .collect();
        assert_eq!(numbers, ["001", "002"]);
    }
}
