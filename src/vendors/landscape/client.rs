//! Canonical Landscape API v2: OIDC group import sessions and staged groups
//! (`/api/v2/oidc/groups/...`; Canonical's Landscape API documentation).
//!
//! Paging of `GET /oidc/groups/staged`: the spec shows `{"count": 500, "results": [...]}`
//! and no parameters. The client asks for `limit=100&offset=N` (Django REST framework's
//! limit/offset style, which the `{count, results, next}` answer suggests) and advances the
//! offset by the number of results it got, until it holds `count` groups, a page brings
//! nothing new, or (without a `count`) `next` is null. So it also works against a server
//! that ignores the parameters (one page with everything) or serves smaller pages. It never
//! follows a `next` URL: that could point elsewhere and would carry the bearer token.

use std::collections::BTreeSet;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::http::{ApiError, Auth, Dialect, Http, HttpSettings, Repeat, Reply, Request};

const VENDOR: &str = super::VENDOR.label;

/// The page size the client asks for (the sandbox's maximum).
pub const STAGED_PAGE_SIZE: usize = 100;
/// A bound on the number of pages one listing may take (a misbehaving server cannot make
/// the provider loop forever).
pub const MAX_PAGES: usize = 10_000;
/// The most staged groups one listing holds: a server sending endless fresh groups is cut
/// off there rather than filling the memory.
pub const MAX_STAGED_GROUPS: usize = 100_000;

/// Import session states the spec names.
pub const STATUS_IN_PROGRESS: &str = "IN_PROGRESS";
pub const STATUS_COMPLETED: &str = "COMPLETED";

/// An OIDC group import session.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct ImportSession {
    pub id: i64,
    #[serde(default)]
    pub account_id: Option<i64>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub issuer_id: Option<i64>,
    #[serde(default)]
    pub synced_at: Option<String>,
}

impl ImportSession {
    /// Still running (`IN_PROGRESS`).
    pub fn in_progress(&self) -> bool {
        self.status.eq_ignore_ascii_case(STATUS_IN_PROGRESS)
    }
    pub fn completed(&self) -> bool {
        self.status.eq_ignore_ascii_case(STATUS_COMPLETED)
    }
}

/// A staged OIDC group.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct StagedGroup {
    pub id: i64,
    #[serde(default)]
    pub account_id: Option<i64>,
    #[serde(default)]
    pub issuer_id: Option<i64>,
    #[serde(default)]
    pub group_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub import_session_id: Option<i64>,
}

/// One page of `GET /oidc/groups/staged`.
#[derive(Clone, Debug, Deserialize)]
pub struct StagedPage {
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub results: Vec<StagedGroup>,
    #[serde(default)]
    pub next: Option<String>,
}

/// Every staged group of a session, and how it was fetched.
#[derive(Clone, Debug)]
pub struct StagedListing {
    pub groups: Vec<StagedGroup>,
    /// The server's `count` on the last page (None when it sends none).
    pub reported_count: Option<u64>,
    /// How many page requests it took.
    pub pages: usize,
}

#[derive(Serialize)]
struct CreateRequest {
    issuer_id: i64,
}

/// Landscape's error body: `{"error": "...", "message": "..."}` (a `detail` field, as
/// Django REST framework sends, is read too).
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Landscape's message: `message`, else `detail`, else `error`.
fn error_text(body: &[u8]) -> Option<(String, Option<String>)> {
    let b: ErrorBody = serde_json::from_slice(body).ok()?;
    let message = [b.message, b.detail, b.error].into_iter().flatten().find(|m| !m.is_empty()).unwrap_or_default();
    Some((message, None))
}

const DIALECT: Dialect = Dialect { vendor: VENDOR, error_text, check_success: None };

/// A configured Landscape client.
#[derive(Clone)]
pub struct LandscapeClient {
    base: String,
    token: String,
    http: Http,
}

impl std::fmt::Debug for LandscapeClient {
    /// The token is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LandscapeClient").field("base", &self.base).finish_non_exhaustive()
    }
}

