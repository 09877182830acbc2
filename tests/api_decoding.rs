#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Decoding of Connect Pay responses: the provider guide's samples copied verbatim
//! (connectpay-api-original.txt), what real integrations add, and broken bodies.

use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use paypro_console::Secret;
use paypro_console::api::wire::{
    self, decode_consumer_data_response, decode_consumer_response, decode_create_response,
    decode_mark_response, decode_order_status_response, decode_paid_orders_response,
};
use paypro_console::api::{
    ApiError, ApiStatus, ConsumerStatus, CreateStatus, Endpoint, ItemStatus, MarkStatus,
    OrderStatus, ReportStatus, TransportKind, mark_outcome, pair_items,
};
use rust_decimal::Decimal;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn ts(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap()
}

// ---- The guide's samples, byte for byte -------------------------------------------

/// §1 co response.
const GUIDE_CO: &str = r#"[
{
"Status": "00"
},
{
"Description": "Order number H-5 created successfully",
"OrderAmount": "250001",
"ConnectPayFee": "60",
"ConnectPayId": "00342000600028",
"OrderNumber": "H5-317",
"IsFeeApplied": "True"
}
]"#;
/// §2 cmo response (multiple orders). Both items echo the same OrderNumber.
const GUIDE_CMO: &str = r#"[{
"Status": "00"
},
{
"Description": "Order number H-5 created successfully",
"OrderAmount": "250001",
"ConnectPayFee": "60",
"ConnectPayId": "00342000600028",
"OrderNumber": "H5-317",
"IsFeeApplied": "True"
},
{
"Description": "Order number H-6 created successfully",
"OrderAmount": "250001",
"ConnectPayFee": "60",
"ConnectPayId": "00342000600028",
"OrderNumber": "H5-317",
"IsFeeApplied": "True"
}
]"#;
/// §3 gpojson response. Element 0 is written with typographic quotes.
const GUIDE_GPOJSON: &str = r#"[
{“Status”:”00”},
{
"Order Number": "HR-100013",
"Customer Email": "abcd@paypro.com.pk",
"Issue Date": "2018-12-30T00:00:00",
"Customer Mobile": "03123456789",
"Order Amount": 45050,
"Date Created": "2018-12-27T15:04:25.923",
"Order Due Date": "2018-12-20T00:00:00",
"Customer Address": "ABCD Street",
"Date Paid": "2019-01-01T00:00:00",
"ConnectPay Id": "00391836100002",
"Amount Paid": 45050
},
{
"Order Number": "HR-100017",
"Customer Email": "abcd@paypro.com.pk",
"Issue Date": "2018-12-30T00:00:00",
"Customer Mobile": "03333473876",
"Order Amount": "45054",
"Date Created": "2019-01-01T10:12:43.72",
"Order Due Date": "2018-12-20T00:00:00",
"Customer Address": "Abcd street",
"Date Paid": "2019-01-01T00:00:00",
"ConnectPay Id": "00391900100005",
"Amount Paid": "45054"
},
{
"Order Number": "HR-100018",
"Customer Email": "abcd@paypro.com.pk ",
"Issue Date": "2018-12-30T00:00:00",
"Customer Mobile": "03123456789",
"Order Amount": "45055",
"Date Created": "2019-01-01T10:12:43.743",
"Order Due Date": "2018-12-20T00:00:00",
"Customer Address": "Abcd Street",
"Date Paid": "2019-01-01T00:00:00",
"ConnectPay Id": "00391900100006",
"Amount Paid": 45055
}
]"#;
/// §4 moap failure response: typographic quotes and an unterminated "Block.
const GUIDE_MOAP_FAIL: &str = r#"[
{"Status":"01"},
{"OrderNumber":"PayPro1001”,"OrderStatus":"Block,"ConnectPayId":"00441903501505"},
{"OrderNumber":" PayPro1002”,"OrderStatus":"Block,"ConnectPayId":"00441903501502"}
]"#;
/// §5 moab failure response.
const GUIDE_MOAB_FAIL: &str = r#"[
{"Status":"01"},
{"OrderNumber":"PayPro1001”,"OrderStatus":"Paid,"ConnectPayId":"00441903501505"},
{"OrderNumber":"PayPro1002”,"OrderStatus":"Paid,"ConnectPayId":"00441903501502"}]"#;
/// §6 mofr failure response: strings closed with typographic quotes.
const GUIDE_MOFR_FAIL: &str = r#"[{"Status":"01"},
{"OrderNumber":"PayPro1001”,"OrderStatus":"Blocked”,"ConnectPayId":"00441903501505"},
{"OrderNumber":"PayPro1002”,"OrderStatus":"Already Refunded”,"ConnectPayId":"00441903501502"}]"#;
/// §7 gos response: a comma is missing after "Blocked".
const GUIDE_GOS: &str = r#"[
{
"Status": "00"
},
{
"OrderStatus": "Blocked"
"OrderAmountPaid": 0.0000,
"DatePaid": null,
"OrderNumber": "OpenCart115322"
}
]"#;
/// §8 cc response: ConsumerNumber is a JSON number.
const GUIDE_CC: &str = r#"[
{
"Status": "00"
},
{
"FullConsumerCode": "0044123456780",
"Description": "Consumer number created successfully",
"ConsumerNumber": 123456780
}
]"#;
/// §9 cmc response.
const GUIDE_CMC: &str = r#"[
{
"Status": "00"
},
{
"FullConsumerCode": "0110123456785",
"Description": "Consumer number 123456785 created successfully",
"ConsumerNumber": "123456785"
},
{
"FullConsumerCode": "0110123456786",
"Description": "Consumer number 123456786 created successfully",
"ConsumerNumber": "123456786"
}
]"#;
/// §10 uc response.
const GUIDE_UC: &str = r#"[
{
"Status": "00"
},
{
"Description": "ConsumerID 0040123456780 updated successfully",
"ConsumerID": "0040123456780"
}
]"#;
/// §11 umc response.
const GUIDE_UMC: &str = r#"[
{
"Status": "00"
},
{
"Description": "ConsumerID 0110123456785 updated successfully",
"ConsumerID": "0110123456785"
},
{
"Description": "ConsumerID 0110123456786 updated successfully",
"ConsumerID": "0110123456786"
}
]"#;
/// §12 gcd response: Description before Status in element 0.
const GUIDE_GCD: &str = r#"[
{
"Description": "Record fetched successfully",
"Status": "00"
},
{
"FullConsumerCode": "00441234567",
"CreatedOn": "2020-06-10T10:17:45.247",
"Email": "abcd@paypro.com.pk",
"ConsumerCode": "1234567",
"Address": "ABCD",
"Mobile": "03123456789",
"CompanyCode": "0044",
"Name": "User"
}
]"#;
/// §4–6 success response.
const GUIDE_MARK_OK: &str = r#"[{"Status":"00"}]"#;

