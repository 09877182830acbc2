//! Reading spreadsheets (xlsx/xlsm/xlsb/xls/ods/csv) into typed domain items with issues.
//!
//! `read` opens a file, checks that it is what its name says and that its size follows
//! its data (`guard`), picks a sheet, finds the header row (`header`), matches its columns
//! to the kind's fields (`domain::fields`), coerces every cell (`coerce`), settles what
//! only a whole column can decide (`decide`) and returns `Imported`: one `ImportedRow` per
//! non-blank row with its row number, key, typed item (when the row has no error) and
//! issues. Nothing here knows about HTTP or SQLite.

pub mod cell;
pub mod clean;
pub mod codes;
pub mod coerce;
mod csv_text;
pub mod decide;
mod guard;
mod header;
mod import;
mod read;
pub mod write;

pub use cell::CellValue;
pub use coerce::DateOrder;
pub use import::{ImportOptions, Importer};
pub use read::{ReadOptions, read, read_with};

use crate::domain::{Consumer, ConsumerUpdate, Issue, Kind, Order, OrderRef, Refund, Severity};
use serde::Serialize;
use std::path::PathBuf;

/// A typed item ready to be sent; which variant follows from `Imported::kind`
/// (mark-paid and mark-blocked both give `OrderRef`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Item {
    Order(Order),
    Consumer(Consumer),
    ConsumerUpdate(ConsumerUpdate),
    OrderRef(OrderRef),
    Refund(Refund),
}

impl Item {
    /// The order number or consumer id that identifies the item.
    pub fn key(&self) -> &str {
        match self {
            Item::Order(o) => &o.order_number,
            Item::Consumer(c) => &c.consumer_id,
            Item::ConsumerUpdate(u) => &u.consumer_id,
            Item::OrderRef(r) => &r.order_number,
            Item::Refund(r) => &r.order_number,
        }
    }
}

/// One non-blank data row of the sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedRow {
    /// The row number as Excel shows it (the header is row 1 when it is the first row).
    pub row: u32,
    /// Order number or consumer id as read (trimmed); may be empty or malformed when the
    /// row is invalid.
    pub key: String,
    /// The typed item, present exactly when the row has no error.
    pub item: Option<Item>,
    /// Errors and warnings of this row, in column order, then cross-row findings.
    pub issues: Vec<Issue>,
    /// For invalid rows, the cells as the clerk sees them, aligned with
    /// `Imported::columns` (for an error report to fix and re-import). Empty for valid
    /// rows unless read with `ReadOptions::keep_cells` (for a run's results files).
    pub raw: Vec<String>,
}

impl ImportedRow {
    pub fn is_valid(&self) -> bool {
        self.item.is_some()
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Issue> {
        self.issues
            .iter()
            .filter(|i| i.severity == Severity::Warning)
    }
}

/// One column of the header row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// 0-based column index.
    pub index: usize,
    /// `A`, `B`, …
    pub letter: String,
    /// The header text as found (trimmed).
    pub header: String,
    /// The spec field it was matched to, `None` for unknown or blank headers.
    pub field: Option<&'static str>,
}

/// A spreadsheet read and validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imported {
    pub file: PathBuf,
    /// The sheet read (for CSV: the file name without extension).
    pub sheet: String,
    pub kind: Kind,
    /// True when `kind` was guessed from the headers rather than given.
    pub kind_guessed: bool,
    /// Excel row number of the header row.
    pub header_row: u32,
    pub columns: Vec<Column>,
    /// Headers that match no field of the kind (reported as warnings, ignored).
    pub unknown_columns: Vec<String>,
    pub rows: Vec<ImportedRow>,
    /// Sheet-level issues (unknown columns), on the header row.
    pub issues: Vec<Issue>,
}

impl Imported {
    pub fn valid_count(&self) -> usize {
        self.rows.iter().filter(|r| r.is_valid()).count()
    }

    pub fn invalid_count(&self) -> usize {
        self.rows.len() - self.valid_count()
    }

    /// Every issue, sheet-level first, then by row.
    pub fn all_issues(&self) -> impl Iterator<Item = &Issue> {
        self.issues
            .iter()
            .chain(self.rows.iter().flat_map(|r| r.issues.iter()))
    }

