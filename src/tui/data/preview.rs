//! What the Preview screen shows of an imported sheet, prepared once off the UI loop:
//! the rows by index, which of them are invalid or carry warnings (sorted indexes, so
//! `n`/`N` and the filtered views are binary searches, not scans), counts, the total of
//! the valid rows, and each visible cell's text computed on demand, so only the rows on
//! screen ever turn into strings.

use crate::domain::{Issue, Kind, Money, Severity};
use crate::sheet::{Imported, ImportedRow, Item};

/// How a cell is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    None,
    Warning,
    Invalid,
}

/// An imported sheet ready to preview.
#[derive(Debug)]
pub struct PreviewData {
    pub imported: Imported,
    /// Indexes (into `imported.rows`) of invalid rows, ascending.
    pub invalid: Vec<usize>,
    /// Indexes of rows with at least one warning, ascending.
    pub warnings: Vec<usize>,
    pub valid: usize,
    /// Sum of the valid rows' amounts (orders and refunds), `None` for other kinds or
    /// beyond Money's range.
    pub total: Option<Money>,
}

impl PreviewData {
    pub fn new(imported: Imported) -> PreviewData {
        let mut invalid = Vec::new();
        let mut warnings = Vec::new();
        let mut total = Some(Money::zero());
        let mut valid = 0usize;
        for (i, row) in imported.rows.iter().enumerate() {
            if row.is_valid() {
                valid += 1;
            } else {
                invalid.push(i);
            }
            if row.warnings().next().is_some() {
                warnings.push(i);
            }
            total = match (&row.item, total) {
                (Some(Item::Order(o)), Some(t)) => t.checked_add(o.amount),
                (Some(Item::Refund(r)), Some(t)) => t.checked_add(r.amount),
                (_, t) => t,
            };
        }
        let total = total.filter(|_| matches!(imported.kind, Kind::Orders | Kind::Refunds));
        PreviewData {
            imported,
            invalid,
            warnings,
            valid,
            total,
        }
    }

    pub fn len(&self) -> usize {
        self.imported.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.imported.rows.is_empty()
    }

    pub fn row(&self, index: usize) -> Option<&ImportedRow> {
        self.imported.rows.get(index)
    }

    /// Index of the row with spreadsheet number `row`, or of the nearest one after it
    /// (the last row when none is after it).
    pub fn index_of_row(&self, row: u32) -> usize {
        let rows = &self.imported.rows;
        rows.partition_point(|r| r.row < row)
            .min(rows.len().saturating_sub(1))
    }

    /// The text of column `col` (index into `imported.columns`) of row `index`, with its
    /// mark. Invalid rows show the cells as the clerk typed them; valid rows show the
    /// value exactly as it will be sent.
    pub fn cell(&self, index: usize, col: usize) -> (String, Mark) {
        let Some(row) = self.imported.rows.get(index) else {
            return (String::new(), Mark::None);
        };
        let Some(column) = self.imported.columns.get(col) else {
            return (String::new(), Mark::None);
        };
        let mut mark = Mark::None;
        for issue in &row.issues {
            if issue_is_about(issue, column) {
                mark = match (issue.severity, mark) {
                    (Severity::Error, _) => Mark::Invalid,
                    (Severity::Warning, Mark::None) => Mark::Warning,
                    (_, m) => m,
                };
            }
        }
        let text = match &row.item {
            Some(item) => column
                .field
                .map(|f| field_text(item, f))
                .unwrap_or_default(),
            None => row.raw.get(col).cloned().unwrap_or_default(),
        };
        (text, mark)
    }

    /// Every issue of row `index`.
    pub fn issues(&self, index: usize) -> &[Issue] {
        self.imported
            .rows
            .get(index)
            .map_or(&[], |r| r.issues.as_slice())
    }

    /// Indexes of rows whose key, cells or issue messages contain `needle`
    /// (case-insensitive), among `among` (all rows when `None`).
    pub fn search(&self, needle: &str, among: Option<&[usize]>) -> Vec<usize> {
        let needle = needle.trim().to_lowercase();
        let matches = |i: usize| -> bool {
            let Some(row) = self.imported.rows.get(i) else {
                return false;
            };
            if row.key.to_lowercase().contains(&needle) || row.row.to_string() == needle {
                return true;
            }
            if row
                .issues
                .iter()
                .any(|is| is.message.to_lowercase().contains(&needle))
            {
                return true;
            }
            (0..self.imported.columns.len())
                .any(|c| self.cell(i, c).0.to_lowercase().contains(&needle))
        };
        match among {
            Some(list) => list.iter().copied().filter(|i| matches(*i)).collect(),
            None => (0..self.len()).filter(|i| matches(*i)).collect(),
        }
    }
}

