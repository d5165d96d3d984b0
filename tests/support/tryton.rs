//! A real Tryton 8 server for tests: a copy of a database prepared by
//! `trytond-admin` (see `.ci/run`), started on a free loopback port with
//! `TZ=UTC`, stopped when dropped. The venv and template come from
//! `IORREADY_TRYTON_VENV` and `IORREADY_TRYTON_DB`.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct Tryton {
    child: Child,
    _dir: tempfile::TempDir,
    pub url: String,
    pub key: String,
    http: reqwest::blocking::Client,
}

impl Drop for Tryton {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The venv and template database, when this machine has them; on CI
/// (`CI` set) their absence is a failure, not a skip.
pub fn available() -> Option<(PathBuf, PathBuf)> {
    let venv = std::env::var_os("IORREADY_TRYTON_VENV").map(PathBuf::from);
    let db = std::env::var_os("IORREADY_TRYTON_DB").map(PathBuf::from);
    match (venv, db) {
        (Some(v), Some(d)) if v.join("bin/trytond").is_file() && d.is_file() => Some((v, d)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must provide Tryton (IORREADY_TRYTON_VENV, IORREADY_TRYTON_DB)"
            );
            eprintln!("skipped: no Tryton here (set IORREADY_TRYTON_VENV and IORREADY_TRYTON_DB, see .ci/run)");
            None
        }
    }
}

impl Tryton {
    pub fn start(venv: &Path, template: &Path) -> Tryton {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(template, dir.path().join("tryton.sqlite")).unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let conf = dir.path().join("trytond.conf");
        std::fs::write(
            &conf,
            format!(
                "[database]\nuri = sqlite://\npath = {}\n[web]\nlisten = 127.0.0.1:{port}\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new(venv.join("bin/trytond"))
            .args(["-c", conf.to_str().unwrap(), "-d", "tryton"])
            .env("TZ", "UTC")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let http = reqwest::blocking::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = http
                .post(format!("{base}/rpc/"))
                .json(&json!({"id": 1, "method": "common.server.version", "params": []}))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "Tryton did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        let rpc = |session: Option<&str>, method: &str, params: Value| -> Value {
            let mut req = http
                .post(format!("{base}/tryton/rpc/"))
                .json(&json!({"id": 1, "method": method, "params": params}));
            if let Some(s) = session {
                req = req.header("Authorization", format!("Session {s}"));
            }
            let v: Value = req.send().unwrap().json().unwrap();
            assert!(v.get("error").is_none() || v["error"].is_null(), "{method}: {v}");
            v["result"].clone()
        };
        let login = rpc(
            None,
            "common.db.login",
            json!(["admin", {"password": "admin123"}, "en"]),
        );
        use base64::Engine;
        let session = base64::engine::general_purpose::STANDARD.encode(format!(
            "admin:{}:{}",
            login[0],
            login[1].as_str().unwrap()
        ));
        let ids = rpc(
            Some(&session),
            "model.res.user.application.create",
            json!([[{"user": 1, "application": "rest"}], {}]),
        );
        let app = rpc(
            Some(&session),
            "model.res.user.application.read",
            json!([ids, ["key"], {}]),
        );
        let key = app[0]["key"].as_str().unwrap().to_owned();
        Tryton {
            child,
            _dir: dir,
            url: format!("{base}/tryton/rest/"),
            key,
            http,
        }
    }

    fn rest(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.key)
    }

    /// Creates a record, returns its id.
    pub fn create(&self, model: &str, values: Value) -> u64 {
        let v: Value = self
            .rest(reqwest::Method::POST, &format!("model/{model}"))
            .json(&values)
            .send()
            .unwrap()
            .json()
            .unwrap();
        v["id"].as_u64().unwrap_or_else(|| panic!("create {model}: {v}"))
    }

    /// Every record of a model with the given fields.
    pub fn list(&self, model: &str, fields: &[&str]) -> Vec<Value> {
        let q: Vec<(&str, &str)> = fields.iter().map(|f| ("f", *f)).collect();
        self.rest(reqwest::Method::GET, &format!("model/{model}"))
            .query(&q)
            .send()
            .unwrap()
            .json::<Vec<Value>>()
            .unwrap()
    }
}
