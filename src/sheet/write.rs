//! Writing typed xlsx workbooks (and their CSV twins) for people who filter, sum and
//! forward them: the paid-orders report ([`write_paid_orders`]), a run's results
//! ([`write_results`], [`write_results_csv`]) and a consumer look-up
//! ([`write_consumers`]). Callable from any face: nothing here prints;
//! progress goes to a callback that can also cancel.
//!
//! Rules every workbook follows:
//! - Written with rust_xlsxwriter's `constant_memory` mode: rows stream to disk as they
//!   come, so memory does not grow with the row count. Column widths are fitted from
//!   the data as it streams (constant memory cannot autofit after the fact).
//! - Staged: everything is written to a temporary file next to the target and renamed
//!   onto it at the end, so an interrupted, failed or cancelled export never leaves a
//!   half-file under the final name. An existing file is replaced only with
//!   [`Overwrite::Replace`] (`--force`); otherwise refused, also when it appears while
//!   the export runs (the rename itself refuses to clobber).
//! - Money stays `rust_decimal` until the cell: the cell gets the f64 nearest to the
//!   exact decimal value (for a 2-decimal amount below 2^53 cents, `cents / 100`, which
//!   IEEE division rounds correctly), formatted `#,##0.00`. Totals are SUM formulas
//!   whose cached result is the exact decimal sum.
//! - Dates are real date cells (serial numbers with a date format). Excel cannot
//!   represent dates before 1 March 1900 (its 1900 leap-year bug); such a value is
//!   written as ISO text rather than shifted by a day.
//! - Ids, mobiles and other digit strings are text cells, leading zeros kept.
//! - A value Excel cannot hold (text over 32,767 characters) fails the export with the
//!   sheet, row, column and what was expected; nothing is cut.

mod consumers;
mod paid;
mod results;

pub use consumers::{
    CONSUMER_COLUMNS, ConsumersDoc, ConsumersWritten, NOT_FOUND_COLUMNS, write_consumers,
};
pub use paid::{PAID_COLUMNS, PaidOrderRow, PaidOrdersDoc, PaidOrdersWritten, write_paid_orders};
pub use results::{
    GroupTotals, RESULT_COLUMNS, ResultGroup, ResultRow, ResultsDoc, ResultsWritten, write_results,
    write_results_csv,
};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, Worksheet, XlsxError};
use std::fs::File;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// What to do when the target file already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse (the default; nothing is written).
    Refuse,
    /// Replace it atomically (`--force`).
    Replace,
}

/// How far an export is, reported every [`PROGRESS_EVERY`] rows and at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub rows: u64,
    pub total: u64,
}

/// Rows between two progress callbacks.
pub const PROGRESS_EVERY: u64 = 1000;

/// The progress callback: [`ControlFlow::Break`] cancels the export (nothing is left
/// under the final name).
pub type OnProgress<'a> = &'a mut dyn FnMut(Written) -> ControlFlow<()>;

/// A progress callback that never cancels.
pub fn no_progress(_: Written) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// Why an export failed. In every case nothing was left under the final name.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{} already exists; choose another name or pass --force to replace it; nothing was written", path.display())]
    Exists { path: PathBuf },

    #[error("{}: {context}: {source}; nothing was written", path.display())]
    Io {
        path: PathBuf,
        context: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A value that cannot go into a cell as it is.
    #[error(
        "{}: sheet \"{sheet}\", row {row}, column \"{column}\": {problem} (value {value}); nothing was written",
        path.display()
    )]
    Cell {
        path: PathBuf,
        sheet: String,
        /// The row as Excel numbers it.
        row: u32,
        column: String,
        value: String,
        problem: String,
    },

    #[error("{}: the workbook could not be written: {source}; nothing was written", path.display())]
    Xlsx {
        path: PathBuf,
        #[source]
        source: XlsxError,
    },

    /// The rows to write could not be read (e.g. from the journal).
    #[error("{}: reading the rows to write failed: {source}; nothing was written", path.display())]
    Source {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("{}: export cancelled; nothing was written", path.display())]
    Cancelled { path: PathBuf },
}

