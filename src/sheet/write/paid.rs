//! The paid-orders workbook: sheet "Paid orders" (one row per order, a totals row of
//! SUM formulas) and sheet "Summary" (merchant, range, when, counts and totals, a table
//! of the amount paid per day with a column chart of it).

use super::{
    Formats, OnProgress, Overwrite, PROGRESS_EVERY, SheetOut, Staged, WriteError, Written, letters,
    result_text, save,
};
use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use rust_xlsxwriter::{Chart, ChartType, Workbook, Worksheet};
use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The columns of sheet "Paid orders", in order.
pub const PAID_COLUMNS: [&str; 13] = [
    "Order Number",
    "ConnectPay Id",
    "Customer Name",
    "Mobile",
    "Email",
    "Address",
    "Issue Date",
    "Due Date",
    "Date Created",
    "Date Paid",
    "Order Amount",
    "Amount Paid",
    "Refunded",
];

const COL_ORDER_AMOUNT: usize = 10;
const COL_AMOUNT_PAID: usize = 11;
const COL_REFUNDED: usize = 12;

/// One paid order as the report shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaidOrderRow {
    pub order_number: String,
    pub connectpay_id: Option<String>,
    /// Not in the API's report: filled from the journal when one of our runs created
    /// the order.
    pub customer_name: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub issue_date: Option<NaiveDateTime>,
    pub due_date: Option<NaiveDateTime>,
    pub date_created: Option<NaiveDateTime>,
    pub date_paid: Option<NaiveDateTime>,
    pub order_amount: Option<Decimal>,
    pub amount_paid: Option<Decimal>,
    /// The amount refunded, when the journal knows of a refund.
    pub refunded: Option<Decimal>,
}

/// What the workbook is about.
#[derive(Debug, Clone, Copy)]
pub struct PaidOrdersDoc<'a> {
    pub merchant_id: &'a str,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// When the report was fetched (local time; shown on the Summary).
    pub generated_at: NaiveDateTime,
    /// How many rows will come (for progress only).
    pub expected_rows: u64,
    /// Extra lines for the Summary (label, text), e.g. how the range was fetched.
    pub notes: &'a [(String, String)],
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidOrdersWritten {
    pub path: PathBuf,
    pub orders: u64,
    pub total_order_amount: Decimal,
    pub total_paid: Decimal,
    pub total_refunded: Decimal,
    /// (day paid, orders, amount paid), oldest first; orders without a date paid are
    /// not in it.
    pub per_day: Vec<(NaiveDate, u64, Decimal)>,
}

/// Writes the paid-orders workbook to `path` (staged, then renamed). `rows` stream in,
/// in the order they are to appear: a report held as API records can be converted row
/// by row instead of copied whole.
pub fn write_paid_orders<I>(
    path: &Path,
    doc: &PaidOrdersDoc<'_>,
    rows: I,
    overwrite: Overwrite,
    progress: OnProgress<'_>,
) -> Result<PaidOrdersWritten, WriteError>
where
    I: IntoIterator,
    I::Item: Borrow<PaidOrderRow>,
{
    let mut staged = Staged::new(path, overwrite)?;
    let formats = Formats::new();
    let mut workbook = Workbook::new();
    let xlsx = |source| WriteError::Xlsx {
        path: path.to_path_buf(),
        source,
    };
    let ws = workbook
        .new_worksheet_with_constant_memory()
        .map_err(xlsx)?;
    let headers = PAID_COLUMNS.iter().map(|s| s.to_string()).collect();
    let mut sheet = SheetOut::new(ws, "Paid orders", path, headers, &formats)?;

    let total = doc.expected_rows;
    let mut sums = [Decimal::ZERO; 3];
    let mut per_day: BTreeMap<NaiveDate, (u64, Decimal)> = BTreeMap::new();
    let mut done = 0u64;
    for r in rows {
        let r: &PaidOrderRow = r.borrow();
        sheet.text(0, &r.order_number, None)?;
        sheet.opt_text(1, r.connectpay_id.as_deref(), Some(&formats.text))?;
        sheet.opt_text(2, r.customer_name.as_deref(), None)?;
        sheet.opt_text(3, r.mobile.as_deref(), Some(&formats.text))?;
        sheet.opt_text(4, r.email.as_deref(), None)?;
        sheet.opt_text(5, r.address.as_deref(), None)?;
        sheet.date(6, r.issue_date, &formats, false)?;
        sheet.date(7, r.due_date, &formats, false)?;
        sheet.date(8, r.date_created, &formats, true)?;
        sheet.date(9, r.date_paid, &formats, false)?;
        sheet.money(COL_ORDER_AMOUNT, r.order_amount, &formats.money)?;
        sheet.money(COL_AMOUNT_PAID, r.amount_paid, &formats.money)?;
        sheet.money(COL_REFUNDED, r.refunded, &formats.money)?;
        for (sum, v) in sums
            .iter_mut()
            .zip([r.order_amount, r.amount_paid, r.refunded])
        {
            *sum += v.unwrap_or_default();
        }
        if let Some(paid) = r.date_paid {
            let day = per_day.entry(paid.date()).or_default();
            day.0 += 1;
            day.1 += r.amount_paid.unwrap_or_default();
        }
        sheet.row += 1;
        done += 1;
        if done.is_multiple_of(PROGRESS_EVERY) && progress(Written { rows: done, total }).is_break()
        {
            return Err(WriteError::Cancelled {
                path: path.to_path_buf(),
            });
        }
    }
    // A blank row keeps the totals out of the filtered range (sorting the data leaves
    // them at the bottom) and makes SUM's range non-empty when there are no orders.
    let last_data = sheet.row; // Excel number of the last data row (or the header).
    sheet.row += 1;
    sheet.text(0, "Total", Some(&formats.bold))?;
    for (col, sum) in [COL_ORDER_AMOUNT, COL_AMOUNT_PAID, COL_REFUNDED]
        .into_iter()
        .zip(sums)
    {
        let l = letters(col);
        sheet.formula(
            col,
            &format!("=SUM({l}2:{l}{})", last_data + 1),
            &result_text(sum),
            &formats.money_bold,
            super::money_width(sum),
        )?;
    }
    sheet.autofilter(u32::try_from(done).unwrap_or(u32::MAX))?;
    sheet.set_widths()?;

    let per_day: Vec<(NaiveDate, u64, Decimal)> =
        per_day.into_iter().map(|(d, (n, a))| (d, n, a)).collect();
    let summary = summary_sheet(path, doc, &formats, &per_day, &sums, done, last_data + 1)?;
    workbook.push_worksheet(sheet.ws);
    workbook.push_worksheet(summary);
    if progress(Written { rows: done, total }).is_break() {
        return Err(WriteError::Cancelled {
            path: path.to_path_buf(),
        });
    }
    save(&mut workbook, &mut staged)?;
    let path = staged.commit()?;
    Ok(PaidOrdersWritten {
        path,
        orders: done,
        total_order_amount: sums[0],
        total_paid: sums[1],
        total_refunded: sums[2],
        per_day,
    })
}