/// What a right `landscape.url` looks like (for a 404 that a wrong one causes).
const BASE_HINT: &str = "`landscape.url` is the Landscape server's URL without `/api`, e.g. `https://landscape.canonical.com` or \
                         `https://landscape.example.com`; the provider adds `/api/v2/oidc/groups`.";

impl LandscapeClient {
    /// `url` is the Landscape base (e.g. `https://landscape.canonical.com`);
    /// `/api/v2/oidc/groups` is appended.
    pub fn new(url: &str, token: &str, settings: HttpSettings) -> Result<Self, String> {
        let base = url.trim_end_matches('/').to_string();
        // `staged` without its required parameter: a 400 from the API, a 404 only when the
        // base URL leads elsewhere.
        let probe = format!("{base}/api/v2/oidc/groups/staged");
        let http = Http::new(DIALECT, settings, None, false)?.with_secrets(&[token]).with_base_probe(probe, BASE_HINT);
        Ok(LandscapeClient { base, token: token.to_string(), http })
    }

    /// The shared HTTP layer (its settings and governor).
    pub fn http(&self) -> &Http {
        &self.http
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v2/oidc/groups{}", self.base, path)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&impl Serialize>,
        repeat: Option<Repeat>,
    ) -> Result<Reply, ApiError> {
        let url = self.url(path);
        let mut req = Request::new(method, &url).auth(Auth::Bearer(&self.token)).query(query);
        if let Some(b) = body {
            let bytes = serde_json::to_vec(b).map_err(|e| ApiError::Decode { vendor: VENDOR, reason: e.to_string() })?;
            req = req.body(bytes, "application/json");
        }
        if let Some(r) = repeat {
            req = req.repeat(r);
        }
        self.http.send(&req).await
    }

    /// `POST /oidc/groups/import_session {"issuer_id": N}`: starts staging the issuer's groups.
    ///
    /// An import session has no natural key: the API has no way to list sessions or find
    /// one by issuer, so after a lost answer there is nothing to look up and adopt (unlike
    /// the other vendors' creates, see [`Http::create`]). So the POST is sent again only
    /// when it provably never reached the server (no connection), or after a 429: a 429
    /// is the rate limiter's refusal, given before the request is processed (and were it
    /// ever not, the cost is a second staging run of the same issuer, which changes
    /// nothing that is managed). After a timeout, a dropped connection or a 502/503/504
    /// the error is reported as is: the session may or may not have been started.
    pub async fn create_import_session(&self, issuer_id: i64) -> Result<ImportSession, ApiError> {
        let reply =
            self.call(Method::POST, "/import_session", &[], Some(&CreateRequest { issuer_id }), Some(Repeat::UnsentOrThrottled)).await?;
        self.http.decode(&reply)
    }

