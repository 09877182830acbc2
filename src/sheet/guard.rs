//! Looking before reading: is the file what its name says, is it complete, is it
//! encrypted, and does its size follow its data? A few kilobytes must never take the
//! machine down, so what calamine would expand in memory is measured first.
//!
//! - The first bytes tell a ZIP archive (xlsx, xlsm, xlsb, ods), an OLE compound file
//!   (xls, or an encrypted xlsx), a PDF, an image, a web page or plain text.
//! - ZIP workbooks: every part calamine reads whole (workbook, styles, shared strings;
//!   not the worksheets, which are streamed) must declare at most [`PART_MAX`] bytes (the
//!   zip crate stops an entry that inflates past its declared size, so an archive that
//!   lies about it fails as damaged); the shared strings' declared count must fit their
//!   size.
//! - `.ods` and `.xls`: calamine builds each sheet as a dense grid from its first to its
//!   last non-empty cell. The grid is computed first (repeats included) and refused when
//!   it is out of proportion to the cells that hold data, naming the far cell.
//! - `.xlsx`: the workbook's `fullCalcOnLoad` flag (written by programs that leave their
//!   formulas for Excel to calculate) and `date1904` are read here.

use super::SheetError;
use super::cell::cell_ref;
use quick_xml::events::{BytesStart, Event};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// Largest expanded size of a workbook part read whole (shared strings, styles...):
/// calamine holds such a part in memory at up to about three times its size.
pub const PART_MAX: u64 = 64 << 20;
/// Cells of a dense grid (about 56 bytes each in calamine) that are always fine.
const GRID_FREE: u64 = 2_000_000;
/// A grid larger than this many times its data cells is refused (above `GRID_FREE`).
const GRID_RATIO: u64 = 32;
/// Data cells of one `.ods`/`.xls` sheet, at most: about 300 MB in calamine.
const CELLS_MAX: u64 = 5_000_000;

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Zip,
    /// An OLE compound file: `.xls`, or an encrypted Office document.
    Compound,
    Pdf,
    Image,
    Html,
    /// XML that is not in a ZIP archive (Excel 2003 XML, or a bare sheet).
    Xml,
    Text,
    Empty,
    Binary,
}

impl Content {
    /// How a message names it.
    pub fn describe(self) -> &'static str {
        match self {
            Content::Zip => "a ZIP archive",
            Content::Compound => "an Office 97-2003 file",
            Content::Pdf => "a PDF document",
            Content::Image => "an image",
            Content::Html => "a web page (HTML)",
            Content::Xml => "an XML file (such as Excel 2003 XML)",
            Content::Text => "plain text",
            Content::Empty => "empty (0 bytes)",
            Content::Binary => "binary data of an unknown kind",
        }
    }
}

