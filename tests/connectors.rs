//! The connector engine against a local API: every paging scheme, retries
//! with Retry-After, OAuth2 client credentials with a cached token
//! refreshed once when it expires mid-read, session login, and no secret
//! in any error.

#[path = "support/api.rs"]
mod api;
mod common;

use iorready::config::Source;
use iorready::connectors::{Client, Connector, ConnectorError, ReadOutcome, Redactor};

fn connector(base: &str, body: &str) -> Connector {
    let text = format!("[connector]\nname = \"test\"\nbase_url = \"http://{base}\"\n{body}");
    Connector::from_source(&Source::new("test.toml", text)).unwrap()
}

fn read(c: Connector) -> Result<(ReadOutcome, u64, u64), ConnectorError> {
    common::read_connector(c)
}

fn ids(out: &ReadOutcome) -> Vec<u64> {
    out.records.iter().map(|r| r["id"].as_u64().unwrap()).collect()
}

/// The error for a definition with one stream `s` at `/a` followed by
/// `rest`, which must be refused.
fn refused(rest: &str) -> iorready::config::ConfigError {
    let text = format!(
        "[connector]\nname = \"x\"\nbase_url = \"http://127.0.0.1\"\n[[streams]]\nname = \"s\"\npath = \"/a\"\n{rest}"
    );
    Connector::from_source(&Source::new("x.toml", text)).unwrap_err()
}

const FAST: &str = "[limits]\nbackoff_base_ms = 10\n";

#[test]
fn offset_paging_reads_every_record_and_stops_on_a_short_page() {
    let (addr, _) = api::start();
    let c = connector(&addr.to_string(), &format!("{FAST}[[streams]]\nname = \"s\"\npath = \"/offset/suppliers\"\nrecords = \"/data/items\"\npagination = {{ type = \"offset\", page_size = 2 }}\n"));
    let (out, requests, _) = read(c).unwrap();
    assert_eq!(ids(&out), [0, 1, 2, 3, 4]);
    assert_eq!((out.pages, requests), (3, 3));
}

#[test]
fn a_read_page_by_page_hands_on_each_page_as_it_arrives_and_stops_at_the_limit() {
    let (addr, _) = api::start();
    let c = connector(&addr.to_string(), &format!("{FAST}[[streams]]\nname = \"s\"\npath = \"/offset/suppliers\"\nrecords = \"/data/items\"\npagination = {{ type = \"offset\", page_size = 2 }}\n"));
    let (client, stream, rt) = common::first_stream(c);
    let mut pages: Vec<Vec<u64>> = Vec::new();
    let out = rt
        .block_on(iorready::connectors::read_stream_pages(
            &client,
            &stream,
            None,
            Some(3),
            |page| {
                pages.push(page.iter().map(|r| r["id"].as_u64().unwrap()).collect());
                Ok::<_, iorready::connectors::ConnectorError>(())
            },
        ))
        .unwrap();
    assert_eq!(pages, [vec![0, 1], vec![2]], "the second page is cut to the limit");
    assert_eq!((out.records, out.pages), (3, 2), "no page is read past the limit");
}

#[test]
fn a_records_connector_reads_its_parent_stream_once_and_nests_each_parents_children() {
    let (addr, state) = api::start();
    let dir = tempfile::tempdir().unwrap();
    let connectors = dir.path().join("connectors");
    std::fs::create_dir_all(&connectors).unwrap();
    std::fs::write(
        connectors.join("nested.toml"),
        format!("[connector]\nname = \"nested\"\nbase_url = \"http://{addr}\"\nmapping = \"nested\"\n{FAST}[[streams]]\nname = \"suppliers\"\npath = \"/offset/suppliers\"\nrecords = \"/data/items\"\npagination = {{ type = \"offset\", page_size = 2 }}\n[[streams]]\nname = \"answers\"\nparent = \"suppliers\"\npath = \"/slowchild/{{parent:/id}}\"\n"),
    )
    .unwrap();
    let mapping = iorready::mapping::Mapping::from_source(&Source::new(
        "nested.toml",
        "[mapping]\nname = \"nested\"\n[provider.paths]\nname = \"/name\"\n[countries]\nlayout = \"records\"\nrecords = \"/suppliers\"\n[countries.fields.country]\npath = \"/country\"\n",
    ))
    .unwrap();
    let mappings = iorready::mapping::MappingSet::from_one(mapping);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fetched = rt
        .block_on(iorready::connectors::fetch_records(
            &connectors,
            "nested",
            &dir.path().join("out"),
            &mappings,
            false,
        ))
        .unwrap()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&fetched.path).unwrap()).unwrap();
    let suppliers = doc["suppliers"].as_array().unwrap();
    assert_eq!(suppliers.len(), 5);
    for s in suppliers {
        let id = s["id"].as_u64().unwrap();
        let children: Vec<u64> = s["answers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_u64().unwrap())
            .collect();
        assert_eq!(children, [id * 10, id * 10 + 1], "supplier {id}");
    }
    assert_eq!(state.lock().unwrap().requests, 3, "three pages of suppliers, read once");
}

#[test]
fn page_number_paging_reads_every_record() {
    let (addr, _) = api::start();
    let c = connector(&addr.to_string(), &format!("{FAST}[[streams]]\nname = \"s\"\npath = \"/page/suppliers\"\npagination = {{ type = \"page\", size_param = \"per_page\", page_size = 2 }}\n"));
    assert_eq!(ids(&read(c).unwrap().0), [0, 1, 2, 3, 4]);
}

#[test]
fn a_cursor_from_the_body_is_followed_until_it_is_missing() {
    let (addr, _) = api::start();
    let c = connector(&addr.to_string(), &format!("{FAST}[[streams]]\nname = \"s\"\npath = \"/cursor/suppliers\"\nrecords = \"/records\"\npagination = {{ type = \"cursor\", cursor_path = \"/next_cursor\" }}\n"));
    let (out, _, _) = read(c).unwrap();
    assert_eq!(ids(&out), [0, 1, 2, 3, 4]);
    assert_eq!(out.pages, 3);
}

#[test]
fn an_odata_next_link_is_followed() {
    let (addr, _) = api::start();
    let c = connector(&addr.to_string(), &format!("{FAST}[[streams]]\nname = \"s\"\npath = \"/odata/suppliers\"\nrecords = \"/value\"\npagination = {{ type = \"next_link\", next_path = \"/@odata.nextLink\" }}\n"));
    assert_eq!(ids(&read(c).unwrap().0), [0, 1, 2, 3, 4]);
}

#[test]
fn an_rfc_8288_link_header_is_followed() {
    let (addr, _) = api::start();
    let c = connector(&addr.to_string(), &format!("{FAST}[[streams]]\nname = \"s\"\npath = \"/link/suppliers\"\npagination = {{ type = \"next_link\", link_header = true }}\n"));
    assert_eq!(ids(&read(c).unwrap().0), [0, 1, 2, 3, 4]);
}

#[test]
fn a_page_that_repeats_is_an_error_not_an_endless_read() {
    let (addr, _) = api::start();
    let c = connector(&addr.to_string(), &format!("{FAST}[[streams]]\nname = \"suppliers\"\npath = \"/loop/suppliers\"\nrecords = \"/records\"\npagination = {{ type = \"cursor\", cursor_path = \"/next_cursor\" }}\n"));
    let e = read(c).unwrap_err();
    assert!(e.message.contains("repeats an earlier page"), "{e}");
    assert_eq!((e.connector.as_str(), e.stream.as_str()), ("test", "suppliers"));
}

