//! `identity_idp`: a Run:ai external identity provider (`/api/v1/idps`).
//!
//! Run:ai derives the idp's alias from its name (or, without a name, from its type) and
//! never returns the name, so `name` is optional+computed and read back as the alias.
//! Secrets are masked on read, so the state keeps the configured secret (or none, with
//! the write-only form) and a masked read never causes a diff. Updates are full PUTs
//! that must carry the secret: it comes from the configuration, never from a read.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::clients::ApiError;
use crate::clients::runai::{IdpRequest, Idp, MandatoryClaim, OidcData, RunaiClient};
use crate::provider::ProviderData;
use crate::tfplugin::model::{from_value, to_value};
use crate::tfplugin::resource::{ImportState, ValidateConfig};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{ApplyRequest, AttrPath, Attribute, Diagnostic, Diagnostics, Resource, Schema, StateResult, Type, Value};

pub const TYPE_NAME: &str = "identity_idp";

/// The idp types this resource manages, and the attribute holding each one's settings.
const TYPES: &[(&str, &str)] = &[("oidc", "oidc")];

/// Optional http(s) scheme, a host with a dot and a 2+ letter TLD (or localhost / an
/// IPv4 address), optional port, optional path. The spec writes this rule with
/// JavaScript delimiters, which taken literally match nothing.
pub const URL_PATTERN: &str = r"^(https?://)?([a-zA-Z0-9.-]+\.[a-zA-Z]{2,}|localhost|\d{1,3}(\.\d{1,3}){3})(:[0-9]{1,5})?(/\S*)?$";
const URL_RULE: &str = "a URL: an optional http:// or https:// scheme, a host name with a dot and a top-level domain of two or more letters, an optional port and an optional path without spaces";
const SCOPE_PATTERN: &str = r"^([a-zA-Z0-9-._:]+)(\s[a-zA-Z0-9-._:]+)*$";

pub struct IdpResource;