    /// `GET /oidc/groups/import_session/<id>`; None when there is no such session.
    pub async fn get_import_session(&self, id: i64) -> Result<Option<ImportSession>, ApiError> {
        match self.call(Method::GET, &format!("/import_session/{id}"), &[], None::<&()>, None).await {
            Ok(r) => Ok(Some(self.http.decode(&r)?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One page of `GET /oidc/groups/staged`.
    pub async fn staged_page(&self, session_id: i64, include_imported: bool, limit: usize, offset: usize) -> Result<StagedPage, ApiError> {
        let mut q = vec![("import_session_id", session_id.to_string())];
        if include_imported {
            q.push(("include_imported", "true".to_string()));
        }
        q.push(("limit", limit.to_string()));
        q.push(("offset", offset.to_string()));
        self.http.decode(&self.call(Method::GET, "/staged", &q, None::<&()>, None).await?)
    }

    /// How many groups the session staged (`count` of a one-item page).
    pub async fn staged_count(&self, session_id: i64, include_imported: bool) -> Result<u64, ApiError> {
        let page = self.staged_page(session_id, include_imported, 1, 0).await?;
        Ok(page.count.unwrap_or(page.results.len() as u64))
    }

    /// Every staged group of the session, paging as the module documentation says.
    pub async fn list_staged(&self, session_id: i64, include_imported: bool) -> Result<StagedListing, ApiError> {
        let mut groups = Vec::new();
        let mut seen = BTreeSet::new();
        let mut offset = 0usize;
        let mut pages = 0usize;
        let mut reported_count: Option<u64>;
        loop {
            if pages >= MAX_PAGES {
                return Err(ApiError::Decode {
                    vendor: VENDOR,
                    reason: format!("the staged group listing did not end after {MAX_PAGES} pages"),
                });
            }
            if groups.len() > MAX_STAGED_GROUPS {
                return Err(ApiError::Decode {
                    vendor: VENDOR,
                    reason: format!(
                        "the staged group listing was stopped at {} groups, more than the {MAX_STAGED_GROUPS} one listing may hold",
                        groups.len()
                    ),
                });
            }
            let page = self.staged_page(session_id, include_imported, STAGED_PAGE_SIZE, offset).await?;
            pages += 1;
            reported_count = page.count;
            let got = page.results.len();
            let mut new = 0usize;
            for g in page.results {
                if seen.insert(g.id) {
                    groups.push(g);
                    new += 1;
                }
            }
            let done = new == 0
                || match page.count {
                    Some(c) => groups.len() as u64 >= c,
                    None => page.next.is_none(),
                };
            if done {
                break;
            }
            offset += got;
        }
        Ok(StagedListing { groups, reported_count, pages })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{self, SandboxConfig, landscape as sb};

    fn client(url: &str, token: &str) -> LandscapeClient {
        let settings = HttpSettings { max_retries: 0, ..HttpSettings::default() };
        LandscapeClient::new(url, token, settings).expect("client")
    }

    #[tokio::test]
    async fn landscape_client_against_the_sandbox() {
        let config = SandboxConfig { landscape_import_ms: 0, ..SandboxConfig::default() };
        let s = sandbox::spawn(config).await.expect("sandbox");
        let c = client(&s.landscape_url(), sandbox::DEFAULT_LANDSCAPE_TOKEN);

        let created = c.create_import_session(sb::ISSUER_OK).await.expect("create");
        assert_eq!(created.status, STATUS_IN_PROGRESS);
        assert_eq!(created.issuer_id, Some(sb::ISSUER_OK));
        assert_eq!(created.account_id, Some(sb::ACCOUNT_ID));
        let got = c.get_import_session(created.id).await.expect("get").expect("exists");
        assert!(got.completed(), "{got:?}");

        let all = c.list_staged(created.id, false).await.expect("list");
        assert_eq!(all.groups.len(), sb::SEEDED_GROUPS);
        assert_eq!(all.reported_count, Some(sb::SEEDED_GROUPS as u64));
        assert_eq!(all.pages, sb::SEEDED_GROUPS.div_ceil(STAGED_PAGE_SIZE));
        assert_eq!(all.groups[0].name, "Marketing");
        assert!(all.groups.iter().all(|g| g.import_session_id == Some(created.id)));
        let with_imported = c.list_staged(created.id, true).await.expect("list");
        assert_eq!(with_imported.groups.len(), sb::SEEDED_GROUPS + sb::SEEDED_IMPORTED_GROUPS);
        assert_eq!(c.staged_count(created.id, false).await.expect("count"), sb::SEEDED_GROUPS as u64);

        assert_eq!(c.get_import_session(9999).await.expect("get"), None);
        let err = c.create_import_session(999).await.expect_err("unknown issuer");
        assert!(err.is_not_found() && err.to_string().contains("Issuer 999 not found"), "{err}");
        let err = c.list_staged(9999, false).await.expect_err("unknown session");
        assert!(err.is_not_found(), "{err}");

        let bad = client(&s.landscape_url(), "not-the-token");
        let err = bad.get_import_session(created.id).await.expect_err("401");
        assert_eq!(err.status(), Some(401));
        assert!(!err.to_string().contains("not-the-token"), "no secret in errors: {err}");
    }
}