/// True when `issue` is about the cell in `column`: by the cell the importer located
/// it at; issues journaled before issues had a place fall back to the field the column
/// was recognised as, else to its header. (Two columns with one header, or an issue
/// about a column the importer ignores, are told apart only by the place.)
fn issue_is_about(issue: &Issue, column: &crate::sheet::Column) -> bool {
    if let Some(index) = issue.column_index {
        return index == column.index;
    }
    match column.field {
        Some(field) => issue.column == field,
        None => !column.header.is_empty() && issue.column == column.header,
    }
}

fn money(m: &Money) -> String {
    m.to_string()
}

fn opt_money(m: &Option<Money>) -> String {
    m.as_ref().map(money).unwrap_or_default()
}

/// The value of spec field `field` in a typed item, as it will be sent.
pub fn field_text(item: &Item, field: &str) -> String {
    match item {
        Item::Order(o) => match field {
            "OrderNumber" => o.order_number.clone(),
            "OrderAmount" => money(&o.amount),
            "OrderDueDate" => o.due_date.format("%Y-%m-%d").to_string(),
            "OrderType" => crate::domain::ORDER_TYPE_SERVICE.to_string(),
            "IssueDate" => o.issue_date.format("%Y-%m-%d").to_string(),
            "CustomerName" => o.customer_name.clone(),
            "CustomerMobile" => o.customer_mobile.clone(),
            "CustomerEmail" => o.customer_email.clone(),
            "CustomerAddress" => o.customer_address.clone(),
            "OrderExpireAfterSeconds" => o
                .expire_after_seconds
                .map(|s| s.to_string())
                .unwrap_or_default(),
            "OrderAmountWithinDueDate" => opt_money(&o.amount_within_due_date),
            "OrderAmountAfterDueDate" => opt_money(&o.amount_after_due_date),
            _ => String::new(),
        },
        Item::Consumer(c) => match field {
            "ConsumerID" => c.consumer_id.clone(),
            "Name" => c.name.clone(),
            "Mobile" => c.mobile.clone(),
            "Email" => c.email.clone(),
            "Address" => c.address.clone(),
            _ => String::new(),
        },
        Item::ConsumerUpdate(u) => match field {
            "ConsumerID" => u.consumer_id.clone(),
            "Name" => u.name.clone().unwrap_or_default(),
            "Mobile" => u.mobile.clone().unwrap_or_default(),
            "Email" => u.email.clone().unwrap_or_default(),
            "Address" => u.address.clone().unwrap_or_default(),
            _ => String::new(),
        },
        Item::OrderRef(r) => match field {
            "OrderNumber" => r.order_number.clone(),
            _ => String::new(),
        },
        Item::Refund(r) => match field {
            "OrderNumber" => r.order_number.clone(),
            "Amount" => money(&r.amount),
            _ => String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sample() -> PreviewData {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/orders-with-errors.xlsx");
        let imported = crate::sheet::read(&path, None, None).unwrap();
        PreviewData::new(imported)
    }

    #[test]
    fn invalid_rows_are_indexed_and_their_cells_marked() {
        let d = sample();
        assert!(!d.invalid.is_empty());
        assert_eq!(d.valid + d.invalid.len(), d.len());
        let first = d.invalid[0];
        let marked = (0..d.imported.columns.len())
            .filter(|c| d.cell(first, *c).1 == Mark::Invalid)
            .count();
        assert!(marked >= 1, "{:?}", d.issues(first));
        // A valid row shows its typed values and no error marks.
        let ok = (0..d.len())
            .find(|i| d.row(*i).is_some_and(|r| r.is_valid()))
            .unwrap();
        assert!((0..d.imported.columns.len()).all(|c| d.cell(ok, c).1 != Mark::Invalid));
        assert!(!d.cell(ok, 0).0.is_empty());
    }

    /// The importer's place for an issue decides which cell is marked, even when the
    /// issue's column name would match another column; an issue without a place falls
    /// back to the name.
    #[test]
    fn the_issue_marks_the_cell_it_was_located_at() {
        let mut d = sample();
        let first = d.invalid[0];
        let row_no = d.imported.rows[first].row;
        let named = d.imported.columns[0].field.unwrap_or("A").to_string();
        d.imported.rows[first].issues = vec![Issue::error(row_no, named.clone(), "x").at(2, "h")];
        let marked: Vec<usize> = (0..d.imported.columns.len())
            .filter(|c| d.cell(first, *c).1 == Mark::Invalid)
            .collect();
        assert_eq!(marked, [2]);
        d.imported.rows[first].issues = vec![Issue::error(row_no, named, "x")];
        let by_name: Vec<usize> = (0..d.imported.columns.len())
            .filter(|c| d.cell(first, *c).1 == Mark::Invalid)
            .collect();
        assert_eq!(by_name, [0]);
    }

    #[test]
    fn rows_are_found_by_number_and_text() {
        let d = sample();
        let row = d.row(3).unwrap();
        assert_eq!(d.index_of_row(row.row), 3);
        let key = row.key.clone();
        assert!(d.search(&key, None).contains(&3));
        assert!(d.search("no such text anywhere 123xyz", None).is_empty());
    }
}