/// A file being written: a temporary file in the target's directory, renamed onto the
/// target by [`Staged::commit`]. Dropped without a commit, the temporary file is removed.
pub(crate) struct Staged {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
    overwrite: Overwrite,
}

impl Staged {
    /// Refuses at once when the target exists and may not be replaced (before any work
    /// is done); otherwise creates the temporary file beside it.
    pub(crate) fn new(path: &Path, overwrite: Overwrite) -> Result<Staged, WriteError> {
        check_target(path, overwrite)?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".to_string());
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            .tempfile_in(&dir)
            .map_err(|source| WriteError::Io {
                path: path.to_path_buf(),
                context: "cannot create a temporary file in its directory",
                source,
            })?;
        Ok(Staged {
            tmp,
            path: path.to_path_buf(),
            overwrite,
        })
    }

    pub(crate) fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// The temporary file's path (tests look for it).
    #[cfg(test)]
    pub(crate) fn temp_path(&self) -> &Path {
        self.tmp.path()
    }

    /// Flushes the data to disk and renames the file onto the target.
    pub(crate) fn commit(mut self) -> Result<PathBuf, WriteError> {
        let path = self.path.clone();
        let io = |context: &'static str| {
            let path = path.clone();
            move |source| WriteError::Io {
                path,
                context,
                source,
            }
        };
        self.tmp.as_file_mut().flush().map_err(io("writing"))?;
        self.tmp
            .as_file()
            .sync_all()
            .map_err(io("flushing to disk"))?;
        let persisted = match self.overwrite {
            Overwrite::Replace => self.tmp.persist(&path),
            Overwrite::Refuse => self.tmp.persist_noclobber(&path),
        };
        if let Err(e) = persisted {
            // `e.file` is dropped here, which removes the temporary file.
            return Err(if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                WriteError::Exists { path }
            } else {
                WriteError::Io {
                    path,
                    context: "cannot rename the finished file into place",
                    source: e.error,
                }
            });
        }
        // The rename is durable once the directory is.
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(path)
    }
}

