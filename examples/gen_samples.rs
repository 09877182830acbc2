//! Writes the sample spreadsheets in `samples/` (run: `cargo run --example gen_samples`).
//!
//! Deterministic: a fixed seed and a fixed document date, so the files are byte-for-byte
//! reproducible and can be committed. The month is November 2026: orders are issued
//! 20–27 November and fall due in December. Consumer updates use the company code
//! `0044`, the simulator's demo merchant (an assumption: change `COMPANY_CODE` if the demo
//! merchant gets another code).
//!
//! `orders-with-errors.xlsx` labels every row in its `Notes` column as `OK: …`,
//! `WARNING <Column>: …` or `ERROR <Column>: …`; tests/import_samples.rs checks that the
//! importer finds exactly that.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, Formula, Workbook, Worksheet, XlsxError,
};
use std::error::Error;
use std::path::{Path, PathBuf};

const COMPANY_CODE: &str = "0044";

const FIRST_NAMES: &[&str] = &[
    "Muhammad", "Ahmed", "Ali", "Hassan", "Usman", "Bilal", "Hamza", "Omar", "Zain", "Imran",
    "Fahad", "Saad", "Kamran", "Asad", "Tariq", "Ayesha", "Fatima", "Zainab", "Maryam", "Sana",
    "Hina", "Amna", "Sadia", "Nadia", "Rabia", "Mehwish", "Iqra", "Saima", "Farah", "Khadija",
];
const LAST_NAMES: &[&str] = &[
    "Khan", "Ahmed", "Malik", "Butt", "Chaudhry", "Sheikh", "Qureshi", "Siddiqui", "Raza",
    "Hussain", "Iqbal", "Akhtar", "Mirza", "Abbasi", "Javed", "Shah", "Baig", "Rana", "Awan",
    "Nawaz",
];
const AREAS: &[(&str, &str)] = &[
    ("Gulberg III", "Lahore"),
    ("DHA Phase 5", "Lahore"),
    ("Model Town", "Lahore"),
    ("Johar Town", "Lahore"),
    ("Clifton Block 4", "Karachi"),
    ("Gulshan-e-Iqbal", "Karachi"),
    ("PECHS Block 2", "Karachi"),
    ("North Nazimabad", "Karachi"),
    ("F-7/2", "Islamabad"),
    ("G-11/3", "Islamabad"),
    ("Bahria Town Phase 4", "Rawalpindi"),
    ("Satellite Town", "Rawalpindi"),
    ("Hayatabad Phase 3", "Peshawar"),
    ("Cantt", "Multan"),
    ("Peoples Colony", "Faisalabad"),
];
const MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "mail.pk",
];
const MOBILE_PREFIXES: &[&str] = &[
    "0300", "0301", "0310", "0312", "0321", "0333", "0345", "0302",
];

struct Person {
    name: String,
    mobile: String,
    email: String,
    address: String,
}

fn person(rng: &mut ChaCha8Rng) -> Person {
    let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
    let name = format!("{first} {last}");
    let mobile = format!(
        "{}{:07}",
        MOBILE_PREFIXES[rng.random_range(0..MOBILE_PREFIXES.len())],
        rng.random_range(0..10_000_000u32)
    );
    let domain = MAIL_DOMAINS[rng.random_range(0..MAIL_DOMAINS.len())];
    let email = format!(
        "{}.{}{}@{domain}",
        first.to_lowercase(),
        last.to_lowercase(),
        rng.random_range(1..100u32)
    );
    let (area, city) = AREAS[rng.random_range(0..AREAS.len())];
    let address = format!(
        "House {}, Street {}, {area}, {city}",
        rng.random_range(1..400u32),
        rng.random_range(1..40u32)
    );
    Person {
        name,
        mobile,
        email,
        address,
    }
}

struct SampleOrder {
    number: String,
    /// In paise.
    amount: i64,
    issue: (u16, u8, u8),
    due: (u16, u8, u8),
    person: Person,
}