pub fn sniff(path: &Path) -> std::io::Result<Content> {
    let mut head = [0u8; 512];
    let mut file = File::open(path)?;
    let mut n = 0;
    while n < head.len() {
        let got = file.read(&mut head[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(classify(&head[..n]))
}

fn classify(head: &[u8]) -> Content {
    if head.is_empty() {
        return Content::Empty;
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Content::Zip;
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Content::Compound;
    }
    if head.starts_with(b"%PDF") {
        return Content::Pdf;
    }
    if head.starts_with(b"\x89PNG")
        || head.starts_with(&[0xFF, 0xD8, 0xFF])
        || head.starts_with(b"GIF8")
    {
        return Content::Image;
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Content::Text;
    }
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let lower: Vec<u8> = body
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(256)
        .map(u8::to_ascii_lowercase)
        .collect();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if lower.starts_with(b"<!doctype html") || has(b"<html") || has(b"<table") {
        return Content::Html;
    }
    if lower.starts_with(b"<?xml") {
        return Content::Xml;
    }
    if body.contains(&0) {
        return Content::Binary;
    }
    Content::Text
}

/// Facts about a ZIP workbook found while checking it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZipFacts {
    /// An OpenDocument spreadsheet (by its `mimetype` or `content.xml`).
    pub ods: bool,
    /// An Excel workbook (`xl/workbook.xml` or `xl/workbook.bin`).
    pub excel: bool,
    pub binary_excel: bool,
    /// `<calcPr fullCalcOnLoad="1">`: the writer left formulas for Excel to calculate,
    /// so the values saved with them are not what Excel would show.
    pub full_calc_on_load: bool,
}

fn damaged(file: &Path, e: impl std::fmt::Display) -> SheetError {
    SheetError::Damaged {
        file: file.to_path_buf(),
        reason: one_line(&e.to_string()),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Opens the archive, refuses encrypted entries and parts that would expand beyond
/// [`PART_MAX`], and reads the workbook flags.
pub fn check_zip(file: &Path) -> Result<ZipFacts, SheetError> {
    let f = File::open(file).map_err(|e| SheetError::Open {
        file: file.to_path_buf(),
        reason: one_line(&e.to_string()),
    })?;
    let mut zip = zip::ZipArchive::new(BufReader::new(f)).map_err(|e| damaged(file, e))?;
    let mut facts = ZipFacts::default();
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| damaged(file, e))?;
    for name in &names {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "content.xml" => facts.ods = true,
            "xl/workbook.xml" => facts.excel = true,
            "xl/workbook.bin" => {
                facts.excel = true;
                facts.binary_excel = true;
            }
            _ => {}
        }
    }
    for name in &names {
        let lower = name.to_ascii_lowercase();
        // Worksheets are streamed by calamine (xlsx, xlsb); everything else it reads whole.
        let streamed = lower.starts_with("xl/worksheets/")
            || lower.starts_with("xl/media/")
            || lower.starts_with("xl/printersettings/")
            || lower.starts_with("xl/drawings/")
            || lower.starts_with("pictures/")
            || lower.starts_with("thumbnails/")
            || lower == "content.xml";
        let entry = zip.by_name(name).map_err(|e| damaged(file, e))?;
        if entry.encrypted() {
            return Err(SheetError::Encrypted {
                file: file.to_path_buf(),
            });
        }
        if streamed {
            continue;
        }
        // The zip crate refuses to inflate an entry past its declared size, so the
        // declared size bounds what calamine can be made to hold.
        let declared = entry.size();
        if declared > PART_MAX {
            return Err(part_too_large(file, name, declared));
        }
    }
    if facts.excel && !facts.binary_excel {
        read_workbook_flags(&mut zip, file, &mut facts)?;
        check_shared_strings(&mut zip, file)?;
    }
    Ok(facts)
}

fn part_too_large(file: &Path, part: &str, size: u64) -> SheetError {
    SheetError::TooLarge {
        file: file.to_path_buf(),
        reason: format!(
            "its part {part} expands to more than {} MB (at least {} MB), out of all proportion to a spreadsheet of this size: the file is damaged or built to exhaust memory",
            PART_MAX >> 20,
            size >> 20
        ),
    }
}

fn xml_reader<R: std::io::BufRead>(r: R) -> quick_xml::Reader<R> {
    let mut reader = quick_xml::Reader::from_reader(r);
    reader.config_mut().trim_text(false);
    reader
}

fn attr<'a>(e: &'a BytesStart<'_>, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .map(|a| a.value)
}

fn truthy(v: Option<std::borrow::Cow<'_, str>>) -> bool {
    v.is_some_and(|v| v.trim() == "1" || v.trim().eq_ignore_ascii_case("true"))
}

fn read_workbook_flags<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    file: &Path,
    facts: &mut ZipFacts,
) -> Result<(), SheetError> {
    let Ok(entry) = zip.by_name("xl/workbook.xml") else {
        return Ok(());
    };
    let mut reader = xml_reader(BufReader::new(entry.take(PART_MAX)));
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "calcPr" => {
                facts.full_calc_on_load = truthy(attr(&e, "fullCalcOnLoad"));
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(damaged(file, e)),
            _ => {}
        }
        buf.clear();
    }
    Ok(())
}

