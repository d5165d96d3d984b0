//! The HTTP side of a connector: authentication with a cached token
//! (refreshed shortly before it expires, and once on a 401), retries on 429
//! and 5xx honouring `Retry-After` up to a cap, exponential backoff with
//! jitter otherwise, pacing, timeouts; every message scrubbed of secrets.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use tokio::sync::Mutex;

use super::config::{Auth, Connector};
use super::secret::Redactor;

/// Tokens are renewed this long before they expire.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// Assumed lifetime of a token that does not say.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// The most redirects one request follows.
const MAX_REDIRECTS: usize = 5;
/// The most of an error body quoted in a message.
const BODY_EXCERPT: usize = 300;

/// A connector request that failed, naming the connector, the stream, the
/// request (without secrets) and what the API said.
#[derive(Debug, Clone, thiserror::Error)]
#[error("connector '{connector}', stream '{stream}', {method} {url}: {message}")]
pub struct ConnectorError {
    /// The connector.
    pub connector: String,
    /// The stream (or `auth` for a token request).
    pub stream: String,
    /// HTTP method.
    pub method: String,
    /// URL without query secrets.
    pub url: String,
    /// What went wrong, with the API's own message where there is one.
    pub message: String,
}

impl ConnectorError {
    /// True when the API could not be reached at all (the connection was
    /// refused or dropped, the request timed out), as opposed to an answer
    /// it gave: the host is down, or the network to it.
    pub fn unreachable(&self) -> bool {
        self.message.starts_with("the request failed") || self.message.starts_with("the request timed out")
    }

    /// The HTTP status the API refused the request with, when it did (not
    /// on a timeout, a dropped connection or an unreadable answer). A
    /// [`Client`] writes every refusal's message as `HTTP <code> ...`, and
    /// no other message so, which is what this reads (a field would make
    /// every `Result` carrying the error larger).
    pub fn status(&self) -> Option<u16> {
        let code = self.message.strip_prefix("HTTP ")?.get(..3)?;
        code.parse().ok().filter(|c| (100..600).contains(c))
    }
}

/// A fetched page.
#[derive(Debug, Clone)]
pub struct Page {
    /// Response headers.
    pub headers: HeaderMap,
    /// The parsed JSON body.
    pub body: serde_json::Value,
    /// A digest of the body's bytes as received: two pages with the same
    /// digest repeat each other (a paging loop). An API that sends the same
    /// page with its keys in another order is not caught by it, only by
    /// `limits.max_pages`.
    pub digest: u64,
}

struct Token {
    value: String,
    expires: Instant,
}

/// An authenticated, paced, retrying HTTP client for one connector.
pub struct Client {
    connector: Connector,
    http: reqwest::Client,
    redactor: Redactor,
    token: Mutex<Option<Token>>,
    pace: Mutex<Option<Instant>>,
    /// Requests sent, for tests and metrics.
    pub requests: std::sync::atomic::AtomicU64,
    /// Tokens obtained.
    pub tokens: std::sync::atomic::AtomicU64,
    /// One permit per request allowed in flight (`limits.concurrency`).
    in_flight: tokio::sync::Semaphore,
    /// Saved cursors of incremental streams, by stream name.
    resume: std::sync::Mutex<HashMap<String, DateTime<Utc>>>,
    /// The cursors complete reads reached, by stream name.
    reached: std::sync::Mutex<HashMap<String, DateTime<Utc>>>,
    /// Delta links to start reads at, by delta key (`stream`, or
    /// `stream@parent id` for a stream read once per parent record).
    resume_links: std::sync::Mutex<HashMap<String, String>>,
    /// Keys whose link was adopted from an older iorready's link for the
    /// whole stream.
    adopted: std::sync::Mutex<std::collections::HashSet<String>>,
    /// The delta links complete reads ended with, by delta key.
    links_reached: std::sync::Mutex<HashMap<String, String>>,
    /// True once a read started from a saved cursor or delta link: what it
    /// listed is only what changed, not the vendor's whole set.
    resumed: std::sync::atomic::AtomicBool,
}

