//! Run:ai external identity providers: `/api/v1/idps` and `/api/v1/idps/{alias}/mappers`
//! (OpenAPI 3.0.3, v2.22, the vendor's OpenAPI document for `/api/v1/idps`).

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::alias::{AliasError, derive_alias};
use crate::http::coalesce::{CoalesceSettings, CoalesceStats, Coalescer};
use crate::http::{ApiError, Auth, Created, Dialect, Http, HttpSettings, Reply, Request, is_addressable_id, path_segment};

const VENDOR: &str = super::VENDOR.label;
/// How concurrent idp reads are batched (see [`RunaiClient::get_idp_coalesced`]): one
/// list answers any number of them.
const IDP_READS: CoalesceSettings = CoalesceSettings { max_batch: 1000, ..CoalesceSettings::DEFAULT };

/// The value Run:ai (and the sandbox) returns in place of a stored secret.
pub fn is_masked(secret: &str) -> bool {
    !secret.is_empty() && secret.chars().all(|c| c == '*')
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MandatoryClaim {
    pub claim: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// `OidcCreationData` (request) and `OidcData` (read model).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OidcData {
    #[serde(default)]
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discover_document_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mandatory_claim: Option<MandatoryClaim>,
}

/// `Mappers`: which external claims feed Run:ai's user attributes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mappers {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplementary_groups: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// `SamlCreationData`: where the IdP's SAML metadata comes from.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SamlCreationData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_xml_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_xml_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// `url` or `file`, matching the input given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_xml_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
}

/// `SamlData`, the read model: what the server took from the metadata.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SamlData {
    #[serde(default)]
    pub signing_certificate: Option<String>,
    #[serde(default)]
    pub single_sign_on_service_url: Option<String>,
    #[serde(default)]
    pub entity_id: Option<String>,
    #[serde(default)]
    pub service_provider_metadata_url: Option<String>,
}

/// `OcpCreationData` / `OcpData`: OpenShift v4.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OcpData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

/// `IdpCreationRequest`, the body of POST and PUT. The spec's `required: ["type","data"]`
/// names a `data` property that does not exist; real requests carry the type's data
/// object (`oidcData`, `samlData` or `ocpData`).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdpRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saml_data: Option<SamlCreationData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_data: Option<OidcData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocp_data: Option<OcpData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mappers: Option<Mappers>,
}

/// `Idp1`, the read model. It has no `name`: the alias is derived from it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Idp {
    pub alias: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub redirect_uri: Option<String>,
    #[serde(default)]
    pub saml_data: Option<SamlData>,
    #[serde(default)]
    pub oidc_data: Option<OidcData>,
    #[serde(default)]
    pub ocp_data: Option<OcpData>,
    #[serde(default)]
    pub mappers: Option<Mappers>,
}

#[derive(Deserialize)]
struct PostResponse {
    alias: String,
}

/// Run:ai's error body: `{code, message, details?}`.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    details: Option<String>,
}

/// Run:ai's message and details in an error body.
fn error_text(body: &[u8]) -> Option<(String, Option<String>)> {
    let b: ErrorBody = serde_json::from_slice(body).ok()?;
    Some((b.message.unwrap_or_default(), b.details.filter(|d| !d.is_empty())))
}

const DIALECT: Dialect = Dialect { vendor: VENDOR, error_text, check_success: None };

/// A configured Run:ai client.
#[derive(Clone)]
pub struct RunaiClient {
    base: String,
    token: String,
    http: Http,
    /// Concurrent idp reads, batched; shared by the clones.
    idp_reads: Arc<Coalescer<String, Idp>>,
}

impl std::fmt::Debug for RunaiClient {
    /// The token is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunaiClient").field("base", &self.base).finish_non_exhaustive()
    }
}

/// What a right `runai.url` looks like (for a 404 that a wrong one causes).
const BASE_HINT: &str = "`runai.url` is the tenant's control plane URL without a path, e.g. `https://<company>.run.ai`; the \
                         provider adds `/api/v1/idps`.";

impl RunaiClient {
    /// `url` is the Run:ai base (e.g. `https://app.run.ai`); `/api/v1/idps` is appended.
    pub fn new(url: &str, token: &str, settings: HttpSettings) -> Result<Self, String> {
        let base = url.trim_end_matches('/').to_string();
        let batch = settings.batch_reads;
        let http =
            Http::new(DIALECT, settings, None, false)?.with_secrets(&[token]).with_base_probe(format!("{base}/api/v1/idps"), BASE_HINT);
        Ok(RunaiClient {
            base,
            token: token.to_string(),
            http,
            idp_reads: Arc::new(Coalescer::new("Run:ai idp reads", IDP_READS.enabled(batch))),
        })
    }

    /// The Run:ai base URL (`runai.url` without a trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The shared HTTP layer (its settings and governor).
    pub fn http(&self) -> &Http {
        &self.http
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/idps{}", self.base, path)
    }

