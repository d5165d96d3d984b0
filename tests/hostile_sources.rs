//! Hostile and failing sources, from the command line: a run that cannot
//! reach its API fails as a runtime failure (exit 1), not as a usage error;
//! what a file name or an API says cannot forge a log line; logs carry no
//! terminal colours outside a terminal.

#[path = "support/api.rs"]
mod api;
mod common;

use std::path::Path;

/// A connectors folder with one connector `c` at `base` reading `/path`.
fn connector_dir(base: &str, path: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        format!("[connector]\nname = \"c\"\nbase_url = \"{base}\"\n[limits]\nbackoff_base_ms = 10\nmax_retries = 1\n[[streams]]\nname = \"s\"\npath = \"{path}\"\n"),
    )
    .unwrap();
    dir
}

/// An address nothing listens on.
fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn connector_read_of_an_api_that_refuses_the_connection_exits_1() {
    let dir = connector_dir(&closed_port(), "/x");
    let o = common::iorready(&["connector", "--connectors", dir.path().to_str().unwrap(), "read", "c"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("refused"), "{}", stderr(&o));
}

#[test]
fn connector_read_answered_401_exits_1() {
    let (addr, _) = api::start();
    let dir = connector_dir(&format!("http://{addr}"), "/secure/suppliers");
    let o = common::iorready(&["connector", "--connectors", dir.path().to_str().unwrap(), "read", "c"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("HTTP 401"), "{}", stderr(&o));
}

#[test]
fn score_from_a_connector_whose_api_refuses_the_connection_exits_1() {
    let base = closed_port();
    let out = tempfile::tempdir().unwrap();
    let o = assert_cmd::Command::cargo_bin("iorready")
        .unwrap()
        .args(["score", "--connector", "coupa-ior-form", "-q", "--connectors-dir"])
        .arg(common::root().join("connectors"))
        .arg("--mappings")
        .arg(common::root().join("mappings"))
        .arg("--out")
        .arg(out.path())
        .env("COUPA_URL", format!("{base}/api/"))
        .env("COUPA_TOKEN_URL", format!("{base}/oauth2/token"))
        .env("COUPA_CLIENT_ID", "client")
        .env("COUPA_CLIENT_SECRET", "secret-abcdef-123456")
        .env("COUPA_IOR_FORM_ID", "3")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn a_usage_error_still_exits_2() {
    let out = tempfile::tempdir().unwrap();
    let o = common::iorready(&["score", "/no/such/folder", "--out", out.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// Scores `inputs` with info logs in the given format; returns stderr.
fn score_logs(inputs: &Path, format: &str) -> String {
    let out = tempfile::tempdir().unwrap();
    let o = common::iorready(&[
        "score",
        inputs.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "-v",
        "--log-format",
        format,
        "--as-of",
        "2026-11-24",
    ]);
    stderr(&o)
}

/// A folder with one good workbook and one unreadable one whose name
/// carries a newline, an escape sequence and a forged log line.
fn forged_names() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::examples().join("meridian-trade-compliance.xlsx"),
        dir.path().join("meridian.xlsx"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("x\n2026-01-01T00:00:00Z ERROR forged\x1b[2K.xlsx"),
        b"not a workbook",
    )
    .unwrap();
    dir
}

#[test]
fn a_file_name_with_a_newline_cannot_forge_a_text_log_line() {
    let dir = forged_names();
    let logs = score_logs(dir.path(), "text");
    assert!(logs.contains("\\n2026-01-01T00:00:00Z ERROR forged"), "{logs}");
    assert!(
        !logs.lines().any(|l| l.starts_with("2026-01-01T00:00:00Z ERROR forged")),
        "{logs}"
    );
    assert!(!logs.contains('\x1b'), "{logs}");
}

#[test]
fn a_file_name_with_control_characters_is_escaped_in_the_run_summary() {
    let dir = forged_names();
    let out = tempfile::tempdir().unwrap();
    let o = common::iorready(&[
        "score",
        dir.path().to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("x\\n2026-01-01T00:00:00Z ERROR forged\\x1b[2K.xlsx"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "{text}");
}

#[test]
fn json_logs_keep_control_characters_inside_their_strings() {
    let dir = forged_names();
    let logs = score_logs(dir.path(), "json");
    for line in logs.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}

#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let logs = score_logs(&common::examples(), "text");
    assert!(logs.contains("INFO"), "{logs}");
    assert!(!logs.contains("\x1b["), "{logs:?}");
}

/// A server that answers 200 with a 1,000-byte body, then sends one byte
/// every 300 ms.
fn trickling_server() -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n[";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for _ in 0..999 {
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    if stream.write_all(b" ").is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_body_that_trickles_in_past_the_timeout_is_reported_as_timed_out_naming_the_limit() {
    let addr = trickling_server();
    let text = format!(
        "[connector]\nname = \"c\"\nbase_url = \"http://{addr}\"\n[limits]\ntimeout_seconds = 1\nmax_retries = 1\nbackoff_base_ms = 10\n[[streams]]\nname = \"s\"\npath = \"/x\"\n"
    );
    let c = iorready::connectors::Connector::from_source(&iorready::config::Source::new("c.toml", text)).unwrap();
    let started = std::time::Instant::now();
    let e = common::read_connector(c).unwrap_err();
    eprintln!("trickling body: failed after {:.1} s", started.elapsed().as_secs_f64());
    assert!(e.message.contains("timed out"), "{e}");
    assert!(e.message.contains("1 s (limits.timeout_seconds)"), "{e}");
    assert!(!e.message.contains("cut short"), "{e}");
}

fn load(text: &str) -> Result<iorready::connectors::Connector, iorready::config::ConfigError> {
    iorready::connectors::Connector::from_source(&iorready::config::Source::new("c.toml", text.to_owned()))
}

const BASIC: &str = "[auth]\ntype = \"basic\"\nusername = \"ior\"\npassword = \"${env:IORREADY_TEST_UNSET_PASSWORD}\"\n[[streams]]\nname = \"s\"\npath = \"/x\"\n";

#[test]
fn credentials_over_plain_http_to_another_host_are_refused_naming_the_key() {
    let e = load(&format!(
        "[connector]\nname = \"c\"\nbase_url = \"http://erp.example.com/api\"\n{BASIC}"
    ))
    .unwrap_err();
    assert!(e.to_string().contains("connector.base_url"), "{e}");
    assert!(e.to_string().contains("allow_insecure_http"), "{e}");
}

#[test]
fn a_token_url_over_plain_http_to_another_host_is_refused_naming_the_key() {
    let e = load("[connector]\nname = \"c\"\nbase_url = \"https://erp.example.com/api\"\n[auth]\ntype = \"oauth2_client_credentials\"\ntoken_url = \"http://login.example.com/token\"\nclient_id = \"${env:X_ID}\"\nclient_secret = \"${env:X_SECRET}\"\n[[streams]]\nname = \"s\"\npath = \"/x\"\n").unwrap_err();
    assert!(e.to_string().contains("auth.token_url"), "{e}");
}

#[test]
fn credentials_over_plain_http_to_this_machine_are_allowed() {
    for host in ["127.0.0.1:8000", "localhost:8000", "[::1]:8000"] {
        load(&format!(
            "[connector]\nname = \"c\"\nbase_url = \"http://{host}/api\"\n{BASIC}"
        ))
        .unwrap();
    }
}

#[test]
fn allow_insecure_http_lets_a_trusted_network_use_plain_http() {
    load(&format!(
        "[connector]\nname = \"c\"\nbase_url = \"http://erp.example.com/api\"\nallow_insecure_http = true\n{BASIC}"
    ))
    .unwrap();
}

#[test]
fn plain_http_without_credentials_is_allowed() {
    load("[connector]\nname = \"c\"\nbase_url = \"http://open-data.example.com/\"\n[[streams]]\nname = \"s\"\npath = \"/x\"\n").unwrap();
}

/// A server that answers every request 400 with a JSON message quoting
/// the request line and its Authorization header after `padding`
/// characters, as some APIs echo what they were sent.
fn echoing_server(padding: usize) -> std::net::SocketAddr {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push(line.trim_end().to_owned());
            }
            let auth = head
                .iter()
                .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                .cloned()
                .unwrap_or_default();
            let message = format!(
                "{}rejected {} with {auth}",
                "x".repeat(padding),
                head.first().cloned().unwrap_or_default()
            );
            let body = serde_json::json!({ "message": message }).to_string();
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

/// `connector read` of a connector at `addr` with `auth`, with the
/// environment `env`, in text and JSON logs; returns both stderrs.
fn read_echoed(addr: std::net::SocketAddr, path: &str, auth: &str, env: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        format!("[connector]\nname = \"c\"\nbase_url = \"http://{addr}\"\n{auth}\n[limits]\nmax_retries = 0\n[[streams]]\nname = \"s\"\npath = \"{path}\"\n"),
    )
    .unwrap();
    ["text", "json"]
        .iter()
        .map(|format| {
            let mut cmd = assert_cmd::Command::cargo_bin("iorready").unwrap();
            cmd.args(["--log-format", format, "-v", "connector", "--connectors"])
                .arg(dir.path())
                .args(["read", "c"]);
            for (k, v) in env {
                cmd.env(k, v);
            }
            let o = cmd.output().unwrap();
            assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
            stderr(&o)
        })
        .collect()
}

#[test]
fn the_base64_of_basic_credentials_echoed_by_an_api_is_scrubbed() {
    let addr = echoing_server(0);
    let auth = "[auth]\ntype = \"basic\"\nusername = \"ior-user\"\npassword = \"${env:IORREADY_T4_PASSWORD}\"";
    for logs in read_echoed(addr, "/x", auth, &[("IORREADY_T4_PASSWORD", "Zq9!pass word/2026")]) {
        // base64("ior-user:Zq9!pass word/2026")
        assert!(!logs.contains("aW9yLXVzZXI6WnE5IXBhc3Mgd29yZC8yMDI2"), "{logs}");
        assert!(logs.contains("Basic ***"), "{logs}");
    }
}

#[test]
fn a_percent_encoded_api_key_echoed_by_an_api_is_scrubbed() {
    let addr = echoing_server(0);
    let auth = "[auth]\ntype = \"api_key\"\nname = \"key\"\nvalue = \"${env:IORREADY_T4_KEY}\"\nin = \"query\"";
    for logs in read_echoed(addr, "/x", auth, &[("IORREADY_T4_KEY", "k3y/with+plus=&more")]) {
        assert!(!logs.contains("k3y%2Fwith%2Bplus%3D%26more"), "{logs}");
        assert!(!logs.contains("k3y/with+plus"), "{logs}");
    }
}

#[test]
fn a_bearer_token_cut_by_the_excerpt_is_scrubbed_before_it_is_cut() {
    let token = "tok-0123456789abcdefghijklmnopqrstuv";
    // The message's first 300 characters end 22 characters into the token.
    let addr = echoing_server(300 - "rejected GET /x HTTP/1.1 with authorization: Bearer ".len() - 22);
    let auth = "[auth]\ntype = \"bearer\"\ntoken = \"${env:IORREADY_T4_TOKEN}\"";
    for logs in read_echoed(addr, "/x", auth, &[("IORREADY_T4_TOKEN", token)]) {
        assert!(!logs.contains(&token[..8]), "{logs}");
        assert!(logs.contains("rejected GET"), "{logs}");
    }
}

/// Suppliers `x/y`, `x_y`, `ABC` and `abc`, each with one attachment
/// `dup.xlsx`: a different demo workbook for each.
fn suppliers_with_clashing_ids() -> std::net::SocketAddr {
    use axum::routing::get;
    const IDS: [&str; 4] = ["x/y", "x_y", "ABC", "abc"];
    const BOOKS: [&str; 4] = [
        "meridian-trade-compliance.xlsx",
        "swiftfreight-logistics.xlsx",
        "globereach-ior-network.xlsx",
        "atlas-import-services.xlsx",
    ];
    let app = axum::Router::new()
        .route(
            "/suppliers",
            get(|| async {
                axum::Json(serde_json::json!(IDS
                    .iter()
                    .map(|id| serde_json::json!({ "id": id }))
                    .collect::<Vec<_>>()))
            }),
        )
        .route(
            "/files/{id}",
            get(|axum::extract::Path(id): axum::extract::Path<String>| async move {
                let n = IDS.iter().position(|x| *x == id).unwrap();
                axum::Json(serde_json::json!([{ "id": n, "name": "dup.xlsx", "url": format!("/download/{n}") }]))
            }),
        )
        .route(
            "/download/{n}",
            get(|axum::extract::Path(n): axum::extract::Path<usize>| async move {
                std::fs::read(common::examples().join(BOOKS[n])).unwrap()
            }),
        );
    api::serve(app)
}

#[test]
fn suppliers_whose_ids_differ_only_in_unsafe_characters_or_case_keep_their_own_files() {
    let addr = suppliers_with_clashing_ids();
    let defs = tempfile::tempdir().unwrap();
    std::fs::write(
        defs.path().join("c.toml"),
        format!("[connector]\nname = \"c\"\nbase_url = \"http://{addr}\"\n[[streams]]\nname = \"suppliers\"\npath = \"/suppliers\"\n[[streams]]\nname = \"files\"\nparent = \"suppliers\"\npath = \"/files/{{parent:/id}}\"\nfile = {{ name = \"/name\", url = \"/url\" }}\n"),
    )
    .unwrap();
    let mirror = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = rt
        .block_on(iorready::connectors::fetch_workbooks(
            defs.path(),
            "c",
            mirror.path(),
            &[],
            false,
        ))
        .unwrap();
    assert_eq!(out.files.len(), 4, "{:?}", out.files);
    let mut folders: Vec<String> = out
        .files
        .iter()
        .map(|f| f.path.parent().unwrap().to_string_lossy().to_lowercase())
        .collect();
    folders.sort();
    folders.dedup();
    assert_eq!(folders.len(), 4, "{folders:?}");
    let mut digests: Vec<_> = out.files.iter().map(|f| std::fs::read(&f.path).unwrap()).collect();
    digests.sort();
    digests.dedup();
    assert_eq!(digests.len(), 4, "each supplier's own workbook");
}

/// A file stream of two workbooks whose second download is refused (404).
fn one_download_refused() -> tempfile::TempDir {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/files",
            get(|| async {
                axum::Json(serde_json::json!([
                    { "id": 1, "name": "meridian.xlsx", "url": "/download/1" },
                    { "id": 2, "name": "atlas.xlsx", "url": "/download/2" },
                ]))
            }),
        )
        .route(
            "/download/1",
            get(|| async { std::fs::read(common::examples().join("meridian-trade-compliance.xlsx")).unwrap() }),
        );
    let addr = api::serve(app);
    let defs = tempfile::tempdir().unwrap();
    std::fs::write(
        defs.path().join("c.toml"),
        format!("[connector]\nname = \"c\"\nbase_url = \"http://{addr}\"\n[[streams]]\nname = \"files\"\npath = \"/files\"\nfile = {{ name = \"/name\", url = \"/url\" }}\n"),
    )
    .unwrap();
    defs
}

#[test]
fn score_from_a_connector_reports_a_file_it_could_not_fetch_as_not_scored_and_exits_1() {
    let defs = one_download_refused();
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("result.json");
    let o = common::iorready(&[
        "score",
        "--connector",
        "c",
        "--connectors-dir",
        defs.path().to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--as-of",
        "2026-11-24",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("atlas.xlsx (connector 'c'): not fetched: HTTP 404"),
        "{text}"
    );
    let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let errors = result["errors"].to_string();
    assert!(
        errors.contains("atlas.xlsx") && errors.contains("not fetched"),
        "{errors}"
    );
    assert_eq!(
        result["providers"].as_array().unwrap().len(),
        1,
        "the other file is scored"
    );
}

#[test]
fn a_run_into_a_folder_removes_the_outputs_an_earlier_run_left_there() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let json = out.path().join("result.json");
    let first = common::iorready(&[
        "score",
        common::examples().to_str().unwrap(),
        "--out",
        o,
        "--json",
        json.to_str().unwrap(),
        "--as-of",
        "2026-11-24",
        "-q",
    ]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(json.is_file() && out.path().join("globereach-ior-network.annotated.xlsx").is_file());
    let layouts = common::root().join("examples/layouts/erp-supplier-export.json");
    let second = common::iorready(&[
        "score",
        layouts.to_str().unwrap(),
        "--out",
        o,
        "--as-of",
        "2026-11-24",
        "-q",
    ]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(out.path().join("portfolio.xlsx").is_file());
    assert!(
        !json.exists(),
        "the first run's result.json no longer matches the portfolio"
    );
    assert!(!out.path().join("globereach-ior-network.annotated.xlsx").exists());
    assert!(stderr(&second).contains("Removed"), "{}", stderr(&second));
}

#[test]
fn a_file_of_the_users_in_the_output_folder_is_never_removed() {
    let out = tempfile::tempdir().unwrap();
    let mine = out.path().join("my-notes.json");
    std::fs::write(&mine, "{}").unwrap();
    let o = out.path().to_str().unwrap();
    for _ in 0..2 {
        let run = common::iorready(&[
            "score",
            common::examples().to_str().unwrap(),
            "--out",
            o,
            "--as-of",
            "2026-11-24",
            "-q",
        ]);
        assert!(run.status.success(), "{}", stderr(&run));
    }
    assert!(mine.is_file());
}

/// A stream whose every page names a next page under a fresh nonce,
/// returning `records` each time; counts the requests.
fn nonce_paging(records: serde_json::Value) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::routing::get;
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    let app = axum::Router::new().route(
        "/pages",
        get(move || {
            let records = records.clone();
            let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                axum::Json(serde_json::json!({ "value": records, "next": format!("/pages?nonce={n}-{}", n * 7919) }))
            }
        }),
    );
    let addr = api::serve(app);
    let text = format!("[connector]\nname = \"c\"\nbase_url = \"http://{addr}\"\n[[streams]]\nname = \"s\"\npath = \"/pages\"\nrecords = \"/value\"\npagination = {{ type = \"next_link\", next_path = \"/next\" }}\n");
    (text, count)
}

#[test]
fn a_next_link_that_changes_a_nonce_on_pages_that_repeat_their_records_is_stopped_at_the_second_page() {
    let (text, requests) = nonce_paging(serde_json::json!([{ "id": 1 }, { "id": 2 }]));
    let started = std::time::Instant::now();
    let e = common::read_connector(load(&text).unwrap()).unwrap_err();
    eprintln!(
        "nonce loop: stopped after {} requests in {:.3} s",
        requests.load(std::sync::atomic::Ordering::SeqCst),
        started.elapsed().as_secs_f64()
    );
    assert!(e.message.contains("repeats the records of an earlier page"), "{e}");
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn the_default_page_limit_is_what_a_real_api_needs() {
    let c =
        load("[connector]\nname = \"c\"\nbase_url = \"http://127.0.0.1\"\n[[streams]]\nname = \"s\"\npath = \"/x\"\n")
            .unwrap();
    assert_eq!(c.limits.max_pages, 10_000);
}

/// Runs `iorready args`, sampling its peak resident memory (VmHWM) until
/// it ends; returns the output and the peak in MiB. Its output goes to
/// files, so a child that prints a lot never blocks on a full pipe.
fn with_peak_memory(args: &[&str]) -> (std::process::Output, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("iorready"))
        .args(args)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        let hwm = std::fs::read_to_string(&status).ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        });
        peak_kib = peak_kib.max(hwm.unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let output = std::process::Output {
        status: exit,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    };
    (output, peak_kib / 1024)
}

#[cfg(target_os = "linux")]
#[test]
fn an_xls_whose_few_cells_span_a_whole_sheet_is_refused_in_little_memory_naming_the_sheet_and_area() {
    let out = tempfile::tempdir().unwrap();
    let fixture = common::fixture("sprawling-cells.xls");
    let (o, peak) = with_peak_memory(&[
        "score",
        fixture.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    eprintln!("sprawling xls: peak {peak} MiB");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("sheet 'Instructions' spreads its cells over A1:IV65536"),
        "{text}"
    );
    assert!(peak < 256, "peak {peak} MiB");
}

/// A server whose `/big` answers `mb` megabytes of a JSON page of small
/// records, chunked, without a length.
fn big_page_server(mb: usize) -> std::net::SocketAddr {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/big",
        get(move || async move {
            let record = "{\"id\":1,\"name\":\"s1\"},";
            let chunk: String = record.repeat((1 << 20) / record.len());
            let mut parts: Vec<Result<String, std::io::Error>> = vec![Ok("{\"items\":[".to_owned())];
            parts.extend((0..mb).map(|_| Ok(chunk.clone())));
            parts.push(Ok("{\"id\":2}]}".to_owned()));
            axum::body::Body::from_stream(futures_util::stream::iter(parts))
        }),
    );
    api::serve(app)
}

/// `connector read c --limit 1` with the connectors in `dir`, with its
/// peak memory (see [`with_peak_memory`]).
fn first_record_with_peak_memory(dir: &Path) -> (std::process::Output, u64) {
    with_peak_memory(&[
        "connector",
        "--connectors",
        dir.to_str().unwrap(),
        "read",
        "c",
        "--limit",
        "1",
    ])
}

#[cfg(target_os = "linux")]
#[test]
fn a_page_over_the_default_limit_is_refused_without_holding_more_than_the_limit() {
    let addr = big_page_server(100);
    let dir = connector_dir(&format!("http://{addr}"), "/big");
    let (o, peak) = first_record_with_peak_memory(dir.path());
    eprintln!("100 MB page, default limit: peak {peak} MiB");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("larger than 16 MB (limits.max_body_mb)"),
        "{}",
        stderr(&o)
    );
    assert!(peak < 128, "peak {peak} MiB");
}

#[cfg(target_os = "linux")]
#[test]
fn a_page_just_under_the_default_limit_keeps_a_run_under_1_gb() {
    let addr = big_page_server(15);
    let dir = connector_dir(&format!("http://{addr}"), "/big");
    std::fs::write(
        dir.path().join("c.toml"),
        std::fs::read_to_string(dir.path().join("c.toml")).unwrap() + "records = \"/items\"\n",
    )
    .unwrap();
    let (o, peak) = first_record_with_peak_memory(dir.path());
    eprintln!("15 MB page of small records: peak {peak} MiB");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(peak < 1024, "a run stays under 1 GB: peak {peak} MiB");
}

/// Scores `dir` (or the files in `names` within it); returns stdout and
/// stderr together.
fn score_words(inputs: &[&Path]) -> (std::process::Output, String) {
    let out = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = vec!["score".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend([
        "--out".into(),
        out.path().display().to_string(),
        "--as-of".into(),
        "2026-11-24".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = common::iorready(&args);
    let text = String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o);
    (o, text)
}

#[test]
fn an_empty_xlsx_says_the_copy_did_not_finish() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("half-copied.xlsx");
    std::fs::write(&empty, b"").unwrap();
    let (_, text) = score_words(&[&empty]);
    assert!(text.contains("empty file (0 bytes): the copy did not finish"), "{text}");
    assert!(!text.contains("not a spreadsheet"), "{text}");
}

#[test]
fn a_csv_says_to_save_it_as_xlsx() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("answers.csv");
    std::fs::write(&csv, "Country,Importer of record\nDE,Yes\n").unwrap();
    let (_, text) = score_words(&[&csv]);
    assert!(text.contains("open it in Excel and save it as .xlsx"), "{text}");
}

#[test]
fn a_lock_file_beside_a_workbook_says_it_may_be_open_with_unsaved_changes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::examples().join("meridian-trade-compliance.xlsx"),
        dir.path().join("meridian.xlsx"),
    )
    .unwrap();
    std::fs::write(dir.path().join("~$meridian.xlsx"), b"lock").unwrap();
    let (o, text) = score_words(&[dir.path()]);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("may be open in Excel with unsaved changes"), "{text}");
    assert!(text.contains("last saved version is scored"), "{text}");
}

#[test]
fn a_lock_file_named_on_the_command_line_is_skipped_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("meridian.xlsx");
    std::fs::copy(common::examples().join("meridian-trade-compliance.xlsx"), &book).unwrap();
    let lock = dir.path().join("~$meridian.xlsx");
    std::fs::write(&lock, b"lock").unwrap();
    let (o, text) = score_words(&[&book, &lock]);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("skipped: an Office lock file"), "{text}");
}

#[test]
fn a_folder_without_a_spreadsheet_names_what_it_found() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "x,y\n").unwrap();
    std::fs::write(dir.path().join("b.csv"), "x,y\n").unwrap();
    std::fs::write(dir.path().join("c.pdf"), "%PDF").unwrap();
    let (o, text) = score_words(&[dir.path()]);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(text.contains("found 2 .csv, 1 .pdf"), "{text}");
    assert!(text.contains("save it as .xlsx"), "{text}");
}
