//! `identity_idp`: a Run:ai external identity provider (`/api/v1/idps`): OpenID Connect,
//! SAML 2.0 or OpenShift v4.
//!
//! Run:ai derives the idp's alias from its name (or, without a name, from its type) and
//! never returns the name, so `name` is optional+computed and read back as the alias.
//! Secrets are masked on read and SAML metadata inputs are not returned at all, so the
//! state keeps what the configuration said for them and a read never causes a diff.
//! Updates are full PUTs that must carry the secret (or the metadata): it comes from the
//! configuration, never from a read, and an update without one fails instead of
//! blanking it.
//!
//! Import marks the private state ([`IMPORTED`]); the next successful apply clears it.
//! While it is set, a plan for an in-place update (which always carries the configured
//! `client_secret_wo`, typically because `client_secret_wo_version` differs from the
//! imported state's null) warns that Run:ai's current client secret will be replaced.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::tfplugin::timeouts::{self, TimedOut, Timeouts};
use crate::vendors::failure::already_exists;

/// Every operation has a timeout; an idp is named by its alias (its name, before it has
/// one; Run:ai derives the alias from the name, or from the type when there is none).
const TIMEOUTS: Timeouts = Timeouts::all("the identity provider", |v| {
    let name = ["alias", "id", "name", "type"].iter().find_map(|a| v.get(a).as_str()).unwrap_or_default();
    format!("the identity provider \"{name}\"")
});
use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, from_value, to_value};
use crate::tfplugin::plan_modifier::PlanModifier;
use crate::tfplugin::resource::{ImportState, ModifyPlan, ModifyPlanRequest, ValidateConfig};
use crate::tfplugin::schema::IdentitySchema;
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{ApplyRequest, AttrPath, Attribute, Diagnostic, Diagnostics, Resource, Schema, StateResult, Type, Value};
use crate::vendors::runai::client::{Idp, IdpRequest, MandatoryClaim, Mappers, OcpData, OidcData, RunaiClient, SamlCreationData};
use crate::vendors::runai::url_rule;

pub const TYPE_NAME: &str = "identity_idp";

/// Each idp type and the attribute holding its settings.
pub const TYPES: &[(&str, &str)] = &[("oidc", "oidc"), ("saml", "saml"), ("openshift-v4", "ocp")];

/// Run:ai's URL rule ([`url_rule::PATTERN`]) in words, as error messages say it.
const URL_SHAPE: &str = "a URL by Run:ai's rule: an optional http:// or https:// scheme, a host name with a dot and a top-level domain of two or more letters (not an IP address, not `localhost`), an optional port and an optional path without spaces";
/// The sandbox allowance of [`url_rule`], in words.
const URL_SANDBOX_ALLOWANCE: &str = "against identity-sandbox only, that is when `runai.url` is itself a loopback address, a loopback host (`localhost`, `127.x.x.x`, `[::1]`) is accepted too (checked when the plan is made)";
/// The URL attributes Run:ai checks by its rule: (settings attribute, URL attribute).
const URL_ATTRIBUTES: &[(&str, &str)] = &[("oidc", "discover_document_url"), ("saml", "metadata_xml_url"), ("ocp", "idp_base_url")];
const SCOPE_PATTERN: &str = r"^([a-zA-Z0-9-._:]+)(\s[a-zA-Z0-9-._:]+)*$";
const SCOPE_RULE: &str = "one or more scope names separated by single spaces, each made of letters, digits, '-', '.', '_' or ':'";
/// The alias pattern of the read model; the name becomes the alias.
pub const ALIAS_PATTERN: &str = r"^[a-z0-9_-]+$";
const DEFAULT_FILE_NAME: &str = "metadata.xml";

/// Private state of an imported idp, until the next successful apply.
const IMPORTED: &[u8] = br#"{"imported":true}"#;
/// Private state once an apply succeeded (empty would keep the prior one).
const APPLIED: &[u8] = b"{}";

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
    saml: Option<SamlModel>,
    ocp: Option<OcpModel>,
    mappers: Option<MappersModel>,
}

