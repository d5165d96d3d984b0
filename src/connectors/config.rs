//! Connector definitions (`connectors/*.toml`): where an API is, how to
//! authenticate, and which streams of records to read and how they page.
//! Checked once, with the file, line and key of any mistake.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::secret::SecretRef;
use crate::config::{ConfigError, Source};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnector {
    connector: RawMeta,
    #[serde(default)]
    auth: RawAuth,
    #[serde(default)]
    limits: RawLimits,
    streams: Vec<RawStream>,
    #[serde(default)]
    writeback: Vec<RawWriteback>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWriteback {
    name: String,
    what: String,
    path: String,
    #[serde(default)]
    find: BTreeMap<String, String>,
    create: Option<String>,
    update: Option<String>,
    update_path: Option<String>,
    upload: Option<String>,
    method: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: String,
    #[serde(default)]
    description: String,
    base_url: String,
    mapping: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    allow_insecure_http: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "type")]
enum RawAuth {
    #[default]
    None,
    Basic {
        username: String,
        password: String,
    },
    Bearer {
        token: String,
    },
    ApiKey {
        name: String,
        value: String,
        #[serde(default = "header")]
        r#in: String,
    },
    Oauth2ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: String,
        #[serde(default)]
        scopes: Vec<String>,
        #[serde(default = "basic")]
        client_auth: String,
        #[serde(default)]
        extra_params: BTreeMap<String, String>,
    },
    Oauth2RefreshToken {
        token_url: String,
        client_id: String,
        client_secret: String,
        refresh_token_file: String,
        #[serde(default)]
        scopes: Vec<String>,
        #[serde(default = "basic")]
        client_auth: String,
    },
    Session {
        login_url: String,
        username: String,
        password: String,
        #[serde(default = "username_field")]
        username_field: String,
        #[serde(default = "password_field")]
        password_field: String,
        token_path: String,
        #[serde(default = "session_lifetime")]
        lifetime_seconds: u64,
        #[serde(default = "authorization")]
        header: String,
        #[serde(default = "bearer_prefix")]
        prefix: String,
    },
}

fn username_field() -> String {
    "username".into()
}

fn password_field() -> String {
    "password".into()
}

fn session_lifetime() -> u64 {
    900
}

fn authorization() -> String {
    "Authorization".into()
}

fn bearer_prefix() -> String {
    "Bearer ".into()
}

fn header() -> String {
    "header".into()
}

fn basic() -> String {
    "basic".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    #[serde(default = "default_timeout")]
    timeout_seconds: u64,
    #[serde(default = "default_retries")]
    max_retries: u32,
    #[serde(default = "default_retry_cap")]
    retry_after_cap_seconds: u64,
    #[serde(default = "default_backoff")]
    backoff_base_ms: u64,
    #[serde(default)]
    requests_per_second: Option<f64>,
    #[serde(default = "default_max_pages")]
    max_pages: u32,
    #[serde(default = "default_max_body_mb")]
    max_body_mb: u64,
    #[serde(default = "default_concurrency")]
    concurrency: u32,
}

impl Default for RawLimits {
    fn default() -> Self {
        Self {
            timeout_seconds: default_timeout(),
            max_retries: default_retries(),
            retry_after_cap_seconds: default_retry_cap(),
            backoff_base_ms: default_backoff(),
            requests_per_second: None,
            max_pages: default_max_pages(),
            max_body_mb: default_max_body_mb(),
            concurrency: default_concurrency(),
        }
    }
}

fn default_timeout() -> u64 {
    30
}
fn default_retries() -> u32 {
    4
}
fn default_retry_cap() -> u64 {
    120
}
fn default_backoff() -> u64 {
    500
}
fn default_concurrency() -> u32 {
    1
}

/// A JSON page of small records takes up to about 37 times its size once
/// parsed (measured: a 24 MB page of 20-byte records peaked at 885 MB; an
/// 80 MB page of 42-byte records at 1.4 GB), so 16 MB keeps a run under
/// 1 GB; a workbook download takes its own size.
fn default_max_body_mb() -> u64 {
    16
}

