//! The adversarial corpus: spreadsheets as clerks really produce them (decimal-comma
//! Excel, files written by scripts, Mac workbooks, CSVs typed by hand, hostile files),
//! written at test time, each with what the clerk meant. One generator for the verdict
//! tests (`import_adversarial.rs`), the end-to-end property (`import_e2e.rs`) and the
//! memory benchmark (`benches/import.rs` builds the large hostile files with the same
//! builders, copied there because a bench cannot `mod` a test module).
//!
//! Every key is prefixed with its case's code so that the whole corpus can be sent to one
//! simulator and every stored order traced back to the row that meant it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook, Worksheet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What the clerk meant by a row that should reach PayPro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meant {
    pub number: String,
    /// As a decimal string (`"1200.50"`), compared as money.
    pub amount: String,
    pub due: NaiveDate,
    pub issue: NaiveDate,
    pub name: String,
    pub mobile: String,
    pub email: String,
    pub address: String,
    pub expire: Option<u64>,
    pub within: Option<String>,
    pub after: Option<String>,
}

/// The verdict on one data row.
#[derive(Debug, Clone)]
pub enum Row {
    /// Valid and sent exactly so; `warning`: (column, part of the message) of a warning
    /// the row must carry.
    Sent {
        row: u32,
        meant: Box<Meant>,
        warning: Option<(&'static str, &'static str)>,
    },
    /// Refused before sending: an error in `column` ("" for the whole row) whose message
    /// contains `needle`.
    Refused {
        row: u32,
        column: &'static str,
        needle: &'static str,
    },
}

impl Row {
    pub fn row(&self) -> u32 {
        match self {
            Row::Sent { row, .. } | Row::Refused { row, .. } => *row,
        }
    }
}

/// The verdict on a file.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Read: the rows as listed (every data row of the sheet), and sheet-level issues
    /// whose messages contain these needles.
    Rows {
        rows: Vec<Row>,
        sheet_notes: Vec<&'static str>,
    },
    /// The file cannot be used: exit 2 with this in the one-line message.
    Unusable(&'static str),
}

pub struct Case {
    /// Short code, also the prefix of the case's order numbers.
    pub code: &'static str,
    /// Which point of issue 9 (or row of its table) the case covers.
    pub covers: &'static str,
    pub file: PathBuf,
    pub verdict: Verdict,
}

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// A clean order of case `code`, number `n`: the fields every case starts from.
pub fn meant(code: &str, n: u32) -> Meant {
    Meant {
        number: format!("{code}-{n}"),
        amount: "1500.50".into(),
        due: d(2026, 12, 15),
        issue: d(2026, 11, 24),
        name: "Ali Khan".into(),
        mobile: "03123456789".into(),
        email: "ali@example.pk".into(),
        address: "House 5, Gulberg, Lahore".into(),
        expire: None,
        within: None,
        after: None,
    }
}

pub const HEADERS: [&str; 8] = [
    "OrderNumber",
    "OrderAmount",
    "OrderDueDate",
    "IssueDate",
    "CustomerName",
    "CustomerMobile",
    "CustomerEmail",
    "CustomerAddress",
];

/// A cell to write with rust_xlsxwriter.
#[derive(Debug, Clone)]
pub enum C {
    S(String),
    N(f64),
    /// A date cell (date format) from a serial in the workbook's own date system.
    Serial(f64),
    D(NaiveDate),
    /// A formula with the result saved with it (as Excel saves), or none.
    F(&'static str, Option<&'static str>),
    Blank,
}

pub fn s(v: &str) -> C {
    C::S(v.to_string())
}

/// The cells of a clean row for `m`, as typed cells (date cells, a number amount).
pub fn typed(m: &Meant) -> Vec<C> {
    vec![
        s(&m.number),
        C::N(m.amount.parse().unwrap()),
        C::D(m.due),
        C::D(m.issue),
        s(&m.name),
        s(&m.mobile),
        s(&m.email),
        s(&m.address),
    ]
}

pub fn with(mut cells: Vec<C>, col: usize, cell: C) -> Vec<C> {
    if cells.len() <= col {
        cells.resize(col + 1, C::Blank);
    }
    cells[col] = cell;
    cells
}

pub struct Sheet<'a> {
    pub name: &'a str,
    pub hidden: bool,
    /// Rows from row 1 (the header is whichever row holds it).
    pub rows: Vec<Vec<C>>,
}

/// Writes a workbook. `calculated`: formulas carry the results given (as Excel saves
/// them, manual calculation so no recalculation is requested); otherwise the workbook
/// asks for recalculation on load, as programs write it.
pub fn xlsx(path: &Path, sheets: &[Sheet<'_>], calculated: bool) {
    let mut wb = Workbook::new();
    if calculated {
        wb.set_calculation_mode(rust_xlsxwriter::CalculationMode::Manual);
    }
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let first_visible = sheets.iter().position(|s| !s.hidden).unwrap_or(0);
    for (i, sheet) in sheets.iter().enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(sheet.name).unwrap();
        write_rows(ws, &sheet.rows, &date);
        if i == first_visible {
            ws.set_active(true);
        }
        if sheet.hidden {
            ws.set_hidden(true);
        }
    }
    wb.save(path).unwrap();
}