/// The guide's typography, undone: typographic quotes to ASCII quotes and the two
/// missing pieces of punctuation restored — the smallest edit that makes a sample JSON.
fn typography_fixed(sample: &str) -> String {
    sample
        .replace(['“', '”'], "\"")
        .replace("\"Block,\"", "\"Block\",\"")
        .replace("\"Paid,\"", "\"Paid\",\"")
        .replace(
            "\"Blocked\"\n\"OrderAmountPaid\"",
            "\"Blocked\",\n\"OrderAmountPaid\"",
        )
}

#[test]
fn guide_co_sample() {
    let r = decode_create_response(GUIDE_CO).unwrap();
    assert_eq!(r.status, CreateStatus::Created);
    assert_eq!(r.description, None);
    assert_eq!(r.items.len(), 1);
    let i = &r.items[0];
    assert_eq!(
        i.status,
        ItemStatus::Inferred(CreateStatus::Created),
        "the guide's items carry no Status: the ConnectPayId decides"
    );
    assert_eq!(i.connectpay_id.as_deref(), Some("00342000600028"));
    assert_eq!(i.connectpay_fee, Some(dec("60")));
    assert_eq!(i.order_amount, Some(dec("250001")));
    assert_eq!(i.order_number.as_deref(), Some("H5-317"));
    assert_eq!(i.is_fee_applied, Some(true));
    assert_eq!(
        i.description.as_deref(),
        Some("Order number H-5 created successfully")
    );
}

