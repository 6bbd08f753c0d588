//! The HTTP layer shared by every vendor client. A vendor supplies only its
//! [`Dialect`] (its name, how to pull the message out of an error body, and whether a 2xx
//! answer can still be an error); everything else is here:
//!
//! - one connection pool per vendor, TLS roots, request timeouts;
//! - the per-vendor rate governor ([`governor`]): a cap on requests in flight, an
//!   optional request rate, and a vendor-wide pause plus rate halving on every 429;
//! - retries with jittered exponential backoff on 429, 502, 503, 504 and connection
//!   errors, honouring `Retry-After` (seconds or an HTTP date), at most `max_retries`
//!   times. Whether a request may be repeated is its [`Repeat`] policy: idempotent
//!   methods always; a POST only when it provably never reached the server (no
//!   connection could be made). A certificate the client does not trust is never retried;
//! - creates that are safe to retry ([`Http::create`]): after an answer that leaves it
//!   open whether the server acted (a timeout, a connection dropped after the request was
//!   sent, a 5xx or 429 after the handler may have run), the object is looked up by its
//!   natural key before the POST is sent again, and adopted when it is there;
//! - error messages in the vendor's own words, scrubbed of secrets ([`scrub`]);
//! - request logging without secrets (method, path, status, duration: no query, no body).

pub mod coalesce;
pub mod governor;
pub mod prefetch;
pub mod scrub;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use self::governor::Governor;

/// The longest `Retry-After` honoured; a longer one is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// The first backoff step; each retry doubles it, up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// `max_concurrent_requests` when the configuration does not set it.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 10;

/// Settings from the provider's configuration: the top-level `request_timeout` and
/// `max_retries`, and the vendor block's rate settings.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub request_timeout: Duration,
    pub max_retries: u32,
    /// Requests to this vendor in flight at once, at most.
    pub max_concurrent_requests: usize,
    /// Requests per second to this vendor, at most (None: no fixed cap; 429s still slow
    /// the vendor down).
    pub max_requests_per_second: Option<f64>,
    /// The largest answer body read from this vendor, in bytes; a larger one is an error,
    /// and reading stops there.
    pub max_response_bytes: usize,
    /// A PEM bundle of CAs trusted for this vendor in addition to the system's roots (the
    /// vendor block's `ca_cert_pem`).
    pub ca_cert_pem: Option<String>,
    /// Skip certificate verification (the vendor block's `insecure_skip_verify`).
    pub insecure_skip_verify: bool,
    /// Whether reads of many objects are combined: concurrent reads batched into one list
    /// request, and a large refresh served from one listing of the collection (the vendor
    /// block's `batch_reads`). Off: one request per object read.
    pub batch_reads: bool,
}

/// The default of [`HttpSettings::max_response_bytes`], in MiB: far above any answer the
/// four APIs send (OCI IAM's largest, a group of 10,000 members, is a few MiB).
pub const DEFAULT_MAX_RESPONSE_MB: usize = 32;

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            request_timeout: Duration::from_secs(30),
            max_retries: 5,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_requests_per_second: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_MB << 20,
            ca_cert_pem: None,
            insecure_skip_verify: false,
            batch_reads: true,
        }
    }
}

/// Why a request got no answer, as far as its error tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// Nothing listens at the address (connection refused).
    Refused,
    /// The host name does not exist (the resolver says so: NXDOMAIN).
    NoSuchHost,
    /// The host name could not be resolved now (no answer from the resolver).
    Dns,
    /// No connection within the connect timeout.
    ConnectTimeout,
    /// No whole answer within the request timeout.
    Timeout,
    /// An https:// URL, but the server does not speak TLS (it answered in plain text).
    NotTls,
    /// An http:// URL, but the answer is not HTTP (most likely the server expects TLS).
    NotHttp,
    /// The server's certificate is signed by a CA the provider does not trust.
    UntrustedCertificate,
    /// The server's certificate was refused otherwise (not valid for the host name,
    /// expired, a CA certificate used as the server's own).
    BadCertificate,
    /// Another failure of the TLS handshake.
    Tls,
    /// The connection was closed or reset before a whole answer came.
    Closed,
    /// Anything else.
    Other,
}

impl Cause {
    /// Failures that trying again cannot mend within one run: a host name that does not
    /// exist, the wrong scheme, a certificate that is not trusted. Never retried.
    pub fn is_permanent(self) -> bool {
        matches!(
            self,
            Cause::NoSuchHost | Cause::NotTls | Cause::NotHttp | Cause::UntrustedCertificate | Cause::BadCertificate | Cause::Tls
        )
    }

    /// Failures of the server's address rather than of one request: every other request
    /// to the same origin would fail the same way now (see [`OUTAGE_HOLD`]).
    pub fn is_server_wide(self) -> bool {
        self.is_permanent() || matches!(self, Cause::Refused | Cause::Dns | Cause::ConnectTimeout)
    }

    /// The cause in a few words, for messages.
    pub fn words(self) -> &'static str {
        match self {
            Cause::Refused => "connection refused",
            Cause::NoSuchHost => "no such host",
            Cause::Dns => "the host name could not be resolved",
            Cause::ConnectTimeout => "no connection within the connect timeout",
            Cause::Timeout => "no answer within request_timeout",
            Cause::NotTls => "the server does not speak TLS",
            Cause::NotHttp => "the answer is not HTTP",
            Cause::UntrustedCertificate => "the server's certificate is not trusted",
            Cause::BadCertificate => "the server's certificate was refused",
            Cause::Tls => "the TLS handshake failed",
            Cause::Closed => "the connection was closed before a whole answer came",
            Cause::Other => "the request failed",
        }
    }
}

