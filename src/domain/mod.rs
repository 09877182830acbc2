//! The typed items the console submits (`Order`, `Consumer`, `ConsumerUpdate`,
//! `OrderRef`, `Refund`), money and the field rules of the Connect Pay reference, kept in
//! one place so that validation, header matching, the client and the simulator agree.
//! No IO, nothing async.

pub mod fields;
pub mod issue;
pub mod kind;
pub mod limits;
pub mod money;
pub mod rules;

pub use issue::{Issue, Severity};
pub use kind::Kind;
pub use limits::AmountLimits;
pub use money::{Money, MoneyError};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The only legal `OrderType` (reference §1).
pub const ORDER_TYPE_SERVICE: &str = "Service";

/// An order to create with `co`/`cmo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_number: String,
    pub amount: Money,
    pub due_date: NaiveDate,
    pub issue_date: NaiveDate,
    pub customer_name: String,
    /// Empty when not given; otherwise 11 digits starting with `0`.
    pub customer_mobile: String,
    /// Empty when not given.
    pub customer_email: String,
    /// Empty when not given.
    pub customer_address: String,
    pub expire_after_seconds: Option<u64>,
    pub amount_within_due_date: Option<Money>,
    pub amount_after_due_date: Option<Money>,
}

/// A consumer to create with `cc`/`cmc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumer {
    /// The merchant's own id for the consumer (without the company code).
    pub consumer_id: String,
    pub name: String,
    pub mobile: String,
    pub email: String,
    pub address: String,
}

/// A change to an existing consumer with `uc`/`umc`. `None` fields are left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerUpdate {
    /// The full consumer code: 4-digit company code + consumer id (reference §10).
    pub consumer_id: String,
    pub name: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

/// An order named by its order number, for mark-paid and mark-blocked lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRef {
    pub order_number: String,
}

/// A refund of `amount` on a paid order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub order_number: String,
    pub amount: Money,
}