#[test]
fn unavailable_and_throttled_responses_are_retried_honouring_retry_after() {
    let (addr, state) = api::start();
    let c = connector(
        &addr.to_string(),
        &format!("{FAST}[[streams]]\nname = \"s\"\npath = \"/flaky/suppliers\"\n"),
    );
    let started = std::time::Instant::now();
    let (out, requests, _) = read(c).unwrap();
    assert_eq!(ids(&out), [0, 1]);
    assert_eq!(requests, 4, "two 503, one 429, then the page");
    assert_eq!(state.lock().unwrap().flaky_calls, 4);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
}

#[test]
fn retries_end_with_the_apis_own_message() {
    let (addr, _) = api::start();
    let c = connector(&addr.to_string(), "[limits]\nmax_retries = 2\nbackoff_base_ms = 5\n[[streams]]\nname = \"suppliers\"\npath = \"/broken/suppliers\"\n");
    let e = read(c).unwrap_err();
    assert!(
        e.message.contains("database unavailable") && e.message.contains("after 2 retries"),
        "{e}"
    );
    assert!(e.url.ends_with("/broken/suppliers"), "{e}");
}

#[test]
fn a_truncated_json_body_is_an_error_naming_connector_stream_and_request() {
    let (addr, _) = api::start();
    let c = connector(
        &addr.to_string(),
        &format!("{FAST}[[streams]]\nname = \"suppliers\"\npath = \"/invalid/suppliers\"\n"),
    );
    let e = read(c).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("connector 'test', stream 'suppliers', GET http://"),
        "{text}"
    );
    assert!(text.contains("not valid JSON"), "{text}");
}

/// A connector to the secure stream with its client secret in the
/// environment variable `var` (one per test: tests run in parallel).
fn oauth(addr: &str, var: &str, secret: &str) -> Connector {
    std::env::set_var(var, secret);
    connector(
        addr,
        &format!(
            "[auth]\ntype = \"oauth2_client_credentials\"\ntoken_url = \"http://{addr}/oauth/token\"\nclient_id = \"client-1\"\nclient_secret = \"${{env:{var}}}\"\n{FAST}[[streams]]\nname = \"suppliers\"\npath = \"/secure/suppliers\"\nrecords = \"/data/items\"\npagination = {{ type = \"offset\", page_size = 2 }}\n"
        ),
    )
}

#[test]
fn an_oauth2_token_is_obtained_once_and_reused_across_pages() {
    let (addr, state) = api::start();
    let (out, _, tokens) = read(oauth(&addr.to_string(), "IORREADY_TEST_SECRET_ONCE", "secret-1")).unwrap();
    assert_eq!(ids(&out), [0, 1, 2, 3, 4]);
    assert_eq!(tokens, 1);
    assert_eq!(state.lock().unwrap().tokens_issued, 1);
}

#[test]
fn a_token_that_expires_in_the_middle_of_a_read_is_renewed_once() {
    let (addr, state) = api::start();
    state.lock().unwrap().revoke_after = Some(1);
    let (out, _, tokens) = read(oauth(&addr.to_string(), "IORREADY_TEST_SECRET_EXPIRY", "secret-1")).unwrap();
    assert_eq!(ids(&out), [0, 1, 2, 3, 4], "no record lost or repeated");
    assert_eq!(tokens, 2);
}

#[test]
fn a_wrong_client_secret_is_reported_without_the_secret() {
    let (addr, _) = api::start();
    let e = read(oauth(
        &addr.to_string(),
        "IORREADY_TEST_SECRET_WRONG",
        "wrong-secret-987",
    ))
    .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains("wrong-secret-987"), "{text}");
    assert_eq!(e.stream, "auth");
}

#[test]
fn an_api_key_in_the_query_never_shows_in_an_error() {
    let (addr, _) = api::start();
    std::env::set_var("IORREADY_TEST_API_KEY", "key-999999");
    let c = connector(
        &addr.to_string(),
        &format!("[auth]\ntype = \"api_key\"\nname = \"api_key\"\nin = \"query\"\nvalue = \"${{env:IORREADY_TEST_API_KEY}}\"\n{FAST}[[streams]]\nname = \"s\"\npath = \"/keyed/suppliers\"\n"),
    );
    let e = read(c).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("bad key"), "the API's message: {text}");
    assert!(!text.contains("key-999999"), "{text}");
}

#[test]
fn a_connector_file_with_a_mistake_names_the_line_and_key() {
    let e = refused("pagination = { type = \"cursor\" }\n");
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.message.contains("cursor_path"), "{e}");
}

#[test]
fn an_upload_write_back_of_the_summary_is_refused_naming_the_key() {
    let e = refused("[[writeback]]\nname = \"w\"\nwhat = \"summary\"\nupload = \"PUT\"\npath = \"/f\"\n");
    assert!(e.to_string().contains("writeback[0].upload"), "{e}");
    assert!(e.message.contains("only the annotated workbook"), "{e}");
}

#[test]
fn a_fields_write_back_with_a_find_is_refused_naming_the_key() {
    let e = refused("[[writeback]]\nname = \"w\"\nwhat = \"fields\"\npath = \"/s/{parent:/id}\"\nfind = { id = \"1\" }\nupdate = '{\"x\": 1}'\n");
    assert!(e.to_string().contains("writeback[0].find"), "{e}");
}

#[test]
fn a_fields_write_back_takes_put_or_patch_only() {
    let e = refused(
        "[[writeback]]\nname = \"w\"\nwhat = \"fields\"\npath = \"/s\"\nmethod = \"DELETE\"\nupdate = '{\"x\": 1}'\n",
    );
    assert!(e.to_string().contains("writeback[0].method"), "{e}");
}

#[test]
fn a_file_stream_with_two_sources_is_refused_naming_the_key() {
    let e = refused("file = { name = \"/name\", url = \"/u\", download_path = \"items/{record:/id}/content\" }\n");
    assert!(e.to_string().contains("streams[0].file"), "{e}");
    assert!(e.message.contains("one of them"), "{e}");
}

