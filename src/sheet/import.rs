//! From rows of cells to `Imported`: find the header row (`sheet::header`), coerce every
//! cell (`sheet::coerce`), build typed items, flag repeated keys, and settle the cells
//! that only the whole column can read (`sheet::decide`). Format-independent and
//! streaming: readers push one row at a time.
//!
//! A row whose cells all read one way is finished when it is pushed. A row with a text
//! amount or date that reads two ways waits, with its values and raw cells, until the
//! last row has shown which way its column reads; `finish` settles it.

use super::cell::{CellValue, cell_ref, column_letters};
use super::clean::fold_key;
use super::coerce::{self, AmountCell, CoerceResult, DateCell, DateOrder};
use super::decide::{self, AmountEvidence, AmountVerdict, DateEvidence, DateVerdict};
use super::header::{self, Detection, MAX_ROWS_ABOVE};
use super::{Column, Imported, ImportedRow, Item, SheetError};
use crate::domain::fields::{
    FieldSpec, Presence, ValueRule, consumer_col, fields, list_col, order_col,
};
use crate::domain::rules::{CONSUMER_ID_MAX, ORDER_NUMBER_MAX};
use crate::domain::{
    AmountLimits, Consumer, ConsumerUpdate, Issue, Kind, Money, Order, OrderRef, Refund,
};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// What the reader knows about the file beyond its cells.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// The merchant's per-order limits, checked on `OrderAmount` (orders only).
    pub amount_limits: Option<AmountLimits>,
    /// How numeric dates read when nothing in their column decides.
    pub date_order: DateOrder,
    /// The workbook counts date serials from 1904 (old Mac Excel).
    pub is_1904: bool,
    /// A CSV file's separator: rows are checked against the header's field count, and
    /// `;` hints at decimal commas.
    pub csv_delimiter: Option<u8>,
    /// Valid rows keep their cells too (`ReadOptions::keep_cells`).
    pub keep_cells: bool,
}

/// A typed cell value on its way into an item.
#[derive(Debug, Clone, Default)]
enum Value {
    #[default]
    Absent,
    Text(String),
    Money(Money),
    Date(NaiveDate),
    Seconds(u64),
    /// A text amount that reads two ways, until its column decides (boxed: rare, and
    /// every row moves its values).
    TwoWayAmount(Box<TwoWayAmount>),
    /// A numeric text date whose reading depends on its column's order.
    TwoWayDate(Box<TwoWayDate>),
}

#[derive(Debug, Clone)]
struct TwoWayAmount {
    point: Result<Money, String>,
    comma: Result<Money, String>,
    thousands: coerce::Convention,
    shown: String,
    /// Where its issue goes among the row's issues (column order).
    at: usize,
}

#[derive(Debug, Clone)]
struct TwoWayDate {
    day_first: Option<NaiveDate>,
    month_first: Option<NaiveDate>,
    shown: String,
    at: usize,
}