/// What a transport error says about its cause: the types in its chain (an io error's
/// kind, a rustls error, a hyper parse error), else the words of the resolver.
pub fn classify(e: &reqwest::Error) -> Cause {
    fn walk(e: &(dyn std::error::Error + 'static), depth: usize) -> Option<Cause> {
        if depth > 16 {
            return None;
        }
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(match t {
                rustls::Error::InvalidMessage(_) => Cause::NotTls,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => Cause::UntrustedCertificate,
                rustls::Error::InvalidCertificate(_) => Cause::BadCertificate,
                _ => Cause::Tls,
            });
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_parse() || h.is_parse_status() {
                return Some(Cause::NotHttp);
            }
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return Some(Cause::Closed);
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref()
                && let Some(c) = walk(inner, depth + 1)
            {
                return Some(c);
            }
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Some(Cause::Refused),
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof => return Some(Cause::Closed),
                _ => {}
            }
        }
        e.source().and_then(|s| walk(s, depth + 1))
    }
    if e.is_timeout() {
        return if e.is_connect() { Cause::ConnectTimeout } else { Cause::Timeout };
    }
    let text = error_chain(e);
    let lower = text.to_ascii_lowercase();
    if lower.contains("dns error") {
        // getaddrinfo's EAI_NONAME (glibc, musl, macOS) and a resolver's NXDOMAIN: the name
        // does not exist. EAI_AGAIN and the like may pass.
        let gone = [
            "name or service not known",
            "no address associated with hostname",
            "nodename nor servname",
            "nxdomain",
            "no record found",
            "name does not resolve",
        ];
        return if gone.iter().any(|w| lower.contains(w)) { Cause::NoSuchHost } else { Cause::Dns };
    }
    if let Some(c) = walk(e, 0) {
        return c;
    }
    if lower.contains("invalid peer certificate: unknownissuer") {
        Cause::UntrustedCertificate
    } else if lower.contains("invalid peer certificate") || lower.contains("certificate verify") {
        Cause::BadCertificate
    } else if lower.contains("received corrupt message") || lower.contains("invalidcontenttype") {
        Cause::NotTls
    } else if lower.contains("tls handshake") {
        Cause::Tls
    } else if lower.contains("invalid http version parsed") {
        Cause::NotHttp
    } else {
        Cause::Other
    }
}

/// How long a server-wide failure of an origin (see [`Cause::is_server_wide`]) is
/// remembered: requests to it in that time fail at once with the same error instead of
/// each going through its own retries, so a run against an endpoint that is down fails
/// in seconds, not minutes. Any answer from the origin ends it.
pub const OUTAGE_HOLD: Duration = Duration::from_secs(30);

/// An error talking to a vendor API. Every message and detail has been scrubbed of
/// secrets.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    /// The request did not complete (connection refused, timeout, TLS failure). `url` has
    /// no query; `cause` is what the error says about why.
    #[error("{vendor} could not be reached ({method} {url}): {reason}")]
    Transport { vendor: &'static str, method: String, url: String, cause: Cause, reason: String },
    /// The API answered with an error status; `message` is the vendor's own words.
    /// `request` is the method and URL (without query), when the answer was to one request.
    #[error("{vendor} answered {status}: {message}")]
    Status { vendor: &'static str, status: u16, message: String, details: Option<String>, request: Option<String> },
    /// A 404, and the same vendor's always-present endpoint (`probe`) answers 404 too: the
    /// configured base URL does not lead to the API. Never taken as "not found".
    #[error("{vendor} answered 404 Not Found to {method} {url}, and to {probe} as well: the base URL looks wrong")]
    WrongBase { vendor: &'static str, method: String, url: String, probe: String, hint: &'static str },
    /// The API answered 2xx with a body we could not read.
    #[error("{vendor} sent an answer that could not be read: {reason}")]
    Decode { vendor: &'static str, reason: String },
    /// A create whose outcome is unknown: an attempt may have reached the server, and the
    /// lookup that would tell whether it did failed too.
    #[error("{vendor}: an attempt to create the {what} may have reached the server, and looking it up failed: {cause}")]
    Indeterminate { vendor: &'static str, what: String, cause: Box<ApiError> },
    /// A request the provider refused to send (it would not address what it means to).
    #[error("{vendor}: request not sent: {reason}")]
    NotSent { vendor: &'static str, reason: String },
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }
    /// The vendor's name in messages ("SCIM", "SCIM token endpoint", "Run:ai", ...).
    pub fn vendor(&self) -> &'static str {
        match self {
            ApiError::Transport { vendor, .. }
            | ApiError::Status { vendor, .. }
            | ApiError::WrongBase { vendor, .. }
            | ApiError::Decode { vendor, .. }
            | ApiError::Indeterminate { vendor, .. }
            | ApiError::NotSent { vendor, .. } => vendor,
        }
    }

    /// Why the request got no answer, for a transport error.
    pub fn cause(&self) -> Option<Cause> {
        match self {
            ApiError::Transport { cause, .. } => Some(*cause),
            _ => None,
        }
    }

    /// The full text for a diagnostic's detail: the vendor's message and details, and the
    /// request it answered.
    pub fn detail(&self) -> String {
        match self {
            ApiError::Status { details, request, .. } => {
                let mut s = self.to_string();
                if let Some(d) = details.as_deref().filter(|d| !d.is_empty()) {
                    s.push_str(&format!(" ({d})"));
                }
                if let Some(r) = request {
                    s.push_str(&format!("\nRequest: {r}"));
                }
                s
            }
            ApiError::WrongBase { hint, .. } => format!("{self}.\n{hint}"),
            ApiError::Indeterminate { what, .. } => format!(
                "{self}\nThe {what} may exist on the server without being in the Terraform state: check for it, and import it if it is there."
            ),
            _ => self.to_string(),
        }
    }

    /// An error status in the vendor's words (a message from the body, else the reason
    /// phrase), scrubbed of secrets by shape.
    pub fn from_status(vendor: &'static str, status: StatusCode, text: Option<(String, Option<String>)>) -> ApiError {
        let (message, details) = match text {
            Some((m, d)) if !m.trim().is_empty() => (m, d),
            Some((_, d)) => (reason(status), d),
            None => (reason(status), None),
        };
        ApiError::Status { vendor, status: status.as_u16(), message, details, request: None }.scrubbed(&[])
    }

    /// The same error with every text scrubbed of `known` secret values and of secrets by
    /// shape.
    pub fn scrubbed(self, known: &[String]) -> ApiError {
        let s = |t: String| scrub::scrub(&t, known);
        match self {
            ApiError::Transport { vendor, method, url, cause, reason } => {
                ApiError::Transport { vendor, method, url: s(url), cause, reason: s(reason) }
            }
            ApiError::Status { vendor, status, message, details, request } => {
                ApiError::Status { vendor, status, message: s(message), details: details.map(s), request: request.map(s) }
            }
            ApiError::WrongBase { vendor, method, url, probe, hint } => {
                ApiError::WrongBase { vendor, method, url: s(url), probe: s(probe), hint }
            }
            ApiError::Decode { vendor, reason } => ApiError::Decode { vendor, reason: s(reason) },
            ApiError::NotSent { vendor, reason } => ApiError::NotSent { vendor, reason: s(reason) },
            ApiError::Indeterminate { vendor, what, cause } => {
                ApiError::Indeterminate { vendor, what: s(what), cause: Box::new(cause.scrubbed(known)) }
            }
        }
    }
}

fn reason(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("error").to_string()
}

/// What a vendor supplies to the shared layer.
#[derive(Clone, Copy)]
pub struct Dialect {
    /// The vendor's name in messages ("Run:ai", "SCIM", ...).
    pub vendor: &'static str,
    /// The message (and details) in an error answer's body; None when the body is not in
    /// the vendor's error format (the reason phrase is used then).
    pub error_text: ErrorText,
    /// Judges a 2xx answer that can still be an error (Fudo's `result` envelope). Such an
    /// error is never retried.
    pub check_success: Option<CheckSuccess>,
}

/// A dialect's reader of error bodies: the message and the details, if the body is in
/// the vendor's error format.
pub type ErrorText = fn(&[u8]) -> Option<(String, Option<String>)>;
/// A dialect's judge of 2xx answers.
pub type CheckSuccess = fn(StatusCode, &[u8]) -> Result<(), ApiError>;

impl std::fmt::Debug for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.vendor)
    }
}