#[test]
fn connector_check_and_read_work_from_the_command_line() {
    let (addr, _) = api::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("local.toml"),
        format!("[connector]\nname = \"local\"\nbase_url = \"http://{addr}\"\n{FAST}[[streams]]\nname = \"suppliers\"\npath = \"/offset/suppliers\"\nrecords = \"/data/items\"\npagination = {{ type = \"offset\", page_size = 2 }}\n"),
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let o = common::iorready(&["connector", "--connectors", d, "check", "local"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("[ok  ] first page"), "{out}");
    let o = common::iorready(&["connector", "--connectors", d, "read", "local", "--limit", "3"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 3);
}

#[test]
fn the_read_command_reads_a_child_stream_for_several_parents_at_once_and_prints_them_in_order() {
    let (addr, state) = api::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("local.toml"),
        format!("[connector]\nname = \"local\"\nbase_url = \"http://{addr}\"\n[limits]\nconcurrency = 3\n[[streams]]\nname = \"suppliers\"\npath = \"/offset/suppliers\"\nrecords = \"/data/items\"\npagination = {{ type = \"offset\", page_size = 10 }}\n[[streams]]\nname = \"answers\"\nparent = \"suppliers\"\npath = \"/slowchild/{{parent:/id}}\"\n"),
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let o = common::iorready(&["connector", "--connectors", d, "read", "local", "--stream", "answers"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ids: Vec<u64> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [0, 1, 10, 11, 20, 21, 30, 31, 40, 41]);
    assert_eq!(state.lock().unwrap().max_in_flight, 3);
}

fn session(addr: &str, password_var: &str, password: &str, lifetime: u64) -> Connector {
    std::env::set_var(password_var, password);
    connector(
        addr,
        &format!(
            "[auth]\ntype = \"session\"\nlogin_url = \"http://{addr}/session/login\"\nusername = \"ior\"\npassword = \"${{env:{password_var}}}\"\nusername_field = \"login\"\npassword_field = \"secret\"\ntoken_path = \"/session/token\"\nlifetime_seconds = {lifetime}\nheader = \"X-Session\"\nprefix = \"\"\n{FAST}[[streams]]\nname = \"s\"\npath = \"/session/suppliers\"\nrecords = \"/data/items\"\npagination = {{ type = \"offset\", page_size = 2 }}\n"
        ),
    )
}

#[test]
fn a_session_login_is_made_once_and_its_token_sent_in_the_configured_header() {
    let (addr, _) = api::start();
    let (out, requests, tokens) = read(session(&addr.to_string(), "IORREADY_TEST_SESSION_ONCE", "pw-1", 600)).unwrap();
    assert_eq!(ids(&out), [0, 1, 2, 3, 4]);
    assert_eq!((requests, tokens), (3, 1));
}

#[test]
fn a_session_that_ends_in_the_middle_of_a_read_is_reopened_once() {
    let (addr, state) = api::start();
    state.lock().unwrap().revoke_after = Some(1);
    let (out, _, tokens) = read(session(&addr.to_string(), "IORREADY_TEST_SESSION_END", "pw-1", 600)).unwrap();
    assert_eq!(ids(&out), [0, 1, 2, 3, 4], "no record lost or repeated");
    assert_eq!(tokens, 2);
}

#[test]
fn a_refused_session_login_is_reported_with_the_apis_words_without_the_password() {
    let (addr, _) = api::start();
    let e = read(session(
        &addr.to_string(),
        "IORREADY_TEST_SESSION_BAD",
        "pw-wrong-31337",
        600,
    ))
    .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("login refused") && text.contains("invalid credentials"),
        "{text}"
    );
    assert!(!text.contains("pw-wrong-31337"), "{text}");
    assert_eq!(e.stream, "auth");
}

#[test]
fn a_request_that_times_out_is_retried_then_reported_as_timed_out() {
    let (addr, state) = api::start();
    let c = connector(
        &addr.to_string(),
        "[limits]\ntimeout_seconds = 1\nmax_retries = 1\nbackoff_base_ms = 10\n[[streams]]\nname = \"s\"\npath = \"/slow/suppliers\"\n",
    );
    let e = read(c).unwrap_err();
    assert!(
        e.message.contains("timed out") && e.message.contains("after 1 retries"),
        "{e}"
    );
    assert_eq!(state.lock().unwrap().requests, 2);
}

#[test]
fn an_answer_larger_than_the_limit_is_refused_not_read_into_memory() {
    let (addr, _) = api::start();
    let c = connector(
        &addr.to_string(),
        "[limits]\nmax_body_mb = 1\n[[streams]]\nname = \"s\"\npath = \"/huge/suppliers\"\n",
    );
    let e = read(c).unwrap_err();
    assert!(e.message.contains("larger than 1 MB"), "{e}");
}

/// A server that promises 1,000 bytes, sends a few and hangs up, `cut`
/// times, then answers properly; returns its address and a connection count.
fn cutting_server(cut: usize) -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            let mut request = [0u8; 4096];
            let _ = conn.read(&mut request);
            let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let full = r#"[{"id": 0}, {"id": 1}]"#;
            let reply = if n < cut {
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n[{\"id\": 0},".to_owned()
            } else {
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{full}", full.len())
            };
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    (addr, count)
}

#[test]
fn a_body_cut_short_is_read_again_and_the_result_is_complete() {
    let (addr, count) = cutting_server(1);
    let (out, _, _) = read(connector(
        &addr.to_string(),
        &format!("{FAST}[[streams]]\nname = \"s\"\npath = \"/\"\n"),
    ))
    .unwrap();
    assert_eq!(ids(&out), [0, 1]);
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn a_body_always_cut_short_ends_in_an_error_naming_the_request() {
    let (addr, _) = cutting_server(usize::MAX);
    let c = connector(
        &addr.to_string(),
        "[limits]\nmax_retries = 2\nbackoff_base_ms = 10\n[[streams]]\nname = \"s\"\npath = \"/\"\n",
    );
    let e = read(c).unwrap_err();
    assert!(
        e.message.contains("cut short") && e.message.contains("after 2 retries"),
        "{e}"
    );
    assert!(e.to_string().contains(&format!("GET http://{addr}/")), "{e}");
}

#[test]
fn a_since_placeholder_without_an_incremental_setting_is_refused_naming_the_key() {
    let e = refused("query = { \"$filter\" = \"modifiedon ge {since}\" }\n");
    assert!(e.to_string().contains("streams[0].query"), "{e}");
}

fn parent_and_children(addr: &str, concurrency: u32) -> Vec<u64> {
    let c = connector(
        addr,
        &format!("[limits]\nconcurrency = {concurrency}\n[[streams]]\nname = \"suppliers\"\npath = \"/offset/suppliers\"\nrecords = \"/data/items\"\npagination = {{ type = \"offset\", page_size = 10 }}\n[[streams]]\nname = \"answers\"\nparent = \"suppliers\"\npath = \"/slowchild/{{parent:/id}}\"\n"),
    );
    let client = Client::new(c, Redactor::default()).unwrap();
    let stream = client.connector().streams[1].clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tree = rt.block_on(iorready::connectors::read_tree(&client, &stream)).unwrap();
    tree.iter().map(|(_, r)| r["id"].as_u64().unwrap()).collect()
}

#[test]
fn child_streams_are_read_in_parallel_up_to_the_concurrency_in_the_parents_order() {
    let (addr, state) = api::start();
    let ids = parent_and_children(&addr.to_string(), 3);
    assert_eq!(ids, [0, 1, 10, 11, 20, 21, 30, 31, 40, 41]);
    assert_eq!(state.lock().unwrap().max_in_flight, 3);
}

#[test]
fn a_concurrency_of_one_sends_one_request_at_a_time() {
    let (addr, state) = api::start();
    assert_eq!(parent_and_children(&addr.to_string(), 1).len(), 10);
    assert_eq!(state.lock().unwrap().max_in_flight, 1);
}

/// The shipped Microsoft Graph definition pointed at the local Graph of
/// `addr`, alone in a folder, after `edit`.
fn graph_definitions(addr: std::net::SocketAddr, edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let shipped = std::fs::read_to_string(common::root().join("connectors/microsoft-graph.toml")).unwrap();
    let text = shipped
        .replace("${env:GRAPH_URL}", &format!("http://{addr}/v1.0/"))
        .replace(
            "${env:ENTRA_TOKEN_URL}",
            &format!("http://{addr}/tenant/oauth2/v2.0/token"),
        )
        .replace("${env:GRAPH_CLIENT_ID}", "app-1")
        .replace("${env:GRAPH_CLIENT_SECRET}", "app-secret-1")
        .replace("${env:GRAPH_DRIVE_ID}", "D1")
        .replace("${env:GRAPH_FOLDER}", "IOR");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("microsoft-graph.toml"), edit(text)).unwrap();
    dir
}

/// `fetch_workbooks` of the Graph definition in `defs` into `mirror`.
fn graph_fetch(
    defs: &std::path::Path,
    mirror: &std::path::Path,
    resume: &[(String, String)],
) -> Result<iorready::connectors::FetchOutcome, iorready::connectors::ExchangeError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(iorready::connectors::fetch_workbooks(
        defs,
        "microsoft-graph",
        mirror,
        resume,
        false,
    ))
}

/// The mirrored workbooks, as `supplier folder/file name`.
fn mirror_names(mirror: &std::path::Path) -> Vec<String> {
    let folder = mirror.join("microsoft-graph");
    iorready::connectors::mirrored(mirror, "microsoft-graph")
        .iter()
        .map(|f| f.path.strip_prefix(&folder).unwrap().to_string_lossy().into_owned())
        .collect()
}

const MERIDIAN: &str = "F1/meridian-trade-compliance.xlsx";
const SWIFTFREIGHT: &str = "F1/swiftfreight-logistics.xlsx";

fn graph_item(id: &str, name: &str, folder: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "name": name, "file": {}, "parentReference": {"id": folder, "driveId": "D1"}})
}