impl Value {
    fn text(&mut self) -> String {
        match std::mem::take(self) {
            Value::Text(s) => s,
            _ => String::new(),
        }
    }
    fn opt_text(&mut self) -> Option<String> {
        match std::mem::take(self) {
            Value::Text(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
    fn money(&self) -> Option<Money> {
        match self {
            Value::Money(m) => Some(*m),
            _ => None,
        }
    }
    fn date(&self) -> Option<NaiveDate> {
        match self {
            Value::Date(d) => Some(*d),
            _ => None,
        }
    }
    fn seconds(&self) -> Option<u64> {
        match self {
            Value::Seconds(s) => Some(*s),
            _ => None,
        }
    }
    fn is_two_way(&self) -> bool {
        matches!(self, Value::TwoWayAmount(_) | Value::TwoWayDate(_))
    }
}

/// What a column's cells must look like, for error-cell messages.
fn expected_of(rule: ValueRule) -> &'static str {
    match rule {
        ValueRule::Text { .. } => "expected text",
        ValueRule::OrderNumber { .. } => "expected an order number",
        ValueRule::ConsumerId => "expected a consumer id",
        ValueRule::FullConsumerCode => "expected a full consumer code",
        ValueRule::Amount => "expected an amount",
        ValueRule::Date => "expected a date",
        ValueRule::Mobile | ValueRule::ContactMobile { .. } => "expected a mobile number",
        ValueRule::Email { .. } | ValueRule::ContactEmail { .. } => "expected an e-mail address",
        ValueRule::Seconds => "expected whole seconds",
        ValueRule::Constant(_) => "expected a fixed value",
    }
}

struct Layout {
    kind: Kind,
    specs: &'static [FieldSpec],
    col_of: Vec<Option<usize>>,
    /// Header text per column (trimmed), up to the last named one.
    headers: Vec<String>,
    /// Columns up to and including the last one with a name: cells to the right belong
    /// to no column and are not kept.
    width: usize,
    /// Fields of the header line (CSV only).
    header_fields: usize,
}

impl Layout {
    fn locate(&self, issue: Issue, col: usize) -> Issue {
        let header = self.headers.get(col).cloned().unwrap_or_default();
        issue.at(col, header)
    }

    fn spec_col(&self, spec: usize) -> Option<usize> {
        self.col_of.get(spec).copied().flatten()
    }
}

/// Per field of the kind: what its cells showed so far.
#[derive(Default, Clone)]
struct ColumnStats {
    amounts: AmountEvidence,
    dates: DateEvidence,
}

/// A row that waits for its columns' verdicts.
struct Pending {
    /// Index in `Imported::rows`.
    index: usize,
    values: Vec<Value>,
}

/// Builds `Imported` from rows pushed one at a time.
pub struct Importer {
    requested: Option<Kind>,
    file: PathBuf,
    sheet: String,
    options: ImportOptions,
    layout: Option<Layout>,
    imported: Option<Imported>,
    /// Non-blank rows seen before the header: (row, text) of the first few.
    above: Vec<(u32, String)>,
    rows_above: usize,
    /// With `--kind`: the first row naming some of the kind's columns but too few to be
    /// its header, reported as the header with missing columns if none better comes.
    partial: Option<(u32, String, Vec<&'static str>)>,
    seen: KeySet,
    /// Reused for every row: one allocation per sheet, not per row.
    values: Vec<Value>,
    stats: Vec<ColumnStats>,
    pending: Vec<Pending>,
    reserve_hint: usize,
    /// The last row number taken, for a face showing a long read's progress.
    rows_read: Option<Arc<AtomicU32>>,
}

impl Importer {
    /// `kind: None` guesses the kind from the header (and the file name for look-alike
    /// kinds).
    pub fn new(file: &Path, sheet: &str, kind: Option<Kind>) -> Importer {
        Importer {
            requested: kind,
            file: file.to_path_buf(),
            sheet: sheet.to_string(),
            options: ImportOptions::default(),
            layout: None,
            imported: None,
            above: Vec::new(),
            rows_above: 0,
            partial: None,
            seen: KeySet::default(),
            values: Vec::new(),
            stats: Vec::new(),
            pending: Vec::new(),
            reserve_hint: 0,
            rows_read: None,
        }
    }

    pub fn with_options(mut self, options: ImportOptions) -> Importer {
        self.options = options;
        self
    }

    /// Publishes the number of each row taken into `counter` (a face reads it while a
    /// long file loads).
    pub fn with_rows_read(mut self, counter: Option<Arc<AtomicU32>>) -> Importer {
        self.rows_read = counter;
        self
    }

    /// Checks each `OrderAmount` against the merchant's limits (orders only).
    pub fn with_amount_limits(mut self, limits: Option<AmountLimits>) -> Importer {
        self.options.amount_limits = limits;
        self
    }

    /// True once a header row has been found.
    pub fn has_header(&self) -> bool {
        self.layout.is_some()
    }

    /// Room for `rows` more rows, when the file declares its size: saves the copies (and
    /// the doubled peak memory) of a growing vector on large sheets. Capped: a declared
    /// size is not evidence of data.
    pub fn reserve(&mut self, rows: usize) {
        let rows = rows.min(1 << 17);
        if let Some(imp) = &mut self.imported {
            imp.rows.reserve(rows);
        } else {
            self.reserve_hint = rows;
        }
    }

    /// The columns kept once the header is known: cells to their right belong to no
    /// column.
    pub fn width(&self) -> Option<usize> {
        self.layout.as_ref().map(|l| l.width)
    }

    /// Takes the next row: `row` is the number Excel shows (1-based), `cells` start at
    /// column A (for CSV: every field of the line). Blank rows are skipped and not
    /// counted.
    pub fn push_row(&mut self, row: u32, cells: &[CellValue<'_>]) -> Result<(), SheetError> {
        if let Some(counter) = &self.rows_read {
            counter.store(row, Ordering::Relaxed);
        }
        if cells.iter().all(CellValue::is_blank) {
            return Ok(());
        }
        let Some(layout) = &self.layout else {
            return self.header(row, cells);
        };
        let Some(imp) = &mut self.imported else {
            return Ok(());
        };
        let index = imp.rows.len();
        let built = build_row(
            layout,
            &self.options,
            row,
            cells,
            &mut self.seen,
            &mut self.values,
            &mut self.stats,
            &imp.rows,
        );
        imp.rows.push(built.row);
        if built.pending {
            self.pending.push(Pending {
                index,
                values: std::mem::take(&mut self.values),
            });
        }
        Ok(())
    }

    /// The result, `Ok(None)` when no non-blank row was seen (an empty sheet), or the
    /// reason no header was found.
    pub fn finish(mut self) -> Result<Option<Imported>, SheetError> {
        let (Some(layout), Some(mut imp)) = (self.layout.take(), self.imported.take()) else {
            return match self.above.first() {
                None => Ok(None),
                Some(_) => Err(self.no_header()),
            };
        };
        let verdicts = Verdicts::decide(&layout, &self.stats, &self.options);
        verdicts.warn(&layout, imp.header_row, &self.stats, &mut imp.issues);
        for pending in std::mem::take(&mut self.pending) {
            if let Some(r) = imp.rows.get_mut(pending.index) {
                settle(&layout, &self.options, &verdicts, r, pending.values);
            }
        }
        if imp.rows.is_empty() {
            imp.issues.push(Issue::error(
                imp.header_row,
                "",
                format!(
                    "the sheet has a header (row {}) but no data rows below it",
                    imp.header_row
                ),
            ));
        }
        Ok(Some(imp))
    }

    fn no_header(&self) -> SheetError {
        if let (Some(kind), Some((_, found, missing))) = (self.requested, &self.partial) {
            return SheetError::MissingColumns {
                file: self.file.clone(),
                sheet: self.sheet.clone(),
                kind,
                guessed: false,
                missing: missing.iter().map(|s| s.to_string()).collect(),
                found: found.clone(),
            };
        }
        let (row, found) = self.above.first().cloned().unwrap_or_default();
        let expected = match self.requested {
            Some(kind) => {
                let names: Vec<&str> = fields(kind)
                    .iter()
                    .filter(|f| f.column_required())
                    .map(|f| f.name)
                    .collect();
                format!(
                    "a row naming {} of the columns of {kind} ({})",
                    if names.len() > 1 { "two or more" } else { "the" },
                    names.join(", ")
                )
            }
            None => "a row naming two or more columns of one kind (e.g. OrderNumber and OrderAmount; a list of order numbers alone needs --kind mark-paid or --kind mark-blocked)".to_string(),
        };
        SheetError::NoHeader {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            row,
            expected,
            found,
        }
    }

    fn header(&mut self, row: u32, cells: &[CellValue<'_>]) -> Result<(), SheetError> {
        let mut headers: Vec<String> = cells.iter().map(|c| c.plain().trim().to_string()).collect();
        let (width, far) = header_width(&headers);
        headers.truncate(width);
        let found = quoted_list(&headers);
        let file_hint = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (kind, guessed, m) = match header::detect(self.requested, &headers, &file_hint) {
            Detection::Header {
                kind,
                guessed,
                matched,
            } => (kind, guessed, matched),
            Detection::Ambiguous(kinds) => {
                return Err(SheetError::AmbiguousKind {
                    file: self.file.clone(),
                    sheet: self.sheet.clone(),
                    row,
                    kinds: kinds.iter().map(|k| k.to_string()).collect(),
                });
            }
            Detection::NotHeader => {
                if let Some(kind) = self.requested
                    && self.partial.is_none()
                {
                    let m = header::match_headers(kind, &headers);
                    if m.matched > 0 {
                        self.partial = Some((row, found.clone(), m.missing));
                    }
                }
                self.rows_above += 1;
                if self.above.len() < 3 {
                    self.above.push((row, found));
                }
                if self.rows_above >= MAX_ROWS_ABOVE {
                    return Err(self.no_header());
                }
                return Ok(());
            }
        };
        if let Some((field, a, b)) = m.duplicate {
            return Err(SheetError::DuplicateColumn {
                file: self.file.clone(),
                sheet: self.sheet.clone(),
                field: field.to_string(),
                first: format!("{} \"{}\"", column_letters(a), headers[a]),
                second: format!("{} \"{}\"", column_letters(b), headers[b]),
            });
        }
        if !m.missing.is_empty() {
            return Err(SheetError::MissingColumns {
                file: self.file.clone(),
                sheet: self.sheet.clone(),
                kind,
                guessed,
                missing: m.missing.iter().map(|s| s.to_string()).collect(),
                found,
            });
        }
        let specs = fields(kind);
        let mut columns = Vec::new();
        let mut unknown_columns = Vec::new();
        let mut issues = Vec::new();
        for (col, h) in headers.iter().enumerate().take(width) {
            let field = m
                .col_of
                .iter()
                .position(|c| *c == Some(col))
                .map(|i| specs[i].name);
            if field.is_none() && !h.is_empty() {
                unknown_columns.push(h.clone());
                issues.push(
                    Issue::warning(
                        row,
                        h.clone(),
                        format!(
                            "column {} \"{h}\" is not a column of {kind} and is ignored",
                            column_letters(col)
                        ),
                    )
                    .at(col, h.clone()),
                );
            }
            columns.push(Column {
                index: col,
                letter: column_letters(col),
                header: h.clone(),
                field,
            });
        }
        if let Some((col, text)) = far {
            issues.push(Issue::warning(
                row,
                "",
                format!(
                    "cell {} (\"{}\") is far to the right of the other headers and is ignored, with every cell from column {} on",
                    cell_ref(col, row),
                    truncate(&text, 40),
                    column_letters(width)
                ),
            ));
        }
        for (above, text) in &self.above {
            issues.push(Issue::warning(
                *above,
                "",
                format!("row {above} ({text}) is above the header row {row} and is not read"),
            ));
        }
        if self.rows_above > self.above.len() {
            issues.push(Issue::warning(
                row,
                "",
                format!(
                    "{} more rows above the header row {row} are not read",
                    self.rows_above - self.above.len()
                ),
            ));
        }
        self.imported = Some(Imported {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            kind,
            kind_guessed: guessed,
            header_row: row,
            columns,
            unknown_columns,
            rows: Vec::with_capacity(self.reserve_hint),
            issues,
        });
        self.stats = vec![ColumnStats::default(); specs.len()];
        self.layout = Some(Layout {
            kind,
            specs,
            col_of: m.col_of,
            header_fields: cells.len(),
            headers,
            width,
        });
        Ok(())
    }
}

/// Empty header cells in a row after which a name no longer starts a column: a stray
/// cell at XFD1 must not make every row keep 16,384 cells.
const HEADER_GAP: usize = 64;

/// The columns the header names (up to its last named cell before a gap of
/// [`HEADER_GAP`] empty ones), and the first named cell after such a gap.
fn header_width(headers: &[String]) -> (usize, Option<(usize, String)>) {
    let mut width = 0;
    for (col, h) in headers.iter().enumerate() {
        if h.is_empty() {
            continue;
        }
        if col >= width + HEADER_GAP && width > 0 {
            return (width, Some((col, h.clone())));
        }
        width = col + 1;
    }
    (width, None)
}

/// `"A", "B"`: the non-empty cells of a row, for messages.
fn quoted_list(cells: &[String]) -> String {
    let mut out: Vec<String> = cells
        .iter()
        .filter(|h| !h.is_empty())
        .take(12)
        .map(|h| format!("\"{}\"", truncate(h, 40)))
        .collect();
    let n = cells.iter().filter(|h| !h.is_empty()).count();
    if n > 12 {
        out.push(format!("and {} more", n - 12));
    }
    out.join(", ")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max).collect();
        format!("{head}…")
    }
}

struct Built {
    row: ImportedRow,
    /// The row waits for its columns' verdicts (its values were left in `values`).
    pending: bool,
}

#[allow(clippy::too_many_arguments)]
fn build_row(
    layout: &Layout,
    options: &ImportOptions,
    row: u32,
    cells: &[CellValue<'_>],
    seen: &mut KeySet,
    values: &mut Vec<Value>,
    stats: &mut [ColumnStats],
    earlier: &[ImportedRow],
) -> Built {
    let mut issues = Vec::new();
    values.clear();
    for (i, spec) in layout.specs.iter().enumerate() {
        let value = match layout.spec_col(i) {
            None => match spec.rule {
                ValueRule::Constant(c) if spec.presence == Presence::Implied => {
                    Value::Text(c.to_string())
                }
                _ => Value::Absent,
            },
            Some(c) => {
                let cell = cells.get(c).unwrap_or(&CellValue::Empty);
                match coerce_cell(spec, cell, c, row, options, &mut stats[i]) {
                    Ok(coerced) => {
                        if let Some(w) = coerced.warning {
                            issues.push(layout.locate(Issue::warning(row, spec.name, w), c));
                        }
                        let mut value = coerced.value;
                        match &mut value {
                            Value::TwoWayAmount(two) => two.at = issues.len(),
                            Value::TwoWayDate(two) => two.at = issues.len(),
                            _ => {}
                        }
                        value
                    }
                    Err(message) => {
                        issues.push(layout.locate(Issue::error(row, spec.name, message), c));
                        Value::Absent
                    }
                }
            }
        };
        values.push(value);
    }
    if options.csv_delimiter.is_some() {
        csv_shape(layout, row, cells, &mut issues);
    }

    let key_name = layout.specs[0].name;
    let key = match &values[0] {
        Value::Text(s) => s.clone(),
        _ => layout
            .spec_col(0)
            .and_then(|c| cells.get(c))
            .map(|c| c.plain().trim().to_string())
            .unwrap_or_default(),
    };
    if !key.is_empty()
        && let Some(first) = seen.first_row(&key, row, earlier)
    {
        let issue = Issue::error(
            row,
            key_name,
            format!(
                "\"{key}\" repeats the {} of row {first}",
                layout.kind.key_noun()
            ),
        );
        issues.push(match layout.spec_col(0) {
            Some(c) => layout.locate(issue, c),
            None => issue,
        });
    }

    let pending = values.iter().any(Value::is_two_way);
    let mut item = None;
    if !pending {
        row_rules(layout, options, row, values, &mut issues);
        if !issues.iter().any(Issue::is_error) {
            item = Some(assemble(layout.kind, values));
        }
    }
    let raw = if item.is_some() && !options.keep_cells {
        Vec::new()
    } else {
        raw_cells(layout, cells)
    };
    Built {
        row: ImportedRow {
            row,
            key,
            item,
            issues,
            raw,
        },
        pending,
    }
}

/// The cells as the clerk sees them, up to the last named column (a stray cell far to
/// the right does not make every invalid row keep thousands of empty cells).
fn raw_cells(layout: &Layout, cells: &[CellValue<'_>]) -> Vec<String> {
    (0..layout.width)
        .map(|c| cells.get(c).map(CellValue::plain).unwrap_or_default())
        .collect()
}

/// A CSV line with more fields than the header (an unquoted comma split a value) is an
/// error; a shorter one gets a warning (its missing mandatory fields are errors anyway).
fn csv_shape(layout: &Layout, row: u32, cells: &[CellValue<'_>], issues: &mut Vec<Issue>) {
    let found = cells.len();
    let expected = layout.header_fields.max(layout.width);
    if found > expected && cells[expected..].iter().any(|c| !c.is_blank()) {
        issues.push(Issue::error(
            row,
            "",
            format!(
                "the line has {found} fields where the header has {expected}: a value that contains the separator (such as an address \"House 5, Street 2\") must be in double quotes"
            ),
        ));
    } else if found < layout.width {
        issues.push(Issue::warning(
            row,
            "",
            format!(
                "the line has {found} fields where the header has {}: {} read as empty",
                layout.width,
                match layout.width - found {
                    1 => "the last one is".to_string(),
                    n => format!("the last {n} are"),
                }
            ),
        ));
    }
}

fn coerce_cell(
    spec: &FieldSpec,
    cell: &CellValue<'_>,
    col: usize,
    row: u32,
    options: &ImportOptions,
    stats: &mut ColumnStats,
) -> CoerceResult<Value> {
    match cell {
        CellValue::Error(e) => {
            return Err(format!(
                "cell {} holds the error {e} ({})",
                cell_ref(col, row),
                expected_of(spec.rule)
            ));
        }
        CellValue::NoValue(formula) => {
            let shown = if formula.is_empty() {
                String::new()
            } else {
                format!(" ({})", cell.plain())
            };
            return Err(format!(
                "cell {} holds a formula{shown} with no saved value — open and save the file in Excel (or export values)",
                cell_ref(col, row),
            ));
        }
        _ => {}
    }
    if cell.is_blank() {
        return match spec.presence {
            Presence::Mandatory => Err(format!("is empty ({} is mandatory)", spec.name)),
            _ => Ok(coerce::Coerced {
                value: match spec.rule {
                    ValueRule::Constant(c) => Value::Text(c.to_string()),
                    _ => Value::Absent,
                },
                warning: None,
            }),
        };
    }
    fn map<T>(r: CoerceResult<T>, f: impl FnOnce(T) -> Value) -> CoerceResult<Value> {
        r.map(|c| coerce::Coerced {
            value: f(c.value),
            warning: c.warning,
        })
    }
    let coerced = match spec.rule {
        ValueRule::Text { max } => map(coerce::text(cell, max), Value::Text),
        ValueRule::OrderNumber { in_list: true } => map(
            coerce::list_order_number(cell, ORDER_NUMBER_MAX),
            Value::Text,
        ),
        ValueRule::OrderNumber { in_list: false } => {
            map(coerce::key_text(cell, ORDER_NUMBER_MAX), Value::Text)
        }
        ValueRule::ConsumerId => {
            let mut r = map(coerce::key_text(cell, CONSUMER_ID_MAX), Value::Text);
            if let Ok(c) = &mut r
                && matches!(cell, CellValue::Int(_) | CellValue::Float(_))
            {
                c.warning.get_or_insert_with(|| {
                    format!("{cell} is a number cell: if the id had leading zeros, Excel dropped them (format the column as Text)")
                });
            }
            r
        }
        ValueRule::FullConsumerCode => map(
            coerce::full_consumer_code(cell, CONSUMER_ID_MAX),
            Value::Text,
        ),
        ValueRule::Amount => coerce::amount(cell).map(|c| {
            let value = match c.value {
                AmountCell::Read { money, proves } => {
                    match proves {
                        Some(coerce::Convention::DecimalPoint) => {
                            stats.amounts.point.add(row, &cell.plain())
                        }
                        Some(coerce::Convention::DecimalComma) => {
                            stats.amounts.comma.add(row, &cell.plain())
                        }
                        None => {}
                    }
                    Value::Money(money)
                }
                AmountCell::Ambiguous {
                    point,
                    comma,
                    thousands,
                } => {
                    stats.amounts.ambiguous.add(row, &cell.plain());
                    Value::TwoWayAmount(Box::new(TwoWayAmount {
                        point,
                        comma,
                        thousands,
                        shown: cell.to_string(),
                        at: 0,
                    }))
                }
            };
            coerce::Coerced {
                value,
                warning: c.warning,
            }
        }),
        ValueRule::Date => coerce::date(cell, options.is_1904).map(|c| {
            let value = match c.value {
                DateCell::Fixed(d) => Value::Date(d),
                DateCell::Ordered {
                    day_first,
                    month_first,
                } => {
                    let text = cell.plain();
                    match (day_first, month_first) {
                        (Some(_), None) => stats.dates.day_first.add(row, text.trim()),
                        (None, Some(_)) => stats.dates.month_first.add(row, text.trim()),
                        _ => stats.dates.ambiguous.add(row, text.trim()),
                    }
                    Value::TwoWayDate(Box::new(TwoWayDate {
                        day_first,
                        month_first,
                        shown: cell.to_string(),
                        at: 0,
                    }))
                }
            };
            coerce::Coerced {
                value,
                warning: c.warning,
            }
        }),
        ValueRule::Mobile => map(coerce::mobile(cell), Value::Text),
        ValueRule::ContactMobile { max } => map(coerce::contact_mobile(cell, max), Value::Text),
        ValueRule::Email { max } => map(coerce::email(cell, max), Value::Text),
        ValueRule::ContactEmail { max } => map(coerce::contact_email(cell, max), Value::Text),
        ValueRule::Seconds => map(coerce::seconds(cell), Value::Seconds),
        ValueRule::Constant(legal) => map(coerce::constant(cell, legal, spec.name), Value::Text),
    }?;
    // Text that held only invisible characters is empty, and a mandatory value cannot be.
    if spec.presence == Presence::Mandatory
        && matches!(&coerced.value, Value::Text(s) if s.is_empty())
    {
        return Err(format!(
            "{cell} has only invisible characters, so it is empty ({} is mandatory)",
            spec.name
        ));
    }
    Ok(coerced)
}

/// The verdict of every amount and date column of the kind.
struct Verdicts {
    amounts: Vec<Option<AmountVerdict>>,
    dates: Vec<Option<DateVerdict>>,
}

impl Verdicts {
    fn decide(layout: &Layout, stats: &[ColumnStats], options: &ImportOptions) -> Verdicts {
        let mut file = AmountEvidence::default();
        for (spec, s) in layout.specs.iter().zip(stats) {
            if spec.is_amount() {
                file.merge(&s.amounts);
            }
        }
        let amounts = layout
            .specs
            .iter()
            .zip(stats)
            .map(|(spec, s)| {
                spec.is_amount()
                    .then(|| decide::decide_amounts(&s.amounts, &file, options.csv_delimiter))
            })
            .collect();
        let dates = layout
            .specs
            .iter()
            .zip(stats)
            .map(|(spec, s)| {
                (spec.rule == ValueRule::Date)
                    .then(|| decide::decide_dates(&s.dates, options.date_order))
            })
            .collect();
        Verdicts { amounts, dates }
    }

    /// One warning per column whose reading the clerk should know about.
    fn warn(&self, layout: &Layout, header_row: u32, stats: &[ColumnStats], out: &mut Vec<Issue>) {
        for (i, spec) in layout.specs.iter().enumerate() {
            let Some(col) = layout.spec_col(i) else {
                continue;
            };
            let s = &stats[i];
            let mut say = |message: String| {
                out.push(layout.locate(Issue::warning(header_row, spec.name, message), col));
            };
            if let Some(Some(v)) = self.amounts.get(i) {
                let read_with_comma = s.amounts.comma.count + s.amounts.ambiguous.count > 0;
                match v {
                    AmountVerdict::Use(coerce::Convention::DecimalComma, why)
                        if read_with_comma =>
                    {
                        say(format!(
                            "amounts in this column are read with {}, {why}",
                            coerce::Convention::DecimalComma.describe()
                        ));
                    }
                    AmountVerdict::Mixed { point, comma } if s.amounts.ambiguous.count > 0 => {
                        say(format!(
                            "amounts in this column mix decimal points ({point}) and decimal commas ({comma}): amounts that read both ways are refused"
                        ));
                    }
                    _ => {}
                }
            }
            if let Some(Some(v)) = self.dates.get(i) {
                match v {
                    DateVerdict::Use {
                        order: DateOrder::MonthFirst,
                        proof: Some(p),
                    } => say(format!(
                        "dates in this column are read month-first (MM/DD/YYYY), as {p} shows"
                    )),
                    DateVerdict::Use { order, proof: None } if s.dates.ambiguous.count > 0 => {
                        let (row, text) = s.dates.ambiguous.first.clone().unwrap_or_default();
                        say(format!(
                            "{} dates of this column, such as \"{text}\" (row {row}), could be day-first or month-first and no date in the column decides: read {} ({}); if that is wrong, validate with --date-order {}",
                            s.dates.ambiguous.count,
                            order.describe(),
                            match order {
                                DateOrder::DayFirst => "DD/MM/YYYY, as the API guide writes dates",
                                DateOrder::MonthFirst => "MM/DD/YYYY, as configured",
                            },
                            match order {
                                DateOrder::DayFirst => "month-first",
                                DateOrder::MonthFirst => "day-first",
                            }
                        ));
                    }
                    DateVerdict::Mixed {
                        day_first,
                        month_first,
                        ..
                    } => say(format!(
                        "this column mixes day-first ({day_first}) and month-first ({month_first}) dates: dates whose reading depends on the order are refused unless the column's majority decides them"
                    )),
                    _ => {}
                }
            }
        }
    }
}

/// Settles a waiting row: its two-way values by their columns' verdicts, then the row's
/// own rules, then its item (or its raw cells, kept since it was pushed).
fn settle(
    layout: &Layout,
    options: &ImportOptions,
    verdicts: &Verdicts,
    r: &mut ImportedRow,
    mut values: Vec<Value>,
) {
    // Last column first, so that each issue goes in at its place in column order.
    for (i, value) in values.iter_mut().enumerate().rev() {
        let (resolved, at) = match value {
            Value::TwoWayAmount(two) => match verdicts.amounts.get(i) {
                Some(Some(v)) => (
                    decide::resolve_amount(v, &two.point, &two.comma, two.thousands, &two.shown)
                        .map(Value::Money),
                    two.at,
                ),
                _ => continue,
            },
            Value::TwoWayDate(two) => match verdicts.dates.get(i) {
                Some(Some(v)) => (
                    decide::resolve_date(v, two.day_first, two.month_first, &two.shown)
                        .map(Value::Date),
                    two.at,
                ),
                _ => continue,
            },
            _ => continue,
        };
        match resolved {
            Ok(v) => *value = v,
            Err(message) => {
                *value = Value::Absent;
                let issue = Issue::error(r.row, layout.specs[i].name, message);
                let issue = match layout.spec_col(i) {
                    Some(c) => layout.locate(issue, c),
                    None => issue,
                };
                r.issues.insert(at.min(r.issues.len()), issue);
            }
        }
    }
    row_rules(layout, options, r.row, &values, &mut r.issues);
    if !r.issues.iter().any(Issue::is_error) {
        r.item = Some(assemble(layout.kind, &mut values));
        if !options.keep_cells {
            r.raw = Vec::new();
        }
    }
}

/// The keys seen so far, compared as `clean::fold_key` says (case, NFKC, invisible
/// characters), without an allocation per ASCII row: a hash of the folded key points at
/// the row that first had it, whose key is then compared for real. Hash collisions
/// between different keys fall back to a map of folded strings.
#[derive(Default)]
struct KeySet {
    by_hash: HashMap<u64, usize, BuildHasherDefault<IdentityHasher>>,
    collided: HashMap<String, u32>,
}

impl KeySet {
    /// The row where `key` first appeared, or `None`, recording `key` for `row`, the row
    /// about to be appended to `earlier`.
    fn first_row(&mut self, key: &str, row: u32, earlier: &[ImportedRow]) -> Option<u32> {
        let hash = folded_hash(key);
        let Some(&i) = self.by_hash.get(&hash) else {
            self.by_hash.insert(hash, earlier.len());
            return None;
        };
        if let Some(first) = earlier.get(i)
            && eq_folded(&first.key, key)
        {
            return Some(first.row);
        }
        // Another key with the same hash: compare folded strings exactly.
        let folded = fold_key(key).into_owned();
        match self.collided.get(&folded) {
            Some(&first) => Some(first),
            None => {
                self.collided.insert(folded, row);
                None
            }
        }
    }
}

fn eq_folded(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    fold_key(a) == fold_key(b)
}

/// FNV-1a over the folded characters (bytes, for the common all-ASCII key).
fn folded_hash(s: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    if s.is_ascii() {
        for b in s.bytes() {
            h ^= u64::from(b.to_ascii_lowercase());
            h = h.wrapping_mul(PRIME);
        }
    } else {
        for c in fold_key(s).chars() {
            h ^= u64::from(u32::from(c));
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

/// The keys of `KeySet::by_hash` are hashes already.
#[derive(Default)]
struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Rules that involve more than one cell of a row.
fn row_rules(
    layout: &Layout,
    options: &ImportOptions,
    row: u32,
    values: &[Value],
    issues: &mut Vec<Issue>,
) {
    let at = |issue: Issue, spec: usize| match layout.spec_col(spec) {
        Some(c) => layout.locate(issue, c),
        None => issue,
    };
    match layout.kind {
        Kind::Orders => {
            if let (Some(limits), Some(amount)) =
                (options.amount_limits, values[order_col::AMOUNT].money())
                && let Some(why) = limits.check(amount)
            {
                issues.push(at(Issue::error(row, "OrderAmount", why), order_col::AMOUNT));
            }
            if let (Some(due), Some(issue)) = (
                values[order_col::DUE_DATE].date(),
                values[order_col::ISSUE_DATE].date(),
            ) && due < issue
            {
                issues.push(at(
                    Issue::error(
                        row,
                        "OrderDueDate",
                        format!(
                            "the due date {} is before the issue date {} (expected a due date on or after the issue date)",
                            due.format("%d/%m/%Y"),
                            issue.format("%d/%m/%Y")
                        ),
                    ),
                    order_col::DUE_DATE,
                ));
            }
            if let Value::Text(n) = &values[order_col::NUMBER]
                && n.contains([',', '|'])
            {
                issues.push(at(
                    Issue::warning(
                        row,
                        "OrderNumber",
                        format!("\"{n}\" contains ',' or '|': the API can create it but never mark it paid, blocked or refunded"),
                    ),
                    order_col::NUMBER,
                ));
            }
        }
        Kind::ConsumerUpdates => {
            let changes = [
                consumer_col::NAME,
                consumer_col::MOBILE,
                consumer_col::EMAIL,
                consumer_col::ADDRESS,
            ]
            .iter()
            .any(|&i| matches!(&values[i], Value::Text(s) if !s.is_empty()));
            let field_errors = issues
                .iter()
                .any(|i| i.is_error() && i.column != "ConsumerID");
            if !changes && !field_errors {
                issues.push(Issue::error(
                    row,
                    "ConsumerID",
                    "the row changes nothing (expected a value in at least one of Name, Mobile, Email, Address)",
                ));
            }
        }
        _ => {}
    }
}

fn assemble(kind: Kind, v: &mut [Value]) -> Item {
    match kind {
        Kind::Orders => {
            use order_col as c;
            Item::Order(Order {
                order_number: v[c::NUMBER].text(),
                amount: v[c::AMOUNT].money().unwrap_or_else(Money::zero),
                due_date: v[c::DUE_DATE].date().unwrap_or_default(),
                issue_date: v[c::ISSUE_DATE].date().unwrap_or_default(),
                customer_name: v[c::NAME].text(),
                customer_mobile: v[c::MOBILE].text(),
                customer_email: v[c::EMAIL].text(),
                customer_address: v[c::ADDRESS].text(),
                expire_after_seconds: v[c::EXPIRE_AFTER].seconds(),
                amount_within_due_date: v[c::AMOUNT_WITHIN_DUE].money(),
                amount_after_due_date: v[c::AMOUNT_AFTER_DUE].money(),
            })
        }
        Kind::Consumers => {
            use consumer_col as c;
            Item::Consumer(Consumer {
                consumer_id: v[c::ID].text(),
                name: v[c::NAME].text(),
                mobile: v[c::MOBILE].text(),
                email: v[c::EMAIL].text(),
                address: v[c::ADDRESS].text(),
            })
        }
        Kind::ConsumerUpdates => {
            use consumer_col as c;
            Item::ConsumerUpdate(ConsumerUpdate {
                consumer_id: v[c::ID].text(),
                name: v[c::NAME].opt_text(),
                mobile: v[c::MOBILE].opt_text(),
                email: v[c::EMAIL].opt_text(),
                address: v[c::ADDRESS].opt_text(),
            })
        }
        Kind::MarkPaid | Kind::MarkBlocked => Item::OrderRef(OrderRef {
            order_number: v[list_col::NUMBER].text(),
        }),
        Kind::Refunds => Item::Refund(Refund {
            order_number: v[list_col::NUMBER].text(),
            amount: v[list_col::AMOUNT].money().unwrap_or_else(Money::zero),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u32, key: &str) -> ImportedRow {
        ImportedRow {
            row: n,
            key: key.into(),
            item: None,
            issues: Vec::new(),
            raw: Vec::new(),
        }
    }

    #[test]
    fn keys_repeat_without_regard_to_case_width_or_invisible_characters() {
        let mut seen = KeySet::default();
        let mut rows = Vec::new();
        for (n, key) in [(2, "INV-1"), (3, "INV-2")] {
            assert_eq!(seen.first_row(key, n, &rows), None);
            rows.push(row(n, key));
        }
        assert_eq!(seen.first_row("inv-1", 4, &rows), Some(2));
        assert_eq!(seen.first_row("INV-2", 5, &rows), Some(3));
        assert_eq!(seen.first_row("INV-1\u{200B}", 6, &rows), Some(2));
        assert_eq!(seen.first_row("ＩＮＶ-1", 7, &rows), Some(2));
        assert_eq!(seen.first_row("IN\u{00AD}V-2", 8, &rows), Some(3));
        assert_eq!(seen.first_row("ÄBC", 9, &rows), None);
        rows.push(row(9, "ÄBC"));
        assert_eq!(seen.first_row("äbc", 10, &rows), Some(9));
    }

    #[test]
    fn hash_collisions_are_told_apart() {
        let mut seen = KeySet::default();
        let mut rows = Vec::new();
        assert_eq!(seen.first_row("A", 2, &rows), None);
        rows.push(row(2, "A"));
        // Make "B" collide with "A".
        seen.by_hash.insert(folded_hash("B"), 0);
        assert_eq!(seen.first_row("B", 3, &rows), None, "B is not A");
        rows.push(row(3, "B"));
        assert_eq!(seen.first_row("b", 4, &rows), Some(3));
        assert_eq!(seen.first_row("a", 5, &rows), Some(2));
    }
}