fn orders(rng: &mut ChaCha8Rng, first: u32, count: u32) -> Vec<SampleOrder> {
    (first..first + count)
        .map(|n| {
            let rupees = rng.random_range(500..=75_000i64);
            let paise = if rng.random_bool(0.4) {
                0
            } else {
                rng.random_range(1..100i64)
            };
            SampleOrder {
                number: format!("INV-2026-11-{n:04}"),
                amount: rupees * 100 + paise,
                issue: (2026, 11, rng.random_range(20..=27u8)),
                due: (2026, 12, rng.random_range(1..=31u8)),
                person: person(rng),
            }
        })
        .collect()
}

/// A workbook whose metadata does not change between runs (the creation date is
/// otherwise "now", which would make every run's files differ).
fn fixed_workbook() -> Result<Workbook, XlsxError> {
    let mut wb = Workbook::new();
    let props = DocProperties::new()
        .set_author("paypro-console gen_samples")
        .set_creation_datetime(&ExcelDateTime::from_ymd(2026, 11, 1)?);
    wb.set_properties(&props);
    Ok(wb)
}

fn header(ws: &mut Worksheet, headers: &[&str]) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
        ws.set_column_width(c as u16, if h.contains("Address") { 44 } else { 18 })?;
    }
    Ok(())
}

const ORDER_HEADERS: &[&str] = &[
    "OrderNumber",
    "OrderAmount",
    "OrderDueDate",
    "IssueDate",
    "CustomerName",
    "CustomerMobile",
    "CustomerEmail",
    "CustomerAddress",
];

fn money_format() -> Format {
    Format::new().set_num_format("#,##0.00")
}

fn date_format() -> Format {
    Format::new().set_num_format("dd/mm/yyyy")
}

fn write_orders_xlsx(path: &Path, list: &[SampleOrder]) -> Result<(), Box<dyn Error>> {
    let mut wb = fixed_workbook()?;
    let ws = wb.add_worksheet().set_name("Orders")?;
    header(ws, ORDER_HEADERS)?;
    let (money, date) = (money_format(), date_format());
    for (i, o) in list.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &o.number)?;
        ws.write_number_with_format(r, 1, o.amount as f64 / 100.0, &money)?;
        ws.write_datetime_with_format(
            r,
            2,
            &ExcelDateTime::from_ymd(o.due.0, o.due.1, o.due.2)?,
            &date,
        )?;
        ws.write_datetime_with_format(
            r,
            3,
            &ExcelDateTime::from_ymd(o.issue.0, o.issue.1, o.issue.2)?,
            &date,
        )?;
        ws.write_string(r, 4, &o.person.name)?;
        ws.write_string(r, 5, &o.person.mobile)?;
        ws.write_string(r, 6, &o.person.email)?;
        ws.write_string(r, 7, &o.person.address)?;
    }
    wb.save(path)?;
    Ok(())
}