/// When a request may be sent again after a transient failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// Sending it twice has the effect of sending it once (GET, PUT, DELETE, and the
    /// PATCH/Bulk requests whose operations set state): retried on 429, 502, 503, 504
    /// and transport errors.
    Safe,
    /// Only when it provably never reached the server (no connection could be made).
    OnlyUnsent,
    /// [`Repeat::OnlyUnsent`], and also after a 429 (for an endpoint without a natural
    /// key to look the result up by; see the caller's comment on why a 429 is taken as a
    /// refusal there).
    UnsentOrThrottled,
}

/// How a request authenticates.
#[derive(Clone, Copy, Debug)]
pub enum Auth<'a> {
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// `Authorization: <value>` (Fudo's raw API key).
    Raw(&'a str),
    /// HTTP Basic.
    Basic(&'a str, &'a str),
}

#[derive(Clone, Debug)]
enum Body {
    Bytes { data: Vec<u8>, content_type: &'static str },
    Form(Vec<(String, String)>),
}

/// One request, described for the layer (which builds it anew for every attempt).
#[derive(Clone, Debug)]
pub struct Request<'a> {
    method: Method,
    url: &'a str,
    query: &'a [(&'a str, String)],
    body: Option<Body>,
    auth: Auth<'a>,
    accept: &'static str,
    repeat: Repeat,
    /// At most this many retries, if fewer than the settings' `max_retries`.
    retries: Option<u32>,
    /// Other headers, such as a precondition (`If-Match`).
    headers: Vec<(reqwest::header::HeaderName, String)>,
}

impl<'a> Request<'a> {
    /// A request with the method's default [`Repeat`]: safe for GET, HEAD, PUT, DELETE
    /// and OPTIONS, only-unsent for POST and PATCH.
    pub fn new(method: Method, url: &'a str) -> Request<'a> {
        let repeat = if method == Method::POST || method == Method::PATCH { Repeat::OnlyUnsent } else { Repeat::Safe };
        Request {
            method,
            url,
            query: &[],
            body: None,
            auth: Auth::None,
            accept: "application/json",
            repeat,
            retries: None,
            headers: Vec::new(),
        }
    }
    pub fn query(mut self, query: &'a [(&'a str, String)]) -> Self {
        self.query = query;
        self
    }
    pub fn body(mut self, data: Vec<u8>, content_type: &'static str) -> Self {
        self.body = Some(Body::Bytes { data, content_type });
        self
    }
    pub fn form(mut self, pairs: Vec<(String, String)>) -> Self {
        self.body = Some(Body::Form(pairs));
        self
    }
    pub fn auth(mut self, auth: Auth<'a>) -> Self {
        self.auth = auth;
        self
    }
    pub fn accept(mut self, accept: &'static str) -> Self {
        self.accept = accept;
        self
    }
    pub fn repeat(mut self, repeat: Repeat) -> Self {
        self.repeat = repeat;
        self
    }
    /// Adds a header, such as `If-Match` (a value that is not a valid header value is
    /// left out).
    pub fn header(mut self, name: reqwest::header::HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
    /// At most `n` retries for this request (fewer than `max_retries`).
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = Some(n);
        self
    }
    pub fn method(&self) -> &Method {
        &self.method
    }

    fn build(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let mut rb = client.request(self.method.clone(), self.url).header(reqwest::header::ACCEPT, self.accept);
        for (name, value) in &self.headers {
            if let Ok(v) = reqwest::header::HeaderValue::from_str(value) {
                rb = rb.header(name.clone(), v);
            }
        }
        if !self.query.is_empty() {
            rb = rb.query(self.query);
        }
        rb = match self.auth {
            Auth::None => rb,
            Auth::Bearer(t) => rb.bearer_auth(t),
            Auth::Raw(v) => rb.header(reqwest::header::AUTHORIZATION, v),
            Auth::Basic(u, p) => rb.basic_auth(u, Some(p)),
        };
        match &self.body {
            None => rb,
            Some(Body::Bytes { data, content_type }) => rb.header(reqwest::header::CONTENT_TYPE, *content_type).body(data.clone()),
            Some(Body::Form(pairs)) => rb.form(pairs),
        }
    }

    /// The secrets this request carries: its credentials and the secret fields of its body.
    fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self.auth {
            Auth::None => {}
            Auth::Bearer(t) | Auth::Raw(t) => out.push(t.to_string()),
            Auth::Basic(_, p) => out.push(p.to_string()),
        }
        match &self.body {
            None => {}
            Some(Body::Bytes { data, .. }) => {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
                    scrub::secrets_in_json(&v, &mut out);
                }
            }
            Some(Body::Form(pairs)) => out.extend(pairs.iter().filter(|(k, _)| scrub::is_secret_key(k)).map(|(_, v)| v.clone())),
        }
        out
    }
}

