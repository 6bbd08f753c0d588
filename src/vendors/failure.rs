//! What a failed call means for the person running Terraform: a summary that names the
//! cause and the place (the URL), and a detail that says which setting to look at.
//!
//! A failure of the object itself (a 400 about an attribute, a 409, a 404 read) keeps the
//! summary the caller gives ("Unable to create user") and the vendor's own words. A
//! failure that no object can cause (nothing listening, no such host, the wrong scheme,
//! an untrusted certificate, refused credentials, a wrong base URL) gets a summary of its
//! own, so that fifty resources failing for one reason read as that reason.

use super::scim::VENDOR as SCIM;
use crate::http::{ApiError, Cause};
use crate::tfplugin::{Diagnostic, Diagnostics};

/// A failure in words: the diagnostic's summary and detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explained {
    pub summary: String,
    pub detail: String,
}

/// Where a vendor is configured: its provider block, the URL attribute and its
/// environment variable, and its credential settings.
struct Place {
    block: &'static str,
    url_attr: &'static str,
    url_env: Option<&'static str>,
    credentials: &'static str,
}

/// The credential settings of the SCIM token endpoint.
const TOKEN_CREDENTIALS: &str = "`scim.client_id` / `scim.client_secret` (IDENTITY_SCIM_CLIENT_ID, IDENTITY_SCIM_CLIENT_SECRET) \
     of a confidential application that is activated and has the Identity Domain Administrator role (or the scope asked \
     for in `scim.scope`); for the password grant also `scim.username` / `scim.password`; with `scim.workload_identity`, \
     the workload identity token instead: its issuer must be trusted by the identity domain, its audience must name the \
     domain, and it must not have expired (HCP Terraform issues a fresh one for every run)";

/// Where the vendor of an error is configured (see [`super::Vendor`]); the SCIM token
/// endpoint is the `scim` block's `token_url`.
fn place(vendor: &str) -> Place {
    if vendor == super::scim::client::TOKEN_VENDOR {
        return Place { block: SCIM.block, url_attr: "token_url", url_env: None, credentials: TOKEN_CREDENTIALS };
    }
    let v = super::by_label(vendor).unwrap_or(&SCIM);
    Place { block: v.block, url_attr: "url", url_env: Some(v.url_env), credentials: v.credential_settings }
}

impl Place {
    /// "`scim.url` (or IDENTITY_SCIM_URL)".
    fn url_setting(&self) -> String {
        match self.url_env {
            Some(env) => format!("`{}.{}` (or {env})", self.block, self.url_attr),
            None => format!(
                "`{}.{}` (when it is not set: derived from `{}.url` or its environment variable)",
                self.block, self.url_attr, self.block
            ),
        }
    }
}

/// The host (and port, when given) of a URL.
fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => url.to_string(),
        },
        Err(_) => url.to_string(),
    }
}