#[test]
fn an_empty_delta_page_with_a_next_link_is_followed() {
    let (addr, graph) = api::start();
    let defs = graph_definitions(addr, |t| t);
    let mirror = tempfile::tempdir().unwrap();
    let first = graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    {
        let mut g = graph.lock().unwrap();
        g.graph_empty_delta_page = true;
        g.graph_changes = vec![graph_item("3", "meridian-2027.xlsx", "F1")];
    }
    let second = graph_fetch(defs.path(), mirror.path(), &first.cursors).unwrap();
    assert_eq!(graph.lock().unwrap().graph_delta_tokens, ["T1", "T1b"]);
    assert_eq!(mirror_names(mirror.path()), ["F1/meridian-2027.xlsx", SWIFTFREIGHT]);
    assert!(second.cursors[0].1.ends_with("token=T2"), "{:?}", second.cursors);
}

#[test]
fn a_delta_link_answered_gone_lists_the_stream_whole_and_is_replaced() {
    let (addr, graph) = api::start();
    let defs = graph_definitions(addr, |t| t);
    let mirror = tempfile::tempdir().unwrap();
    let first = graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    {
        let mut g = graph.lock().unwrap();
        g.graph_gone_tokens = vec!["T1".into()];
        g.graph_listing_token = Some("R1".into());
    }
    let second = graph_fetch(defs.path(), mirror.path(), &first.cursors).unwrap();
    let g = graph.lock().unwrap();
    assert_eq!(g.graph_delta_tokens, ["T1"]);
    assert_eq!(g.graph_full_listings, 2, "listed whole again");
    assert!(second.complete, "a full listing: the mirror may be pruned");
    assert_eq!(second.files.len(), 2);
    assert_eq!(second.cursors.len(), 1);
    assert_eq!(second.cursors[0].0, "questionnaires@F1");
    assert!(second.cursors[0].1.ends_with("token=R1"), "{:?}", second.cursors);
}

#[test]
fn an_item_moved_out_of_the_watched_folder_leaves_the_mirror() {
    let (addr, graph) = api::start();
    let defs = graph_definitions(addr, |t| t);
    let mirror = tempfile::tempdir().unwrap();
    let first = graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    graph.lock().unwrap().graph_changes = vec![graph_item("4", "swiftfreight-logistics.xlsx", "ELSEWHERE")];
    graph_fetch(defs.path(), mirror.path(), &first.cursors).unwrap();
    assert_eq!(mirror_names(mirror.path()), [MERIDIAN]);
}

#[test]
fn a_workbook_renamed_to_another_kind_of_file_leaves_the_mirror() {
    let (addr, graph) = api::start();
    let defs = graph_definitions(addr, |t| t);
    let mirror = tempfile::tempdir().unwrap();
    let first = graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    graph.lock().unwrap().graph_changes = vec![graph_item("3", "meridian.pdf", "F1")];
    graph_fetch(defs.path(), mirror.path(), &first.cursors).unwrap();
    assert_eq!(mirror_names(mirror.path()), [SWIFTFREIGHT]);
}

/// The Graph definition with one folder per supplier: the drive's top
/// folders, each read from the drive's delta.
fn per_folder(text: String) -> String {
    let folder = "path = \"drives/D1/root:/IOR\"\n";
    assert!(text.contains(folder));
    text.replace(folder, "path = \"drives/D1/root/children\"\nrecords = \"/value\"\n")
}

#[test]
fn each_parent_of_a_delta_stream_keeps_its_own_delta_link() {
    let (addr, graph) = api::start();
    {
        let mut g = graph.lock().unwrap();
        g.graph_extra = vec![graph_item("6", "second-supplier.xlsx", "F2")];
        g.graph_files.insert("6".into(), 1);
    }
    let defs = graph_definitions(addr, per_folder);
    let mirror = tempfile::tempdir().unwrap();
    let first = graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    let keys: Vec<&str> = first.cursors.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["questionnaires@F1", "questionnaires@F2"]);
    assert_eq!(
        mirror_names(mirror.path()),
        [MERIDIAN, SWIFTFREIGHT, "F2/second-supplier.xlsx"]
    );
    // Meridian's workbook moves to the second supplier's folder.
    graph.lock().unwrap().graph_changes = vec![graph_item("3", "meridian-trade-compliance.xlsx", "F2")];
    let second = graph_fetch(defs.path(), mirror.path(), &first.cursors).unwrap();
    assert_eq!(
        graph.lock().unwrap().graph_delta_tokens,
        ["T1", "T1"],
        "each folder resumed from its own link"
    );
    assert!(!second.complete);
    assert_eq!(
        mirror_names(mirror.path()),
        [
            SWIFTFREIGHT,
            "F2/meridian-trade-compliance.xlsx",
            "F2/second-supplier.xlsx"
        ]
    );
}

#[test]
fn files_of_one_name_get_the_same_mirror_names_whatever_the_listing_order() {
    let (addr, graph) = api::start();
    {
        let mut g = graph.lock().unwrap();
        g.graph_files.insert("7".into(), 1);
        g.graph_files.insert("8".into(), 2);
    }
    let defs = graph_definitions(addr, |t| t);
    let expected = ["F1/7-q.xlsx", "F1/8-q.xlsx", MERIDIAN, SWIFTFREIGHT];
    let mut mirrors = Vec::new();
    for order in [["7", "8"], ["8", "7"]] {
        graph.lock().unwrap().graph_extra = order.iter().map(|id| graph_item(id, "q.xlsx", "F1")).collect();
        let mirror = tempfile::tempdir().unwrap();
        graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
        assert_eq!(mirror_names(mirror.path()), expected, "listed {order:?}");
        mirrors.push(mirror);
    }
    // Read again in the other order, the first mirror keeps its names and
    // each name keeps its record's workbook.
    graph.lock().unwrap().graph_extra = ["8", "7"].iter().map(|id| graph_item(id, "q.xlsx", "F1")).collect();
    graph_fetch(defs.path(), mirrors[0].path(), &[]).unwrap();
    assert_eq!(mirror_names(mirrors[0].path()), expected);
    let folder = mirrors[0].path().join("microsoft-graph/F1");
    assert_eq!(
        std::fs::read(folder.join("7-q.xlsx")).unwrap(),
        std::fs::read(common::examples().join("meridian-trade-compliance.xlsx")).unwrap()
    );
}

