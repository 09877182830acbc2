//! `Issue`: one complaint about one cell of an imported spreadsheet, with the row number
//! as Excel shows it, so a clerk can find and fix it.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The row will never be sent.
    Error,
    /// The value was changed or is doubtful; the row is still sent.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A problem found in a spreadsheet. `column` is the spec's field name when the column was
/// recognised (`CustomerEmail`), otherwise the header as found.
///
/// `column_index` and `header` locate the cell the issue is about, so that a face can mark
/// it: the 0-based column of the sheet and its header text as found. Both are `None` for
/// issues about a whole row or several rows (a row that changes nothing, a CSV row with
/// too many fields) and for issues journaled before they existed (hence `serde(default)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub row: u32,
    pub column: String,
    pub severity: Severity,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_index: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
}

impl Issue {
    pub fn error(row: u32, column: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue {
            row,
            column: column.into(),
            severity: Severity::Error,
            message: message.into(),
            column_index: None,
            header: None,
        }
    }

    pub fn warning(row: u32, column: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue {
            row,
            column: column.into(),
            severity: Severity::Warning,
            message: message.into(),
            column_index: None,
            header: None,
        }
    }

    /// The same issue, located at the cell of column `index` whose header reads `header`.
    pub fn at(mut self, index: usize, header: impl Into<String>) -> Issue {
        self.column_index = Some(index);
        self.header = Some(header.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `row 14, CustomerEmail: "ali@@x.pk" is not a valid e-mail address (...)`; warnings
/// say so after the location. An issue about a whole row has no column (`row 7: ...`);
/// one about the file or sheet has neither (row 0).
impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut place = Vec::new();
        if self.row > 0 {
            place.push(format!("row {}", self.row));
        }
        if !self.column.is_empty() {
            place.push(self.column.clone());
        }
        let place = place.join(", ");
        match (self.severity, place.is_empty()) {
            (Severity::Error, false) => write!(f, "{place}: {}", self.message),
            (Severity::Warning, false) => write!(f, "{place} (warning): {}", self.message),
            (Severity::Error, true) => write!(f, "error: {}", self.message),
            (Severity::Warning, true) => write!(f, "warning: {}", self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_row_and_column() {
        let i = Issue::error(
            14,
            "CustomerEmail",
            "\"ali@@x.pk\" is not a valid e-mail address",
        );
        assert_eq!(
            i.to_string(),
            "row 14, CustomerEmail: \"ali@@x.pk\" is not a valid e-mail address"
        );
        let w = Issue::warning(3, "CustomerMobile", "x");
        assert_eq!(w.to_string(), "row 3, CustomerMobile (warning): x");
        assert_eq!(
            Issue::error(7, "", "too many fields").to_string(),
            "row 7: too many fields"
        );
        assert_eq!(
            Issue::warning(0, "", "hidden sheets").to_string(),
            "warning: hidden sheets"
        );
        assert_eq!(
            serde_json::to_value(&w)
                .ok()
                .and_then(|v| v.get("severity").cloned()),
            Some(serde_json::json!("warning"))
        );
    }

    #[test]
    fn cell_location_is_optional_in_json_both_ways() {
        let located = Issue::error(5, "OrderAmount", "x").at(1, "Amount (PKR)");
        let json = serde_json::to_value(&located).unwrap_or_default();
        assert_eq!(json["column_index"], 1);
        assert_eq!(json["header"], "Amount (PKR)");
        // Issues journaled before the location existed still read.
        let old: Issue = serde_json::from_str(
            r#"{"row":5,"column":"OrderAmount","severity":"error","message":"x"}"#,
        )
        .unwrap_or_else(|_| Issue::warning(0, "", ""));
        assert_eq!(old, Issue::error(5, "OrderAmount", "x"));
        let row_level =
            serde_json::to_value(Issue::error(5, "OrderAmount", "x")).unwrap_or_default();
        assert!(row_level.get("column_index").is_none());
    }
}
