//! The spreadsheet columns of each batch kind, derived from the Connect Pay reference:
//! the spec's field name, the value rule, whether the column and the value are required,
//! and the header synonyms clerks actually use. Header matching, coercion and validation
//! all read this one table.

use super::Kind;
use super::rules::{
    CONSUMER_FIELD_MAX, CUSTOMER_ADDRESS_MAX, CUSTOMER_EMAIL_MAX, CUSTOMER_NAME_MAX,
};

/// What a cell of a column must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRule {
    /// Free text of at most `max` characters.
    Text { max: usize },
    /// An order number (≤256). In mark/refund lists (`in_list`) it travels inside
    /// `CsvOrderNumbers`, where `,` and `|` are separators, so they are forbidden there.
    OrderNumber { in_list: bool },
    /// The merchant's consumer id (≤4000).
    ConsumerId,
    /// A full consumer code: 4-digit company code followed by the consumer id.
    FullConsumerCode,
    /// Money more than zero with at most two decimals.
    Amount,
    /// A calendar date.
    Date,
    /// An order's mobile number, 11 digits starting with `0` (reference §1).
    Mobile,
    /// An order's e-mail address of at most `max` characters (reference §1).
    Email { max: usize },
    /// A consumer's mobile number: free text of at most `max` characters; a format
    /// problem is a warning (reference §8–11 set no format).
    ContactMobile { max: usize },
    /// A consumer's e-mail address: at most `max` characters; a format problem is a
    /// warning (reference §8–11).
    ContactEmail { max: usize },
    /// Whole seconds, 0 or more (0: the order never expires).
    Seconds,
    /// The column can hold only this value (e.g. `OrderType` = `Service`).
    Constant(&'static str),
}

/// Whether the column and its values are required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The column must exist and every row must have a value.
    Mandatory,
    /// The column must exist; an empty value is allowed (reference §1: mobile, e-mail,
    /// address are "column mandatory").
    ColumnRequired,
    /// The column may be absent and values may be empty.
    Optional,
    /// The column may be absent: its only legal value (`ValueRule::Constant`) is implied.
    Implied,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The reference's field name, used in messages and JSON.
    pub name: &'static str,
    pub rule: ValueRule,
    pub presence: Presence,
    /// Accepted headers, already normalised (see [`normalize_header`]); the normalised
    /// field name is always accepted too.
    pub synonyms: &'static [&'static str],
}

impl FieldSpec {
    /// True when a header cell names this field.
    pub fn matches(&self, header: &str) -> bool {
        let h = normalize_header(header);
        !h.is_empty() && (h == normalize_header(self.name) || self.synonyms.contains(&h.as_str()))
    }

    /// True when the column holds money (its text amounts share the file's decimal
    /// separator).
    pub fn is_amount(&self) -> bool {
        self.rule == ValueRule::Amount
    }

    /// True when a spreadsheet must have this column.
    pub fn column_required(&self) -> bool {
        matches!(
            self.presence,
            Presence::Mandatory | Presence::ColumnRequired
        )
    }
}

/// Lower case, letters and digits only: `Order No.`, `order_no` and `ORDER-NO` all become
/// `orderno`.
pub fn normalize_header(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

const ORDER_NUMBER_SYN: &[&str] = &[
    "ordernumber",
    "orderno",
    "ordernum",
    "orderid",
    "order",
    "invoicenumber",
    "invoiceno",
    "invoice",
    "invoiceid",
    "billnumber",
    "billno",
];
const MOBILE_SYN: &[&str] = &[
    "mobile",
    "mobileno",
    "mobilenumber",
    "cell",
    "cellno",
    "cellnumber",
    "phone",
    "phoneno",
    "phonenumber",
    "contactno",
    "contactnumber",
];
const EMAIL_SYN: &[&str] = &["email", "emailaddress", "mail", "emailid"];
const ADDRESS_SYN: &[&str] = &["address", "postaladdress"];

const fn field(
    name: &'static str,
    rule: ValueRule,
    presence: Presence,
    synonyms: &'static [&'static str],
) -> FieldSpec {
    FieldSpec {
        name,
        rule,
        presence,
        synonyms,
    }
}

/// Column positions in [`fields`]`(Kind::Orders)`.
pub mod order_col {
    pub const NUMBER: usize = 0;
    pub const AMOUNT: usize = 1;
    pub const DUE_DATE: usize = 2;
    pub const TYPE: usize = 3;
    pub const ISSUE_DATE: usize = 4;
    pub const NAME: usize = 5;
    pub const MOBILE: usize = 6;
    pub const EMAIL: usize = 7;
    pub const ADDRESS: usize = 8;
    pub const EXPIRE_AFTER: usize = 9;
    pub const AMOUNT_WITHIN_DUE: usize = 10;
    pub const AMOUNT_AFTER_DUE: usize = 11;
}