impl crate::tfplugin::model::Model for IdpModel {
    fn schema() -> Schema {
        IdpResource::schema_static()
    }
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

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct SamlModel {
    metadata_xml_url: Option<String>,
    metadata_xml_file: Option<String>,
    file_name: Option<String>,
    entity_id: Option<String>,
    signing_certificate: Option<String>,
    single_sign_on_service_url: Option<String>,
    service_provider_metadata_url: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct OcpModel {
    idp_base_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_wo: Option<String>,
    client_secret_wo_version: Option<i64>,
    scopes: Option<Vec<String>>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MappersModel {
    pub gid: Option<String>,
    pub uid: Option<String>,
    pub groups: Option<String>,
    pub supplementary_groups: Option<String>,
    pub email: Option<String>,
}

impl MappersModel {
    pub(crate) fn from_api(m: &Mappers) -> Self {
        MappersModel {
            gid: m.gid.clone(),
            uid: m.uid.clone(),
            groups: m.groups.clone(),
            supplementary_groups: m.supplementary_groups.clone(),
            email: m.email.clone(),
        }
    }
    pub(crate) fn to_api(&self) -> Mappers {
        Mappers {
            gid: self.gid.clone(),
            uid: self.uid.clone(),
            groups: self.groups.clone(),
            supplementary_groups: self.supplementary_groups.clone(),
            email: self.email.clone(),
        }
    }
}

/// The five mapper attributes, for `identity_idp.mappers`, `identity_idp_mappers` and
/// the data sources. `flags` turns each into optional+computed, or computed only.
pub(crate) fn mapper_attributes(flags: fn(Attribute) -> Attribute) -> Vec<Attribute> {
    [
        ("gid", "Claim that holds the user's Linux group id (GID)."),
        ("uid", "Claim that holds the user's Linux user id (UID)."),
        ("groups", "Claim that holds the user's groups."),
        ("supplementary_groups", "Claim that holds the user's supplementary Linux groups."),
        ("email", "Claim that holds the user's email address."),
    ]
    .into_iter()
    .map(|(n, d)| flags(Attribute::string(n).describe(d)))
    .collect()
}

/// Run:ai's URL rule at validation time. A loopback URL (the sandbox allowance) passes
/// here, where the provider's configuration is not known, and is decided when the plan is
/// made ([`loopback_url_errors`]). The empty string, which the rule allows, is refused: it
/// is no URL, and these attributes are required or have an alternative.
fn url_validator() -> Validator {
    Validator::custom(&format!("{URL_SHAPE}; {URL_SANDBOX_ALLOWANCE}"), |v| match v.as_str() {
        Some("") => Err("must not be empty".to_string()),
        Some(s) if url_rule::vendor_accepts(s) || url_rule::loopback_host(s).is_some() => Ok(()),
        Some(s) => Err(format!("{s:?} is not valid: must be {URL_SHAPE}")),
        None => Ok(()),
    })
}

/// The sandbox allowance, decided with the configured provider: a loopback URL is refused
/// unless the Run:ai endpoint (`runai.url`) is itself a loopback address. Without an
/// `endpoint` nothing is decided: the provider is not configured yet (its configuration is
/// unknown, and Terraform plans again with it before applying), or Run:ai is not
/// configured (and the apply fails, saying so).
fn loopback_url_errors(endpoint: Option<&str>, config: &Value, diags: &mut Diagnostics) {
    let Some(endpoint) = endpoint else { return };
    if url_rule::is_loopback_endpoint(endpoint) {
        return;
    }
    for (attr, field) in URL_ATTRIBUTES {
        let Some(url) = config.get(attr).get(field).as_str() else { continue };
        if let Some(host) = url_rule::loopback_host(url) {
            diags.error_at(
                AttrPath::attrs(&[attr, field]),
                "URL refused by Run:ai's rule",
                format!(
                    "\"{attr}.{field}\" is {url:?}, whose host {host} is a loopback address; it must be {URL_SHAPE}. Loopback hosts are \
                     allowed only against identity-sandbox, when `runai.url` is itself a loopback address; it is {}.",
                    crate::provider::settings::shown_url(endpoint)
                ),
            );
        }
    }
}

fn scopes_attribute(what: &str) -> Attribute {
    Attribute::list_of("scopes", Type::String)
        .optional()
        .describe(format!(
            "Scopes to request from {what}. Each entry is one or more space-separated tokens of letters, digits, `-`, `.`, `_` and `:`."
        ))
        .validate(Validator::each(Validator::matches(SCOPE_PATTERN, SCOPE_RULE)))
}

/// `client_secret`, `client_secret_wo` and `client_secret_wo_version`.
fn secret_attributes() -> Vec<Attribute> {
    vec![
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
            .describe("Client secret, write-only: sent to Run:ai but never stored in plan or state. Sent on create and with every update (Run:ai updates replace the whole idp); bump `client_secret_wo_version` to send a new secret on its own.")
            .validate(Validator::non_empty()),
        Attribute::number("client_secret_wo_version")
            .optional()
            .describe("Any whole number; change it to send the current `client_secret_wo` to Run:ai (rotation).")
            .validate(Validator::IntBetween { min: 0, max: i64::MAX })
            .validate(Validator::also_requires(&["client_secret_wo"])),
    ]
}

fn oidc_schema() -> Attribute {
    let mut attrs = vec![
        Attribute::string("client_id")
            .required()
            .describe("Client ID registered with the OpenID Connect provider.")
            .validate(Validator::non_empty()),
        Attribute::string("discover_document_url")
            .required()
            .describe("URL of the provider's OpenID discovery document (`.../.well-known/openid-configuration`).")
            .validate(url_validator()),
        scopes_attribute("the OpenID Connect provider"),
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
                    .validate(Validator::each(Validator::matches(
                        r"^\S*[a-zA-Z]\S*$",
                        "a value without whitespace that contains at least one letter",
                    ))),
            ],
        )
        .optional()
        .describe("Only users whose token carries this claim with one of these values may log in."),
    ];
    attrs.extend(secret_attributes());
    Attribute::object("oidc", attrs).optional().describe("OpenID Connect settings; exactly when `type` is `oidc`.")
}

const SAML_INPUTS: &[&str] = &["metadata_xml_url", "metadata_xml_file"];

fn saml_schema() -> Attribute {
    Attribute::object(
        "saml",
        vec![
            Attribute::string("metadata_xml_url")
                .optional()
                .describe("URL of the IdP's SAML metadata document; Run:ai fetches it. Exactly one of `metadata_xml_url` and `metadata_xml_file` is required. Run:ai does not return it, so it is kept from the configuration.")
                .validate(url_validator())
                .validate(Validator::exactly_one_of(SAML_INPUTS)),
            Attribute::string("metadata_xml_file")
                .optional()
                .describe("The IdP's SAML metadata document itself, e.g. `file(\"idp-metadata.xml\")`. Run:ai does not return it, so it is kept from the configuration.")
                .validate(Validator::non_empty()),
            Attribute::string("file_name")
                .optional()
                .describe(format!("File name sent with `metadata_xml_file`. Defaults to `{DEFAULT_FILE_NAME}`."))
                .validate(Validator::also_requires(&["metadata_xml_file"])),
            Attribute::string("entity_id")
                .optional()
                .computed()
                .describe("SAML entity ID. When not set, Run:ai takes it from the metadata.")
                .modifier(PlanModifier::UseStateUnlessChanged(SAML_INPUTS)),
            Attribute::string("signing_certificate")
                .computed()
                .describe("The IdP's signing certificate (base64 DER), read from the metadata by Run:ai.")
                .modifier(PlanModifier::UseStateUnlessChanged(SAML_INPUTS)),
            Attribute::string("single_sign_on_service_url")
                .computed()
                .describe("The IdP's single sign-on service URL, read from the metadata by Run:ai.")
                .modifier(PlanModifier::UseStateUnlessChanged(SAML_INPUTS)),
            Attribute::string("service_provider_metadata_url")
                .computed()
                .use_state_for_unknown()
                .describe("URL of Run:ai's service provider (SP) metadata, to register with the IdP."),
        ],
    )
    .optional()
    .describe("SAML 2.0 settings; exactly when `type` is `saml`. The metadata type (`url` or `file`) is derived from which input is set.")
}

fn ocp_schema() -> Attribute {
    let mut attrs = vec![
        Attribute::string("idp_base_url")
            .required()
            .describe("Base URL of the OpenShift cluster's OAuth server (the API server URL).")
            .validate(url_validator()),
        Attribute::string("client_id").optional().describe("OAuth client ID registered in OpenShift.").validate(Validator::non_empty()),
        scopes_attribute("OpenShift"),
    ];
    attrs.extend(secret_attributes());
    Attribute::object("ocp", attrs).optional().describe("OpenShift v4 settings; exactly when `type` is `openshift-v4`.")
}

/// The secret to send with a create or update, from the configuration in either form.
fn secret_from_config(config: &Value, attr: &str) -> Option<String> {
    let o = config.get(attr);
    o.get("client_secret_wo").as_str().or_else(|| o.get("client_secret").as_str()).map(str::to_string)
}

fn request(m: &IdpModel, config: &Value) -> IdpRequest {
    let oidc_data = m.oidc.as_ref().map(|o| OidcData {
        client_id: o.client_id.clone().unwrap_or_default(),
        client_secret: secret_from_config(config, "oidc"),
        discover_document_url: o.discover_document_url.clone(),
        scopes: o.scopes.clone(),
        mandatory_claim: o
            .mandatory_claim
            .as_ref()
            .map(|c| MandatoryClaim { claim: c.claim.clone().unwrap_or_default(), values: c.values.clone().unwrap_or_default() }),
    });
    let saml_data = m.saml.as_ref().map(|s| {
        let from_file = s.metadata_xml_file.is_some();
        SamlCreationData {
            metadata_xml_url: s.metadata_xml_url.clone(),
            metadata_xml_file: s.metadata_xml_file.clone(),
            file_name: from_file.then(|| s.file_name.clone().unwrap_or_else(|| DEFAULT_FILE_NAME.to_string())),
            metadata_xml_type: Some(if from_file { "file" } else { "url" }.to_string()),
            // Only what the configuration says: an entity id planned from the prior
            // state may be one the server derived from the old metadata.
            entity_id: config.get("saml").get("entity_id").as_str().map(str::to_string),
        }
    });
    let ocp_data = m.ocp.as_ref().map(|o| OcpData {
        idp_base_url: o.idp_base_url.clone(),
        client_id: o.client_id.clone(),
        client_secret: secret_from_config(config, "ocp"),
        scopes: o.scopes.clone(),
    });
    // Mappers are sent only when configured; otherwise the server keeps its own.
    let mappers = if config.get("mappers").is_null() { None } else { m.mappers.as_ref().map(MappersModel::to_api) };
    IdpRequest { name: m.name.clone(), kind: m.kind.clone().unwrap_or_default(), oidc_data, saml_data, ocp_data, mappers }
}

/// A list the server returns empty or not at all reads back in the configured form.
fn scopes_from_api(api: &Option<Vec<String>>, base: &Option<Vec<String>>) -> Option<Vec<String>> {
    match (api, base) {
        (Some(s), _) if !s.is_empty() => Some(s.clone()),
        (_, Some(b)) if b.is_empty() => Some(Vec::new()),
        _ => None,
    }
}

/// Builds the state from what the server holds, keeping from `base` (plan or prior
/// state) what the server cannot tell: secrets (masked on read), their versions, and
/// the SAML metadata inputs (not returned).
fn state_from_api(idp: &Idp, base: &IdpModel) -> IdpModel {
    let oidc = idp.oidc_data.as_ref().map(|d| {
        let b = base.oidc.clone().unwrap_or_default();
        OidcModel {
            client_id: Some(d.client_id.clone()),
            client_secret: b.client_secret,
            client_secret_wo: None,
            client_secret_wo_version: b.client_secret_wo_version,
            discover_document_url: d.discover_document_url.clone().or(b.discover_document_url),
            scopes: scopes_from_api(&d.scopes, &b.scopes),
            mandatory_claim: d
                .mandatory_claim
                .as_ref()
                .map(|c| ClaimModel { claim: Some(c.claim.clone()), values: Some(c.values.clone()) }),
        }
    });
    let saml = idp.saml_data.as_ref().map(|d| {
        let b = base.saml.clone().unwrap_or_default();
        SamlModel {
            metadata_xml_url: b.metadata_xml_url,
            metadata_xml_file: b.metadata_xml_file,
            file_name: b.file_name,
            entity_id: d.entity_id.clone().or(b.entity_id),
            signing_certificate: Some(d.signing_certificate.clone().unwrap_or_default()),
            single_sign_on_service_url: Some(d.single_sign_on_service_url.clone().unwrap_or_default()),
            service_provider_metadata_url: Some(d.service_provider_metadata_url.clone().unwrap_or_default()),
        }
    });
    let ocp = idp.ocp_data.as_ref().map(|d| {
        let b = base.ocp.clone().unwrap_or_default();
        OcpModel {
            idp_base_url: d.idp_base_url.clone().or(b.idp_base_url),
            client_id: d.client_id.clone().filter(|c| !c.is_empty()).or(b.client_id.filter(|_| d.client_id.is_none())),
            client_secret: b.client_secret,
            client_secret_wo: None,
            client_secret_wo_version: b.client_secret_wo_version,
            scopes: scopes_from_api(&d.scopes, &b.scopes),
        }
    });
    IdpModel {
        id: Some(idp.alias.clone()),
        name: Some(idp.alias.clone()),
        kind: Some(idp.kind.clone()),
        alias: Some(idp.alias.clone()),
        redirect_uri: Some(idp.redirect_uri.clone().unwrap_or_default()),
        oidc,
        saml,
        ocp,
        mappers: Some(idp.mappers.as_ref().map(MappersModel::from_api).unwrap_or_default()),
    }
}

impl IdpResource {
    fn schema_static() -> Schema {
        Schema::new(
            "An external identity provider of Run:ai, through which users log in to Run:ai: OpenID Connect (`oidc`), \
             SAML 2.0 (`saml`) or OpenShift v4 (`openshift-v4`). Set exactly the settings attribute that matches `type`.\n\n\
             Concurrent changes: Run:ai's API offers no preconditions, and an update sends the whole configuration (PUT), \
             so it replaces whatever the idp holds on the server by then (the last writer wins). A refresh before the apply \
             (a plan without `-refresh=false`) shows a change made elsewhere as drift first.",
            vec![
                Attribute::string("id").computed().use_state_for_unknown().describe("The idp's alias (same as `alias`)."),
                Attribute::string("name")
                    .optional()
                    .computed()
                    .requires_replace()
                    .describe("Name of the idp; Run:ai derives the alias from it. Defaults to the type (e.g. `oidc`).")
                    .validate(Validator::matches(ALIAS_PATTERN, "lower-case letters, digits, '-' and '_' only (it becomes the alias)")),
                Attribute::string("type")
                    .required()
                    .requires_replace()
                    .describe("The protocol: `oidc`, `saml` or `openshift-v4`.")
                    .validate(Validator::OneOf(TYPES.iter().map(|(t, _)| t.to_string()).collect())),
                Attribute::string("alias").computed().use_state_for_unknown().describe("The alias Run:ai gave the idp; the import ID."),
                Attribute::string("redirect_uri")
                    .computed()
                    .use_state_for_unknown()
                    .describe("The redirect (callback) URI to register with the external identity provider."),
                oidc_schema(),
                saml_schema(),
                ocp_schema(),
                Attribute::object("mappers", mapper_attributes(|a| a.optional().computed().use_state_for_unknown()))
                    .optional()
                    .computed()
                    .use_state_for_unknown()
                    .describe("Which claims of the external idp fill Run:ai's user attributes. Unset fields keep Run:ai's defaults. Manage mappers either here or with `identity_idp_mappers`, not both. Left out, the idp never sends them and the plan keeps what Run:ai holds, so configuration that Terraform generates (`terraform query` or `plan` with `-generate-config-out`) never sets `mappers`: import `identity_idp_mappers` by the idp's alias to manage them, or copy them here from the imported state."),
                TIMEOUTS.attribute(),
            ],
        )
    }

