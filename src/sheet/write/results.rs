//! A run's results, like a bulk loader's success and error files: every row with the
//! spreadsheet's own columns and cell texts, then what became of it (State,
//! ConnectPayId, Fee, Status code, Server message, Attempts), one sheet per outcome
//! group, and a Summary sheet with counts and totals. The same as CSV files for scripts.
//!
//! Rows stream in once, in any order; each goes to the next row of its group's sheet
//! (every group sheet is a constant-memory sheet open at the same time).

use super::{
    Formats, OnProgress, Overwrite, PROGRESS_EVERY, SheetOut, Staged, WriteError, Written, letters,
    result_text, save,
};
use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use rust_xlsxwriter::{Workbook, Worksheet};
use std::path::{Path, PathBuf};

/// The columns after the spreadsheet's own.
pub const RESULT_COLUMNS: [&str; 6] = [
    "State",
    "ConnectPayId",
    "Fee",
    "Status code",
    "Server message",
    "Attempts",
];

/// Where a row's outcome puts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum ResultGroup {
    /// Created by this run, ConnectPayId known.
    Created,
    /// PayPro already had it before this run sent it, or an earlier run created it
    /// (skipped, not sent).
    AlreadyExisted,
    /// Exists at PayPro after an answer of ours was lost; ConnectPayId not known yet.
    IdUnknown,
    /// Refused by PayPro, with its reason.
    Rejected,
    /// Retries used up; `retry` sends them again.
    Failed,
    /// Not sent yet (the run is unfinished): pending or in flight.
    NotSent,
    /// Failed validation; never sent.
    Invalid,
    /// Mark runs: PayPro marked the order paid or blocked, or refunded it.
    Done,
    /// Mark runs: an earlier run of the merchant already did it (skipped, not sent).
    DoneEarlier,
}

impl ResultGroup {
    pub const ALL: [ResultGroup; 7] = [
        ResultGroup::Created,
        ResultGroup::AlreadyExisted,
        ResultGroup::IdUnknown,
        ResultGroup::Rejected,
        ResultGroup::Failed,
        ResultGroup::NotSent,
        ResultGroup::Invalid,
    ];

    /// The groups of a mark run (mark paid, mark blocked, refunds).
    pub const MARK: [ResultGroup; 6] = [
        ResultGroup::Done,
        ResultGroup::DoneEarlier,
        ResultGroup::Rejected,
        ResultGroup::Failed,
        ResultGroup::NotSent,
        ResultGroup::Invalid,
    ];

    /// The groups, hence the sheets, of a run of `kind` (as journaled: `orders`,
    /// `mark-paid`, ...): a mark run's rows are done, not created.
    pub fn for_kind(kind: &str) -> &'static [ResultGroup] {
        match kind {
            "mark-paid" | "mark-blocked" | "refunds" => &ResultGroup::MARK,
            _ => &ResultGroup::ALL,
        }
    }

    /// The sheet's name (and the Summary's label).
    pub fn sheet_name(self) -> &'static str {
        match self {
            ResultGroup::Created => "Created",
            ResultGroup::AlreadyExisted => "Already existed",
            ResultGroup::IdUnknown => "Id unknown",
            ResultGroup::Rejected => "Rejected",
            ResultGroup::Failed => "Failed",
            ResultGroup::NotSent => "Not sent",
            ResultGroup::Invalid => "Invalid",
            ResultGroup::Done => "Done",
            ResultGroup::DoneEarlier => "Done earlier",
        }
    }

    /// The CSV file's suffix (`run-12-created.csv`).
    pub fn file_suffix(self) -> &'static str {
        match self {
            ResultGroup::Created => "created",
            ResultGroup::AlreadyExisted => "already-existed",
            ResultGroup::IdUnknown => "id-unknown",
            ResultGroup::Rejected => "rejected",
            ResultGroup::Failed => "failed",
            ResultGroup::NotSent => "not-sent",
            ResultGroup::Invalid => "invalid",
            ResultGroup::Done => "done",
            ResultGroup::DoneEarlier => "done-earlier",
        }
    }
}