#[test]
fn guide_cmo_sample_pairs_by_position_when_keys_do_not_match() {
    let r = decode_create_response(GUIDE_CMO).unwrap();
    assert_eq!(r.items.len(), 2);
    assert!(
        r.items
            .iter()
            .all(|i| i.status == ItemStatus::Inferred(CreateStatus::Created))
    );
    // Sent H-5 and H-6; the sample echoes H5-317 twice: position decides.
    let paired = pair_items(&["H-5", "H-6"], &r.items);
    assert_eq!(
        paired[0].unwrap().description.as_deref(),
        Some("Order number H-5 created successfully")
    );
    assert_eq!(
        paired[1].unwrap().description.as_deref(),
        Some("Order number H-6 created successfully")
    );
}

#[test]
fn guide_gpojson_sample_verbatim_is_not_json_and_fixed_decodes_mixed_amounts() {
    let err = decode_paid_orders_response(GUIDE_GPOJSON).unwrap_err();
    assert!(err.reason.contains("not valid JSON"), "{err}");
    assert!(err.excerpt.starts_with("[ {“Status”"), "{}", err.excerpt);

    let r = decode_paid_orders_response(&typography_fixed(GUIDE_GPOJSON)).unwrap();
    assert_eq!(r.status, ReportStatus::Ok);
    assert_eq!(r.orders.len(), 3);
    let [a, b, c] = &r.orders[..] else {
        panic!("3 orders")
    };
    assert_eq!(a.order_number, "HR-100013");
    assert_eq!(a.order_amount, Some(dec("45050")), "JSON number");
    assert_eq!(a.amount_paid, Some(dec("45050")));
    assert_eq!(b.order_amount, Some(dec("45054")), "JSON string");
    assert_eq!(b.amount_paid, Some(dec("45054")));
    assert_eq!(c.order_amount, Some(dec("45055")));
    assert_eq!(c.amount_paid, Some(dec("45055")), "number after string");
    assert_eq!(a.connectpay_id.as_deref(), Some("00391836100002"));
    assert_eq!(a.date_created, Some(ts("2018-12-27T15:04:25.923")));
    assert_eq!(b.date_created, Some(ts("2019-01-01T10:12:43.720")));
    assert_eq!(c.date_created, Some(ts("2019-01-01T10:12:43.743")));
    assert_eq!(a.date_paid, Some(ts("2019-01-01T00:00:00")));
    assert_eq!(a.issue_date, Some(ts("2018-12-30T00:00:00")));
    assert_eq!(a.due_date, Some(ts("2018-12-20T00:00:00")));
    assert_eq!(
        c.customer_email.as_deref(),
        Some("abcd@paypro.com.pk"),
        "stray space trimmed"
    );
    assert_eq!(b.customer_mobile.as_deref(), Some("03333473876"));
    assert_eq!(b.customer_address.as_deref(), Some("Abcd street"));
}

#[test]
fn guide_mark_failure_samples() {
    for sample in [GUIDE_MOAP_FAIL, GUIDE_MOAB_FAIL, GUIDE_MOFR_FAIL] {
        let err = decode_mark_response(sample).unwrap_err();
        assert!(err.reason.contains("not valid JSON"), "{err}");
    }
    let moap = decode_mark_response(&typography_fixed(GUIDE_MOAP_FAIL)).unwrap();
    assert_eq!(moap.status, MarkStatus::InvalidData);
    assert_eq!(moap.failed.len(), 2);
    assert_eq!(moap.failed[0].order_number, "PayPro1001");
    assert_eq!(
        moap.failed[1].order_number, "PayPro1002",
        "leading space trimmed"
    );
    assert_eq!(moap.failed[0].order_status, Some(OrderStatus::Blocked));
    assert_eq!(
        moap.failed[0].connectpay_id.as_deref(),
        Some("00441903501505")
    );

    let moab = decode_mark_response(&typography_fixed(GUIDE_MOAB_FAIL)).unwrap();
    assert!(
        moab.failed
            .iter()
            .all(|f| f.order_status == Some(OrderStatus::Paid))
    );

    let mofr = decode_mark_response(&typography_fixed(GUIDE_MOFR_FAIL)).unwrap();
    assert_eq!(mofr.failed[0].order_status, Some(OrderStatus::Blocked));
    assert_eq!(
        mofr.failed[1].order_status,
        Some(OrderStatus::AlreadyRefunded)
    );
    // 01 with a list: the listed orders failed, the call itself is a result.
    let failed = mark_outcome(mofr).unwrap();
    assert_eq!(failed.len(), 2);

    let ok = decode_mark_response(GUIDE_MARK_OK).unwrap();
    assert_eq!(mark_outcome(ok).unwrap(), vec![]);
}