#[test]
fn a_file_mirrored_before_keeps_its_name_when_another_of_that_name_arrives() {
    let (addr, graph) = api::start();
    {
        let mut g = graph.lock().unwrap();
        g.graph_files.insert("7".into(), 1);
        g.graph_files.insert("8".into(), 2);
        g.graph_extra = vec![graph_item("7", "q.xlsx", "F1")];
    }
    let defs = graph_definitions(addr, |t| t);
    let mirror = tempfile::tempdir().unwrap();
    graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    assert!(mirror_names(mirror.path()).contains(&"F1/q.xlsx".to_owned()));
    graph.lock().unwrap().graph_extra = vec![graph_item("8", "q.xlsx", "F1"), graph_item("7", "q.xlsx", "F1")];
    graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    let mirrored = iorready::connectors::mirrored(mirror.path(), "microsoft-graph");
    let of = |id: &str| {
        let f = mirrored.iter().find(|f| f.record_id.as_deref() == Some(id)).unwrap();
        f.path.file_name().unwrap().to_string_lossy().into_owned()
    };
    assert_eq!((of("7"), of("8")), ("q.xlsx".to_owned(), "8-q.xlsx".to_owned()));
}

#[test]
fn a_record_id_in_a_download_path_is_percent_encoded_as_one_segment() {
    let (addr, graph) = api::start();
    {
        let mut g = graph.lock().unwrap();
        g.graph_extra = vec![graph_item("x/y #1?", "odd.xlsx", "F1")];
        g.graph_files.insert("x/y #1?".into(), 1);
    }
    let defs = graph_definitions(addr, |t| t);
    let mirror = tempfile::tempdir().unwrap();
    let out = graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    assert!(out.not_fetched.is_empty(), "{:?}", out.not_fetched);
    assert!(
        graph
            .lock()
            .unwrap()
            .graph_download_paths
            .contains(&"/v1.0/drives/D1/items/x%2Fy%20%231%3F/content".to_owned()),
        "{:?}",
        graph.lock().unwrap().graph_download_paths
    );
    assert!(mirror_names(mirror.path()).contains(&"F1/odd.xlsx".to_owned()));
}

#[test]
fn a_file_whose_download_is_refused_is_reported_and_the_others_are_fetched() {
    let (addr, graph) = api::start();
    graph.lock().unwrap().graph_extra = vec![graph_item("6", "broken.xlsx", "F1")];
    let defs = graph_definitions(addr, |t| t);
    let mirror = tempfile::tempdir().unwrap();
    let out = graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    assert_eq!(out.files.len(), 2);
    assert_eq!(out.not_fetched.len(), 1);
    let n = &out.not_fetched[0];
    assert_eq!(
        (n.connector.as_str(), n.file.as_str()),
        ("microsoft-graph", "broken.xlsx")
    );
    assert!(n.reason.contains("404"), "{}", n.reason);
    assert!(out.cursors.is_empty(), "the next run reads from the same cursors");
    assert_eq!(mirror_names(mirror.path()), [MERIDIAN, SWIFTFREIGHT]);
}

#[test]
fn a_file_over_the_body_limit_is_reported_not_fetched() {
    let (addr, graph) = api::start();
    {
        let mut g = graph.lock().unwrap();
        g.graph_extra = vec![graph_item("6", "huge.xlsx", "F1")];
        g.graph_files.insert("6".into(), 3);
    }
    let defs = graph_definitions(addr, |t| t.replace("[limits]\n", "[limits]\nmax_body_mb = 1\n"));
    let mirror = tempfile::tempdir().unwrap();
    let out = graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    assert_eq!(out.not_fetched.len(), 1);
    assert!(
        out.not_fetched[0].reason.contains("limits.max_body_mb"),
        "{}",
        out.not_fetched[0].reason
    );
    assert_eq!(out.files.len(), 2);
}

#[test]
fn a_file_not_fetched_keeps_its_earlier_copy() {
    let (addr, graph) = api::start();
    {
        let mut g = graph.lock().unwrap();
        g.graph_extra = vec![graph_item("6", "later-refused.xlsx", "F1")];
        g.graph_files.insert("6".into(), 1);
    }
    let defs = graph_definitions(addr, |t| t);
    let mirror = tempfile::tempdir().unwrap();
    graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    graph.lock().unwrap().graph_files.clear();
    let out = graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    assert!(out.complete);
    assert_eq!(out.not_fetched.len(), 1);
    // What a job does with a complete listing: the mirror keeps the files
    // of the outcome, the earlier copy among them.
    iorready::connectors::prune_mirror(mirror.path(), "microsoft-graph", &out.files);
    assert_eq!(
        mirror_names(mirror.path()),
        ["F1/later-refused.xlsx", MERIDIAN, SWIFTFREIGHT]
    );
}

#[test]
fn a_full_listing_whose_every_download_is_refused_fails_and_keeps_the_mirror() {
    let (addr, graph) = api::start();
    let defs = graph_definitions(addr, |t| t);
    let mirror = tempfile::tempdir().unwrap();
    graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    graph.lock().unwrap().graph_refuse_downloads = true;
    let err = graph_fetch(defs.path(), mirror.path(), &[]).unwrap_err().to_string();
    assert!(
        err.contains("none of the 2 files") && err.contains("Access denied"),
        "{err}"
    );
    assert_eq!(mirror_names(mirror.path()), [MERIDIAN, SWIFTFREIGHT]);
}

#[test]
fn a_moved_mirror_keeps_its_workbooks_as_sidecars_name_them_relatively() {
    let (addr, _) = api::start();
    let defs = graph_definitions(addr, |t| t);
    let state = tempfile::tempdir().unwrap();
    let before = state.path().join("before");
    graph_fetch(defs.path(), &before, &[]).unwrap();
    let sidecar = before.join("microsoft-graph/F1/meridian-trade-compliance.xlsx.iorready.json");
    let text = std::fs::read_to_string(&sidecar).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["path"], "meridian-trade-compliance.xlsx");
    assert!(!text.contains(&*state.path().to_string_lossy()), "{text}");
    let after = state.path().join("after");
    std::fs::rename(&before, &after).unwrap();
    let moved = iorready::connectors::mirrored(&after, "microsoft-graph");
    assert_eq!(moved.len(), 2);
    assert!(moved.iter().all(|f| f.path.starts_with(&after) && f.path.is_file()));
}

#[test]
fn a_delta_link_saved_without_its_parent_is_taken_up_by_the_only_parent() {
    let (addr, graph) = api::start();
    let defs = graph_definitions(addr, |t| t);
    let mirror = tempfile::tempdir().unwrap();
    let first = graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    // As saved before delta links were kept per parent.
    let unkeyed = vec![("questionnaires".to_owned(), first.cursors[0].1.clone())];
    let second = graph_fetch(defs.path(), mirror.path(), &unkeyed).unwrap();
    assert_eq!(graph.lock().unwrap().graph_delta_tokens, ["T1"]);
    assert_eq!(graph.lock().unwrap().graph_full_listings, 1);
    assert_eq!(second.cursors[0].0, "questionnaires@F1");
}

/// A file stream over the local API's attachments whose listing carries
/// names only: each file's JSON answer is downloaded from a path built from
/// the record, its base64 read at `/data/base64`.
fn attachment_connector(addr: std::net::SocketAddr, limits: &str) -> Connector {
    connector(
        &addr.to_string(),
        &format!("{FAST}{limits}[[streams]]\nname = \"attachments\"\npath = \"/attachments\"\nquery = {{ f = \"name\" }}\nfile = {{ name = \"/name\", download_path = \"attachments/{{record:/id}}?f=data\", content = \"/data/base64\" }}\n"),
    )
}