/// Where a row of `group` goes among `groups` (its sheet, its totals).
fn position(groups: &[ResultGroup], group: ResultGroup) -> Option<usize> {
    groups.iter().position(|g| *g == group)
}

/// One row of a run as the results show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    pub group: ResultGroup,
    /// The spreadsheet row (as Excel numbers it).
    pub row: u32,
    /// The row's cells as text, aligned with [`ResultsDoc::columns`].
    pub cells: Vec<String>,
    /// The journal state (`created`, `exists_id_unknown`, ...).
    pub state: String,
    pub connectpay_id: Option<String>,
    pub fee: Option<Decimal>,
    pub status_code: Option<String>,
    /// PayPro's answer, the last error, why the row is invalid, or which earlier run
    /// created it.
    pub message: Option<String>,
    pub attempts: u32,
    /// The order amount (orders only), for the Summary's totals.
    pub amount: Option<Decimal>,
}

/// What the results are about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsDoc {
    pub run: i64,
    pub file: String,
    pub sheet: Option<String>,
    pub kind: String,
    pub merchant_id: String,
    pub base_url: String,
    pub state: String,
    /// Times in local time.
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub generated_at: NaiveDateTime,
    /// The spreadsheet's header names, in its column order.
    pub columns: Vec<String>,
}

/// Counts and totals of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct GroupTotals {
    pub rows: u64,
    /// Sum of the order amounts (orders only).
    pub amount: Decimal,
    pub fees: Decimal,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsWritten {
    /// The workbook, or every CSV file (the groups' then the summary).
    pub paths: Vec<PathBuf>,
    pub groups: Vec<(ResultGroup, GroupTotals)>,
}

impl ResultsWritten {
    pub fn rows(&self) -> u64 {
        self.groups.iter().map(|(_, t)| t.rows).sum()
    }

    pub fn of(&self, group: ResultGroup) -> GroupTotals {
        self.groups
            .iter()
            .find(|(g, _)| *g == group)
            .map(|(_, t)| *t)
            .unwrap_or_default()
    }
}

/// Adds a written row to its group's totals and reports progress; returns the rows
/// written so far. A row of a group the run's kind does not have is an error naming it
/// (never dropped unseen).
fn count(
    totals: &mut [GroupTotals],
    groups: &[ResultGroup],
    r: &ResultRow,
    done: u64,
    total: u64,
    progress: OnProgress<'_>,
    path: &Path,
) -> Result<u64, WriteError> {
    let Some(t) = position(groups, r.group).and_then(|i| totals.get_mut(i)) else {
        return Err(misplaced(path, r));
    };
    t.rows += 1;
    t.amount += r.amount.unwrap_or_default();
    t.fees += r.fee.unwrap_or_default();
    let done = done + 1;
    if done.is_multiple_of(PROGRESS_EVERY) && progress(Written { rows: done, total }).is_break() {
        return Err(WriteError::Cancelled {
            path: path.to_path_buf(),
        });
    }
    Ok(done)
}

fn misplaced(path: &Path, r: &ResultRow) -> WriteError {
    WriteError::Cell {
        path: path.to_path_buf(),
        sheet: r.group.sheet_name().to_string(),
        row: r.row,
        column: "State".to_string(),
        value: r.state.clone(),
        problem: "this outcome has no sheet in the results of this kind of run".to_string(),
    }
}

fn headers(doc: &ResultsDoc) -> Vec<String> {
    std::iter::once("Row".to_string())
        .chain(doc.columns.iter().cloned())
        .chain(RESULT_COLUMNS.iter().map(|s| s.to_string()))
        .collect()
}