fn default_max_pages() -> u32 {
    10_000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStream {
    name: String,
    path: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    filter: BTreeMap<String, String>,
    #[serde(default)]
    records: String,
    #[serde(default)]
    query: BTreeMap<String, QueryValue>,
    #[serde(default)]
    pagination: RawPagination,
    parent: Option<String>,
    file: Option<RawFile>,
    incremental: Option<RawIncremental>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIncremental {
    cursor_field: String,
    #[serde(default = "rfc3339_format")]
    format: String,
    param: Option<String>,
    start: String,
    #[serde(default)]
    lookback_minutes: u32,
}

fn rfc3339_format() -> String {
    "%Y-%m-%dT%H:%M:%SZ".into()
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum QueryValue {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: String,
    content: Option<String>,
    url: Option<String>,
    download_path: Option<String>,
    deleted: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "type")]
enum RawPagination {
    #[default]
    None,
    Offset {
        #[serde(default = "offset_param")]
        offset_param: String,
        #[serde(default = "limit_param")]
        limit_param: String,
        page_size: u32,
    },
    Page {
        #[serde(default = "page_param")]
        page_param: String,
        #[serde(default)]
        size_param: Option<String>,
        page_size: u32,
        #[serde(default = "one")]
        first_page: u32,
    },
    Cursor {
        #[serde(default = "cursor_param")]
        cursor_param: String,
        cursor_path: Option<String>,
        cursor_header: Option<String>,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default)]
        page_size: Option<u32>,
    },
    NextLink {
        next_path: Option<String>,
        #[serde(default)]
        link_header: bool,
        #[serde(default)]
        delta_path: Option<String>,
    },
}

fn offset_param() -> String {
    "offset".into()
}
fn limit_param() -> String {
    "limit".into()
}
fn page_param() -> String {
    "page".into()
}
fn cursor_param() -> String {
    "cursor".into()
}
fn one() -> u32 {
    1
}

/// A checked connector definition.
#[derive(Debug, Clone)]
pub struct Connector {
    /// Its name (`coupa`).
    pub name: String,
    /// What it connects to.
    pub description: String,
    /// The file it was read from.
    pub file: PathBuf,
    /// The API's base URL.
    pub base_url: reqwest::Url,
    /// The records mapping that turns its records into the model.
    pub mapping: Option<String>,
    /// Headers sent with every request (values may hold secrets).
    pub headers: Vec<(String, SecretRef)>,
    /// How to authenticate.
    pub auth: Auth,
    /// Timeouts, retries and pacing.
    pub limits: Limits,
    /// The streams of records.
    pub streams: Vec<Stream>,
    /// What is written back after scoring.
    pub writeback: Vec<Writeback>,
}

/// What a write-back writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritebackKind {
    /// The annotated workbook (`{file_name}`, `{content_base64}`).
    Annotated,
    /// The tier summary text (`{summary}`).
    Summary,
    /// Fields of the supplier record itself (`{ready}`, `{best_tier}`,
    /// `{as_of}`, ...).
    Fields,
}

/// How a write-back writes.
#[derive(Debug, Clone)]
pub enum WritebackMode {
    /// Find the record written last time; update it (PUT to `update_path`
    /// with the `update` template), or create it (POST to the path with the
    /// `create` template) when there is none, so re-runs never duplicate.
    Record {
        /// Query finding the existing record.
        find: Vec<(String, String)>,
        /// JSON body template for a new record.
        create: String,
        /// JSON body template for an update.
        update: String,
        /// Path of the existing record (`{found:/id}`).
        update_path: String,
    },
    /// The annotated workbook's bytes sent as they are with this method to
    /// the path, which names the file: writing it again replaces it.
    Upload {
        /// PUT or POST.
        method: reqwest::Method,
    },
    /// The supplier record at the path, updated in place with the `update`
    /// template: writing the same values again changes nothing.
    Fields {
        /// PUT or PATCH.
        method: reqwest::Method,
        /// JSON body template.
        update: String,
    },
}

/// One write-back.
#[derive(Debug, Clone)]
pub struct Writeback {
    /// Its name, for messages.
    pub name: String,
    /// What it writes.
    pub what: WritebackKind,
    /// Where records are searched and created, or where the file goes.
    pub path: String,
    /// How it writes.
    pub mode: WritebackMode,
    /// False: read only.
    pub enabled: bool,
}