#[derive(Debug, Default, Serialize, Deserialize)]
struct IdpModel {
    id: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    alias: Option<String>,
    redirect_uri: Option<String>,
    oidc: Option<OidcModel>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct OidcModel {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_wo: Option<String>,
    client_secret_wo_version: Option<i64>,
    discover_document_url: Option<String>,
    scopes: Option<Vec<String>>,
    mandatory_claim: Option<ClaimModel>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct ClaimModel {
    claim: Option<String>,
    values: Option<Vec<String>>,
}

fn oidc_schema() -> Attribute {
    Attribute::object(
        "oidc",
        vec![
            Attribute::string("client_id").required().describe("Client ID registered with the OpenID Connect provider.").validate(Validator::non_empty()),
            Attribute::string("client_secret")
                .optional()
                .sensitive()
                .describe("Client secret. Stored in state (marked sensitive); prefer `client_secret_wo`. Exactly one of `client_secret` and `client_secret_wo` is required.")
                .validate(Validator::non_empty())
                .validate(Validator::exactly_one_of(&["client_secret", "client_secret_wo"])),
            Attribute::string("client_secret_wo")
                .optional()
                .sensitive()
                .write_only()
                .describe("Client secret, write-only: sent to Run:ai but never stored in plan or state. Sent on create and with every update; bump `client_secret_wo_version` to send a new secret on its own.")
                .validate(Validator::non_empty()),
            Attribute::number("client_secret_wo_version")
                .optional()
                .describe("Any number; change it to send the current `client_secret_wo` to Run:ai (rotation).")
                .validate(Validator::IntBetween { min: 0, max: i64::MAX })
                .validate(Validator::also_requires(&["client_secret_wo"])),
            Attribute::string("discover_document_url")
                .required()
                .describe("URL of the provider's OpenID discovery document (`.../.well-known/openid-configuration`).")
                .validate(Validator::matches(URL_PATTERN, URL_RULE)),
            Attribute::list_of("scopes", Type::String)
                .optional()
                .describe("Scopes to request. Each entry is one or more space-separated tokens of letters, digits, `-`, `.`, `_` and `:`.")
                .validate(Validator::each(Validator::matches(
                    SCOPE_PATTERN,
                    "one or more scope names separated by single spaces, each made of letters, digits, '-', '.', '_' or ':'",
                ))),
            Attribute::object(
                "mandatory_claim",
                vec![
                    Attribute::string("claim")
                        .required()
                        .describe("Name of the claim a user's token must carry.")
                        .validate(Validator::matches(r"[a-zA-Z]", "a claim name containing at least one letter")),
                    Attribute::list_of("values", Type::String)
                        .required()
                        .describe("Accepted values of the claim; at least one, each without whitespace and containing a letter.")
                        .validate(Validator::Items { min: 1, max: None })
                        .validate(Validator::each(Validator::matches(r"^\S*[a-zA-Z]\S*$", "a value without whitespace that contains at least one letter"))),
                ],
            )
            .optional()
            .describe("Only users whose token carries this claim with one of these values may log in."),
        ],
    )
    .optional()
    .describe("OpenID Connect settings; required when `type` is `oidc`.")
}

fn api_err(summary: &str, e: &ApiError) -> Diagnostics {
    Diagnostic::error(summary, e.detail()).into()
}

fn client(data: &ProviderData) -> Result<&RunaiClient, Diagnostics> {
    data.runai()
}

impl IdpModel {
    fn oidc(&self) -> Option<&OidcModel> {
        self.oidc.as_ref()
    }
}

/// The secret to send with a create or update: from the configuration, in either form.
fn secret_from_config(config: &Value) -> Option<String> {
    let o = config.get("oidc");
    o.get("client_secret_wo").as_str().or_else(|| o.get("client_secret").as_str()).map(str::to_string)
}

fn request(m: &IdpModel, secret: Option<String>) -> IdpRequest {
    let kind = m.kind.clone().unwrap_or_default();
    let oidc_data = m.oidc().map(|o| OidcData {
        client_id: o.client_id.clone().unwrap_or_default(),
        client_secret: secret.clone(),
        discover_document_url: o.discover_document_url.clone(),
        scopes: o.scopes.clone(),
        mandatory_claim: o.mandatory_claim.as_ref().map(|c| MandatoryClaim {
            claim: c.claim.clone().unwrap_or_default(),
            values: c.values.clone().unwrap_or_default(),
        }),
    });
    IdpRequest { name: m.name.clone(), kind, oidc_data, ..Default::default() }
}

/// Builds the state from what the server holds, keeping from `base` (plan or prior
/// state) what the server cannot tell: the secret (masked on read) and its version.
fn state_from_api(idp: &Idp, base: &IdpModel) -> IdpModel {
    let oidc = idp.oidc_data.as_ref().map(|d| {
        let b = base.oidc.clone().unwrap_or_default();
        // An empty list and no list read the same from Run:ai: keep the configured form.
        let scopes = match (&d.scopes, &b.scopes) {
            (Some(s), _) if !s.is_empty() => Some(s.clone()),
            (_, Some(bs)) if bs.is_empty() => Some(Vec::new()),
            _ => None,
        };
        OidcModel {
            client_id: Some(d.client_id.clone()),
            client_secret: b.client_secret.clone(),
            client_secret_wo: None,
            client_secret_wo_version: b.client_secret_wo_version,
            discover_document_url: d.discover_document_url.clone().or(b.discover_document_url),
            scopes,
            mandatory_claim: d.mandatory_claim.as_ref().map(|c| ClaimModel { claim: Some(c.claim.clone()), values: Some(c.values.clone()) }),
        }
    });
    IdpModel {
        id: Some(idp.alias.clone()),
        name: Some(idp.alias.clone()),
        kind: Some(idp.kind.clone()),
        alias: Some(idp.alias.clone()),
        redirect_uri: Some(idp.redirect_uri.clone().unwrap_or_default()),
        oidc,
    }
}

impl IdpResource {
    /// The cty type of this resource's values.
    pub fn schema_type(&self) -> Type {
        Self::ty()
    }

    fn ty() -> Type {
        Self::schema_static().value_type()
    }

    fn schema_static() -> Schema {
        Schema::new(
            "An external identity provider of Run:ai (OpenID Connect), through which users log in to Run:ai.",
            vec![
                Attribute::string("id").computed().use_state_for_unknown().describe("The idp's alias (same as `alias`)."),
                Attribute::string("name")
                    .optional()
                    .computed()
                    .requires_replace()
                    .describe("Name of the idp; Run:ai derives the alias from it. Lower-case letters, digits, `-` and `_`. Defaults to the type (e.g. `oidc`).")
                    .validate(Validator::matches(r"^[a-z0-9_-]+$", "lower-case letters, digits, '-' and '_' only (it becomes the alias)")),
                Attribute::string("type")
                    .required()
                    .requires_replace()
                    .describe("The protocol: `oidc`.")
                    .validate(Validator::OneOf(TYPES.iter().map(|(t, _)| t.to_string()).collect())),
                Attribute::string("alias").computed().use_state_for_unknown().describe("The alias Run:ai gave the idp; the import ID."),
                Attribute::string("redirect_uri")
                    .computed()
                    .use_state_for_unknown()
                    .describe("The redirect (callback) URI to register with the external identity provider."),
                oidc_schema(),
            ],
        )
    }

    async fn read_back(&self, c: &RunaiClient, alias: &str, base: &IdpModel, op: &str) -> Result<Value, Diagnostics> {
        let idp = c
            .get_idp(alias)
            .await
            .map_err(|e| api_err(&format!("Unable to read identity provider after {op}"), &e))?
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    format!("Identity provider vanished after {op}"),
                    format!("Run:ai accepted the {op} of \"{alias}\" but does not return it."),
                ))
            })?;
        to_value(&state_from_api(&idp, base), &Self::ty())
    }
}

