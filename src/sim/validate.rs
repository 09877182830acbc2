//! Request checks of the simulated service: credentials, order and consumer items,
//! dates and amounts, with the reference's rules (`crate::domain::rules`) and tolerant
//! reading (key case, stray spaces, numbers or strings).

use super::config::{Merchant, Service};
use crate::domain::rules::{
    CONSUMER_FIELD_MAX, CONSUMER_ID_MAX, CUSTOMER_ADDRESS_MAX, CUSTOMER_EMAIL_MAX,
    CUSTOMER_NAME_MAX, MERCHANT_PASSWORD_MAX, ORDER_NUMBER_MAX, is_valid_email, is_valid_mobile,
};
use crate::domain::{Money, ORDER_TYPE_SERVICE};
use chrono::NaiveDate;
use serde_json::{Map, Value};

/// Why a request's credentials were refused. Each endpoint maps these to its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredError {
    /// No credentials object (or query parameters) at all.
    Missing,
    IdEmpty,
    IdTooLong,
    PasswordEmpty,
    PasswordTooLong,
    /// Unknown user or wrong password (not told apart, as the guide does).
    Invalid,
    NotAuthorised,
}

impl CredError {
    /// The guide's wording.
    pub fn description(self) -> &'static str {
        match self {
            CredError::Missing => "Invalid Data. Main table details (credentials) are not provided",
            CredError::IdEmpty => "Invalid Data. Username cannot be empty",
            CredError::IdTooLong => "Invalid Data. Username length is invalid",
            CredError::PasswordEmpty => "Invalid Data. Password cannot be empty",
            CredError::PasswordTooLong => "Invalid Data. Password length is invalid",
            CredError::Invalid => "Invalid Data. Username or password is invalid",
            CredError::NotAuthorised => "Service Failed. User is not Authorized for this service",
        }
    }
}

/// Looks `names` up in `obj` case-insensitively (the guide mixes `Password`/`password`).
pub fn field<'a>(obj: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    for name in names {
        if let Some(v) = obj.get(*name) {
            return Some(v);
        }
    }
    obj.iter()
        .find(|(k, _)| names.iter().any(|n| k.trim().eq_ignore_ascii_case(n)))
        .map(|(_, v)| v)
}

/// A scalar as trimmed text: strings, numbers, booleans; `null` is empty. Arrays and
/// objects are not text.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        Value::Null => Some(String::new()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn field_text(obj: &Map<String, Value>, names: &[&str]) -> Option<String> {
    field(obj, names).and_then(text)
}

pub const CREATE_ID_KEYS: &[&str] = &["MerchantId", "Username", "UserName"];
pub const CREATE_PASSWORD_KEYS: &[&str] = &["MerchantPassword", "Password"];

/// Credentials found in element 0 of a create request, `None` when element 0 carries
/// neither an id nor a password key (the "main table details" are missing).
pub fn create_credentials(first: Option<&Value>) -> Option<(String, String)> {
    let obj = first?.as_object()?;
    let id = field(obj, CREATE_ID_KEYS);
    let pw = field(obj, CREATE_PASSWORD_KEYS);
    if id.is_none() && pw.is_none() {
        return None;
    }
    Some((
        id.and_then(text).unwrap_or_default(),
        pw.and_then(text).unwrap_or_default(),
    ))
}

/// Checks credentials in the guide's order: emptiness, length, match, authorisation.
/// `id_max` is 15 on create endpoints (`MerchantId`) and 60 elsewhere (`Username`).
pub fn authenticate<'m>(
    merchants: &'m [Merchant],
    id: &str,
    password: &str,
    id_max: usize,
    service: Service,
) -> Result<&'m Merchant, CredError> {
    let id = id.trim();
    let password = password.trim();
    if id.is_empty() {
        return Err(CredError::IdEmpty);
    }
    if id.chars().count() > id_max {
        return Err(CredError::IdTooLong);
    }
    if password.is_empty() {
        return Err(CredError::PasswordEmpty);
    }
    if password.chars().count() > MERCHANT_PASSWORD_MAX {
        return Err(CredError::PasswordTooLong);
    }
    let merchant = merchants
        .iter()
        .find(|m| m.id == id && m.password.expose().trim() == password)
        .ok_or(CredError::Invalid)?;
    if !merchant.may_use(service) {
        return Err(CredError::NotAuthorised);
    }
    Ok(merchant)
}

