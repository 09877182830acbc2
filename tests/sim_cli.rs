#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `paypro-console sim` as scripts use it: the first stdout line is the base URL.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

struct Sim {
    child: Child,
    lines: BufReader<ChildStdout>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> Sim {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paypro-console"))
        .arg("sim")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    Sim {
        child,
        lines: BufReader::new(stdout),
    }
}

fn next_line(sim: &mut Sim) -> String {
    let mut line = String::new();
    sim.lines.read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

async fn co(base: &str, number: &str) -> Value {
    let body = json!([
        {"MerchantId": "demo", "MerchantPassword": "demo-pass"},
        {"OrderNumber": number, "OrderAmount": "4400", "OrderDueDate": "21/03/2027",
         "OrderType": "Service", "IssueDate": "14/03/2027", "CustomerName": "Umer Aziz",
         "CustomerMobile": "", "CustomerEmail": "", "CustomerAddress": ""}
    ]);
    let mut url = url::Url::parse(&format!("{base}/cpay/co")).unwrap();
    url.query_pairs_mut()
        .append_pair("oJson", &body.to_string());
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .post(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn first_line_is_the_url_and_the_demo_merchant_works() {
    let mut sim = spawn(&[]);
    let base = next_line(&mut sim);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(!base.ends_with(":0"));
    let demo = next_line(&mut sim);
    assert!(
        demo.contains("demo") && demo.contains("demo-pass"),
        "{demo}"
    );
    let first = co(&base, "CLI-1").await;
    assert_eq!(first[0]["Status"], "00", "{first}");
    assert_eq!(first[1]["ConnectPayId"], "00440000000001");
    let second = co(&base, "CLI-1").await;
    assert_eq!(second[0]["Status"], "01", "{second}");
}

#[tokio::test]
async fn configured_merchant_password_is_not_printed() {
    let mut sim = spawn(&[
        "--merchant",
        "PayProUser:s3cret-pw",
        "--batch-mode",
        "atomic",
    ]);
    let base = next_line(&mut sim);
    assert!(base.starts_with("http://"), "{base}");
    let mut banner = String::new();
    for _ in 0..3 {
        banner.push_str(&next_line(&mut sim));
        banner.push('\n');
    }
    assert!(banner.contains("PayProUser"), "{banner}");
    assert!(banner.contains("batch mode: atomic"), "{banner}");
    assert!(!banner.contains("s3cret-pw"), "{banner}");
    // Without the demo merchant, its credentials are refused.
    assert_eq!(co(&base, "X").await[0]["Status"], "04");
}

#[test]
fn bad_options_exit_with_a_message() {
    for args in [
        &["--fail-500-rate", "1.5"][..],
        &["--merchant", "no-colon"][..],
        &["--merchants", "/nonexistent/merchants.toml"][..],
    ] {
        let mut sim = spawn(args);
        let status = sim.child.wait().unwrap();
        assert!(!status.success(), "{args:?}");
        let mut err = String::new();
        sim.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(err.contains("paypro-console sim:"), "{args:?}: {err}");
    }
}

#[tokio::test]
async fn merchants_from_a_toml_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("merchants.toml");
    std::fs::write(
        &path,
        "[[merchant]]\nid = \"demo\"\npassword = \"demo-pass\"\ncompany_code = \"0034\"\nfee = 75\nmax_amount = 5000\n\n[[merchant]]\nid = \"Other\"\npassword = \"hidden-pw\"\nservices = [\"gos\"]\n",
    )
    .unwrap();
    let mut sim = spawn(&["--merchants", path.to_str().unwrap(), "--seed", "7"]);
    let base = next_line(&mut sim);
    let mut banner = String::new();
    for _ in 0..3 {
        banner.push_str(&next_line(&mut sim));
        banner.push('\n');
    }
    assert!(
        banner.contains("Other") && banner.contains("0045"),
        "{banner}"
    );
    assert!(!banner.contains("hidden-pw"), "{banner}");
    let a = co(&base, "T-1").await;
    assert_eq!(a[0]["Status"], "00", "{a}");
    assert_eq!(a[1]["ConnectPayId"], "00340000000001");
    assert_eq!(a[1]["ConnectPayFee"], "75");
}

#[tokio::test]
async fn guide_responses_flag_is_reported_and_shapes_the_answers() {
    let mut sim = spawn(&["--guide-responses", "--batch-mode", "atomic"]);
    let base = next_line(&mut sim);
    let mut banner = String::new();
    for _ in 0..2 {
        banner.push_str(&next_line(&mut sim));
        banner.push('\n');
    }
    assert!(
        banner.contains("answers: guide shape (no per-item Status)"),
        "{banner}"
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let settings: Value = http
        .get(format!("{base}/__sim/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["guide_responses"], true, "{settings}");
    assert_eq!(settings["batch_mode"], "atomic", "{settings}");
    // What GET answered may be posted back with a new fault rate; the modes are fixed.
    let mut back = settings.clone();
    back["http_500"] = json!(0.0);
    let r = http
        .post(format!("{base}/__sim/faults"))
        .json(&back)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    back["guide_responses"] = json!(false);
    let r = http
        .post(format!("{base}/__sim/faults"))
        .json(&back)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("guide_responses"));
    let a = co(&base, "CLI-G").await;
    assert_eq!(a[0], json!({"Status": "00"}), "{a}");
    assert!(a[1].get("Status").is_none(), "{a}");
    assert!(a[1]["ConnectPayId"].is_string(), "{a}");
}

#[tokio::test]
async fn without_the_flag_the_settings_say_each_item_has_a_status() {
    let mut sim = spawn(&[]);
    let base = next_line(&mut sim);
    let settings: Value = reqwest::get(format!("{base}/__sim/faults"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["guide_responses"], false, "{settings}");
    assert_eq!(settings["batch_mode"], "per-item", "{settings}");
    let a = co(&base, "CLI-S").await;
    assert_eq!(a[1]["Status"], "00", "{a}");
}