    async fn read_back(&self, c: &RunaiClient, alias: &str, base: &IdpModel, op: &str) -> Result<Value, Diagnostics> {
        let idp = c
            .get_idp(alias)
            .await
            .map_err(|e| crate::vendors::failure::api_diag(&format!("Unable to read identity provider after {op}"), &e))?
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    format!("Identity provider vanished after {op}"),
                    format!("Run:ai accepted the {op} of \"{alias}\" but does not return it."),
                ))
            })?;
        to_value(&state_from_api(&idp, base), IdpModel::ty())
    }
}

#[async_trait]
impl Resource<ProviderData> for IdpResource {
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::required(&[("alias", Type::String, "The Run:ai alias of the identity provider.")]))
    }

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Self::schema_static()
    }

    async fn create(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let c = data.runai()?;
        let planned: IdpModel = req.planned_model()?;
        let body = request(&planned, &req.config);
        let expected = req.config.get("name").as_str().or(planned.kind.as_deref()).unwrap_or_default().to_string();
        let alias = match req.run(c.create_idp(&body)).await {
            Ok(Ok(a)) => a,
            Ok(Err(e)) if e.is_conflict() => return Err(already_exists(&e, TYPE_NAME, &expected, "Identity provider")),
            Ok(Err(e)) => return Err(crate::vendors::failure::api_diag("Unable to create identity provider", &e)),
            Err(TimedOut) => return Err(req.exceeded(&timeouts::create_unanswered("the identity provider")).into()),
        };
        match req.run(self.read_back(c, &alias, &planned, "create")).await {
            Ok(state) => Ok(StateResult::state(state?).with_private(APPLIED.to_vec())),
            // Created, but not read back: record what is known (the rest null until the
            // next refresh), with the error, so that it is not orphaned.
            Err(TimedOut) => {
                let mut partial = timeouts::unknowns_as_null(&req.planned);
                for k in ["id", "alias", "name"] {
                    partial.set(k, Value::string(alias.as_str()));
                }
                let why = timeouts::created_tainted(
                    "The identity provider",
                    &format!("alias \"{alias}\""),
                    TYPE_NAME,
                    "reading it back did not finish in time",
                );
                Ok(StateResult { state: partial, private: Vec::new(), diags: req.exceeded(&why).into() })
            }
        }
    }

    async fn read(&self, data: &ProviderData, state: &Value, private: &[u8]) -> Result<StateResult, Diagnostics> {
        self.read_now(data, state, private).await
    }

    async fn update(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let mut res = self.update_now(data, req).await?;
        res.private = APPLIED.to_vec();
        Ok(res)
    }

    async fn delete(&self, data: &ProviderData, state: &Value, _private: &[u8]) -> Result<(), Diagnostics> {
        let c = data.runai()?;
        let alias = state.get("alias").as_str().or(state.get("id").as_str()).unwrap_or_default().to_string();
        c.delete_idp(&alias).await.map(drop).map_err(|e| crate::vendors::failure::api_diag("Unable to delete identity provider", &e))
    }

    fn timeouts(&self) -> Option<Timeouts> {
        Some(TIMEOUTS)
    }

    fn as_import(&self) -> Option<&dyn ImportState<ProviderData>> {
        Some(self)
    }

    fn as_validate_config(&self) -> Option<&dyn ValidateConfig> {
        Some(self)
    }

    fn as_modify_plan(&self) -> Option<&dyn ModifyPlan<ProviderData>> {
        Some(self)
    }

    /// Generated configuration never sets `mappers`: left out, the plan keeps the
    /// server's mappers and an update never sends them, so `identity_idp_mappers` can
    /// be imported to manage them without two resources owning the same values.
    fn generate_config(&self, _state: &Value, config: &mut Value) {
        config.set("mappers", Value::Null);
    }
}

