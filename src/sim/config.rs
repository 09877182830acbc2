//! Simulator configuration: merchants (from `--merchant ID:PASSWORD` or a TOML file),
//! batch mode and the services a merchant may use.

use crate::domain::Money;
use crate::domain::rules::{COMPANY_CODE_LEN, MERCHANT_PASSWORD_MAX};
use crate::secret::Secret;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::SimError;

/// The twelve Connect Pay endpoints, used to say which ones a merchant may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Co,
    Cmo,
    Gpojson,
    Moap,
    Moab,
    Mofr,
    Gos,
    Cc,
    Cmc,
    Uc,
    Umc,
    Gcd,
}

impl Service {
    pub const ALL: [Service; 12] = [
        Service::Co,
        Service::Cmo,
        Service::Gpojson,
        Service::Moap,
        Service::Moab,
        Service::Mofr,
        Service::Gos,
        Service::Cc,
        Service::Cmc,
        Service::Uc,
        Service::Umc,
        Service::Gcd,
    ];

    /// The path segment after `/cpay/`.
    pub fn name(self) -> &'static str {
        match self {
            Service::Co => "co",
            Service::Cmo => "cmo",
            Service::Gpojson => "gpojson",
            Service::Moap => "moap",
            Service::Moab => "moab",
            Service::Mofr => "mofr",
            Service::Gos => "gos",
            Service::Cc => "cc",
            Service::Cmc => "cmc",
            Service::Uc => "uc",
            Service::Umc => "umc",
            Service::Gcd => "gcd",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Service {
    type Err = SimError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        Service::ALL
            .into_iter()
            .find(|svc| svc.name() == t)
            .ok_or_else(|| SimError::Config(format!("unknown service '{}'", s.trim())))
    }
}

/// How `cmo`/`cmc`/`umc` treat a batch with some bad items (connectpay-api.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BatchMode {
    /// Each item succeeds or fails on its own; one answer object per item.
    #[default]
    PerItem,
    /// Any invalid or existing item rejects the whole batch; nothing is created.
    Atomic,
}

impl fmt::Display for BatchMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BatchMode::PerItem => "per-item",
            BatchMode::Atomic => "atomic",
        })
    }
}

/// A merchant account of the simulated service.
#[derive(Debug, Clone)]
pub struct Merchant {
    pub id: String,
    pub password: Secret,
    /// Four digits; prefixes ConnectPayIds and full consumer codes.
    pub company_code: String,
    /// Flat fee reported on each created order (`ConnectPayFee`).
    pub fee: Money,
    pub min_amount: Money,
    pub max_amount: Money,
    pub services: BTreeSet<Service>,
}

/// The public demo account used when no merchant is configured.
pub const DEMO_MERCHANT_ID: &str = "demo";
pub const DEMO_MERCHANT_PASSWORD: &str = "demo-pass";
/// Company code of the first merchant; later ones count up from it.
pub const FIRST_COMPANY_CODE: u32 = 44;
/// Longest user name any endpoint accepts (the guide's String(60)).
pub const USERNAME_MAX: usize = 60;
pub const DEFAULT_FEE_CENTS: i64 = 6000;
pub const DEFAULT_MIN_AMOUNT_CENTS: i64 = 100;
pub const DEFAULT_MAX_AMOUNT_CENTS: i64 = 100_000_000;

impl Merchant {
    /// A merchant with the defaults: fee 60, amounts 1 to 1,000,000, every service.
    pub fn new(id: &str, password: &str, company_code: &str) -> Merchant {
        Merchant {
            id: id.to_string(),
            password: Secret::new(password),
            company_code: company_code.to_string(),
            fee: money_cents(DEFAULT_FEE_CENTS),
            min_amount: money_cents(DEFAULT_MIN_AMOUNT_CENTS),
            max_amount: money_cents(DEFAULT_MAX_AMOUNT_CENTS),
            services: Service::ALL.into_iter().collect(),
        }
    }

    pub fn demo() -> Merchant {
        Merchant::new(
            DEMO_MERCHANT_ID,
            DEMO_MERCHANT_PASSWORD,
            &company_code_for(0),
        )
    }

    pub fn may_use(&self, service: Service) -> bool {
        self.services.contains(&service)
    }

