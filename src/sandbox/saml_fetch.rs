//! The only request the sandbox sends: the Run:ai emulation's fetch of
//! `samlData.metadataXmlUrl`. It is confined to what the tests and the quickstart need
//! (the sample document the sandbox serves itself, [`super::runai::SAMPLE_METADATA_PATH`]):
//!
//! - **Targets.** The sandbox's own socket: its port, on a loopback address that reaches
//!   it, `localhost`, or a name under `.localhost` such as `sandbox.localhost` (RFC 6761:
//!   loopback by definition; resolved to that address, never through DNS; unlike
//!   `localhost` and IP addresses, it passes Run:ai's URL rule); and the hosts given
//!   with `--saml-metadata-allow HOST[:PORT]` (repeatable; a HOST without a port allows
//!   every port of it). Any other URL (another port on loopback, a LAN or public host)
//!   is refused before a connection is made: a 400 naming `samlData.metadataXmlUrl`.
//! - **No redirects.** A 3xx answer is an error; its `Location` is not visited.
//! - **Bounded.** At most [`MAX_METADATA_BYTES`]: a larger `Content-Length` is refused
//!   before the body is read, and the body is counted as it arrives. The whole exchange
//!   has [`METADATA_FETCH_TIMEOUT`], connecting [`CONNECT_TIMEOUT`].
//! - **Certificates are always checked.** Fetching from itself over `--tls`, the sandbox
//!   trusts only the CA it generated; an allowed host is checked against the system's
//!   roots. There is no "accept invalid certificates" mode.
//! - No proxy for its own socket and loopback hosts; the proxy environment otherwise.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use axum::http::header;

use super::runai::MAX_METADATA_BYTES;
use super::store::AppState;

/// How long the server waits for a whole `metadataXmlUrl` answer.
pub const METADATA_FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server waits for the connection to a `metadataXmlUrl` host.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Where this sandbox serves, so that the fetch recognises itself: set once the listener
/// is bound (see [`AppState::set_own_address`]).
#[derive(Debug, Clone)]
pub struct OwnAddress {
    /// The bound address (may be unspecified: `0.0.0.0` or `::`).
    pub addr: SocketAddr,
    /// With `--tls`: the PEM of the generated CA, the only root trusted when fetching from
    /// itself.
    pub ca_pem: Option<String>,
}

/// A host of a URL or of a `--saml-metadata-allow` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    /// Lowercase, without a trailing dot.
    Name(String),
}

impl Host {
    /// `host` as it appears in a URL or a flag: an IP address (IPv6 with or without
    /// brackets) or a DNS name.
    fn parse(host: &str) -> Result<Host, String> {
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Host::Ip(ip));
        }
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        let valid_label = |l: &str| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if name.split('.').all(valid_label) {
            Ok(Host::Name(name))
        } else {
            Err(format!("{host:?} is neither an IP address nor a host name"))
        }
    }

    fn is_loopback(&self) -> bool {
        match self {
            Host::Ip(ip) => ip.to_canonical().is_loopback(),
            Host::Name(n) => n == "localhost",
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

/// One `--saml-metadata-allow` entry: `HOST` (every port) or `HOST:PORT`; an IPv6
/// address with a port is written `[ADDR]:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    pub host: Host,
    pub port: Option<u16>,
}

impl FromStr for AllowedHost {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let usage = || format!("{s:?} is not HOST or HOST:PORT");
        if s.is_empty() || s.contains(['/', '@', '?', '#', ' ']) {
            return Err(usage());
        }
        let bracketed = |h: &str| h.starts_with('[') && h.ends_with(']');
        let (host, port) = match s.rsplit_once(':') {
            // An IPv6 address without a port, bare or in brackets.
            Some(_) if s.parse::<Ipv6Addr>().is_ok() || bracketed(s) => (s, None),
            Some((h, p)) if !h.contains(':') || bracketed(h) => {
                let port = p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| format!("{s:?}: the port must be 1-65535"))?;
                (h, Some(port))
            }
            Some(_) => return Err(usage()),
            None => (s, None),
        };
        Ok(AllowedHost { host: Host::parse(host)?, port })
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

/// How a permitted fetch connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The sandbox's own socket, at this address (no proxy, the own CA with `--tls`).
    Itself(SocketAddr),
    /// A `--saml-metadata-allow` host; `direct` (no proxy) when it is a loopback host.
    Allowed { direct: bool },
}

