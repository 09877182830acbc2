//! Field limits and value checks from the Connect Pay reference.

pub const MERCHANT_ID_MAX: usize = 15;
pub const MERCHANT_PASSWORD_MAX: usize = 60;
pub const ORDER_NUMBER_MAX: usize = 256;
pub const CUSTOMER_NAME_MAX: usize = 32;
pub const CUSTOMER_MOBILE_MAX: usize = 11;
pub const CUSTOMER_EMAIL_MAX: usize = 32;
pub const CUSTOMER_ADDRESS_MAX: usize = 64;
pub const CONSUMER_ID_MAX: usize = 4000;
pub const CONSUMER_FIELD_MAX: usize = 1000;
/// Items per `cmo`/`cmc`/`umc` request.
pub const BATCH_MAX: usize = 50;
/// Characters in `CsvOrderNumbers` of one mark/refund call.
pub const CSV_ORDER_NUMBERS_MAX: usize = 4000;
/// Digits of the company code that prefixes a full consumer code.
pub const COMPANY_CODE_LEN: usize = 4;

/// A mobile number as the API accepts it: 11 digits starting with `0` (`03123456789`).
pub fn is_valid_mobile(s: &str) -> bool {
    s.len() == CUSTOMER_MOBILE_MAX && s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit())
}

/// A plausible e-mail address: one `@`, a non-empty local part, a dotted domain, no
/// spaces. Length limits are the caller's (they differ per endpoint).
pub fn is_valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile() {
        assert!(is_valid_mobile("03123456789"));
        assert!(!is_valid_mobile("3123456789"));
        assert!(!is_valid_mobile("0312345678a"));
        assert!(!is_valid_mobile("13123456789"));
    }

    #[test]
    fn email() {
        assert!(is_valid_email("abcd@paypro.com.pk"));
        assert!(!is_valid_email("abcd@paypro"));
        assert!(!is_valid_email("a b@x.pk"));
        assert!(!is_valid_email("@x.pk"));
        assert!(!is_valid_email("a@@x.pk"));
    }
}
