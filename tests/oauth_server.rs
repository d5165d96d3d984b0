//! Connectors against a real OAuth2 authorization server from npm
//! (oauth2-mock-server, run by `tests/oauth/server.js`, installed by
//! `.ci/run`): client credentials, refresh-token rotation saved so a
//! single-use token is never lost, a token expiring in the middle of a
//! paginated read, and a wrong secret.

mod common;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use iorready::config::Source;
use iorready::connectors::{Connector, ConnectorError};

struct Server {
    child: Child,
    token_url: String,
    api: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(env: &[(&str, &str)]) -> Option<Server> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oauth");
    if !dir.join("node_modules/oauth2-mock-server").is_dir() {
        assert!(std::env::var_os("CI").is_none(), "CI must install tests/oauth (npm ci)");
        eprintln!("skipped: run `npm ci --prefix tests/oauth` for the OAuth2 server tests");
        return None;
    }
    let mut cmd = Command::new("node");
    cmd.arg("server.js")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("node");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let issuer = v["issuer"].as_str().unwrap();
    let port = issuer.rsplit(':').next().unwrap();
    Some(Server {
        child,
        token_url: format!("http://127.0.0.1:{port}/token"),
        api: v["api"].as_str().unwrap().to_owned(),
    })
}

fn connector(server: &Server, auth: &str) -> Connector {
    let text = format!(
        "[connector]\nname = \"oauth\"\nbase_url = \"{}\"\n{auth}\n[limits]\nbackoff_base_ms = 10\n[[streams]]\nname = \"items\"\npath = \"/items\"\nrecords = \"/items\"\npagination = {{ type = \"offset\", page_size = 2 }}\n",
        server.api
    );
    Connector::from_source(&Source::new("oauth.toml", text)).unwrap()
}

fn read(c: Connector) -> Result<(Vec<u64>, u64), ConnectorError> {
    let (out, _, tokens) = common::read_connector(c)?;
    let ids = out.records.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    Ok((ids, tokens))
}

fn client_credentials(server: &Server, secret_var: &str) -> String {
    format!(
        "[auth]\ntype = \"oauth2_client_credentials\"\ntoken_url = \"{}\"\nclient_id = \"iorready\"\nclient_secret = \"${{env:{secret_var}}}\"\n",
        server.token_url
    )
}

#[test]
#[cfg_attr(no_oauth_server, ignore = "no OAuth2 test server: run `npm ci --prefix tests/oauth`")]
fn client_credentials_from_a_real_server_are_reused_across_pages() {
    let Some(server) = start(&[]) else { return };
    std::env::set_var("IORREADY_OAUTH_SECRET_OK", "client-secret-1");
    let (ids, tokens) = read(connector(
        &server,
        &client_credentials(&server, "IORREADY_OAUTH_SECRET_OK"),
    ))
    .unwrap();
    assert_eq!(ids, [0, 1, 2, 3, 4, 5]);
    assert_eq!(tokens, 1);
}

#[test]
#[cfg_attr(no_oauth_server, ignore = "no OAuth2 test server: run `npm ci --prefix tests/oauth`")]
fn a_token_expiring_in_the_middle_of_a_read_is_renewed_once_and_nothing_is_lost() {
    let Some(server) = start(&[("TOKEN_LIFETIME", "1"), ("PAGE_DELAY_MS", "450")]) else {
        return;
    };
    std::env::set_var("IORREADY_OAUTH_SECRET_EXPIRY", "client-secret-1");
    let (ids, tokens) = read(connector(
        &server,
        &client_credentials(&server, "IORREADY_OAUTH_SECRET_EXPIRY"),
    ))
    .unwrap();
    assert_eq!(ids, [0, 1, 2, 3, 4, 5]);
    assert!(tokens >= 2, "renewed after the 401: {tokens}");
    assert!(tokens <= 3, "once per expiry, not per request: {tokens}");
}

#[test]
#[cfg_attr(no_oauth_server, ignore = "no OAuth2 test server: run `npm ci --prefix tests/oauth`")]
fn a_wrong_client_secret_is_refused_and_never_shown() {
    let Some(server) = start(&[]) else { return };
    std::env::set_var("IORREADY_OAUTH_SECRET_BAD", "not-the-secret-77");
    let e = read(connector(
        &server,
        &client_credentials(&server, "IORREADY_OAUTH_SECRET_BAD"),
    ))
    .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains("not-the-secret-77"), "{text}");
}

#[test]
#[cfg_attr(no_oauth_server, ignore = "no OAuth2 test server: run `npm ci --prefix tests/oauth`")]
fn a_rotated_refresh_token_is_saved_before_use_so_the_next_run_can_refresh() {
    let Some(server) = start(&[("INITIAL_REFRESH", "refresh-0")]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("refresh-token");
    std::fs::write(&file, "refresh-0\n").unwrap();
    std::env::set_var("IORREADY_OAUTH_SECRET_RT", "client-secret-1");
    let auth = format!(
        "[auth]\ntype = \"oauth2_refresh_token\"\ntoken_url = \"{}\"\nclient_id = \"iorready\"\nclient_secret = \"${{env:IORREADY_OAUTH_SECRET_RT}}\"\nrefresh_token_file = \"{}\"\n",
        server.token_url,
        file.display()
    );
    let (ids, _) = read(connector(&server, &auth)).unwrap();
    assert_eq!(ids, [0, 1, 2, 3, 4, 5]);
    let rotated = std::fs::read_to_string(&file).unwrap();
    assert_ne!(
        rotated.trim(),
        "refresh-0",
        "the new refresh token replaced the spent one"
    );
    // A second run (a new process would do the same) refreshes with it:
    // the server accepts only the latest refresh token.
    let (ids, _) = read(connector(&server, &auth)).unwrap();
    assert_eq!(ids.len(), 6);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "readable by the service user only");
    }
    // The spent token is refused: proof that saving it mattered.
    std::fs::write(&file, "refresh-0").unwrap();
    let e = read(connector(&server, &auth)).unwrap_err();
    assert!(e.message.contains("invalid_grant"), "{e}");
}