/// The plan warning of the first plans after an import: an in-place update sends the
/// configured `client_secret_wo` (Run:ai updates replace the whole idp), replacing the
/// secret Run:ai holds now, which Terraform cannot read to compare.
fn secret_after_import_warning(req: &ModifyPlanRequest<'_>) -> Option<Diagnostic> {
    let (prior, planned) = (req.prior, &req.planned);
    if prior.is_null() || req.prior_private != IMPORTED || !req.requires_replace.is_empty() {
        return None;
    }
    if timeouts::only_timeouts_changed(prior, planned) {
        return None;
    }
    let attr = TYPES.iter().map(|(_, a)| *a).find(|a| !req.config.get(a).get("client_secret_wo").is_null())?;
    let (was, now) = (prior.get(attr).get("client_secret_wo_version"), planned.get(attr).get("client_secret_wo_version"));
    let (field, why) = if !now.is_null() && was != now {
        let version = now.as_i64().map(|v| format!(" ({v})")).unwrap_or_default();
        (
            "client_secret_wo_version",
            format!(
                "an imported identity provider has no recorded `client_secret_wo_version`, so the configured `{attr}.client_secret_wo_version`{version} makes the next apply update it"
            ),
        )
    } else {
        ("client_secret_wo", "the next apply updates it".to_string())
    };
    Some(
        Diagnostic::warning(
            "Imported identity provider: this apply sends the client secret",
            format!(
                "identity_idp was imported, and {why}. Every Run:ai update replaces the whole identity provider and carries `{attr}.client_secret_wo`, \
                 which replaces the client secret Run:ai holds now, even if it was rotated since. Run:ai never returns the secret, so Terraform cannot compare the two.\n\
                 To keep Run:ai's secret, plan no update yet: leave `client_secret_wo_version` out of the configuration and make the other settings match the imported state; \
                 add the version when you mean to send the secret. Otherwise make sure `client_secret_wo` is the secret the external identity provider expects now. \
                 This warning stops after the next successful apply."
            ),
        )
        .at(AttrPath::attrs(&[attr, field])),
    )
}