/// Refuses an existing target unless it may be replaced; refuses a directory always.
pub fn check_target(path: &Path, overwrite: Overwrite) -> Result<(), WriteError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Err(WriteError::Io {
            path: path.to_path_buf(),
            context: "is a directory",
            source: std::io::Error::from(std::io::ErrorKind::IsADirectory),
        }),
        Ok(_) if overwrite == Overwrite::Refuse => Err(WriteError::Exists {
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

/// The f64 a cell gets for an amount: the nearest double to its exact decimal value.
pub fn money_cell(amount: Decimal) -> f64 {
    let n = amount.normalize();
    if n.scale() <= 2 {
        let cents = n.mantissa() * 10i128.pow(2 - n.scale());
        // Below 2^53 both operands are exact, and IEEE division rounds the quotient
        // correctly: the nearest double to cents / 100.
        if cents.unsigned_abs() < (1u128 << 53) {
            return cents as f64 / 100.0;
        }
    }
    // Rust's float parser is correctly rounded too; a Decimal's text always parses.
    n.to_string().parse::<f64>().unwrap_or(f64::NAN)
}

/// Characters `#,##0.00` shows for `amount` (counted without formatting it: this runs
/// for every amount cell).
pub fn money_width(amount: Decimal) -> usize {
    let int = amount.mantissa().unsigned_abs() / 10u128.pow(amount.scale());
    let digits = int.checked_ilog10().map_or(1, |l| l as usize + 1);
    let sign = usize::from(amount.is_sign_negative() && !amount.is_zero());
    digits + (digits - 1) / 3 + 3 + sign
}

/// Excel's serial date (days since 1899-12-30, time as the fraction), or `None` before
/// 1 March 1900 or after 9999, which Excel cannot show as dates.
pub fn excel_serial(t: NaiveDateTime) -> Option<f64> {
    let first = NaiveDate::from_ymd_opt(1900, 3, 1)?;
    if t.date() < first || t.year() > 9999 {
        return None;
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let days = (t.date() - epoch).num_days();
    let ms = u64::from(t.num_seconds_from_midnight()) * 1000
        + u64::from(t.nanosecond() / 1_000_000).min(999);
    Some(days as f64 + ms as f64 / 86_400_000.0)
}

/// Date formats of the workbooks (day first, as clerks in Pakistan write dates).
pub const DATE_FORMAT: &str = "dd/mm/yyyy";
pub const DATETIME_FORMAT: &str = "dd/mm/yyyy hh:mm:ss";
pub const MONEY_FORMAT: &str = "#,##0.00";

/// The formats a workbook's sheets share.
pub(crate) struct Formats {
    pub header: Format,
    pub text: Format,
    pub money: Format,
    pub money_bold: Format,
    pub date: Format,
    pub datetime: Format,
    pub integer: Format,
    pub bold: Format,
}

impl Formats {
    pub(crate) fn new() -> Formats {
        Formats {
            header: Format::new().set_bold(),
            text: Format::new().set_num_format("@"),
            money: Format::new().set_num_format(MONEY_FORMAT),
            money_bold: Format::new().set_num_format(MONEY_FORMAT).set_bold(),
            date: Format::new().set_num_format(DATE_FORMAT),
            datetime: Format::new().set_num_format(DATETIME_FORMAT),
            integer: Format::new().set_num_format("0"),
            bold: Format::new().set_bold(),
        }
    }
}

/// Widest and narrowest column Excel gets (in characters).
const MIN_WIDTH: usize = 6;
const MAX_WIDTH: usize = 60;

/// One sheet being streamed: the next row to write, the widest value per column, and
/// the export's path and sheet name for error messages.
pub(crate) struct SheetOut<'p> {
    pub ws: Worksheet,
    pub name: String,
    pub path: &'p Path,
    pub headers: Vec<String>,
    /// 0-based row the next data row goes to.
    pub row: u32,
    widths: Vec<usize>,
}

impl<'p> SheetOut<'p> {
    /// A sheet named `name` with a bold, frozen header row of `headers`.
    pub(crate) fn new(
        mut ws: Worksheet,
        name: &str,
        path: &'p Path,
        headers: Vec<String>,
        formats: &Formats,
    ) -> Result<SheetOut<'p>, WriteError> {
        let xlsx = |source| WriteError::Xlsx {
            path: path.to_path_buf(),
            source,
        };
        ws.set_name(name).map_err(xlsx)?;
        for (col, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, col_num(col)?, h.as_str(), &formats.header)
                .map_err(xlsx)?;
        }
        ws.set_freeze_panes(1, 0).map_err(xlsx)?;
        let widths = headers.iter().map(|h| h.chars().count() + 2).collect();
        Ok(SheetOut {
            ws,
            name: name.to_string(),
            path,
            headers,
            row: 1,
            widths,
        })
    }

    fn fit(&mut self, col: usize, chars: usize) {
        if let Some(w) = self.widths.get_mut(col)
            && chars > *w
        {
            *w = chars;
        }
    }

    fn cell_error(&self, col: usize, value: &str, problem: impl Into<String>) -> WriteError {
        let mut shown: String = value.chars().take(40).collect();
        if value.chars().count() > 40 {
            shown.push('…');
        }
        WriteError::Cell {
            path: self.path.to_path_buf(),
            sheet: self.name.clone(),
            row: self.row + 1,
            column: self
                .headers
                .get(col)
                .cloned()
                .unwrap_or_else(|| crate::sheet::cell::column_letters(col)),
            value: format!("{shown:?}"),
            problem: problem.into(),
        }
    }

    fn xlsx(&self, col: usize, value: &str, e: XlsxError) -> WriteError {
        match e {
            XlsxError::MaxStringLengthExceeded => self.cell_error(
                col,
                value,
                format!(
                    "{} characters of text; an Excel cell holds at most 32,767",
                    value.chars().count()
                ),
            ),
            other => WriteError::Xlsx {
                path: self.path.to_path_buf(),
                source: other,
            },
        }
    }

    /// A text cell (kept as text, never read as a number); empty text leaves the cell
    /// blank. Digit strings get the text format `@` too, so that editing the cell in
    /// Excel keeps them text; other text goes without a format (a format costs a lookup
    /// per cell).
    pub(crate) fn text(
        &mut self,
        col: usize,
        value: &str,
        f: Option<&Format>,
    ) -> Result<(), WriteError> {
        if value.is_empty() {
            return Ok(());
        }
        let c = col_num(col)?;
        let written = match f {
            Some(f) => self.ws.write_string_with_format(self.row, c, value, f),
            None => self.ws.write_string(self.row, c, value),
        };
        if let Err(e) = written {
            return Err(self.xlsx(col, value, e));
        }
        self.fit(col, value.chars().count());
        Ok(())
    }

    pub(crate) fn opt_text(
        &mut self,
        col: usize,
        value: Option<&str>,
        f: Option<&Format>,
    ) -> Result<(), WriteError> {
        match value {
            Some(v) => self.text(col, v, f),
            None => Ok(()),
        }
    }

    pub(crate) fn money(
        &mut self,
        col: usize,
        value: Option<Decimal>,
        f: &Format,
    ) -> Result<(), WriteError> {
        let Some(v) = value else { return Ok(()) };
        let c = col_num(col)?;
        if let Err(e) = self
            .ws
            .write_number_with_format(self.row, c, money_cell(v), f)
        {
            return Err(self.xlsx(col, &v.to_string(), e));
        }
        self.fit(col, money_width(v));
        Ok(())
    }

    pub(crate) fn integer(&mut self, col: usize, value: u64, f: &Format) -> Result<(), WriteError> {
        let c = col_num(col)?;
        if let Err(e) = self
            .ws
            .write_number_with_format(self.row, c, value as f64, f)
        {
            return Err(self.xlsx(col, &value.to_string(), e));
        }
        self.fit(col, value.to_string().len());
        Ok(())
    }

    /// A date cell: `date` format when the time is midnight, else date and time.
    pub(crate) fn date(
        &mut self,
        col: usize,
        value: Option<NaiveDateTime>,
        formats: &Formats,
        always_time: bool,
    ) -> Result<(), WriteError> {
        let Some(t) = value else { return Ok(()) };
        let Some(serial) = excel_serial(t) else {
            let text = if t.time() == chrono::NaiveTime::MIN {
                t.format("%Y-%m-%d").to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
            };
            return self.text(col, &text, None);
        };
        let with_time = always_time || t.time() != chrono::NaiveTime::MIN;
        let (f, width) = if with_time {
            (&formats.datetime, DATETIME_FORMAT.len())
        } else {
            (&formats.date, DATE_FORMAT.len())
        };
        let c = col_num(col)?;
        if let Err(e) = self.ws.write_number_with_format(self.row, c, serial, f) {
            return Err(self.xlsx(col, &t.to_string(), e));
        }
        self.fit(col, width);
        Ok(())
    }

    /// A formula with its cached result (what readers that do not recalculate show).
    pub(crate) fn formula(
        &mut self,
        col: usize,
        formula: &str,
        result: &str,
        f: &Format,
        width: usize,
    ) -> Result<(), WriteError> {
        let c = col_num(col)?;
        let fm = rust_xlsxwriter::Formula::new(formula).set_result(result);
        if let Err(e) = self.ws.write_formula_with_format(self.row, c, fm, f) {
            return Err(self.xlsx(col, formula, e));
        }
        self.fit(col, width);
        Ok(())
    }

    /// Sets the fitted widths (call once, after the last row).
    pub(crate) fn set_widths(&mut self) -> Result<(), WriteError> {
        for (col, w) in self.widths.iter().enumerate() {
            let width = (*w + 1).clamp(MIN_WIDTH, MAX_WIDTH);
            self.ws
                .set_column_width(col_num(col)?, width as f64)
                .map_err(|source| WriteError::Xlsx {
                    path: self.path.to_path_buf(),
                    source,
                })?;
        }
        Ok(())
    }

    /// The autofilter over the header and `data_rows` rows below it.
    pub(crate) fn autofilter(&mut self, data_rows: u32) -> Result<(), WriteError> {
        let last_col = col_num(self.headers.len().saturating_sub(1))?;
        self.ws
            .autofilter(0, 0, data_rows.max(1), last_col)
            .map_err(|source| WriteError::Xlsx {
                path: self.path.to_path_buf(),
                source,
            })?;
        Ok(())
    }
}