/// A whole answer: status, headers and body.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The request it answers: method and URL without the query (for messages; empty
    /// when unknown).
    pub request: String,
}

impl Reply {
    /// The body is empty or whitespace (a 204, or a 200 without content).
    pub fn is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }
}

/// What [`Http::create`] produced.
#[derive(Debug)]
pub enum Created<T> {
    /// The server answered the POST (2xx).
    New(Reply),
    /// An earlier attempt created the object (its answer was lost): found by its natural
    /// key and taken over.
    Adopted(T),
}

struct Shared {
    client: reqwest::Client,
    settings: HttpSettings,
    governor: Governor,
    /// Origins (`scheme://host:port`) that failed server-wide lately (see [`OUTAGE_HOLD`]).
    outages: std::sync::Mutex<std::collections::HashMap<String, Outage>>,
}

/// A server-wide failure of an origin, remembered until `until`.
struct Outage {
    cause: Cause,
    reason: String,
    until: std::time::Instant,
}

/// The always-present endpoint of a vendor that tells a wrong base URL from a missing
/// object, and its verdict (asked once, at the first 404).
struct BaseProbe {
    url: String,
    hint: &'static str,
    wrong: tokio::sync::OnceCell<bool>,
}

/// A vendor's HTTP layer: its client, settings and governor (shared by clones and by
/// [`Http::with_dialect`]), its dialect and the secrets to scrub from errors.
#[derive(Clone)]
pub struct Http {
    shared: Arc<Shared>,
    dialect: Dialect,
    secrets: Arc<[String]>,
    base_probe: Option<Arc<BaseProbe>>,
}

impl std::fmt::Debug for Http {
    /// Nothing secret: the vendor and the settings.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("vendor", &self.dialect.vendor).field("settings", &self.shared.settings).finish_non_exhaustive()
    }
}

/// One attempt's result: the answer, or the transport error with whether the request
/// provably never reached the server.
enum Attempt {
    Answer(Reply),
    Failed {
        error: reqwest::Error,
        cause: Cause,
        unsent: bool,
    },
    /// The answer's body is larger than [`HttpSettings::max_response_bytes`].
    TooLarge {
        status: StatusCode,
    },
}

impl Http {
    /// `extra_ca_pem`: an extra CA to trust; `insecure`: skip certificate verification.
    /// Either adds to the settings' own `ca_cert_pem` / `insecure_skip_verify`.
    pub fn new(dialect: Dialect, settings: HttpSettings, extra_ca_pem: Option<&str>, insecure: bool) -> Result<Http, String> {
        let ca = extra_ca_pem.or(settings.ca_cert_pem.as_deref()).filter(|p| !p.trim().is_empty());
        let client = build_client(&settings, ca, insecure || settings.insecure_skip_verify)?;
        let governor = Governor::new(settings.max_concurrent_requests, settings.max_requests_per_second);
        let outages = std::sync::Mutex::new(std::collections::HashMap::new());
        Ok(Http {
            shared: Arc::new(Shared { client, settings, governor, outages }),
            dialect,
            secrets: Arc::from(Vec::new()),
            base_probe: None,
        })
    }

    /// The credentials this client holds, scrubbed from every error it returns.
    pub fn with_secrets(mut self, secrets: &[&str]) -> Http {
        self.secrets = secrets.iter().filter(|s| !s.is_empty()).map(|s| s.to_string()).collect();
        self
    }

    /// The same pool, settings and governor under another dialect (an auth endpoint of
    /// the same vendor, with its own error format).
    pub fn with_dialect(&self, dialect: Dialect) -> Http {
        Http { shared: self.shared.clone(), dialect, secrets: self.secrets.clone(), base_probe: None }
    }

    /// Tells a wrong base URL from a missing object: at the first 404, `probe_url` (an
    /// endpoint every server of the vendor has, under the configured base URL) is asked
    /// once with the same credentials; when it answers 404 too, every 404 is an
    /// [`ApiError::WrongBase`] carrying `hint` (what a right URL looks like), never "not
    /// found".
    pub fn with_base_probe(mut self, probe_url: String, hint: &'static str) -> Http {
        self.base_probe = Some(Arc::new(BaseProbe { url: probe_url, hint, wrong: tokio::sync::OnceCell::new() }));
        self
    }

