//! A consumer look-up's workbook: sheet "Consumers" with every consumer PayPro
//! returned (codes and mobile as text with their zeros, Created On a real date cell),
//! sheet "Not found" with the codes it did not know or that could not be looked up and
//! why, and a "Summary" (merchant, server, when, counts). Staged and renamed like every
//! workbook here.

use super::{Formats, Overwrite, SheetOut, Staged, WriteError, save};
use crate::journal::ConsumerRecord;
use chrono::NaiveDateTime;
use rust_xlsxwriter::{Workbook, Worksheet};
use std::path::{Path, PathBuf};

/// The columns of the "Consumers" sheet.
pub const CONSUMER_COLUMNS: [&str; 11] = [
    "Row",
    "Asked",
    "FullConsumerCode",
    "ConsumerCode",
    "CompanyCode",
    "Name",
    "Mobile",
    "Email",
    "Address",
    "Created On",
    "Checked at",
];

/// The columns of the "Not found" sheet.
pub const NOT_FOUND_COLUMNS: [&str; 5] = ["Row", "Asked", "Status code", "Reason", "Checked at"];

/// What the look-up was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumersDoc {
    pub lookup: i64,
    pub merchant_id: String,
    pub base_url: String,
    /// The code or file looked up.
    pub source: String,
    /// Local time.
    pub generated_at: NaiveDateTime,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumersWritten {
    pub path: PathBuf,
    pub found: u64,
    pub not_found: u64,
}

/// Writes the look-up's workbook to `path`; `records` in row order. Check times are
/// shown in local time.
pub fn write_consumers(
    path: &Path,
    doc: &ConsumersDoc,
    records: &[ConsumerRecord],
    overwrite: Overwrite,
) -> Result<ConsumersWritten, WriteError> {
    let mut staged = Staged::new(path, overwrite)?;
    let formats = Formats::new();
    let mut workbook = Workbook::new();
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&chrono::Local).naive_local();
    let mut found = SheetOut::new(
        Worksheet::new(),
        "Consumers",
        path,
        CONSUMER_COLUMNS.iter().map(|s| s.to_string()).collect(),
        &formats,
    )?;
    let mut missing = SheetOut::new(
        Worksheet::new(),
        "Not found",
        path,
        NOT_FOUND_COLUMNS.iter().map(|s| s.to_string()).collect(),
        &formats,
    )?;
    for r in records {
        if r.found {
            let s = &mut found;
            s.integer(0, u64::from(r.row), &formats.integer)?;
            s.text(1, &r.code, Some(&formats.text))?;
            s.opt_text(2, r.full_consumer_code.as_deref(), Some(&formats.text))?;
            s.opt_text(3, r.consumer_code.as_deref(), Some(&formats.text))?;
            s.opt_text(4, r.company_code.as_deref(), Some(&formats.text))?;
            s.opt_text(5, r.name.as_deref(), None)?;
            s.opt_text(6, r.mobile.as_deref(), Some(&formats.text))?;
            s.opt_text(7, r.email.as_deref(), None)?;
            s.opt_text(8, r.address.as_deref(), None)?;
            s.date(9, r.created_on, &formats, true)?;
            s.date(10, Some(local(r.checked_at)), &formats, true)?;
            s.row += 1;
        } else {
            let s = &mut missing;
            s.integer(0, u64::from(r.row), &formats.integer)?;
            s.text(1, &r.code, Some(&formats.text))?;
            s.opt_text(2, r.status_code.as_deref(), Some(&formats.text))?;
            s.opt_text(3, r.message.as_deref(), None)?;
            s.date(4, Some(local(r.checked_at)), &formats, true)?;
            s.row += 1;
        }
    }
    let counts = (u64::from(found.row - 1), u64::from(missing.row - 1));
    for s in [&mut found, &mut missing] {
        let rows = s.row - 1;
        s.autofilter(rows)?;
        s.set_widths()?;
    }
    let mut summary = SheetOut::new(
        Worksheet::new(),
        "Summary",
        path,
        vec!["Look-up".to_string(), doc.lookup.to_string()],
        &formats,
    )?;
    for (label, value) in [
        ("Merchant", doc.merchant_id.as_str()),
        ("Server", doc.base_url.as_str()),
        ("Looked up", doc.source.as_str()),
    ] {
        summary.text(0, label, Some(&formats.bold))?;
        summary.text(1, value, Some(&formats.text))?;
        summary.row += 1;
    }
    summary.text(0, "Generated at", Some(&formats.bold))?;
    summary.date(1, Some(doc.generated_at), &formats, true)?;
    summary.row += 1;
    for (label, n) in [("Found", counts.0), ("Not found", counts.1)] {
        summary.text(0, label, Some(&formats.bold))?;
        summary.integer(1, n, &formats.integer)?;
        summary.row += 1;
    }
    summary.set_widths()?;
    workbook.push_worksheet(found.ws);
    workbook.push_worksheet(missing.ws);
    workbook.push_worksheet(summary.ws);
    save(&mut workbook, &mut staged)?;
    let path = staged.commit()?;
    Ok(ConsumersWritten {
        path,
        found: counts.0,
        not_found: counts.1,
    })
}