fn write_rows(ws: &mut Worksheet, rows: &[Vec<C>], date: &Format) {
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell {
                C::S(v) => {
                    ws.write_string(r, c, v).unwrap();
                }
                C::N(n) => {
                    ws.write_number(r, c, *n).unwrap();
                }
                C::Serial(n) => {
                    ws.write_number_with_format(r, c, *n, date).unwrap();
                }
                C::D(day) => {
                    let dt =
                        ExcelDateTime::parse_from_str(&day.format("%Y-%m-%d").to_string()).unwrap();
                    ws.write_datetime_with_format(r, c, &dt, date).unwrap();
                }
                C::F(f, result) => {
                    let mut formula = Formula::new(*f);
                    if let Some(v) = result {
                        formula = formula.set_result(*v);
                    }
                    ws.write_formula(r, c, formula).unwrap();
                }
                C::Blank => {}
            }
        }
    }
}

/// Rewrites the entries of a ZIP archive through `edit(name, body)`.
pub fn patch_zip(path: &Path, edit: impl Fn(&str, Vec<u8>) -> Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut body = Vec::new();
        entry.read_to_end(&mut body).unwrap();
        out.start_file(&name, options).unwrap();
        out.write_all(&edit(&name, body)).unwrap();
    }
    out.finish().unwrap();
}

/// Marks a workbook as counting dates from 1904 (old Mac Excel).
pub fn make_1904(path: &Path) {
    patch_zip(path, |name, body| {
        if name == "xl/workbook.xml" {
            String::from_utf8(body)
                .unwrap()
                .replace("<workbookPr", "<workbookPr date1904=\"1\"")
                .into_bytes()
        } else {
            body
        }
    });
}

/// Removes every formula's saved value, as a script that never calculates writes them
/// (`<f>…</f><v>0</v>` becomes `<f>…</f>`), and the request to recalculate on load.
pub fn strip_formula_values(path: &Path) {
    patch_zip(path, |name, body| {
        let text = String::from_utf8(body).unwrap();
        if name.starts_with("xl/worksheets/") {
            let mut out = String::new();
            let mut rest = text.as_str();
            while let Some(i) = rest.find("</f>") {
                out.push_str(&rest[..i + 4]);
                rest = &rest[i + 4..];
                if rest.starts_with("<v>")
                    && let Some(j) = rest.find("</v>")
                {
                    rest = &rest[j + 4..];
                }
            }
            out.push_str(rest);
            out.into_bytes()
        } else if name == "xl/workbook.xml" {
            text.replace(" fullCalcOnLoad=\"1\"", "").into_bytes()
        } else {
            text.into_bytes()
        }
    });
}