#[test]
fn mark_outcome_errors() {
    for (body, code) in [
        (
            r#"[{"Status":"01","Description":"Invalid Format"}]"#,
            MarkStatus::InvalidData,
        ),
        (r#"[{"Status":"02"}]"#, MarkStatus::NotAuthorised),
        (
            r#"[{"Status":"03","Description":"No data available"}]"#,
            MarkStatus::NoData,
        ),
    ] {
        let (status, _) = mark_outcome(decode_mark_response(body).unwrap()).unwrap_err();
        assert_eq!(status, code);
    }
    // A listed order without an OrderNumber cannot be told apart: refuse to guess.
    let err = decode_mark_response(r#"[{"Status":"01"},{"OrderStatus":"Paid"}]"#).unwrap_err();
    assert!(err.reason.contains("OrderNumber"), "{err}");
}

#[test]
fn guide_gos_sample() {
    assert!(decode_order_status_response(GUIDE_GOS).is_err());
    let r = decode_order_status_response(&typography_fixed(GUIDE_GOS)).unwrap();
    assert_eq!(r.status, MarkStatus::Ok);
    let o = r.order.unwrap();
    assert_eq!(o.order_status, OrderStatus::Blocked);
    assert_eq!(o.amount_paid, Some(Decimal::ZERO), "0.0000");
    assert_eq!(o.date_paid, None, "null");
    assert_eq!(o.order_number.as_deref(), Some("OpenCart115322"));
}

#[test]
fn guide_consumer_samples() {
    let cc = decode_consumer_response(GUIDE_CC).unwrap();
    assert_eq!(cc.status, ConsumerStatus::Ok);
    let i = &cc.items[0];
    assert_eq!(i.status, ItemStatus::Inferred(ConsumerStatus::Ok));
    assert_eq!(i.full_consumer_code.as_deref(), Some("0044123456780"));
    assert_eq!(
        i.consumer_number.as_deref(),
        Some("123456780"),
        "number kept as text"
    );
    assert_eq!(pair_items(&["123456780"], &cc.items)[0], Some(i));

    let cmc = decode_consumer_response(GUIDE_CMC).unwrap();
    let paired = cmc.pair_ids(&["123456786", "123456785"]);
    assert_eq!(
        paired[0].unwrap().full_consumer_code.as_deref(),
        Some("0110123456786"),
        "matched by key, not position"
    );
    assert_eq!(
        paired[1].unwrap().consumer_number.as_deref(),
        Some("123456785")
    );

    let uc = decode_consumer_response(GUIDE_UC).unwrap();
    assert_eq!(uc.items[0].consumer_id.as_deref(), Some("0040123456780"));
    assert_eq!(
        uc.items[0].status,
        ItemStatus::Inferred(ConsumerStatus::Ok),
        "'updated successfully' is the only evidence an update item carries"
    );

    // umc: the guide sends short ids and gets full codes back; both pair.
    let umc = decode_consumer_response(GUIDE_UMC).unwrap();
    let short = umc.pair_ids(&["123456786", "123456785"]);
    assert_eq!(
        short[0].unwrap().consumer_id.as_deref(),
        Some("0110123456786")
    );
    let full = umc.pair_ids(&["0110123456785", "0110123456786"]);
    assert_eq!(
        full[1].unwrap().consumer_id.as_deref(),
        Some("0110123456786")
    );

    let gcd = decode_consumer_data_response(GUIDE_GCD).unwrap();
    assert_eq!(gcd.status, ConsumerStatus::Ok);
    assert_eq!(
        gcd.description.as_deref(),
        Some("Record fetched successfully")
    );
    let c = gcd.consumer.unwrap();
    assert_eq!(c.full_consumer_code.as_deref(), Some("00441234567"));
    assert_eq!(c.company_code.as_deref(), Some("0044"));
    assert_eq!(c.consumer_code.as_deref(), Some("1234567"));
    assert_eq!(c.name.as_deref(), Some("User"));
    assert_eq!(c.mobile.as_deref(), Some("03123456789"));
    assert_eq!(c.created_on, Some(ts("2020-06-10T10:17:45.247")));
}

// ---- What real integrations show beyond the guide ---------------------------------

#[test]
fn extra_fields_of_real_integrations_are_ignored() {
    for ipg in [
        r#"[{"Bank":"HBL","Url":"https://x/pay"}]"#,
        r#"{"HBL":"https://x/pay"}"#,
        "null",
    ] {
        let body = format!(
            r#"[{{"Status":"00"}},{{"Description":"Order number A-1 created successfully",
            "OrderAmount":"4400","ConnectPayFee":"60","ConnectPayId":"00342000600028",
            "OrderNumber":"A-1","IsFeeApplied":"True","PayProId":"00342000600028",
            "BillUrl":"https://demo.paypro.com.pk/b/1","Click2Pay":"https://x/c2p",
            "IPGList":{ipg},"BAFCharge":false,"1LinkCharge":25.5}}]"#
        );
        let r = decode_create_response(&body).unwrap();
        assert_eq!(r.items[0].connectpay_id.as_deref(), Some("00342000600028"));
        assert_eq!(
            r.items[0].status,
            ItemStatus::Inferred(CreateStatus::Created)
        );
    }
}

