//! From rows of cells to `Imported`: find the header row, match it to the kind's columns
//! (or guess the kind), coerce every cell, build typed items, and flag repeated keys.
//! Format-independent and streaming: readers push one row at a time.

use super::cell::{CellValue, cell_ref, column_letters};
use super::coerce::{self, CoerceResult};
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

/// A typed cell value on its way into an item.
#[derive(Debug, Clone, Default)]
enum Value {
    #[default]
    Absent,
    Text(String),
    Money(Money),
    Date(NaiveDate),
    Seconds(u64),
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
}

/// How the header row maps onto a kind's columns.
#[derive(Debug)]
struct HeaderMatch {
    /// Per field of the kind, the 0-based column holding it.
    col_of: Vec<Option<usize>>,
    matched: usize,
    missing: Vec<&'static str>,
    /// (field, first column, second column) when two headers name one field.
    duplicate: Option<(&'static str, usize, usize)>,
}

fn match_headers(kind: Kind, headers: &[String]) -> HeaderMatch {
    let specs = fields(kind);
    let mut col_of = vec![None; specs.len()];
    let mut matched = 0;
    let mut duplicate = None;
    for (col, h) in headers.iter().enumerate() {
        if let Some(i) = specs.iter().position(|s| s.matches(h)) {
            match col_of[i] {
                Some(first) => {
                    duplicate.get_or_insert((specs[i].name, first, col));
                }
                None => {
                    col_of[i] = Some(col);
                    matched += 1;
                }
            }
        }
    }
    let missing = specs
        .iter()
        .zip(&col_of)
        .filter(|(s, c)| s.column_required() && c.is_none())
        .map(|(s, _)| s.name)
        .collect();
    HeaderMatch {
        col_of,
        matched,
        missing,
        duplicate,
    }
}

/// The kind that explains the most headers; on a tie, one whose required columns are all
/// present. Kinds with identical columns are told apart by the file name (`…update…`,
/// `…block…`), else the less dangerous one is taken (consumers, mark-paid). An orders
/// sheet that lacks a column is reported as such, never mistaken for a mark-paid list
/// that happens to have an order-number column.
fn guess_kind(headers: &[String], file_hint: &str) -> (Kind, HeaderMatch) {
    let hint = file_hint.to_lowercase();
    let preferred = |k: Kind| match k {
        Kind::ConsumerUpdates => hint.contains("update"),
        Kind::Consumers => !hint.contains("update"),
        Kind::MarkBlocked => hint.contains("block"),
        Kind::MarkPaid => !hint.contains("block"),
        _ => true,
    };
    let rank = |m: &HeaderMatch, k: Kind| (m.matched, m.missing.is_empty(), preferred(k));
    let mut best: Option<(Kind, HeaderMatch)> = None;
    for kind in Kind::ALL {
        let m = match_headers(kind, headers);
        let better = match &best {
            None => true,
            Some((bk, bm)) => rank(&m, kind) > rank(bm, *bk),
        };
        if better {
            best = Some((kind, m));
        }
    }
    best.unwrap_or_else(|| (Kind::Orders, match_headers(Kind::Orders, headers)))
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
        ValueRule::Mobile => "expected a mobile number",
        ValueRule::Email { .. } => "expected an e-mail address",
        ValueRule::Seconds => "expected whole seconds",
        ValueRule::Constant(_) => "expected a fixed value",
    }
}