/// Writes the results workbook to `path` (staged, then renamed). `rows` may come in
/// any order; `total` is their number, for progress.
pub fn write_results<I, E>(
    path: &Path,
    doc: &ResultsDoc,
    rows: I,
    total: u64,
    overwrite: Overwrite,
    progress: OnProgress<'_>,
) -> Result<ResultsWritten, WriteError>
where
    I: IntoIterator<Item = Result<ResultRow, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let mut staged = Staged::new(path, overwrite)?;
    let formats = Formats::new();
    let mut workbook = Workbook::new();
    let headers = headers(doc);
    let width = doc.columns.len();
    let groups = ResultGroup::for_kind(&doc.kind);
    let mut sheets = Vec::with_capacity(groups.len());
    for g in groups {
        let ws = workbook
            .new_worksheet_with_constant_memory()
            .map_err(|source| WriteError::Xlsx {
                path: path.to_path_buf(),
                source,
            })?;
        sheets.push(SheetOut::new(
            ws,
            g.sheet_name(),
            path,
            headers.clone(),
            &formats,
        )?);
    }
    let mut totals = vec![GroupTotals::default(); groups.len()];
    let mut done = 0u64;
    for r in rows {
        let r = r.map_err(|e| WriteError::Source {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        let Some(s) = position(groups, r.group).and_then(|g| sheets.get_mut(g)) else {
            return Err(misplaced(path, &r));
        };
        s.integer(0, u64::from(r.row), &formats.integer)?;
        for (i, cell) in r.cells.iter().take(width).enumerate() {
            s.text(1 + i, cell, Some(&formats.text))?;
        }
        let c = 1 + width;
        s.text(c, &r.state, None)?;
        s.opt_text(c + 1, r.connectpay_id.as_deref(), Some(&formats.text))?;
        s.money(c + 2, r.fee, &formats.money)?;
        s.opt_text(c + 3, r.status_code.as_deref(), Some(&formats.text))?;
        s.opt_text(c + 4, r.message.as_deref(), None)?;
        s.integer(c + 5, u64::from(r.attempts), &formats.integer)?;
        s.row += 1;
        done = count(&mut totals, groups, &r, done, total, progress, path)?;
    }
    let summary = results_summary(path, doc, &formats, groups, &totals)?;
    workbook.push_worksheet(summary);
    for (s, t) in sheets.iter_mut().zip(&totals) {
        s.autofilter(u32::try_from(t.rows).unwrap_or(u32::MAX))?;
        s.set_widths()?;
    }
    for s in sheets {
        workbook.push_worksheet(s.ws);
    }
    if progress(Written { rows: done, total }).is_break() {
        return Err(WriteError::Cancelled {
            path: path.to_path_buf(),
        });
    }
    save(&mut workbook, &mut staged)?;
    let path = staged.commit()?;
    Ok(ResultsWritten {
        paths: vec![path],
        groups: groups.iter().copied().zip(totals).collect(),
    })
}

fn local_time(
    s: &mut SheetOut<'_>,
    t: Option<NaiveDateTime>,
    f: &Formats,
) -> Result<(), WriteError> {
    s.date(1, t, f, true)
}

/// The Summary sheet: the run, then Outcome / Rows / Order amount / Fees per group and
/// a total row of SUM formulas.
fn results_summary(
    path: &Path,
    doc: &ResultsDoc,
    formats: &Formats,
    groups: &[ResultGroup],
    totals: &[GroupTotals],
) -> Result<Worksheet, WriteError> {
    let mut s = SheetOut::new(
        Worksheet::new(),
        "Summary",
        path,
        vec!["Run".to_string(), doc.run.to_string()],
        formats,
    )?;
    let rows: [(&str, Option<&str>); 6] = [
        ("File", Some(&doc.file)),
        ("Sheet", doc.sheet.as_deref()),
        ("Kind", Some(&doc.kind)),
        ("Merchant", Some(&doc.merchant_id)),
        ("Server", Some(&doc.base_url)),
        ("Run state", Some(&doc.state)),
    ];
    for (label, value) in rows {
        s.text(0, label, Some(&formats.bold))?;
        s.opt_text(1, value, Some(&formats.text))?;
        s.row += 1;
    }
    for (label, t) in [
        ("Started", Some(doc.created_at)),
        ("Finished", doc.finished_at),
        ("Generated at", Some(doc.generated_at)),
    ] {
        s.text(0, label, Some(&formats.bold))?;
        local_time(&mut s, t, formats)?;
        s.row += 1;
    }
    s.row += 1;
    for (col, h) in ["Outcome", "Rows", "Order amount", "Fees"]
        .iter()
        .enumerate()
    {
        s.text(col, h, Some(&formats.header))?;
    }
    s.row += 1;
    let first = s.row + 1;
    let mut sum = GroupTotals::default();
    for (g, t) in groups.iter().zip(totals) {
        s.text(0, g.sheet_name(), None)?;
        s.integer(1, t.rows, &formats.integer)?;
        s.money(2, Some(t.amount), &formats.money)?;
        s.money(3, Some(t.fees), &formats.money)?;
        sum.rows += t.rows;
        sum.amount += t.amount;
        sum.fees += t.fees;
        s.row += 1;
    }
    let last = s.row;
    s.text(0, "Total", Some(&formats.bold))?;
    s.formula(
        1,
        &format!("=SUM(B{first}:B{last})"),
        &sum.rows.to_string(),
        &formats.integer,
        sum.rows.to_string().len(),
    )?;
    for (col, v) in [(2, sum.amount), (3, sum.fees)] {
        let l = letters(col);
        s.formula(
            col,
            &format!("=SUM({l}{first}:{l}{last})"),
            &result_text(v),
            &formats.money_bold,
            super::money_width(v),
        )?;
    }
    s.set_widths()?;
    Ok(s.ws)
}

/// The CSV files for a run: `{stem}-{group}.csv` for every group and
/// `{stem}-summary.csv`, in `dir`. Money as plain decimals (`1234.50`), times as ISO
/// 8601. All are staged and renamed only once every one is complete; with
/// [`Overwrite::Refuse`] none is written if any exists.
pub fn write_results_csv<I, E>(
    dir: &Path,
    stem: &str,
    doc: &ResultsDoc,
    rows: I,
    total: u64,
    overwrite: Overwrite,
    progress: OnProgress<'_>,
) -> Result<ResultsWritten, WriteError>
where
    I: IntoIterator<Item = Result<ResultRow, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let path_of = |suffix: &str| dir.join(format!("{stem}-{suffix}.csv"));
    let groups = ResultGroup::for_kind(&doc.kind);
    let mut targets: Vec<PathBuf> = groups.iter().map(|g| path_of(g.file_suffix())).collect();
    targets.push(path_of("summary"));
    for t in &targets {
        super::check_target(t, overwrite)?;
    }
    let mut staged = Vec::with_capacity(targets.len());
    for t in &targets {
        staged.push(Staged::new(t, overwrite)?);
    }
    let csv_err = |path: &Path, e: csv::Error| WriteError::Io {
        path: path.to_path_buf(),
        context: "writing CSV",
        source: std::io::Error::other(e.to_string()),
    };
    let headers = headers(doc);
    let width = doc.columns.len();
    let mut writers: Vec<csv::Writer<std::io::BufWriter<std::fs::File>>> = Vec::new();
    for (st, t) in staged.iter_mut().zip(&targets) {
        let file = st.file().try_clone().map_err(|source| WriteError::Io {
            path: t.clone(),
            context: "opening the temporary file",
            source,
        })?;
        writers.push(csv::Writer::from_writer(std::io::BufWriter::new(file)));
    }
    for (w, t) in writers.iter_mut().zip(&targets).take(groups.len()) {
        w.write_record(&headers).map_err(|e| csv_err(t, e))?;
    }
    let mut totals = vec![GroupTotals::default(); groups.len()];
    let mut done = 0u64;
    let mut record: Vec<String> = Vec::with_capacity(headers.len());
    for r in rows {
        let r = r.map_err(|e| WriteError::Source {
            path: dir.to_path_buf(),
            source: Box::new(e),
        })?;
        let Some(g) = position(groups, r.group) else {
            return Err(misplaced(dir, &r));
        };
        record.clear();
        record.push(r.row.to_string());
        for i in 0..width {
            record.push(r.cells.get(i).cloned().unwrap_or_default());
        }
        record.push(r.state.clone());
        record.push(r.connectpay_id.clone().unwrap_or_default());
        record.push(r.fee.map(plain).unwrap_or_default());
        record.push(r.status_code.clone().unwrap_or_default());
        record.push(r.message.clone().unwrap_or_default());
        record.push(r.attempts.to_string());
        if let (Some(w), Some(t)) = (writers.get_mut(g), targets.get(g)) {
            w.write_record(&record).map_err(|e| csv_err(t, e))?;
        }
        done = count(&mut totals, groups, &r, done, total, progress, dir)?;
    }
    if let (Some(w), Some(t)) = (writers.last_mut(), targets.last()) {
        let iso = |t: NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        let mut lines: Vec<[String; 4]> = vec![
            [
                "Run".into(),
                doc.run.to_string(),
                String::new(),
                String::new(),
            ],
            [
                "File".into(),
                doc.file.clone(),
                String::new(),
                String::new(),
            ],
            [
                "Sheet".into(),
                doc.sheet.clone().unwrap_or_default(),
                String::new(),
                String::new(),
            ],
            [
                "Kind".into(),
                doc.kind.clone(),
                String::new(),
                String::new(),
            ],
            [
                "Merchant".into(),
                doc.merchant_id.clone(),
                String::new(),
                String::new(),
            ],
            [
                "Server".into(),
                doc.base_url.clone(),
                String::new(),
                String::new(),
            ],
            [
                "Run state".into(),
                doc.state.clone(),
                String::new(),
                String::new(),
            ],
            [
                "Started".into(),
                iso(doc.created_at),
                String::new(),
                String::new(),
            ],
            [
                "Finished".into(),
                doc.finished_at.map(iso).unwrap_or_default(),
                String::new(),
                String::new(),
            ],
            [
                "Generated at".into(),
                iso(doc.generated_at),
                String::new(),
                String::new(),
            ],
            [
                "Outcome".into(),
                "Rows".into(),
                "Order amount".into(),
                "Fees".into(),
            ],
        ];
        let mut sum = GroupTotals::default();
        for (g, tot) in groups.iter().zip(&totals) {
            lines.push([
                g.sheet_name().into(),
                tot.rows.to_string(),
                plain(tot.amount),
                plain(tot.fees),
            ]);
            sum.rows += tot.rows;
            sum.amount += tot.amount;
            sum.fees += tot.fees;
        }
        lines.push([
            "Total".into(),
            sum.rows.to_string(),
            plain(sum.amount),
            plain(sum.fees),
        ]);
        for l in &lines {
            w.write_record(l).map_err(|e| csv_err(t, e))?;
        }
    }
    for (w, t) in writers.iter_mut().zip(&targets) {
        w.flush().map_err(|source| WriteError::Io {
            path: t.clone(),
            context: "writing CSV",
            source,
        })?;
    }
    drop(writers);
    if progress(Written { rows: done, total }).is_break() {
        return Err(WriteError::Cancelled {
            path: dir.to_path_buf(),
        });
    }
    let mut paths = Vec::with_capacity(staged.len());
    for st in staged {
        paths.push(st.commit()?);
    }
    Ok(ResultsWritten {
        paths,
        groups: groups.iter().copied().zip(totals).collect(),
    })
}

/// An amount as CSV gets it: at least two decimals, never rounded.
fn plain(d: Decimal) -> String {
    let mut d = d;
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}