    fn request<'a>(&'a self, method: Method, url: &'a str, body: Option<&impl Serialize>) -> Result<Request<'a>, ApiError> {
        let mut req = Request::new(method, url).auth(Auth::Bearer(&self.token));
        if let Some(b) = body {
            let bytes = serde_json::to_vec(b).map_err(|e| ApiError::Decode { vendor: VENDOR, reason: e.to_string() })?;
            req = req.body(bytes, "application/json");
        }
        Ok(req)
    }

    async fn call(&self, method: Method, path: &str, body: Option<&impl Serialize>) -> Result<Reply, ApiError> {
        let url = self.url(path);
        self.http.send(&self.request(method, &url, body)?).await
    }

    pub async fn list_idps(&self) -> Result<Vec<Idp>, ApiError> {
        self.http.decode(&self.call(Method::GET, "", None::<&()>).await?)
    }

    /// The idp with this alias, or None when it does not exist.
    pub async fn get_idp(&self, alias: &str) -> Result<Option<Idp>, ApiError> {
        match self.call(Method::GET, &format!("/{}", path_segment(alias)), None::<&()>).await {
            Ok(r) => Ok(Some(self.http.decode(&r)?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads an idp like [`RunaiClient::get_idp`], coalescing concurrent reads into one
    /// `GET /api/v1/idps` (Run:ai lists every idp in one answer; see [`crate::http::coalesce`]).
    /// An alias missing from the list, or a failed list, falls back to a single GET, so a
    /// deleted idp reads as gone only on a definite 404.
    pub async fn get_idp_coalesced(&self, alias: &str) -> Result<Option<Idp>, ApiError> {
        if alias.is_empty() {
            return self.get_idp(alias).await;
        }
        self.idp_reads.read(alias.to_string(), |_| self.idps_by_alias(), || self.get_idp(alias)).await
    }

    /// How idp reads have been batched so far.
    pub fn idp_read_stats(&self) -> CoalesceStats {
        self.idp_reads.stats()
    }

    async fn idps_by_alias(&self) -> Result<HashMap<String, Idp>, ApiError> {
        Ok(self.list_idps().await?.into_iter().map(|i| (i.alias.clone(), i)).collect())
    }

    /// Creates an idp; returns the alias the server gave it.
    ///
    /// Run:ai derives the alias from the name (or, without one, from the type) and answers
    /// 409 for an alias that exists, so the alias is the natural key: when an attempt's
    /// answer is lost (see [`Http::create`]), the idp under the expected alias is adopted
    /// if it matches the request ([`matches_request`]).
    pub async fn create_idp(&self, req: &IdpRequest) -> Result<String, ApiError> {
        let url = self.url("");
        let request = self.request(Method::POST, &url, Some(req))?;
        // A name Run:ai refuses is sent all the same, for Run:ai's own words; such a create
        // cannot have happened, so there is nothing to adopt.
        let expected = expected_alias(req).ok();
        let lookup = || async {
            let Some(alias) = &expected else { return Ok(None) };
            match self.get_idp(alias).await? {
                Some(idp) if matches_request(&idp, req) => Ok(Some(idp.alias)),
                _ => Ok(None),
            }
        };
        let what = match &expected {
            Some(alias) => format!("identity provider \"{alias}\""),
            None => "identity provider".to_string(),
        };
        let alias = match self.http.create(&request, &what, lookup).await? {
            Created::New(reply) => self.http.decode::<PostResponse>(&reply)?.alias,
            Created::Adopted(alias) => alias,
        };
        // The alias addresses the idp in every later URL.
        if !is_addressable_id(&alias) {
            return Err(ApiError::Decode {
                vendor: VENDOR,
                reason: format!(
                    "the server created the identity provider but answered the alias {alias:?}, which cannot address it in a URL"
                ),
            });
        }
        Ok(alias)
    }

    /// Replaces an idp (PUT is a full update: the body must carry the secret).
    pub async fn update_idp(&self, alias: &str, req: &IdpRequest) -> Result<(), ApiError> {
        self.call(Method::PUT, &format!("/{}", path_segment(alias)), Some(req)).await.map(drop)
    }

    /// Deletes an idp; Ok(false) when it was already gone.
    pub async fn delete_idp(&self, alias: &str) -> Result<bool, ApiError> {
        match self.call(Method::DELETE, &format!("/{}", path_segment(alias)), None::<&()>).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get_mappers(&self, alias: &str) -> Result<Option<Mappers>, ApiError> {
        match self.call(Method::GET, &format!("/{}/mappers", path_segment(alias)), None::<&()>).await {
            Ok(r) => Ok(Some(self.http.decode(&r)?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// PUT mappers; the server answers 202: the change may not be visible at once.
    pub async fn put_mappers(&self, alias: &str, m: &Mappers) -> Result<(), ApiError> {
        self.call(Method::PUT, &format!("/{}/mappers", path_segment(alias)), Some(m)).await.map(drop)
    }
}

/// The alias Run:ai gives an idp created with `req`: its name, else its type (the rule
/// of [`derive_alias`]); an error for a name Run:ai refuses.
pub fn expected_alias(req: &IdpRequest) -> Result<String, AliasError> {
    derive_alias(req.name.as_deref(), &req.kind)
}

/// Whether an existing idp is what `req` would have created (so that it can be adopted
/// after a lost answer): the same type, and the same identifying settings of that type.
/// Secrets are not compared (Run:ai masks them).
pub fn matches_request(idp: &Idp, req: &IdpRequest) -> bool {
    if !idp.kind.eq_ignore_ascii_case(&req.kind) {
        return false;
    }
    fn same(a: &Option<String>, b: &Option<String>) -> bool {
        b.is_none() || a == b
    }
    match (&req.oidc_data, &req.ocp_data, &req.saml_data) {
        (Some(want), _, _) => idp
            .oidc_data
            .as_ref()
            .is_some_and(|have| have.client_id == want.client_id && same(&have.discover_document_url, &want.discover_document_url)),
        (_, Some(want), _) => {
            idp.ocp_data.as_ref().is_some_and(|have| same(&have.client_id, &want.client_id) && same(&have.idp_base_url, &want.idp_base_url))
        }
        (_, _, Some(want)) => idp.saml_data.as_ref().is_some_and(|have| same(&have.entity_id, &want.entity_id)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use futures_util::future::join_all;

    use super::*;
    use crate::sandbox::faults::FaultSettings;
    use crate::sandbox::{self, RunningSandbox, SandboxConfig};

    /// A sandbox with `n` OIDC idps `idp0`..; a client without retries.
    async fn with_idps(n: usize) -> (RunningSandbox, RunaiClient, Vec<String>) {
        let s = sandbox::spawn(SandboxConfig { mapper_delay_ms: 0, ..SandboxConfig::default() }).await.expect("sandbox");
        let c = RunaiClient::new(&s.runai_url(), sandbox::DEFAULT_RUNAI_TOKEN, HttpSettings { max_retries: 0, ..Default::default() })
            .expect("client");
        let mut aliases = Vec::new();
        for i in 0..n {
            let req = IdpRequest {
                name: Some(format!("idp{i}")),
                kind: "oidc".into(),
                oidc_data: Some(OidcData {
                    client_id: format!("client{i}"),
                    client_secret: Some("secret".into()),
                    discover_document_url: Some("https://idp.example.com/.well-known/openid-configuration".into()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            aliases.push(c.create_idp(&req).await.expect("create"));
        }
        (s, c, aliases)
    }

    /// (lists, single GETs) logged since `from`.
    fn reads(s: &RunningSandbox, from: usize) -> (usize, usize) {
        let log = s.state.requests();
        let gets = log[from..].iter().filter(|r| r.method == "GET");
        let lists = gets.clone().filter(|r| r.path == "/runai/api/v1/idps").count();
        (lists, gets.filter(|r| r.path.starts_with("/runai/api/v1/idps/")).count())
    }

    #[tokio::test]
    async fn concurrent_idp_reads_share_one_list_and_a_deleted_idp_is_gone() {
        let (s, c, aliases) = with_idps(6).await;
        assert!(c.delete_idp("idp3").await.expect("delete"));
        let from = s.state.requests().len();
        let got = join_all(aliases.iter().map(|a| c.get_idp_coalesced(a))).await;
        for (a, g) in aliases.iter().zip(got) {
            let g = g.expect("read");
            if a == "idp3" {
                assert!(g.is_none(), "the deleted idp reads as gone");
            } else {
                let idp = g.expect("found");
                assert_eq!((idp.alias.as_str(), idp.oidc_data.map(|o| o.client_id)), (a.as_str(), Some(format!("client{}", &a[3..]))));
            }
        }
        assert_eq!(
            reads(&s, from),
            (2, 1),
            "one list, one GET to confirm the missing idp is gone, and (once per client) a list to tell a wrong base URL from a missing idp"
        );
        // The clones share the batching.
        let clone = c.clone();
        let from = s.state.requests().len();
        let got = join_all(["idp0", "idp1"].iter().map(|a| clone.get_idp_coalesced(a)).chain([c.get_idp_coalesced("idp2")])).await;
        assert!(got.into_iter().all(|g| g.expect("read").is_some()));
        assert_eq!(reads(&s, from), (1, 0));
        assert_eq!(c.idp_read_stats().batches, 2);
    }

    #[tokio::test]
    async fn a_failed_list_falls_back_to_single_reads() {
        let (s, c, aliases) = with_idps(4).await;
        let from = s.state.requests().len();
        s.state.faults().set(FaultSettings { rate: 1.0, count: Some(1), statuses: vec![500], ..Default::default() });
        let got = join_all(aliases.iter().map(|a| c.get_idp_coalesced(a))).await;
        assert!(got.into_iter().all(|g| g.expect("read").is_some()));
        assert_eq!(reads(&s, from), (1, 4), "the list failed; every idp was read on its own");
    }

    #[tokio::test]
    async fn a_lone_read_is_a_plain_get() {
        let (s, c, _) = with_idps(2).await;
        let from = s.state.requests().len();
        assert!(c.get_idp_coalesced("idp1").await.expect("read").is_some());
        assert!(c.get_idp_coalesced("nope").await.expect("read").is_none());
        assert_eq!(reads(&s, from), (1, 2), "two GETs, and after the first 404 the base URL check (a list)");
    }
}
