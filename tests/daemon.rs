//! The scheduled service, driven through the real binary: the jobs file and
//! `validate`, `run` remembering what it scored, the Changes sheet and JSON
//! section, `history`, `status`, the daemon with `/healthz` and `/metrics`,
//! and killing it at random moments.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{iorready, provider_workbook, sheet};
use iorready::model::Country;

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    /// A folder with `inbox/`, and `iorready.toml` holding one job `inbox`
    /// plus whatever `extra` adds.
    fn new(schedule: &str, extra: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("inbox")).unwrap();
        let config = format!(
            "[state]\ndir = \"state\"\n{extra}\n[jobs.inbox]\nschedule = \"{schedule}\"\ntimezone = \"UTC\"\ninputs = [\"inbox\"]\nout = \"out\"\njson = \"out/result.json\"\n"
        );
        std::fs::write(dir.path().join("iorready.toml"), config).unwrap();
        Setup { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn config(&self) -> String {
        self.path("iorready.toml").display().to_string()
    }

    fn run(&self) -> std::process::Output {
        let out = iorready(&["run", "--config", &self.config(), "--as-of", "2026-11-24"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.path("out/result.json")).unwrap()).unwrap()
    }

    fn daemon(&self) -> Child {
        Command::new(assert_cmd::cargo::cargo_bin("iorready"))
            .args(["daemon", "--config", &self.config(), "--log-format", "json"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

fn modified(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn validate_reports_every_error_with_file_line_and_key() {
    let setup = Setup::new("0 6 * * *", "");
    std::fs::write(
        setup.path("iorready.toml"),
        r#"[service]
listen = "localhost"

[jobs.daily]
schedule = "every morning"
inputs = ["missing-folder"]
out = "out"

[jobs.weekly]
schedule = "0 6 * * 1"
timezone = "Europe/Atlantis"
inputs = ["inbox"]
out = "out"
"#,
    )
    .unwrap();
    let out = iorready(&["validate", "--config", &setup.config()]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    for expected in [
        "iorready.toml:2: key `service.listen`",
        "iorready.toml:5: key `jobs.daily.schedule`",
        "iorready.toml:11: key `jobs.weekly.timezone`",
        "iorready.toml:13: key `jobs.weekly.out`",
        "key `jobs.daily.inputs[0]`",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

/// `validate` of a jobs file holding `text` beside an `inbox/` folder and,
/// in `connectors/`, a connector whose URL comes from an unset variable.
fn validate_text(text: &str) -> String {
    let setup = Setup::new("0 6 * * *", "");
    std::fs::write(setup.path("iorready.toml"), text).unwrap();
    std::fs::create_dir(setup.path("connectors")).unwrap();
    std::fs::write(
        setup.path("connectors/other.toml"),
        "[connector]\nname = \"other\"\nbase_url = \"${env:IORREADY_TEST_UNSET_URL}\"\n[[streams]]\nname = \"s\"\npath = \"/x\"\n",
    )
    .unwrap();
    let out = iorready(&["validate", "--config", &setup.config()]);
    assert_eq!(out.status.code(), Some(2));
    stdout(&out)
}

#[test]
fn validate_reports_every_unknown_key_and_wrong_value_at_once() {
    let text = validate_text(
        "[jobs.a]\nschedule = \"@hourly\"\ninputs = [\"inbox\"]\nout = \"o\"\nwrite_bak = true\n[jobs.b]\nschedule = \"@hourly\"\ninputs = \"inbox\"\nout = \"p\"\ntimezon = \"UTC\"\n",
    );
    for expected in [
        "iorready.toml:5: key `jobs.a.write_bak`",
        "iorready.toml:8: key `jobs.b.inputs`",
        "iorready.toml:10: key `jobs.b.timezon`",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn validate_names_a_missing_mappings_folder_and_profile_with_file_line_and_key() {
    let text = validate_text(
        "[jobs.a]\nschedule = \"@hourly\"\ninputs = [\"inbox\"]\nout = \"o\"\nmappings = \"no-mappings\"\nprofile = \"no-profile.toml\"\n",
    );
    assert!(text.contains("iorready.toml:5: key `jobs.a.mappings`"), "{text}");
    assert!(text.contains("iorready.toml:6: key `jobs.a.profile`"), "{text}");
}

#[test]
fn validate_reports_an_unknown_connector_on_its_own() {
    let text = validate_text("[jobs.a]\nschedule = \"@hourly\"\nconnectors = [\"nowhere\"]\nout = \"o\"\n");
    assert!(
        text.contains("key `jobs.a.connectors[0]`: no connector 'nowhere'"),
        "{text}"
    );
    assert!(text.contains("found: other"), "{text}");
    assert!(
        !text.contains("IORREADY_TEST_UNSET_URL"),
        "another connector's variable: {text}"
    );
    assert!(!text.contains("see below"), "{text}");
}

#[test]
fn validate_says_cron_bounds_in_the_users_five_fields_and_why_reboot_is_refused() {
    let text = validate_text(
        "[jobs.a]\nschedule = \"61 6 * * *\"\ninputs = [\"inbox\"]\nout = \"o\"\n[jobs.b]\nschedule = \"@reboot\"\ninputs = [\"inbox\"]\nout = \"p\"\n",
    );
    assert!(
        text.contains("'61 6 * * *': minutes must be 0-59 ('61' given)"),
        "{text}"
    );
    assert!(!text.contains("0 61 6"), "not the six-field form: {text}");
    assert!(text.contains("@reboot is not a time"), "{text}");
}

#[test]
fn validate_refuses_job_names_that_differ_only_in_case() {
    let text = validate_text(
        "[jobs.Daily]\nschedule = \"@hourly\"\ninputs = [\"inbox\"]\nout = \"o\"\n[jobs.daily]\nschedule = \"@hourly\"\ninputs = [\"inbox\"]\nout = \"p\"\n",
    );
    assert!(text.contains("differs from job 'Daily' only in case"), "{text}");
}

#[test]
fn validate_checks_what_the_jobs_reference() {
    let setup = Setup::new("0 6 * * *", "");
    let config = std::fs::read_to_string(setup.path("iorready.toml")).unwrap()
        + "connectors = [\"nowhere\"]\nprofile = \"no-such-profile.toml\"\n";
    std::fs::write(setup.path("iorready.toml"), config).unwrap();
    std::fs::remove_dir(setup.path("inbox")).unwrap();
    let text = stdout(&iorready(&["validate", "--config", &setup.config()]));
    assert!(text.contains("key `jobs.inbox.inputs[0]`"), "{text}");
    assert!(text.contains("key `jobs.inbox.connectors[0]`"), "{text}");
    assert!(text.contains("no-such-profile.toml"), "{text}");
}

#[test]
fn validate_accepts_the_readme_example_config() {
    let out = iorready(&["validate", "--config", "examples/iorready.toml"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("ok: job 'inbox'"), "{}", stdout(&out));
}

#[test]
fn an_unchanged_workbook_is_not_rescored_or_rewritten() {
    let setup = Setup::new("0 6 * * *", "");
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE", "FR"], "Own entity");
    setup.run();
    let annotated = setup.path("out/a.annotated.xlsx");
    let portfolio = setup.path("out/portfolio.xlsx");
    let before = (modified(&annotated), modified(&portfolio));
    std::thread::sleep(Duration::from_millis(50));
    let second = stdout(&setup.run());
    assert!(second.contains("0 scored, 1 unchanged"), "{second}");
    assert_eq!((modified(&annotated), modified(&portfolio)), before);
}

#[test]
fn a_new_workbook_is_scored_and_the_others_are_not() {
    let setup = Setup::new("0 6 * * *", "");
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE"], "Own entity");
    setup.run();
    let first = modified(&setup.path("out/a.annotated.xlsx"));
    provider_workbook(&setup.path("inbox/b.xlsx"), "Beta", &["FR"], "Own entity");
    let second = stdout(&setup.run());
    assert!(second.contains("1 scored, 1 unchanged"), "{second}");
    assert_eq!(modified(&setup.path("out/a.annotated.xlsx")), first);
    let json = setup.json();
    assert_eq!(common::provider_names(&json), ["Alpha", "Beta"]);
    let kinds: Vec<&str> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["provider_added"]);
}

/// The Flags sheet's rows as text.
fn flag_rows(portfolio: &Path) -> Vec<Vec<String>> {
    sheet(portfolio, "Flags")
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[test]
fn a_run_that_rescores_one_workbook_lists_every_flag_in_input_order_like_a_fresh_run() {
    let setup = Setup::new("0 6 * * *", "");
    for (file, name, model) in [
        ("a.xlsx", "Alpha", "Partner network"),
        ("b.xlsx", "Beta", "Own entity"),
        ("c.xlsx", "Gamma", "Partner network"),
    ] {
        provider_workbook(&setup.path(&format!("inbox/{file}")), name, &["DE", "FR"], model);
    }
    setup.run();
    provider_workbook(&setup.path("inbox/b.xlsx"), "Beta", &["DE", "FR"], "Forwarder only");
    let second = stdout(&setup.run());
    assert!(second.contains("1 scored, 2 unchanged"), "{second}");
    let fresh = setup.path("fresh");
    let out = iorready(&[
        "score",
        setup.path("inbox").to_str().unwrap(),
        "--out",
        fresh.to_str().unwrap(),
        "--as-of",
        "2026-11-24",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let remembered = flag_rows(&setup.path("out/portfolio.xlsx"));
    let providers: Vec<&str> = remembered.iter().skip(1).map(|r| r[0].as_str()).collect();
    assert!(
        providers.contains(&"Alpha") && providers.contains(&"Gamma"),
        "{providers:?}"
    );
    let mut order = providers.clone();
    order.dedup();
    assert_eq!(order, ["Alpha", "Beta", "Gamma"]);
    // The file column names the input as each run was given it.
    let without_file =
        |rows: Vec<Vec<String>>| -> Vec<Vec<String>> { rows.into_iter().map(|r| r[..6].to_vec()).collect() };
    assert_eq!(
        without_file(remembered),
        without_file(flag_rows(&fresh.join("portfolio.xlsx")))
    );
}

#[test]
fn a_downgrade_from_active_to_passive_is_listed_in_json_and_the_changes_sheet() {
    let setup = Setup::new("0 6 * * *", "");
    let wb = setup.path("inbox/a.xlsx");
    provider_workbook(&wb, "Alpha", &["DE", "FR"], "Own entity");
    setup.run();
    provider_workbook(&wb, "Alpha", &["DE", "FR"], "Partner sourced on demand");
    setup.run();
    let json = setup.json();
    let changes = json["changes"].as_array().unwrap();
    let de: Vec<&str> = changes
        .iter()
        .filter(|c| c["country"] == "DE")
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert!(de.contains(&"active_to_passive"), "{changes:?}");
    assert!(de.contains(&"tier_down"), "{changes:?}");
    let sheet = sheet(&setup.path("out/portfolio.xlsx"), "Changes");
    let rows: Vec<String> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("|"))
        .collect();
    assert!(
        rows.iter()
            .any(|r| r.starts_with("Alpha|DE|active to passive|active|passive|")),
        "{rows:?}"
    );
    // Downgrades come first.
    assert!(
        rows[1].contains("tier down") || rows[1].contains("active to passive"),
        "{rows:?}"
    );
}

/// `iorready run` from the jobs file's folder with the relative
/// `--config iorready.toml`, so the job's inputs are `./inbox`.
fn run_relative(setup: &Setup) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("iorready"))
        .args(["run", "--config", "iorready.toml", "--as-of", "2026-11-24"])
        .current_dir(setup.path(""))
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn a_workbook_that_cannot_be_read_for_a_moment_keeps_its_last_standing_and_says_it_is_stale() {
    let setup = Setup::new("0 6 * * *", "");
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE"], "Own entity");
    provider_workbook(&setup.path("inbox/b.xlsx"), "Beta", &["DE"], "Own entity");
    assert!(run_relative(&setup).status.success());
    // b's share drops: its link now points at nothing.
    std::fs::create_dir(setup.path("share")).unwrap();
    std::fs::rename(setup.path("inbox/b.xlsx"), setup.path("share/b.xlsx")).unwrap();
    std::os::unix::fs::symlink(setup.path("gone/b.xlsx"), setup.path("inbox/b.xlsx")).unwrap();
    let second = run_relative(&setup);
    assert_eq!(
        second.status.code(),
        Some(1),
        "a run that could not read an input is partial"
    );
    assert!(stdout(&second).contains("stale"), "{}", stdout(&second));
    let json = setup.json();
    assert_eq!(
        json["providers"].as_array().unwrap().len(),
        2,
        "Beta is still in the result"
    );
    assert!(
        json["changes"].as_array().is_none_or(|c| c.is_empty()),
        "{}",
        json["changes"]
    );
    assert!(setup.path("out/b.annotated.xlsx").is_file(), "its annotated copy stays");
    // The share is back: nothing was removed, so nothing is added.
    std::fs::remove_file(setup.path("inbox/b.xlsx")).unwrap();
    std::os::unix::fs::symlink(setup.path("share/b.xlsx"), setup.path("inbox/b.xlsx")).unwrap();
    assert!(run_relative(&setup).status.success());
    let json = setup.json();
    assert_eq!(json["providers"].as_array().unwrap().len(), 2);
    assert!(
        json["changes"].as_array().is_none_or(|c| c.is_empty()),
        "{}",
        json["changes"]
    );
}

#[test]
fn a_removed_workbook_takes_its_provider_out_of_the_portfolio() {
    let setup = Setup::new("0 6 * * *", "");
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE"], "Own entity");
    provider_workbook(&setup.path("inbox/b.xlsx"), "Beta", &["DE"], "Own entity");
    setup.run();
    std::fs::remove_file(setup.path("inbox/b.xlsx")).unwrap();
    setup.run();
    let json = setup.json();
    assert_eq!(json["providers"].as_array().unwrap().len(), 1);
    assert_eq!(json["changes"][0]["kind"], "provider_removed");
    assert!(
        !setup.path("out/b.annotated.xlsx").exists(),
        "its annotated copy goes with it"
    );
    assert!(setup.path("out/a.annotated.xlsx").is_file());
}

#[test]
fn history_prints_a_providers_tiers_over_time() {
    let setup = Setup::new("0 6 * * *", "");
    let wb = setup.path("inbox/a.xlsx");
    provider_workbook(&wb, "Alpha", &["DE"], "Own entity");
    setup.run();
    provider_workbook(&wb, "Alpha", &["DE"], "Forwarding only");
    setup.run();
    let out = iorready(&["history", "--config", &setup.config(), "Alpha", "--country", "de"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let tiers: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("DE "))
        .map(|l| {
            if l.contains("ready") {
                "ready"
            } else if l.contains("not_capable") {
                "not_capable"
            } else {
                "?"
            }
        })
        .collect();
    assert_eq!(tiers, ["ready", "not_capable"], "{text}");
}

#[test]
fn a_second_daemon_on_the_same_state_refuses_to_start() {
    let setup = Setup::new("0 6 * * *", "");
    let mut first = setup.daemon();
    wait_for("the first daemon's lock", Duration::from_secs(20), || {
        setup.path("state/daemon.lock").is_file()
            && std::fs::read_to_string(setup.path("state/daemon.lock")).is_ok_and(|s| !s.is_empty())
    });
    let second = iorready(&["daemon", "--config", &setup.config()]);
    assert_eq!(second.status.code(), Some(2));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("already running"), "{err}");
    first.kill().unwrap();
    first.wait().unwrap();
}

fn http_get(addr: &str, path: &str) -> (u16, String) {
    let r = reqwest::blocking::get(format!("http://{addr}{path}")).unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[cfg(unix)]
fn terminate(child: &Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
}

/// The family a metrics sample belongs to: its name without labels.
fn sample_family(line: &str) -> &str {
    line.split(['{', ' ']).next().unwrap_or(line)
}

#[cfg(unix)]
#[test]
fn every_metrics_sample_sits_under_its_own_familys_type_line() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let setup = Setup::new("* * * * * *", &format!("[service]\nlisten = \"{addr}\"\n"));
    let mut daemon = setup.daemon();
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE"], "Own entity");
    wait_for("a finished run", Duration::from_secs(30), || {
        reqwest::blocking::get(format!("http://{addr}/metrics"))
            .ok()
            .and_then(|r| r.text().ok())
            .is_some_and(|m| m.contains("iorready_job_last_run_success{"))
    });
    let metrics = http_get(&addr, "/metrics").1;
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let mut typed = "";
    for line in metrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            typed = rest.split(' ').next().unwrap();
        } else if !line.starts_with('#') && !line.is_empty() {
            assert_eq!(
                sample_family(line),
                typed,
                "{line} is not under its TYPE line:\n{metrics}"
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn the_daemon_picks_up_a_dropped_workbook_serves_health_and_metrics_and_stops_on_sigterm() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let setup = Setup::new("* * * * * *", &format!("[service]\nlisten = \"{addr}\"\n"));
    let mut daemon = setup.daemon();
    let annotated = setup.path("out/a.annotated.xlsx");
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE"], "Own entity");
    wait_for("the annotated copy", Duration::from_secs(30), || annotated.is_file());
    wait_for("the endpoint", Duration::from_secs(10), || {
        reqwest::blocking::get(format!("http://{addr}/healthz")).is_ok()
    });
    assert_eq!(http_get(&addr, "/healthz").0, 200);
    // The copy is in place a moment before the run is recorded as ended.
    wait_for("the run's end", Duration::from_secs(10), || {
        http_get(&addr, "/metrics").1.contains("outcome=\"ok\"")
    });
    let (status, metrics) = http_get(&addr, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("iorready_runs_total{job=\"inbox\",outcome=\"ok\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("iorready_workbooks_scored_total{job=\"inbox\"} 1"),
        "{metrics}"
    );
    // Later runs leave the unchanged workbook alone.
    let first = modified(&annotated);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(modified(&annotated), first);
    let status = iorready(&["status", "--config", &setup.config()]);
    assert!(stdout(&status).contains("daemon running"), "{}", stdout(&status));
    terminate(&daemon);
    let start = Instant::now();
    let exit = loop {
        if let Some(s) = daemon.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the daemon did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success());
    let mut log = String::new();
    std::io::Read::read_to_string(&mut daemon.stderr.take().unwrap(), &mut log).unwrap();
    let line = log.lines().find(|l| l.contains("run finished")).unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {log}"));
    assert_eq!(parsed["job"], "inbox");
}

#[cfg(unix)]
#[test]
fn healthz_turns_503_when_a_job_keeps_failing() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let setup = Setup::new(
        "* * * * * *",
        &format!("[service]\nlisten = \"{addr}\"\nunhealthy_after_failures = 2\n"),
    );
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE"], "Own entity");
    // The output folder cannot be created: a file stands where it should be.
    std::fs::write(setup.path("out"), b"not a folder").unwrap();
    let mut daemon = setup.daemon();
    wait_for("two failed runs", Duration::from_secs(30), || {
        reqwest::blocking::get(format!("http://{addr}/healthz")).is_ok_and(|r| r.status().as_u16() == 503)
    });
    let (_, body) = http_get(&addr, "/healthz");
    assert!(body.contains("job 'inbox'"), "{body}");
    daemon.kill().unwrap();
    daemon.wait().unwrap();
}

fn last_run_id(setup: &Setup) -> i64 {
    iorready::daemon::State::open(&setup.path("state"))
        .and_then(|s| s.runs(Some("inbox"), 1))
        .ok()
        .and_then(|r| r.first().map(|r| r.id))
        .unwrap_or(0)
}

/// The crash-safety test: the daemon is killed with SIGKILL at random
/// moments of its runs while workbooks keep arriving and changing; after a
/// last clean run every workbook has its annotated copy, the portfolio and
/// JSON hold every provider once, no temporary file is left behind, and the
/// state has no run still marked running.
#[cfg(unix)]
#[test]
fn killing_the_daemon_at_random_moments_loses_nothing() {
    let setup = Setup::new("* * * * * *", "");
    let mut rng = 0x2545F4914F6CDD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    // Thirty countries per workbook make runs long enough to be cut.
    let countries: Vec<&str> = Country::all().take(30).map(|c| c.alpha2()).collect();
    let (rounds, per_round) = (10, 4);
    for round in 0..rounds {
        // New and changed workbooks for this round.
        for i in 0..per_round {
            let n = round * per_round + i;
            provider_workbook(
                &setup.path(&format!("inbox/p{n:03}.xlsx")),
                &format!("Provider {n:03}"),
                &countries,
                "Own entity",
            );
        }
        if round > 0 {
            let n = next() % (round as u64 * per_round as u64);
            let model = if next() % 2 == 0 {
                "Contracted partner"
            } else {
                "Partner sourced on demand"
            };
            provider_workbook(
                &setup.path(&format!("inbox/p{n:03}.xlsx")),
                &format!("Provider {n:03}"),
                &countries,
                model,
            );
        }
        let mut daemon = setup.daemon();
        // Kill at a random moment of a run: wait for one to start, then a
        // random while longer (some kills land after it ended).
        let seen = last_run_id(&setup);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            let runs = iorready::daemon::State::open(&setup.path("state"))
                .and_then(|s| s.runs(Some("inbox"), 1))
                .unwrap_or_default();
            if runs
                .first()
                .is_some_and(|r| r.id > seen && r.outcome == iorready::daemon::Outcome::Running)
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(next() % 400));
        daemon.kill().unwrap();
        daemon.wait().unwrap();
    }
    // A last, clean run finishes whatever the kills left.
    setup.run();
    // The kills did cut runs short (the test exercises what it claims).
    let state = iorready::daemon::State::open(&setup.path("state")).unwrap();
    let runs = state.runs(Some("inbox"), 10_000).unwrap();
    let cut = runs
        .iter()
        .filter(|r| r.outcome == iorready::daemon::Outcome::Interrupted)
        .count();
    eprintln!("{} runs, {cut} cut short by a kill", runs.len());
    assert!(cut > 0, "no kill landed inside a run");
    let total = rounds * per_round;
    for n in 0..total {
        let annotated = setup.path(&format!("out/p{n:03}.annotated.xlsx"));
        assert!(annotated.is_file(), "{} missing", annotated.display());
        sheet(&annotated, "Countries");
    }
    let json = setup.json();
    let mut names = common::provider_names(&json);
    names.sort();
    let expected: Vec<String> = (0..total).map(|n| format!("Provider {n:03}")).collect();
    assert_eq!(names, expected);
    sheet(&setup.path("out/portfolio.xlsx"), "Matrix");
    let leftovers: Vec<String> = std::fs::read_dir(setup.path("out"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let status = stdout(&iorready(&["status", "--config", &setup.config()]));
    assert!(status.contains("inbox                ok"), "{status}");
    // A further run finds nothing to do.
    let again = stdout(&setup.run());
    assert!(again.contains(&format!("0 scored, {total} unchanged")), "{again}");
    // History and the endpoint tell the same story.
    let history = stdout(&iorready(&["history", "--config", &setup.config(), "Provider 000"]));
    assert!(history.contains("Provider 000"), "{history}");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let config = std::fs::read_to_string(setup.path("iorready.toml")).unwrap();
    std::fs::write(
        setup.path("iorready.toml"),
        config.replace(
            "[jobs.inbox]",
            &format!("[service]\nlisten = \"{addr}\"\n\n[jobs.inbox]"),
        ),
    )
    .unwrap();
    let mut daemon = setup.daemon();
    wait_for("the endpoint", Duration::from_secs(10), || {
        reqwest::blocking::get(format!("http://{addr}/healthz")).is_ok()
    });
    assert_eq!(http_get(&addr, "/healthz").0, 200);
    let metrics = http_get(&addr, "/metrics").1;
    assert!(
        metrics.contains("iorready_runs_total{job=\"inbox\",outcome=\"interrupted\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("iorready_job_failures_in_a_row{job=\"inbox\"} 0"),
        "{metrics}"
    );
    daemon.kill().unwrap();
    daemon.wait().unwrap();
}

/// Moves the start of every recorded run back by `hours`, as if the daemon
/// had been down since.
fn age_runs(setup: &Setup, hours: i64) {
    let conn = rusqlite::Connection::open(setup.path("state/iorready.sqlite")).unwrap();
    let then = (chrono::Utc::now() - chrono::Duration::hours(hours)).to_rfc3339();
    conn.execute("UPDATE runs SET started = ?1, finished = ?1", [then])
        .unwrap();
}

fn run_count(setup: &Setup) -> usize {
    iorready::daemon::State::open(&setup.path("state"))
        .and_then(|s| s.runs(Some("inbox"), 1000))
        .map(|r| r.len())
        .unwrap_or(0)
}

#[cfg(unix)]
#[test]
fn runs_missed_while_the_daemon_was_down_are_made_up_once() {
    // Daily at 06:00: a run older than a day has missed at least one slot.
    let setup = Setup::new("0 6 * * *", "");
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE"], "Own entity");
    setup.run();
    age_runs(&setup, 72);
    let mut daemon = setup.daemon();
    wait_for("the made-up run", Duration::from_secs(20), || run_count(&setup) == 2);
    // Three missed slots, one run: nothing more comes before the next slot.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(run_count(&setup), 2);
    daemon.kill().unwrap();
    daemon.wait().unwrap();
}

#[cfg(unix)]
#[test]
fn a_daemon_started_on_schedule_does_not_run_before_its_slot() {
    let setup = Setup::new("0 6 * * *", "");
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE"], "Own entity");
    setup.run();
    let mut daemon = setup.daemon();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(run_count(&setup), 1);
    daemon.kill().unwrap();
    daemon.wait().unwrap();
}

#[test]
fn a_run_stopped_with_inputs_left_keeps_the_last_complete_portfolio_and_json() {
    let setup = Setup::new("0 6 * * *", "");
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE"], "Own entity");
    setup.run();
    let portfolio = std::fs::read(setup.path("out/portfolio.xlsx")).unwrap();
    let json = std::fs::read(setup.path("out/result.json")).unwrap();
    provider_workbook(&setup.path("inbox/b.xlsx"), "Beta", &["FR"], "Own entity");
    let config = iorready::daemon::JobsConfig::load(&setup.path("iorready.toml")).unwrap();
    let job = config.job("inbox").unwrap();
    let state = std::sync::Arc::new(iorready::daemon::State::open(&config.state_dir).unwrap());
    let options = iorready::daemon::RunOptions {
        stop: Some(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true))),
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 24),
        ..Default::default()
    };
    let report = iorready::daemon::run_job(job, &config.state_dir, &state, options).unwrap();
    assert_eq!(report.outcome, iorready::daemon::Outcome::Interrupted);
    assert!(std::fs::read(setup.path("out/portfolio.xlsx")).unwrap() == portfolio);
    assert!(std::fs::read(setup.path("out/result.json")).unwrap() == json);
    assert!(state.changes_of(report.run_id).unwrap().is_empty());
}

impl Setup {
    fn run_as_of(&self, as_of: &str) -> std::process::Output {
        let out = iorready(&["run", "--config", &self.config(), "--as-of", as_of]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out
    }

    /// The annotated copies in the output folder, by name.
    fn annotated_copies(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path("out"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".annotated.xlsx"))
            .collect();
        names.sort();
        names
    }
}

/// Every cell of an annotated copy's Readiness sheet, as text.
fn readiness_text(path: &Path) -> String {
    sheet(path, "Readiness")
        .rows()
        .flat_map(|r| r.iter().map(|c| c.to_string()))
        .collect::<Vec<_>>()
        .join("|")
}

#[test]
fn a_workbook_moved_to_another_folder_keeps_its_annotated_copy() {
    let setup = Setup::new("0 6 * * *", "");
    std::fs::create_dir_all(setup.path("inbox/march")).unwrap();
    std::fs::create_dir_all(setup.path("inbox/april")).unwrap();
    provider_workbook(&setup.path("inbox/march/a.xlsx"), "Alpha", &["DE"], "Own entity");
    setup.run();
    std::fs::rename(setup.path("inbox/march/a.xlsx"), setup.path("inbox/april/a.xlsx")).unwrap();
    setup.run();
    assert_eq!(setup.annotated_copies(), ["a.annotated.xlsx"]);
    assert!(readiness_text(&setup.path("out/a.annotated.xlsx")).contains("Alpha"));
}

/// Two workbooks named `a.xlsx` in two folders: the first (in name order)
/// gets `a.annotated.xlsx`, the second `a-2.annotated.xlsx`; then the
/// first goes.
fn the_first_of_two_same_named_workbooks_goes(setup: &Setup) {
    std::fs::create_dir_all(setup.path("inbox/1")).unwrap();
    std::fs::create_dir_all(setup.path("inbox/2")).unwrap();
    provider_workbook(&setup.path("inbox/1/a.xlsx"), "Alpha", &["DE"], "Own entity");
    provider_workbook(&setup.path("inbox/2/a.xlsx"), "Beta", &["FR"], "Own entity");
    setup.run();
    assert_eq!(setup.annotated_copies(), ["a-2.annotated.xlsx", "a.annotated.xlsx"]);
    std::fs::remove_file(setup.path("inbox/1/a.xlsx")).unwrap();
}

#[test]
fn when_one_of_two_same_named_workbooks_goes_the_other_takes_over_the_name() {
    let setup = Setup::new("0 6 * * *", "");
    the_first_of_two_same_named_workbooks_goes(&setup);
    setup.run();
    assert_eq!(setup.annotated_copies(), ["a.annotated.xlsx"]);
    let copy = readiness_text(&setup.path("out/a.annotated.xlsx"));
    assert!(copy.contains("Beta") && !copy.contains("Alpha"), "{copy}");
}

#[test]
fn when_one_of_two_same_named_workbooks_goes_on_another_day_the_other_takes_over_the_name() {
    let setup = Setup::new("0 6 * * *", "");
    the_first_of_two_same_named_workbooks_goes(&setup);
    setup.run_as_of("2026-11-25");
    assert_eq!(setup.annotated_copies(), ["a.annotated.xlsx"]);
    let copy = readiness_text(&setup.path("out/a.annotated.xlsx"));
    assert!(copy.contains("Beta") && !copy.contains("Alpha"), "{copy}");
}

#[test]
fn an_emptied_inbox_empties_the_portfolio_the_json_and_the_annotated_copies() {
    let setup = Setup::new("0 6 * * *", "");
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE"], "Own entity");
    setup.run();
    std::fs::remove_file(setup.path("inbox/a.xlsx")).unwrap();
    setup.run();
    let json = setup.json();
    assert_eq!(json["providers"].as_array().unwrap().len(), 0);
    assert_eq!(json["changes"][0]["kind"], "provider_removed");
    let providers = sheet(&setup.path("out/portfolio.xlsx"), "Providers");
    assert!(
        !providers.rows().flatten().any(|c| *c == "Alpha"),
        "the portfolio still lists Alpha"
    );
    assert!(setup.annotated_copies().is_empty(), "{:?}", setup.annotated_copies());
}

#[test]
fn a_workbook_whose_annotated_copy_cannot_be_written_is_tried_again_next_run() {
    let setup = Setup::new("0 6 * * *", "");
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE"], "Own entity");
    // A folder stands where the annotated copy goes: writing it fails.
    std::fs::create_dir_all(setup.path("out/a.annotated.xlsx")).unwrap();
    let first = stdout(&iorready(&[
        "run",
        "--config",
        &setup.config(),
        "--as-of",
        "2026-11-24",
    ]));
    assert!(first.contains("1 not scored"), "{first}");
    std::fs::remove_dir(setup.path("out/a.annotated.xlsx")).unwrap();
    let second = stdout(&setup.run());
    assert!(second.contains("1 scored"), "{second}");
    assert!(readiness_text(&setup.path("out/a.annotated.xlsx")).contains("Alpha"));
}

/// The kinds of the changes the last run listed in the JSON.
fn change_kinds(setup: &Setup) -> Vec<String> {
    setup.json()["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_workbook_failing_on_a_passing_fault_keeps_its_provider_and_is_neither_removed_nor_added_again() {
    let setup = Setup::new("0 6 * * *", "");
    provider_workbook(&setup.path("inbox/a.xlsx"), "Alpha", &["DE"], "Own entity");
    provider_workbook(&setup.path("inbox/b.xlsx"), "Beta", &["FR"], "Own entity");
    setup.run();
    // A folder now stands where Beta's annotated copy goes: it is scored
    // again and writing its copy fails, a passing fault (even as root).
    std::fs::remove_file(setup.path("out/b.annotated.xlsx")).unwrap();
    std::fs::create_dir(setup.path("out/b.annotated.xlsx")).unwrap();
    let second = stdout(&iorready(&[
        "run",
        "--config",
        &setup.config(),
        "--as-of",
        "2026-11-24",
    ]));
    assert!(second.contains("1 not scored"), "{second}");
    assert_eq!(common::provider_names(&setup.json()), ["Alpha", "Beta"]);
    assert!(change_kinds(&setup).is_empty(), "{:?}", change_kinds(&setup));
    let providers = sheet(&setup.path("out/portfolio.xlsx"), "Providers");
    assert!(
        providers.rows().flatten().any(|c| *c == "Beta"),
        "the portfolio lost Beta"
    );
    std::fs::remove_dir(setup.path("out/b.annotated.xlsx")).unwrap();
    let third = stdout(&setup.run());
    assert!(third.contains("1 scored"), "{third}");
    assert!(change_kinds(&setup).is_empty(), "{:?}", change_kinds(&setup));
}

#[test]
fn a_damaged_workbook_is_remembered_and_not_read_again_until_it_changes() {
    let setup = Setup::new("0 6 * * *", "");
    let wb = setup.path("inbox/a.xlsx");
    provider_workbook(&wb, "Alpha", &["DE"], "Own entity");
    // The second half of the workbook is lost.
    let bytes = std::fs::read(&wb).unwrap();
    std::fs::write(&wb, &bytes[..bytes.len() / 2]).unwrap();
    let first = stdout(&iorready(&[
        "run",
        "--config",
        &setup.config(),
        "--as-of",
        "2026-11-24",
    ]));
    assert!(first.contains("1 not scored"), "{first}");
    let second = stdout(&iorready(&[
        "run",
        "--config",
        &setup.config(),
        "--as-of",
        "2026-11-24",
    ]));
    assert!(second.contains("0 scored, 1 unchanged"), "{second}");
}