/// Decides whether `url` may be fetched: [`Route::Itself`] when it reaches `own` (the
/// bound address), [`Route::Allowed`] when an `allow` entry matches, else the reason for
/// the refusal.
pub fn route(url: &reqwest::Url, own: Option<SocketAddr>, allow: &[AllowedHost]) -> Result<Route, String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("the scheme {:?} is not http or https", url.scheme()));
    }
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return Err("the URL has no host".to_string());
    };
    let host = Host::parse(host)?;
    if let Some(addr) = own.and_then(|own| own_target(own, &host, port)) {
        return Ok(Route::Itself(addr));
    }
    if allow.iter().any(|a| a.host == host && a.port.is_none_or(|p| p == port)) {
        return Ok(Route::Allowed { direct: host.is_loopback() });
    }
    let own = own.map(|a| format!(" (port {})", a.port())).unwrap_or_default();
    Err(format!(
        "{host}:{port} is not allowed: the sandbox fetches metadata only from itself{own} and from the hosts given \
         with --saml-metadata-allow HOST[:PORT]"
    ))
}

/// The address to connect to when `host:port` is the sandbox's own socket bound at `own`.
fn own_target(own: SocketAddr, host: &Host, port: u16) -> Option<SocketAddr> {
    if port != own.port() {
        return None;
    }
    let bound = own.ip();
    let ip = match host {
        Host::Ip(ip) => Some(*ip).filter(|ip| match bound {
            // A wildcard socket answers on loopback too; other local addresses are not
            // known here (allow them explicitly).
            IpAddr::V4(b) if b.is_unspecified() => ip.is_ipv4() && ip.is_loopback(),
            IpAddr::V6(b) if b.is_unspecified() => *ip == IpAddr::V6(Ipv6Addr::LOCALHOST),
            b => *ip == b,
        })?,
        Host::Name(n) if n == "localhost" || n.ends_with(".localhost") => match bound {
            b if b.is_loopback() => b,
            IpAddr::V4(b) if b.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(b) if b.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            _ => return None,
        },
        Host::Name(_) => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Fetches `url` (`https://` assumed when it has no scheme) within the limits of the
/// module documentation. Errors are one sentence: "the SAML metadata could not be fetched
/// from URL: why".
pub async fn fetch(state: &AppState, url: &str) -> Result<Vec<u8>, String> {
    let lower = url.to_ascii_lowercase();
    let full = if lower.starts_with("http://") || lower.starts_with("https://") { url.to_string() } else { format!("https://{url}") };
    let fail = |why: String| format!("the SAML metadata could not be fetched from {full}: {why}");
    let parsed = reqwest::Url::parse(&full).map_err(|e| fail(e.to_string()))?;
    let own = state.own_address();
    let route = route(&parsed, own.map(|o| o.addr), &state.config().saml_metadata_allow).map_err(fail)?;
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(METADATA_FETCH_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_max_idle_per_host(0)
        .user_agent(concat!("identity-sandbox/", env!("CARGO_PKG_VERSION")));
    match route {
        Route::Itself(addr) => {
            builder = builder.no_proxy();
            if let Some(name) = parsed.domain() {
                builder = builder.resolve(name, addr);
            }
            if let Some(pem) = own.and_then(|o| o.ca_pem.as_deref()) {
                let ca = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| fail(format!("the sandbox CA: {e}")))?;
                builder = builder.tls_certs_only(ca);
            }
        }
        Route::Allowed { direct: true } => builder = builder.no_proxy(),
        Route::Allowed { direct: false } => {}
    }
    let client = builder.build().map_err(|e| fail(crate::http::error_chain(&e)))?;
    let mut resp = client
        .get(parsed)
        .header(header::ACCEPT, "application/samlmetadata+xml, application/xml, text/xml, */*")
        .send()
        .await
        .map_err(|e| fail(crate::http::error_chain(&e)))?;
    let status = resp.status();
    if status.is_redirection() {
        return Err(fail(format!("HTTP {status}: redirects are not followed")));
    }
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}")));
    }
    let too_large = || fail(format!("the answer is larger than {MAX_METADATA_BYTES} bytes"));
    if resp.content_length().is_some_and(|n| n > MAX_METADATA_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| fail(crate::http::error_chain(&e)))? {
        if body.len() + chunk.len() > MAX_METADATA_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