#[test]
fn lenient_values() {
    let body = r#"[ {"status": 0, "description": "  ok  "},
        {" Order Number ":" HR-1 ", "Order Amount": 1500.5, "Amount Paid": "4,400",
         "ConnectPay Id": "00391836100002", "Date Paid": null, "Date Created": "2019-01-01",
         "Issue Date": "2019-01-01T10:12:43", "Order Due Date": "", "Customer Email": null},
        {"Order Number": 42, "Order Amount": "0.0000", "Amount Paid": " 12 ",
         "Date Paid": "2019-01-01T10:12:43.1"} ]"#;
    let r = decode_paid_orders_response(body).unwrap();
    assert_eq!(r.status, ReportStatus::Ok, "numeric status 0 is 00");
    assert_eq!(r.description.as_deref(), Some("ok"));
    let a = &r.orders[0];
    assert_eq!(a.order_number, "HR-1");
    assert_eq!(a.order_amount, Some(dec("1500.5")));
    assert_eq!(a.amount_paid, Some(dec("4400")));
    assert_eq!(a.date_paid, None);
    assert_eq!(
        a.date_created,
        Some(ts("2019-01-01T00:00:00")),
        "a plain date"
    );
    assert_eq!(a.issue_date, Some(ts("2019-01-01T10:12:43")));
    assert_eq!(a.due_date, None, "blank");
    assert_eq!(a.customer_email, None);
    let b = &r.orders[1];
    assert_eq!(b.order_number, "42");
    assert_eq!(b.order_amount, Some(Decimal::ZERO));
    assert_eq!(b.amount_paid, Some(dec("12")));
    assert_eq!(b.date_paid, Some(ts("2019-01-01T10:12:43.100")));

    // Booleans and numeric ids in create responses.
    let r = decode_create_response(
        r#"[{"Status":"00"},{"ConnectPayId":342000600028,"IsFeeApplied":false,"ConnectPayFee":0.0000,"OrderNumber":"A"}]"#,
    )
    .unwrap();
    assert_eq!(r.items[0].connectpay_id.as_deref(), Some("342000600028"));
    assert_eq!(r.items[0].is_fee_applied, Some(false));
    assert_eq!(r.items[0].connectpay_fee, Some(Decimal::ZERO));

    // A double-encoded array (a JSON string holding the JSON).
    let r = decode_mark_response(r#""[{\"Status\":\"00\"}]""#).unwrap();
    assert_eq!(r.status, MarkStatus::Ok);
}