/// calamine reserves room for the count the shared-strings table declares; a count out
/// of proportion to the table's size is refused before it can.
fn check_shared_strings<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    file: &Path,
) -> Result<(), SheetError> {
    let Ok(entry) = zip.by_name("xl/sharedStrings.xml") else {
        return Ok(());
    };
    let size = entry.size();
    let mut reader = xml_reader(BufReader::new(entry.take(PART_MAX)));
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "sst" => {
                let count = attr(&e, "uniqueCount")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(0);
                // Each string takes at least `<si><t/></si>` (13 bytes).
                if count > size / 13 + 1 {
                    return Err(SheetError::TooLarge {
                        file: file.to_path_buf(),
                        reason: format!(
                            "its shared-strings table declares {count} strings but holds at most {}: the file is damaged or built to exhaust memory",
                            size / 13 + 1
                        ),
                    });
                }
                return Ok(());
            }
            Ok(Event::Eof) => return Ok(()),
            Err(e) => return Err(damaged(file, e)),
            _ => {}
        }
        buf.clear();
    }
}

/// The extent of one sheet's cells, as calamine would lay them out.
#[derive(Debug, Clone, Default)]
pub struct Extent {
    /// Cells that hold something (repeats counted).
    pub cells: u64,
    pub min: Option<(u64, u64)>,
    pub max: Option<(u64, u64)>,
    /// The cell farthest right and the one farthest down, for the message, and the
    /// column and row of the next farthest (a far cell is a stray when it stands well
    /// apart from the next one).
    pub far_right: Option<(u64, u64)>,
    pub far_down: Option<(u64, u64)>,
    pub next_col: u64,
    pub next_row: u64,
}

impl Extent {
    /// Records `rows` × `cols` cells from (`row`, `col`).
    fn add(&mut self, row: u64, col: u64, rows: u64, cols: u64) {
        let (last_row, last_col) = (
            row.saturating_add(rows.saturating_sub(1)),
            col.saturating_add(cols.saturating_sub(1)),
        );
        self.cells = self.cells.saturating_add(rows.saturating_mul(cols));
        self.min = Some(match self.min {
            None => (row, col),
            Some((r, c)) => (r.min(row), c.min(col)),
        });
        self.max = Some(match self.max {
            None => (last_row, last_col),
            Some((r, c)) => (r.max(last_row), c.max(last_col)),
        });
        match self.far_right {
            Some((_, c)) if last_col <= c => self.next_col = self.next_col.max(last_col),
            _ => {
                self.next_col = self.far_right.map_or(0, |(_, c)| c);
                self.far_right = Some((row, last_col));
            }
        }
        match self.far_down {
            Some((r, _)) if last_row <= r => self.next_row = self.next_row.max(last_row),
            _ => {
                self.next_row = self.far_down.map_or(0, |(r, _)| r);
                self.far_down = Some((last_row, col));
            }
        }
    }

    /// Cells of the dense grid from the first to the last non-empty cell.
    pub fn grid(&self) -> u64 {
        match (self.min, self.max) {
            (Some((r0, c0)), Some((r1, c1))) => (r1 - r0 + 1).saturating_mul(c1 - c0 + 1),
            _ => 0,
        }
    }

    /// Why the sheet cannot be read, or `None`.
    fn refusal(&self, sheet: &str) -> Option<String> {
        let grid = self.grid();
        let mb = grid.saturating_mul(56) >> 20;
        let at = |p: Option<(u64, u64)>| {
            p.map(|(r, c)| cell_ref(c as usize, u32::try_from(r + 1).unwrap_or(u32::MAX)))
                .unwrap_or_default()
        };
        if self.cells > CELLS_MAX {
            return Some(format!(
                "sheet \"{sheet}\" has {} cells with data, more than this console reads from an .ods or .xls file ({CELLS_MAX}): save it as .xlsx, which is read as a stream",
                self.cells
            ));
        }
        if grid > GRID_FREE && grid > self.cells.saturating_mul(GRID_RATIO) {
            let apart = |far: u64, next: u64| far > next.saturating_mul(2) + 64;
            let mut strays = Vec::new();
            if self.far_right.is_some_and(|(_, c)| apart(c, self.next_col)) {
                strays.push(at(self.far_right));
            }
            if self.far_down.is_some_and(|(r, _)| apart(r, self.next_row))
                && self.far_down != self.far_right
            {
                strays.push(at(self.far_down));
            }
            if strays.is_empty() {
                strays.push(at(self.far_right));
                if self.far_down != self.far_right {
                    strays.push(at(self.far_down));
                }
            }
            let strays = match strays.as_slice() {
                [one] => format!("a stray cell at {one}"),
                _ => format!("stray cells at {}", strays.join(" and ")),
            };
            return Some(format!(
                "sheet \"{sheet}\" stretches to cell {} because of {strays}, although only {} cells hold data; reading it would take about {mb} MB: delete the stray cells (or the empty rows and columns after the data) and save the file again",
                at(self.max),
                self.cells
            ));
        }
        None
    }
}

