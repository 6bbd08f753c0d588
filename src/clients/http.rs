//! The HTTP layer shared by every vendor client: one connection pool per vendor, request
//! timeouts, retries with jittered exponential backoff for idempotent requests, and
//! request logging without secrets.

use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::{Method, RequestBuilder, Response, StatusCode};

/// Settings from the provider's top-level configuration.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub request_timeout: Duration,
    pub max_retries: u32,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings { request_timeout: Duration::from_secs(30), max_retries: 5 }
    }
}

/// An error talking to a vendor API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request did not complete (connection refused, timeout, TLS failure).
    #[error("{vendor} could not be reached at {url}: {reason}")]
    Transport { vendor: &'static str, url: String, reason: String },
    /// The API answered with an error status; `message` is the vendor's own words.
    #[error("{vendor} answered {status}: {message}")]
    Status { vendor: &'static str, status: u16, message: String, details: Option<String> },
    /// The API answered 2xx with a body we could not read.
    #[error("{vendor} sent an answer that could not be read: {reason}")]
    Decode { vendor: &'static str, reason: String },
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
    /// The full text for a diagnostic's detail: the vendor's message and details.
    pub fn detail(&self) -> String {
        match self {
            ApiError::Status { details: Some(d), .. } if !d.is_empty() => format!("{self} ({d})"),
            _ => self.to_string(),
        }
    }
}

/// Builds the reqwest client (one per vendor, so each has its own pool and TLS roots).
pub fn build_client(settings: &HttpSettings, extra_ca_pem: Option<&str>, insecure: bool) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .timeout(settings.request_timeout)
        .connect_timeout(settings.request_timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("terraform-provider-identity/", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(60));
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

fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

fn retry_after(resp: &Response) -> Option<Duration> {
    let v = resp.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs.min(120)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    wait.to_std().ok().map(|d| d.min(Duration::from_secs(120)))
}

fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1u64 << attempt.min(6));
    let capped = base.min(5_000);
    Duration::from_millis(rand::rng().random_range(capped / 2..=capped))
}

/// Sends a request, retrying transient failures. Idempotent methods retry on 429, 502,
/// 503, 504 and transport errors; a POST only when the connection was never made (the
/// request provably did not reach the server). Returns the final response, whatever
/// its status.
pub async fn send(
    vendor: &'static str,
    settings: &HttpSettings,
    method: Method,
    url: &str,
    build: impl Fn() -> RequestBuilder,
) -> Result<Response, ApiError> {
    let idempotent = method != Method::POST && method != Method::PATCH;
    let mut attempt = 0u32;
    loop {
        let started = Instant::now();
        let result = build().send().await;
        let elapsed = started.elapsed().as_millis() as u64;
        match result {
            Ok(resp) => {
                let status = resp.status();
                tracing::debug!(vendor, method = %method, path = %path_of(url), status = status.as_u16(), duration_ms = elapsed, "HTTP request");
                if idempotent && retryable(status) && attempt < settings.max_retries {
                    let wait = retry_after(&resp).unwrap_or_else(|| backoff(attempt));
                    tracing::info!(
                        vendor,
                        status = status.as_u16(),
                        wait_ms = wait.as_millis() as u64,
                        "retrying after a transient answer"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                return Ok(resp);
            }
            Err(e) => {
                // A certificate the client does not trust is not transient: no retry.
                let never_sent = e.is_connect() && !is_tls_failure(&e);
                tracing::debug!(vendor, method = %method, path = %path_of(url), duration_ms = elapsed, error = %e, "HTTP request failed");
                if (idempotent || never_sent)
                    && !is_tls_failure(&e)
                    && attempt < settings.max_retries
                    && (e.is_connect() || e.is_timeout() || e.is_request())
                {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                    continue;
                }
                return Err(ApiError::Transport { vendor, url: url.to_string(), reason: error_chain(&e) });
            }
        }
    }
}

/// Whether a request failed in the TLS handshake (an untrusted or invalid certificate).
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if c.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && io.get_ref().is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return true;
        }
        cur = c.source();
    }
    false
}

/// The path of a URL, for logs (no query string: it may carry filters with user data).
fn path_of(url: &str) -> String {
    reqwest::Url::parse(url).map(|u| u.path().to_string()).unwrap_or_else(|_| "?".into())
}

fn error_chain(e: &dyn std::error::Error) -> String {
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
    s
}