#[test]
fn unreadable_report_values_are_errors_not_zero() {
    let err = decode_paid_orders_response(
        r#"[{"Status":"00"},{"Order Number":"A","Amount Paid":"abc"}]"#,
    )
    .unwrap_err();
    assert!(err.reason.contains("Amount Paid"), "{err}");
    let err = decode_paid_orders_response(
        r#"[{"Status":"00"},{"Order Number":"A","Date Paid":"someday"}]"#,
    )
    .unwrap_err();
    assert!(err.reason.contains("Date Paid"), "{err}");
    let err = decode_paid_orders_response(r#"[{"Status":"00"},{"Amount Paid":"1"}]"#).unwrap_err();
    assert!(err.reason.contains("Order Number"), "{err}");
}

#[test]
fn order_status_words() {
    for (word, want) in [
        ("Paid", OrderStatus::Paid),
        ("PAID", OrderStatus::Paid),
        ("Unpaid", OrderStatus::Unpaid),
        ("UNPAID", OrderStatus::Unpaid),
        (" Blocked ", OrderStatus::Blocked),
        ("BLOCKED", OrderStatus::Blocked),
        ("Refunded", OrderStatus::Refunded),
        ("Already Refunded", OrderStatus::AlreadyRefunded),
        ("ALREADY REFUNDED", OrderStatus::AlreadyRefunded),
        ("Expired", OrderStatus::Other("Expired".into())),
    ] {
        assert_eq!(OrderStatus::from_word(word), want, "{word}");
        let body = format!(r#"[{{"Status":"00"}},{{"OrderStatus":"{word}"}}]"#);
        assert_eq!(
            decode_order_status_response(&body)
                .unwrap()
                .order
                .unwrap()
                .order_status,
            want
        );
    }
}

// ---- Per-item results and pairing (connectpay-api.md §2) ---------------------------

#[test]
fn item_status_own_then_inferred() {
    let r = decode_create_response(
        r#"[{"Status":"01","Description":"some failed"},
            {"Description":"Order number A created successfully","OrderNumber":"A","ConnectPayId":"00340000000001"},
            {"Description":"Order number B already exist","OrderNumber":"B"},
            {"Status":"03","Description":"Invalid mobile","OrderNumber":"C"},
            {"Description":"something","OrderNumber":"D"}]"#,
    )
    .unwrap();
    let s: Vec<ItemStatus<CreateStatus>> = r.items.iter().map(|i| i.status.clone()).collect();
    assert_eq!(
        s,
        vec![
            ItemStatus::Inferred(CreateStatus::Created),
            ItemStatus::Inferred(CreateStatus::AlreadyExists),
            ItemStatus::Stated(CreateStatus::InvalidData),
            // Nothing to go on: unknown, never element 0's 01.
            ItemStatus::Unknown,
        ]
    );
}

// ---- Guide-shaped batch answers: no per-item Status (connectpay-api.md §2) ----------

/// A cmo answer in the guide's shape for: an order that already existed (first), one
/// the server refused, then two created. Element 0 carries `head`.
fn guide_mixed(head: &str) -> String {
    format!(
        r#"[{{"Status":"{head}"}},
{{"OrderNumber":"INV-1","Description":"Order number INV-1 already exists"}},
{{"OrderNumber":"INV-2","Description":"Invalid Data. Order amount 9000 is out of limits (1 to 5000)"}},
{{"Description":"Order number INV-3 created successfully","OrderAmount":"100","ConnectPayFee":"60","ConnectPayId":"00440000000003","OrderNumber":"INV-3","IsFeeApplied":"True"}},
{{"Description":"Order number INV-4 created successfully","OrderAmount":"100","ConnectPayFee":"60","ConnectPayId":"00440000000004","OrderNumber":"INV-4","IsFeeApplied":"True"}}]"#
    )
}

#[test]
fn guide_shape_element_0_01_first_duplicate_then_refused_then_good() {
    let r = decode_create_response(&guide_mixed("01")).unwrap();
    assert_eq!(r.status, CreateStatus::AlreadyExists);
    let paired = pair_items(&["INV-1", "INV-2", "INV-3", "INV-4"], &r.items);
    let st: Vec<ItemStatus<CreateStatus>> =
        paired.iter().map(|i| i.unwrap().status.clone()).collect();
    assert_eq!(
        st,
        vec![
            ItemStatus::Inferred(CreateStatus::AlreadyExists),
            // Refused: its own message decides, not element 0's 01.
            ItemStatus::Inferred(CreateStatus::InvalidData),
            ItemStatus::Inferred(CreateStatus::Created),
            ItemStatus::Inferred(CreateStatus::Created),
        ]
    );
    assert_eq!(
        paired[1].unwrap().description.as_deref(),
        Some("Invalid Data. Order amount 9000 is out of limits (1 to 5000)")
    );
    assert_eq!(
        paired[3].unwrap().connectpay_id.as_deref(),
        Some("00440000000004")
    );
}