/// One cell of the hand-made error sample.
enum V {
    S(&'static str),
    N(f64),
    D(u16, u8, u8),
    Dt(u16, u8, u8, u16, u8),
    Err(&'static str),
    Blank,
}

fn write_orders_with_errors(path: &Path) -> Result<(), Box<dyn Error>> {
    use V::*;
    // Columns: OrderNumber, OrderAmount, OrderDueDate, IssueDate, OrderType, CustomerName,
    // CustomerMobile, CustomerEmail, CustomerAddress, Notes.
    let ok = |n: &'static str| -> Vec<V> {
        vec![
            S(n),
            N(2500.0),
            D(2026, 12, 10),
            D(2026, 11, 24),
            S("Service"),
            S("Ayesha Malik"),
            S("03001234567"),
            S("ayesha.malik@gmail.com"),
            S("House 12, Street 4, Gulberg III, Lahore"),
        ]
    };
    let set = |mut row: Vec<V>, col: usize, v: V| {
        row[col] = v;
        row
    };
    let rows: Vec<(Vec<V>, &str)> = vec![
        (ok("ERR-0001"), "OK: a clean row with typed cells"),
        (
            set(ok("ERR-0002"), 6, N(3001234567.0)),
            "WARNING CustomerMobile: Excel dropped the leading zero of the number 3001234567",
        ),
        (
            set(ok("ERR-0003"), 6, S("+92 300 1234567")),
            "WARNING CustomerMobile: +92 and spaces, normalised to 03001234567",
        ),
        (
            set(ok("ERR-0004"), 6, S("0300-1234567")),
            "WARNING CustomerMobile: dash in the number, normalised",
        ),
        (
            set(set(ok("ERR-0005"), 2, S("10/12/2026")), 1, S("4,400.00")),
            "OK: due date as text dd/MM/yyyy (day-first, as row ERR-0032 proves) and amount as text with a thousands comma",
        ),
        (
            set(set(ok("ERR-0006"), 2, S("2026-12-10")), 3, N(46350.0)),
            "OK: due date as text yyyy-MM-dd, issue date as a plain serial number",
        ),
        (
            set(ok("ERR-0007"), 2, S("10-Dec-2026")),
            "OK: due date as text d-MMM-yyyy",
        ),
        (
            set(ok("ERR-0008"), 2, Dt(2026, 12, 10, 0, 0)),
            "OK: due date cell with a midnight time",
        ),
        (
            set(ok("ERR-0009"), 1, N(4400.099999999999)),
            "WARNING OrderAmount: a calculated amount with binary float noise, read as 4400.10 as Excel shows it",
        ),
        (
            set(ok("ERR-0010"), 4, Blank),
            "OK: empty OrderType means Service",
        ),
        (set(ok("ERR-0011"), 7, Blank), "OK: no e-mail given"),
        (
            set(ok("ERR-0012"), 1, N(10.005)),
            "ERROR OrderAmount: a real third decimal (10.005)",
        ),
        (set(ok("ERR-0013"), 1, N(0.0)), "ERROR OrderAmount: zero"),
        (
            set(ok("ERR-0014"), 1, N(-500.0)),
            "ERROR OrderAmount: negative",
        ),
        (
            set(ok("ERR-0015"), 1, S("two thousand")),
            "ERROR OrderAmount: words instead of a number",
        ),
        (
            set(ok("ERR-0016"), 1, Err("#N/A")),
            "ERROR OrderAmount: #N/A error cell from a failed lookup",
        ),
        (
            set(ok("ERR-0017"), 2, S("31/02/2026")),
            "ERROR OrderDueDate: 31 February does not exist",
        ),
        (
            set(ok("ERR-0018"), 2, Dt(2026, 12, 10, 14, 30)),
            "ERROR OrderDueDate: a time of day 14:30",
        ),
        (
            set(ok("ERR-0019"), 2, Err("#VALUE!")),
            "ERROR OrderDueDate: #VALUE! error cell",
        ),
        (
            set(ok("ERR-0020"), 2, D(2026, 11, 1)),
            "ERROR OrderDueDate: due before the issue date",
        ),
        (
            set(ok("ERR-0021"), 3, S("next Monday")),
            "ERROR IssueDate: text that is not a date",
        ),
        (
            set(ok("ERR-0022"), 4, S("Product")),
            "ERROR OrderType: only Service is accepted",
        ),
        (set(ok("ERR-0023"), 5, Blank), "ERROR CustomerName: empty"),
        (
            set(ok("ERR-0024"), 5, S("Muhammad Abdullah Khan Qureshi Sahib")),
            "ERROR CustomerName: 36 characters, at most 32",
        ),
        (
            set(ok("ERR-0025"), 6, S("12345")),
            "ERROR CustomerMobile: too short to be a mobile number",
        ),
        (
            set(ok("ERR-0026"), 7, S("ali@@x.pk")),
            "ERROR CustomerEmail: two @",
        ),
        (
            set(ok("ERR-0027"), 7, S("muhammad.abdullah.qureshi@gmail.com")),
            "ERROR CustomerEmail: 35 characters, at most 32",
        ),
        (
            set(
                ok("ERR-0028"),
                8,
                S("House 12, Street 4, Block C, Gulshan-e-Iqbal Town, near Civic Centre, Karachi"),
            ),
            "ERROR CustomerAddress: longer than 64 characters",
        ),
        (
            set(ok("ERR-0029"), 8, S("House 12\nStreet 4, Lahore")),
            "WARNING CustomerAddress: a line break inside the cell",
        ),
        (
            ok("ERR-0001"),
            "ERROR OrderNumber: repeats the order number of row 2",
        ),
        (set(ok("ERR-0030"), 0, Blank), "ERROR OrderNumber: empty"),
        (
            set(ok("ERR-0031"), 0, S("ERR-0005")),
            "ERROR OrderNumber: repeats the order number of row 6",
        ),
        (
            set(ok("ERR-0032"), 2, S("20/12/2026")),
            "OK: due date as text that can only be day-first, so 10/12/2026 above is 10 December",
        ),
        (
            set(ok("ERR-0033"), 7, S("mailto:ali@example.pk")),
            "ERROR CustomerEmail: a mailto: link instead of an address",
        ),
        (
            set(ok("ERR-0034"), 5, S("\u{200B}")),
            "ERROR CustomerName: only an invisible zero-width space",
        ),
        (
            set(ok("ERR-0035"), 5, S("Ali\u{00AD}Khan")),
            "WARNING CustomerName: an invisible soft hyphen, removed",
        ),
        (
            set(ok("ERR-0036"), 0, S("ERR-0036\u{200B}")),
            "ERROR OrderNumber: an invisible zero-width space in the key",
        ),
    ];
    let mut wb = fixed_workbook()?;
    let ws = wb.add_worksheet().set_name("November")?;
    let mut headers = ORDER_HEADERS.to_vec();
    headers.insert(4, "OrderType");
    headers.push("Notes");
    header(ws, &headers)?;
    ws.set_column_width(9, 80)?;
    let (money, date) = (money_format(), date_format());
    let datetime = Format::new().set_num_format("dd/mm/yyyy hh:mm");
    let general = Format::new();
    let mut r = 1u32;
    for (i, (cells, note)) in rows.into_iter().enumerate() {
        // A blank row in the middle: skipped, not counted.
        if i == 10 {
            r += 1;
        }
        for (c, v) in cells.into_iter().enumerate() {
            let c = c as u16;
            match v {
                S(s) => {
                    ws.write_string(r, c, s)?;
                }
                N(n) => {
                    ws.write_number_with_format(r, c, n, if c == 1 { &money } else { &general })?;
                }
                D(y, m, d) => {
                    ws.write_datetime_with_format(r, c, &ExcelDateTime::from_ymd(y, m, d)?, &date)?;
                }
                Dt(y, m, d, hh, mm) => {
                    let dt = ExcelDateTime::from_ymd(y, m, d)?.and_hms(hh, mm, 0)?;
                    ws.write_datetime_with_format(r, c, &dt, &datetime)?;
                }
                Err(e) => {
                    ws.write_formula(r, c, Formula::new("=NA()").set_result(e))?;
                }
                Blank => {}
            }
        }
        ws.write_string(r, 9, note)?;
        r += 1;
    }
    wb.save(path)?;
    Ok(())
}

fn write_consumers(
    path: &Path,
    updates: &Path,
    rng: &mut ChaCha8Rng,
) -> Result<(), Box<dyn Error>> {
    let headers = ["ConsumerID", "Name", "Mobile", "Email", "Address"];
    let people: Vec<(String, Person)> = (0..60)
        .map(|i| (format!("{}", 123_456_700 + i), person(rng)))
        .collect();
    let mut wb = fixed_workbook()?;
    let ws = wb.add_worksheet().set_name("Consumers")?;
    header(ws, &headers)?;
    for (i, (id, p)) in people.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, id)?;
        ws.write_string(r, 1, &p.name)?;
        ws.write_string(r, 2, &p.mobile)?;
        ws.write_string(r, 3, &p.email)?;
        ws.write_string(r, 4, &p.address)?;
    }
    wb.save(path)?;

    // Updates: full consumer codes of the first 20 consumers, each changing one or two
    // fields; empty cells leave a field unchanged.
    let mut wb = fixed_workbook()?;
    let ws = wb.add_worksheet().set_name("Updates")?;
    header(ws, &headers)?;
    for (i, (id, _)) in people.iter().take(20).enumerate() {
        let r = i as u32 + 1;
        let fresh = person(rng);
        ws.write_string(r, 0, format!("{COMPANY_CODE}{id}"))?;
        match i % 4 {
            0 => {
                ws.write_string(r, 2, &fresh.mobile)?;
            }
            1 => {
                ws.write_string(r, 3, &fresh.email)?;
            }
            2 => {
                ws.write_string(r, 4, &fresh.address)?;
            }
            _ => {
                ws.write_string(r, 1, &fresh.name)?;
                ws.write_string(r, 2, &fresh.mobile)?;
            }
        }
    }
    wb.save(updates)?;
    Ok(())
}

