//! `Kind`: which batch a spreadsheet feeds (orders, consumers, consumer updates, mark-paid,
//! mark-blocked, refunds). Shared by the importer, the CLI and the engine.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of items a spreadsheet holds, named as on the command line
/// (`orders`, `consumers`, `consumer-updates`, `mark-paid`, `mark-blocked`, `refunds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Orders to create (`co`/`cmo`).
    Orders,
    /// Consumers to create (`cc`/`cmc`).
    Consumers,
    /// Changes to existing consumers (`uc`/`umc`).
    ConsumerUpdates,
    /// Order numbers to mark paid (`moap`).
    MarkPaid,
    /// Order numbers to mark blocked (`moab`).
    MarkBlocked,
    /// Order numbers and amounts to refund (`mofr`).
    Refunds,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Orders,
        Kind::Consumers,
        Kind::ConsumerUpdates,
        Kind::MarkPaid,
        Kind::MarkBlocked,
        Kind::Refunds,
    ];

    /// The command-line and JSON name (`consumer-updates`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Orders => "orders",
            Kind::Consumers => "consumers",
            Kind::ConsumerUpdates => "consumer-updates",
            Kind::MarkPaid => "mark-paid",
            Kind::MarkBlocked => "mark-blocked",
            Kind::Refunds => "refunds",
        }
    }

    /// What the key column of this kind identifies, for messages ("order number").
    pub fn key_noun(self) -> &'static str {
        match self {
            Kind::Consumers => "consumer id",
            Kind::ConsumerUpdates => "consumer code",
            _ => "order number",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn names_agree_between_clap_serde_and_display() {
        for kind in Kind::ALL {
            let clap_name = kind
                .to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default();
            assert_eq!(clap_name, kind.as_str());
            assert_eq!(
                serde_json::to_string(&kind).unwrap_or_default(),
                format!("\"{}\"", kind.as_str())
            );
        }
    }
}