/// Column positions in [`fields`] for consumers and consumer updates.
pub mod consumer_col {
    pub const ID: usize = 0;
    pub const NAME: usize = 1;
    pub const MOBILE: usize = 2;
    pub const EMAIL: usize = 3;
    pub const ADDRESS: usize = 4;
}

/// Column positions in [`fields`] for mark lists and refunds.
pub mod list_col {
    pub const NUMBER: usize = 0;
    pub const AMOUNT: usize = 1;
}

const ORDERS: &[FieldSpec] = &[
    field(
        "OrderNumber",
        ValueRule::OrderNumber { in_list: false },
        Presence::Mandatory,
        ORDER_NUMBER_SYN,
    ),
    field(
        "OrderAmount",
        ValueRule::Amount,
        Presence::Mandatory,
        &[
            "amount",
            "amountpkr",
            "amountrs",
            "invoiceamount",
            "billamount",
            "total",
            "totalamount",
        ],
    ),
    field(
        "OrderDueDate",
        ValueRule::Date,
        Presence::Mandatory,
        &["duedate", "due", "dueon", "paybefore", "payby"],
    ),
    field(
        "OrderType",
        ValueRule::Constant(super::ORDER_TYPE_SERVICE),
        Presence::Implied,
        &["type"],
    ),
    field(
        "IssueDate",
        ValueRule::Date,
        Presence::Mandatory,
        &[
            "issuedate",
            "issuedon",
            "issued",
            "invoicedate",
            "orderdate",
            "billdate",
            "date",
        ],
    ),
    field(
        "CustomerName",
        ValueRule::Text {
            max: CUSTOMER_NAME_MAX,
        },
        Presence::Mandatory,
        &["name", "customer", "fullname", "clientname", "payername"],
    ),
    field(
        "CustomerMobile",
        ValueRule::Mobile,
        Presence::ColumnRequired,
        MOBILE_SYN,
    ),
    field(
        "CustomerEmail",
        ValueRule::Email {
            max: CUSTOMER_EMAIL_MAX,
        },
        Presence::ColumnRequired,
        EMAIL_SYN,
    ),
    field(
        "CustomerAddress",
        ValueRule::Text {
            max: CUSTOMER_ADDRESS_MAX,
        },
        Presence::ColumnRequired,
        ADDRESS_SYN,
    ),
    field(
        "OrderExpireAfterSeconds",
        ValueRule::Seconds,
        Presence::Optional,
        &["expireafterseconds", "expiresafterseconds", "expiryseconds"],
    ),
    field(
        "OrderAmountWithinDueDate",
        ValueRule::Amount,
        Presence::Optional,
        &["amountwithinduedate", "amountbeforeduedate"],
    ),
    field(
        "OrderAmountAfterDueDate",
        ValueRule::Amount,
        Presence::Optional,
        &["amountafterduedate", "lateamount", "amountafterdue"],
    ),
];

const CONSUMER_TAIL_SYN_NAME: &[&str] = &["consumername", "customername", "fullname"];

// The contact columns are optional and read alike whether a consumer is created or
// updated; only the id and the name differ between the two tables.
const CONSUMER_MOBILE: FieldSpec = field(
    "Mobile",
    ValueRule::ContactMobile {
        max: CONSUMER_FIELD_MAX,
    },
    Presence::Optional,
    MOBILE_SYN,
);
const CONSUMER_EMAIL: FieldSpec = field(
    "Email",
    ValueRule::ContactEmail {
        max: CONSUMER_FIELD_MAX,
    },
    Presence::Optional,
    EMAIL_SYN,
);
const CONSUMER_ADDRESS: FieldSpec = field(
    "Address",
    ValueRule::Text {
        max: CONSUMER_FIELD_MAX,
    },
    Presence::Optional,
    ADDRESS_SYN,
);

const CONSUMERS: &[FieldSpec] = &[
    field(
        "ConsumerID",
        ValueRule::ConsumerId,
        Presence::Mandatory,
        &[
            "consumercode",
            "consumerno",
            "consumernumber",
            "customerid",
            "id",
        ],
    ),
    field(
        "Name",
        ValueRule::Text {
            max: CONSUMER_FIELD_MAX,
        },
        Presence::Mandatory,
        CONSUMER_TAIL_SYN_NAME,
    ),
    CONSUMER_MOBILE,
    CONSUMER_EMAIL,
    CONSUMER_ADDRESS,
];