/// Accepts `dd/MM/yyyy`, `yyyy-MM-dd` and `yyyy/MM/dd` (connectpay-api.md, "Dates sent"), with
/// one- or two-digit day and month but always a four-digit year.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let sep = if s.contains('/') { '/' } else { '-' };
    let parts: Vec<&str> = s.split(sep).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    if !parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|x| x.is_ascii_digit()))
    {
        return None;
    }
    let (y, m, d) = if a.len() == 4 && b.len() <= 2 && c.len() <= 2 {
        (*a, *b, *c)
    } else if sep == '/' && c.len() == 4 && a.len() <= 2 && b.len() <= 2 {
        (*c, *b, *a)
    } else {
        return None;
    };
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// An amount sent as a JSON number or string.
pub fn parse_amount(v: &Value) -> Option<Money> {
    match v {
        Value::String(_) | Value::Number(_) => text(v)?.parse::<Money>().ok(),
        _ => None,
    }
}

/// An order item that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidOrder {
    pub order_number: String,
    pub amount: Money,
    pub due_date: NaiveDate,
    pub issue_date: NaiveDate,
    pub customer_name: String,
    pub customer_mobile: String,
    pub customer_email: String,
    pub customer_address: String,
    pub expire_after_seconds: Option<u64>,
    pub amount_within_due_date: Option<Money>,
    pub amount_after_due_date: Option<Money>,
}

/// The order number an item names (trimmed), for answers and request counting even
/// when the item is invalid.
pub fn order_number_of(item: &Value) -> Option<String> {
    let n = field_text(item.as_object()?, &["OrderNumber"])?;
    (!n.is_empty()).then_some(n)
}

/// The columns every order must carry, even when empty (reference §1).
const ORDER_COLUMNS: [&str; 9] = [
    "OrderNumber",
    "OrderAmount",
    "OrderDueDate",
    "OrderType",
    "IssueDate",
    "CustomerName",
    "CustomerMobile",
    "CustomerEmail",
    "CustomerAddress",
];