fn coerce_cell(
    spec: &FieldSpec,
    cell: &CellValue<'_>,
    col: usize,
    row: u32,
) -> CoerceResult<Value> {
    let implied = |spec: &FieldSpec| match spec.rule {
        ValueRule::Constant(c) => Value::Text(c.to_string()),
        _ => Value::Absent,
    };
    if let CellValue::Error(e) = cell {
        return Err(format!(
            "cell {} holds the error {e} ({})",
            cell_ref(col, row),
            expected_of(spec.rule)
        ));
    }
    if cell.is_blank() {
        return match spec.presence {
            Presence::Mandatory => Err(format!("is empty ({} is mandatory)", spec.name)),
            _ => Ok(coerce::Coerced {
                value: implied(spec),
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
    match spec.rule {
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
        ValueRule::Amount => map(coerce::amount(cell), Value::Money),
        ValueRule::Date => map(coerce::date(cell), Value::Date),
        ValueRule::Mobile => map(coerce::mobile(cell), Value::Text),
        ValueRule::Email { max } => map(coerce::email(cell, max), Value::Text),
        ValueRule::Seconds => map(coerce::seconds(cell), Value::Seconds),
        ValueRule::Constant(legal) => map(coerce::constant(cell, legal, spec.name), Value::Text),
    }
}

struct Layout {
    kind: Kind,
    limits: Option<AmountLimits>,
    specs: &'static [FieldSpec],
    col_of: Vec<Option<usize>>,
    width: usize,
    keep_cells: bool,
}

/// Builds `Imported` from rows pushed one at a time; the first non-blank row is the
/// header.
pub struct Importer {
    requested: Option<Kind>,
    file: PathBuf,
    sheet: String,
    layout: Option<Layout>,
    imported: Option<Imported>,
    seen: KeySet,
    /// Reused for every row: one allocation per sheet, not per row.
    values: Vec<Value>,
    reserve_hint: usize,
    limits: Option<AmountLimits>,
    keep_cells: bool,
}

impl Importer {
    /// `kind: None` guesses the kind from the header (and the file name for look-alike
    /// kinds).
    pub fn new(file: &Path, sheet: &str, kind: Option<Kind>) -> Importer {
        Importer {
            requested: kind,
            file: file.to_path_buf(),
            sheet: sheet.to_string(),
            layout: None,
            imported: None,
            seen: KeySet::default(),
            values: Vec::new(),
            reserve_hint: 0,
            limits: None,
            keep_cells: false,
        }
    }

    /// Keeps every row's cells as text, valid rows too (see `ReadOptions::keep_cells`).
    pub fn keeping_cells(mut self, keep: bool) -> Importer {
        self.keep_cells = keep;
        self
    }

    /// Checks each `OrderAmount` against the merchant's limits (orders only).
    pub fn with_amount_limits(mut self, limits: Option<AmountLimits>) -> Importer {
        self.limits = limits;
        self
    }

    /// True once a header row has been found.
    pub fn has_header(&self) -> bool {
        self.layout.is_some()
    }

    /// Room for `rows` more rows, when the file declares its size: saves the copies (and
    /// the doubled peak memory) of a growing vector on large sheets.
    pub fn reserve(&mut self, rows: usize) {
        if let Some(imp) = &mut self.imported {
            imp.rows.reserve(rows.min(1 << 20));
        } else {
            self.reserve_hint = rows.min(1 << 20);
        }
    }

    /// The header's width once known: cells to its right belong to no column.
    pub fn width(&self) -> Option<usize> {
        self.layout.as_ref().map(|l| l.width)
    }

    /// Takes the next row: `row` is the number Excel shows (1-based), `cells` start at
    /// column A. Blank rows are skipped and not counted.
    pub fn push_row(&mut self, row: u32, cells: &[CellValue<'_>]) -> Result<(), SheetError> {
        if cells.iter().all(CellValue::is_blank) {
            return Ok(());
        }
        match &self.layout {
            None => self.header(row, cells),
            Some(layout) => {
                if let Some(imp) = &mut self.imported {
                    let r = build_row(
                        layout,
                        row,
                        cells,
                        &mut self.seen,
                        &mut self.values,
                        &imp.rows,
                    );
                    imp.rows.push(r);
                }
                Ok(())
            }
        }
    }

    /// The result, or `None` when no non-blank row was seen (an empty sheet).
    pub fn finish(self) -> Option<Imported> {
        self.imported
    }

    fn header(&mut self, row: u32, cells: &[CellValue<'_>]) -> Result<(), SheetError> {
        let headers: Vec<String> = cells.iter().map(|c| c.plain().trim().to_string()).collect();
        let found = || {
            headers
                .iter()
                .filter(|h| !h.is_empty())
                .map(|h| format!("\"{h}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let file_hint = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (kind, guessed, m) = match self.requested {
            Some(k) => (k, false, match_headers(k, &headers)),
            None => {
                let (k, m) = guess_kind(&headers, &file_hint);
                (k, true, m)
            }
        };
        if m.matched == 0 {
            return Err(SheetError::NoHeader {
                file: self.file.clone(),
                sheet: self.sheet.clone(),
                row,
                expected: if guessed {
                    "the column names of any kind (e.g. OrderNumber, OrderAmount, ConsumerID)"
                        .into()
                } else {
                    format!("the column names of {kind} (e.g. {})", fields(kind)[0].name)
                },
                found: found(),
            });
        }
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
                found: found(),
            });
        }
        let specs = fields(kind);
        let mut columns = Vec::new();
        let mut unknown_columns = Vec::new();
        let mut issues = Vec::new();
        for (col, h) in headers.iter().enumerate() {
            let field = m
                .col_of
                .iter()
                .position(|c| *c == Some(col))
                .map(|i| specs[i].name);
            if field.is_none() && !h.is_empty() {
                unknown_columns.push(h.clone());
                issues.push(Issue::warning(
                    row,
                    h.clone(),
                    format!(
                        "column {} \"{h}\" is not a column of {kind} and is ignored",
                        column_letters(col)
                    ),
                ));
            }
            columns.push(Column {
                index: col,
                letter: column_letters(col),
                header: h.clone(),
                field,
            });
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
        self.layout = Some(Layout {
            kind,
            limits: self.limits,
            specs,
            col_of: m.col_of,
            width: headers.len(),
            keep_cells: self.keep_cells,
        });
        Ok(())
    }
}

fn build_row(
    layout: &Layout,
    row: u32,
    cells: &[CellValue<'_>],
    seen: &mut KeySet,
    values: &mut Vec<Value>,
    earlier: &[ImportedRow],
) -> ImportedRow {
    let mut issues = Vec::new();
    values.clear();
    for (spec, col) in layout.specs.iter().zip(&layout.col_of) {
        let value = match col {
            None => match spec.rule {
                ValueRule::Constant(c) if spec.presence == Presence::Implied => {
                    Value::Text(c.to_string())
                }
                _ => Value::Absent,
            },
            Some(c) => {
                let cell = cells.get(*c).unwrap_or(&CellValue::Empty);
                match coerce_cell(spec, cell, *c, row) {
                    Ok(coerced) => {
                        if let Some(w) = coerced.warning {
                            issues.push(Issue::warning(row, spec.name, w));
                        }
                        coerced.value
                    }
                    Err(message) => {
                        issues.push(Issue::error(row, spec.name, message));
                        Value::Absent
                    }
                }
            }
        };
        values.push(value);
    }

    let key_name = layout.specs[0].name;
    let key = match &values[0] {
        Value::Text(s) => s.clone(),
        _ => layout.col_of[0]
            .and_then(|c| cells.get(c))
            .map(|c| c.plain().trim().to_string())
            .unwrap_or_default(),
    };
    row_rules(layout, row, values, &mut issues);
    if !key.is_empty()
        && let Some(first) = seen.first_row(&key, row, earlier)
    {
        issues.push(Issue::error(
            row,
            key_name,
            format!(
                "\"{key}\" repeats the {} of row {first}",
                layout.kind.key_noun()
            ),
        ));
    }

    let valid = !issues.iter().any(Issue::is_error);
    let item = if valid {
        Some(assemble(layout.kind, values))
    } else {
        None
    };
    let raw = if valid && !layout.keep_cells {
        Vec::new()
    } else {
        (0..layout.width)
            .map(|c| cells.get(c).map(CellValue::plain).unwrap_or_default())
            .collect()
    };
    ImportedRow {
        row,
        key,
        item,
        issues,
        raw,
    }
}

/// The keys seen so far, compared without regard to case, without an allocation per
/// row: a hash of the case-folded key points at the row that first had it, whose key is
/// then compared for real. Hash collisions between different keys fall back to a map of
/// folded strings.
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
        let folded = key.to_lowercase();
        match self.collided.get(&folded) {
            Some(&first) => Some(first),
            None => {
                self.collided.insert(folded, row);
                None
            }
        }
    }
}

fn folded_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

fn eq_folded(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    folded_chars(a).eq(folded_chars(b))
}

/// FNV-1a over the case-folded characters (bytes, for the common all-ASCII key).
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
        for c in folded_chars(s) {
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
fn row_rules(layout: &Layout, row: u32, values: &[Value], issues: &mut Vec<Issue>) {
    match layout.kind {
        Kind::Orders => {
            if let (Some(limits), Some(amount)) = (layout.limits, values[order_col::AMOUNT].money())
                && let Some(why) = limits.check(amount)
            {
                issues.push(Issue::error(row, "OrderAmount", why));
            }
            if let (Some(due), Some(issue)) = (
                values[order_col::DUE_DATE].date(),
                values[order_col::ISSUE_DATE].date(),
            ) && due < issue
            {
                issues.push(Issue::error(
                    row,
                    "OrderDueDate",
                    format!(
                        "the due date {} is before the issue date {} (expected a due date on or after the issue date)",
                        due.format("%d/%m/%Y"),
                        issue.format("%d/%m/%Y")
                    ),
                ));
            }
            if let Value::Text(n) = &values[order_col::NUMBER]
                && n.contains([',', '|'])
            {
                issues.push(Issue::warning(
                    row,
                    "OrderNumber",
                    format!("\"{n}\" contains ',' or '|': the API can create it but never mark it paid, blocked or refunded"),
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
    fn keys_repeat_without_regard_to_case() {
        let mut seen = KeySet::default();
        let mut rows = Vec::new();
        for (n, key) in [(2, "INV-1"), (3, "INV-2")] {
            assert_eq!(seen.first_row(key, n, &rows), None);
            rows.push(row(n, key));
        }
        assert_eq!(seen.first_row("inv-1", 4, &rows), Some(2));
        assert_eq!(seen.first_row("INV-2", 5, &rows), Some(3));
        assert_eq!(seen.first_row("ÄBC", 6, &rows), None);
        rows.push(row(6, "ÄBC"));
        assert_eq!(seen.first_row("äbc", 7, &rows), Some(6));
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