pub(crate) fn col_num(col: usize) -> Result<u16, WriteError> {
    u16::try_from(col).map_err(|_| WriteError::Xlsx {
        path: PathBuf::new(),
        source: XlsxError::RowColumnLimitError,
    })
}

/// `K` for 0-based column 10, as formulas name columns.
pub(crate) fn letters(col: usize) -> String {
    crate::sheet::cell::column_letters(col)
}

/// Saves `workbook` into the staged file.
pub(crate) fn save(
    workbook: &mut rust_xlsxwriter::Workbook,
    staged: &mut Staged,
) -> Result<(), WriteError> {
    let path = staged.path.clone();
    let mut out = std::io::BufWriter::new(staged.file());
    workbook
        .save_to_writer(&mut out)
        .map_err(|source| WriteError::Xlsx {
            path: path.clone(),
            source,
        })?;
    out.flush().map_err(|source| WriteError::Io {
        path,
        context: "writing",
        source,
    })
}

/// The decimal as the cached result of a formula (plain digits, no separators, never
/// rounded).
pub(crate) fn result_text(d: Decimal) -> String {
    d.normalize().to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::str::FromStr;

    #[test]
    fn money_cells_are_the_nearest_double() {
        for s in [
            "0.10",
            "0.01",
            "45050",
            "1234567.89",
            "-12.34",
            "999999999999.99",
            "0.07",
            "100.5",
        ] {
            let d = Decimal::from_str(s).unwrap();
            let f = money_cell(d);
            assert_eq!(f, s.parse::<f64>().unwrap(), "{s}");
            // And it reads back as the same decimal.
            assert_eq!(Decimal::from_str(&f.to_string()).unwrap(), d.normalize());
        }
        // More than 2 decimals: kept, not rounded to what the format shows.
        let d = Decimal::from_str("10.005").unwrap();
        assert_eq!(money_cell(d), 10.005);
        // Scale 4 from the API, value with 2 decimals.
        assert_eq!(
            money_cell(Decimal::from_str("45050.0000").unwrap()),
            45050.0
        );
    }

    #[test]
    fn money_widths_count_separators() {
        let w = |s: &str| money_width(Decimal::from_str(s).unwrap());
        assert_eq!(w("0"), 4);
        assert_eq!(w("999.5"), 6);
        assert_eq!(w("1000"), 8);
        assert_eq!(w("1234567.89"), 12);
        assert_eq!(w("-1000"), 9);
    }

    #[test]
    fn serial_dates_match_excel() {
        let d = |y, m, day| {
            NaiveDate::from_ymd_opt(y, m, day)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        };
        assert_eq!(excel_serial(d(1900, 3, 1)), Some(61.0));
        assert_eq!(excel_serial(d(2026, 11, 30)), Some(46356.0));
        let t = NaiveDate::from_ymd_opt(2018, 12, 27)
            .unwrap()
            .and_hms_milli_opt(12, 0, 0, 0)
            .unwrap();
        assert_eq!(excel_serial(t), Some(43461.5));
        assert_eq!(excel_serial(d(1900, 2, 28)), None);
    }

    #[test]
    fn an_existing_target_is_refused_unless_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.xlsx");
        std::fs::write(&path, b"old").unwrap();
        assert!(matches!(
            Staged::new(&path, Overwrite::Refuse),
            Err(WriteError::Exists { .. })
        ));
        let mut staged = Staged::new(&path, Overwrite::Replace).unwrap();
        staged.file().write_all(b"new").unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        // A file that appears while the export runs is not clobbered either.
        let other = dir.path().join("y.xlsx");
        let mut staged = Staged::new(&other, Overwrite::Refuse).unwrap();
        let tmp = staged.temp_path().to_path_buf();
        std::fs::write(&other, b"theirs").unwrap();
        staged.file().write_all(b"mine").unwrap();
        assert!(matches!(staged.commit(), Err(WriteError::Exists { .. })));
        assert_eq!(std::fs::read(&other).unwrap(), b"theirs");
        assert!(!tmp.exists(), "the temporary file is removed");
    }

    #[test]
    fn a_dropped_stage_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.xlsx");
        let mut staged = Staged::new(&path, Overwrite::Refuse).unwrap();
        staged.file().write_all(b"half").unwrap();
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