/// Every file of the connector's file stream.
fn fetch_all(c: Connector) -> Vec<iorready::connectors::ConnectorFile> {
    let (client, stream, rt) = common::first_stream(c);
    rt.block_on(iorready::connectors::fetch_files(&client, &stream))
        .unwrap()
}

#[test]
fn a_file_stream_with_content_and_a_download_path_loads() {
    let text = "[connector]\nname = \"x\"\nbase_url = \"http://127.0.0.1\"\n[[streams]]\nname = \"s\"\npath = \"/a\"\nfile = { name = \"/name\", download_path = \"a/{record:/id}?f=data\", content = \"/data/base64\" }\n";
    let c = Connector::from_source(&Source::new("x.toml", text)).unwrap();
    let spec = c.streams[0].file.clone().unwrap();
    assert_eq!(spec.content.as_deref(), Some("/data/base64"));
    assert_eq!(spec.download_path.as_deref(), Some("a/{record:/id}?f=data"));
}

#[test]
fn a_file_stream_with_content_a_url_and_a_download_path_is_refused_naming_the_key() {
    let e = refused(
        "file = { name = \"/name\", url = \"/u\", download_path = \"a/{record:/id}\", content = \"/data/base64\" }\n",
    );
    assert!(e.to_string().contains("streams[0].file"), "{e}");
    assert!(e.message.contains("one of them"), "{e}");
}

#[test]
fn a_file_stream_without_content_url_or_download_path_is_refused_naming_the_key() {
    let e = refused("file = { name = \"/name\" }\n");
    assert!(e.to_string().contains("streams[0].file"), "{e}");
}

#[test]
fn content_with_a_download_path_reads_the_base64_of_each_files_own_answer() {
    let (addr, state) = api::start();
    let files = fetch_all(attachment_connector(addr, ""));
    let examples = common::root().join("examples/workbooks");
    let got: Vec<(&str, bool)> = files.iter().map(|f| (f.name.as_str(), f.failed.is_none())).collect();
    assert_eq!(got, [("meridian.xlsx", true), ("swiftfreight.xlsx", true)]);
    assert_eq!(
        files[0].bytes,
        std::fs::read(examples.join("meridian-trade-compliance.xlsx")).unwrap()
    );
    assert_eq!(
        files[1].bytes,
        std::fs::read(examples.join("swiftfreight-logistics.xlsx")).unwrap()
    );
    assert_eq!(
        state.lock().unwrap().attachment_requests,
        ["/attachments?f=name", "/attachments/1?f=data", "/attachments/2?f=data"],
        "one listing without the data, then one request per file"
    );
}

#[test]
fn a_downloaded_answer_over_the_body_limit_is_reported_and_the_other_files_fetched() {
    let (addr, state) = api::start();
    state.lock().unwrap().attachments_extra = vec![3];
    let files = fetch_all(attachment_connector(addr, "max_body_mb = 1\n"));
    let failed: Vec<_> = files
        .iter()
        .filter_map(|f| Some((f.name.as_str(), f.failed.as_deref()?)))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "huge.xlsx");
    assert!(failed[0].1.contains("limits.max_body_mb"), "{}", failed[0].1);
    let fetched: Vec<_> = files
        .iter()
        .filter(|f| f.failed.is_none() && !f.bytes.is_empty())
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(fetched, ["meridian.xlsx", "swiftfreight.xlsx"]);
}

#[test]
fn a_downloaded_answer_whose_content_is_not_base64_is_reported_not_fetched() {
    let (addr, state) = api::start();
    state.lock().unwrap().attachments_extra = vec![4];
    let files = fetch_all(attachment_connector(addr, ""));
    let garbled = files.iter().find(|f| f.name == "garbled.xlsx").unwrap();
    let reason = garbled.failed.as_deref().unwrap_or_default();
    assert!(
        reason.contains("the content at '/data/base64' of the downloaded answer is not base64"),
        "{reason}"
    );
    assert_eq!(files.iter().filter(|f| f.failed.is_none()).count(), 2);
}

/// What a test server keeps of the requests it answered.
type Recorded<T> = std::sync::Arc<std::sync::Mutex<Vec<T>>>;

/// A server that records every JSON body sent to it (by path) and answers
/// `[]` to a GET (no record written before) or `{"value": []}` to a POST
/// search.
fn body_recorder() -> (std::net::SocketAddr, Recorded<(String, String)>) {
    use axum::routing::any;
    let bodies: Recorded<(String, String)> = Default::default();
    let seen = bodies.clone();
    let app = axum::Router::new().route(
        "/{*rest}",
        any(move |method: axum::http::Method, uri: axum::http::Uri, body: String| {
            let seen = seen.clone();
            async move {
                if method == axum::http::Method::GET {
                    return axum::Json(serde_json::json!([]));
                }
                seen.lock().unwrap().push((uri.path().to_owned(), body));
                axum::Json(serde_json::json!({"value": []}))
            }
        }),
    );
    (api::serve(app), bodies)
}