/// Authentication.
#[derive(Debug, Clone)]
pub enum Auth {
    /// None.
    None,
    /// HTTP Basic.
    Basic {
        /// User name.
        username: SecretRef,
        /// Password.
        password: SecretRef,
    },
    /// A fixed bearer token.
    Bearer {
        /// The token.
        token: SecretRef,
    },
    /// An API key in a header or a query parameter.
    ApiKey {
        /// Header or parameter name.
        name: String,
        /// The key.
        value: SecretRef,
        /// True for a query parameter.
        in_query: bool,
    },
    /// OAuth2 client credentials.
    ClientCredentials {
        /// The token endpoint.
        token_url: reqwest::Url,
        /// Client id.
        client_id: SecretRef,
        /// Client secret.
        client_secret: SecretRef,
        /// Scopes requested.
        scopes: Vec<String>,
        /// True: client id and secret in the body; false: HTTP Basic.
        in_body: bool,
        /// Extra form parameters (an audience, a resource).
        extra_params: Vec<(String, String)>,
    },
    /// OAuth2 refresh token, rotated: each new refresh token is saved to
    /// `refresh_token_file` (atomically) before the access token is used.
    RefreshToken {
        /// The token endpoint.
        token_url: reqwest::Url,
        /// Client id.
        client_id: SecretRef,
        /// Client secret.
        client_secret: SecretRef,
        /// Where the current refresh token is kept (readable by the service
        /// user only).
        refresh_token_file: PathBuf,
        /// Scopes requested.
        scopes: Vec<String>,
        /// True: client id and secret in the body; false: HTTP Basic.
        in_body: bool,
    },
    /// Session login: a JSON login request whose answer holds a token that
    /// is then sent in a header until its lifetime runs out.
    Session {
        /// Where the login is POSTed.
        login_url: reqwest::Url,
        /// User name.
        username: SecretRef,
        /// Password.
        password: SecretRef,
        /// The login body's field names for the user name and password.
        username_field: String,
        /// See `username_field`.
        password_field: String,
        /// JSON pointer to the token in the login answer.
        token_path: String,
        /// How long a session lasts.
        lifetime: Duration,
        /// The header the token is sent in.
        header: reqwest::header::HeaderName,
        /// Put before the token in the header (`Bearer `, `Token `, or none).
        prefix: String,
    },
}

impl Auth {
    /// The secret references the authentication uses.
    pub fn secret_refs(&self) -> Vec<&SecretRef> {
        match self {
            Auth::None => Vec::new(),
            Auth::Basic { username, password } | Auth::Session { username, password, .. } => vec![username, password],
            Auth::Bearer { token } => vec![token],
            Auth::ApiKey { value, .. } => vec![value],
            Auth::ClientCredentials {
                client_id,
                client_secret,
                ..
            }
            | Auth::RefreshToken {
                client_id,
                client_secret,
                ..
            } => vec![client_id, client_secret],
        }
    }

    /// True for the kinds that obtain a token and renew it on a 401.
    pub fn obtains_token(&self) -> bool {
        matches!(
            self,
            Auth::ClientCredentials { .. } | Auth::RefreshToken { .. } | Auth::Session { .. }
        )
    }
}

/// Timeouts, retries and pacing.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Per request.
    pub timeout: Duration,
    /// Retries after a 429, a 5xx or a network error.
    pub max_retries: u32,
    /// The longest `Retry-After` honoured.
    pub retry_after_cap: Duration,
    /// Base of the exponential backoff.
    pub backoff_base: Duration,
    /// Pacing, if any.
    pub requests_per_second: Option<f64>,
    /// A stream reading more pages than this is stopped with an error.
    pub max_pages: u32,
    /// The largest response body read (a page or a downloaded file).
    pub max_body_bytes: u64,
    /// Requests in flight at once (child streams are read in parallel up
    /// to this).
    pub concurrency: usize,
}

/// A stream of records.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Its name (`suppliers`).
    pub name: String,
    /// Path under the base URL.
    pub path: String,
    /// JSON pointer to the array of records in a page ("" for the page).
    pub records: String,
    /// Query parameters; values may hold `{parent:/pointer}` and start
    /// with `base64url:`.
    pub query: Vec<(String, String)>,
    /// How pages follow one another.
    pub pagination: Pagination,
    /// The stream whose every record this one is read for.
    pub parent: Option<String>,
    /// For a file stream: where each record's file is.
    pub file: Option<FileSpec>,
    /// Only records changed since a cursor.
    pub incremental: Option<super::incremental::Incremental>,
    /// GET, or POST for an API that searches with a JSON body.
    pub method: reqwest::Method,
    /// The JSON body template of a POST read; may hold `{parent:/pointer}`.
    pub body: Option<String>,
    /// Only records whose value at each pointer equals the text (which may
    /// hold `{parent:/pointer}`); `*` asks only that the value be there.
    pub filter: Vec<(String, String)>,
}

/// Where a record's file (a workbook attachment, a drive item) is.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSpec {
    /// Pointer to the file name.
    pub name: String,
    /// Pointer to the file's base64 content: in the record, or, with `url`
    /// or `download_path`, in the JSON answer downloaded for the record
    /// (so a listing need not carry every file's content).
    pub content: Option<String>,
    /// Pointer to a download URL.
    pub url: Option<String>,
    /// Path under the base URL the file is downloaded from, with
    /// `{record:/pointer}` values (`drives/D/items/{record:/id}/content`).
    pub download_path: Option<String>,
    /// Pointer whose presence marks a record as a deletion (a delta
    /// listing's `/deleted`): its file leaves the mirror.
    pub deleted: Option<String>,
}

