#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every screen of the console drawn on ratatui's `TestBackend` at 80×24 and 160×48:
//! text snapshots (insta, symbols only) of each screen and state — Home with a resume
//! banner, Open file, a preview with invalid rows, Confirm, a progress screen mid-run,
//! a paused run, Runs, a run's rows, the help overlay, "terminal too small" — and cell
//! style assertions with and without `NO_COLOR` (an invalid cell carries its glyph and
//! REVERSED in both; the mono theme draws no colour at all).
//!
//! The data is built here (no temp paths, no clock: times are fixed offsets from one
//! `Instant`), so the snapshots are stable.

use chrono::{NaiveDate, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use paypro_console::domain::{Issue, Kind, Money, Order};
use paypro_console::engine::{Event, ItemRef, ItemUpdate};
use paypro_console::journal::{
    BatchId, ItemId, ItemState, LockHolder, Run, RunId, RunState, RunSummary, StateCounts,
};
use paypro_console::sheet::{Column, Imported, ImportedRow, Item};
use paypro_console::tui::app::{App, ConfirmInfo, Entry, Info, Modal, Msg, Screen};
use paypro_console::tui::data::preview::PreviewData;
use paypro_console::tui::live::LiveRun;
use paypro_console::tui::screens::runs::{ItemLine, ItemsReply, RunItems};
use paypro_console::tui::screens::{confirm, preview, progress};
use paypro_console::tui::theme::{INVALID_GLYPH, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn info(demo: bool) -> Info {
    Info {
        demo,
        merchant: Some("acme".into()),
        base_url: Some(if demo {
            "http://127.0.0.1:40000".into()
        } else {
            "https://demoapi.paypro.com.pk".into()
        }),
        config_problem: None,
        journal: PathBuf::from("/home/clerk/.local/share/paypro-console/journal.sqlite3"),
        start_dir: PathBuf::from("/home/clerk/invoices"),
    }
}

fn mono() -> Theme {
    Theme::choose(
        paypro_console::tui::theme::ColorChoice::Auto,
        Some(OsStr::new("1")),
    )
}

fn color() -> Theme {
    Theme::choose(paypro_console::tui::theme::ColorChoice::Auto, None)
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(k: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(k, KeyModifiers::NONE))
}

fn draw(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.render(f)).unwrap();
    t
}

fn text(t: &Terminal<TestBackend>) -> String {
    t.backend().to_string()
}

/// Snapshots one app at both sizes.
fn snap(name: &str, mut make: impl FnMut() -> App) {
    for (w, h) in SIZES {
        let mut app = make();
        let t = draw(&mut app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

fn date(d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, 9, 30, 0).unwrap()
}

fn summary(id: i64, state: RunState, counts: StateCounts, file: &str) -> RunSummary {
    RunSummary {
        run: Run {
            id: RunId(id),
            kind: "orders".into(),
            source_file: format!("/home/clerk/invoices/{file}"),
            source_sha256: String::new(),
            sheet: Some("Orders".into()),
            merchant_id: "acme".into(),
            base_url: "https://demoapi.paypro.com.pk".into(),
            state,
            created_at: date(u32::try_from(id).unwrap()),
            finished_at: None,
            lock: None,
            started_by: None,
            note: None,
        },
        counts,
    }
}

fn runs() -> Vec<RunSummary> {
    vec![
        summary(
            3,
            RunState::Interrupted,
            StateCounts {
                created: 1200,
                pending: 734,
                in_flight: 50,
                invalid: 16,
                ..StateCounts::default()
            },
            "november-orders.xlsx",
        ),
        summary(
            2,
            RunState::Completed,
            StateCounts {
                created: 480,
                exists_id_unknown: 2,
                rejected: 3,
                failed: 1,
                ..StateCounts::default()
            },
            "october-orders.xlsx",
        ),
        summary(
            1,
            RunState::Completed,
            StateCounts {
                created: 200,
                ..StateCounts::default()
            },
            "orders.xlsx",
        ),
    ]
}

fn home_app(theme: Theme) -> App {
    let mut app = App::new(info(false), theme, Instant::now());
    app.update(Msg::Runs(Ok(runs()), vec![RunId(3)]));
    app
}

fn order(n: u32, amount: &str) -> Order {
    Order {
        order_number: format!("INV-{n:05}"),
        amount: amount.parse::<Money>().unwrap(),
        due_date: NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
        issue_date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        customer_name: format!("Customer {n}"),
        customer_mobile: format!("0300{n:07}"),
        customer_email: format!("c{n}@example.pk"),
        customer_address: String::new(),
        expire_after_seconds: None,
        amount_within_due_date: None,
        amount_after_due_date: None,
    }
}

const HEADERS: [(&str, &str); 6] = [
    ("OrderNumber", "OrderNumber"),
    ("OrderAmount", "Amount"),
    ("OrderDueDate", "Due date"),
    ("IssueDate", "Issue date"),
    ("CustomerName", "Customer"),
    ("CustomerMobile", "Mobile"),
];

/// A sheet of `n` orders; every 7th row has a bad amount, every 11th a warning.
fn imported(n: u32) -> Imported {
    let columns = HEADERS
        .iter()
        .enumerate()
        .map(|(i, (field, header))| Column {
            index: i,
            letter: ((b'A' + u8::try_from(i).unwrap()) as char).to_string(),
            header: (*header).to_string(),
            field: Some(field),
        })
        .collect();
    let rows = (1..=n)
        .map(|i| {
            let row = i + 1;
            let key = format!("INV-{i:05}");
            if i % 7 == 0 {
                ImportedRow {
                    row,
                    key: key.clone(),
                    item: None,
                    issues: vec![Issue::error(
                        row,
                        "OrderAmount",
                        "\"12,5OO\" is not an amount (expected a number more than 0, e.g. 1500.50)",
                    )],
                    raw: vec![
                        key,
                        "12,5OO".into(),
                        "10/12/2026".into(),
                        "24/11/2026".into(),
                        format!("Customer {i}"),
                        format!("0300{i:07}"),
                    ],
                }
            } else {
                let issues = if i % 11 == 0 {
                    vec![Issue::warning(
                        row,
                        "CustomerMobile",
                        "+92 300 was written as 0300 (the form PayPro expects)",
                    )]
                } else {
                    Vec::new()
                };
                ImportedRow {
                    row,
                    key,
                    item: Some(Item::Order(order(i, &format!("{}.50", 1000 + i)))),
                    issues,
                    raw: Vec::new(),
                }
            }
        })
        .collect();
    Imported {
        file: PathBuf::from("/home/clerk/invoices/november-orders.xlsx"),
        sheet: "Orders".into(),
        kind: Kind::Orders,
        kind_guessed: false,
        header_row: 1,
        columns,
        unknown_columns: Vec::new(),
        rows,
        issues: Vec::new(),
    }
}

fn preview_app(theme: Theme, n: u32) -> App {
    let mut app = home_app(theme);
    app.push(Screen::Preview(Box::new(preview::Preview::ready(
        PreviewData::new(imported(n)),
    ))));
    app
}

#[test]
fn home_with_runs_and_a_resume_banner() {
    snap("home", || home_app(mono()));
    let mut app = home_app(mono());
    let screen = text(&draw(&mut app, 80, 24));
    assert!(
        screen.contains("run 3 (november-orders.xlsx) interrupted, 784 rows to send: R resumes it"),
        "{screen}"
    );
    assert!(screen.contains("? help"), "{screen}");
}

#[test]
fn home_in_the_demo_and_with_a_run_of_another_process() {
    snap("home_demo", || {
        let mut app = App::new(info(true), mono(), Instant::now());
        let mut rs = runs();
        rs[0].run.state = RunState::Running;
        rs[0].run.lock = Some(LockHolder {
            pid: 4_000_000,
            // A process of this host: one of another host is shown as such.
            host: paypro_console::journal::this_host(),
            user: Some("clerk".into()),
            start_ticks: None,
            since: date(3),
        });
        app.update(Msg::Runs(Ok(rs), Vec::new()));
        app
    });
}

#[test]
fn open_file_lists_folders_and_spreadsheets_and_filters_as_typed() {
    let make = || {
        let mut app = home_app(mono());
        app.update(key('o'));
        app.update(Msg::Dir {
            path: PathBuf::from("/home/clerk/invoices"),
            result: Ok(vec![
                Entry {
                    name: "archive".into(),
                    dir: true,
                    size: 0,
                },
                Entry {
                    name: "november-orders.xlsx".into(),
                    dir: false,
                    size: 2_400_000,
                },
                Entry {
                    name: "october-orders.xlsx".into(),
                    dir: false,
                    size: 1_900_000,
                },
                Entry {
                    name: "consumers.csv".into(),
                    dir: false,
                    size: 5_000,
                },
            ]),
        });
        app
    };
    snap("open_file", make);
    snap("open_file_filtered", || {
        let mut app = make();
        for c in "nov".chars() {
            app.update(key(c));
        }
        app
    });
}

#[test]
fn preview_with_invalid_rows_marks_cells_with_a_glyph_and_reversed() {
    snap("preview", || preview_app(mono(), 40));
    snap("preview_invalid_only", || {
        let mut app = preview_app(mono(), 40);
        app.update(key('e'));
        app.update(key('n'));
        app
    });
    for theme in [mono(), color()] {
        let mut app = preview_app(theme, 40);
        app.update(key('n')); // row 8 (the 7th data row) is the first invalid one
        let t = draw(&mut app, 80, 24);
        let buf = t.backend().buffer();
        let screen = text(&t);
        assert!(
            screen.contains("Row 8 · INV-00007 ! invalid: not sent"),
            "{screen}"
        );
        // The amount cell of the selected invalid row: glyph and REVERSED, in both themes.
        let (x, y) = find(buf, &format!("{INVALID_GLYPH}12,5OO")).unwrap();
        let cell = &buf[(x, y)];
        assert!(cell.modifier.contains(Modifier::REVERSED), "{cell:?}");
        if theme.mono {
            assert_eq!(cell.fg, Color::Reset);
        }
    }
}

#[test]
fn preview_at_row_99_990_of_100_000() {
    snap("preview_100k", || {
        let mut app = preview_app(mono(), 100_000);
        app.update(code(KeyCode::End));
        for _ in 0..10 {
            app.update(code(KeyCode::Up));
        }
        app
    });
}

/// While a long file loads, the screen says how far the importer has read (the
/// counter it publishes), and keys are still answered.
#[test]
fn a_loading_file_shows_the_row_reached() {
    let mut app = home_app(mono());
    let screen = preview::Preview::open("/tmp/big.xlsx".into(), None, None, 7);
    let paypro_console::tui::app::Effect::Load { rows_read, .. } = screen.load_effect() else {
        panic!("a preview starts by loading its file");
    };
    app.push(Screen::Preview(Box::new(screen)));
    let before = text(&draw(&mut app, 80, 24));
    assert!(before.contains("Reading and checking big.xlsx"), "{before}");
    assert!(before.contains("big.xlsx…  0.0 s"), "no row yet: {before}");
    rows_read
        .0
        .store(45_000, std::sync::atomic::Ordering::Relaxed);
    let during = text(&draw(&mut app, 80, 24));
    assert!(during.contains("row 45,000"), "{during}");
    app.update(key('?'));
    let help = text(&draw(&mut app, 80, 24));
    assert!(help.contains("help") || help.contains("Help"), "{help}");
}

#[test]
fn the_kind_choice_is_preselected_from_the_headers() {
    snap("preview_kind_choice", || {
        let mut app = preview_app(mono(), 40);
        app.update(key('k'));
        app
    });
}

fn confirm_info() -> ConfirmInfo {
    ConfirmInfo {
        file: PathBuf::from("/home/clerk/invoices/november-orders.xlsx"),
        sheet: "Orders".into(),
        kind: Kind::Orders,
        rows: 2000,
        valid: 1984,
        invalid: 16,
        to_send: 1982,
        skipped: vec![
            (
                5,
                "INV-00004".into(),
                "created in run 2, row 5, ConnectPayId 100200300".into(),
            ),
            (
                9,
                "INV-00008".into(),
                "created in run 2, row 9, ConnectPayId 100200301".into(),
            ),
        ],
        refused: Vec::new(),
        total: Some("2,184,402.50".into()),
        merchant: "acme".into(),
        base_url: "https://demoapi.paypro.com.pk".into(),
    }
}

#[test]
fn confirm_says_exactly_what_y_will_do() {
    snap("confirm", || {
        let mut app = home_app(mono());
        app.push(Screen::Confirm(confirm::Confirm::new(confirm_info(), None)));
        app
    });
}

fn refs(batch: u32) -> Vec<ItemRef> {
    (0..50)
        .map(|i| {
            let n = (batch - 1) * 50 + i + 1;
            ItemRef {
                id: ItemId(i64::from(n)),
                row: n + 1,
                key: format!("INV-{n:05}"),
            }
        })
        .collect()
}

fn updates(batch: u32, state: ItemState, message: Option<&str>) -> Vec<ItemUpdate> {
    refs(batch)
        .into_iter()
        .map(|r| ItemUpdate {
            id: r.id,
            row: r.row,
            key: r.key,
            state,
            message: message.map(str::to_string),
            connectpay_id: (state == ItemState::Created).then(|| format!("1002{:05}", r.row)),
        })
        .collect()
}

/// A run 37.5% through: 750 of 2,000 created, 2 requests on the wire, one retry.
fn mid_run(t0: Instant) -> LiveRun {
    let mut live = LiveRun::new(t0);
    live.apply(
        &Event::RunStarted {
            run: RunId(4),
            kind: Kind::Orders,
            total: 2000,
            to_send: 2000,
            settled: 0,
            batch_size: 50,
            concurrency: 4,
        },
        t0,
    );
    for b in 1..=18u32 {
        let at = t0 + Duration::from_millis(500 * u64::from(b));
        live.apply(
            &Event::BatchSent {
                batch: BatchId(i64::from(b)),
                items: refs(b),
            },
            at,
        );
        if b <= 16 {
            let retry = b == 3;
            let (state, message, outcome) = if retry {
                (
                    ItemState::Pending,
                    Some("cmo: HTTP 500: Internal Server Error"),
                    "HTTP 500",
                )
            } else {
                (ItemState::Created, None, "ok")
            };
            live.apply(
                &Event::BatchDone {
                    batch: BatchId(i64::from(b)),
                    items: updates(b, state, message),
                    outcome: outcome.into(),
                    elapsed: Duration::from_millis(180),
                },
                at,
            );
            if retry {
                live.apply(
                    &Event::RetryScheduled {
                        items: 50,
                        attempt: 1,
                        delay: Duration::from_millis(250),
                        reason: "cmo: HTTP 500: Internal Server Error".into(),
                    },
                    at,
                );
            }
        }
        live.tick(at);
    }
    live
}

fn progress_app(paused: bool) -> App {
    let t0 = Instant::now();
    let mut app = home_app(mono());
    let mut live = mid_run(t0);
    if paused {
        let at = t0 + Duration::from_secs(9);
        live.apply(&Event::Pausing { on_the_wire: 2 }, at);
        for b in 17..=18u32 {
            live.apply(
                &Event::BatchDone {
                    batch: BatchId(i64::from(b)),
                    items: updates(b, ItemState::Created, None),
                    outcome: "ok".into(),
                    elapsed: Duration::from_millis(180),
                },
                at,
            );
        }
        live.apply(&Event::Paused, at);
    }
    app.live = Some(live);
    app.now = t0 + Duration::from_secs(10);
    app.push(Screen::Progress(progress::Progress));
    app
}

#[test]
fn progress_mid_run_and_paused() {
    snap("progress", || progress_app(false));
    snap("progress_paused", || progress_app(true));
    let mut app = progress_app(false);
    let screen = text(&draw(&mut app, 80, 24));
    assert!(screen.contains("750 created"), "{screen}");
    assert!(screen.contains("2 in flight"), "{screen}");
    assert!(screen.contains("ETA"), "{screen}");
    let mut app = progress_app(true);
    let screen = text(&draw(&mut app, 80, 24));
    assert!(screen.contains("PAUSED"), "{screen}");
}

#[test]
fn cancel_asks_first() {
    snap("progress_cancel_question", || {
        let mut app = progress_app(false);
        app.update(key('c'));
        assert!(matches!(app.modal, Some(Modal::Ask { .. })));
        app
    });
}

#[test]
fn help_overlay_is_generated_from_the_key_map() {
    snap("help_preview", || {
        let mut app = preview_app(mono(), 40);
        app.update(key('?'));
        app
    });
    snap("help_home", || {
        let mut app = home_app(mono());
        app.update(key('?'));
        app
    });
}

fn item(row: u32, state: ItemState, message: &str) -> ItemLine {
    ItemLine {
        id: ItemId(i64::from(row)),
        row,
        key: format!("INV-{:05}", row - 1),
        state,
        connectpay_id: (state == ItemState::Created).then(|| format!("1002{row:05}")),
        message: message.into(),
        attempts: u32::from(state != ItemState::Invalid),
    }
}

#[test]
fn runs_and_a_runs_rows() {
    snap("runs", || {
        let mut app = home_app(mono());
        app.update(key('r'));
        app
    });
    snap("run_items", || {
        let mut app = home_app(mono());
        app.update(key('r'));
        app.update(code(KeyCode::Down));
        app.update(code(KeyCode::Enter));
        let query = match app.drain_effects().into_iter().find_map(|e| match e {
            paypro_console::tui::app::Effect::LoadItems(q) => Some(q),
            _ => None,
        }) {
            Some(q) => q,
            None => panic!("no items query"),
        };
        assert_eq!(query.run, RunId(2));
        app.update(Msg::Items(ItemsReply {
            query,
            result: Ok(vec![
                item(2, ItemState::Created, ""),
                item(3, ItemState::Rejected, "03: Order already paid"),
                item(4, ItemState::Failed, "cmo: HTTP 500: Internal Server Error"),
                item(5, ItemState::ExistsIdUnknown, "01: Order already exists"),
            ]),
        }));
        let seq = match app.stack.last() {
            Some(Screen::RunItems(r)) => r.detail_seq,
            _ => panic!("not on the run's rows"),
        };
        app.update(Msg::Attempts {
            seq,
            result: Ok(vec![
                "09:30:01 cmo batch 1 (1 of 50): HTTP 200, ok → created · status 00".into(),
            ]),
        });
        app
    });
    let _ = RunItems::new(RunId(1));
}

#[test]
fn too_small_a_terminal_says_so() {
    let mut app = home_app(mono());
    let screen = text(&draw(&mut app, 79, 24));
    assert!(screen.contains("terminal too small"), "{screen}");
    assert!(
        screen.contains("80×24 needed, this one is 79×24"),
        "{screen}"
    );
}

#[test]
fn no_color_draws_no_colour_anywhere() {
    for make in [home_app as fn(Theme) -> App, |t| preview_app(t, 40)] {
        let mut app = make(mono());
        let t = draw(&mut app, 160, 48);
        for cell in t.backend().buffer().content() {
            assert_eq!(cell.fg, Color::Reset, "{cell:?}");
            assert_eq!(cell.bg, Color::Reset, "{cell:?}");
        }
        // The coloured theme does use colour (so the check above can fail).
        let mut app = make(color());
        let t = draw(&mut app, 160, 48);
        assert!(
            t.backend()
                .buffer()
                .content()
                .iter()
                .any(|c| c.fg != Color::Reset || c.bg != Color::Reset)
        );
    }
}

/// Where `needle` starts in the buffer.
fn find(buf: &ratatui::buffer::Buffer, needle: &str) -> Option<(u16, u16)> {
    let area = buf.area;
    for y in 0..area.height {
        let line: String = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count();
            return Some((u16::try_from(x).unwrap(), y));
        }
    }
    None
}

/// What needs a clerk's attention (issue 11), on Home and in a run's detail on Runs:
/// an outage that interrupted a run, a refused password, another host's lock (with
/// how to clear it), who started a run.
#[test]
fn home_and_runs_say_what_needs_attention_and_who_started_a_run() {
    let mut rs = runs();
    // Run 3: interrupted by an outage, started by a clerk.
    rs[0].run.note = Some("server unreachable since 14:05".into());
    rs[0].run.started_by = Some("ana@office-pc".into());
    // Run 2: stopped by a refused password, rows left.
    rs[1].run.state = RunState::StoppedAuth;
    rs[1].counts.pending = 40;
    // Run 1: held by a process of a host that no longer exists.
    rs[2].run.state = RunState::Running;
    rs[2].counts.pending = 10;
    rs[2].run.lock = Some(LockHolder {
        pid: 4242,
        host: "old-container-7f3a".into(),
        user: Some("clerk".into()),
        start_ticks: None,
        since: date(1),
    });
    let make = || {
        let mut app = App::new(info(false), mono(), Instant::now());
        app.update(Msg::Runs(Ok(rs.clone()), vec![RunId(3)]));
        app
    };
    let mut app = make();
    let home = text(&draw(&mut app, 160, 48));
    assert!(
        home.contains("run 3 (november-orders.xlsx) interrupted (server unreachable since 14:05)"),
        "{home}"
    );
    assert!(
        home.contains(
            "run 2 (october-orders.xlsx) stopped: PayPro refused the credentials; fix the password"
        ),
        "{home}"
    );
    assert!(
        home.contains("run 1 is held by pid 4242 on host old-container-7f3a (another host)"),
        "{home}"
    );
    assert!(home.contains("paypro-console unlock 1"), "{home}");
    assert!(
        !home.contains("being sent by another process"),
        "another host's lock is not shown as a live run: {home}"
    );
    // At 80 columns every banner still starts its line.
    let narrow = text(&draw(&mut make(), 80, 24));
    assert!(narrow.contains("run 1 is held by pid 4242"), "{narrow}");

    // Runs: the selected run's detail says who started it and why it stopped.
    let mut app = make();
    app.update(key('r'));
    let runs_screen = text(&draw(&mut app, 160, 48));
    assert!(
        runs_screen.contains("started by ana@office-pc 2026-11-03 09:30"),
        "{runs_screen}"
    );
    assert!(
        runs_screen.contains("stopped: server unreachable since 14:05"),
        "{runs_screen}"
    );
    app.update(code(KeyCode::Down));
    let second = text(&draw(&mut app, 160, 48));
    assert!(
        second.contains("PayPro refused the credentials"),
        "{second}"
    );
    // R asks for the right password (masked) and resumes the run with it.
    app.drain_effects();
    app.update(key('R'));
    let asked = text(&draw(&mut app, 160, 48));
    assert!(
        asked.contains("PayPro refused the password of merchant acme for run 2"),
        "{asked}"
    );
    for c in "n3w-secret".chars() {
        app.update(key(c));
    }
    let typed = text(&draw(&mut app, 160, 48));
    assert!(
        !typed.contains("n3w-secret"),
        "the password is never shown: {typed}"
    );
    app.update(code(KeyCode::Enter));
    let effects = app.drain_effects();
    assert!(
        matches!(
            effects.as_slice(),
            [
                paypro_console::tui::app::Effect::SetPassword(_),
                paypro_console::tui::app::Effect::Resume(RunId(2))
            ]
        ),
        "{effects:?}"
    );
    let progress = text(&draw(&mut app, 160, 48));
    assert!(progress.contains("Progress"), "{progress}");
    let mut app = make();
    app.update(key('r'));
    app.update(code(KeyCode::Down));
    app.update(code(KeyCode::Down));
    let third = text(&draw(&mut app, 160, 48));
    assert!(
        third.contains("held by pid 4242 on host old-container-7f3a (another host)"),
        "{third}"
    );
    assert!(third.contains("paypro-console unlock 1"), "{third}");
}