/// Writes one item's summary back through a record write-back whose create
/// template names the supplier; returns the bodies the API received.
fn write_summary_for(parent: serde_json::Value) -> Vec<(String, String)> {
    let (addr, bodies) = body_recorder();
    let c = connector(
        &addr.to_string(),
        &format!("{FAST}[[streams]]\nname = \"s\"\npath = \"/s\"\n[[writeback]]\nname = \"note\"\nwhat = \"summary\"\npath = \"/notes\"\nfind = {{ supplier = \"{{parent:/id}}\" }}\ncreate = '{{\"supplier\": {{parent:/id}}, \"name\": \"{{parent:/name}}\", \"status\": \"pending\", \"message\": \"{{summary}}\"}}'\nupdate = '{{\"message\": \"{{summary}}\"}}'\nupdate_path = \"/notes/{{found:/id}}\"\n"),
    );
    let client = Client::new(c, Redactor::default()).unwrap();
    let item = iorready::connectors::WritebackItem {
        parent: Some(parent),
        file_name: "q.annotated.xlsx".into(),
        content: Vec::new(),
        summary: "iorready: 3 ready".into(),
        fields: Vec::new(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(iorready::connectors::write_back(&client, &[item], false))
        .unwrap();
    let got = bodies.lock().unwrap().clone();
    got
}

#[test]
fn a_supplier_name_with_quotes_cannot_add_a_field_to_a_write_back_body() {
    let bodies = write_summary_for(serde_json::json!({"id": 7, "name": "Acme\", \"status\": \"approved"}));
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let body: serde_json::Value = serde_json::from_str(&bodies[0].1).unwrap();
    assert_eq!(body["status"], "pending", "{body}");
    assert_eq!(body["name"], "Acme\", \"status\": \"approved");
}

#[test]
fn a_supplier_name_with_quotes_is_written_back_as_it_is() {
    let bodies = write_summary_for(serde_json::json!({"id": 7, "name": "Smith \"IOR\" \\ Co"}));
    let body: serde_json::Value = serde_json::from_str(&bodies[0].1).unwrap();
    assert_eq!(body["name"], "Smith \"IOR\" \\ Co");
    assert_eq!(body["supplier"], 7, "a numeric id still fills a number");
}

#[test]
fn a_parent_value_with_quotes_cannot_add_a_field_to_a_read_streams_body() {
    let (addr, bodies) = body_recorder();
    let c = connector(
        &addr.to_string(),
        &format!("{FAST}[[streams]]\nname = \"p\"\npath = \"/p\"\n[[streams]]\nname = \"s\"\nparent = \"p\"\npath = \"/search\"\nmethod = \"POST\"\nrecords = \"/value\"\nbody = '{{\"vendor\": \"{{parent:/name}}\", \"status\": \"open\", \"n\": {{parent:/id}}}}'\n"),
    );
    let client = Client::new(c, Redactor::default()).unwrap();
    let stream = client.connector().streams[1].clone();
    let parent = serde_json::json!({"id": 3, "name": "Acme\", \"status\": \"closed"});
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(iorready::connectors::read_stream(&client, &stream, Some(&parent), None))
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&bodies.lock().unwrap()[0].1).unwrap();
    assert_eq!(body["status"], "open", "{body}");
    assert_eq!(body["vendor"], "Acme\", \"status\": \"closed");
    assert_eq!(body["n"], 3);
}

#[test]
fn a_folders_first_file_is_handed_on_before_its_last_download_is_answered() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let first_handed_on = Arc::new(AtomicBool::new(false));
    let waited = first_handed_on.clone();
    // The last file's download is held until the first file was handed on
    // (or 3 s, then refused): a fetch that holds a folder's files until
    // all have arrived never gets it.
    let app = axum::Router::new()
        .route(
            "/folders",
            axum::routing::get(|| async { axum::Json(serde_json::json!({"value": [{"id": "F1"}]})) }),
        )
        .route(
            "/folders/F1/files",
            axum::routing::get(|| async {
                axum::Json(serde_json::json!({"value": [
                    {"id": "1", "name": "a.xlsx"}, {"id": "2", "name": "b.xlsx"}, {"id": "3", "name": "c.xlsx"}
                ]}))
            }),
        )
        .route(
            "/files/{id}",
            axum::routing::get(move |axum::extract::Path(id): axum::extract::Path<String>| {
                let waited = waited.clone();
                async move {
                    if id == "3" {
                        for _ in 0..300 {
                            if waited.load(Ordering::SeqCst) {
                                return (axum::http::StatusCode::OK, format!("bytes of {id}"));
                            }
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        }
                        return (axum::http::StatusCode::NOT_FOUND, "held".to_owned());
                    }
                    (axum::http::StatusCode::OK, format!("bytes of {id}"))
                }
            }),
        );
    let addr = api::serve(app);
    let c = connector(
        &addr.to_string(),
        &format!("{FAST}concurrency = 4\n[[streams]]\nname = \"folders\"\npath = \"/folders\"\nrecords = \"/value\"\n[[streams]]\nname = \"files\"\nparent = \"folders\"\npath = \"/folders/{{parent:/id}}/files\"\nrecords = \"/value\"\nfile = {{ name = \"/name\", download_path = \"files/{{record:/id}}\" }}\n"),
    );
    let client = Client::new(c, Redactor::default()).unwrap();
    let stream = client.connector().streams[1].clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut got = Vec::new();
    rt.block_on(iorready::connectors::for_each_file(&client, &stream, |f| {
        first_handed_on.store(true, Ordering::SeqCst);
        got.push((f.name, f.failed));
        Ok::<_, ConnectorError>(())
    }))
    .unwrap();
    assert_eq!(
        got,
        [
            ("a.xlsx".to_owned(), None),
            ("b.xlsx".to_owned(), None),
            ("c.xlsx".to_owned(), None)
        ]
    );
}

/// The shipped Graph definition whose folder (F1 in the mirror) holds only
/// what `graph_extra` puts in the drive's folder `F9`.
fn graph_folder_of_extras(addr: std::net::SocketAddr, limits: &'static str) -> tempfile::TempDir {
    graph_definitions(addr, move |t| {
        t.replace("\"{parent:/id}\" }", "\"F9\" }")
            .replace("[limits]\n", &format!("[limits]\n{limits}"))
    })
}

#[test]
fn a_full_listing_of_one_oversized_file_reports_it_not_fetched_instead_of_failing() {
    let (addr, graph) = api::start();
    {
        let mut g = graph.lock().unwrap();
        g.graph_extra = vec![graph_item("6", "huge.xlsx", "F9")];
        g.graph_files.insert("6".into(), 3);
    }
    let defs = graph_folder_of_extras(addr, "max_body_mb = 1\n");
    let mirror = tempfile::tempdir().unwrap();
    let out = graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    assert!(out.files.is_empty());
    assert_eq!(out.not_fetched.len(), 1);
    assert_eq!(out.not_fetched[0].file, "huge.xlsx");
}

#[test]
fn a_full_listing_of_one_file_refused_403_fails_and_keeps_the_mirror() {
    let (addr, graph) = api::start();
    {
        let mut g = graph.lock().unwrap();
        g.graph_extra = vec![graph_item("6", "q.xlsx", "F9")];
        g.graph_files.insert("6".into(), 1);
    }
    let defs = graph_folder_of_extras(addr, "");
    let mirror = tempfile::tempdir().unwrap();
    graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    graph.lock().unwrap().graph_refuse_downloads = true;
    let err = graph_fetch(defs.path(), mirror.path(), &[]).unwrap_err().to_string();
    assert!(err.contains("none of the 1 files"), "{err}");
    assert_eq!(mirror_names(mirror.path()), ["F1/q.xlsx"]);
}

#[test]
fn an_empty_page_with_a_next_link_ends_a_stream_without_a_delta_link() {
    // Page 2 is empty yet names a page 3: a read that followed it would
    // find record 99 there.
    let app = axum::Router::new().route(
        "/list",
        axum::routing::get(
            |headers: axum::http::HeaderMap,
             axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                let host = headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let next = |p: u32| format!("http://{host}/list?p={p}");
                axum::Json(match q.get("p").map(String::as_str) {
                    None => serde_json::json!({"value": [{"id": 1}, {"id": 2}], "next": next(2)}),
                    Some("2") => serde_json::json!({"value": [], "next": next(3)}),
                    _ => serde_json::json!({"value": [{"id": 99}]}),
                })
            },
        ),
    );
    let addr = api::serve(app);
    let c = connector(
        &addr.to_string(),
        &format!("{FAST}[[streams]]\nname = \"s\"\npath = \"/list\"\nrecords = \"/value\"\npagination = {{ type = \"next_link\", next_path = \"/next\" }}\n"),
    );
    let (out, _, _) = read(c).unwrap();
    assert_eq!(ids(&out), [1, 2]);
    assert_eq!(out.pages, 2);
}

/// A server on its own port that keeps the headers of every request and
/// answers a workbook's bytes; returns its address and the headers seen.
fn foreign_host() -> (std::net::SocketAddr, Recorded<axum::http::HeaderMap>) {
    let seen: Recorded<axum::http::HeaderMap> = Default::default();
    let keep = seen.clone();
    let app = axum::Router::new().route(
        "/{*rest}",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(headers);
                "workbook bytes"
            }
        }),
    );
    (api::serve(app), seen)
}

/// A base API whose one file record names `file_url` (as its download
/// `url`) and whose `/dl/1` redirects to `redirect_to`; the connector
/// sends Basic credentials and an API key header.
fn base_naming(file_url: String, redirect_to: String, key_var: &str) -> Connector {
    let app = axum::Router::new()
        .route(
            "/files",
            axum::routing::get(move || {
                let file_url = file_url.clone();
                async move { axum::Json(serde_json::json!([{"id": 1, "name": "q.xlsx", "url": file_url}])) }
            }),
        )
        .route(
            "/dl/1",
            axum::routing::get(move || {
                let to = redirect_to.clone();
                async move { (axum::http::StatusCode::FOUND, [("location", to)]) }
            }),
        );
    let addr = api::serve(app);
    std::env::set_var(key_var, "key-31337");
    connector(
        &addr.to_string(),
        &format!("headers = {{ \"apiKey\" = \"${{env:{key_var}}}\", \"Accept\" = \"application/json\" }}\n[auth]\ntype = \"basic\"\nusername = \"u\"\npassword = \"pw-31337\"\n{FAST}[[streams]]\nname = \"files\"\npath = \"/files\"\nfile = {{ name = \"/name\", url = \"/url\" }}\n"),
    )
}