    pub fn vendor(&self) -> &'static str {
        self.dialect.vendor
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.shared.settings
    }

    /// This vendor's governor (for tests and diagnostics).
    pub fn governor(&self) -> &Governor {
        &self.shared.governor
    }

    fn known_secrets(&self, req: &Request<'_>) -> Vec<String> {
        let mut all: Vec<String> = self.secrets.to_vec();
        all.extend(req.secrets());
        all
    }

    /// Scrubs an error with this client's and this request's secrets.
    pub fn scrub(&self, req: &Request<'_>, e: ApiError) -> ApiError {
        e.scrubbed(&self.known_secrets(req))
    }

    /// The error for a non-2xx answer, in the vendor's words, scrubbed.
    pub fn error_of(&self, req: &Request<'_>, reply: &Reply) -> ApiError {
        if reply.status.is_redirection() {
            let to = reply.headers.get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).unwrap_or("(no Location header)");
            let to = reqwest::Url::parse(req.url)
                .and_then(|base| base.join(to))
                .map(|u| strip_query(u.as_str()))
                .unwrap_or_else(|_| strip_query(to));
            let e = ApiError::Status {
                vendor: self.dialect.vendor,
                status: reply.status.as_u16(),
                message: format!(
                    "redirected from {} to {to}, which the provider does not follow (a redirect could carry credentials \
                     to another server); configure the URL the server redirects to",
                    strip_query(req.url)
                ),
                details: None,
                request: Some(describe(req)),
            };
            return self.scrub(req, e);
        }
        let (message, details) = match (self.dialect.error_text)(&reply.body) {
            Some((m, d)) if !m.trim().is_empty() => (m, d),
            Some((_, d)) => (reason(reply.status), d),
            None => (reason(reply.status), None),
        };
        let e =
            ApiError::Status { vendor: self.dialect.vendor, status: reply.status.as_u16(), message, details, request: Some(describe(req)) };
        self.scrub(req, e)
    }

    /// Refuses a request whose path has a `.` or `..` segment (see [`has_dot_segment`]).
    fn check_path(&self, req: &Request<'_>) -> Result<(), ApiError> {
        if !has_dot_segment(req.url) {
            return Ok(());
        }
        let e = ApiError::NotSent {
            vendor: self.dialect.vendor,
            reason: format!(
                "{} {}: an id in the path is \".\" or \"..\", which would address another resource than the one meant \
                 (for example the whole collection); ids of \".\" or \"..\" are not valid",
                req.method,
                strip_query(req.url)
            ),
        };
        Err(self.scrub(req, e))
    }

    /// The error for an answer larger than [`HttpSettings::max_response_bytes`].
    fn too_large(&self, req: &Request<'_>, status: StatusCode) -> ApiError {
        let limit = self.shared.settings.max_response_bytes;
        let e = ApiError::Decode {
            vendor: self.dialect.vendor,
            reason: format!(
                "the answer ({status}) to {} {} is larger than {} MiB, the provider's limit for this vendor \
                 (`max_response_mb`); it was not read further",
                req.method,
                strip_query(req.url),
                limit >> 20
            ),
        };
        self.scrub(req, e)
    }

    fn transport(&self, req: &Request<'_>, e: &reqwest::Error, cause: Cause) -> ApiError {
        let mut reason = error_chain(e);
        if reason.contains("CaUsedAsEndEntity") {
            reason.push_str(
                " (the server presents a CA certificate as its own certificate, as a self-signed certificate made with \
                 `openssl req -x509` is by default: give the server a certificate with `basicConstraints=CA:FALSE`, or one \
                 signed by a separate CA that `ca_cert_pem` names)",
            );
        }
        let err =
            ApiError::Transport { vendor: self.dialect.vendor, method: req.method.to_string(), url: strip_query(req.url), cause, reason };
        self.scrub(req, err)
    }

    /// The error of a recent server-wide failure of this request's origin, if any: the
    /// request is not sent.
    fn known_outage(&self, req: &Request<'_>) -> Option<ApiError> {
        let origin = origin_of(req.url)?;
        let mut outages = self.shared.outages.lock().unwrap_or_else(|p| p.into_inner());
        let o = outages.get(&origin)?;
        if o.until <= std::time::Instant::now() {
            outages.remove(&origin);
            return None;
        }
        let reason = format!("{} (an earlier request to {origin} failed this way moments ago; not sent again)", o.reason);
        let err = ApiError::Transport {
            vendor: self.dialect.vendor,
            method: req.method.to_string(),
            url: strip_query(req.url),
            cause: o.cause,
            reason,
        };
        Some(self.scrub(req, err))
    }

    /// Remembers a server-wide failure of this request's origin (see [`OUTAGE_HOLD`]).
    fn record_outage(&self, req: &Request<'_>, err: &ApiError) {
        let (Some(origin), ApiError::Transport { cause, reason, .. }) = (origin_of(req.url), err) else { return };
        if !cause.is_server_wide() {
            return;
        }
        tracing::warn!(vendor = self.dialect.vendor, origin = %origin, cause = cause.words(), "requests to this origin fail at once for a while");
        let until = std::time::Instant::now() + OUTAGE_HOLD;
        self.shared
            .outages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(origin, Outage { cause: *cause, reason: reason.clone(), until });
    }

    /// Forgets a failure of this request's origin: it answered.
    fn clear_outage(&self, req: &Request<'_>) {
        let mut outages = self.shared.outages.lock().unwrap_or_else(|p| p.into_inner());
        if !outages.is_empty()
            && let Some(origin) = origin_of(req.url)
        {
            outages.remove(&origin);
        }
    }

    /// A transport error: remembered when server-wide, then returned.
    fn give_up(&self, req: &Request<'_>, e: &reqwest::Error, cause: Cause) -> ApiError {
        let err = self.transport(req, e, cause);
        self.record_outage(req, &err);
        err
    }

    /// For a 404 answer: [`ApiError::WrongBase`] when the base probe (see
    /// [`Http::with_base_probe`]) says the base URL is wrong, else None.
    async fn wrong_base(&self, req: &Request<'_>, reply: &Reply) -> Option<ApiError> {
        if reply.status != StatusCode::NOT_FOUND {
            return None;
        }
        let probe = self.base_probe.as_ref()?;
        let wrong = *probe
            .wrong
            .get_or_init(|| async {
                let ask = Request::new(Method::GET, &probe.url).auth(req.auth).accept(req.accept);
                let verdict = match self.attempt(&ask, 0).await {
                    Attempt::Answer(r) => r.status == StatusCode::NOT_FOUND,
                    _ => false,
                };
                tracing::info!(vendor = self.dialect.vendor, probe = %path_of(&probe.url), wrong_base = verdict, "checked the base URL after a 404");
                verdict
            })
            .await;
        wrong.then(|| {
            self.scrub(
                req,
                ApiError::WrongBase {
                    vendor: self.dialect.vendor,
                    method: req.method.to_string(),
                    url: strip_query(req.url),
                    probe: format!("GET {}", strip_query(&probe.url)),
                    hint: probe.hint,
                },
            )
        })
    }

    fn max_retries(&self, req: &Request<'_>) -> u32 {
        let max = self.shared.settings.max_retries;
        req.retries.map_or(max, |r| r.min(max))
    }

    /// Decodes a JSON answer; a failure is a scrubbed [`ApiError::Decode`].
    pub fn decode<T: DeserializeOwned>(&self, reply: &Reply) -> Result<T, ApiError> {
        serde_json::from_slice(&reply.body).map_err(|e| {
            let mut reason = json_error_text(&e);
            if !reply.request.is_empty() {
                reason.push_str(&format!(" (in the answer to {})", reply.request));
            }
            ApiError::Decode { vendor: self.dialect.vendor, reason }.scrubbed(&self.secrets)
        })
    }

    /// One attempt: waits in the governor, sends, reads the whole answer, and tells the
    /// governor how it went.
    async fn attempt(&self, req: &Request<'_>, attempt: u32) -> Attempt {
        let permit = self.shared.governor.acquire().await;
        let started = permit.started;
        let clock = std::time::Instant::now();
        let limit = self.shared.settings.max_response_bytes;
        // Read in chunks into one buffer, never past the limit.
        let result = async {
            let mut resp = req.build(&self.shared.client).send().await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            if resp.content_length().is_some_and(|n| n > limit as u64) {
                return Ok(Err(status));
            }
            let mut body = Vec::with_capacity(resp.content_length().map_or(8 << 10, |n| n as usize));
            while let Some(chunk) = resp.chunk().await? {
                if body.len() + chunk.len() > limit {
                    return Ok(Err(status));
                }
                body.extend_from_slice(&chunk);
            }
            Ok::<_, reqwest::Error>(Ok(Reply { status, headers, body, request: describe(req) }))
        }
        .await;
        drop(permit);
        let elapsed = clock.elapsed().as_millis() as u64;
        let vendor = self.dialect.vendor;
        match result {
            Ok(Err(status)) => {
                tracing::warn!(vendor, method = %req.method, path = %path_of(req.url), status = status.as_u16(), limit_bytes = limit, "answer larger than the limit");
                Attempt::TooLarge { status }
            }
            Ok(Ok(reply)) => {
                tracing::debug!(vendor, method = %req.method, path = %path_of(req.url), status = reply.status.as_u16(), duration_ms = elapsed, attempt, "HTTP request");
                self.clear_outage(req);
                if reply.status == StatusCode::TOO_MANY_REQUESTS {
                    let pause = retry_after(&reply.headers).unwrap_or_else(|| backoff(attempt));
                    self.shared.governor.throttled(pause, started);
                } else if reply.status.is_success() {
                    self.shared.governor.succeeded();
                }
                Attempt::Answer(reply)
            }
            Err(error) => {
                let cause = classify(&error);
                // No connection was made: nothing reached the server. A certificate the
                // client does not trust is a connect error too, but never a transient one.
                let unsent = error.is_connect() && !cause.is_permanent();
                tracing::debug!(vendor, method = %req.method, path = %path_of(req.url), duration_ms = elapsed, attempt, unsent, cause = cause.words(), error = %scrub::scrub(&error_chain(&error), &self.known_secrets(req)), "HTTP request failed");
                Attempt::Failed { error, cause, unsent }
            }
        }
    }

    /// Waits before retrying after `reply`. A 429 has already paused the whole vendor in
    /// the governor (the next attempt waits there); other answers wait for their own
    /// `Retry-After` (with a little jitter) or the backoff.
    async fn wait_after(&self, reply: Option<&Reply>, attempt: u32) {
        let wait = match reply {
            Some(r) if r.status == StatusCode::TOO_MANY_REQUESTS => return,
            Some(r) => retry_after(&r.headers).map(with_jitter).unwrap_or_else(|| backoff(attempt)),
            None => backoff(attempt),
        };
        tracing::info!(
            vendor = self.dialect.vendor,
            status = reply.map(|r| r.status.as_u16()),
            wait_ms = wait.as_millis() as u64,
            attempt,
            "retrying after a transient failure"
        );
        tokio::time::sleep(wait).await;
    }

    /// Sends a request, retrying transient failures as its [`Repeat`] allows; returns the
    /// final answer whatever its status.
    pub async fn send_any(&self, req: &Request<'_>) -> Result<Reply, ApiError> {
        self.check_path(req)?;
        let max = self.max_retries(req);
        let mut attempt = 0u32;
        loop {
            if let Some(e) = self.known_outage(req) {
                return Err(e);
            }
            match self.attempt(req, attempt).await {
                Attempt::Answer(reply) => {
                    let again = retryable(reply.status)
                        && match req.repeat {
                            Repeat::Safe => true,
                            Repeat::UnsentOrThrottled => reply.status == StatusCode::TOO_MANY_REQUESTS,
                            Repeat::OnlyUnsent => false,
                        };
                    if !again || attempt >= max {
                        if let Some(e) = self.wrong_base(req, &reply).await {
                            return Err(e);
                        }
                        return Ok(reply);
                    }
                    self.wait_after(Some(&reply), attempt).await;
                }
                Attempt::TooLarge { status } => return Err(self.too_large(req, status)),
                Attempt::Failed { error, cause, unsent } => {
                    let again = !cause.is_permanent() && (unsent || (req.repeat == Repeat::Safe && transient(&error)));
                    if !again || attempt >= max {
                        return Err(self.give_up(req, &error, cause));
                    }
                    self.wait_after(None, attempt).await;
                }
            }
            attempt += 1;
        }
    }

    /// [`Http::send_any`], then: a 2xx answer (that the dialect accepts) is `Ok`, any other
    /// an [`ApiError::Status`] in the vendor's words.
    pub async fn send(&self, req: &Request<'_>) -> Result<Reply, ApiError> {
        let reply = self.send_any(req).await?;
        self.accept(req, reply)
    }

    /// A 2xx answer the dialect accepts, else the error.
    pub fn accept(&self, req: &Request<'_>, reply: Reply) -> Result<Reply, ApiError> {
        if !reply.status.is_success() {
            return Err(self.error_of(req, &reply));
        }
        if let Some(check) = self.dialect.check_success {
            check(reply.status, &reply.body).map_err(|e| self.scrub(req, e))?;
        }
        Ok(reply)
    }

    /// Sends a non-idempotent create (a POST) so that it is neither lost nor duplicated.
    ///
    /// It is sent again without further ado only when it provably never reached the
    /// server. After an answer that leaves open whether the server acted (a timeout, a
    /// connection dropped once the request was sent, a 429/502/503/504 that may have come
    /// after the handler ran), `lookup` looks the object up by its natural key before the
    /// next attempt: when it finds it, the object is adopted instead of created again. A
    /// 409 after such an answer is most likely our own earlier attempt: looked up too.
    /// When the retries run out after such an answer, one last lookup decides between
    /// adopting and failing. `lookup` answers `Some` only for an object that matches what
    /// the request asked for (so an unrelated object of the same name is never adopted: it
    /// gets the 409 and its import hint instead). `what` names the object in messages.
    pub async fn create<T, F, Fut>(&self, req: &Request<'_>, what: &str, lookup: F) -> Result<Created<T>, ApiError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<T>, ApiError>>,
    {
        self.check_path(req)?;
        let max = self.max_retries(req);
        let mut attempt = 0u32;
        // Whether some attempt may have reached the server.
        let mut maybe_sent = false;
        loop {
            // An origin that just failed server-wide: nothing is sent (so nothing of ours
            // can be there either, unless an earlier attempt of this very create reached it).
            if let Some(e) = self.known_outage(req) {
                if !maybe_sent {
                    return Err(e);
                }
            }
            let (failure, reply, this_maybe_sent) = match self.attempt(req, attempt).await {
                Attempt::Answer(reply) if reply.status.is_success() => return self.accept(req, reply).map(Created::New),
                Attempt::Answer(reply) if reply.status == StatusCode::CONFLICT && maybe_sent => {
                    tracing::info!(
                        vendor = self.dialect.vendor,
                        what,
                        "409 after an attempt whose answer was lost: looking for our own object"
                    );
                    return match self.adopt(what, &lookup).await {
                        Ok(Some(found)) => Ok(Created::Adopted(found)),
                        Ok(None) => Err(self.error_of(req, &reply)),
                        Err(e) => Err(self.indeterminate(what, e)),
                    };
                }
                Attempt::Answer(reply) if retryable(reply.status) => (self.error_of(req, &reply), Some(reply), true),
                Attempt::Answer(reply) => {
                    if let Some(e) = self.wrong_base(req, &reply).await {
                        return Err(e);
                    }
                    return Err(self.error_of(req, &reply));
                }
                Attempt::TooLarge { status } => return Err(self.too_large(req, status)),
                Attempt::Failed { error, cause, .. } if cause.is_permanent() => return Err(self.give_up(req, &error, cause)),
                Attempt::Failed { error, cause, unsent } => (self.transport(req, &error, cause), None, !unsent),
            };
            maybe_sent |= this_maybe_sent;
            if attempt >= max {
                if maybe_sent {
                    match self.adopt(what, &lookup).await {
                        Ok(Some(found)) => return Ok(Created::Adopted(found)),
                        Ok(None) => {}
                        Err(e) => return Err(self.indeterminate(what, e)),
                    }
                }
                self.record_outage(req, &failure);
                return Err(failure);
            }
            self.wait_after(reply.as_ref(), attempt).await;
            attempt += 1;
            if this_maybe_sent {
                match self.adopt(what, &lookup).await {
                    Ok(Some(found)) => return Ok(Created::Adopted(found)),
                    Ok(None) => {}
                    Err(e) => return Err(self.indeterminate(what, e)),
                }
            }
        }
    }

    async fn adopt<T, F, Fut>(&self, what: &str, lookup: &F) -> Result<Option<T>, ApiError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<T>, ApiError>>,
    {
        let found = lookup().await?;
        if found.is_some() {
            tracing::info!(vendor = self.dialect.vendor, what, "adopted an object created by an earlier attempt whose answer was lost");
        }
        Ok(found)
    }

    fn indeterminate(&self, what: &str, cause: ApiError) -> ApiError {
        ApiError::Indeterminate { vendor: self.dialect.vendor, what: what.to_string(), cause: Box::new(cause) }
    }
}

