//! Opening files: what the content is decides the reader (a name that lies is said so),
//! `guard` checks it first, then xlsx/xlsm/xlsb stream through calamine's cell readers
//! (constant memory in the sheet size), xls/ods go through calamine ranges once their
//! grid is known to be sane, and CSV through `csv_text`. Each source pushes rows into an
//! `Importer`.
//!
//! Sheets: the one named with `--sheet` (hidden or not), else the visible worksheets in
//! order, the first with a header row winning; hidden sheets are never read unasked, and
//! a warning says they exist.

use super::cell::CellValue;
use super::coerce::DateOrder;
use super::guard::{self, Content};
use super::{ImportOptions, Imported, Importer, SheetError, csv_text};
use crate::domain::{AmountLimits, Issue, Kind};
use calamine::{
    Data, DataRef, Range, Reader, SheetType, SheetVisible, Xls, Xlsb, Xlsx, XlsxFormulaMetadata,
    open_workbook,
};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

/// Excel's last column (XFD); cells past it are corrupt input, not data.
const MAX_COLUMNS: usize = 16_384;

/// Reads `path` as `kind` (guessed from the headers when `None`), from the sheet named
/// `sheet` or else the first visible one with a header.
pub fn read(path: &Path, kind: Option<Kind>, sheet: Option<&str>) -> Result<Imported, SheetError> {
    read_with(
        path,
        &ReadOptions {
            kind,
            sheet,
            ..ReadOptions::default()
        },
    )
}

/// What to read and which merchant rules to apply beyond the reference's own.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// `None`: guess from the headers.
    pub kind: Option<Kind>,
    /// `None`: the first visible sheet with a header.
    pub sheet: Option<&'a str>,
    /// The merchant's per-order limits from the profile, when known.
    pub amount_limits: Option<AmountLimits>,
    /// How numeric dates read when nothing in their column decides (the profile's or
    /// locale's order; day-first by default, as the guide).
    pub date_order: DateOrder,
    /// Keep every row's cells as text (`ImportedRow::raw`), valid rows too: what a run's
    /// results show as the row's own columns. Off for plain validation (it costs an
    /// allocation per cell).
    pub keep_cells: bool,
    /// Where to publish the number of the last row read, for a face showing a long
    /// read's progress.
    pub rows_read: Option<&'a Arc<AtomicU32>>,
}

/// The format a file is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xlsx,
    Xlsb,
    Xls,
    Ods,
    Csv,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Xlsx => "an Excel workbook (.xlsx)",
            Format::Xlsb => "an Excel binary workbook (.xlsb)",
            Format::Xls => "an Excel 97-2003 workbook (.xls)",
            Format::Ods => "an OpenDocument spreadsheet (.ods)",
            Format::Csv => "text (CSV)",
        }
    }
}