#[test]
fn a_download_url_on_another_host_is_requested_without_credentials() {
    let (foreign, seen) = foreign_host();
    let c = base_naming(
        format!("http://{foreign}/steal/q.xlsx"),
        String::new(),
        "IORREADY_TEST_KEY_FOREIGN_URL",
    );
    let files = fetch_all(c);
    assert_eq!(files[0].bytes, b"workbook bytes");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].get("authorization").is_none(), "{:?}", seen[0]);
    assert!(seen[0].get("apikey").is_none(), "{:?}", seen[0]);
    assert_eq!(
        seen[0].get("accept").unwrap(),
        "application/json",
        "a header that is no secret is sent"
    );
}

#[test]
fn a_signed_download_url_that_fails_is_reported_without_its_signature() {
    // Nothing listens on port 1: the download fails.
    let c = base_naming(
        "http://127.0.0.1:1/blob/q.xlsx?sig=SIGNATURE-31337".to_owned(),
        String::new(),
        "IORREADY_TEST_KEY_SIGNED_URL",
    );
    let files = fetch_all(c);
    let reason = files[0].failed.clone().expect("the download fails");
    assert!(!reason.contains("SIGNATURE-31337"), "{reason}");
    assert!(reason.contains("Connection refused"), "the cause is told: {reason}");
}

#[test]
fn a_redirect_to_another_host_drops_the_api_key_header() {
    let (foreign, seen) = foreign_host();
    let c = base_naming(
        "/dl/1".to_owned(),
        format!("http://{foreign}/blob/q.xlsx"),
        "IORREADY_TEST_KEY_REDIRECT",
    );
    let files = fetch_all(c);
    assert_eq!(files[0].bytes, b"workbook bytes", "{:?}", files[0].failed);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].get("authorization").is_none(), "{:?}", seen[0]);
    assert!(seen[0].get("apikey").is_none(), "{:?}", seen[0]);
}

#[test]
fn a_record_id_shared_by_two_file_streams_leaves_the_other_streams_copy_alone() {
    use base64::Engine;
    use std::sync::atomic::{AtomicBool, Ordering};
    let second_run = std::sync::Arc::new(AtomicBool::new(false));
    let (a_run, b_run) = (second_run.clone(), second_run.clone());
    let workbook = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(common::examples().join("meridian-trade-compliance.xlsx")).unwrap());
    let (wa, wb) = (workbook.clone(), workbook);
    // Two streams of one vendor whose ids are their own: both have a
    // record 5. The second run's changes rename stream A's, and stream B
    // has none.
    let app = axum::Router::new()
        .route(
            "/a",
            axum::routing::get(move || {
                let (second, data) = (a_run.load(Ordering::SeqCst), wa.clone());
                async move {
                    let (name, updated) = if second {
                        ("a-renamed.xlsx", "2026-02-01T00:00:00Z")
                    } else {
                        ("a.xlsx", "2026-01-01T00:00:00Z")
                    };
                    axum::Json(serde_json::json!([{"id": 5, "name": name, "updated": updated, "data": data}]))
                }
            }),
        )
        .route(
            "/b",
            axum::routing::get(move || {
                let (second, data) = (b_run.load(Ordering::SeqCst), wb.clone());
                async move {
                    if second {
                        return axum::Json(serde_json::json!([]));
                    }
                    axum::Json(
                        serde_json::json!([{"id": 5, "name": "b.xlsx", "updated": "2026-01-01T00:00:00Z", "data": data}]),
                    )
                }
            }),
        );
    let addr = api::serve(app);
    let stream = |name: &str| {
        format!("[[streams]]\nname = \"{name}\"\npath = \"/{name}\"\nincremental = {{ cursor_field = \"/updated\", param = \"since\", start = \"2000-01-01T00:00:00Z\" }}\nfile = {{ name = \"/name\", content = \"/data\" }}\n")
    };
    let defs = tempfile::tempdir().unwrap();
    std::fs::write(
        defs.path().join("two.toml"),
        format!(
            "[connector]\nname = \"two\"\nbase_url = \"http://{addr}\"\n{FAST}{}{}",
            stream("a"),
            stream("b")
        ),
    )
    .unwrap();
    let mirror = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fetch = |resume: &[(String, String)]| {
        rt.block_on(iorready::connectors::fetch_workbooks(
            defs.path(),
            "two",
            mirror.path(),
            resume,
            false,
        ))
        .unwrap()
    };
    let first = fetch(&[]);
    second_run.store(true, Ordering::SeqCst);
    let second = fetch(&first.cursors);
    assert!(!second.complete);
    let names: Vec<String> = iorready::connectors::mirrored(mirror.path(), "two")
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a-renamed.xlsx", "b.xlsx"]);
}

#[test]
fn a_sidecar_without_a_stream_still_names_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("c/files");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("q.xlsx"), b"x").unwrap();
    std::fs::write(
        sub.join("q.xlsx.iorready.json"),
        r#"{"connector": "c", "path": "q.xlsx", "parent": null, "record_id": "5"}"#,
    )
    .unwrap();
    let found = iorready::connectors::mirrored(dir.path(), "c");
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].record_id.as_deref(), found[0].stream.as_deref()),
        (Some("5"), None)
    );
}

#[test]
fn a_delta_link_saved_without_its_parent_is_not_taken_up_by_another_folder() {
    let (addr, graph) = api::start();
    graph.lock().unwrap().graph_extra = vec![graph_item("5", "second-supplier.xlsx", "F2")];
    let defs = graph_definitions(addr, |t| t);
    let mirror = tempfile::tempdir().unwrap();
    let first = graph_fetch(defs.path(), mirror.path(), &[]).unwrap();
    // As saved before delta links were kept per parent; then the job's
    // folder changes to F2.
    let unkeyed = vec![("questionnaires".to_owned(), first.cursors[0].1.clone())];
    let moved = graph_definitions(addr, |t| t.replace("root:/IOR\"", "root:/IOR 2\""));
    let second = graph_fetch(moved.path(), mirror.path(), &unkeyed).unwrap();
    assert!(graph.lock().unwrap().graph_delta_tokens.is_empty(), "the link was F1's");
    assert!(second.complete);
    assert!(mirror_names(mirror.path()).contains(&"F2/second-supplier.xlsx".to_owned()));
    assert_eq!(second.cursors[0].0, "questionnaires@F2");
}

#[test]
fn a_delta_link_saved_without_its_parent_is_not_taken_up_when_the_mirror_names_no_parent() {
    let (addr, graph) = api::start();
    let defs = graph_definitions(addr, |t| t);
    let first = graph_fetch(defs.path(), tempfile::tempdir().unwrap().path(), &[]).unwrap();
    let unkeyed = vec![("questionnaires".to_owned(), first.cursors[0].1.clone())];
    let empty = tempfile::tempdir().unwrap();
    let second = graph_fetch(defs.path(), empty.path(), &unkeyed).unwrap();
    assert!(graph.lock().unwrap().graph_delta_tokens.is_empty());
    assert!(second.complete);
    assert_eq!(mirror_names(empty.path()), [MERIDIAN, SWIFTFREIGHT]);
}
