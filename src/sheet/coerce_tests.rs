use super::*;
use calamine::{ExcelDateTime, ExcelDateTimeType};

fn t(s: &str) -> CellValue<'_> {
    CellValue::text(s)
}
fn m(s: &str) -> Money {
    s.parse().unwrap_or_else(|_| Money::zero())
}
fn d(y: i32, mo: u32, da: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, mo, da).unwrap_or_default()
}
fn read(money: &str, proves: Option<Convention>) -> AmountCell {
    AmountCell::Read {
        money: m(money),
        proves,
    }
}
fn amt(cell: CellValue<'_>) -> Result<AmountCell, String> {
    amount(&cell).map(|c| c.value)
}
fn err<T: std::fmt::Debug>(r: CoerceResult<T>) -> String {
    r.err().unwrap_or_default()
}

#[test]
fn amounts_from_number_cells_are_exact() {
    assert_eq!(amt(CellValue::Int(4400)), Ok(read("4400", None)));
    assert_eq!(amt(CellValue::Float(1500.5)), Ok(read("1500.50", None)));
    // No tolerance that grows with the amount: a large amount keeps its cents.
    assert_eq!(
        amt(CellValue::Float(123456789012.34)),
        Ok(read("123456789012.34", None))
    );
    assert!(err(amount(&CellValue::Float(123456789012.345))).contains("3 decimal places"));
    assert!(err(amount(&CellValue::Float(10.005))).contains("10.005 has 3 decimal places"));
    // A calculated value with binary noise past Excel's 15 digits reads as Excel shows it.
    let noisy = amount(&CellValue::Float(0.1 + 0.2));
    assert_eq!(
        noisy.as_ref().map(|c| c.value.clone()),
        Ok(read("0.30", None))
    );
    assert!(
        noisy
            .ok()
            .and_then(|c| c.warning)
            .unwrap_or_default()
            .contains("calculated value")
    );
    assert_eq!(
        amt(CellValue::Float(4400.099999999999)),
        Ok(read("4400.10", None))
    );
    assert!(err(amount(&CellValue::Float(1e15))).contains("more digits than Excel holds"));
    assert!(amount(&CellValue::Float(f64::NAN)).is_err());
    assert!(amount(&CellValue::Float(1e300)).is_err());
}