    pub fn warning_count(&self) -> usize {
        self.all_issues()
            .filter(|i| i.severity == Severity::Warning)
            .count()
    }

    pub fn error_count(&self) -> usize {
        self.all_issues().filter(|i| i.is_error()).count()
    }

    /// True when anything is wrong: an invalid row, or a sheet-level error such as a
    /// header with no data rows below it.
    pub fn has_errors(&self) -> bool {
        self.invalid_count() > 0 || self.issues.iter().any(Issue::is_error)
    }

    /// The rows that may be sent, with their row numbers.
    pub fn valid_items(&self) -> impl Iterator<Item = (u32, &Item)> {
        self.rows
            .iter()
            .filter_map(|r| r.item.as_ref().map(|i| (r.row, i)))
    }
}

/// Why a file cannot be used at all. Each message is one line and names the file.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("{}: cannot open: {reason}", file.display())]
    Open { file: PathBuf, reason: String },
    #[error("{}: unsupported file type (expected .xlsx, .xlsm, .xlsb, .xls, .ods, .csv, .tsv or .txt)", file.display())]
    Unsupported { file: PathBuf },
    #[error("{}: not a readable {format} spreadsheet ({reason})", file.display())]
    NotASpreadsheet {
        file: PathBuf,
        format: &'static str,
        reason: String,
    },
    /// The content is not what the name says (`not an xlsx file: it is not a ZIP
    /// archive — was it saved as CSV with an .xlsx name?`).
    #[error("{}: {reason}", file.display())]
    Mismatch { file: PathBuf, reason: String },
    #[error("{}: the file is damaged or incomplete ({reason}) — was the download or copy interrupted?", file.display())]
    Damaged { file: PathBuf, reason: String },
    #[error("{}: the workbook is protected with a password (encrypted), so it cannot be read: open it in Excel, remove the password (File > Info > Protect Workbook) and save it", file.display())]
    Encrypted { file: PathBuf },
    /// The file's declared size or stray cells are out of all proportion to its data.
    #[error("{}: {reason}", file.display())]
    TooLarge { file: PathBuf, reason: String },
    #[error("{}: not UTF-8 text at line {line}{detail} (save it as \"CSV UTF-8\")", file.display())]
    NotUtf8 {
        file: PathBuf,
        line: u64,
        detail: String,
    },
    #[error("{}: no sheet named \"{name}\" (sheets: {available})", file.display())]
    SheetNotFound {
        file: PathBuf,
        name: String,
        available: String,
    },
    #[error("{}: {}", file.display(), if let Some(s) = sheet { format!("sheet \"{s}\" is empty") } else { "the workbook has no non-empty sheet".to_string() })]
    Empty {
        file: PathBuf,
        sheet: Option<String>,
    },
    #[error("{}, sheet \"{sheet}\": no header row: expected {expected}; the first non-empty row ({row}) has {found}", file.display())]
    NoHeader {
        file: PathBuf,
        sheet: String,
        row: u32,
        expected: String,
        found: String,
    },
    #[error("{}: no sheet has a header row ({}); name the sheet with --sheet or the kind with --kind", file.display(), tried.join("; "))]
    NoHeaderInAnySheet { file: PathBuf, tried: Vec<String> },
    #[error("{}, sheet \"{sheet}\": the header (row {row}) fits {} equally: give --kind", file.display(), kinds.join(" and "))]
    AmbiguousKind {
        file: PathBuf,
        sheet: String,
        row: u32,
        kinds: Vec<String>,
    },
    #[error("{}, sheet \"{sheet}\": missing mandatory column{} {} for {kind}{}; headers found: {found}",
        file.display(),
        if missing.len() == 1 { "" } else { "s" },
        missing.join(", "),
        if *guessed { " (guessed from the headers; use --kind to choose)" } else { "" })]
    MissingColumns {
        file: PathBuf,
        sheet: String,
        kind: Kind,
        guessed: bool,
        missing: Vec<String>,
        found: String,
    },
    #[error("{}, sheet \"{sheet}\": columns {first} and {second} both match {field}; keep one", file.display())]
    DuplicateColumn {
        file: PathBuf,
        sheet: String,
        field: String,
        first: String,
        second: String,
    },
    #[error("{}: reading failed: {reason}", file.display())]
    Read { file: PathBuf, reason: String },
}