    fn check(&self) -> Result<(), SimError> {
        if self.id.trim().is_empty() || self.id.trim() != self.id {
            return Err(SimError::Config(format!(
                "merchant id '{}' is empty or has surrounding spaces",
                self.id
            )));
        }
        // The consumer, report and mark endpoints take user names up to 60 characters;
        // only order creation limits MerchantId to 15 (such a merchant cannot create
        // orders, as with the real service).
        if self.id.chars().count() > USERNAME_MAX {
            return Err(SimError::Config(format!(
                "merchant id '{}' is longer than {USERNAME_MAX} characters",
                self.id
            )));
        }
        let pw = self.password.expose();
        if pw.trim().is_empty() || pw.chars().count() > MERCHANT_PASSWORD_MAX {
            return Err(SimError::Config(format!(
                "merchant '{}': password must be 1 to {MERCHANT_PASSWORD_MAX} characters",
                self.id
            )));
        }
        if self.company_code.len() != COMPANY_CODE_LEN
            || !self.company_code.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(SimError::Config(format!(
                "merchant '{}': company code '{}' is not {COMPANY_CODE_LEN} digits",
                self.id, self.company_code
            )));
        }
        if self.min_amount > self.max_amount {
            return Err(SimError::Config(format!(
                "merchant '{}': min_amount is above max_amount",
                self.id
            )));
        }
        Ok(())
    }
}

fn money_cents(cents: i64) -> Money {
    Money::from_cents(cents).unwrap_or_else(|_| Money::zero())
}

/// Company code of the `index`-th configured merchant: 0044, 0045, ...
pub fn company_code_for(index: usize) -> String {
    format!("{:04}", FIRST_COMPANY_CODE as usize + index)
}

/// Parses `--merchant ID:PASSWORD` (the password may itself contain `:`).
pub fn parse_merchant_arg(arg: &str, index: usize) -> Result<Merchant, SimError> {
    let (id, password) = arg.split_once(':').ok_or_else(|| {
        SimError::Config("--merchant expects ID:PASSWORD (no ':' found)".to_string())
    })?;
    let m = Merchant::new(id.trim(), password, &company_code_for(index));
    m.check()?;
    Ok(m)
}