/// Checks that a PEM bundle holds at least one certificate usable as a trust anchor (what
/// the TLS stack will require of it when the first connection is made).
pub fn ca_problem(pem: &str) -> Option<String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;

    let mut roots = rustls::RootCertStore::empty();
    for (i, cert) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let cert = match cert {
            Ok(c) => c,
            Err(e) => return Some(format!("it is not valid PEM ({e})")),
        };
        if let Err(e) = roots.add(cert) {
            return Some(format!("certificate {} is not a usable X.509 CA certificate ({e})", i + 1));
        }
    }
    roots.is_empty().then(|| "it contains no certificate (expected -----BEGIN CERTIFICATE----- blocks)".to_string())
}

/// Builds the reqwest client (one per vendor, so each has its own pool and TLS roots).
pub fn build_client(settings: &HttpSettings, extra_ca_pem: Option<&str>, insecure: bool) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .timeout(settings.request_timeout)
        .connect_timeout(settings.request_timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("terraform-provider-identity/", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60))
        // Never follow a redirect: a 307/308 would replay a body that may carry a
        // credential (a client secret, a password) to wherever the server points, possibly
        // another host or plain http. The 3xx answer becomes an error naming both URLs.
        .redirect(reqwest::redirect::Policy::none())
        .referer(false);
    if let Some(pem) = extra_ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| format!("ca_cert_pem is not valid PEM: {e}"))?;
        if certs.is_empty() {
            return Err("ca_cert_pem contains no certificate".into());
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    if insecure {
        b = b.danger_accept_invalid_certs(true);
    }
    b.build().map_err(|e| e.to_string())
}

