//! Run:ai external identity providers: `/api/v1/idps` and `/api/v1/idps/{alias}/mappers`
//! (OpenAPI 3.0.3, v2.22; see specs/runai-idps-openapi.md).

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::http::{self, ApiError, HttpSettings};

const VENDOR: &str = "Run:ai";

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

/// A configured Run:ai client.
#[derive(Clone, Debug)]
pub struct RunaiClient {
    base: String,
    token: String,
    http: reqwest::Client,
    settings: HttpSettings,
}

impl RunaiClient {
    /// `url` is the Run:ai base (e.g. `https://app.run.ai`); `/api/v1/idps` is appended.
    pub fn new(url: &str, token: &str, settings: HttpSettings) -> Result<Self, String> {
        let http = http::build_client(&settings, None, false)?;
        Ok(RunaiClient { base: url.trim_end_matches('/').to_string(), token: token.to_string(), http, settings })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/idps{}", self.base, path)
    }

    async fn call(&self, method: Method, path: &str, body: Option<&impl Serialize>) -> Result<reqwest::Response, ApiError> {
        let url = self.url(path);
        let body = body.map(serde_json::to_vec).transpose().map_err(|e| ApiError::Decode { vendor: VENDOR, reason: e.to_string() })?;
        let resp = http::send(VENDOR, &self.settings, method.clone(), &url, || {
            let mut rb = self.http.request(method.clone(), &url).bearer_auth(&self.token).header("Accept", "application/json");
            if let Some(b) = &body {
                rb = rb.header("Content-Type", "application/json").body(b.clone());
            }
            rb
        })
        .await?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let parsed: Option<ErrorBody> = serde_json::from_str(&text).ok();
        let message = parsed
            .as_ref()
            .and_then(|b| b.message.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
        Err(ApiError::Status { vendor: VENDOR, status: status.as_u16(), message, details: parsed.and_then(|b| b.details) })
    }

    async fn json<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, ApiError> {
        let bytes = resp.bytes().await.map_err(|e| ApiError::Decode { vendor: VENDOR, reason: e.to_string() })?;
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode { vendor: VENDOR, reason: e.to_string() })
    }

    pub async fn list_idps(&self) -> Result<Vec<Idp>, ApiError> {
        Self::json(self.call(Method::GET, "", None::<&()>).await?).await
    }

    /// The idp with this alias, or None when it does not exist.
    pub async fn get_idp(&self, alias: &str) -> Result<Option<Idp>, ApiError> {
        match self.call(Method::GET, &format!("/{}", enc(alias)), None::<&()>).await {
            Ok(r) => Ok(Some(Self::json(r).await?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates an idp; returns the alias the server gave it.
    pub async fn create_idp(&self, req: &IdpRequest) -> Result<String, ApiError> {
        let r: PostResponse = Self::json(self.call(Method::POST, "", Some(req)).await?).await?;
        Ok(r.alias)
    }

    /// Replaces an idp (PUT is a full update: the body must carry the secret).
    pub async fn update_idp(&self, alias: &str, req: &IdpRequest) -> Result<(), ApiError> {
        self.call(Method::PUT, &format!("/{}", enc(alias)), Some(req)).await.map(drop)
    }

    /// Deletes an idp; Ok(false) when it was already gone.
    pub async fn delete_idp(&self, alias: &str) -> Result<bool, ApiError> {
        match self.call(Method::DELETE, &format!("/{}", enc(alias)), None::<&()>).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get_mappers(&self, alias: &str) -> Result<Option<Mappers>, ApiError> {
        match self.call(Method::GET, &format!("/{}/mappers", enc(alias)), None::<&()>).await {
            Ok(r) => Ok(Some(Self::json(r).await?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// PUT mappers; the server answers 202: the change may not be visible at once.
    pub async fn put_mappers(&self, alias: &str, m: &Mappers) -> Result<(), ApiError> {
        self.call(Method::PUT, &format!("/{}/mappers", enc(alias)), Some(m)).await.map(drop)
    }
}

/// Percent-encodes a path segment.
fn enc(s: &str) -> String {
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