#[test]
fn guide_shape_element_0_00_does_not_make_a_refused_item_created() {
    let r = decode_create_response(&guide_mixed("00")).unwrap();
    assert_eq!(r.status, CreateStatus::Created);
    let st: Vec<Option<CreateStatus>> = r.items.iter().map(|i| i.status.known().cloned()).collect();
    assert_eq!(
        st,
        vec![
            Some(CreateStatus::AlreadyExists),
            Some(CreateStatus::InvalidData),
            Some(CreateStatus::Created),
            Some(CreateStatus::Created),
        ]
    );
}

#[test]
fn guide_shape_items_with_nothing_to_go_on_are_unknown_whatever_element_0_says() {
    for head in ["00", "01", "03"] {
        let r = decode_create_response(&format!(
            r#"[{{"Status":"{head}"}},{{"OrderNumber":"A"}},{{"OrderNumber":"B","Description":""}},{{"OrderNumber":"C","Description":"Thank you"}},{{}}]"#
        ))
        .unwrap();
        assert!(
            r.items.iter().all(|i| i.status == ItemStatus::Unknown),
            "{head}: {:?}",
            r.items
        );
    }
    let r = decode_consumer_response(
        r#"[{"Status":"00"},{"ConsumerID":"C1"},{"ConsumerNumber":5,"Description":" "}]"#,
    )
    .unwrap();
    assert!(r.items.iter().all(|i| i.status == ItemStatus::Unknown));
}

#[test]
fn guide_shape_consumers_01_by_description() {
    let r = decode_consumer_response(
        r#"[{"Status":"01"},
            {"ConsumerID":"C1","Description":"Consumer C1 already exists"},
            {"ConsumerID":"C2","Description":"Invalid Format. Mobile '1' is not in valid format"},
            {"ConsumerID":"C3","Description":"No data available. ConsumerID C3 does not exist"},
            {"ConsumerID":"C4","Description":"Service Failed. User is not Authorized for this service"},
            {"FullConsumerCode":"0044C5","Description":"Consumer number C5 created successfully","ConsumerNumber":"C5"}]"#,
    )
    .unwrap();
    let st: Vec<Option<ConsumerStatus>> =
        r.items.iter().map(|i| i.status.known().cloned()).collect();
    assert_eq!(
        st,
        vec![
            Some(ConsumerStatus::ExistsOrInvalid),
            Some(ConsumerStatus::ExistsOrInvalid),
            Some(ConsumerStatus::NoData),
            Some(ConsumerStatus::NotAuthorised),
            Some(ConsumerStatus::Ok),
        ]
    );
}

#[test]
fn atomic_mode_lists_only_offenders_and_position_is_not_used() {
    let r = decode_create_response(
        r#"[{"Status":"03","Description":"Batch rejected, nothing created: 1 invalid"},
            {"Status":"03","Description":"Invalid mobile","OrderNumber":"C"}]"#,
    )
    .unwrap();
    let paired = pair_items(&["A", "B", "C"], &r.items);
    assert_eq!(paired[0], None);
    assert_eq!(paired[1], None);
    assert_eq!(
        paired[2].unwrap().status,
        ItemStatus::Stated(CreateStatus::InvalidData)
    );
    // Same count as sent but with foreign keys would be placed; fewer items never are.
    let r =
        decode_create_response(r#"[{"Status":"03"},{"Status":"03","Description":"x"}]"#).unwrap();
    assert_eq!(pair_items(&["A", "B"], &r.items), vec![None, None]);
}

#[test]
fn pairing_by_key_duplicates_and_case() {
    let r = decode_create_response(
        r#"[{"Status":"01"},
            {"Status":"01","OrderNumber":"A","Description":"already exist"},
            {"Status":"00","OrderNumber":"b","ConnectPayId":"2"},
            {"Status":"00","OrderNumber":"A","ConnectPayId":"1"}]"#,
    )
    .unwrap();
    // Sent: A, A (duplicate in one batch), B. Keys first (in order), case-insensitive next.
    let paired = pair_items(&["A", "A", "B"], &r.items);
    assert_eq!(
        paired[0].unwrap().status,
        ItemStatus::Stated(CreateStatus::AlreadyExists)
    );
    assert_eq!(paired[1].unwrap().connectpay_id.as_deref(), Some("1"));
    assert_eq!(paired[2].unwrap().connectpay_id.as_deref(), Some("2"));
}

// ---- Broken bodies ----------------------------------------------------------------