/// The statuses worth another attempt.
pub fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// Transport errors worth another attempt of a repeatable request.
fn transient(e: &reqwest::Error) -> bool {
    e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()
}

/// The `Retry-After` of an answer, capped at [`MAX_RETRY_AFTER`].
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(v, SystemTime::now())
}

/// Parses a `Retry-After` value: delay seconds (`120`; fractions such as `0.5` are taken
/// too, as some APIs send them) or an HTTP date (IMF-fixdate, RFC 850 or asctime; a date
/// in the past means now). Capped at [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO).min(MAX_RETRY_AFTER))
}

/// The wait before retry number `attempt + 1`: exponential (200 ms, 400 ms, ... up to 5 s)
/// with equal jitter (a random point in the upper half), so that clients that failed
/// together do not retry together.
pub fn backoff(attempt: u32) -> Duration {
    let cap = BASE_BACKOFF.saturating_mul(1u32 << attempt.min(16)).min(MAX_BACKOFF);
    let ms = cap.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
}

/// A server-given wait plus up to a tenth more (at most 250 ms), to spread the retries.
fn with_jitter(d: Duration) -> Duration {
    let extra = (d.as_millis() as u64 / 10).min(250);
    d + Duration::from_millis(if extra == 0 { 0 } else { rand::rng().random_range(0..=extra) })
}