/// Pagination schemes.
#[derive(Debug, Clone, PartialEq)]
pub enum Pagination {
    /// One page.
    None,
    /// `offset` and `limit` parameters.
    Offset {
        /// Offset parameter.
        offset_param: String,
        /// Limit parameter.
        limit_param: String,
        /// Records per page.
        page_size: u32,
    },
    /// A page number.
    Page {
        /// Page parameter.
        page_param: String,
        /// Page size parameter, if the API takes one.
        size_param: Option<String>,
        /// Records per page.
        page_size: u32,
        /// The first page's number.
        first_page: u32,
    },
    /// A cursor from the body or a header, sent back as a parameter.
    Cursor {
        /// Parameter carrying the cursor.
        cursor_param: String,
        /// Pointer to the next cursor in the body.
        cursor_path: Option<String>,
        /// Header carrying the next cursor.
        cursor_header: Option<String>,
        /// Page size parameter and value, if any.
        size: Option<(String, u32)>,
    },
    /// The next page's URL, from the body (`@odata.nextLink`) or an RFC 8288
    /// `Link` header.
    NextLink {
        /// Pointer to the next URL in the body.
        next_path: Option<String>,
        /// Follow `Link: <...>; rel="next"`.
        link_header: bool,
        /// Pointer to the delta link on the last page (`@odata.deltaLink`):
        /// where the next read asks for what changed since this one.
        delta_path: Option<String>,
    },
}