impl Client {
    /// A client for `connector`; secrets are resolved when first needed.
    pub fn new(connector: Connector, redactor: Redactor) -> Result<Self, ConnectorError> {
        // Redirects within the API's own origin are followed as they come;
        // one to another origin stops here and is followed by `read`
        // without the connector's credentials (reqwest would strip only
        // `Authorization` and cookies, not an API key header).
        let base = connector.base_url.origin();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if attempt.url().origin() == base {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let http = reqwest::Client::builder()
            .timeout(connector.limits.timeout)
            .redirect(policy)
            .build()
            .map_err(|e| ConnectorError {
                connector: connector.name.clone(),
                stream: "-".into(),
                method: "-".into(),
                url: "-".into(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let permits = connector.limits.concurrency;
        Ok(Self {
            connector,
            http,
            redactor,
            token: Mutex::new(None),
            pace: Mutex::new(None),
            requests: Default::default(),
            tokens: Default::default(),
            in_flight: tokio::sync::Semaphore::new(permits),
            resume: Default::default(),
            reached: Default::default(),
            resume_links: Default::default(),
            adopted: Default::default(),
            links_reached: Default::default(),
            resumed: Default::default(),
        })
    }

    /// Reads of the incremental `stream` ask for changes since `cursor`
    /// (less its look-back) instead of since its start.
    pub fn resume_from(&self, stream: &str, cursor: DateTime<Utc>) {
        // A poisoned lock only means another thread panicked mid-insert;
        // the map itself is still whole.
        let mut map = self.resume.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(stream.to_owned(), cursor);
        self.note_resumed();
    }

    /// Reads with the delta key `key` (a stream paged by next links with a
    /// `delta_path`: its name, or `name@parent id` for a child stream, see
    /// [`delta_key`](super::delta_key)) start at this delta link: only what
    /// changed since the read that gave it.
    pub fn resume_link(&self, key: &str, link: &str) {
        let mut map = self.resume_links.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(key.to_owned(), link.to_owned());
    }

    /// Like [`Client::resume_link`], for a link an older iorready saved
    /// under the stream's name alone, taken for the parent `key` names:
    /// dropped again (`drop_adopted_links`) when the stream turns
    /// out to have several parents.
    pub fn adopt_legacy_link(&self, key: &str, link: &str) {
        self.resume_link(key, link);
        self.adopted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned());
    }

    /// Forgets the links adopted for `stream`'s parents (see
    /// [`Client::adopt_legacy_link`]).
    pub(crate) fn drop_adopted_links(&self, stream: &str) {
        let mut adopted = self.adopted.lock().unwrap_or_else(|p| p.into_inner());
        let mut links = self.resume_links.lock().unwrap_or_else(|p| p.into_inner());
        adopted.retain(|key| {
            let of_stream = key.split_once('@').is_some_and(|(name, _)| name == stream);
            if of_stream {
                tracing::info!(stream = %stream, "a delta link saved without its parent is not used: the stream has several parents");
                links.remove(key);
            }
            !of_stream
        });
    }

    /// The delta link a read with the delta key `key` starts at, if any.
    pub fn saved_link(&self, key: &str) -> Option<String> {
        self.resume_links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Forgets the saved delta link of `key`, which the API said has
    /// expired (HTTP 410): reads start from the stream's start again, and
    /// the link their full listing ends with replaces it.
    pub(crate) fn forget_link(&self, key: &str) {
        let mut map = self.resume_links.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }

    /// The delta link the last complete read with the delta key `key`
    /// ended with: what to save once its records are stored.
    pub fn link_reached(&self, key: &str) -> Option<String> {
        self.links_reached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Every delta link complete reads ended with, by delta key, sorted.
    pub fn links_reached(&self) -> Vec<(String, String)> {
        let map = self.links_reached.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<(String, String)> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.sort();
        all
    }

    pub(crate) fn note_link(&self, key: &str, link: String) {
        let mut map = self.links_reached.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(key.to_owned(), link);
    }

    /// True when a read so far started from a saved delta link that the API
    /// honoured, or an incremental stream was given a cursor: the records
    /// read are then not the vendor's whole set.
    pub fn resumed(&self) -> bool {
        self.resumed.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn note_resumed(&self) {
        self.resumed.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The saved cursor of `stream`, if any.
    pub fn saved_cursor(&self, stream: &str) -> Option<DateTime<Utc>> {
        self.resume
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(stream)
            .copied()
    }

    /// The latest modification among the records of every complete read
    /// of `stream` so far: what to save once those records are stored.
    pub fn cursor_reached(&self, stream: &str) -> Option<DateTime<Utc>> {
        self.reached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(stream)
            .copied()
    }

    pub(crate) fn note_cursor(&self, stream: &str, at: DateTime<Utc>) {
        let mut map = self.reached.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(stream.to_owned()).or_insert(at);
        *entry = (*entry).max(at);
    }

    /// The connector definition.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// The redactor holding this connector's secrets.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    fn error(&self, stream: &str, method: &Method, url: &Url, message: impl Into<String>) -> ConnectorError {
        let mut shown = url.clone();
        // A URL on another origin came from the vendor's data (a download
        // URL, a redirect): its query is a signature more often than not,
        // and no configured secret to scrub, so none of it is shown.
        let foreign_query = self.connector.base_url.origin() != url.origin() && url.query().is_some();
        if foreign_query {
            shown.set_query(None);
        }
        // Query values may be keys: keep the names, hide every value that is
        // a secret, then scrub anything else that matches one.
        let pairs: Vec<(String, String)> = shown
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if !pairs.is_empty() {
            let mut q = shown.query_pairs_mut();
            q.clear();
            for (k, v) in &pairs {
                q.append_pair(k, &self.redactor.scrub(v));
            }
        }
        ConnectorError {
            connector: self.connector.name.clone(),
            stream: stream.to_owned(),
            method: method.to_string(),
            url: self.redactor.scrub(&if foreign_query {
                format!("{shown}?(query hidden)")
            } else {
                shown.to_string()
            }),
            message: self.redactor.scrub(&message.into()),
        }
    }

    /// The current access token for OAuth2, obtained or renewed as needed.
    async fn bearer(&self, force: bool) -> Result<Option<String>, ConnectorError> {
        let (token_url, client_id, client_secret, in_body) = match &self.connector.auth {
            Auth::ClientCredentials {
                token_url,
                client_id,
                client_secret,
                in_body,
                ..
            }
            | Auth::RefreshToken {
                token_url,
                client_id,
                client_secret,
                in_body,
                ..
            } => (token_url, client_id, client_secret, *in_body),
            _ => return Ok(None),
        };
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_ref() {
            if !force && Instant::now() + EXPIRY_MARGIN < t.expires {
                return Ok(Some(t.value.clone()));
            }
        }
        let fail = |m: String| self.error("auth", &Method::POST, token_url, m);
        let id = client_id.resolve(&self.redactor).map_err(|e| fail(e.0))?;
        let secret = client_secret.resolve(&self.redactor).map_err(|e| fail(e.0))?;
        self.redactor.add_credentials(id.expose(), secret.expose());
        let client = BasicClient::new(ClientId::new(id.expose().to_owned()))
            .set_client_secret(ClientSecret::new(secret.expose().to_owned()))
            .set_token_uri(TokenUrl::from_url(token_url.clone()))
            .set_auth_type(if in_body {
                AuthType::RequestBody
            } else {
                AuthType::BasicAuth
            });
        let http = self.token_http().map_err(fail)?;
        let response = match &self.connector.auth {
            Auth::ClientCredentials {
                scopes, extra_params, ..
            } => {
                let mut request = client.exchange_client_credentials();
                for s in scopes {
                    request = request.add_scope(Scope::new(s.clone()));
                }
                for (k, v) in extra_params {
                    request = request.add_extra_param(k.clone(), v.clone());
                }
                request.request_async(&http).await
            }
            Auth::RefreshToken {
                refresh_token_file,
                scopes,
                ..
            } => {
                let current = std::fs::read_to_string(refresh_token_file).map_err(|e| {
                    fail(format!(
                        "cannot read the refresh token file {}: {e}",
                        refresh_token_file.display()
                    ))
                })?;
                let current = current.trim().to_owned();
                self.redactor.add(&current);
                let rt = oauth2::RefreshToken::new(current);
                let mut request = client.exchange_refresh_token(&rt);
                for s in scopes {
                    request = request.add_scope(Scope::new(s.clone()));
                }
                request.request_async(&http).await
            }
            _ => return Ok(None),
        }
        .map_err(|e| {
            fail(format!(
                "token request failed: {}",
                describe_token_error(&e, &self.redactor)
            ))
        })?;
        if let (Auth::RefreshToken { refresh_token_file, .. }, Some(next)) =
            (&self.connector.auth, response.refresh_token())
        {
            // Saved before the access token is used: a single-use refresh
            // token that was spent must never be lost.
            let next = next.secret();
            self.redactor.add(next);
            save_refresh_token(refresh_token_file, next).map_err(|e| {
                fail(format!(
                    "cannot save the rotated refresh token to {}: {e}",
                    refresh_token_file.display()
                ))
            })?;
        }
        self.tokens.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let value = response.access_token().secret().clone();
        self.redactor.add(&value);
        let lifetime = response.expires_in().unwrap_or(DEFAULT_TOKEN_LIFETIME);
        *guard = Some(Token {
            value: value.clone(),
            expires: Instant::now() + lifetime,
        });
        tracing::debug!(connector = %self.connector.name, lifetime_s = lifetime.as_secs(), "token obtained");
        Ok(Some(value))
    }

    /// The HTTP client for token and login requests, which must not
    /// redirect: a redirect could carry the credentials elsewhere.
    fn token_http(&self) -> Result<reqwest::Client, String> {
        reqwest::Client::builder()
            .timeout(self.connector.limits.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())
    }

    /// The current session token, from a login when there is none, it
    /// has run out, or `force` (after a 401).
    async fn session(&self, force: bool) -> Result<Option<String>, ConnectorError> {
        let Auth::Session {
            login_url,
            username,
            password,
            username_field,
            password_field,
            token_path,
            lifetime,
            ..
        } = &self.connector.auth
        else {
            return Ok(None);
        };
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_ref() {
            if !force && Instant::now() + EXPIRY_MARGIN.min(*lifetime / 2) < t.expires {
                return Ok(Some(t.value.clone()));
            }
        }
        let fail = |m: String| self.error("auth", &Method::POST, login_url, m);
        let user = username.resolve(&self.redactor).map_err(|e| fail(e.0))?;
        let pass = password.resolve(&self.redactor).map_err(|e| fail(e.0))?;
        let mut body = serde_json::Map::new();
        body.insert(username_field.clone(), user.expose().into());
        body.insert(password_field.clone(), pass.expose().into());
        let http = self.token_http().map_err(fail)?;
        let response = http
            .post(login_url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| fail(format!("the login request failed: {e}")))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| fail(format!("reading the login answer failed: {e}")))?;
        if !status.is_success() {
            return Err(fail(format!(
                "login refused: HTTP {status}: {}",
                api_message(&self.redactor.scrub(&text))
            )));
        }
        let answer: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| fail(format!("the login answer is not JSON: {e}")))?;
        let value = answer
            .pointer(token_path)
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail(format!("the login answer has no token at {token_path}")))?
            .to_owned();
        self.redactor.add(&value);
        self.tokens.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *guard = Some(Token {
            value: value.clone(),
            expires: Instant::now() + *lifetime,
        });
        tracing::debug!(connector = %self.connector.name, lifetime_s = lifetime.as_secs(), "session opened");
        Ok(Some(value))
    }

    /// Waits for the pacing slot of `requests_per_second`.
    async fn pace(&self) {
        let Some(rps) = self.connector.limits.requests_per_second else {
            return;
        };
        let gap = Duration::from_secs_f64(1.0 / rps);
        let mut last = self.pace.lock().await;
        if let Some(at) = *last {
            let next = at + gap;
            let now = Instant::now();
            if next > now {
                tokio::time::sleep(next - now).await;
            }
        }
        *last = Some(Instant::now());
    }

    /// True when `url` is on the API's own origin (scheme, host and port of
    /// `base_url`): only there are credentials sent.
    fn trusted(&self, url: &Url) -> bool {
        url.origin() == self.connector.base_url.origin()
    }

    /// A request with the connector's headers and authentication. To a URL
    /// on another origin than `base_url` (one a vendor record names, a
    /// pre-authenticated download) only the headers that hold no secret
    /// go: no credentials, no API key.
    async fn authorized(
        &self,
        stream: &str,
        method: &Method,
        url: &Url,
    ) -> Result<reqwest::RequestBuilder, ConnectorError> {
        let mut request = self.http.request(method.clone(), url.clone());
        let trusted = self.trusted(url);
        for (name, value) in &self.connector.headers {
            if !trusted && value.is_reference() {
                continue;
            }
            let v = value
                .resolve(&self.redactor)
                .map_err(|e| self.error(stream, method, url, e.0))?;
            request = request.header(name.as_str(), v.expose());
        }
        if !trusted {
            return Ok(request);
        }
        request = match &self.connector.auth {
            Auth::None | Auth::ClientCredentials { .. } | Auth::RefreshToken { .. } => request,
            Auth::Session { header, prefix, .. } => {
                let token = self.session(false).await?.unwrap_or_default();
                let mut hv = HeaderValue::from_str(&format!("{prefix}{token}"))
                    .map_err(|_| self.error(stream, method, url, "the session token is not a valid header value"))?;
                hv.set_sensitive(true);
                request.header(header.clone(), hv)
            }
            Auth::Basic { username, password } => {
                let u = username
                    .resolve(&self.redactor)
                    .map_err(|e| self.error(stream, method, url, e.0))?;
                let p = password
                    .resolve(&self.redactor)
                    .map_err(|e| self.error(stream, method, url, e.0))?;
                self.redactor.add_credentials(u.expose(), p.expose());
                request.basic_auth(u.expose(), Some(p.expose()))
            }
            Auth::Bearer { token } => {
                let t = token
                    .resolve(&self.redactor)
                    .map_err(|e| self.error(stream, method, url, e.0))?;
                request.bearer_auth(t.expose())
            }
            Auth::ApiKey { name, value, in_query } => {
                let v = value
                    .resolve(&self.redactor)
                    .map_err(|e| self.error(stream, method, url, e.0))?;
                if *in_query {
                    request.query(&[(name.as_str(), v.expose())])
                } else {
                    let header = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| self.error(stream, method, url, format!("'{name}' is not a header name")))?;
                    let mut hv = HeaderValue::from_str(v.expose())
                        .map_err(|_| self.error(stream, method, url, "the API key is not a valid header value"))?;
                    hv.set_sensitive(true);
                    request.header(header, hv)
                }
            }
        };
        if let Some(token) = self.bearer(false).await? {
            request = request.bearer_auth(token);
        }
        Ok(request)
    }

    /// Sends a JSON body (`POST` to create, `PUT` to update). A write is
    /// retried only when the API says it did not process it (429, 503 with
    /// `Retry-After`), so a retry cannot create a duplicate.
    pub async fn send_json(
        &self,
        stream: &str,
        method: Method,
        url: Url,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ConnectorError> {
        self.send(stream, method, url, Body::Json(body)).await
    }

    /// Sends a file's bytes as they are, with its content type; retried
    /// like `send_json`.
    pub async fn send_bytes(
        &self,
        stream: &str,
        method: Method,
        url: Url,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<serde_json::Value, ConnectorError> {
        self.send(stream, method, url, Body::Bytes(bytes, content_type)).await
    }

    async fn send(
        &self,
        stream: &str,
        method: Method,
        url: Url,
        body: Body<'_>,
    ) -> Result<serde_json::Value, ConnectorError> {
        let mut attempt = 0u32;
        loop {
            // The semaphore is never closed, so acquiring only waits.
            let permit = self.in_flight.acquire().await.ok();
            let request = self.authorized(stream, &method, &url).await?;
            let request = match body {
                Body::Json(v) => request.json(v),
                Body::Bytes(b, content_type) => request
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(b.to_vec()),
            };
            self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let response = request.send().await.map_err(|e| {
                let e = e.without_url();
                self.error(stream, &method, &url, format!("the request failed: {e}"))
            })?;
            let status = response.status();
            if status.is_success() {
                let text = response.text().await.unwrap_or_default();
                return Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null));
            }
            let wait = retry_after(response.headers());
            let text = response.text().await.unwrap_or_default();
            let not_processed = status == StatusCode::TOO_MANY_REQUESTS
                || (status == StatusCode::SERVICE_UNAVAILABLE && wait.is_some());
            if !not_processed || attempt >= self.connector.limits.max_retries {
                return Err(self.error(
                    stream,
                    &method,
                    &url,
                    format!("HTTP {status}: {}", api_message(&self.redactor.scrub(&text))),
                ));
            }
            attempt += 1;
            let wait = wait.unwrap_or_else(|| backoff(self.connector.limits.backoff_base, attempt));
            drop(permit);
            tokio::time::sleep(wait.min(self.connector.limits.retry_after_cap)).await;
        }
    }

    /// Sends `GET url` and parses the JSON body (or XML, read as JSON:
    /// see `xml`).
    pub async fn get_json(&self, stream: &str, url: Url) -> Result<Page, ConnectorError> {
        self.read_json(stream, Method::GET, url, None).await
    }

    /// Reads a page: `GET url`, or a search sent as `POST url` with a JSON
    /// body (SAP Ariba's vendor data requests). A read changes nothing at
    /// the vendor, so it is retried like a GET.
    pub async fn read_json(
        &self,
        stream: &str,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<Page, ConnectorError> {
        self.read_page(stream, method.clone(), url.clone(), body, false)
            .await?
            .ok_or_else(|| self.error(stream, &method, &url, "HTTP 410 Gone"))
    }

    /// [`Client::read_json`], but `None` when the API answers HTTP 410 Gone:
    /// a delta link that has expired (Graph's `resyncRequired`).
    pub async fn read_json_unless_gone(
        &self,
        stream: &str,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<Page>, ConnectorError> {
        self.read_page(stream, method, url, body, true).await
    }

    async fn read_page(
        &self,
        stream: &str,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        gone_ok: bool,
    ) -> Result<Option<Page>, ConnectorError> {
        let Some((headers, bytes)) = self.read(stream, method.clone(), url.clone(), body, gone_ok).await? else {
            return Ok(None);
        };
        let digest = {
            use std::hash::{Hash, Hasher};
            let mut h = std::hash::DefaultHasher::new();
            bytes.hash(&mut h);
            h.finish()
        };
        let text = String::from_utf8_lossy(&bytes);
        let xml = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("xml"))
            || text.trim_start().starts_with("<?xml");
        if xml {
            let body = super::xml::to_json(&text)
                .map_err(|e| self.error(stream, &method, &url, format!("the XML answer cannot be read: {e}")))?;
            return Ok(Some(Page { headers, body, digest }));
        }
        let body = serde_json::from_str(&text).map_err(|e| {
            self.error(
                stream,
                &method,
                &url,
                format!(
                    "the body is not valid JSON ({e}); it starts: {}",
                    excerpt(&self.redactor.scrub(&text))
                ),
            )
        })?;
        Ok(Some(Page { headers, body, digest }))
    }

    /// Sends `GET url` with authentication, retries and pacing; returns the
    /// headers and the body's bytes.
    pub async fn get(&self, stream: &str, url: Url) -> Result<(HeaderMap, Vec<u8>), ConnectorError> {
        self.read(stream, Method::GET, url.clone(), None, false)
            .await?
            .ok_or_else(|| self.error(stream, &Method::GET, &url, "HTTP 410 Gone"))
    }

    /// [`Client::get`] with any method and an optional JSON body, for reads
    /// that are safe to repeat; `None` for HTTP 410 Gone when `gone_ok`.
    async fn read(
        &self,
        stream: &str,
        mut method: Method,
        mut url: Url,
        mut body: Option<&serde_json::Value>,
        gone_ok: bool,
    ) -> Result<Option<(HeaderMap, Vec<u8>)>, ConnectorError> {
        let limits = &self.connector.limits;
        let mut attempt = 0u32;
        let mut reauthenticated = false;
        let mut redirects = 0usize;
        loop {
            self.pace().await;
            // The semaphore is never closed, so acquiring only waits.
            let permit = self.in_flight.acquire().await.ok();
            let request = self.authorized(stream, &method, &url).await?;
            let request = match body {
                Some(b) => request.json(b),
                None => request,
            };
            self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let outcome = request.send().await;
            let retry_in = match outcome {
                Ok(response) => {
                    let status = response.status();
                    if status == StatusCode::UNAUTHORIZED && self.connector.auth.obtains_token() && !reauthenticated {
                        // The token expired early or was revoked: one new
                        // token, one more try; never a token per request.
                        reauthenticated = true;
                        match self.connector.auth {
                            Auth::Session { .. } => self.session(true).await?,
                            _ => self.bearer(true).await?,
                        };
                        continue;
                    }
                    if status.is_redirection() {
                        // A redirect to another origin, which the client's
                        // policy left to follow here: the next request is
                        // built for its own URL, so without credentials.
                        let next = response
                            .headers()
                            .get(reqwest::header::LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|l| url.join(l).ok());
                        let Some(next) = next.filter(|_| redirects < MAX_REDIRECTS) else {
                            let message = format!("HTTP {status}: a redirect that cannot be followed");
                            return Err(self.error(stream, &method, &url, message));
                        };
                        redirects += 1;
                        if !matches!(status, StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT) {
                            method = Method::GET;
                            body = None;
                        }
                        url = next;
                        continue;
                    }
                    if status.is_success() {
                        let headers = response.headers().clone();
                        match read_body(response, limits.max_body_bytes).await {
                            Ok(bytes) => return Ok(Some((headers, bytes))),
                            Err(None) => {
                                let mb = limits.max_body_bytes / (1024 * 1024);
                                let message = format!("the answer is larger than {mb} MB (limits.max_body_mb)");
                                return Err(self.error(stream, &method, &url, message));
                            }
                            Err(Some(e)) => {
                                // A body cut short (the connection dropped): a
                                // GET is safe to send again.
                                let message = if e.is_timeout() {
                                    format!(
                                        "the answer timed out: it was still arriving after {} s (limits.timeout_seconds)",
                                        limits.timeout.as_secs()
                                    )
                                } else {
                                    format!("reading the body failed (cut short?): {e}")
                                };
                                if attempt >= limits.max_retries {
                                    let message = format!("{message} (after {attempt} retries)");
                                    return Err(self.error(stream, &method, &url, message));
                                }
                                tracing::warn!(connector = %self.connector.name, stream, "retrying: {}", self.redactor.scrub(&message));
                                None
                            }
                        }
                    } else if status == StatusCode::GONE && gone_ok {
                        return Ok(None);
                    } else {
                        let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                        let wait = retry_after(response.headers());
                        let body = response.text().await.unwrap_or_default();
                        let message = format!("HTTP {status}: {}", api_message(&self.redactor.scrub(&body)));
                        if !retryable || attempt >= limits.max_retries {
                            let tries = if retryable {
                                format!(" (after {} retries)", attempt)
                            } else {
                                String::new()
                            };
                            return Err(self.error(stream, &method, &url, format!("{message}{tries}")));
                        }
                        tracing::warn!(connector = %self.connector.name, stream, status = status.as_u16(), "retrying: {}", self.redactor.scrub(&message));
                        wait.map(|w| w.min(limits.retry_after_cap))
                    }
                }
                Err(e) => {
                    let kind = if e.is_timeout() {
                        format!(
                            "timed out after {} s (limits.timeout_seconds)",
                            limits.timeout.as_secs()
                        )
                    } else {
                        "failed".to_owned()
                    };
                    // The error's own text repeats the URL, query and all;
                    // the message names the URL once, redacted.
                    let e = with_causes(&e.without_url());
                    let message = format!("the request {kind}: {e}");
                    if attempt >= limits.max_retries {
                        return Err(self.error(stream, &method, &url, format!("{message} (after {attempt} retries)")));
                    }
                    tracing::warn!(connector = %self.connector.name, stream, "retrying: {}", self.redactor.scrub(&message));
                    None
                }
            };
            let wait = retry_in.unwrap_or_else(|| backoff(limits.backoff_base, attempt));
            attempt += 1;
            // Waiting out a retry does not hold a request slot.
            drop(permit);
            tokio::time::sleep(wait).await;
        }
    }
}

/// Reads a response body of at most `max` bytes: `Err(None)` when it is
/// larger (by its Content-Length or as it arrives), `Err(Some)` when the
/// connection fails part-way.
/// An error's text followed by its causes' (reqwest's own says only
/// "error sending request"; the cause says the connection was refused).
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        next = cause.source();
    }
    text
}

async fn read_body(mut response: reqwest::Response, max: u64) -> Result<Vec<u8>, Option<reqwest::Error>> {
    if response.content_length().is_some_and(|n| n > max) {
        return Err(None);
    }
    // Room for what the answer says it holds, never more than the limit; a
    // body without a length grows, but never past the limit either (a
    // doubling Vec would hold twice the limit, and copy it, before the
    // limit refused it).
    let max_len = usize::try_from(max).unwrap_or(usize::MAX);
    let said = response.content_length().and_then(|n| usize::try_from(n).ok());
    let mut body = Vec::with_capacity(said.unwrap_or(0).min(max_len));
    // Without the URL: messages name it once, redacted.
    while let Some(chunk) = response.chunk().await.map_err(|e| Some(e.without_url()))? {
        let needed = body.len() + chunk.len();
        if needed as u64 > max {
            return Err(None);
        }
        if needed > body.capacity() {
            let grown = needed.max(body.capacity().saturating_mul(2)).min(max_len);
            body.reserve_exact(grown - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Writes a refresh token to a temporary file beside `path` (readable by
/// this user only), flushes it and renames it into place.
fn save_refresh_token(path: &std::path::Path, token: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".iorready-token-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(token.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Exponential backoff with full jitter: up to base x 2^attempt.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base.saturating_mul(1u32 << attempt.min(10));
    let ms = ceiling.as_millis().min(u128::from(u64::MAX)) as u64;
    Duration::from_millis(rand::rng().random_range(ms / 2..=ms.max(1)))
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn excerpt(text: &str) -> String {
    let t: String = text.chars().take(BODY_EXCERPT).collect();
    if text.chars().count() > BODY_EXCERPT {
        format!("{t}…")
    } else {
        t
    }
}

/// What a write sends.
#[derive(Clone, Copy)]
enum Body<'a> {
    Json(&'a serde_json::Value),
    Bytes(&'a [u8], &'a str),
}

/// The API's own error message: a `message`, `error_description` or
/// `error` field of a JSON body, else the start of the body.
fn api_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        for key in ["message", "error_description", "detail", "error"] {
            match v.get(key) {
                Some(serde_json::Value::String(s)) => return excerpt(s),
                Some(serde_json::Value::Object(o)) => {
                    if let Some(serde_json::Value::String(s)) = o.get("message") {
                        return excerpt(s);
                    }
                }
                _ => {}
            }
        }
        // Coupa: {"errors": {"error": ["..."]}}; others: {"errors": ["..."]}.
        if let Some(errors) = v.get("errors") {
            let list = errors.get("error").unwrap_or(errors);
            if let Some(items) = list.as_array() {
                let texts: Vec<&str> = items.iter().filter_map(|e| e.as_str()).collect();
                if !texts.is_empty() {
                    return excerpt(&texts.join("; "));
                }
            }
        }
    }
    if body.trim().is_empty() {
        "(no body)".into()
    } else {
        excerpt(body.trim())
    }
}

fn describe_token_error<RE: std::error::Error + 'static>(
    e: &oauth2::RequestTokenError<RE, oauth2::StandardErrorResponse<oauth2::basic::BasicErrorResponseType>>,
    redactor: &Redactor,
) -> String {
    match e {
        oauth2::RequestTokenError::ServerResponse(r) => {
            let mut m = r.error().to_string();
            if let Some(d) = r.error_description() {
                m.push_str(": ");
                m.push_str(d);
            }
            m
        }
        oauth2::RequestTokenError::Request(r) => format!("{r}"),
        oauth2::RequestTokenError::Parse(p, body) => format!(
            "unreadable token response ({p}): {}",
            excerpt(&redactor.scrub(&String::from_utf8_lossy(body)))
        ),
        oauth2::RequestTokenError::Other(o) => o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a_client() -> Client {
        let text =
            "[connector]\nname = \"x\"\nbase_url = \"http://127.0.0.1:9/\"\n[[streams]]\nname = \"s\"\npath = \"a\"\n";
        let connector = Connector::from_source(&crate::config::Source::new("x.toml", text)).unwrap();
        Client::new(connector, Redactor::default()).unwrap()
    }

    #[test]
    fn an_adopted_legacy_link_is_dropped_when_its_stream_has_several_parents() {
        let client = a_client();
        client.adopt_legacy_link("questionnaires@F1", "https://old-link");
        client.resume_link("questionnaires@F2", "https://f2-own-link");
        client.adopt_legacy_link("other@F1", "https://other-link");
        client.drop_adopted_links("questionnaires");
        assert_eq!(client.saved_link("questionnaires@F1"), None);
        // A link saved for its own parent, and another stream's, stay.
        assert_eq!(
            client.saved_link("questionnaires@F2").as_deref(),
            Some("https://f2-own-link")
        );
        assert_eq!(client.saved_link("other@F1").as_deref(), Some("https://other-link"));
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let d = retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(100) && d <= Duration::from_secs(120), "{d:?}");
    }

    #[test]
    fn backoff_grows_and_stays_under_its_ceiling() {
        for attempt in 0..6 {
            let d = backoff(Duration::from_millis(100), attempt);
            assert!(d <= Duration::from_millis(100 << attempt), "{attempt}: {d:?}");
        }
    }

    #[test]
    fn the_apis_own_message_is_quoted() {
        assert_eq!(api_message(r#"{"message":"Supplier not found"}"#), "Supplier not found");
        assert_eq!(
            api_message(r#"{"errors":{"error":["Rate limit exceeded","try later"]}}"#),
            "Rate limit exceeded; try later"
        );
        assert_eq!(
            api_message(r#"{"error":{"code":"x","message":"Throttled"}}"#),
            "Throttled"
        );
        assert_eq!(api_message("Bad Gateway"), "Bad Gateway");
    }
}