/// Checks one order item; the error is the `Description` of a `03` answer.
pub fn validate_order(item: &Value, merchant: &Merchant) -> Result<ValidOrder, String> {
    let obj = item
        .as_object()
        .ok_or_else(|| "Invalid Data. Order is not a JSON object".to_string())?;
    for col in ORDER_COLUMNS {
        if field(obj, &[col]).is_none() {
            return Err(format!("Invalid Data. Column {col} is missing"));
        }
    }
    let get = |col: &str| -> Result<String, String> {
        field_text(obj, &[col]).ok_or_else(|| format!("Invalid Data. {col} is not a value"))
    };
    let order_number = get("OrderNumber")?;
    if order_number.is_empty() {
        return Err("Invalid Data. Order number is not provided".to_string());
    }
    if order_number.chars().count() > ORDER_NUMBER_MAX {
        return Err(format!(
            "Invalid Data. Order number is longer than {ORDER_NUMBER_MAX} characters"
        ));
    }
    let amount_value = field(obj, &["OrderAmount"]).unwrap_or(&Value::Null);
    let amount = parse_amount(amount_value).ok_or_else(|| {
        format!(
            "Invalid Data. Order amount '{}' is not a valid amount",
            text(amount_value).unwrap_or_default()
        )
    })?;
    if amount.is_zero() {
        return Err("Invalid Data. Order amount must be greater than 0".to_string());
    }
    if amount < merchant.min_amount || amount > merchant.max_amount {
        return Err(format!(
            "Invalid Data. Order amount {} is out of limits ({} to {})",
            amount.to_wire(),
            merchant.min_amount.to_wire(),
            merchant.max_amount.to_wire()
        ));
    }
    let date = |col: &str| -> Result<NaiveDate, String> {
        let s = get(col)?;
        parse_date(&s).ok_or_else(|| format!("Invalid Data. {col} '{s}' is not a valid date"))
    };
    let due_date = date("OrderDueDate")?;
    let issue_date = date("IssueDate")?;
    let order_type = get("OrderType")?;
    if order_type != ORDER_TYPE_SERVICE {
        return Err(format!(
            "Invalid Data. OrderType must be \"{ORDER_TYPE_SERVICE}\", not \"{order_type}\""
        ));
    }
    let customer_name = get("CustomerName")?;
    if customer_name.is_empty() {
        return Err("Invalid Data. Customer name is not provided".to_string());
    }
    if customer_name.chars().count() > CUSTOMER_NAME_MAX {
        return Err(format!(
            "Invalid Data. Customer name is longer than {CUSTOMER_NAME_MAX} characters"
        ));
    }
    let customer_mobile = get("CustomerMobile")?;
    if !customer_mobile.is_empty() && !is_valid_mobile(&customer_mobile) {
        return Err(format!(
            "Invalid Data. Mobile no. '{customer_mobile}' is not in valid format"
        ));
    }
    let customer_email = get("CustomerEmail")?;
    if !customer_email.is_empty()
        && (!is_valid_email(&customer_email) || customer_email.chars().count() > CUSTOMER_EMAIL_MAX)
    {
        return Err(format!(
            "Invalid Data. Email '{customer_email}' is not in valid format"
        ));
    }
    let customer_address = get("CustomerAddress")?;
    if customer_address.chars().count() > CUSTOMER_ADDRESS_MAX {
        return Err(format!(
            "Invalid Data. Customer address is longer than {CUSTOMER_ADDRESS_MAX} characters"
        ));
    }
    let expire_after_seconds = match field_text(obj, &["OrderExpireAfterSeconds"]) {
        None => None,
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s.parse::<u64>().map_err(|_| {
            format!("Invalid Data. OrderExpireAfterSeconds '{s}' is not a whole number")
        })?),
    };
    let mut optional_amounts = [None, None];
    for (slot, optional) in optional_amounts
        .iter_mut()
        .zip(["OrderAmountWithinDueDate", "OrderAmountAfterDueDate"])
    {
        if let Some(v) = field(obj, &[optional]) {
            let empty = text(v).is_some_and(|t| t.is_empty());
            if !empty {
                *slot =
                    Some(parse_amount(v).ok_or_else(|| {
                        format!("Invalid Data. {optional} is not a valid amount")
                    })?);
            }
        }
    }
    let [amount_within_due_date, amount_after_due_date] = optional_amounts;
    Ok(ValidOrder {
        order_number,
        amount,
        due_date,
        issue_date,
        customer_name,
        customer_mobile,
        customer_email,
        customer_address,
        expire_after_seconds,
        amount_within_due_date,
        amount_after_due_date,
    })
}

/// A consumer item (create) or the given fields of one (update; `None` = unchanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerFields {
    pub consumer_id: String,
    pub name: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
}

/// The consumer id an item names (trimmed).
pub fn consumer_id_of(item: &Value) -> Option<String> {
    let n = field_text(item.as_object()?, &["ConsumerID", "ConsumerId"])?;
    (!n.is_empty()).then_some(n)
}

