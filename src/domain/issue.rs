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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub row: u32,
    pub column: String,
    pub severity: Severity,
    pub message: String,
}

impl Issue {
    pub fn error(row: u32, column: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue {
            row,
            column: column.into(),
            severity: Severity::Error,
            message: message.into(),
        }
    }

    pub fn warning(row: u32, column: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue {
            row,
            column: column.into(),
            severity: Severity::Warning,
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `row 14, CustomerEmail: "ali@@x.pk" is not a valid e-mail address (...)`; warnings
/// say so after the column.
impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Error => write!(f, "row {}, {}: {}", self.row, self.column, self.message),
            Severity::Warning => write!(
                f,
                "row {}, {} (warning): {}",
                self.row, self.column, self.message
            ),
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
            serde_json::to_value(&w)
                .ok()
                .and_then(|v| v.get("severity").cloned()),
            Some(serde_json::json!("warning"))
        );
    }
}