/// `read` with merchant limits and a date order.
pub fn read_with(path: &Path, options: &ReadOptions<'_>) -> Result<Imported, SheetError> {
    let file = path.to_path_buf();
    let meta = std::fs::metadata(path).map_err(|e| SheetError::Open {
        file: file.clone(),
        reason: one_line(&e.to_string()),
    })?;
    if meta.is_dir() {
        return Err(SheetError::Open {
            file,
            reason: "is a directory".into(),
        });
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let named = match ext.as_str() {
        "csv" | "txt" | "tsv" => Format::Csv,
        "xlsx" | "xlsm" => Format::Xlsx,
        "xlsb" => Format::Xlsb,
        "xls" => Format::Xls,
        "ods" => Format::Ods,
        _ => return Err(SheetError::Unsupported { file }),
    };
    let content = guard::sniff(path).map_err(|e| SheetError::Open {
        file: file.clone(),
        reason: one_line(&e.to_string()),
    })?;
    let base = ImportOptions {
        amount_limits: options.amount_limits,
        date_order: options.date_order,
        keep_cells: options.keep_cells,
        ..ImportOptions::default()
    };
    let (format, note) = actual_format(&file, &ext, named, content)?;
    let mut imported = match format {
        Format::Csv => csv_text::read_csv(
            &file,
            options.kind,
            options.sheet,
            base,
            options.rows_read.cloned(),
        ),
        Format::Xlsx | Format::Xlsb => {
            let facts = guard::check_zip(&file)?;
            if facts.ods {
                let why = format!("not an .{ext} file: it is an OpenDocument spreadsheet (.ods)");
                return Err(SheetError::Mismatch { file, reason: why });
            }
            if facts.binary_excel {
                read_xlsb(&file, options, base)
            } else {
                read_xlsx(&file, options, base, facts.full_calc_on_load)
            }
        }
        Format::Ods => {
            let facts = guard::check_zip(&file)?;
            if facts.excel {
                let note = "the file is an Excel workbook despite its .ods name; read as such";
                let imported = read_xlsx(&file, options, base, facts.full_calc_on_load)?;
                return Ok(with_note(imported, note));
            }
            let ods = guard::check_ods(&file)?;
            read_ranges(&file, Format::Ods, options, base, &ods.no_value)
        }
        Format::Xls => {
            guard::check_xls(&file)?;
            read_ranges(&file, Format::Xls, options, base, &[])
        }
    }?;
    if let Some(note) = note {
        imported = with_note(imported, &note);
    }
    Ok(imported)
}

fn with_note(mut imported: Imported, note: &str) -> Imported {
    imported.issues.insert(0, Issue::warning(0, "", note));
    imported
}

/// What the content is, against what the name says: a real workbook under another
/// workbook's name is read with a note; anything else that does not match is refused
/// with one sentence.
fn actual_format(
    file: &Path,
    ext: &str,
    named: Format,
    content: Content,
) -> Result<(Format, Option<String>), SheetError> {
    let mismatch = |reason: String| SheetError::Mismatch {
        file: file.to_path_buf(),
        reason,
    };
    let not = |what: &str| format!("not an .{ext} file: it is {what}");
    match (named, content) {
        (_, Content::Empty) => Err(mismatch("the file is empty (0 bytes)".to_string())),
        (Format::Csv, Content::Text) => Ok((Format::Csv, None)),
        (Format::Csv, Content::Zip) => Ok((
            Format::Xlsx,
            Some(format!(
                "the file is a workbook despite its .{ext} name; read as such"
            )),
        )),
        (Format::Csv, Content::Compound) => Ok((
            Format::Xls,
            Some(format!(
                "the file is an Excel 97-2003 workbook despite its .{ext} name; read as such"
            )),
        )),
        (Format::Xlsx | Format::Xlsb | Format::Ods, Content::Zip) => Ok((named, None)),
        (Format::Xls, Content::Compound) => Ok((Format::Xls, None)),
        (Format::Xls, Content::Zip) => Ok((
            Format::Xlsx,
            Some("the file is an .xlsx workbook despite its .xls name; read as such".into()),
        )),
        (Format::Xlsx | Format::Xlsb, Content::Compound) => {
            // An encrypted xlsx is an OLE file holding the encrypted package.
            let encrypted = cfb::open(file)
                .map(|c| c.is_stream("/EncryptedPackage") || c.is_stream("EncryptedPackage"))
                .unwrap_or(false);
            if encrypted {
                Err(SheetError::Encrypted {
                    file: file.to_path_buf(),
                })
            } else {
                Ok((
                    Format::Xls,
                    Some(format!(
                        "the file is an Excel 97-2003 workbook despite its .{ext} name; read as such"
                    )),
                ))
            }
        }
        (Format::Xlsx | Format::Xlsb | Format::Ods, Content::Text) => Err(mismatch(not(
            "not a ZIP archive but plain text — was it saved as CSV with a spreadsheet's name? Rename it to .csv",
        ))),
        (Format::Xls, Content::Text) => Err(mismatch(not(
            "plain text, not an Excel 97-2003 workbook — was it exported as text with an .xls name? Rename it to .csv or .txt",
        ))),
        (_, Content::Html) => Err(mismatch(not(
            "a web page (HTML), as some systems export \"Excel\" files — open it in Excel and save it as .xlsx",
        ))),
        (_, Content::Xml) => Err(mismatch(not(
            "an XML file (such as Excel 2003 XML) — open it in Excel and save it as .xlsx",
        ))),
        (_, other) => Err(mismatch(format!(
            "not {}: it is {}",
            named.name(),
            other.describe()
        ))),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The sheets to try, in order, and the hidden ones not read (for the warning).
fn candidates(
    file: &Path,
    sheets: &[calamine::Sheet],
    wanted: Option<&str>,
) -> Result<(Vec<String>, Vec<String>), SheetError> {
    let worksheets: Vec<&calamine::Sheet> = sheets
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .collect();
    if let Some(name) = wanted {
        let found = worksheets.iter().find(|s| s.name == name).or_else(|| {
            worksheets
                .iter()
                .find(|s| s.name.trim().eq_ignore_ascii_case(name.trim()))
        });
        return match found {
            Some(s) => Ok((vec![s.name.clone()], Vec::new())),
            None => Err(SheetError::SheetNotFound {
                file: file.to_path_buf(),
                name: name.to_string(),
                available: worksheets
                    .iter()
                    .map(|s| {
                        if s.visible == SheetVisible::Visible {
                            format!("\"{}\"", s.name)
                        } else {
                            format!("\"{}\" (hidden)", s.name)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        };
    }
    let (visible, hidden): (Vec<&calamine::Sheet>, Vec<&calamine::Sheet>) = worksheets
        .iter()
        .partition(|s| s.visible == SheetVisible::Visible);
    Ok((
        visible.iter().map(|s| s.name.clone()).collect(),
        hidden.iter().map(|s| s.name.clone()).collect(),
    ))
}

/// Runs `one` on each candidate sheet: the first that has a header row is the result.
/// Empty sheets and sheets without a header are passed over (named in the error when no
/// sheet has one); any other problem stops at its sheet.
fn first_with_header(
    file: &Path,
    (names, hidden): (Vec<String>, Vec<String>),
    wanted: Option<&str>,
    mut one: impl FnMut(&str) -> Result<Option<Imported>, SheetError>,
) -> Result<Imported, SheetError> {
    let mut tried = Vec::new();
    let mut first_error = None;
    for name in &names {
        match one(name) {
            Ok(Some(mut imported)) => {
                if !hidden.is_empty() {
                    imported.issues.insert(
                        0,
                        Issue::warning(
                            0,
                            "",
                            format!(
                                "the workbook also has hidden sheet{} {}, not read (name one with --sheet to read it)",
                                if hidden.len() == 1 { "" } else { "s" },
                                hidden
                                    .iter()
                                    .map(|h| format!("\"{h}\""))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ),
                    );
                }
                if !tried.is_empty() {
                    imported.issues.insert(
                        0,
                        Issue::warning(
                            0,
                            "",
                            format!(
                                "read sheet \"{}\"; passed over: {}",
                                imported.sheet,
                                tried.join("; ")
                            ),
                        ),
                    );
                }
                return Ok(imported);
            }
            Ok(None) => tried.push(format!("\"{name}\" is empty")),
            Err(e @ (SheetError::NoHeader { .. } | SheetError::AmbiguousKind { .. }))
                if wanted.is_none() =>
            {
                tried.push(format!("\"{name}\" has no header row"));
                first_error.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    if first_error.is_some() || !hidden.is_empty() {
        // One sheet: its own message says more than a list.
        if let Some(e) = first_error
            && names.len() == 1
            && hidden.is_empty()
        {
            return Err(e);
        }
        let mut tried = tried;
        if !hidden.is_empty() {
            tried.push(format!(
                "hidden, not read: {}",
                hidden
                    .iter()
                    .map(|h| format!("\"{h}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        return Err(SheetError::NoHeaderInAnySheet {
            file: file.to_path_buf(),
            tried,
        });
    }
    Err(SheetError::Empty {
        file: file.to_path_buf(),
        sheet: wanted.and(names.first().cloned()),
    })
}

fn read_xlsx(
    file: &PathBuf,
    options: &ReadOptions<'_>,
    base: ImportOptions,
    full_calc_on_load: bool,
) -> Result<Imported, SheetError> {
    let mut wb: Xlsx<BufReader<File>> =
        open_workbook(file).map_err(|e: calamine::XlsxError| SheetError::NotASpreadsheet {
            file: file.clone(),
            format: "Excel (.xlsx)",
            reason: one_line(&e.to_string()),
        })?;
    let is_1904 = wb.has_1904_epoch();
    let names = candidates(file, wb.sheets_metadata(), options.sheet)?;
    first_with_header(file, names, options.sheet, |name| {
        let mut importer = Importer::new(file, name, options.kind)
            .with_options(ImportOptions { is_1904, ..base })
            .with_rows_read(options.rows_read.cloned());
        let mut reader = wb
            .worksheet_cells_reader(name)
            .map_err(|e| SheetError::Read {
                file: file.clone(),
                reason: format!("sheet \"{name}\": {}", one_line(&e.to_string())),
            })?;
        let dims = reader.dimensions();
        importer.reserve(dims.end.0.saturating_sub(dims.start.0) as usize);
        let next = move || -> Result<Option<(u32, u32, CellValue<'_>)>, String> {
            loop {
                let Some(rec) = reader
                    .next_cell_with_formula_metadata()
                    .map_err(|e| one_line(&e.to_string()))?
                else {
                    return Ok(None);
                };
                let (r, c) = rec.pos;
                if c as usize >= MAX_COLUMNS {
                    continue;
                }
                let value = match (&rec.formula, rec.value) {
                    // No saved value, or one the writer left for Excel to calculate
                    // (an error result is an error either way).
                    (Some(f), DataRef::Empty) => CellValue::NoValue(formula_text(f)),
                    (Some(f), v) if full_calc_on_load && !matches!(v, DataRef::Error(_)) => {
                        CellValue::NoValue(formula_text(f))
                    }
                    (_, v) => CellValue::from_data_ref(v),
                };
                if value == CellValue::Empty {
                    continue;
                }
                return Ok(Some((r, c, value)));
            }
        };
        stream_cells(next, &mut importer).map_err(|e| match e {
            StreamError::Sheet(e) => e,
            StreamError::Reader(reason) => SheetError::Read {
                file: file.clone(),
                reason: format!("sheet \"{name}\": {reason}"),
            },
            StreamError::Panicked => SheetError::Read {
                file: file.clone(),
                reason: format!("sheet \"{name}\": the reader failed"),
            },
        })?;
        importer.finish()
    })
}

fn formula_text(f: &XlsxFormulaMetadata) -> String {
    match f {
        XlsxFormulaMetadata::Normal { formula } | XlsxFormulaMetadata::Shared { formula, .. } => {
            formula.clone()
        }
        _ => String::new(),
    }
}

fn read_xlsb(
    file: &PathBuf,
    options: &ReadOptions<'_>,
    base: ImportOptions,
) -> Result<Imported, SheetError> {
    let mut wb: Xlsb<BufReader<File>> =
        open_workbook(file).map_err(|e: calamine::XlsbError| SheetError::NotASpreadsheet {
            file: file.clone(),
            format: "Excel binary (.xlsb)",
            reason: one_line(&e.to_string()),
        })?;
    let names = candidates(file, wb.sheets_metadata(), options.sheet)?;
    first_with_header(file, names, options.sheet, |name| {
        let mut importer = Importer::new(file, name, options.kind)
            .with_options(base)
            .with_rows_read(options.rows_read.cloned());
        let mut reader = wb
            .worksheet_cells_reader(name)
            .map_err(|e| SheetError::Read {
                file: file.clone(),
                reason: format!("sheet \"{name}\": {}", one_line(&e.to_string())),
            })?;
        let next = move || -> Result<Option<(u32, u32, CellValue<'_>)>, String> {
            loop {
                let Some(cell) = reader.next_cell().map_err(|e| one_line(&e.to_string()))? else {
                    return Ok(None);
                };
                let (r, c) = cell.get_position();
                if c as usize >= MAX_COLUMNS {
                    continue;
                }
                let value = CellValue::from_data_ref(cell.get_value().clone());
                if value != CellValue::Empty {
                    return Ok(Some((r, c, value)));
                }
            }
        };
        stream_cells(next, &mut importer).map_err(|e| match e {
            StreamError::Sheet(e) => e,
            StreamError::Reader(reason) => SheetError::Read {
                file: file.clone(),
                reason: format!("sheet \"{name}\": {reason}"),
            },
            StreamError::Panicked => SheetError::Read {
                file: file.clone(),
                reason: format!("sheet \"{name}\": the reader failed"),
            },
        })?;
        importer.finish()
    })
}

enum StreamError {
    Sheet(SheetError),
    Reader(String),
    Panicked,
}

/// Cells handed from the XML thread to the importing thread in one message.
const BATCH_CELLS: usize = 8_192;
/// Batches in flight: bounds the memory held between the two threads.
const BATCHES_IN_FLIGHT: usize = 4;

/// Streams one worksheet's cells (`next`, in row order) and imports them row by row.
/// Parsing the XML and coercing the cells take about the same time, so they run on two
/// threads (scoped, so cells borrow the workbook's shared strings instead of copying
/// them), connected by a bounded channel: memory stays flat whatever the sheet's size.
fn stream_cells<'a>(
    mut next: impl FnMut() -> Result<Option<(u32, u32, CellValue<'a>)>, String> + Send,
    importer: &mut Importer,
) -> Result<(), StreamError> {
    std::thread::scope(|scope| {
        let (tx, rx) =
            std::sync::mpsc::sync_channel::<Vec<(u32, u32, CellValue<'a>)>>(BATCHES_IN_FLIGHT);
        let parser = scope.spawn(move || -> Result<(), String> {
            let mut batch = Vec::with_capacity(BATCH_CELLS);
            while let Some(cell) = next()? {
                batch.push(cell);
                if batch.len() == BATCH_CELLS {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_CELLS));
                    if tx.send(full).is_err() {
                        // The importer stopped (e.g. no header): nothing more to do.
                        return Ok(());
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            Ok(())
        });
        let imported = import_cells(rx, importer);
        // Unblocks a parser waiting on a full channel before joining it.
        let parsed = parser.join();
        imported?;
        match parsed {
            Ok(result) => result.map_err(StreamError::Reader),
            Err(_) => Err(StreamError::Panicked),
        }
    })
}

/// Groups streamed cells into rows (XML order is row order) and pushes each row.
fn import_cells<'a>(
    rx: std::sync::mpsc::Receiver<Vec<(u32, u32, CellValue<'a>)>>,
    importer: &mut Importer,
) -> Result<(), StreamError> {
    let mut cells: Vec<CellValue<'a>> = Vec::new();
    let mut current: Option<u32> = None;
    for batch in rx {
        for (r, c, value) in batch {
            if current != Some(r) {
                if let Some(prev) = current {
                    importer
                        .push_row(prev.saturating_add(1), &cells)
                        .map_err(StreamError::Sheet)?;
                }
                cells.clear();
                current = Some(r);
            }
            let c = c as usize;
            if c >= importer.width().unwrap_or(MAX_COLUMNS) {
                continue;
            }
            if cells.len() <= c {
                cells.resize(c + 1, CellValue::Empty);
            }
            cells[c] = value;
        }
    }
    if let Some(prev) = current {
        importer
            .push_row(prev.saturating_add(1), &cells)
            .map_err(StreamError::Sheet)?;
    }
    Ok(())
}

/// `.xls` and `.ods` through calamine ranges (their grids were checked by `guard`).
/// `no_value` lists, per sheet, the cells holding a formula without a value.
fn read_ranges(
    file: &PathBuf,
    format: Format,
    options: &ReadOptions<'_>,
    base: ImportOptions,
    no_value: &[(String, Vec<(u32, u32)>)],
) -> Result<Imported, SheetError> {
    let label = match format {
        Format::Ods => "OpenDocument (.ods)",
        _ => "Excel 97-2003 (.xls)",
    };
    let not_readable = |reason: String| SheetError::NotASpreadsheet {
        file: file.clone(),
        format: label,
        reason,
    };
    let mut wb: Box<dyn RangeSource> = match format {
        Format::Ods => Box::new(
            open_workbook::<calamine::Ods<BufReader<File>>, _>(file)
                .map_err(|e| not_readable(one_line(&e.to_string())))?,
        ),
        _ => {
            let xls: Xls<BufReader<File>> = open_workbook(file).map_err(|e| match e {
                calamine::XlsError::Password => SheetError::Encrypted { file: file.clone() },
                e => not_readable(one_line(&e.to_string())),
            })?;
            Box::new(xls)
        }
    };
    let is_1904 = wb.is_1904();
    let names = candidates(file, &wb.sheets(), options.sheet)?;
    first_with_header(file, names, options.sheet, |name| {
        let range = wb.range(name).map_err(|reason| SheetError::Read {
            file: file.clone(),
            reason: format!("sheet \"{name}\": {reason}"),
        })?;
        let mut uncalculated: HashMap<u32, Vec<u32>> = HashMap::new();
        for (row, col) in no_value
            .iter()
            .filter(|(sheet, _)| sheet == name)
            .flat_map(|(_, cells)| cells.iter().copied())
        {
            uncalculated.entry(row).or_default().push(col);
        }
        let mut importer = Importer::new(file, name, options.kind)
            .with_options(ImportOptions { is_1904, ..base })
            .with_rows_read(options.rows_read.cloned());
        importer.reserve(range.height());
        if let Some((row0, col0)) = range.start() {
            let pad = (col0 as usize).min(MAX_COLUMNS);
            let mut cells: Vec<CellValue<'_>> = Vec::new();
            for (i, row) in range.rows().enumerate() {
                let r = row0.saturating_add(i as u32);
                cells.clear();
                cells.resize(pad, CellValue::Empty);
                let width = importer.width().unwrap_or(MAX_COLUMNS);
                cells.extend(
                    row.iter()
                        .take(width.min(MAX_COLUMNS).saturating_sub(pad))
                        .map(CellValue::from_data),
                );
                for &fc in uncalculated.get(&r).into_iter().flatten() {
                    let fc = fc as usize;
                    if fc < width.min(MAX_COLUMNS) {
                        if cells.len() <= fc {
                            cells.resize(fc + 1, CellValue::Empty);
                        }
                        if cells[fc].is_blank() {
                            cells[fc] = CellValue::NoValue(String::new());
                        }
                    }
                }
                importer.push_row(r.saturating_add(1), &cells)?;
            }
        }
        importer.finish()
    })
}

/// The two range-based readers behind one face.
trait RangeSource {
    fn sheets(&self) -> Vec<calamine::Sheet>;
    fn range(&mut self, name: &str) -> Result<Range<Data>, String>;
    fn is_1904(&self) -> bool;
}

impl<RS: Read + Seek> RangeSource for calamine::Ods<RS> {
    fn sheets(&self) -> Vec<calamine::Sheet> {
        self.sheets_metadata().to_vec()
    }
    fn range(&mut self, name: &str) -> Result<Range<Data>, String> {
        self.worksheet_range(name)
            .map_err(|e| one_line(&e.to_string()))
    }
    fn is_1904(&self) -> bool {
        false
    }
}

impl<RS: Read + Seek> RangeSource for Xls<RS> {
    fn sheets(&self) -> Vec<calamine::Sheet> {
        self.sheets_metadata().to_vec()
    }
    fn range(&mut self, name: &str) -> Result<Range<Data>, String> {
        self.worksheet_range(name)
            .map_err(|e| one_line(&e.to_string()))
    }
    fn is_1904(&self) -> bool {
        self.has_1904_epoch()
    }
}