/// Checks a merchant list: each merchant valid, ids unique.
pub fn check_merchants(merchants: &[Merchant]) -> Result<(), SimError> {
    let mut seen = BTreeSet::new();
    for m in merchants {
        m.check()?;
        if !seen.insert(m.id.as_str()) {
            return Err(SimError::Config(format!(
                "merchant id '{}' is configured twice",
                m.id
            )));
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MerchantsFile {
    #[serde(default, alias = "merchants")]
    merchant: Vec<MerchantEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MerchantEntry {
    id: String,
    password: PasswordValue,
    company_code: Option<String>,
    fee: Option<NumOrStr>,
    min_amount: Option<NumOrStr>,
    max_amount: Option<NumOrStr>,
    services: Option<Vec<String>>,
}

// Hand-written so that a parse error's Debug output never shows a password.
impl fmt::Debug for MerchantEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MerchantEntry")
            .field("id", &self.id)
            .field("password", &"***")
            .finish_non_exhaustive()
    }
}

/// A password written as a string or a bare number; untagged so that a type error
/// never quotes the value.
#[derive(Deserialize)]
#[serde(untagged)]
enum PasswordValue {
    Str(String),
    Int(i64),
}

impl PasswordValue {
    fn text(&self) -> String {
        match self {
            PasswordValue::Str(s) => s.clone(),
            PasswordValue::Int(i) => i.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    Int(i64),
    Float(f64),
    Str(String),
}

impl NumOrStr {
    fn to_money(&self, what: &str, merchant: &str) -> Result<Money, SimError> {
        let text = match self {
            NumOrStr::Int(i) => i.to_string(),
            NumOrStr::Float(f) => f.to_string(),
            NumOrStr::Str(s) => s.clone(),
        };
        text.parse::<Money>()
            .map_err(|e| SimError::Config(format!("merchant '{merchant}': {what}: {e}")))
    }
}

/// Reads merchants from TOML:
///
/// ```toml
/// [[merchant]]
/// id = "PayProUser"
/// password = "Password"
/// company_code = "0034"      # optional, default 0044, 0045, ... by position
/// fee = 60                    # optional, default 60
/// min_amount = 1              # optional, default 1
/// max_amount = 1000000        # optional, default 1000000
/// services = ["co", "cmo", "gos"]   # optional, default all twelve
/// ```
pub fn parse_merchants_toml(text: &str) -> Result<Vec<Merchant>, SimError> {
    let file: MerchantsFile = toml::from_str(text)
        .map_err(|e| SimError::Config(format!("merchants file: {}", e.message())))?;
    let mut out = Vec::new();
    for (i, e) in file.merchant.into_iter().enumerate() {
        let mut m = Merchant::new(
            e.id.trim(),
            &e.password.text(),
            &e.company_code.unwrap_or_else(|| company_code_for(i)),
        );
        if let Some(fee) = &e.fee {
            m.fee = fee.to_money("fee", &m.id)?;
        }
        if let Some(v) = &e.min_amount {
            m.min_amount = v.to_money("min_amount", &m.id)?;
        }
        if let Some(v) = &e.max_amount {
            m.max_amount = v.to_money("max_amount", &m.id)?;
        }
        if let Some(list) = &e.services {
            m.services = list
                .iter()
                .map(|s| s.parse::<Service>())
                .collect::<Result<_, _>>()?;
        }
        out.push(m);
    }
    check_merchants(&out)?;
    Ok(out)
}

pub fn load_merchants_file(path: &Path) -> Result<Vec<Merchant>, SimError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        SimError::Config(format!(
            "cannot read merchants file {}: {e}",
            path.display()
        ))
    })?;
    parse_merchants_toml(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchant_arg() {
        let m = parse_merchant_arg("PayProUser:pa:ss", 1).unwrap();
        assert_eq!(m.id, "PayProUser");
        assert_eq!(m.password.expose(), "pa:ss");
        assert_eq!(m.company_code, "0045");
        assert!(parse_merchant_arg("nopassword", 0).is_err());
        assert!(parse_merchant_arg("sixteen_chars_id:x", 0).is_ok());
        assert!(parse_merchant_arg(&format!("{}:x", "u".repeat(61)), 0).is_err());
        assert!(parse_merchant_arg("id:", 0).is_err());
    }

    #[test]
    fn toml_file() {
        let ms = parse_merchants_toml(
            r#"
            [[merchant]]
            id = "PayProUser"
            password = "Password"
            company_code = "0034"
            fee = "75.50"
            min_amount = 10
            max_amount = 5000
            services = ["co", "GOS"]

            [[merchant]]
            id = "Other"
            password = "x"
            "#,
        )
        .unwrap();
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].company_code, "0034");
        assert_eq!(ms[0].fee.to_wire(), "75.50");
        assert_eq!(ms[0].max_amount.to_wire(), "5000");
        assert!(ms[0].may_use(Service::Gos));
        assert!(!ms[0].may_use(Service::Cmo));
        assert_eq!(ms[1].company_code, "0045");
        assert!(ms[1].may_use(Service::Gcd));
    }

    #[test]
    fn toml_errors_name_the_problem_not_the_password() {
        let err = parse_merchants_toml(
            "[[merchant]]\nid = \"a\"\npassword = \"topsecret\"\nservices = [\"nope\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("nope"), "{err}");
        assert!(!err.contains("topsecret"));
        let numeric =
            parse_merchants_toml("[[merchant]]\nid = \"a\"\npassword = 987654\n").unwrap();
        assert_eq!(numeric[0].password.expose(), "987654");
        let err = parse_merchants_toml("[[merchant]]\nid = \"a\"\npassword = 98.7654\n")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("98.7654"), "{err}");
        let dup = parse_merchants_toml(
            "[[merchant]]\nid=\"a\"\npassword=\"p\"\n[[merchant]]\nid=\"a\"\npassword=\"q\"\n",
        );
        assert!(dup.is_err());
        let bad_code =
            parse_merchants_toml("[[merchant]]\nid=\"a\"\npassword=\"p\"\ncompany_code=\"12\"\n");
        assert!(bad_code.is_err());
    }
}