fn write_mark_and_refunds(
    mark: &Path,
    refunds: &Path,
    list: &[SampleOrder],
    rng: &mut ChaCha8Rng,
) -> Result<(), Box<dyn Error>> {
    let mut wb = fixed_workbook()?;
    let ws = wb.add_worksheet().set_name("Paid")?;
    header(ws, &["OrderNumber"])?;
    for (i, o) in list.iter().take(30).enumerate() {
        ws.write_string(i as u32 + 1, 0, &o.number)?;
    }
    wb.save(mark)?;

    // Refunds of some of the orders marked paid: the full amount or a part of it.
    let mut wb = fixed_workbook()?;
    let ws = wb.add_worksheet().set_name("Refunds")?;
    header(ws, &["OrderNumber", "Amount"])?;
    let money = money_format();
    for (i, o) in list.iter().take(30).step_by(3).enumerate() {
        let amount = if rng.random_bool(0.5) {
            o.amount
        } else {
            (o.amount / 2 / 100) * 100
        };
        ws.write_string(i as u32 + 1, 0, &o.number)?;
        ws.write_number_with_format(i as u32 + 1, 1, amount as f64 / 100.0, &money)?;
    }
    wb.save(refunds)?;
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// As Excel's "CSV UTF-8" writes it: BOM, commas, CRLF, dates as dd/MM/yyyy text.
fn write_orders_csv(path: &Path, list: &[SampleOrder]) -> Result<(), Box<dyn Error>> {
    let mut out = String::from("\u{feff}");
    out.push_str(&ORDER_HEADERS.join(","));
    out.push_str("\r\n");
    for o in list {
        let fields = [
            o.number.clone(),
            format!("{}.{:02}", o.amount / 100, o.amount % 100),
            format!("{:02}/{:02}/{}", o.due.2, o.due.1, o.due.0),
            format!("{:02}/{:02}/{}", o.issue.2, o.issue.1, o.issue.0),
            o.person.name.clone(),
            o.person.mobile.clone(),
            o.person.email.clone(),
            o.person.address.clone(),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    std::fs::write(path, out)?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("samples"));
    std::fs::create_dir_all(&dir)?;
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_124);
    let main_orders = orders(&mut rng, 1, 200);
    write_orders_xlsx(&dir.join("orders.xlsx"), &main_orders)?;
    write_orders_with_errors(&dir.join("orders-with-errors.xlsx"))?;
    write_consumers(
        &dir.join("consumers.xlsx"),
        &dir.join("consumer-updates.xlsx"),
        &mut rng,
    )?;
    write_mark_and_refunds(
        &dir.join("mark-paid.xlsx"),
        &dir.join("refunds.xlsx"),
        &main_orders,
        &mut rng,
    )?;
    let csv_orders = orders(&mut rng, 201, 25);
    write_orders_csv(&dir.join("orders.csv"), &csv_orders)?;
    println!("samples written to {}", dir.display());
    Ok(())
}