/// One line of a CSV: `cells` joined by `sep`, quoting what needs it.
pub fn csv_line(cells: &[&str], sep: char) -> String {
    cells
        .iter()
        .map(|c| {
            if c.contains([sep, '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(&sep.to_string())
}

/// A clean row for `m` as text, the amount written by `amount`, dates day-first.
pub fn text_row(m: &Meant, amount: &str) -> Vec<String> {
    vec![
        m.number.clone(),
        amount.to_string(),
        m.due.format("%d/%m/%Y").to_string(),
        m.issue.format("%d/%m/%Y").to_string(),
        m.name.clone(),
        m.mobile.clone(),
        m.email.clone(),
        m.address.clone(),
    ]
}

pub fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A minimal OpenDocument spreadsheet from raw `content.xml` rows.
pub fn ods(path: &Path, rows_xml: &str) {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Orders">{rows_xml}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for (entry, body) in [
        ("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
        ("META-INF/manifest.xml", manifest),
        ("content.xml", content.as_str()),
    ] {
        zip.start_file(entry, options).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

/// One ODS row of string cells.
pub fn ods_row(cells: &[&str]) -> String {
    let mut row = String::from("<table:table-row>");
    for c in cells {
        row.push_str(&format!(
            r#"<table:table-cell office:value-type="string"><text:p>{c}</text:p></table:table-cell>"#
        ));
    }
    row.push_str("</table:table-row>");
    row
}

/// A BIFF8 (.xls) workbook with one sheet of `(row, col, text)` label cells, built by
/// hand in an OLE compound file.
pub fn xls(path: &Path, cells: &[(u16, u16, &str)]) {
    fn record(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
        out.extend_from_slice(&typ.to_le_bytes());
        out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        out.extend_from_slice(data);
    }
    let bof = |dt: u16| {
        let mut b = vec![0x00, 0x06];
        b.extend_from_slice(&dt.to_le_bytes());
        b.extend_from_slice(&[0; 12]);
        b
    };
    let name = b"Orders";
    let mut boundsheet = vec![0u8; 4];
    boundsheet.extend_from_slice(&[0, 0, name.len() as u8, 0]);
    boundsheet.extend_from_slice(name);
    let mut globals = Vec::new();
    record(&mut globals, 0x0809, &bof(0x0005));
    let boundsheet_at = globals.len() + 4;
    record(&mut globals, 0x0085, &boundsheet);
    record(&mut globals, 0x000A, &[]);
    let sheet_pos = globals.len() as u32;
    globals[boundsheet_at..boundsheet_at + 4].copy_from_slice(&sheet_pos.to_le_bytes());
    let mut sheet = Vec::new();
    record(&mut sheet, 0x0809, &bof(0x0010));
    let rows = cells.iter().map(|c| u32::from(c.0) + 1).max().unwrap_or(0);
    let cols = cells.iter().map(|c| c.1 + 1).max().unwrap_or(0);
    let mut dims = Vec::new();
    dims.extend_from_slice(&0u32.to_le_bytes());
    dims.extend_from_slice(&rows.to_le_bytes());
    dims.extend_from_slice(&0u16.to_le_bytes());
    dims.extend_from_slice(&cols.to_le_bytes());
    dims.extend_from_slice(&0u16.to_le_bytes());
    record(&mut sheet, 0x0200, &dims);
    for (r, c, text) in cells {
        let mut label = Vec::new();
        label.extend_from_slice(&r.to_le_bytes());
        label.extend_from_slice(&c.to_le_bytes());
        label.extend_from_slice(&0u16.to_le_bytes());
        label.extend_from_slice(&(text.len() as u16).to_le_bytes());
        label.push(0);
        label.extend_from_slice(text.as_bytes());
        record(&mut sheet, 0x0204, &label);
    }
    record(&mut sheet, 0x000A, &[]);
    globals.extend_from_slice(&sheet);
    let mut cfb = cfb::create(path).unwrap();
    let mut stream = cfb.create_stream("/Workbook").unwrap();
    stream.write_all(&globals).unwrap();
    drop(stream);
    cfb.flush().unwrap();
}

/// What an encrypted Office document is: an OLE file holding the encrypted package.
pub fn encrypted_xlsx(path: &Path) {
    let mut cfb = cfb::create(path).unwrap();
    for (name, body) in [
        ("/EncryptionInfo", &b"\x04\x00\x04\x00\x40\x00\x00\x00"[..]),
        ("/EncryptedPackage", &[0u8; 64][..]),
    ] {
        let mut s = cfb.create_stream(name).unwrap();
        s.write_all(body).unwrap();
    }
    cfb.flush().unwrap();
}

/// A shared-strings bomb: a small workbook whose shared-strings table expands to
/// `strings` entries (17 bytes each), compressed to almost nothing.
pub fn shared_strings_bomb(path: &Path, strings: usize) {
    let m = meant("BOMB", 1);
    xlsx(
        path,
        &[Sheet {
            name: "Orders",
            hidden: false,
            rows: vec![HEADERS.iter().map(|h| s(h)).collect(), typed(&m)],
        }],
        true,
    );
    let bytes = std::fs::read(path).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut body = Vec::new();
        entry.read_to_end(&mut body).unwrap();
        out.start_file(&name, options).unwrap();
        if name == "xl/sharedStrings.xml" {
            let text = String::from_utf8(body).unwrap();
            let head_end = text.find("<si>").unwrap();
            let tail_start = text.rfind("</sst>").unwrap();
            let bytes = text.as_bytes();
            out.write_all(&bytes[..head_end]).unwrap();
            out.write_all(&bytes[head_end..tail_start]).unwrap();
            let chunk = "<si><t>x</t></si>".repeat(4096);
            for _ in 0..strings / 4096 {
                out.write_all(chunk.as_bytes()).unwrap();
            }
            out.write_all(&bytes[tail_start..]).unwrap();
        } else {
            out.write_all(&body).unwrap();
        }
    }
    out.finish().unwrap();
}

/// Rewrites the uncompressed size the archive declares for `entry`, in its local header
/// and in the central directory.
pub fn lie_about_size(path: &Path, entry: &str, size: u32) {
    let mut bytes = std::fs::read(path).unwrap();
    let name = entry.as_bytes();
    let mut i = 0;
    while i + 46 <= bytes.len() {
        let sig = u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let (name_at, size_at) = match sig {
            0x0403_4b50 => (i + 30, i + 22),
            0x0201_4b50 => (i + 46, i + 24),
            _ => {
                i += 1;
                continue;
            }
        };
        let len_at = if sig == 0x0403_4b50 { i + 26 } else { i + 28 };
        let len = usize::from(u16::from_le_bytes([bytes[len_at], bytes[len_at + 1]]));
        if bytes.get(name_at..name_at + len) == Some(name) {
            bytes[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
        }
        i += 4;
    }
    std::fs::write(path, bytes).unwrap();
}

fn sent(row: u32, meant: Meant) -> Row {
    Row::Sent {
        row,
        meant: Box::new(meant),
        warning: None,
    }
}

fn sent_warned(row: u32, meant: Meant, column: &'static str, needle: &'static str) -> Row {
    Row::Sent {
        row,
        meant: Box::new(meant),
        warning: Some((column, needle)),
    }
}

fn refused(row: u32, column: &'static str, needle: &'static str) -> Row {
    Row::Refused {
        row,
        column,
        needle,
    }
}

fn rows(rows: Vec<Row>, sheet_notes: Vec<&'static str>) -> Verdict {
    Verdict::Rows { rows, sheet_notes }
}

/// Writes every case of the corpus into `dir`.
pub fn build(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |code: &'static str, covers: &'static str, file: PathBuf, verdict: Verdict| {
        cases.push(Case {
            code,
            covers,
            file,
            verdict,
        });
    };
    let header_cells = || HEADERS.iter().map(|h| s(h)).collect::<Vec<C>>();
    let one_sheet = |rows: Vec<Vec<C>>| {
        vec![Sheet {
            name: "Orders",
            hidden: false,
            rows,
        }]
    };

    // ---- Build 1: amounts. A `;` CSV from a decimal-comma Excel.
    {
        let code = "A1";
        let amounts = [
            ("1.200", "1200"),
            ("12.500", "12500"),
            ("1.200,50", "1200.50"),
            ("1500,5", "1500.50"),
            ("999", "999"),
        ];
        let mut text = csv_line(&HEADERS, ';') + "\r\n";
        let mut expect = Vec::new();
        for (i, (written, value)) in amounts.iter().enumerate() {
            let mut m = meant(code, i as u32 + 1);
            m.amount = value.to_string();
            text += &(csv_line(&refs(&text_row(&m, written)), ';') + "\r\n");
            expect.push(sent(i as u32 + 2, m));
        }
        // Thousands written with a comma in a decimal-comma file: three decimals, refused.
        let mut odd = meant(code, 9);
        odd.amount = "1090".into();
        text += &(csv_line(&refs(&text_row(&odd, "1,090")), ';') + "\r\n");
        expect.push(refused(7, "OrderAmount", "it has three decimals"));
        let file = dir.join("a1-decimal-comma.csv");
        std::fs::write(&file, text).unwrap();
        add(
            code,
            "1.200 / 12.500 in a `;` CSV from a decimal-comma Excel",
            file,
            rows(expect, vec!["read with a decimal comma"]),
        );
    }
    // Text amounts with nothing to decide their separator: refused, never a silent 1.20.
    {
        let code = "A2";
        let m1 = meant(code, 1);
        let mut m3 = meant(code, 3);
        m3.amount = "1500".into();
        let mut r = vec![header_cells()];
        r.push(with(typed(&m1), 1, s("1.200")));
        r.push(with(typed(&meant(code, 2)), 1, s("12.500")));
        r.push(with(typed(&m3), 1, s("1500")));
        r.push(with(typed(&meant(code, 4)), 1, s("4,400")));
        let file = dir.join("a2-undecided-text-amounts.xlsx");
        xlsx(&file, &one_sheet(r), true);
        add(
            code,
            "1.200 as text with no evidence: error, never 1.20",
            file,
            rows(
                vec![
                    refused(2, "OrderAmount", "\"1.200\" could be 1200 or 1.2"),
                    refused(3, "OrderAmount", "write 12500 or 12.50"),
                    sent(4, m3),
                    refused(5, "OrderAmount", "\"4,400\" could be 4400 or 4.4"),
                ],
                vec![],
            ),
        );
    }
    // Text amounts whose column proves the decimal comma; large number cells exact;
    // a calculated value with binary noise read as Excel shows it.
    {
        let code = "A3";
        let mut m1 = meant(code, 1);
        m1.amount = "1200".into();
        let mut m2 = meant(code, 2);
        m2.amount = "1200.50".into();
        let mut m3 = meant(code, 3);
        m3.amount = "987654.32".into();
        let mut m4 = meant(code, 4);
        m4.amount = "300.30".into();
        m4.within = Some("4400.10".into());
        let mut r = vec![{
            let mut h = header_cells();
            h.push(s("OrderAmountWithinDueDate"));
            h
        }];
        r.push(with(typed(&m1), 1, s("1.200")));
        r.push(with(typed(&m2), 1, s("1.200,50")));
        r.push(with(typed(&m3), 1, C::N(987654.32)));
        r.push(with(
            with(typed(&m4), 1, C::N(100.1 + 200.2)),
            8,
            C::N(4400.099999999999),
        ));
        let file = dir.join("a3-comma-column-and-floats.xlsx");
        xlsx(&file, &one_sheet(r), true);
        add(
            code,
            "text amounts decided by their column; number cells through their shortest form",
            file,
            rows(
                vec![
                    sent(2, m1),
                    sent(3, m2),
                    sent(4, m3),
                    sent_warned(5, m4, "OrderAmount", "calculated value"),
                ],
                vec!["read with a decimal comma"],
            ),
        );
    }

    // ---- Build 2: CSV rows. An unquoted comma, a short row, CR-only line ends with a
    // quoted line break, a `sep=;` line, UTF-16 "Unicode Text", a BOM, Windows-1252.
    {
        let code = "B1";
        let good = meant(code, 1);
        let bad = meant(code, 2);
        let mut short = meant(code, 3);
        short.address = String::new();
        let mut text = csv_line(&HEADERS, ',') + "\n";
        text += &(csv_line(&refs(&text_row(&good, "1500.50")), ',') + "\n");
        // The address typed without quotes: three fields more than the header.
        let mut unquoted = text_row(&bad, "1500.50");
        unquoted[7] = "House 5".into();
        text += &(csv_line(&refs(&unquoted), ',') + ", Street 2, Lahore\n");
        let mut cut = text_row(&short, "1500.50");
        cut.truncate(7);
        text += &(csv_line(&refs(&cut), ',') + "\n");
        // A short row missing a mandatory field.
        text += &format!("{code}-4,1500.50,15/12/2026\n");
        let file = dir.join("b1-ragged-rows.csv");
        std::fs::write(&file, text).unwrap();
        add(
            code,
            "a CSV row with an unquoted comma in the address; short rows",
            file,
            rows(
                vec![
                    sent(2, good),
                    refused(3, "", "10 fields where the header has 8"),
                    sent_warned(4, short, "", "7 fields where the header has 8"),
                    refused(5, "IssueDate", "is empty"),
                ],
                vec![],
            ),
        );
    }
    {
        let code = "B2";
        let mut m1 = meant(code, 1);
        m1.address = "House 5 Street 2".into();
        let m2 = meant(code, 2);
        let mut text = String::from("sep=;\r");
        text += &(csv_line(&HEADERS, ';') + "\r");
        let mut first = text_row(&m1, "1500.50");
        first[7] = "House 5\rStreet 2".into();
        text += &(csv_line(&refs(&first), ';') + "\r");
        text += &(csv_line(&refs(&text_row(&m2, "1500.50")), ';') + "\r");
        text += &format!("{code}-3;abc;15/12/2026;24/11/2026;Umar;;;\r");
        let file = dir.join("b2-sep-line-cr-only.csv");
        std::fs::write(&file, text).unwrap();
        add(
            code,
            "`sep=;`, CR-only line ends, a quoted line break: rows are physical lines",
            file,
            rows(
                vec![
                    sent_warned(3, m1, "CustomerAddress", "line breaks"),
                    sent(5, m2),
                    refused(6, "OrderAmount", "\"abc\" is not an amount"),
                ],
                vec![],
            ),
        );
    }
    {
        let code = "B3";
        let m1 = meant(code, 1);
        let mut m2 = meant(code, 2);
        m2.name = "Zoë Ahmed".into();
        let mut text = csv_line(&HEADERS, '\t') + "\r\n";
        text += &(csv_line(&refs(&text_row(&m1, "1500.50")), '\t') + "\r\n");
        text += &(csv_line(&refs(&text_row(&m2, "1500.50")), '\t') + "\r\n");
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let file = dir.join("b3-unicode-text.txt");
        std::fs::write(&file, bytes).unwrap();
        add(
            code,
            "Excel's UTF-16 \"Unicode Text\" export (tab-separated)",
            file,
            rows(vec![sent(2, m1), sent(3, m2)], vec![]),
        );
    }
    {
        let code = "B4";
        let mut m1 = meant(code, 1);
        m1.name = "Ayşe Çelik".into();
        let mut text = String::from("\u{feff}");
        text += &(csv_line(&HEADERS, ',') + "\r\n");
        text += &(csv_line(&refs(&text_row(&m1, "1500.50")), ',') + "\r\n");
        let file = dir.join("b4-utf8-bom.csv");
        std::fs::write(&file, text).unwrap();
        add(
            code,
            "UTF-8 with BOM",
            file,
            rows(vec![sent(2, m1)], vec![]),
        );
    }
    {
        let mut bytes = (csv_line(&HEADERS, ',') + "\r\n").into_bytes();
        bytes.extend_from_slice(b"B5-1,1500.50,15/12/2026,24/11/2026,Jos\xE9,,,\r\n");
        let file = dir.join("b5-windows-1252.csv");
        std::fs::write(&file, bytes).unwrap();
        add(
            "B5",
            "a Windows-1252 file is named, not guessed",
            file,
            Verdict::Unusable("looks like Windows-1252"),
        );
    }

    // ---- Build 3: formulas without saved values (written by a script, never opened
    // in Excel), and formulas with saved values (as Excel saves them).
    {
        let code = "F1";
        let r = vec![
            header_cells(),
            with(
                typed(&meant(code, 1)),
                5,
                C::F("=\"0312\"&\"3456789\"", None),
            ),
            with(
                typed(&meant(code, 2)),
                6,
                C::F("=LOWER(\"ALI@X.PK\")", None),
            ),
            with(typed(&meant(code, 3)), 4, C::F("=\"Ali\"&\" Khan\"", None)),
        ];
        let file = dir.join("f1-script-formulas.xlsx");
        xlsx(&file, &one_sheet(r), false);
        strip_formula_values(&file);
        add(
            code,
            "formulas with no saved value: errors, never empty values",
            file,
            rows(
                vec![
                    refused(
                        2,
                        "CustomerMobile",
                        "formula (=\"0312\"&\"3456789\") with no saved value",
                    ),
                    refused(
                        3,
                        "CustomerEmail",
                        "no saved value — open and save the file in Excel",
                    ),
                    refused(4, "CustomerName", "no saved value"),
                ],
                vec![],
            ),
        );
    }
    {
        let code = "F2";
        let r = vec![
            header_cells(),
            // rust_xlsxwriter saves 0 and asks Excel to recalculate: not a value.
            with(typed(&meant(code, 1)), 4, C::F("=\"Ali\"&\" Khan\"", None)),
        ];
        let file = dir.join("f2-recalculate-on-load.xlsx");
        xlsx(&file, &one_sheet(r), false);
        add(
            code,
            "formulas in a workbook that asks to be recalculated: their saved 0 is not a value",
            file,
            rows(vec![refused(2, "CustomerName", "no saved value")], vec![]),
        );
    }
    {
        let code = "F3";
        let m = meant(code, 1);
        let r = vec![
            header_cells(),
            with(typed(&m), 4, C::F("=\"Ali\"&\" Khan\"", Some("Ali Khan"))),
        ];
        let file = dir.join("f3-saved-formulas.xlsx");
        xlsx(&file, &one_sheet(r), true);
        add(
            code,
            "a formula with its saved value, as Excel saves it",
            file,
            rows(vec![sent(2, m)], vec![]),
        );
    }

    {
        let code = "F4";
        let m = meant(code, 1);
        let mut rows_xml = ods_row(&HEADERS);
        rows_xml += &ods_row(&refs(&text_row(&m, "1500.50")));
        let mut second = text_row(&meant(code, 2), "1500.50");
        second[4] = String::new();
        let cells: Vec<String> = second
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i == 4 {
                    r#"<table:table-cell table:formula="of:=CONCATENATE(&quot;Ali&quot;;&quot; Khan&quot;)"/>"#.to_string()
                } else {
                    format!(r#"<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>"#)
                }
            })
            .collect();
        rows_xml += &format!("<table:table-row>{}</table:table-row>", cells.concat());
        let file = dir.join("f4-script-formulas.ods");
        ods(&file, &rows_xml);
        add(
            code,
            "an .ods formula with no value (written by a script)",
            file,
            rows(
                vec![sent(2, m), refused(3, "CustomerName", "no saved value")],
                vec![],
            ),
        );
    }

    // ---- Build 4: dates.
    {
        let code = "D1";
        let dates = [
            ("12/5/2026", d(2026, 12, 5)),
            ("12/20/2026", d(2026, 12, 20)),
            ("12/31/2026", d(2026, 12, 31)),
        ];
        let mut r = vec![header_cells()];
        let mut expect = Vec::new();
        for (i, (text, day)) in dates.iter().enumerate() {
            let mut m = meant(code, i as u32 + 1);
            m.due = *day;
            r.push(with(typed(&m), 2, s(text)));
            expect.push(sent(i as u32 + 2, m));
        }
        let file = dir.join("d1-month-first-column.xlsx");
        xlsx(&file, &one_sheet(r), true);
        add(
            code,
            "12/5/2026 in a column whose other rows prove month-first: 5 December",
            file,
            rows(expect, vec!["read month-first"]),
        );
    }
    {
        let code = "D2";
        let mut r = vec![header_cells()];
        let mut m1 = meant(code, 1);
        m1.due = d(2026, 12, 20);
        let mut m2 = meant(code, 2);
        m2.due = d(2026, 12, 21);
        let mut m3 = meant(code, 3);
        m3.due = d(2026, 12, 22);
        r.push(with(typed(&m1), 2, s("12/20/2026")));
        r.push(with(typed(&m2), 2, s("12/21/2026")));
        r.push(with(typed(&m3), 2, s("12/22/2026")));
        r.push(with(typed(&meant(code, 4)), 2, s("23/12/2026")));
        r.push(with(typed(&meant(code, 5)), 2, s("12/6/2026")));
        let file = dir.join("d2-contradicting-dates.xlsx");
        xlsx(&file, &one_sheet(r), true);
        add(
            code,
            "rows that contradict the column's proven order are errors",
            file,
            rows(
                vec![
                    sent(2, m1),
                    sent(3, m2),
                    sent(4, m3),
                    refused(
                        5,
                        "OrderDueDate",
                        "contradicts the column's month-first dates",
                    ),
                    refused(
                        6,
                        "OrderDueDate",
                        "could be 12 June 2026 or 6 December 2026",
                    ),
                ],
                vec!["mixes day-first"],
            ),
        );
    }
    {
        let code = "D3";
        let mut r = vec![header_cells()];
        let mut expect = Vec::new();
        for (i, text) in ["05/12/2026", "06/12/2026"].iter().enumerate() {
            let mut m = meant(code, i as u32 + 1);
            m.due = d(2026, 12, 5 + i as u32);
            r.push(with(typed(&m), 2, s(text)));
            expect.push(sent(i as u32 + 2, m));
        }
        let file = dir.join("d3-all-ambiguous.xlsx");
        xlsx(&file, &one_sheet(r), true);
        add(
            code,
            "an all-ambiguous column follows the default day-first order, with one warning",
            file,
            rows(expect, vec!["could be day-first or month-first"]),
        );
    }
    {
        let code = "D4";
        let mut m1 = meant(code, 1);
        m1.due = d(2026, 12, 15);
        m1.issue = d(2026, 11, 24);
        let mut m2 = meant(code, 2);
        m2.due = d(2027, 1, 31);
        let serial_1904 = |day: NaiveDate| (day - d(1904, 1, 1)).num_days() as f64;
        let r = vec![
            header_cells(),
            with(
                with(typed(&m1), 2, C::Serial(serial_1904(m1.due))),
                3,
                C::Serial(serial_1904(m1.issue)),
            ),
            // A plain number cell holding a 1904 serial.
            with(
                with(typed(&m2), 2, C::N(serial_1904(m2.due))),
                3,
                C::N(serial_1904(m2.issue)),
            ),
        ];
        let file = dir.join("d4-mac-1904.xlsx");
        xlsx(&file, &one_sheet(r), true);
        make_1904(&file);
        add(
            code,
            "date cells and serials of a 1904-date-system (Mac) workbook",
            file,
            rows(vec![sent(2, m1), sent(3, m2)], vec![]),
        );
    }

    // ---- Build 5: invisible and look-alike characters.
    {
        let code = "I1";
        let k = |suffix: &str| format!("{code}-K{suffix}");
        let plain = {
            let mut m = meant(code, 1);
            m.number = k("1");
            m
        };
        let mut soft = meant(code, 6);
        soft.name = "AliKhan".into();
        let mut zw_email = meant(code, 7);
        zw_email.email = "ali@example.pk".into();
        let r = vec![
            header_cells(),
            typed(&plain),
            with(typed(&meant(code, 2)), 0, s(&format!("{}\u{200B}", k("1")))),
            with(
                typed(&meant(code, 3)),
                0,
                s(&format!("{}-K\u{00AD}1", code)),
            ),
            with(typed(&meant(code, 4)), 0, s(&format!("{code}-Ｋ1"))),
            with(typed(&meant(code, 5)), 4, s("\u{200B}")),
            with(typed(&soft), 4, s("Ali\u{00AD}Khan")),
            with(typed(&zw_email), 6, s("ali@example.pk\u{200B}")),
            with(typed(&meant(code, 8)), 6, s("mailto:ali@example.pk")),
            with(typed(&meant(code, 9)), 6, s(".ali@example.pk")),
        ];
        let file = dir.join("i1-invisible-characters.xlsx");
        xlsx(&file, &one_sheet(r), true);
        add(
            code,
            "K-1 with a zero-width space, a soft hyphen, fullwidth letters; an invisible name; mailto:",
            file,
            rows(
                vec![
                    sent(2, plain),
                    refused(3, "OrderNumber", "zero-width space (U+200B)"),
                    refused(4, "OrderNumber", "soft hyphen (U+00AD)"),
                    refused(5, "OrderNumber", "repeats the order number of row 2"),
                    refused(6, "CustomerName", "has only invisible characters"),
                    sent_warned(7, soft, "CustomerName", "soft hyphen (U+00AD), removed"),
                    sent_warned(
                        8,
                        zw_email,
                        "CustomerEmail",
                        "zero-width space (U+200B), removed",
                    ),
                    refused(9, "CustomerEmail", "starts with \"mailto:\""),
                    refused(10, "CustomerEmail", "a dot starts or ends the name"),
                ],
                vec![],
            ),
        );
    }

    // ---- Build 6: numbers as keys.
    {
        let code = "N1";
        let mut ok = meant(code, 1);
        ok.number = "123456789012345".into();
        let r = vec![
            header_cells(),
            with(typed(&ok), 0, C::N(123456789012345.0)),
            with(typed(&meant(code, 2)), 0, C::N(12345678901234567890.0)),
            with(typed(&meant(code, 3)), 0, C::N(1234567890123456.0)),
        ];
        let file = dir.join("n1-numbers-as-keys.xlsx");
        xlsx(&file, &one_sheet(r), true);
        add(
            code,
            "an order number typed as a 20-digit number",
            file,
            rows(
                vec![
                    sent(2, ok),
                    refused(3, "OrderNumber", "12345678901234567000 is a number cell"),
                    refused(4, "OrderNumber", "format the column as Text in Excel"),
                ],
                vec![],
            ),
        );
    }

    // ---- Build 7: sheets and headers.
    {
        let code = "S1";
        let m = meant(code, 1);
        let archived = meant(code, 99);
        let sheets = vec![
            Sheet {
                name: "Archive",
                hidden: true,
                rows: vec![header_cells(), typed(&archived)],
            },
            Sheet {
                name: "Cover",
                hidden: false,
                rows: vec![vec![s("Monthly invoicing, November")]],
            },
            Sheet {
                name: "November",
                hidden: false,
                rows: vec![header_cells(), typed(&m)],
            },
        ];
        let file = dir.join("s1-hidden-archive.xlsx");
        xlsx(&file, &sheets, true);
        add(
            code,
            "a hidden archive sheet first; a cover sheet without header",
            file,
            rows(
                vec![sent(2, m)],
                vec![
                    "hidden sheet \"Archive\", not read",
                    "passed over: \"Cover\" has no header row",
                ],
            ),
        );
    }
    {
        let code = "S2";
        let m = meant(code, 1);
        let r = vec![vec![s("Invoice")], vec![], header_cells(), typed(&m)];
        let file = dir.join("s2-title-row.xlsx");
        xlsx(&file, &one_sheet(r), true);
        add(
            code,
            "a one-word title (\"Invoice\") in A1 above the orders table",
            file,
            rows(
                vec![sent(4, m)],
                vec!["row 1 (\"Invoice\") is above the header row 3"],
            ),
        );
    }
    {
        let r = vec![vec![s("Order No")], vec![s("S3-1")], vec![s("S3-2")]];
        let file = dir.join("s3-one-column.xlsx");
        xlsx(&file, &one_sheet(r), true);
        add(
            "S3",
            "a single column never decides the kind: --kind is asked for",
            file,
            Verdict::Unusable("needs --kind mark-paid or --kind mark-blocked"),
        );
    }

    // ---- Build 8: bounded memory (small versions of the hostile files).
    {
        let code = "M1";
        let m = meant(code, 1);
        let mut header = header_cells();
        header = with(header, 16_383, s("stray"));
        let mut r = vec![header, typed(&m)];
        for i in 2..=4 {
            r.push(with(
                with(typed(&meant(code, i)), 1, s("abc")),
                16_383,
                s("x"),
            ));
        }
        let file = dir.join("m1-stray-xfd-cell.xlsx");
        xlsx(&file, &one_sheet(r), true);
        add(
            code,
            "a stray cell at XFD: raw cells of invalid rows stop at the last named column",
            file,
            rows(
                vec![
                    sent(2, m),
                    refused(3, "OrderAmount", "\"abc\" is not an amount"),
                    refused(4, "OrderAmount", "\"abc\" is not an amount"),
                    refused(5, "OrderAmount", "\"abc\" is not an amount"),
                ],
                vec!["cell XFD1 (\"stray\") is far to the right of the other headers"],
            ),
        );
    }
    {
        let mut rows_xml = ods_row(&HEADERS);
        rows_xml += &ods_row(&refs(&text_row(&meant("M2", 1), "1500.50")));
        rows_xml += r#"<table:table-row><table:table-cell table:number-columns-repeated="16383"/><table:table-cell office:value-type="string"><text:p>far</text:p></table:table-cell></table:table-row>"#;
        rows_xml += r#"<table:table-row table:number-rows-repeated="1048000"><table:table-cell/></table:table-row><table:table-row><table:table-cell office:value-type="string"><text:p>down</text:p></table:table-cell></table:table-row>"#;
        let file = dir.join("m2-far-cell.ods");
        ods(&file, &rows_xml);
        add(
            "M2",
            "a 2 KB .ods with far cells: refused before calamine lays out the grid",
            file,
            Verdict::Unusable("because of stray cells at XFD3 and A1048004"),
        );
    }
    {
        let mut cells: Vec<(u16, u16, &str)> = HEADERS
            .iter()
            .enumerate()
            .map(|(c, h)| (0u16, c as u16, *h))
            .collect();
        cells.push((1, 0, "M3-1"));
        cells.push((65_535, 255, "far"));
        let file = dir.join("m3-far-cell.xls");
        xls(&file, &cells);
        add(
            "M3",
            "a .xls with a far cell: refused before calamine lays out the grid",
            file,
            Verdict::Unusable(
                "sheet \"Orders\" stretches to cell IV65536 because of a stray cell at IV65536",
            ),
        );
    }
    {
        let file = dir.join("m4-shared-strings-bomb.xlsx");
        shared_strings_bomb(&file, 4_200_000);
        add(
            "M4",
            "a shared-strings bomb",
            file,
            Verdict::Unusable("expands to more than 64 MB"),
        );
    }
    {
        let file = dir.join("m5-shared-strings-count.xlsx");
        let m = meant("M5", 1);
        xlsx(&file, &one_sheet(vec![header_cells(), typed(&m)]), true);
        patch_zip(&file, |name, body| {
            if name == "xl/sharedStrings.xml" {
                let text = String::from_utf8(body).unwrap();
                let start = text.find("uniqueCount=\"").unwrap() + 13;
                let end = start + text[start..].find('"').unwrap();
                format!("{}4000000000{}", &text[..start], &text[end..]).into_bytes()
            } else {
                body
            }
        });
        add(
            "M5",
            "a shared-strings table that declares four billion strings",
            file,
            Verdict::Unusable("declares 4000000000 strings"),
        );
    }

    {
        // The archive claims the table is small; only counting what comes out tells.
        let file = dir.join("m6-lying-bomb.xlsx");
        // Smaller than the honest bomb: the lie, not the size, is what is refused.
        shared_strings_bomb(&file, 200_000);
        lie_about_size(&file, "xl/sharedStrings.xml", 4096);
        add(
            "M6",
            "a shared-strings bomb whose archive understates its size",
            file,
            Verdict::Unusable("larger than its declared uncompressed size"),
        );
    }

    // ---- Build 9: clear refusals.
    {
        let file = dir.join("r1-csv-named-xlsx.xlsx");
        std::fs::write(&file, csv_line(&HEADERS, ',') + "\nR1-1,1500,15/12/2026\n").unwrap();
        add(
            "R1",
            "a CSV saved with an .xlsx name",
            file,
            Verdict::Unusable(
                "not an .xlsx file: it is not a ZIP archive but plain text — was it saved as CSV",
            ),
        );
    }
    {
        let full = dir.join("r2-full.xlsx");
        xlsx(
            &full,
            &one_sheet(vec![header_cells(), typed(&meant("R2", 1))]),
            true,
        );
        let bytes = std::fs::read(&full).unwrap();
        let file = dir.join("r2-truncated.xlsx");
        std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
        std::fs::remove_file(&full).unwrap();
        add(
            "R2",
            "a truncated workbook",
            file,
            Verdict::Unusable("the file is damaged or incomplete"),
        );
    }
    {
        let file = dir.join("r3-encrypted.xlsx");
        encrypted_xlsx(&file);
        add(
            "R3",
            "an encrypted workbook",
            file,
            Verdict::Unusable("protected with a password"),
        );
    }
    {
        let file = dir.join("r4-empty.xlsx");
        xlsx(&file, &one_sheet(vec![]), true);
        add(
            "R4",
            "an empty sheet",
            file,
            Verdict::Unusable("the workbook has no non-empty sheet"),
        );
    }
    {
        let file = dir.join("r5-header-only.xlsx");
        xlsx(&file, &one_sheet(vec![header_cells()]), true);
        add(
            "R5",
            "a header-only sheet: exit 1, no data rows",
            file,
            rows(vec![], vec!["has a header (row 1) but no data rows"]),
        );
    }

    // ---- Issue 11: expiry 0 means never; optional amounts reach the server.
    {
        let code = "E1";
        let mut m = meant(code, 1);
        m.expire = Some(0);
        m.after = Some("1600".into());
        let mut m2 = meant(code, 2);
        m2.expire = Some(86_400);
        let mut header = header_cells();
        header.push(s("OrderExpireAfterSeconds"));
        header.push(s("OrderAmountAfterDueDate"));
        let r = vec![
            header,
            {
                let mut c = typed(&m);
                c.push(C::N(0.0));
                c.push(C::N(1600.0));
                c
            },
            {
                let mut c = typed(&m2);
                c.push(C::N(86_400.0));
                c
            },
        ];
        let file = dir.join("e1-expiry-zero.xlsx");
        xlsx(&file, &one_sheet(r), true);
        add(
            code,
            "OrderExpireAfterSeconds 0 (never expires) as the guide's samples send it",
            file,
            rows(vec![sent(2, m), sent(3, m2)], vec![]),
        );
    }
    cases
}