fn summary_sheet(
    path: &Path,
    doc: &PaidOrdersDoc<'_>,
    formats: &Formats,
    per_day: &[(NaiveDate, u64, Decimal)],
    sums: &[Decimal; 3],
    orders: u64,
    last_data_excel_row: u32,
) -> Result<Worksheet, WriteError> {
    let ws = Worksheet::new();
    let mut s = SheetOut::new(
        ws,
        "Summary",
        path,
        vec!["Report".to_string(), "Paid orders".to_string()],
        formats,
    )?;
    let day = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
    let label = |s: &mut SheetOut<'_>, text: &str| s.text(0, text, Some(&formats.bold));

    label(&mut s, "Merchant")?;
    s.text(1, doc.merchant_id, Some(&formats.text))?;
    s.row += 1;
    label(&mut s, "From")?;
    s.date(1, day(doc.start), formats, false)?;
    s.row += 1;
    label(&mut s, "To")?;
    s.date(1, day(doc.end), formats, false)?;
    s.row += 1;
    label(&mut s, "Generated at")?;
    s.date(1, Some(doc.generated_at), formats, true)?;
    s.row += 1;
    // Counts and totals are formulas over the orders sheet, cached with the values.
    let last = last_data_excel_row;
    label(&mut s, "Orders")?;
    s.formula(
        1,
        &format!("=COUNTA('Paid orders'!A2:A{last})"),
        &orders.to_string(),
        &formats.integer,
        orders.to_string().len(),
    )?;
    s.row += 1;
    for (name, col, sum) in [
        ("Total order amount", COL_ORDER_AMOUNT, sums[0]),
        ("Total paid", COL_AMOUNT_PAID, sums[1]),
        ("Total refunded", COL_REFUNDED, sums[2]),
    ] {
        label(&mut s, name)?;
        let l = letters(col);
        s.formula(
            1,
            &format!("=SUM('Paid orders'!{l}2:{l}{last})"),
            &result_text(sum),
            &formats.money,
            super::money_width(sum),
        )?;
        s.row += 1;
    }
    for (name, text) in doc.notes {
        label(&mut s, name)?;
        s.text(1, text, None)?;
        s.row += 1;
    }

    // The per-day table, then the chart beside it.
    s.row += 1;
    let table_header = s.row;
    for (col, h) in ["Date paid", "Orders", "Amount paid"].iter().enumerate() {
        s.text(col, h, Some(&formats.header))?;
    }
    s.row += 1;
    let first_day_row = s.row;
    for (d, n, amount) in per_day {
        s.date(0, day(*d), formats, false)?;
        s.integer(1, *n, &formats.integer)?;
        s.money(2, Some(*amount), &formats.money)?;
        s.row += 1;
    }
    let last_day_row = s.row.saturating_sub(1);
    s.set_widths()?;
    if !per_day.is_empty() {
        let mut chart = Chart::new(ChartType::Column);
        chart
            .add_series()
            .set_name("Amount paid")
            .set_categories(("Summary", first_day_row, 0, last_day_row, 0))
            .set_values(("Summary", first_day_row, 2, last_day_row, 2));
        chart.title().set_name("Amount paid per day");
        chart.x_axis().set_name("Date paid");
        chart
            .y_axis()
            .set_name("Amount paid")
            .set_num_format("#,##0");
        chart.legend().set_hidden();
        s.ws.insert_chart(table_header, 4, &chart)
            .map_err(|source| WriteError::Xlsx {
                path: path.to_path_buf(),
                source,
            })?;
    }
    Ok(s.ws)
}