const CONSUMER_UPDATES: &[FieldSpec] = &[
    field(
        "ConsumerID",
        ValueRule::FullConsumerCode,
        Presence::Mandatory,
        &[
            "fullconsumercode",
            "consumercode",
            "consumerno",
            "consumernumber",
            "customerid",
            "id",
        ],
    ),
    field(
        "Name",
        ValueRule::Text {
            max: CONSUMER_FIELD_MAX,
        },
        Presence::Optional,
        CONSUMER_TAIL_SYN_NAME,
    ),
    CONSUMER_MOBILE,
    CONSUMER_EMAIL,
    CONSUMER_ADDRESS,
];

const MARK_LIST: &[FieldSpec] = &[field(
    "OrderNumber",
    ValueRule::OrderNumber { in_list: true },
    Presence::Mandatory,
    ORDER_NUMBER_SYN,
)];

const REFUNDS: &[FieldSpec] = &[
    field(
        "OrderNumber",
        ValueRule::OrderNumber { in_list: true },
        Presence::Mandatory,
        ORDER_NUMBER_SYN,
    ),
    field(
        "Amount",
        ValueRule::Amount,
        Presence::Mandatory,
        &["refundamount", "refund", "amounttorefund", "amountrefunded"],
    ),
];

/// The columns of a kind, in a fixed order (see `order_col`, `consumer_col`, `list_col`).
pub fn fields(kind: Kind) -> &'static [FieldSpec] {
    match kind {
        Kind::Orders => ORDERS,
        Kind::Consumers => CONSUMERS,
        Kind::ConsumerUpdates => CONSUMER_UPDATES,
        Kind::MarkPaid | Kind::MarkBlocked => MARK_LIST,
        Kind::Refunds => REFUNDS,
    }
}

/// The column whose value identifies an item (order number or consumer id); always the
/// first one.
pub fn key_field(kind: Kind) -> &'static FieldSpec {
    &fields(kind)[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_match_names() {
        let o = fields(Kind::Orders);
        assert_eq!(o[order_col::NUMBER].name, "OrderNumber");
        assert_eq!(o[order_col::AMOUNT].name, "OrderAmount");
        assert_eq!(o[order_col::DUE_DATE].name, "OrderDueDate");
        assert_eq!(o[order_col::TYPE].name, "OrderType");
        assert_eq!(o[order_col::ISSUE_DATE].name, "IssueDate");
        assert_eq!(o[order_col::NAME].name, "CustomerName");
        assert_eq!(o[order_col::MOBILE].name, "CustomerMobile");
        assert_eq!(o[order_col::EMAIL].name, "CustomerEmail");
        assert_eq!(o[order_col::ADDRESS].name, "CustomerAddress");
        assert_eq!(o[order_col::EXPIRE_AFTER].name, "OrderExpireAfterSeconds");
        assert_eq!(
            o[order_col::AMOUNT_WITHIN_DUE].name,
            "OrderAmountWithinDueDate"
        );
        assert_eq!(
            o[order_col::AMOUNT_AFTER_DUE].name,
            "OrderAmountAfterDueDate"
        );
        for k in [Kind::Consumers, Kind::ConsumerUpdates] {
            let c = fields(k);
            assert_eq!(c[consumer_col::ID].name, "ConsumerID");
            assert_eq!(c[consumer_col::NAME].name, "Name");
            assert_eq!(c[consumer_col::MOBILE].name, "Mobile");
            assert_eq!(c[consumer_col::EMAIL].name, "Email");
            assert_eq!(c[consumer_col::ADDRESS].name, "Address");
        }
        assert_eq!(fields(Kind::Refunds)[list_col::AMOUNT].name, "Amount");
    }

    #[test]
    fn headers_match_loosely() {
        let o = fields(Kind::Orders);
        assert!(o[order_col::NUMBER].matches("Order No."));
        assert!(o[order_col::NUMBER].matches(" order_number "));
        assert!(o[order_col::AMOUNT].matches("Amount"));
        assert!(o[order_col::DUE_DATE].matches("Due Date"));
        assert!(o[order_col::MOBILE].matches("Mobile"));
        assert!(o[order_col::EMAIL].matches("E-mail"));
        assert!(o[order_col::EMAIL].matches("CUSTOMER EMAIL"));
        assert!(!o[order_col::EMAIL].matches(""));
        assert!(!o[order_col::NAME].matches("Notes"));
    }

    #[test]
    fn synonyms_are_normalised_and_unambiguous_within_a_kind() {
        for kind in Kind::ALL {
            let specs = fields(kind);
            for (i, a) in specs.iter().enumerate() {
                for s in a.synonyms {
                    assert_eq!(normalize_header(s), *s, "{s} is not normalised");
                    for b in &specs[i + 1..] {
                        assert!(
                            !b.matches(s),
                            "{kind}: {s} matches {} and {}",
                            a.name,
                            b.name
                        );
                    }
                }
            }
        }
    }
}
