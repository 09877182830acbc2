//! Which row is the header, and which kind of batch it announces.
//!
//! Rules:
//! - A row is the header of kind K when it names at least two of K's required columns
//!   (mandatory, or required even if empty), or K's only one when K has one and the kind
//!   was given (`--kind mark-paid` with a lone `OrderNumber` column). Rows above it (a
//!   title such as "Invoice", a date) are skipped, with a warning; at most
//!   [`MAX_ROWS_ABOVE`] of them.
//! - Guessing the kind (no `--kind`): a row names a kind only with two or more of its
//!   columns, so a single word never decides. Among the kinds a row names, the one that
//!   explains the most headers wins; then one whose required columns are all present.
//!   Consumers and consumer updates have the same columns: the file name (`…update…`)
//!   tells them apart, else consumers (creating a consumer that exists is refused by
//!   PayPro; an update would overwrite data). Any other tie is ambiguous: the clerk is
//!   asked for `--kind`.

use crate::domain::Kind;
use crate::domain::fields::fields;

/// Non-blank rows looked at for a header before the sheet is declared header-less.
pub const MAX_ROWS_ABOVE: usize = 10;

/// How a header row maps onto a kind's columns.
#[derive(Debug, Clone)]
pub struct HeaderMatch {
    /// Per field of the kind, the 0-based column holding it.
    pub col_of: Vec<Option<usize>>,
    pub matched: usize,
    pub required_matched: usize,
    pub missing: Vec<&'static str>,
    /// (field, first column, second column) when two headers name one field.
    pub duplicate: Option<(&'static str, usize, usize)>,
}

pub fn match_headers(kind: Kind, headers: &[String]) -> HeaderMatch {
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
    let required_matched = specs
        .iter()
        .zip(&col_of)
        .filter(|(s, c)| s.column_required() && c.is_some())
        .count();
    let missing = specs
        .iter()
        .zip(&col_of)
        .filter(|(s, c)| s.column_required() && c.is_none())
        .map(|(s, _)| s.name)
        .collect();
    HeaderMatch {
        col_of,
        matched,
        required_matched,
        missing,
        duplicate,
    }
}

/// The kind's columns that a sheet must have.
pub fn required_count(kind: Kind) -> usize {
    fields(kind).iter().filter(|f| f.column_required()).count()
}

/// What one row says about the header.
#[derive(Debug)]
pub enum Detection {
    Header {
        kind: Kind,
        guessed: bool,
        matched: HeaderMatch,
    },
    /// Not a header (a title, a note, data).
    NotHeader,
    /// A header of more than one kind, equally.
    Ambiguous(Vec<Kind>),
}

/// Looks at one row: `requested` is `--kind`, `file_hint` the file name.
pub fn detect(requested: Option<Kind>, headers: &[String], file_hint: &str) -> Detection {
    if let Some(kind) = requested {
        let m = match_headers(kind, headers);
        let need = required_count(kind).min(2);
        return if m.required_matched >= need && m.matched > 0 {
            Detection::Header {
                kind,
                guessed: false,
                matched: m,
            }
        } else {
            Detection::NotHeader
        };
    }
    let hint = file_hint.to_lowercase();
    let preferred = |k: Kind| match k {
        Kind::ConsumerUpdates => hint.contains("update"),
        Kind::Consumers => !hint.contains("update"),
        _ => true,
    };
    let mut named: Vec<(Kind, HeaderMatch)> = Kind::ALL
        .into_iter()
        .map(|k| (k, match_headers(k, headers)))
        .filter(|(k, m)| m.matched >= 2 && m.required_matched >= required_count(*k).min(2))
        .collect();
    let rank = |_: Kind, m: &HeaderMatch| (m.matched, m.missing.is_empty());
    named.sort_by(|(ka, ma), (kb, mb)| {
        (rank(*kb, mb), preferred(*kb)).cmp(&(rank(*ka, ma), preferred(*ka)))
    });
    let mut named = named.into_iter();
    let Some((kind, m)) = named.next() else {
        return Detection::NotHeader;
    };
    let tied: Vec<Kind> = named
        .filter(|(k, other)| rank(*k, other) == rank(kind, &m))
        .map(|(k, _)| k)
        .filter(|k| !is_look_alike_pair(kind, *k))
        .collect();
    if !tied.is_empty() {
        let mut kinds = vec![kind];
        kinds.extend(tied);
        return Detection::Ambiguous(kinds);
    }
    Detection::Header {
        kind,
        guessed: true,
        matched: m,
    }
}

/// Kinds with the same columns, told apart by the file name or by a safe default.
fn is_look_alike_pair(a: Kind, b: Kind) -> bool {
    matches!(
        (a, b),
        (Kind::Consumers, Kind::ConsumerUpdates) | (Kind::ConsumerUpdates, Kind::Consumers)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|s| s.to_string()).collect()
    }

    fn kind_of(d: Detection) -> Option<Kind> {
        match d {
            Detection::Header { kind, .. } => Some(kind),
            _ => None,
        }
    }

    #[test]
    fn a_single_word_never_decides() {
        assert!(matches!(
            detect(None, &h(&["Invoice"]), "x.xlsx"),
            Detection::NotHeader
        ));
        assert!(matches!(
            detect(None, &h(&["Order No"]), "to-mark.xlsx"),
            Detection::NotHeader
        ));
        assert!(matches!(
            detect(Some(Kind::Orders), &h(&["Invoice"]), "x.xlsx"),
            Detection::NotHeader
        ));
        // Given the kind, a one-column list's header is its one column.
        assert_eq!(
            kind_of(detect(Some(Kind::MarkPaid), &h(&["Order No"]), "x.xlsx")),
            Some(Kind::MarkPaid)
        );
    }

    #[test]
    fn kinds_are_guessed_from_two_columns_or_more() {
        let orders = h(&["OrderNumber", "Amount", "Due Date", "Issue Date", "Name"]);
        assert_eq!(kind_of(detect(None, &orders, "x.csv")), Some(Kind::Orders));
        let refunds = h(&["Order No", "Refund Amount"]);
        assert_eq!(
            kind_of(detect(None, &refunds, "r.xlsx")),
            Some(Kind::Refunds)
        );
        let people = h(&["ConsumerID", "Name"]);
        assert_eq!(
            kind_of(detect(None, &people, "people.xlsx")),
            Some(Kind::Consumers)
        );
        assert_eq!(
            kind_of(detect(None, &people, "consumer-updates.xlsx")),
            Some(Kind::ConsumerUpdates)
        );
    }
}