fn url(src: &Source, key: &str, text: &str) -> Result<reqwest::Url, ConfigError> {
    let u = reqwest::Url::parse(text).map_err(|e| src.error(key, format!("'{text}' is not a URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(src.error(key, "expected an http or https URL"));
    }
    Ok(u)
}

/// True for a host on this machine, where plain http never leaves it.
fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Credentials sent over plain http to another machine can be read by
/// anyone on the way: refused unless the connector says
/// `allow_insecure_http = true`, and then warned about.
fn plain_http_check(src: &Source, base_url: &reqwest::Url, auth: &Auth, allowed: bool) -> Result<(), ConfigError> {
    let auth_url = match auth {
        Auth::ClientCredentials { token_url, .. } | Auth::RefreshToken { token_url, .. } => {
            Some(("auth.token_url", token_url))
        }
        Auth::Session { login_url, .. } => Some(("auth.login_url", login_url)),
        _ => None,
    };
    let urls = std::iter::once(("connector.base_url", base_url)).chain(auth_url);
    for (key, u) in urls {
        if u.scheme() != "http" || is_loopback(u) {
            continue;
        }
        let host = u.host_str().unwrap_or_default();
        if !allowed {
            return Err(src.error(
                key,
                format!("plain http to {host} would send the credentials unencrypted: use https, or set allow_insecure_http = true under [connector] if this network is trusted"),
            ));
        }
        tracing::warn!(file = %src.file().display(), key, host, "credentials go to {host} over plain http (allow_insecure_http = true)");
    }
    Ok(())
}

/// A setting that may come from the environment (`${env:D365_URL}`); not a
/// secret: resolved when the file is loaded, and shown in messages.
fn incremental(
    src: &Source,
    at: &str,
    raw: RawIncremental,
    in_query: bool,
) -> Result<super::incremental::Incremental, ConfigError> {
    let key = |k: &str| format!("{at}.incremental.{k}");
    let cursor_field = src.json_pointer(&key("cursor_field"), &raw.cursor_field)?;
    if cursor_field.is_empty() {
        return Err(src.error(&key("cursor_field"), "a JSON pointer such as \"/updated-at\""));
    }
    if raw.param.is_some() == in_query {
        return Err(src.error(
            &key("param"),
            "give either param, or '{since}' in a query value (a filter expression), not both",
        ));
    }
    let mut inc = super::incremental::Incremental {
        cursor_field,
        format: raw.format,
        param: raw.param,
        start: chrono::DateTime::UNIX_EPOCH,
        lookback: chrono::Duration::minutes(i64::from(raw.lookback_minutes)),
    };
    if chrono::format::StrftimeItems::new(&inc.format).parse().is_err() {
        return Err(src.error(
            &key("format"),
            format!("'{}' is not a chrono date-time format", inc.format),
        ));
    }
    inc.start = inc
        .parse(&raw.start)
        .ok_or_else(|| src.error(&key("start"), format!("'{}' is not a date-time", raw.start)))?;
    Ok(inc)
}

fn from_env(src: &Source, key: &str, text: &str) -> Result<String, ConfigError> {
    SecretRef::new(text)
        .resolve(&super::secret::Redactor::default())
        .map(|s| s.expose().to_owned())
        .map_err(|e| src.error(key, e.0))
}

fn secret(src: &Source, key: &str, text: &str) -> Result<SecretRef, ConfigError> {
    let r = SecretRef::new(text);
    r.check().map_err(|e| src.error(key, e.0))?;
    Ok(r)
}

impl Connector {
    /// Loads and checks a connector file.
    pub fn load(path: &Path) -> Result<Connector, ConfigError> {
        Self::from_source(&Source::read(path)?)
    }

    /// Checks a parsed connector file.
    pub fn from_source(src: &Source) -> Result<Connector, ConfigError> {
        let raw: RawConnector = src.parse()?;
        let name = raw.connector.name.trim().to_owned();
        if name.is_empty() {
            return Err(src.error("connector.name", "must not be empty"));
        }
        // The base URL may come from the environment (not a secret: it is
        // resolved now and shows in messages).
        let base_url = url(
            src,
            "connector.base_url",
            &from_env(src, "connector.base_url", &raw.connector.base_url)?,
        )?;
        let headers = raw
            .connector
            .headers
            .iter()
            .map(|(k, v)| Ok((k.clone(), secret(src, &format!("connector.headers.{k}"), v)?)))
            .collect::<Result<Vec<_>, ConfigError>>()?;
        let auth = match raw.auth {
            RawAuth::None => Auth::None,
            RawAuth::Basic { username, password } => Auth::Basic {
                username: secret(src, "auth.username", &username)?,
                password: secret(src, "auth.password", &password)?,
            },
            RawAuth::Bearer { token } => Auth::Bearer {
                token: secret(src, "auth.token", &token)?,
            },
            RawAuth::ApiKey { name, value, r#in } => Auth::ApiKey {
                name,
                value: secret(src, "auth.value", &value)?,
                in_query: match r#in.as_str() {
                    "header" => false,
                    "query" => true,
                    other => return Err(src.error("auth.in", format!("'{other}': expected header or query"))),
                },
            },
            RawAuth::Oauth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scopes,
                client_auth,
                extra_params,
            } => Auth::ClientCredentials {
                token_url: url(src, "auth.token_url", &from_env(src, "auth.token_url", &token_url)?)?,
                client_id: secret(src, "auth.client_id", &client_id)?,
                client_secret: secret(src, "auth.client_secret", &client_secret)?,
                scopes: scopes
                    .iter()
                    .enumerate()
                    .map(|(i, s)| from_env(src, &format!("auth.scopes[{i}]"), s))
                    .collect::<Result<_, _>>()?,
                in_body: match client_auth.as_str() {
                    "basic" => false,
                    "body" => true,
                    other => return Err(src.error("auth.client_auth", format!("'{other}': expected basic or body"))),
                },
                extra_params: extra_params.into_iter().collect(),
            },
            RawAuth::Oauth2RefreshToken {
                token_url,
                client_id,
                client_secret,
                refresh_token_file,
                scopes,
                client_auth,
            } => Auth::RefreshToken {
                token_url: url(src, "auth.token_url", &from_env(src, "auth.token_url", &token_url)?)?,
                client_id: secret(src, "auth.client_id", &client_id)?,
                client_secret: secret(src, "auth.client_secret", &client_secret)?,
                refresh_token_file: PathBuf::from(from_env(src, "auth.refresh_token_file", &refresh_token_file)?),
                scopes,
                in_body: match client_auth.as_str() {
                    "basic" => false,
                    "body" => true,
                    other => return Err(src.error("auth.client_auth", format!("'{other}': expected basic or body"))),
                },
            },
            RawAuth::Session {
                login_url,
                username,
                password,
                username_field,
                password_field,
                token_path,
                lifetime_seconds,
                header,
                prefix,
            } => {
                if !token_path.starts_with('/') {
                    return Err(src.error("auth.token_path", "must be a JSON pointer such as \"/token\""));
                }
                if lifetime_seconds == 0 {
                    return Err(src.error("auth.lifetime_seconds", "must be at least 1"));
                }
                Auth::Session {
                    login_url: url(src, "auth.login_url", &from_env(src, "auth.login_url", &login_url)?)?,
                    username: secret(src, "auth.username", &username)?,
                    password: secret(src, "auth.password", &password)?,
                    username_field,
                    password_field,
                    token_path,
                    lifetime: Duration::from_secs(lifetime_seconds),
                    header: reqwest::header::HeaderName::from_bytes(header.as_bytes())
                        .map_err(|_| src.error("auth.header", format!("'{header}' is not a header name")))?,
                    prefix,
                }
            }
        };
        let credentials = !matches!(auth, Auth::None) || headers.iter().any(|(_, v)| v.is_reference());
        if credentials {
            plain_http_check(src, &base_url, &auth, raw.connector.allow_insecure_http)?;
        }
        let l = raw.limits;
        if l.timeout_seconds == 0 || l.timeout_seconds > 3600 {
            return Err(src.error("limits.timeout_seconds", "must be between 1 and 3600"));
        }
        if l.max_retries > 20 {
            return Err(src.error("limits.max_retries", "must be at most 20"));
        }
        if let Some(rps) = l.requests_per_second {
            if !(rps.is_finite() && rps > 0.0) {
                return Err(src.error("limits.requests_per_second", "must be a positive number"));
            }
        }
        let limits = Limits {
            timeout: Duration::from_secs(l.timeout_seconds),
            max_retries: l.max_retries,
            retry_after_cap: Duration::from_secs(l.retry_after_cap_seconds),
            backoff_base: Duration::from_millis(l.backoff_base_ms),
            requests_per_second: l.requests_per_second,
            max_pages: l.max_pages.max(1),
            max_body_bytes: l.max_body_mb.clamp(1, 16 * 1024) * 1024 * 1024,
            concurrency: l.concurrency.clamp(1, 64) as usize,
        };
        if raw.streams.is_empty() {
            return Err(src.error("streams", "define at least one [[streams]]"));
        }
        let mut streams = Vec::new();
        for (i, s) in raw.streams.into_iter().enumerate() {
            let at = format!("streams[{i}]");
            if streams.iter().any(|x: &Stream| x.name == s.name) {
                return Err(src.error(&format!("{at}.name"), format!("two streams are named '{}'", s.name)));
            }
            // '@' parts a stream's name from a parent's id in the keys its
            // saved cursors are kept under (`questionnaires@<folder id>`).
            if s.name.contains('@') {
                return Err(src.error(
                    &format!("{at}.name"),
                    format!("'{}': a stream's name may not hold '@'", s.name),
                ));
            }
            let pagination = match s.pagination {
                RawPagination::None => Pagination::None,
                RawPagination::Offset {
                    offset_param,
                    limit_param,
                    page_size,
                } => Pagination::Offset {
                    offset_param,
                    limit_param,
                    page_size: page_size.max(1),
                },
                RawPagination::Page {
                    page_param,
                    size_param,
                    page_size,
                    first_page,
                } => Pagination::Page {
                    page_param,
                    size_param,
                    page_size: page_size.max(1),
                    first_page,
                },
                RawPagination::Cursor {
                    cursor_param,
                    cursor_path,
                    cursor_header,
                    size_param,
                    page_size,
                } => {
                    if cursor_path.is_none() == cursor_header.is_none() {
                        return Err(src.error(
                            &format!("{at}.pagination"),
                            "give `cursor_path` (in the body) or `cursor_header`, one of them",
                        ));
                    }
                    Pagination::Cursor {
                        cursor_param,
                        cursor_path: cursor_path
                            .map(|p| src.json_pointer(&format!("{at}.pagination.cursor_path"), &p))
                            .transpose()?,
                        cursor_header,
                        size: size_param.zip(page_size),
                    }
                }
                RawPagination::NextLink {
                    next_path,
                    link_header,
                    delta_path,
                } => {
                    if next_path.is_none() && !link_header {
                        return Err(src.error(
                            &format!("{at}.pagination"),
                            "give `next_path` (in the body) or `link_header = true`",
                        ));
                    }
                    Pagination::NextLink {
                        next_path: next_path
                            .map(|p| src.json_pointer(&format!("{at}.pagination.next_path"), &p))
                            .transpose()?,
                        link_header,
                        delta_path: delta_path
                            .map(|p| src.json_pointer(&format!("{at}.pagination.delta_path"), &p))
                            .transpose()?,
                    }
                }
            };
            if let Some(parent) = &s.parent {
                if !streams.iter().any(|x: &Stream| &x.name == parent) {
                    return Err(src.error(
                        &format!("{at}.parent"),
                        format!("no stream named '{parent}' before this one"),
                    ));
                }
            }
            let file = match s.file {
                Some(f) => {
                    // Where the bytes come from: base64 in the record
                    // (`content`), a download (`url` or `download_path`), or
                    // both together: a JSON answer downloaded for each file
                    // with its base64 at `content` (Tryton's attachments).
                    if f.url.is_some() && f.download_path.is_some()
                        || f.content.is_none() && f.url.is_none() && f.download_path.is_none()
                    {
                        return Err(src.error(
                            &format!("{at}.file"),
                            "give `content` (base64 in the record), `url` or `download_path` (a download), one of them; \
                             or `content` with `url` or `download_path` (base64 at `content` in each downloaded JSON answer)",
                        ));
                    }
                    Some(FileSpec {
                        name: src.json_pointer(&format!("{at}.file.name"), &f.name)?,
                        content: f
                            .content
                            .map(|p| src.json_pointer(&format!("{at}.file.content"), &p))
                            .transpose()?,
                        url: f
                            .url
                            .map(|p| src.json_pointer(&format!("{at}.file.url"), &p))
                            .transpose()?,
                        download_path: f
                            .download_path
                            .map(|p| from_env(src, &format!("{at}.file.download_path"), &p))
                            .transpose()?,
                        deleted: f
                            .deleted
                            .map(|p| src.json_pointer(&format!("{at}.file.deleted"), &p))
                            .transpose()?,
                    })
                }
                None => None,
            };
            let query: Vec<(String, String)> = s
                .query
                .into_iter()
                .flat_map(|(k, v)| match v {
                    QueryValue::One(one) => vec![(k, one)],
                    QueryValue::Many(many) => many.into_iter().map(|v| (k.clone(), v)).collect(),
                })
                .collect();
            let in_query = query.iter().any(|(_, v)| v.contains("{since}"));
            let incremental = match s.incremental {
                Some(i) => Some(incremental(src, &at, i, in_query)?),
                None if in_query => {
                    return Err(src.error(&format!("{at}.query"), "'{since}' needs an [incremental] setting"));
                }
                None => None,
            };
            let method = match s.method.as_deref().map(str::to_ascii_uppercase).as_deref() {
                None | Some("GET") => reqwest::Method::GET,
                Some("POST") => reqwest::Method::POST,
                Some(other) => {
                    return Err(src.error(&format!("{at}.method"), format!("'{other}': expected GET or POST")));
                }
            };
            match (&method, &s.body) {
                (&reqwest::Method::GET, Some(_)) => {
                    return Err(src.error(&format!("{at}.body"), "a body is sent only with method = \"POST\""));
                }
                (_, Some(body)) if !body.trim_start().starts_with('{') => {
                    return Err(src.error(&format!("{at}.body"), "expected a JSON object template"));
                }
                _ => {}
            }
            streams.push(Stream {
                name: s.name,
                path: from_env(src, &format!("{at}.path"), &s.path)?,
                records: src.json_pointer(&format!("{at}.records"), &s.records)?,
                query,
                pagination,
                parent: s.parent,
                file,
                incremental,
                method,
                body: s.body,
                filter: s
                    .filter
                    .into_iter()
                    .map(|(k, v)| src.json_pointer(&format!("{at}.filter"), &k).map(|k| (k, v)))
                    .collect::<Result<_, _>>()?,
            });
        }
        let mut writeback = Vec::new();
        for (i, w) in raw.writeback.into_iter().enumerate() {
            let at = format!("writeback[{i}]");
            let what = match w.what.as_str() {
                "annotated" => WritebackKind::Annotated,
                "summary" => WritebackKind::Summary,
                "fields" => WritebackKind::Fields,
                other => {
                    return Err(src.error(
                        &format!("{at}.what"),
                        format!("'{other}': expected annotated, summary or fields"),
                    ))
                }
            };
            if what == WritebackKind::Fields {
                let extra = [
                    ("find", !w.find.is_empty()),
                    ("create", w.create.is_some()),
                    ("update_path", w.update_path.is_some()),
                    ("upload", w.upload.is_some()),
                ];
                if let Some((key, _)) = extra.iter().find(|(_, given)| *given) {
                    return Err(src.error(
                        &format!("{at}.{key}"),
                        "a fields write-back updates the record at `path` with `update` (and `method`); it takes no find, create, update_path or upload",
                    ));
                }
                let Some(update) = w.update else {
                    return Err(src.error(
                        &format!("{at}.update"),
                        "a fields write-back needs an `update` JSON template",
                    ));
                };
                if !update.trim_start().starts_with('{') {
                    return Err(src.error(&format!("{at}.update"), "expected a JSON object template"));
                }
                let method = match w.method.as_deref().map(str::to_ascii_uppercase).as_deref() {
                    None | Some("PUT") => reqwest::Method::PUT,
                    Some("PATCH") => reqwest::Method::PATCH,
                    Some(other) => {
                        return Err(src.error(&format!("{at}.method"), format!("'{other}': expected PUT or PATCH")))
                    }
                };
                writeback.push(Writeback {
                    name: w.name,
                    what,
                    path: from_env(src, &format!("{at}.path"), &w.path)?,
                    mode: WritebackMode::Fields { method, update },
                    enabled: w.enabled,
                });
                continue;
            }
            if w.method.is_some() {
                return Err(src.error(&format!("{at}.method"), "only a fields write-back takes a method"));
            }
            let mode = match (w.upload, w.create, w.update, w.update_path) {
                (Some(method), None, None, None) if w.find.is_empty() => {
                    if what != WritebackKind::Annotated {
                        return Err(src.error(&format!("{at}.upload"), "only the annotated workbook is uploaded"));
                    }
                    let method = match method.to_ascii_uppercase().as_str() {
                        "PUT" => reqwest::Method::PUT,
                        "POST" => reqwest::Method::POST,
                        _ => {
                            return Err(src.error(&format!("{at}.upload"), format!("'{method}': expected PUT or POST")))
                        }
                    };
                    WritebackMode::Upload { method }
                }
                (Some(_), ..) => {
                    return Err(src.error(
                        &format!("{at}.upload"),
                        "an upload takes no find, create, update or update_path",
                    ))
                }
                (None, Some(create), Some(update), Some(update_path)) => {
                    for (key, body) in [("create", &create), ("update", &update)] {
                        // The template must be JSON once its placeholders are filled.
                        let probe = body.replace(['{', '}'], "");
                        if !body.trim_start().starts_with('{') || probe.is_empty() {
                            return Err(src.error(&format!("{at}.{key}"), "expected a JSON object template"));
                        }
                    }
                    WritebackMode::Record {
                        find: w.find.into_iter().collect(),
                        create,
                        update,
                        update_path,
                    }
                }
                _ => return Err(src.error(&at, "give either upload, or create, update and update_path")),
            };
            writeback.push(Writeback {
                name: w.name,
                what,
                path: from_env(src, &format!("{at}.path"), &w.path)?,
                mode,
                enabled: w.enabled,
            });
        }
        Ok(Connector {
            name,
            description: raw.connector.description,
            file: src.file().to_owned(),
            base_url,
            mapping: raw.connector.mapping,
            headers,
            auth,
            limits,
            streams,
            writeback,
        })
    }

    /// The stream named `name`, or the first.
    pub fn stream(&self, name: Option<&str>) -> Option<&Stream> {
        match name {
            Some(n) => self.streams.iter().find(|s| s.name == n),
            None => self.streams.first(),
        }
    }

    /// Every secret reference of the connector (headers and
    /// authentication).
    pub fn secret_refs(&self) -> Vec<&SecretRef> {
        let mut refs: Vec<&SecretRef> = self.headers.iter().map(|(_, v)| v).collect();
        refs.extend(self.auth.secret_refs());
        refs
    }

    /// Why each secret reference that does not resolve here fails (an unset
    /// variable, an unreadable file); the values are never returned.
    pub fn unresolvable_secrets(&self) -> Vec<String> {
        let redactor = super::Redactor::default();
        self.secret_refs()
            .into_iter()
            .filter_map(|r| r.resolve(&redactor).err().map(|e| e.0))
            .collect()
    }

    /// Finds the connector named `name` among `dir/*.toml`.
    pub fn find(dir: &Path, name: &str) -> Result<Connector, ConfigError> {
        let direct = dir.join(format!("{name}.toml"));
        if direct.is_file() {
            let c = Self::load(&direct)?;
            if c.name == name {
                return Ok(c);
            }
        }
        let not_found = |message: String| ConfigError {
            file: dir.to_owned(),
            line: None,
            key: None,
            message,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| {
                not_found(format!(
                    "no connector '{name}': the connectors folder {} cannot be listed: {e}",
                    dir.display()
                ))
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        // Each file's name is read without loading it: another connector's
        // unset variable has nothing to do with this one.
        let mut names = Vec::new();
        for f in files {
            let Some(other) = declared_name(&f) else { continue };
            if other == name {
                return Self::load(&f);
            }
            names.push(other);
        }
        Err(not_found(format!(
            "no connector '{name}' in {} (found: {})",
            dir.display(),
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        )))
    }
}

/// The `connector.name` a connector file declares, read without checking
/// the rest of the file.
fn declared_name(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let table: toml::Table = text.parse().ok()?;
    Some(table.get("connector")?.get("name")?.as_str()?.trim().to_owned())
}