/// What a pre-scan of an `.ods` file found, per sheet.
#[derive(Debug, Clone, Default)]
pub struct OdsFacts {
    /// Per sheet: positions (0-based row, column) of formula cells without a value,
    /// at most [`NO_VALUE_MAX`] of them.
    pub no_value: Vec<(String, Vec<(u32, u32)>)>,
}

const NO_VALUE_MAX: usize = 100_000;

/// Scans `content.xml` as calamine will lay it out and refuses sheets whose grid would be
/// out of proportion to their data.
pub fn check_ods(file: &Path) -> Result<OdsFacts, SheetError> {
    let f = File::open(file).map_err(|e| SheetError::Open {
        file: file.to_path_buf(),
        reason: one_line(&e.to_string()),
    })?;
    let mut zip = zip::ZipArchive::new(BufReader::new(f)).map_err(|e| damaged(file, e))?;
    let entry = zip
        .by_name("content.xml")
        .map_err(|e| SheetError::NotASpreadsheet {
            file: file.to_path_buf(),
            format: "OpenDocument (.ods)",
            reason: one_line(&e.to_string()),
        })?;
    let mut reader = xml_reader(BufReader::new(entry));
    let mut facts = OdsFacts::default();
    let mut buf = Vec::new();
    let mut sheet = String::new();
    let mut extent = Extent::default();
    let mut no_value: Vec<(u32, u32)> = Vec::new();
    let (mut row, mut col, mut row_repeat) = (0u64, 0u64, 1u64);
    // Inside a cell that opened with a start tag: its first column, its repeat and
    // whether it was counted as holding something.
    let mut open_cell: Option<(u64, u64, bool)> = None;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| damaged(file, e))?;
        match event {
            Event::Start(e) | Event::Empty(e)
                if e.local_name().as_ref() == "table" && e.name().as_ref() == "table:table" =>
            {
                sheet = attr(&e, "table:name")
                    .map(|v| v.into_owned())
                    .unwrap_or_default();
                extent = Extent::default();
                no_value.clear();
                row = 0;
            }
            Event::End(e) if e.name().as_ref() == "table:table" => {
                if let Some(reason) = extent.refusal(&sheet) {
                    return Err(SheetError::TooLarge {
                        file: file.to_path_buf(),
                        reason,
                    });
                }
                facts
                    .no_value
                    .push((sheet.clone(), std::mem::take(&mut no_value)));
            }
            Event::Start(e) if e.name().as_ref() == "table:table-row" => {
                row_repeat = repeat(&e, "table:number-rows-repeated");
                col = 0;
            }
            Event::Empty(e) if e.name().as_ref() == "table:table-row" => {
                row = row.saturating_add(repeat(&e, "table:number-rows-repeated"));
            }
            Event::End(e) if e.name().as_ref() == "table:table-row" => {
                row = row.saturating_add(row_repeat);
                row_repeat = 1;
            }
            Event::Start(ref e) | Event::Empty(ref e)
                if matches!(
                    e.name().as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) =>
            {
                let cols = repeat(e, "table:number-columns-repeated");
                let valued = attr(e, "office:value-type").is_some();
                let formula = attr(e, "table:formula").is_some();
                if formula && !valued {
                    for c in 0..cols.min(16_384) {
                        if no_value.len() >= NO_VALUE_MAX {
                            break;
                        }
                        if let (Ok(r), Ok(c)) =
                            (u32::try_from(row), u32::try_from(col.saturating_add(c)))
                        {
                            no_value.push((r, c));
                        }
                    }
                }
                let kept = valued || formula;
                if kept {
                    extent.add(row, col, row_repeat, cols);
                }
                if matches!(event, Event::Start(_)) {
                    open_cell = Some((col, cols, kept));
                }
                col = col.saturating_add(cols);
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == "text:p" => {
                // Text without a value type still makes calamine keep the cell.
                if let Some((start, cols, false)) = open_cell {
                    extent.add(row, start, row_repeat, cols);
                    open_cell = Some((start, cols, true));
                }
            }
            Event::End(e)
                if matches!(
                    e.name().as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) =>
            {
                open_cell = None;
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(facts)
}

fn repeat(e: &BytesStart<'_>, name: &str) -> u64 {
    attr(e, name)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .max(1)
}

/// Scans an `.xls` file's records as calamine will lay them out: refuses encrypted
/// files, impossible declared dimensions and sheets whose grid is out of proportion to
/// their data.
pub fn check_xls(file: &Path) -> Result<(), SheetError> {
    let not_xls = |e: std::io::Error| SheetError::NotASpreadsheet {
        file: file.to_path_buf(),
        format: "Excel 97-2003 (.xls)",
        reason: one_line(&e.to_string()),
    };
    let mut cfb = cfb::open(file).map_err(not_xls)?;
    if cfb.is_stream("EncryptedPackage") || cfb.is_stream("/EncryptedPackage") {
        return Err(SheetError::Encrypted {
            file: file.to_path_buf(),
        });
    }
    let stream_name = ["/Workbook", "/Book", "/WORKBOOK", "/BOOK"]
        .into_iter()
        .find(|n| cfb.is_stream(n));
    let Some(stream_name) = stream_name else {
        return Err(SheetError::NotASpreadsheet {
            file: file.to_path_buf(),
            format: "Excel 97-2003 (.xls)",
            reason: "it has no workbook stream (another Office document?)".into(),
        });
    };
    let mut stream = Vec::new();
    cfb.open_stream(stream_name)
        .and_then(|mut s| s.read_to_end(&mut stream))
        .map_err(|e| damaged(file, e))?;
    scan_biff(file, &stream)
}

fn scan_biff(file: &Path, stream: &[u8]) -> Result<(), SheetError> {
    let too_large = |reason: String| SheetError::TooLarge {
        file: file.to_path_buf(),
        reason,
    };
    let u16_at = |d: &[u8], i: usize| {
        d.get(i..i + 2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |d: &[u8], i: usize| {
        d.get(i..i + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut pos = 0usize;
    let mut depth = 0u32;
    let mut sheet = 0usize;
    // BoundSheet8 records: where each sheet's substream starts, and its name.
    let mut names: Vec<(usize, String)> = Vec::new();
    let mut name = String::new();
    let mut values = Extent::default();
    let mut formulas = Extent::default();
    let finish = |values: &Extent, formulas: &Extent, name: &str| -> Result<(), SheetError> {
        if let Some(r) = values.refusal(name) {
            return Err(too_large(r));
        }
        if formulas.grid() > GRID_FREE
            && formulas.grid() > formulas.cells.saturating_mul(GRID_RATIO)
        {
            return Err(too_large(format!(
                "sheet \"{name}\" has formulas spread from {} to {} around few cells with data; reading it would take about {} MB: delete the stray formulas and save the file again",
                formulas
                    .min
                    .map(|(r, c)| cell_ref(c as usize, r as u32 + 1))
                    .unwrap_or_default(),
                formulas
                    .max
                    .map(|(r, c)| cell_ref(c as usize, r as u32 + 1))
                    .unwrap_or_default(),
                formulas.grid().saturating_mul(24) >> 20
            )));
        }
        Ok(())
    };
    while pos + 4 <= stream.len() {
        let typ = u16_at(stream, pos);
        let len = usize::from(u16_at(stream, pos + 2));
        let data = stream.get(pos + 4..pos + 4 + len).unwrap_or(&[]);
        let at = pos;
        pos += 4 + len;
        match typ {
            0x0809 => {
                depth += 1;
                if depth == 1 {
                    sheet += 1;
                    values = Extent::default();
                    formulas = Extent::default();
                    name = names
                        .iter()
                        .find(|(p, _)| *p == at)
                        .map_or_else(|| format!("number {}", sheet - 1), |(_, n)| n.clone());
                }
            }
            0x000A => {
                if depth == 1 && sheet > 1 {
                    finish(&values, &formulas, &name)?;
                }
                depth = depth.saturating_sub(1);
            }
            0x0085 if depth == 1 && sheet == 1 && data.len() >= 8 => {
                let cch = usize::from(data[6]);
                let wide = data[7] & 1 == 1;
                let bytes = &data[8..];
                let text = if wide {
                    let units: Vec<u16> = bytes
                        .chunks(2)
                        .take(cch)
                        .map(|c| u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                        .collect();
                    String::from_utf16_lossy(&units)
                } else {
                    bytes.iter().take(cch).map(|&b| char::from(b)).collect()
                };
                names.push((u32_at(data, 0) as usize, text));
            }
            // FilePass: the workbook is encrypted.
            0x002F if depth == 1 && u16_at(data, 0) != 0 => {
                return Err(SheetError::Encrypted {
                    file: file.to_path_buf(),
                });
            }
            // Dimensions: calamine reserves room for the declared grid.
            0x0200 if depth == 1 => {
                let (rows, cols) = match data.len() {
                    10 => (
                        i64::from(u16_at(data, 2)) - i64::from(u16_at(data, 0)),
                        i64::from(u16_at(data, 6)) - i64::from(u16_at(data, 4)),
                    ),
                    14 | 16 => (
                        i64::from(u32_at(data, 4)) - i64::from(u32_at(data, 0)),
                        i64::from(u16_at(data, 10)) - i64::from(u16_at(data, 8)),
                    ),
                    _ => (0, 0),
                };
                if rows < 0 || rows.saturating_mul(cols.max(1)) > 65_536 * 256 {
                    return Err(too_large(format!(
                        "sheet number {} declares {rows} rows by {cols} columns, impossible in an .xls file: the file is damaged or built to exhaust memory",
                        sheet - 1
                    )));
                }
            }
            // Number, Label, RString, BoolErr, RK, LabelSst: one cell each.
            0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD if depth == 1 => {
                values.add(u64::from(u16_at(data, 0)), u64::from(u16_at(data, 2)), 1, 1);
            }
            // MulRk: a run of cells in one row.
            0x00BD if depth == 1 && data.len() >= 6 => {
                let first = u64::from(u16_at(data, 2));
                let last = u64::from(u16_at(data, data.len() - 2));
                if last >= first {
                    values.add(u64::from(u16_at(data, 0)), first, 1, last - first + 1);
                }
            }
            // Formula: a cell in both grids.
            0x0006 if depth == 1 => {
                let (r, c) = (u64::from(u16_at(data, 0)), u64::from(u16_at(data, 2)));
                values.add(r, c, 1, 1);
                formulas.add(r, c, 1, 1);
            }
            _ => {}
        }
        if values.cells > CELLS_MAX {
            return Err(too_large(format!(
                "sheet \"{name}\" has more than {CELLS_MAX} cells with data, more than this console reads from an .xls file: save it as .xlsx"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_name_the_content() {
        assert_eq!(classify(b""), Content::Empty);
        assert_eq!(classify(b"PK\x03\x04rest"), Content::Zip);
        assert_eq!(
            classify(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]),
            Content::Compound
        );
        assert_eq!(classify(b"%PDF-1.7"), Content::Pdf);
        assert_eq!(classify(b"\x89PNG\r\n"), Content::Image);
        assert_eq!(classify(b"  <html><body><table>"), Content::Html);
        assert_eq!(classify(b"<?xml version=\"1.0\"?><Workbook>"), Content::Xml);
        assert_eq!(classify(b"OrderNumber,OrderAmount\n"), Content::Text);
        assert_eq!(
            classify(b"\xEF\xBB\xBFOrderNumber;OrderAmount\n"),
            Content::Text
        );
        assert_eq!(classify(b"\xFF\xFEO\0r\0"), Content::Text);
        assert_eq!(classify(b"ab\0cd"), Content::Binary);
    }

    #[test]
    fn a_far_cell_makes_a_grid_out_of_proportion() {
        let mut e = Extent::default();
        for r in 0..1000 {
            e.add(r, 0, 1, 8);
        }
        assert!(e.refusal("S").is_none());
        e.add(0, 16_383, 1, 1);
        assert_eq!(e.grid(), 1000 * 16_384);
        let why = e.refusal("S").unwrap_or_default();
        assert!(why.contains("a stray cell at XFD1"), "{why}");
        assert!(why.contains("8001 cells hold data"), "{why}");
    }
}
