//! Run:ai's rule for the URLs of an idp (`oidcData.discoverDocumentUrl`,
//! `samlData.metadataXmlUrl`, `ocpData.idpBaseUrl`), and the one exception made for
//! identity-sandbox.
//!
//! The vendor's OpenAPI document writes the rule with JavaScript delimiters
//! (`"/^(https?://)?...$|^$/"`), which taken literally as a regex match nothing; the
//! intended rule, [`PATTERN`], is the text between the slashes: an optional `http://` or
//! `https://`, a host name with a dot and a top-level domain of two or more letters, an
//! optional port, an optional path; or the empty string. It refuses IP addresses and
//! `localhost`.
//!
//! The sandbox allowance: tests and the quickstart point these URLs at loopback servers
//! (the sandbox serves a sample SAML metadata document itself). A URL of the rule's shape
//! whose host is a loopback host ([`crate::http::is_loopback_host`]: `localhost`,
//! `127.0.0.0/8`, `[::1]`) is [`loopback_host`]; `identity_idp` accepts it only when the
//! provider's Run:ai endpoint is itself a loopback address (the sandbox), and the sandbox
//! accepts it always. Everywhere else the vendor's rule holds as written.

use std::sync::LazyLock;

use regex::Regex;

/// The vendor's URL rule, as intended (the document's pattern without its `/.../`).
pub const PATTERN: &str = r"^(https?://)?([a-zA-Z0-9.-]+\.[a-zA-Z]{2,})(:[0-9]{1,5})?(/[^\s]*)?$|^$";

/// [`PATTERN`]'s shape with any host that has no dot-and-letters top-level domain in its
/// place: an IP address (IPv6 in brackets) or a single label such as `localhost`.
const ANY_HOST_PATTERN: &str = r"^(https?://)?([a-zA-Z0-9.-]+|\[[0-9a-fA-F:.]+\])(:[0-9]{1,5})?(/[^\s]*)?$";

static VENDOR_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(PATTERN).ok());
static ANY_HOST_RE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(ANY_HOST_PATTERN).ok());

/// Whether Run:ai's rule accepts `url` (the empty string included, as the rule says).
pub fn vendor_accepts(url: &str) -> bool {
    VENDOR_RE.as_ref().is_some_and(|re| re.is_match(url))
}

/// The host of `url` when the vendor's rule refuses it only because its host is a loopback
/// host (the sandbox allowance); None for any other URL.
pub fn loopback_host(url: &str) -> Option<&str> {
    if vendor_accepts(url) {
        return None;
    }
    let host = ANY_HOST_RE.as_ref()?.captures(url)?.get(2)?.as_str();
    crate::http::is_loopback_host(host).then_some(host)
}

/// Whether a base URL (the provider's `runai.url`) addresses this machine: its host is a
/// loopback host, as for identity-sandbox.
pub fn is_loopback_endpoint(base_url: &str) -> bool {
    reqwest::Url::parse(base_url).ok().and_then(|u| u.host_str().map(crate::http::is_loopback_host)).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_compiles() {
        assert!(VENDOR_RE.is_some() && ANY_HOST_RE.is_some());
    }

    /// (url, the vendor's rule accepts it, the loopback host the sandbox allowance sees)
    #[test]
    fn the_vendor_rule_and_the_sandbox_allowance() {
        let table: &[(&str, bool, Option<&str>)] = &[
            ("https://idp.example.com/.well-known/openid-configuration", true, None),
            ("http://idp.example.com", true, None),
            ("idp.example.com", true, None),
            ("api.cluster.example.com:6443", true, None),
            ("https://api.cluster.example.com:6443/oauth", true, None),
            ("https://login.example.co.uk/x?y=1&z=%20", true, None),
            ("https://sandbox.localhost:8080/m", true, None),
            ("https://idp-1.example.travel/", true, None),
            ("", true, None),
            // Refused, no allowance.
            ("https://10.1.2.3/x", false, None),
            ("https://999.999.1.1/x", false, None),
            ("http://192.168.1.10:8080/m", false, None),
            ("https://[2001:db8::1]/x", false, None),
            ("https://metadata/idp.xml", false, None),
            ("https://idp.example.c0m/x", false, None),
            ("https://idp.example.c/x", false, None),
            ("ftp://idp.example.com/x", false, None),
            ("HTTPS://idp.example.com/x", false, None),
            ("https://user@idp.example.com/x", false, None),
            ("https://idp.example.com?x=1", false, None),
            ("https://idp.example.com/a b", false, None),
            ("https://idp.example.com:123456/x", false, None),
            ("not a url", false, None),
            (" https://idp.example.com", false, None),
            ("https://127.0.0.1.example/x", true, None),
            ("https://localhostx/x", false, None),
            ("https://127.0.0.256/x", false, None),
            ("https://[::2]/x", false, None),
            // Refused by the vendor, allowed against the sandbox.
            ("http://localhost:8080/x", false, Some("localhost")),
            ("LOCALHOST", false, Some("LOCALHOST")),
            ("http://127.0.0.1:41234/_sandbox/samples/saml-metadata.xml?entity_id=https://idp.example.com/one", false, Some("127.0.0.1")),
            ("https://127.9.8.7/x", false, Some("127.9.8.7")),
            ("http://[::1]:8080/x", false, Some("[::1]")),
        ];
        let mut wrong = Vec::new();
        for (url, accepted, loopback) in table {
            let got = (vendor_accepts(url), loopback_host(url));
            if got != (*accepted, *loopback) {
                wrong.push(format!("{url:?}: got {got:?}, want {:?}", (accepted, loopback)));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn loopback_endpoints() {
        for url in ["http://127.0.0.1:8080/runai", "http://localhost/runai", "https://[::1]:443", "http://127.1.2.3"] {
            assert!(is_loopback_endpoint(url), "{url}");
        }
        for url in ["https://app.run.ai", "http://10.0.0.1/runai", "http://sandbox.localhost:8080/runai", "not a url", ""] {
            assert!(!is_loopback_endpoint(url), "{url}");
        }
    }
}