#[async_trait]
impl ModifyPlan<ProviderData> for IdpResource {
    async fn modify_plan(&self, data: Option<&ProviderData>, req: &mut ModifyPlanRequest<'_>, diags: &mut Diagnostics) {
        let endpoint = data.and_then(|d| d.runai().ok()).map(RunaiClient::base_url);
        loopback_url_errors(endpoint, req.config, diags);
        if let Some(w) = secret_after_import_warning(req) {
            diags.push(w);
        }
    }
}

impl IdpResource {
    /// The read itself, without its time limit.
    async fn read_now(&self, data: &ProviderData, state: &Value, _private: &[u8]) -> Result<StateResult, Diagnostics> {
        let c = data.runai()?;
        let prior: IdpModel = from_value(state)?;
        let alias = prior.alias.clone().or(prior.id.clone()).unwrap_or_default();
        match c.get_idp_coalesced(&alias).await {
            Ok(Some(idp)) => Ok(StateResult::state(to_value(&state_from_api(&idp, &prior), IdpModel::ty())?)),
            Ok(None) => Ok(StateResult::gone()),
            Err(e) => Err(crate::vendors::failure::api_diag("Unable to read identity provider", &e)),
        }
    }

    /// The update itself, without its time limit.
    async fn update_now(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let c = data.runai()?;
        let planned: IdpModel = req.planned_model()?;
        let prior: IdpModel = req.prior_model()?;
        let alias = prior.alias.clone().unwrap_or_default();
        let body = request(&planned, &req.config);
        // PUT replaces the whole idp: never send it without the secret or metadata (an
        // empty or masked secret would lock users out).
        let missing = match (&body.oidc_data, &body.ocp_data, &body.saml_data) {
            (Some(o), _, _) if o.client_secret.is_none() => Some(("oidc", "client_secret_wo", "client secret")),
            (_, Some(o), _) if o.client_secret.is_none() => Some(("ocp", "client_secret_wo", "client secret")),
            (_, _, Some(s)) if s.metadata_xml_url.is_none() && s.metadata_xml_file.is_none() => {
                Some(("saml", "metadata_xml_url", "SAML metadata"))
            }
            _ => None,
        };
        if let Some((attr, field, what)) = missing {
            return Err(Diagnostic::error(
                format!("No {what} to send"),
                format!(
                    "Run:ai updates replace the whole identity provider and need its {what}, which Run:ai never returns. Set `{attr}.{field}` in the configuration."
                ),
            )
            .at(AttrPath::attrs(&[attr, field]))
            .into());
        }
        let mut body = body;
        body.name = Some(alias.clone());
        c.update_idp(&alias, &body).await.map_err(|e| crate::vendors::failure::api_diag("Unable to update identity provider", &e))?;
        Ok(StateResult::state(self.read_back(c, &alias, &planned, "update").await?))
    }
}