/// The summary and detail of a diagnostic for `e`, where `action` says what was being
/// done ("Unable to read user").
pub fn explain(action: &str, e: &ApiError) -> Explained {
    let vendor = e.vendor();
    let p = place(vendor);
    let block = p.block;
    let mut detail = format!("{action}.\n{}", e.detail());
    let summary = match e {
        ApiError::Transport { url, cause, .. } => {
            let host = host_of(url);
            let (summary, advice) = match cause {
                Cause::Refused => (
                    format!("Cannot connect to {vendor} at {url} (connection refused)"),
                    format!(
                        "Nothing accepts connections at {host}. Check {} and that the server runs and can be reached from \
                         where Terraform runs.",
                        p.url_setting()
                    ),
                ),
                Cause::NoSuchHost => (
                    format!("Cannot resolve host {host} for {vendor} ({url})"),
                    format!("The name does not exist in DNS. Check the host name in {}.", p.url_setting()),
                ),
                Cause::Dns => (
                    format!("Cannot resolve host {host} for {vendor} ({url})"),
                    format!(
                        "The DNS resolver gave no answer for the name; check the machine's DNS settings and the host name in {}.",
                        p.url_setting()
                    ),
                ),
                Cause::ConnectTimeout => (
                    format!("Cannot connect to {vendor} at {url} (no connection in time)"),
                    format!(
                        "The connection attempt to {host} got no answer, as when a firewall drops it. Check {}, proxies and \
                         firewalls.",
                        p.url_setting()
                    ),
                ),
                Cause::Timeout => (
                    format!("{vendor} did not answer in time ({url})"),
                    "The server accepted the connection but sent no whole answer within `request_timeout`. It may be \
                     overloaded; a longer `request_timeout` or lower `max_concurrent_requests` may help."
                        .to_string(),
                ),
                Cause::NotTls => (
                    format!("TLS handshake with {vendor} at {url} failed: the server does not speak TLS (use http://?)"),
                    format!(
                        "The server at {host} answered in plain text to a TLS handshake. If it serves plain HTTP, write the URL \
                         with http:// in {} (credentials then travel unencrypted); otherwise the port is wrong.",
                        p.url_setting()
                    ),
                ),
                Cause::NotHttp => (
                    format!("{vendor} at {url} did not answer in HTTP: the server may expect TLS (use https://?)"),
                    format!(
                        "What came back from {host} is not an HTTP answer, as when a TLS server gets plain HTTP. Write the URL \
                         with https:// in {}, or check the port.",
                        p.url_setting()
                    ),
                ),
                Cause::UntrustedCertificate => (
                    format!("The server's certificate is not trusted: set `{block}.ca_cert_pem` ({vendor} at {url})"),
                    format!(
                        "The certificate of {host} is signed by a CA that is not among the trusted roots. Set \
                         `{block}.ca_cert_pem` to the PEM of the CA that signed it (it adds to the system's roots), or \
                         point SSL_CERT_FILE at a bundle that holds it. `{block}.insecure_skip_verify = true` turns \
                         verification off, insecurely."
                    ),
                ),
                Cause::BadCertificate => (
                    format!("The {vendor} server's certificate was refused ({url})"),
                    format!(
                        "The certificate of {host} is signed by a trusted CA but is not valid for this connection (the host \
                         name it names, its dates or its kind; the error says which). Use the host name the certificate is \
                         made for in {}, or fix the server's certificate.",
                        p.url_setting()
                    ),
                ),
                Cause::Tls => (
                    format!("TLS handshake with {vendor} at {url} failed"),
                    format!("The server and the provider could not agree on TLS. Check {} and the server's TLS setup.", p.url_setting()),
                ),
                Cause::Closed | Cause::Other => (action.to_string(), String::new()),
            };
            if !advice.is_empty() {
                detail.push('\n');
                detail.push_str(&advice);
            }
            summary
        }
        ApiError::Status { status, message, .. } if vendor == super::scim::client::TOKEN_VENDOR => match status {
            400 | 401 | 403 => {
                let code = message.split(':').next().unwrap_or(message).trim();
                let code = if code.is_empty() || code.contains(' ') { String::new() } else { format!(" {code}") };
                detail.push_str(&format!("\nThe token endpoint refused the credentials. Check {}.", p.credentials));
                format!("Credentials refused by the SCIM token endpoint ({status}{code})")
            }
            404 | 405 => {
                detail.push_str(
                    "\nThe token URL is wrong. By default it is derived from `scim.url`: `https://<domain>/admin/v1` gives \
                     `https://<domain>/oauth2/v1/token`. Set `scim.token_url` when the token endpoint is elsewhere.",
                );
                format!("The SCIM token endpoint was not found ({status}): check `scim.token_url`")
            }
            _ => format!("The SCIM token endpoint failed ({status})"),
        },
        ApiError::Status { status: 401, .. } => {
            detail.push_str(&format!("\n{vendor} refused the credentials. Check {}.", p.credentials));
            format!("{vendor} refused the credentials (401)")
        }
        ApiError::WrongBase { vendor, .. } => {
            detail.push_str(&format!("\nCheck {}.", p.url_setting()));
            format!("The {vendor} base URL looks wrong: its API answers 404 Not Found")
        }
        _ => action.to_string(),
    };
    Explained { summary, detail }
}

/// The error for a create that finds the object already there (409), with the exact
/// commands to adopt it into the state instead.
pub(crate) fn already_exists(e: &ApiError, type_name: &str, id: &str, what: &str) -> Diagnostics {
    Diagnostic::error(
        format!("{what} already exists"),
        format!(
            "{}\nAn object with this name exists on the server. Either of two things is going on:\n\
             - It is not in this Terraform state. To manage it with Terraform, import it:\n  terraform import {type_name}.<name> {id}\n\
             or add an import block:\n  import {{\n    to = {type_name}.<name>\n    id = \"{id}\"\n  }}\n\
             - This apply replaces it with `create_before_destroy = true`: the new object is created while the old one, with \
             the same unique name, still exists. Give the replacement a different name (for example with a suffix that changes \
             with it), or remove `create_before_destroy` so the old object is deleted first. Do not import it then: it is the \
             object being replaced.",
            e.detail()
        ),
    )
    .into()
}

