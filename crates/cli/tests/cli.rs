//! The `civcas` binary against a real server: tables, `--json`, and errors that name the field.

use assert_cmd::Command;
use civcas_tests::spawn_app;

fn civcas(endpoint: &str) -> Command {
    let mut cmd = Command::cargo_bin("civcas").expect("the civcas binary builds");
    cmd.env("CIVCAS_ENDPOINT", endpoint)
        .env_remove("CIVCAS_TOKEN");
    cmd
}

fn stdout(cmd: &mut Command) -> String {
    let output = cmd.output().expect("civcas runs");
    assert!(
        output.status.success(),
        "civcas failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_print_as_a_table_and_as_json() {
    let app = spawn_app().await;
    let endpoint = format!("http://{}", app.addr);
    tokio::task::spawn_blocking({
        move || {
            stdout(civcas(&endpoint).args([
                "sources", "register", "airwars", "--name", "Airwars", "--kind", "monitor",
            ]));
            let table = stdout(civcas(&endpoint).args(["sources", "list"]));
            assert!(
                table.contains("airwars") && table.contains("monitor"),
                "{table}"
            );
            let json = stdout(civcas(&endpoint).args(["--json", "sources", "list"]));
            let parsed: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
            assert_eq!(parsed["sources"][0]["id"], "airwars");
            assert_eq!(parsed["sources"][0]["kind"], "SOURCE_KIND_MONITOR");
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_bad_field_and_fail() {
    let app = spawn_app().await;
    let endpoint = format!("http://{}", app.addr);
    tokio::task::spawn_blocking(move || {
        let output = civcas(&endpoint)
            .args([
                "sources", "register", "Bad ID", "--name", "x", "--kind", "monitor",
            ])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("InvalidArgument"), "{stderr}");
        assert!(
            stderr.contains("  source.id: "),
            "the field violation is printed: {stderr}"
        );
        assert!(!stderr.contains("Status {"), "no debug dump: {stderr}");

        let output = civcas(&endpoint)
            .args(["sources", "get", "nobody"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&output.stderr).contains("SOURCE_NOT_FOUND"));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_loads_the_seed_article_once() {
    let app = spawn_app().await;
    let endpoint = format!("http://{}", app.addr);
    tokio::task::spawn_blocking(move || {
        let first = stdout(civcas(&endpoint).arg("demo"));
        assert!(first.contains("384 created"), "{first}");
        let flow = stdout(civcas(&endpoint).args([
            "--json",
            "figures",
            "flow",
            "--source",
            "cjtf-oir",
            "--from",
            "2017-06-01",
            "--to",
            "2017-06-30",
        ]));
        let flow: serde_json::Value = serde_json::from_str(&flow).unwrap();
        // 64-bit counts are strings in proto3 JSON.
        assert_eq!(flow["openAtStart"], "180");
        assert_eq!(flow["received"], "72");
        assert_eq!(flow["completedDeaths"], "21");
        assert_eq!(flow["openAtEnd"], "120");
        let table = stdout(civcas(&endpoint).args([
            "figures",
            "reconcile",
            "--from",
            "2017-06-01",
            "--to",
            "2017-06-30",
        ]));
        assert!(
            table.contains("killed at least 624") && table.contains("+603"),
            "{table}"
        );
        // A second run changes nothing.
        let again = stdout(civcas(&endpoint).arg("demo"));
        assert!(again.contains("0 created, 384 unchanged"), "{again}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_airwars_reports_counts_and_a_second_run_changes_nothing() {
    let app = spawn_app().await;
    let endpoint = format!("http://{}", app.addr);
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../import/tests/fixtures/airwars");
    tokio::task::spawn_blocking(move || {
        let files = ["incidents.fixture.csv", "assessments.fixture.csv", "statements.fixture.csv"].map(|f| fixture.join(f));
        let first = stdout(civcas(&endpoint).args(["import", "airwars"]).args(&files));
        // 8 rows: 4 rejected (placeholder date, min above max, not UTF-8, truncated); CS1 and CS2
        // carry two assessments each, CS6 one, CS5 none (its incident alone).
        assert!(first.contains("read 8 incident rows: 4 rejected"), "{first}");
        assert!(first.contains("5 created, 0 unchanged, 0 rejected; 4 incidents created, 1 rows with an incident alone"), "{first}");
        let again = stdout(civcas(&endpoint).args(["import", "airwars"]).args(&files));
        assert!(again.contains("0 created, 5 unchanged, 0 rejected; 0 incidents created"), "{again}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_imports_report_broken_arithmetic_and_run_again_unchanged() {
    let app = spawn_app().await;
    let endpoint = format!("http://{}", app.addr);
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../import/tests/fixtures/monthly");
    tokio::task::spawn_blocking(move || {
        let cjtf = fixtures.join("cjtf.fixture.csv");
        let first = stdout(
            civcas(&endpoint)
                .args(["import", "cjtf-oir-monthly"])
                .arg(&cjtf),
        );
        assert!(
            first.contains("6 rows read, 3 rejected: 3 statements created, 0 unchanged"),
            "{first}"
        );
        assert!(
            first.contains("arithmetic does not hold")
                && first.contains("= 14")
                && first.contains("= 629"),
            "{first}"
        );
        // --json hides nothing the text reports.
        let json: serde_json::Value = serde_json::from_str(&stdout(
            civcas(&endpoint)
                .args(["--json", "import", "cjtf-oir-monthly"])
                .arg(&cjtf),
        ))
        .unwrap();
        assert_eq!(
            json["arithmetic"].as_array().map(Vec::len),
            Some(2),
            "{json}"
        );
        assert_eq!(json["rejected"].as_array().map(Vec::len), Some(3), "{json}");
        let again = stdout(
            civcas(&endpoint)
                .args(["import", "cjtf-oir-monthly"])
                .arg(&cjtf),
        );
        assert!(
            again.contains("0 statements created, 3 unchanged"),
            "{again}"
        );

        let unami = stdout(
            civcas(&endpoint)
                .args(["import", "unami-monthly"])
                .arg(fixtures.join("unami.fixture.csv")),
        );
        assert!(
            unami.contains("6 rows read, 4 rejected: 10 statements created"),
            "{unami}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_and_series_after_the_demo() {
    let app = spawn_app().await;
    let endpoint = format!("http://{}", app.addr);
    tokio::task::spawn_blocking(move || {
        stdout(civcas(&endpoint).arg("demo"));
        let statements: serde_json::Value =
            serde_json::from_str(&stdout(civcas(&endpoint).args([
                "--json",
                "statements",
                "list",
                "--source",
                "cjtf-oir",
            ])))
            .unwrap();
        let latest = statements["statements"][1]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let revisions = stdout(civcas(&endpoint).args(["statements", "revisions", &latest]));
        assert!(
            revisions.contains("extension") && revisions.contains("+21"),
            "{revisions}"
        );

        let incidents = stdout(civcas(&endpoint).args([
            "incidents",
            "list",
            "--from",
            "2017-06-01",
            "--to",
            "2017-06-30",
        ]));
        assert!(incidents.contains("cjtf-oir:N0"), "{incidents}");
        let history = stdout(civcas(&endpoint).args([
            "assessments",
            "list",
            "--source",
            "cjtf-oir",
            "--history",
        ]));
        assert!(
            history.contains("superseded") && history.contains("credible"),
            "{history}"
        );

        let series = stdout(civcas(&endpoint).args([
            "figures",
            "series",
            "--from",
            "2017-05-15",
            "--to",
            "2017-06-30",
            "--granularity",
            "month",
        ]));
        assert!(
            series.contains("2017-05-15") && series.contains("2017-06-01"),
            "{series}"
        );
        // June: the 7 credible reports, 3 deaths each.
        assert!(
            series
                .lines()
                .any(|l| l.contains("2017-06-01") && l.contains("21")),
            "{series}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_files_import_in_full_through_the_cli() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if !data.is_dir() {
        assert!(
            std::env::var("CIVCAS_REQUIRE_DATA").as_deref() != Ok("1"),
            "CIVCAS_REQUIRE_DATA=1 but {} is absent",
            data.display()
        );
        eprintln!("skipped: the real data folder {} is absent", data.display());
        return;
    }
    let app = spawn_app().await;
    let endpoint = format!("http://{}", app.addr);
    tokio::task::spawn_blocking(move || {
        let airwars = stdout(civcas(&endpoint).args(["import", "airwars"]).arg(data.join("airwars-syria")));
        // 8,114 rows, 4 rejected with their reasons, 2 codes replaced: 8,108 incidents.
        assert!(airwars.contains("read 8114 incident rows: 4 rejected, 2 replaced"), "{airwars}");
        for reason in ["RS2053: date_range_end", "TRSOM001: no usable incident_date", "TS644: no usable", "YS133: no usable"] {
            assert!(airwars.contains(reason), "{reason} missing from {airwars}");
        }
        assert!(airwars.contains("9804 created, 0 unchanged, 0 rejected; 8108 incidents created, 128 rows with an incident alone"), "{airwars}");
        let coalition: serde_json::Value = serde_json::from_str(&stdout(
            civcas(&endpoint).args(["--json", "figures", "reconcile", "--from", "1970-01-01", "--to", "2026-12-31", "--source", "cjtf-oir"]),
        ))
        .unwrap();
        let verdicts: Vec<(String, u64)> = coalition["figures"]["sources"][0]["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let c = &v["count"];
                let n = |k: &str| c[k].as_str().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
                (v["verdict"].as_str().unwrap().to_owned(), n("inside") + n("boundary"))
            })
            .collect();
        // docs/real-data.md's counts (one non-credible row is superseded by a not_yet_assessed one);
        // DUPLICATE is a link, not a verdict on an incident, so it is not among the verdicts.
        assert_eq!(
            verdicts,
            [("VERDICT_CREDIBLE".to_owned(), 195), ("VERDICT_OPEN".to_owned(), 68), ("VERDICT_NOT_CREDIBLE".to_owned(), 1556)]
        );
        // And the 6 DUPLICATE assessments, which are links rather than verdicts on an incident.
        let listed: serde_json::Value = serde_json::from_str(&stdout(
            civcas(&endpoint).args(["--json", "assessments", "list", "--source", "cjtf-oir"]),
        ))
        .unwrap();
        let duplicates = listed["assessments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["verdict"] == "VERDICT_DUPLICATE")
            .count();
        assert_eq!(duplicates, 6);
        let cjtf = stdout(civcas(&endpoint).args(["import", "cjtf-oir-monthly"]).arg(data.join("cjtf-oir-monthly/cjtf_oir_monthly_reports.csv")));
        assert!(cjtf.contains("9 rows read, 0 rejected: 5 statements created"), "{cjtf}");
        let unami = stdout(civcas(&endpoint).args(["import", "unami-monthly"]).arg(data.join("unami-monthly/unami_monthly_iraq.csv")));
        assert!(unami.contains("7 rows read, 0 rejected: 32 statements created"), "{unami}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ucdp_extract_imports_once() {
    let app = spawn_app().await;
    let endpoint = format!("http://{}", app.addr);
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../import/tests/fixtures/ucdp/ged.fixture.csv");
    tokio::task::spawn_blocking(move || {
        let first = stdout(civcas(&endpoint).args(["import", "ucdp-ged"]).arg(&file));
        assert!(first.contains("read 8 event rows: 6 rejected, 1 skipped without civilian deaths; assessed on 2017-06-12"), "{first}");
        assert!(first.contains("1 created, 0 unchanged, 0 rejected; 1 incidents created"), "{first}");
        let again = stdout(civcas(&endpoint).args(["import", "ucdp-ged"]).arg(&file));
        assert!(again.contains("0 created, 1 unchanged"), "{again}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_a_folder_that_does_not_exist_says_so() {
    let app = spawn_app().await;
    let output = civcas(&format!("http://{}", app.addr))
        .args(["import", "airwars", "no/such/airwars-syria"])
        .output()
        .expect("civcas runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no/such/airwars-syria does not exist"),
        "{stderr}"
    );
}