#[test]
fn broken_bodies_are_decode_errors() {
    let html = "<!DOCTYPE html>\n<html><head><title>Runtime Error</title></head><body><h1>Server Error in '/' Application.</h1>".repeat(5);
    for (body, reason) in [
        (html.as_str(), "HTML"),
        ("", "empty body"),
        ("  \r\n ", "empty body"),
        (
            r#"[{"Status":"00"},{"Description":"Order number H-5 cre"#,
            "truncated",
        ),
        (r#"[{"Status":"00"},"#, "truncated"),
        ("[]", "element 0"),
        (r#"[{"Description":"no status"}]"#, "no Status"),
        (r#"[{"Status":"00"}, 7]"#, "not an object"),
        ("42", "expected a JSON array"),
        ("\u{feff}Service Unavailable", "not valid JSON"),
    ] {
        let err = decode_create_response(body).unwrap_err();
        assert!(err.reason.contains(reason), "{body:?}: {err}");
        assert!(err.excerpt.chars().count() <= 161, "{}", err.excerpt);
        assert!(!err.excerpt.contains('\n'));
        for e in [
            decode_paid_orders_response(body).err(),
            decode_mark_response(body).err(),
            decode_order_status_response(body).err(),
            decode_consumer_response(body).err(),
            decode_consumer_data_response(body).err(),
        ] {
            assert!(e.is_some(), "{body:?}");
        }
    }
}

// ---- Redaction ------------------------------------------------------------------

#[test]
fn api_errors_never_show_the_password() {
    let pw = Secret::new("Pa55 w/rd&\"q");
    let secrets = [pw.clone()];
    let encoded: String = url::form_urlencoded::byte_serialize(pw.expose().as_bytes()).collect();
    // A body echoing the request, the password in every spelling and past the excerpt cut.
    let padding = "x".repeat(142); // the excerpt cut falls inside the unredacted password
    let body = format!(
        "<html>{padding} Password={} oJson=[{{\"MerchantPassword\":\"Pa55 w\\/rd&\\\"q\"}}] {encoded}</html>",
        pw.expose()
    );
    let decode = wire::decode_create_response(&body).unwrap_err();
    let errors = [
        ApiError::from_decode(Endpoint::Cmo, &body, &decode, &secrets),
        ApiError::Http {
            endpoint: Endpoint::Gos,
            status: 500,
            excerpt: body.clone(),
        }
        .redact(&secrets),
        ApiError::Status {
            endpoint: Endpoint::Gpojson,
            status: ApiStatus::Report(ReportStatus::InvalidData),
            description: format!("Username or password {} is invalid", pw.expose()),
        }
        .redact(&secrets),
        ApiError::Transport {
            endpoint: Endpoint::Moap,
            kind: TransportKind::Connect,
            message: format!(
                "error sending request for url (http://h/cpay/gos?password={encoded})"
            ),
        }
        .redact(&secrets),
        ApiError::Partial {
            endpoint: Endpoint::Mofr,
            confirmed: 1,
            failed: vec![],
            source: Box::new(ApiError::Status {
                endpoint: Endpoint::Mofr,
                status: ApiStatus::Mark(MarkStatus::InvalidData),
                description: pw.expose().to_string(),
            }),
        }
        .redact(&secrets),
    ];
    for (i, e) in errors.iter().enumerate() {
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains("Pa55"), "{text}");
            assert!(!text.contains(&encoded), "{text}");
            // The decode excerpt is cut inside the redaction mark itself.
            let mark = if i == 0 { "Password=**" } else { "***" };
            assert!(text.contains(mark), "{text}");
        }
    }
}

#[test]
fn excerpts_are_short_single_lines() {
    let e = wire::excerpt("line one\n\n   line\ttwo");
    assert_eq!(e, "line one line two");
    let long = wire::excerpt(&"é".repeat(1000));
    assert_eq!(long.chars().count(), 161);
    assert_eq!(wire::excerpt(""), "(empty body)");
}

#[test]
fn order_dates_read_back_as_timestamps() {
    // NaiveDate round-trips through the lenient timestamp reader.
    let d = NaiveDate::from_ymd_opt(2020, 3, 21).unwrap();
    assert_eq!(
        wire::parse_timestamp("21/03/2020").map(|t| t.date()),
        Some(d)
    );
}
