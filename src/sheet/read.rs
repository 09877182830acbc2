//! Opening files: xlsx/xlsm through calamine's streaming cell reader (constant memory in
//! the sheet size), xls/xlsb/ods through calamine ranges, CSV through the `csv` crate
//! (UTF-8 with or without BOM; comma, semicolon or tab). Each source pushes rows into an
//! `Importer`.

use super::cell::CellValue;
use super::{Imported, Importer, SheetError};
use crate::domain::{AmountLimits, Kind};
use calamine::{Data, Range, Reader, SheetType, SheetVisible, Sheets, Xlsx, open_workbook};
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

/// Excel's last column (XFD); cells past it are corrupt input, not data.
const MAX_COLUMNS: usize = 16_384;

/// Reads `path` as `kind` (guessed from the headers when `None`), from the sheet named
/// `sheet` or else the first non-empty one.
pub fn read(path: &Path, kind: Option<Kind>, sheet: Option<&str>) -> Result<Imported, SheetError> {
    read_with(
        path,
        &ReadOptions {
            kind,
            sheet,
            amount_limits: None,
            keep_cells: false,
        },
    )
}

/// What to read and which merchant rules to apply beyond the reference's own.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// `None`: guess from the headers.
    pub kind: Option<Kind>,
    /// `None`: the first non-empty sheet.
    pub sheet: Option<&'a str>,
    /// The merchant's per-order limits from the profile, when known.
    pub amount_limits: Option<AmountLimits>,
    /// Keep every row's cells as text (`ImportedRow::raw`), valid rows too: what a run's
    /// results show as the row's own columns. Off for plain validation (it costs an
    /// allocation per cell).
    pub keep_cells: bool,
}