/// A vendor error as a diagnostic: `summary` says what failed ("Unable to read user");
/// where the cause is not the object but the connection, the configuration or the
/// credentials, the summary names that cause and the URL instead (see [`explain`]).
pub(crate) fn api_diag(summary: &str, e: &ApiError) -> Diagnostics {
    let x = explain(summary, e);
    Diagnostic::error(x.summary, x.detail).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(vendor: &'static str, url: &str, cause: Cause) -> ApiError {
        ApiError::Transport { vendor, method: "GET".into(), url: url.into(), cause, reason: "error sending request".into() }
    }

    #[test]
    fn transport_failures_name_the_cause_the_url_and_the_setting() {
        let url = "https://idcs.example.com/admin/v1/Users/1";
        let e = explain("Unable to read user", &transport("SCIM", url, Cause::Refused));
        assert_eq!(e.summary, format!("Cannot connect to SCIM at {url} (connection refused)"));
        assert!(e.detail.starts_with("Unable to read user.\n") && e.detail.contains("IDENTITY_SCIM_URL"), "{}", e.detail);
        let e = explain("x", &transport("Run:ai", "https://nope.invalid/api/v1/idps", Cause::NoSuchHost));
        assert_eq!(e.summary, "Cannot resolve host nope.invalid for Run:ai (https://nope.invalid/api/v1/idps)");
        let e = explain("x", &transport("Landscape", "https://l:8443/api", Cause::NotTls));
        assert!(e.summary.contains("does not speak TLS (use http://?)") && e.detail.contains("`landscape.url`"), "{e:?}");
        let e = explain("x", &transport("Fudo", "http://f:443/api", Cause::NotHttp));
        assert!(e.summary.contains("(use https://?)"), "{e:?}");
        let e = explain("x", &transport("Run:ai", "https://r/api", Cause::UntrustedCertificate));
        assert_eq!(e.summary, "The server's certificate is not trusted: set `runai.ca_cert_pem` (Run:ai at https://r/api)");
        assert!(e.detail.contains("SSL_CERT_FILE") && e.detail.contains("runai.insecure_skip_verify"), "{}", e.detail);
        // A closed connection is about the request: the caller's summary stays.
        assert_eq!(explain("Unable to read user", &transport("SCIM", url, Cause::Closed)).summary, "Unable to read user");
    }

    #[test]
    fn refused_credentials_and_wrong_urls_are_named() {
        let e = ApiError::Status {
            vendor: crate::vendors::scim::client::TOKEN_VENDOR,
            status: 401,
            message: "invalid_client: Client authentication failed.".into(),
            details: None,
            request: Some("POST https://idcs/oauth2/v1/token".into()),
        };
        let x = explain("Unable to read user", &e);
        assert_eq!(x.summary, "Credentials refused by the SCIM token endpoint (401 invalid_client)");
        assert!(x.detail.contains("POST https://idcs/oauth2/v1/token") && x.detail.contains("IDENTITY_SCIM_CLIENT_SECRET"), "{}", x.detail);
        let e = ApiError::WrongBase {
            vendor: "SCIM",
            method: "GET".into(),
            url: "https://idcs/scim/Users/1".into(),
            probe: "GET https://idcs/scim/ServiceProviderConfig".into(),
            hint: "The SCIM base URL ends in /admin/v1.",
        };
        let x = explain("Unable to read user", &e);
        assert_eq!(x.summary, "The SCIM base URL looks wrong: its API answers 404 Not Found");
        assert!(x.detail.contains("/admin/v1") && x.detail.contains("ServiceProviderConfig") && x.detail.contains("IDENTITY_SCIM_URL"));
        // A vendor's 400 about the object keeps the caller's summary and the vendor's words.
        let e = ApiError::Status { vendor: "Run:ai", status: 400, message: "alias taken".into(), details: None, request: None };
        assert_eq!(explain("Unable to create identity provider", &e).summary, "Unable to create identity provider");
    }
}