#[async_trait]
impl ImportState<ProviderData> for IdpResource {
    async fn import(&self, _data: Option<&ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let id = id.trim();
        if id.is_empty() {
            return Err(Diagnostic::error(
                "Invalid import ID",
                "Import an identity provider by its Run:ai alias, e.g. `terraform import identity_idp.corp corp-oidc`.",
            )
            .into());
        }
        let m = IdpModel { id: Some(id.to_string()), alias: Some(id.to_string()), ..Default::default() };
        to_value(&m, IdpModel::ty())
    }

    fn import_private(&self, _state: &Value) -> Vec<u8> {
        IMPORTED.to_vec()
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
                    AttrPath::attrs(&["type"]),
                    "Missing settings for the idp type",
                    format!("An identity provider of type \"{kind}\" needs the \"{attr}\" attribute."),
                );
            } else if *t != kind && !v.is_null() && !v.is_unknown() {
                d.error_at(
                    AttrPath::attrs(&[attr]),
                    "Settings do not match the idp type",
                    format!(
                        "\"{attr}\" holds settings for type \"{t}\", but type is \"{kind}\": set only the \"{}\" attribute.",
                        attr_for(kind).unwrap_or("matching")
                    ),
                );
            }
        }
        d
    }
}

fn attr_for(kind: &str) -> Option<&'static str> {
    TYPES.iter().find(|(t, _)| *t == kind).map(|(_, a)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tfplugin::plan::plan_resource;

    /// The state of an OIDC idp right after import and read: no secret, no version.
    fn imported() -> Value {
        let idp: Idp = serde_json::from_value(serde_json::json!({
            "alias": "corp-oidc",
            "type": "oidc",
            "redirectUri": "https://runai.example.com/auth/realms/runai/broker/corp-oidc/endpoint",
            "oidcData": {
                "clientId": "runai",
                "discoverDocumentUrl": "https://login.example.com/.well-known/openid-configuration",
                "scopes": ["openid"]
            },
            "mappers": {}
        }))
        .expect("an idp");
        to_value(&state_from_api(&idp, &IdpModel::default()), IdpModel::ty()).expect("state")
    }

    /// The configuration matching `imported()`, with the write-only secret and `version`.
    fn config(version: Option<i64>, scopes: &[&str]) -> Value {
        let mut c = imported();
        for k in ["id", "alias", "redirect_uri", "mappers"] {
            c.set(k, Value::Null);
        }
        let mut oidc = c.get("oidc").clone();
        oidc.set("client_secret_wo", Value::string("oidc-secret-Kc28"));
        oidc.set("client_secret_wo_version", version.map(Value::int).unwrap_or(Value::Null));
        oidc.set("scopes", Value::List(scopes.iter().map(|s| Value::string(*s)).collect()));
        c.set("oidc", oidc);
        c
    }

    fn warning(prior: &Value, private: &[u8], config: &Value) -> Option<Diagnostic> {
        let schema = IdpResource.schema();
        // Proposed new state: the configuration, with the prior computed values.
        let mut proposed = config.clone();
        for k in ["id", "alias", "redirect_uri", "mappers"] {
            proposed.set(k, prior.get(k).clone());
        }
        let change = plan_resource(&schema, prior, &proposed, config);
        let req =
            ModifyPlanRequest { prior, prior_private: private, config, planned: change.planned, requires_replace: change.requires_replace };
        secret_after_import_warning(&req)
    }

    #[test]
    fn first_plan_after_import_warns_when_an_update_sends_the_secret() {
        let prior = imported();
        let w = warning(&prior, IMPORTED, &config(Some(1), &["openid"])).expect("the version sends the secret");
        assert_eq!(w.summary, "Imported identity provider: this apply sends the client secret");
        assert_eq!(w.path, Some(AttrPath::attrs(&["oidc", "client_secret_wo_version"])));
        assert!(w.detail.contains("`oidc.client_secret_wo_version` (1) makes the next apply update it"), "{}", w.detail);
        assert!(w.detail.contains("leave `client_secret_wo_version` out"), "{}", w.detail);
        assert!(!w.detail.contains("oidc-secret-Kc28"), "never the secret: {}", w.detail);

        // No version, but another change: the update carries the secret too.
        let w = warning(&prior, IMPORTED, &config(None, &["openid", "email"])).expect("any update sends the secret");
        assert_eq!(w.path, Some(AttrPath::attrs(&["oidc", "client_secret_wo"])));

        // No version and nothing else changes: no update, nothing sent.
        assert!(warning(&prior, IMPORTED, &config(None, &["openid"])).is_none());
        // Not imported (or applied since): no warning.
        assert!(warning(&prior, APPLIED, &config(Some(1), &["openid"])).is_none());
        assert!(warning(&prior, b"", &config(Some(1), &["openid"])).is_none());
    }

    /// `config()` with this `oidc.discover_document_url`.
    fn config_with_url(url: &str) -> Value {
        let mut c = config(Some(1), &["openid"]);
        let mut oidc = c.get("oidc").clone();
        oidc.set("discover_document_url", Value::string(url));
        c.set("oidc", oidc);
        c
    }

    #[test]
    fn loopback_urls_only_against_a_loopback_endpoint() {
        let errors = |endpoint: Option<&str>, url: &str| {
            let mut d = Diagnostics::new();
            loopback_url_errors(endpoint, &config_with_url(url), &mut d);
            d.iter().map(|d| (d.path.clone(), d.summary.clone(), d.detail.clone())).collect::<Vec<_>>()
        };
        let loopback = "http://localhost:8080/.well-known/openid-configuration";
        let refused = errors(Some("https://app.run.ai"), loopback);
        assert_eq!(refused.len(), 1, "{refused:?}");
        let (path, summary, detail) = &refused[0];
        assert_eq!(path, &Some(AttrPath::attrs(&["oidc", "discover_document_url"])));
        assert_eq!(summary, "URL refused by Run:ai's rule");
        assert!(detail.contains("whose host localhost is a loopback address") && detail.contains("it is https://app.run.ai"), "{detail}");
        // Against the sandbox; without a configured provider (decided when it is); a URL
        // Run:ai's rule accepts.
        assert!(errors(Some("http://127.0.0.1:41234/runai"), loopback).is_empty());
        assert!(errors(Some("http://[::1]:41234/runai"), loopback).is_empty());
        assert!(errors(None, loopback).is_empty());
        assert!(errors(Some("https://app.run.ai"), "https://idp.example.com/.well-known/openid-configuration").is_empty());
    }

    /// ValidateResourceConfig: Run:ai's rule, loopback hosts let through to the plan.
    #[test]
    fn urls_are_validated_by_the_vendor_rule() {
        let validate = |url: &str| {
            let mut d = Diagnostics::new();
            let attributes = IdpResource.schema().block.attributes;
            crate::tfplugin::validator::validate_attributes(&attributes, &config_with_url(url), &AttrPath::root(), &mut d);
            d.iter().map(|d| (d.path.clone(), d.detail.clone())).collect::<Vec<_>>()
        };
        for ok in
            ["https://idp.example.com/x", "idp.example.com:8443", "http://localhost:8080/x", "http://127.0.0.1:1/x", "https://[::1]/x"]
        {
            assert_eq!(validate(ok), [], "{ok}");
        }
        let path = Some(AttrPath::attrs(&["oidc", "discover_document_url"]));
        for bad in
            ["https://10.1.2.3/x", "https://999.999.1.1/x", "https://[2001:db8::1]/x", "https://metadata/idp.xml", "ftp://idp.example.com"]
        {
            let found = validate(bad);
            assert!(
                matches!(found.as_slice(), [(p, detail)] if *p == path && detail.contains("host name with a dot and a top-level domain")),
                "{bad}: {found:?}"
            );
        }
        assert!(matches!(validate("").as_slice(), [(p, detail)] if *p == path && detail.contains("must not be empty")));
        assert!(url_validator().describe().contains("against identity-sandbox only"), "{}", url_validator().describe());
    }

    #[tokio::test]
    async fn import_marks_the_private_state() {
        let state = IdpResource.import(None, "corp-oidc").await.expect("import");
        assert_eq!(IdpResource.import_private(&state), IMPORTED);
    }
}

#[cfg(test)]
mod model_tests {
    /// Every attribute of the schema has a field in the model, and no field is extra (a
    /// missing one would silently become null).
    #[test]
    fn the_model_and_the_schema_have_the_same_attributes() {
        assert_eq!(crate::tfplugin::model::model_mismatch::<super::IdpModel>(), None);
    }
}