/// `read` with merchant limits.
pub fn read_with(path: &Path, options: &ReadOptions<'_>) -> Result<Imported, SheetError> {
    let (kind, sheet, limits) = (options.kind, options.sheet, options.amount_limits);
    let keep = options.keep_cells;
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
    match ext.as_str() {
        "csv" | "txt" | "tsv" => read_csv(&file, kind, sheet, limits, keep),
        "xlsx" | "xlsm" => read_xlsx(&file, kind, sheet, limits, keep),
        "xls" | "xlsb" | "ods" => read_ranges(&file, kind, sheet, limits, keep),
        _ => Err(SheetError::Unsupported { file }),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Sheet names to try, in order: the requested one, or every worksheet (visible ones
/// first).
fn candidates(
    file: &Path,
    sheets: &[calamine::Sheet],
    wanted: Option<&str>,
) -> Result<Vec<String>, SheetError> {
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
            Some(s) => Ok(vec![s.name.clone()]),
            None => Err(SheetError::SheetNotFound {
                file: file.to_path_buf(),
                name: name.to_string(),
                available: worksheets
                    .iter()
                    .map(|s| format!("\"{}\"", s.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        };
    }
    let mut names: Vec<String> = worksheets
        .iter()
        .filter(|s| s.visible == SheetVisible::Visible)
        .map(|s| s.name.clone())
        .collect();
    names.extend(
        worksheets
            .iter()
            .filter(|s| s.visible != SheetVisible::Visible)
            .map(|s| s.name.clone()),
    );
    Ok(names)
}

/// Runs `one` on each candidate sheet until one is non-empty.
fn first_non_empty(
    file: &Path,
    names: Vec<String>,
    wanted: Option<&str>,
    mut one: impl FnMut(&str) -> Result<Option<Imported>, SheetError>,
) -> Result<Imported, SheetError> {
    for name in &names {
        if let Some(imported) = one(name)? {
            return Ok(imported);
        }
    }
    Err(SheetError::Empty {
        file: file.to_path_buf(),
        sheet: wanted.and(names.first().cloned()),
    })
}

fn read_xlsx(
    file: &PathBuf,
    kind: Option<Kind>,
    wanted: Option<&str>,
    limits: Option<AmountLimits>,
    keep_cells: bool,
) -> Result<Imported, SheetError> {
    let mut wb: Xlsx<BufReader<File>> =
        open_workbook(file).map_err(|e: calamine::XlsxError| SheetError::NotASpreadsheet {
            file: file.clone(),
            format: "Excel (.xlsx)",
            reason: one_line(&e.to_string()),
        })?;
    let names = candidates(file, wb.sheets_metadata(), wanted)?;
    first_non_empty(file, names, wanted, |name| {
        let mut importer = Importer::new(file, name, kind)
            .with_amount_limits(limits)
            .keeping_cells(keep_cells);
        stream_xlsx_sheet(&mut wb, name, &mut importer).map_err(|e| match e {
            StreamError::Sheet(e) => e,
            StreamError::Xlsx(e) => SheetError::Read {
                file: file.clone(),
                reason: format!("sheet \"{name}\": {}", one_line(&e.to_string())),
            },
            StreamError::Panicked => SheetError::Read {
                file: file.clone(),
                reason: format!("sheet \"{name}\": the reader failed"),
            },
        })?;
        Ok(importer.finish())
    })
}

enum StreamError {
    Sheet(SheetError),
    Xlsx(calamine::XlsxError),
    Panicked,
}

/// Cells handed from the XML thread to the importing thread in one message.
const BATCH_CELLS: usize = 8_192;
/// Batches in flight: bounds the memory held between the two threads.
const BATCHES_IN_FLIGHT: usize = 4;

/// Streams one worksheet's cells and imports them row by row. Parsing the XML and
/// coercing the cells take about the same time, so they run on two threads (scoped, so
/// cells borrow the workbook's shared strings instead of copying them), connected by a
/// bounded channel: memory stays flat whatever the sheet's size.
fn stream_xlsx_sheet<RS: Read + Seek + Send>(
    wb: &mut Xlsx<RS>,
    name: &str,
    importer: &mut Importer,
) -> Result<(), StreamError> {
    let mut reader = wb.worksheet_cells_reader(name).map_err(StreamError::Xlsx)?;
    let dims = reader.dimensions();
    importer.reserve(dims.end.0.saturating_sub(dims.start.0) as usize);
    std::thread::scope(|scope| {
        let (tx, rx) =
            std::sync::mpsc::sync_channel::<Vec<(u32, u32, CellValue<'_>)>>(BATCHES_IN_FLIGHT);
        let parser = scope.spawn(move || -> Result<(), calamine::XlsxError> {
            let mut batch = Vec::with_capacity(BATCH_CELLS);
            while let Some(cell) = reader.next_cell()? {
                let (r, c) = cell.get_position();
                if c as usize >= MAX_COLUMNS {
                    continue;
                }
                let value = CellValue::from_data_ref(cell.get_value().clone());
                if value == CellValue::Empty {
                    continue;
                }
                batch.push((r, c, value));
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
            Ok(result) => result.map_err(StreamError::Xlsx),
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

fn read_ranges(
    file: &PathBuf,
    kind: Option<Kind>,
    wanted: Option<&str>,
    limits: Option<AmountLimits>,
    keep_cells: bool,
) -> Result<Imported, SheetError> {
    let format = match file
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .as_deref()
    {
        Some("ods") => "OpenDocument (.ods)",
        Some("xlsb") => "Excel binary (.xlsb)",
        _ => "Excel 97-2003 (.xls)",
    };
    let not_readable = |e: calamine::Error| SheetError::NotASpreadsheet {
        file: file.clone(),
        format,
        reason: one_line(&e.to_string()),
    };
    let mut wb: Sheets<BufReader<File>> =
        calamine::open_workbook_auto(file).map_err(not_readable)?;
    let names = candidates(file, wb.sheets_metadata(), wanted)?;
    first_non_empty(file, names, wanted, |name| {
        let range: Range<Data> = wb.worksheet_range(name).map_err(|e| SheetError::Read {
            file: file.clone(),
            reason: format!("sheet \"{name}\": {}", one_line(&e.to_string())),
        })?;
        let mut importer = Importer::new(file, name, kind)
            .with_amount_limits(limits)
            .keeping_cells(keep_cells);
        importer.reserve(range.height());
        if let Some((row0, col0)) = range.start() {
            let pad = (col0 as usize).min(MAX_COLUMNS);
            let mut cells: Vec<CellValue<'_>> = Vec::new();
            for (i, row) in range.rows().enumerate() {
                cells.clear();
                cells.resize(pad, CellValue::Empty);
                cells.extend(
                    row.iter()
                        .take(MAX_COLUMNS.saturating_sub(pad))
                        .map(CellValue::from_data),
                );
                let n = row0.saturating_add(i as u32).saturating_add(1);
                importer.push_row(n, &cells)?;
            }
        }
        Ok(importer.finish())
    })
}

fn read_csv(
    file: &PathBuf,
    kind: Option<Kind>,
    wanted: Option<&str>,
    limits: Option<AmountLimits>,
    keep_cells: bool,
) -> Result<Imported, SheetError> {
    let bytes = std::fs::read(file).map_err(|e| SheetError::Open {
        file: file.clone(),
        reason: one_line(&e.to_string()),
    })?;
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    if body.contains(&0) {
        return Err(SheetError::NotASpreadsheet {
            file: file.clone(),
            format: "CSV",
            reason: "it holds binary data".into(),
        });
    }
    let sheet = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(w) = wanted
        && !w.eq_ignore_ascii_case(&sheet)
    {
        return Err(SheetError::SheetNotFound {
            file: file.clone(),
            name: w.to_string(),
            available: format!("\"{sheet}\" (a CSV file has one sheet)"),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(detect_delimiter(body))
        .from_reader(body);
    let mut importer = Importer::new(file, &sheet, kind)
        .with_amount_limits(limits)
        .keeping_cells(keep_cells);
    let mut record = csv::StringRecord::new();
    let (mut newlines, mut counted_to) = (0usize, 0usize);
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => SheetError::NotUtf8 {
                        file: file.clone(),
                        line,
                    },
                    _ => SheetError::Read {
                        file: file.clone(),
                        reason: one_line(&e.to_string()),
                    },
                });
            }
        }
        // Excel shows each line as a row, blank lines included, so the row number is the
        // line the record starts on (exact unless a quoted cell spans lines). csv's own
        // line count lags by one after a CRLF, hence counting from the byte offset.
        let mut start = record
            .position()
            .map(|p| usize::try_from(p.byte()).unwrap_or(usize::MAX))
            .unwrap_or(0)
            .min(body.len());
        while start < body.len() && matches!(body[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= counted_to {
            newlines += body[counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted_to = start;
        }
        let row = u32::try_from(newlines + 1).unwrap_or(u32::MAX);
        let cells: Vec<CellValue<'_>> = record
            .iter()
            .take(MAX_COLUMNS)
            .map(CellValue::text)
            .collect();
        importer.push_row(row, &cells)?;
    }
    importer.finish().ok_or_else(|| SheetError::Empty {
        file: file.clone(),
        sheet: Some(sheet),
    })
}

/// The separator of the first non-empty line: whichever of `;`, `,` and tab occurs most
/// outside quotes (Excel writes `;` where the decimal separator is a comma).
fn detect_delimiter(body: &[u8]) -> u8 {
    let first = body
        .split(|&b| b == b'\n')
        .find(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
        .unwrap_or(&[]);
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in first {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let delimiters = [b',', b';', b'\t'];
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    delimiters[best]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter(b"a,b,c\n1;2"), b',');
        assert_eq!(detect_delimiter(b"\n\na;b;c\n"), b';');
        assert_eq!(detect_delimiter(b"\"a;b\",c\n"), b',');
        assert_eq!(detect_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(detect_delimiter(b""), b',');
    }
}