/// `scheme://host:port` of a URL.
fn origin_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url).ok().map(|u| u.origin().ascii_serialization())
}

/// A request's method and URL without its query, for messages.
fn describe(req: &Request<'_>) -> String {
    format!("{} {}", req.method, strip_query(req.url))
}

/// The path of a URL, for logs (no query string: it may carry filters with user data).
fn path_of(url: &str) -> String {
    reqwest::Url::parse(url).map(|u| u.path().to_string()).unwrap_or_else(|_| "?".into())
}

/// The text of a JSON decoding error without the server's strings in it: serde quotes the
/// value it could not use (`invalid type: string "..."`), and a server may have put a
/// secret there, escaped in ways no scrubber can foresee. Quoted strings become `"…"`, and
/// a backquoted value that is not a short plain word (a field name, a number) `` `…` ``.
pub fn json_error_text(e: &serde_json::Error) -> String {
    static QUOTED: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r#""(?:[^"\\]|\\.)*"?|`[^`]*`"#).expect("a valid pattern"));
    let text = e.to_string();
    QUOTED
        .replace_all(&text, |c: &regex::Captures<'_>| {
            let m = &c[0];
            if m.starts_with('`') {
                let inner = &m[1..m.len() - 1];
                if inner.len() <= 32 && inner.chars().all(|ch| ch.is_ascii_alphanumeric() || "_.+-:".contains(ch)) {
                    return m.to_string();
                }
                return "`…`".to_string();
            }
            "\"…\"".to_string()
        })
        .into_owned()
}

/// Percent-encodes one path segment (an id): everything but unreserved characters. `.`
/// and `..` stay as they are, and a request with them is refused ([`has_dot_segment`]).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a URL's path has a `.` or `..` segment, also percent-encoded (`%2e`): URL
/// parsing resolves them, so `DELETE .../Users/..` would become `DELETE .../` and
/// `DELETE .../Users/.` the collection itself.
pub fn has_dot_segment(url: &str) -> bool {
    let no_query = url.split(['?', '#']).next().unwrap_or(url);
    let path = match no_query.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, p)| p),
        None => no_query,
    };
    path.split('/').any(|seg| matches!(seg.to_ascii_lowercase().replace("%2e", ".").as_str(), "." | ".."))
}

/// Whether a URL host (as written in a URL: an IPv6 address in brackets or bare) is this
/// machine: `localhost` (any case) or a loopback IP address (`127.0.0.0/8`, `::1`, and
/// IPv4-mapped loopback). Other names are not, `*.localhost` included: a resolver may send
/// them anywhere.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Whether a server-given id can address its object as one URL path segment: not empty,
/// not `.` or `..` (which URL parsing resolves), no `/`.
pub fn is_addressable_id(id: &str) -> bool {
    !id.is_empty() && id != "." && id != ".." && !id.contains('/')
}

/// A URL without its query string.
fn strip_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

/// An error and its sources as one line, with the query of every URL in it removed
/// (reqwest's messages repeat the request URL, whose query may hold personal data such as
/// `filter=userName eq "..."`).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    strip_url_queries(&s)
}

/// `text` with the query (and fragment) of every http(s) URL in it removed.
pub fn strip_url_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = ["http://", "https://"].iter().filter_map(|p| rest.find(p)).min() {
        out.push_str(&rest[..i]);
        let url = &rest[i..];
        let end = url.find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ',')).unwrap_or(url.len());
        let token = &url[..end];
        out.push_str(token.split(['?', '#']).next().unwrap_or(token));
        rest = &url[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