#[async_trait]
impl Resource<ProviderData> for IdpResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Self::schema_static()
    }

    async fn create(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let c = client(data)?;
        let planned: IdpModel = from_value(&req.planned)?;
        let secret = secret_from_config(&req.config);
        let body = request(&planned, secret);
        let alias = match c.create_idp(&body).await {
            Ok(a) => a,
            Err(e) if e.is_conflict() => {
                let alias = planned.name.clone().or(planned.kind.clone()).unwrap_or_default();
                return Err(Diagnostic::error(
                    "Identity provider already exists",
                    format!(
                        "{}\nRun:ai already has an identity provider with alias \"{alias}\". To manage it with Terraform, import it:\n  terraform import {TYPE_NAME}.<name> {alias}\nor add an import block: import {{ to = {TYPE_NAME}.<name>  id = \"{alias}\" }}",
                        e.detail()
                    ),
                )
                .into());
            }
            Err(e) => return Err(api_err("Unable to create identity provider", &e)),
        };
        Ok(StateResult::state(self.read_back(c, &alias, &planned, "create").await?))
    }

    async fn read(&self, data: &ProviderData, state: &Value, _private: &[u8]) -> Result<StateResult, Diagnostics> {
        let c = client(data)?;
        let prior: IdpModel = from_value(state)?;
        let alias = prior.alias.clone().or(prior.id.clone()).unwrap_or_default();
        match c.get_idp(&alias).await {
            Ok(Some(idp)) => Ok(StateResult::state(to_value(&state_from_api(&idp, &prior), &Self::ty())?)),
            Ok(None) => Ok(StateResult::gone()),
            Err(e) => Err(api_err("Unable to read identity provider", &e)),
        }
    }

    async fn update(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let c = client(data)?;
        let planned: IdpModel = from_value(&req.planned)?;
        let prior: IdpModel = from_value(&req.prior)?;
        let alias = prior.alias.clone().unwrap_or_default();
        // PUT replaces the whole idp: never send it without the secret (an empty or
        // masked secret would lock users out).
        let Some(secret) = secret_from_config(&req.config) else {
            return Err(Diagnostic::error(
                "No client secret to send",
                "Run:ai updates replace the whole identity provider and need its client secret, which Run:ai never returns. \
                 Set `oidc.client_secret_wo` (or `oidc.client_secret`) in the configuration.",
            )
            .at(AttrPath::attrs(&["oidc", "client_secret_wo"]))
            .into());
        };
        let mut body = request(&planned, Some(secret));
        body.name = Some(alias.clone());
        c.update_idp(&alias, &body).await.map_err(|e| api_err("Unable to update identity provider", &e))?;
        Ok(StateResult::state(self.read_back(c, &alias, &planned, "update").await?))
    }

    async fn delete(&self, data: &ProviderData, state: &Value, _private: &[u8]) -> Result<(), Diagnostics> {
        let c = client(data)?;
        let alias = state.get("alias").as_str().or(state.get("id").as_str()).unwrap_or_default().to_string();
        c.delete_idp(&alias).await.map(drop).map_err(|e| api_err("Unable to delete identity provider", &e))
    }

    fn as_import(&self) -> Option<&dyn ImportState<ProviderData>> {
        Some(self)
    }

    fn as_validate_config(&self) -> Option<&dyn ValidateConfig> {
        Some(self)
    }
}

#[async_trait]
impl ImportState<ProviderData> for IdpResource {
    async fn import(&self, _data: Option<&ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let id = id.trim();
        if id.is_empty() {
            return Err(Diagnostic::error("Invalid import ID", "Import an identity provider by its Run:ai alias, e.g. `terraform import identity_idp.corp corp-oidc`.").into());
        }
        let m = IdpModel { id: Some(id.to_string()), alias: Some(id.to_string()), ..Default::default() };
        to_value(&m, &Self::ty())
    }
}

impl ValidateConfig for IdpResource {
    fn validate_config(&self, config: &Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        let Some(kind) = config.get("type").as_str() else { return d };
        for (t, attr) in TYPES {
            let v = config.get(attr);
            if *t == kind && v.is_null() {
                d.error_at(
                    AttrPath::attrs(&[attr]),
                    "Missing settings for the idp type",
                    format!("An identity provider of type \"{kind}\" needs the \"{attr}\" attribute."),
                );
            } else if *t != kind && !v.is_null() {
                d.error_at(
                    AttrPath::attrs(&[attr]),
                    "Settings do not match the idp type",
                    format!("\"{attr}\" holds settings for type \"{t}\", but type is \"{kind}\"."),
                );
            }
        }
        d
    }
}
