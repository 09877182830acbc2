#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The console's screens for bulk order operations and look-ups, drawn on ratatui's
//! `TestBackend` at 80×24 and 160×48 (insta text snapshots, as `tests/tui_render.rs`):
//! Operations, the file browser for an operation, Confirm worded for marking paid and
//! for refunds, Progress of a mark run, the Status screen with its tally as a bar chart
//! (looking up, and done), the Report screen (idle, fetching, fetched), and the help of
//! the new keys. Each also checks what its keys ask for (the effects), so the screens
//! are driven as a clerk would, without a terminal.

use chrono::{NaiveDate, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use paypro_console::api::PaidOrder;
use paypro_console::domain::Kind;
use paypro_console::engine::status::{StatusEvent, Tally};
use paypro_console::engine::{Event, ItemRef, ItemUpdate};
use paypro_console::journal::{
    BatchId, ItemId, ItemState, Run, RunId, RunState, RunSummary, StateCounts,
};
use paypro_console::report::{DateRange, PaidReport, ReportEvent};
use paypro_console::tui::app::{
    App, ConfirmInfo, Effect, Entry, Info, InputFor, Modal, Msg, ReportRef, Screen,
};
use paypro_console::tui::live::LiveRun;
use paypro_console::tui::screens::{confirm, progress};
use paypro_console::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rust_decimal::Decimal;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn info() -> Info {
    Info {
        demo: false,
        merchant: Some("acme".into()),
        base_url: Some("https://demoapi.paypro.com.pk".into()),
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

fn text(app: &mut App) -> String {
    draw(app, 80, 24).backend().to_string()
}

/// Snapshots one app at both sizes.
fn snap(name: &str, mut make: impl FnMut() -> App) {
    for (w, h) in SIZES {
        let mut app = make();
        let t = draw(&mut app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

fn summary(id: i64, kind: &str, counts: StateCounts, file: &str) -> RunSummary {
    RunSummary {
        run: Run {
            id: RunId(id),
            kind: kind.into(),
            source_file: format!("/home/clerk/invoices/{file}"),
            source_sha256: String::new(),
            sheet: Some("Sheet1".into()),
            merchant_id: "acme".into(),
            base_url: "https://demoapi.paypro.com.pk".into(),
            state: RunState::Completed,
            created_at: Utc
                .with_ymd_and_hms(2026, 11, u32::try_from(id).unwrap(), 9, 30, 0)
                .unwrap(),
            finished_at: None,
            lock: None,
            started_by: None,
            note: None,
        },
        counts,
    }
}

fn home() -> App {
    let mut app = App::new(info(), mono(), Instant::now());
    app.update(Msg::Runs(
        Ok(vec![
            summary(
                3,
                "mark-paid",
                StateCounts {
                    done: 118,
                    rejected: 2,
                    ..StateCounts::default()
                },
                "paid-at-counter.xlsx",
            ),
            summary(
                2,
                "orders",
                StateCounts {
                    created: 1200,
                    ..StateCounts::default()
                },
                "november-orders.xlsx",
            ),
        ]),
        Vec::new(),
    ));
    app.drain_effects();
    app
}

fn effects(app: &mut App) -> Vec<Effect> {
    app.drain_effects()
}

#[test]
fn operations_choose_what_to_do_then_the_file() {
    let make = || {
        let mut app = home();
        app.update(key('m'));
        app
    };
    snap("operations", make);
    let mut app = make();
    assert!(text(&mut app).contains("Refund paid orders"));
    app.update(code(KeyCode::Down));
    app.update(code(KeyCode::Enter));
    match app.stack.last() {
        Some(Screen::OpenFile(o)) => assert_eq!(o.kind, Some(Kind::MarkBlocked)),
        _ => panic!("not on the file browser"),
    }
    assert_eq!(
        effects(&mut app),
        vec![Effect::ListDir(PathBuf::from("/home/clerk/invoices"))]
    );
    snap("open_file_for_an_operation", || {
        let mut app = make();
        app.update(code(KeyCode::Enter));
        app.update(Msg::Dir {
            path: PathBuf::from("/home/clerk/invoices"),
            result: Ok(vec![Entry {
                name: "paid-at-counter.xlsx".into(),
                dir: false,
                size: 12_000,
            }]),
        });
        app
    });
}

fn mark_confirm(kind: Kind) -> ConfirmInfo {
    ConfirmInfo {
        file: PathBuf::from("/home/clerk/invoices/paid-at-counter.xlsx"),
        sheet: "Sheet1".into(),
        kind,
        rows: 120,
        valid: 117,
        invalid: 3,
        to_send: 116,
        skipped: vec![(9, "INV-00008".into(), "already done by run 3, row 9".into())],
        refused: if kind == Kind::Refunds {
            vec![(
                4,
                "OrderNumber: order INV-00003 is Unpaid, not paid (seen 2026-11-30 09:30 UTC by the status refresh of run 2); only paid orders can be refunded".into(),
            )]
        } else {
            Vec::new()
        },
        total: (kind == Kind::Refunds).then(|| "48,250.00".into()),
        merchant: "acme".into(),
        base_url: "https://demoapi.paypro.com.pk".into(),
    }
}

#[test]
fn confirm_says_what_cannot_be_undone() {
    snap("confirm_mark_paid", || {
        let mut app = home();
        app.push(Screen::Confirm(confirm::Confirm::new(
            mark_confirm(Kind::MarkPaid),
            None,
        )));
        app
    });
    snap("confirm_refunds", || {
        let mut app = home();
        app.push(Screen::Confirm(confirm::Confirm::new(
            mark_confirm(Kind::Refunds),
            None,
        )));
        app
    });
    let mut app = home();
    app.push(Screen::Confirm(confirm::Confirm::new(
        mark_confirm(Kind::MarkPaid),
        None,
    )));
    let screen = text(&mut app);
    assert!(screen.contains("Mark 116 orders PAID"), "{screen}");
    assert!(screen.contains("cannot be undone"), "{screen}");
}

#[test]
fn progress_of_a_mark_run_counts_what_was_marked() {
    let make = || {
        let t0 = Instant::now();
        let mut app = home();
        let mut live = LiveRun::new(t0);
        live.apply(
            &Event::RunStarted {
                run: RunId(5),
                kind: Kind::MarkPaid,
                total: 1000,
                to_send: 1000,
                settled: 0,
                batch_size: 358,
                concurrency: 4,
            },
            t0,
        );
        let items: Vec<ItemRef> = (1..=358)
            .map(|n| ItemRef {
                id: ItemId(n),
                row: u32::try_from(n).unwrap() + 1,
                key: format!("PACK-{n:05}"),
            })
            .collect();
        let at = t0 + Duration::from_millis(400);
        live.apply(
            &Event::BatchSent {
                batch: BatchId(1),
                items: items.clone(),
            },
            at,
        );
        live.apply(
            &Event::BatchDone {
                batch: BatchId(1),
                items: items
                    .iter()
                    .map(|r| ItemUpdate {
                        id: r.id,
                        row: r.row,
                        key: r.key.clone(),
                        state: if r.row == 5 {
                            ItemState::Rejected
                        } else {
                            ItemState::Done
                        },
                        message: None,
                        connectpay_id: None,
                    })
                    .collect(),
                outcome: "status 01: 1 of 358 orders listed as not changed".into(),
                elapsed: Duration::from_millis(380),
            },
            at,
        );
        live.tick(at);
        app.live = Some(live);
        app.now = t0 + Duration::from_secs(1);
        app.push(Screen::Progress(progress::Progress));
        app
    };
    snap("progress_mark_paid", make);
    let screen = text(&mut make());
    assert!(screen.contains("✓ 357 marked paid"), "{screen}");
    assert!(screen.contains("357 done, 1 rejected"), "{screen}");
}

fn tally(unpaid: u64, paid: u64, blocked: u64, refunded: u64) -> Tally {
    Tally {
        unpaid,
        paid,
        blocked,
        refunded,
        ..Tally::default()
    }
}

fn status_app(done: bool) -> App {
    let mut app = home();
    app.update(key('r'));
    app.update(code(KeyCode::Down));
    app.update(key('s'));
    let fx = effects(&mut app);
    assert!(fx.contains(&Effect::StatusRefresh(RunId(2))), "{fx:?}");
    app.update(Msg::Status {
        run: RunId(2),
        event: StatusEvent::Started { total: 1200 },
    });
    app.update(Msg::Status {
        run: RunId(2),
        event: StatusEvent::Checked {
            done: 600,
            total: 1200,
            tally: tally(410, 170, 15, 5),
        },
    });
    if done {
        app.update(Msg::StatusEnded {
            run: RunId(2),
            result: Ok((
                7,
                Tally {
                    not_found: 2,
                    ..tally(820, 340, 30, 8)
                },
            )),
        });
    }
    app
}

#[test]
fn a_status_refresh_shows_its_tally_as_a_bar_chart() {
    snap("status_looking_up", || status_app(false));
    snap("status_done", || status_app(true));
    let screen = text(&mut status_app(true));
    assert!(
        screen.contains("1,198/1,200 looked up") || screen.contains("1,200/1,200"),
        "{screen}"
    );
    assert!(screen.contains("unpaid"), "{screen}");
    assert!(screen.contains("340"), "{screen}");
    assert!(screen.contains("2 not found at PayPro"), "{screen}");
    // Again, once done.
    let mut app = status_app(true);
    app.update(key('s'));
    assert_eq!(effects(&mut app), vec![Effect::StatusRefresh(RunId(2))]);
    // A mark run has no orders of its own to look up.
    let mut app = home();
    app.update(key('r'));
    app.update(key('s'));
    assert!(
        matches!(&app.modal, Some(Modal::Message { title, .. }) if title == "Nothing to look up")
    );
}

#[test]
fn runs_export_results_through_the_writer() {
    let mut app = home();
    app.update(key('r'));
    app.update(key('x'));
    assert_eq!(
        effects(&mut app),
        vec![Effect::ExportResults {
            run: RunId(3),
            dir: PathBuf::from("/home/clerk/invoices"),
        }]
    );
    app.update(Msg::Exported(Ok(vec![
        "/home/clerk/invoices/run-3-results.xlsx".into(),
        "run 3: 120 rows: 118 done, 2 rejected".into(),
    ])));
    let screen = text(&mut app);
    assert!(screen.contains("run-3-results.xlsx"), "{screen}");
    snap("help_runs", || {
        let mut app = home();
        app.update(key('r'));
        app.update(key('?'));
        app
    });
}

fn paid(n: u32, day: u32, amount: i64) -> PaidOrder {
    let at = NaiveDate::from_ymd_opt(2026, 11, day)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    PaidOrder {
        order_number: format!("INV-{n:05}"),
        connectpay_id: Some(format!("0044{n:010}")),
        order_amount: Some(Decimal::new(amount, 2)),
        amount_paid: Some(Decimal::new(amount, 2)),
        date_paid: Some(at),
        date_created: Some(at),
        issue_date: Some(at),
        due_date: Some(at),
        customer_email: None,
        customer_mobile: Some(format!("0300{n:07}")),
        customer_address: None,
    }
}

fn report_app(stage: u8) -> App {
    let mut app = home();
    app.update(key('p'));
    // The first day, typed.
    app.update(key('f'));
    assert!(matches!(&app.modal, Some(Modal::Input(i)) if i.purpose == InputFor::ReportFrom));
    for _ in 0..10 {
        app.update(code(KeyCode::Backspace));
    }
    for c in "01/11/2026".chars() {
        app.update(key(c));
    }
    app.update(code(KeyCode::Enter));
    app.update(key('t'));
    for _ in 0..10 {
        app.update(code(KeyCode::Backspace));
    }
    for c in "2026-11-30".chars() {
        app.update(key(c));
    }
    app.update(code(KeyCode::Enter));
    if stage == 0 {
        return app;
    }
    app.update(code(KeyCode::Enter));
    let range = DateRange {
        start: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        end: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
    };
    let seq = match effects(&mut app).as_slice() {
        [Effect::FetchReport { seq, range: r }] => {
            assert_eq!(*r, range);
            *seq
        }
        other => panic!("{other:?}"),
    };
    app.update(Msg::Report {
        seq,
        event: ReportEvent::Started { range, chunks: 1 },
    });
    if stage == 1 {
        return app;
    }
    app.update(Msg::Report {
        seq,
        event: ReportEvent::ChunkDone {
            index: 0,
            range,
            orders: 40,
        },
    });
    let orders: Vec<PaidOrder> = (1..=40)
        .map(|n| paid(n, 1 + n % 28, 100_000 + i64::from(n) * 250))
        .collect();
    app.update(Msg::ReportFetched {
        seq,
        result: Ok(Arc::new(ReportRef {
            report: PaidReport {
                merchant_id: "acme".into(),
                base_url: "https://demoapi.paypro.com.pk".into(),
                range,
                fetched_at: Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
                chunks: 1,
                orders,
                duplicates: 0,
            },
            filled: 2,
        })),
    });
    app
}

#[test]
fn the_report_screen_fetches_previews_and_exports() {
    snap("report_idle", || report_app(0));
    snap("report_fetching", || report_app(1));
    snap("report_fetched", || report_app(2));
    let mut app = report_app(2);
    let screen = text(&mut app);
    assert!(
        screen.contains("Orders paid from 01/11/2026 to 30/11/2026"),
        "{screen}"
    );
    assert!(screen.contains("40 paid orders"), "{screen}");
    assert!(screen.contains("2 ConnectPay id(s)"), "{screen}");
    app.update(key('x'));
    match effects(&mut app).as_slice() {
        [Effect::ExportReport { report, dir }] => {
            assert_eq!(report.report.orders.len(), 40);
            assert_eq!(dir, &PathBuf::from("/home/clerk/invoices"));
        }
        other => panic!("{other:?}"),
    }
    // A day that is not a date is refused, saying so.
    let mut app = report_app(0);
    app.update(key('f'));
    for _ in 0..10 {
        app.update(code(KeyCode::Backspace));
    }
    for c in "31/02".chars() {
        app.update(key(c));
    }
    app.update(code(KeyCode::Enter));
    assert!(matches!(&app.modal, Some(Modal::Message { title, .. }) if title == "Not a date"));
    snap("help_report", || {
        let mut app = report_app(0);
        app.update(key('?'));
        app
    });
}