#[test]
fn text_amounts_prove_their_convention_or_stay_ambiguous() {
    use Convention::*;
    assert_eq!(amt(t("1500.50")), Ok(read("1500.50", Some(DecimalPoint))));
    assert_eq!(amt(t("1500,5")), Ok(read("1500.50", Some(DecimalComma))));
    assert_eq!(amt(t("1.200,50")), Ok(read("1200.50", Some(DecimalComma))));
    assert_eq!(amt(t("1,200.50")), Ok(read("1200.50", Some(DecimalPoint))));
    assert_eq!(amt(t("1.234.567")), Ok(read("1234567", Some(DecimalComma))));
    assert_eq!(amt(t("1,234,567")), Ok(read("1234567", Some(DecimalPoint))));
    assert_eq!(amt(t("1500")), Ok(read("1500", None)));
    assert_eq!(amt(t("1 200,50")), Ok(read("1200.50", Some(DecimalComma))));
    assert_eq!(amt(t("1 200")), Ok(read("1200", None)));
    assert_eq!(
        amt(t("Rs. 1,500.00/-")),
        Ok(read("1500", Some(DecimalPoint)))
    );
    assert_eq!(amt(t("PKR 200")), Ok(read("200", None)));
    for (s, point, comma) in [
        ("1.200", "1.20", "1200"),
        ("12.500", "12.50", "12500"),
        ("1,200", "1200", "1.20"),
        ("10.500", "10.50", "10500"),
    ] {
        assert_eq!(
            amt(t(s)),
            Ok(AmountCell::Ambiguous {
                point: Ok(m(point)),
                comma: Ok(m(comma)),
                thousands: if s.contains('.') {
                    Convention::DecimalComma
                } else {
                    Convention::DecimalPoint
                }
            }),
            "{s}"
        );
    }
    // One reading has three real decimals: still two readings, for the column to decide.
    match amt(t("1,005")) {
        Ok(AmountCell::Ambiguous { point, comma, .. }) => {
            assert_eq!(point, Ok(m("1005")));
            assert!(comma.unwrap_err().contains("3 decimal places"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn text_amounts_refused() {
    // With a decimal point 10.005 has three decimals; with a decimal comma it is 10005.
    match amt(t("10.005")) {
        Ok(AmountCell::Ambiguous { point, comma, .. }) => {
            assert!(
                point
                    .unwrap_err()
                    .contains("\"10.005\" has 3 decimal places")
            );
            assert_eq!(comma, Ok(m("10005")));
        }
        other => panic!("{other:?}"),
    }
    assert!(err(amount(&t("1500.005"))).contains("has 3 decimal places"));
    assert!(err(amount(&t("0.00"))).contains("is zero"));
    assert!(err(amount(&CellValue::Int(0))).contains("is zero"));
    assert!(err(amount(&t("-5"))).contains("negative"));
    assert!(err(amount(&CellValue::Float(-5.0))).contains("negative"));
    assert!(err(amount(&t("abc"))).contains("\"abc\" is not an amount"));
    assert!(err(amount(&t("1.23457E+11"))).contains("scientific notation"));
    assert!(amount(&t("4,4000")).is_err());
    assert!(amount(&t("1,2,3")).is_err());
    assert!(amount(&t("1.200,000.5")).is_err());
    assert!(amount(&CellValue::Bool(true)).is_err());
    // A multi-byte first character must not be cut by the currency-prefix check.
    assert!(amount(&t("🩨1")).is_err());
}

#[test]
fn dates_from_cells_serials_and_text() {
    let cell = CellValue::DateTime(ExcelDateTime::new(
        46356.0,
        ExcelDateTimeType::DateTime,
        false,
    ));
    let fixed = |c: CellValue<'_>, is_1904| date(&c, is_1904).map(|c| c.value);
    let f = DateCell::Fixed;
    assert_eq!(fixed(cell, false), Ok(f(d(2026, 11, 30))));
    assert_eq!(fixed(CellValue::Int(46356), false), Ok(f(d(2026, 11, 30))));
    assert_eq!(
        fixed(CellValue::Float(46356.0), false),
        Ok(f(d(2026, 11, 30)))
    );
    // The same day in a 1904 workbook is 1462 days fewer.
    assert_eq!(
        fixed(CellValue::Int(46356 - 1462), true),
        Ok(f(d(2026, 11, 30)))
    );
    for s in [
        "30/11/2026",
        "2026-11-30",
        "30-Nov-2026",
        "30-nov-2026",
        "2026/11/30",
        "30/11/2026 00:00",
        "30/11/2026 00:00:00",
        "2026-11-30T00:00:00",
        "30/11/2026 12:00:00 AM",
        " 30/11/2026 ",
        "30 November 2026",
    ] {
        let got = fixed(t(s), false);
        assert!(
            got == Ok(f(d(2026, 11, 30)))
                || got
                    == Ok(DateCell::Ordered {
                        day_first: Some(d(2026, 11, 30)),
                        month_first: None
                    }),
            "{s}: {got:?}"
        );
    }
    assert_eq!(
        fixed(t("5/12/2026"), false),
        Ok(DateCell::Ordered {
            day_first: Some(d(2026, 12, 5)),
            month_first: Some(d(2026, 5, 12))
        })
    );
    assert_eq!(
        fixed(t("11/30/2026"), false),
        Ok(DateCell::Ordered {
            day_first: None,
            month_first: Some(d(2026, 11, 30))
        })
    );
    assert_eq!(fixed(t("7/7/2026"), false), Ok(f(d(2026, 7, 7))));
}

#[test]
fn dates_refused() {
    let with_time = CellValue::DateTime(ExcelDateTime::new(
        46356.5,
        ExcelDateTimeType::DateTime,
        false,
    ));
    assert!(err(date(&with_time, false)).contains("time of day 12:00"));
    assert!(err(date(&CellValue::Float(46356.25), false)).contains("time of day"));
    assert!(err(date(&t("30/11/2026 14:30"), false)).contains("time of day 14:30"));
    assert!(err(date(&t("31/02/2026"), false)).contains("is not a date"));
    assert!(err(date(&t("13/13/2026"), false)).contains("is not a date"));
    assert!(err(date(&t("30/11/26"), false)).contains("year 26"));
    assert!(date(&t("tomorrow"), false).is_err());
    assert!(err(date(&CellValue::Int(15), false)).contains("not a date"));
    assert!(date(&CellValue::Int(20261130), false).is_err());
    assert!(date(&CellValue::Bool(false), false).is_err());
    let dur = CellValue::DateTime(ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false));
    assert!(date(&dur, false).is_err());
}

#[test]
fn mobiles() {
    let ok = |c: CellValue<'_>| mobile(&c);
    assert_eq!(ok(t("03123456789")), Coerced::ok("03123456789".to_string()));
    assert_eq!(ok(CellValue::Empty), Coerced::ok(String::new()));
    let r = ok(CellValue::Float(3123456789.0)).unwrap_or_else(|_| Coerced {
        value: String::new(),
        warning: None,
    });
    assert_eq!(r.value, "03123456789");
    assert!(
        r.warning
            .unwrap_or_default()
            .contains("Excel dropped the leading zero")
    );
    assert_eq!(
        ok(CellValue::Int(3123456789)).map(|c| c.value),
        Ok("03123456789".into())
    );
    for s in [
        "+92 312 3456789",
        "0312-3456789",
        "+923123456789",
        "0092 312 3456789",
        "923123456789",
        "3123456789",
        "(0312) 345-6789",
        "03123456789\u{200B}",
    ] {
        let r = ok(t(s));
        assert_eq!(
            r.as_ref().map(|c| c.value.as_str()),
            Ok("03123456789"),
            "{s}"
        );
        assert!(r.map(|c| c.warning.is_some()).unwrap_or(false), "{s}");
    }
    for s in [
        "12345",
        "031234567890",
        "0312345678a",
        "phone",
        "+1 415 555 0100",
    ] {
        let e = err(ok(t(s)));
        assert!(e.contains("is not a mobile number"), "{s}: {e}");
    }
    assert!(ok(CellValue::Float(3.5)).is_err());
    assert!(ok(CellValue::Int(-3123456789)).is_err());
    assert!(ok(CellValue::Bool(true)).is_err());
}

#[test]
fn consumer_contacts_follow_the_reference() {
    // Free text up to the limit: a format problem is a warning, the value as written.
    let r = contact_mobile(&t("+92 312 3456789"), 1000);
    assert_eq!(r.as_ref().map(|c| c.value.as_str()), Ok("+92 312 3456789"));
    assert!(
        r.ok()
            .and_then(|c| c.warning)
            .unwrap_or_default()
            .contains("sent as written")
    );
    assert_eq!(
        contact_mobile(&CellValue::Float(3001234567.0), 1000).map(|c| c.value),
        Ok("03001234567".into())
    );
    assert_eq!(
        contact_mobile(&t("03001234567"), 1000),
        Coerced::ok("03001234567".to_string())
    );
    assert!(err(contact_mobile(&t(&"1".repeat(1001)), 1000)).contains("1001 characters"));
    let r = contact_email(&t("ali.at.home"), 1000);
    assert_eq!(r.as_ref().map(|c| c.value.as_str()), Ok("ali.at.home"));
    assert!(r.map(|c| c.warning.is_some()).unwrap_or(false));
    let long = format!("{}@example.pk", "a".repeat(40));
    assert_eq!(
        contact_email(&t(&long), 1000),
        Coerced::ok(long.clone()),
        "consumer e-mails may exceed the order limit of 32"
    );
    assert!(err(contact_email(&t(&"a".repeat(1001)), 1000)).contains("1001 characters"));
}

#[test]
fn texts() {
    assert_eq!(
        text(&t("  Ali Khan "), 32).map(|c| c.value),
        Ok("Ali Khan".into())
    );
    assert_eq!(
        text(&CellValue::Float(1001.0), 32).map(|c| c.value),
        Ok("1001".into())
    );
    let r = text(&t("House 5\nStreet 2"), 64);
    assert_eq!(r.as_ref().map(|c| c.value.as_str()), Ok("House 5 Street 2"));
    assert!(r.map(|c| c.warning.is_some()).unwrap_or(false));
    let r = text(&t("Ali\u{00AD} Khan\u{200B}"), 64);
    assert_eq!(r.as_ref().map(|c| c.value.as_str()), Ok("Ali Khan"));
    assert!(
        r.ok()
            .and_then(|c| c.warning)
            .unwrap_or_default()
            .contains("soft hyphen (U+00AD), removed")
    );
    // Only invisible characters: empty, so a mandatory name is reported as empty.
    assert_eq!(text(&t("\u{200B}"), 32).map(|c| c.value), Ok(String::new()));
    let long = "x".repeat(33);
    let e = err(text(&t(&long), 32));
    assert!(
        e.contains("is 33 characters long (expected at most 32)"),
        "{e}"
    );
    // Characters, not bytes: Urdu names are multi-byte.
    assert!(text(&t(&"ع".repeat(32)), 32).is_ok());
    let date_cell = CellValue::DateTime(ExcelDateTime::new(
        46356.0,
        ExcelDateTimeType::DateTime,
        false,
    ));
    assert!(err(text(&date_cell, 64)).contains("format the column as Text"));
}

#[test]
fn emails() {
    assert_eq!(
        email(&t(" ali@x.pk "), 32).map(|c| c.value),
        Ok("ali@x.pk".into())
    );
    assert_eq!(email(&t(""), 32).map(|c| c.value), Ok(String::new()));
    assert_eq!(
        email(&t("ali@@x.pk"), 32).err(),
        Some("\"ali@@x.pk\" is not a valid e-mail address: it is not of the form name@domain.tld (expected name@domain, at most 32 characters)".into())
    );
    for (s, why) in [
        ("mailto:ali@x.pk", "mailto:"),
        (".ali@x.pk", "a dot starts or ends"),
        ("ali.@x.pk", "a dot starts or ends"),
        ("a..li@x.pk", "two dots meet"),
        ("ali @x.pk", "contains a space"),
        ("ali.x.pk", "has no @"),
    ] {
        let e = err(email(&t(s), 32));
        assert!(e.contains(why), "{s}: {e}");
    }
    let r = email(&t("ali@x.pk\u{200B}"), 32);
    assert_eq!(r.as_ref().map(|c| c.value.as_str()), Ok("ali@x.pk"));
    assert!(r.map(|c| c.warning.is_some()).unwrap_or(false));
    let long = format!("{}@example.com.pk", "a".repeat(25));
    assert!(err(email(&t(&long), 32)).contains("is 40 characters long"));
    assert!(email(&CellValue::Int(5), 32).is_err());
}

#[test]
fn keys() {
    assert_eq!(
        key_text(&t(" INV-1 "), 256),
        Coerced::ok("INV-1".to_string())
    );
    assert_eq!(
        key_text(&CellValue::Float(1001.0), 256),
        Coerced::ok("1001".to_string())
    );
    assert_eq!(
        key_text(&CellValue::Float(123456789012345.0), 256),
        Coerced::ok("123456789012345".to_string())
    );
    for n in [
        1234567890123456.0,
        12345678901234567890.0,
        9007199254740993.0,
    ] {
        assert!(
            err(key_text(&CellValue::Float(n), 256)).contains("format the column as Text"),
            "{n}"
        );
    }
    assert!(
        err(key_text(&CellValue::Float(12345678901234567890.0), 256))
            .starts_with("12345678901234567000 is a number cell")
    );
    assert!(err(key_text(&t("K-1\u{200B}"), 256)).contains("zero-width space (U+200B)"));
    assert!(err(key_text(&t("K\u{00AD}1"), 256)).contains("soft hyphen"));
    assert!(err(key_text(&t("K\n1"), 256)).contains("line break"));
    let r = key_text(&t("Ｋ-1"), 256);
    assert_eq!(r.as_ref().map(|c| c.value.as_str()), Ok("Ｋ-1"));
    assert!(
        r.ok()
            .and_then(|c| c.warning)
            .unwrap_or_default()
            .contains("look-alike")
    );
}

#[test]
fn seconds_lists_and_constants() {
    assert_eq!(seconds(&CellValue::Int(86400)).map(|c| c.value), Ok(86400));
    assert_eq!(seconds(&t("3600")).map(|c| c.value), Ok(3600));
    assert_eq!(
        seconds(&CellValue::Int(0)).map(|c| c.value),
        Ok(0),
        "0 means never expires"
    );
    assert!(seconds(&CellValue::Int(-1)).is_err());
    assert!(seconds(&CellValue::Float(1.5)).is_err());
    assert!(list_order_number(&t("INV-1,INV-2"), 256).is_err());
    assert!(list_order_number(&t("INV|1"), 256).is_err());
    assert_eq!(
        list_order_number(&t("INV-1"), 256).map(|c| c.value),
        Ok("INV-1".into())
    );
    assert_eq!(
        full_consumer_code(&t("0044123"), 4000).map(|c| c.value),
        Ok("0044123".into())
    );
    assert!(full_consumer_code(&CellValue::Int(44123), 4000).is_err());
    assert!(full_consumer_code(&t("0044"), 4000).is_err());
    assert!(full_consumer_code(&t("AB44123"), 4000).is_err());
    assert_eq!(
        constant(&t(" service "), "Service", "OrderType").map(|c| c.value),
        Ok("Service".into())
    );
    assert!(err(constant(&t("Product"), "Service", "OrderType")).contains("expected Service"));
}