/// Checks a consumer item. `create` makes `Name` mandatory; on update an absent or
/// empty field means "leave unchanged" (the samples send `""` for fields they skip).
pub fn validate_consumer(item: &Value, create: bool) -> Result<ConsumerFields, String> {
    let obj = item
        .as_object()
        .ok_or_else(|| "Invalid Format. Consumer is not a JSON object".to_string())?;
    let consumer_id = consumer_id_of(item)
        .ok_or_else(|| "Invalid Format. ConsumerID is not provided".to_string())?;
    if consumer_id.chars().count() > CONSUMER_ID_MAX {
        return Err(format!(
            "Invalid Format. ConsumerID is longer than {CONSUMER_ID_MAX} characters"
        ));
    }
    let opt = |col: &str| -> Result<Option<String>, String> {
        match field(obj, &[col]) {
            None => Ok(None),
            Some(v) => {
                let t = text(v).ok_or_else(|| format!("Invalid Format. {col} is not a value"))?;
                if t.chars().count() > CONSUMER_FIELD_MAX {
                    return Err(format!(
                        "Invalid Format. {col} is longer than {CONSUMER_FIELD_MAX} characters"
                    ));
                }
                Ok((!t.is_empty()).then_some(t))
            }
        }
    };
    let name = opt("Name")?;
    if create && name.is_none() {
        return Err("Invalid Format. Name is not provided".to_string());
    }
    let mobile = opt("Mobile")?;
    if let Some(m) = &mobile
        && !is_valid_mobile(m)
    {
        return Err(format!(
            "Invalid Format. Mobile '{m}' is not in valid format"
        ));
    }
    let email = opt("Email")?;
    if let Some(e) = &email
        && !is_valid_email(e)
    {
        return Err(format!(
            "Invalid Format. Email '{e}' is not in valid format"
        ));
    }
    let address = opt("Address")?;
    Ok(ConsumerFields {
        consumer_id,
        name,
        mobile,
        email,
        address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merchant() -> Merchant {
        Merchant::new("PayProUser", "Password", "0034")
    }

    fn order() -> Value {
        json!({
            "OrderNumber": "OpenCart115319", "OrderAmount": "4400",
            "OrderDueDate": "21/03/2020", "OrderType": "Service", "IssueDate": "14/03/2020",
            "CustomerName": "Umer Aziz", "CustomerMobile": "03123456789",
            "CustomerEmail": "", "CustomerAddress": ""
        })
    }

    fn with(key: &str, v: Value) -> Value {
        let mut o = order();
        o[key] = v;
        o
    }

    #[test]
    fn dates_in_three_formats() {
        let d = NaiveDate::from_ymd_opt(2020, 3, 21);
        assert_eq!(parse_date("21/03/2020"), d);
        assert_eq!(parse_date("2020-03-21"), d);
        assert_eq!(parse_date("2020/03/21"), d);
        assert_eq!(parse_date(" 21/3/2020 "), d);
        assert_eq!(parse_date("21-03-2020"), None);
        assert_eq!(parse_date("31/02/2020"), None);
        assert_eq!(parse_date("21/03/20"), None);
        assert_eq!(parse_date("2020-03-21T00:00:00"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn guide_sample_order_is_valid() {
        let o = validate_order(&order(), &merchant()).unwrap();
        assert_eq!(o.order_number, "OpenCart115319");
        assert_eq!(o.amount.to_wire(), "4400");
        // amounts as numbers, extra unknown fields
        let mut n = with("OrderAmount", json!(4400.5));
        n["CustomerBank"] = json!("");
        assert_eq!(
            validate_order(&n, &merchant()).unwrap().amount.to_wire(),
            "4400.50"
        );
    }

    #[test]
    fn order_rules() {
        let m = merchant();
        let bad = |v: Value| validate_order(&v, &m).unwrap_err();
        assert!(bad(with("OrderNumber", json!(" "))).contains("Order number is not provided"));
        assert!(bad(with("OrderNumber", json!("x".repeat(257)))).contains("longer"));
        assert!(bad(with("OrderAmount", json!("0"))).contains("greater than 0"));
        assert!(bad(with("OrderAmount", json!("-5"))).contains("not a valid amount"));
        assert!(bad(with("OrderAmount", json!("abc"))).contains("not a valid amount"));
        assert!(bad(with("OrderAmount", json!("0.5"))).contains("out of limits"));
        assert!(bad(with("OrderAmount", json!("1000000.01"))).contains("out of limits"));
        assert!(bad(with("OrderType", json!("Goods"))).contains("OrderType"));
        assert!(bad(with("OrderDueDate", json!("2020.03.21"))).contains("OrderDueDate"));
        assert!(bad(with("IssueDate", json!("32/01/2020"))).contains("IssueDate"));
        assert!(bad(with("CustomerName", json!(""))).contains("name"));
        assert!(bad(with("CustomerName", json!("x".repeat(33)))).contains("name"));
        assert!(bad(with("CustomerMobile", json!("3123456789"))).contains("Mobile"));
        assert!(bad(with("CustomerEmail", json!("no-at-sign"))).contains("Email"));
        assert!(
            bad(with(
                "CustomerEmail",
                json!(format!("{}@paypro.com.pk", "a".repeat(20)))
            ))
            .contains("Email")
        );
        assert!(bad(with("CustomerAddress", json!("x".repeat(65)))).contains("address"));
        assert!(bad(with("OrderExpireAfterSeconds", json!("soon"))).contains("Expire"));
        assert!(bad(with("OrderAmountAfterDueDate", json!("x"))).contains("AfterDueDate"));
        let mut missing = order();
        if let Some(o) = missing.as_object_mut() {
            o.remove("CustomerAddress");
        }
        assert!(bad(missing).contains("Column CustomerAddress is missing"));
        assert!(bad(json!(["not", "an", "object"])).contains("not a JSON object"));
        // padding spaces and limit edges are fine
        assert!(validate_order(&with("OrderAmount", json!(" 1 ")), &m).is_ok());
        assert!(validate_order(&with("OrderAmount", json!(1000000)), &m).is_ok());
        assert!(validate_order(&with("CustomerEmail", json!("abcd@paypro.com.pk ")), &m).is_ok());
    }

    #[test]
    fn credentials() {
        let ms = vec![merchant()];
        let ok = authenticate(&ms, " PayProUser ", " Password ", 15, Service::Co);
        assert_eq!(ok.map(|m| m.id.as_str()), Ok("PayProUser"));
        let err = |id: &str, pw: &str, max| authenticate(&ms, id, pw, max, Service::Co).err();
        assert_eq!(err("", "Password", 15), Some(CredError::IdEmpty));
        assert_eq!(err(&"u".repeat(16), "p", 15), Some(CredError::IdTooLong));
        assert_eq!(err(&"u".repeat(16), "p", 60), Some(CredError::Invalid));
        assert_eq!(err("PayProUser", " ", 15), Some(CredError::PasswordEmpty));
        assert_eq!(
            err("PayProUser", &"p".repeat(61), 15),
            Some(CredError::PasswordTooLong)
        );
        assert_eq!(err("PayProUser", "wrong", 15), Some(CredError::Invalid));
        assert_eq!(err("payprouser", "Password", 15), Some(CredError::Invalid));
        let mut limited = merchant();
        limited.services = [Service::Gos].into_iter().collect();
        assert_eq!(
            authenticate(&[limited], "PayProUser", "Password", 15, Service::Co).err(),
            Some(CredError::NotAuthorised)
        );
    }

    #[test]
    fn credential_keys_any_case() {
        let c = create_credentials(Some(&json!({"merchantId": " A ", "password": "p"})));
        assert_eq!(c, Some(("A".to_string(), "p".to_string())));
        assert_eq!(create_credentials(Some(&json!({"OrderNumber": "1"}))), None);
        assert_eq!(create_credentials(Some(&json!("x"))), None);
        assert_eq!(create_credentials(None), None);
    }

    #[test]
    fn consumer_rules() {
        let ok = validate_consumer(
            &json!({"ConsumerID":"123456780","Name":"Usman","Mobile":"03123456789","Email":"abcd@paypro.com.pk","Address":""}),
            true,
        )
        .unwrap();
        assert_eq!(ok.consumer_id, "123456780");
        assert_eq!(ok.address, None);
        assert!(validate_consumer(&json!({"ConsumerID":"1"}), true).is_err());
        assert!(validate_consumer(&json!({"ConsumerID":"1"}), false).is_ok());
        assert!(validate_consumer(&json!({"Name":"x"}), true).is_err());
        assert!(
            validate_consumer(&json!({"ConsumerID":"1","Name":"x","Mobile":"12"}), true).is_err()
        );
        assert!(
            validate_consumer(&json!({"ConsumerID":"1","Name":"x","Email":"bad"}), true).is_err()
        );
        assert!(
            validate_consumer(&json!({"ConsumerID":"1","Name":"x".repeat(1001)}), true).is_err()
        );
    }
}
