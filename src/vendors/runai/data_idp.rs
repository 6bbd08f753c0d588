//! `identity_idp` data source: one Run:ai identity provider by alias. Secrets are never
//! exposed (Run:ai masks them, and this data source has no attribute for them).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, to_value};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{Attribute, DataSource, Diagnostic, Diagnostics, Schema, StateResult, Type, Value};
use crate::vendors::runai::client::Idp;
use crate::vendors::runai::idp::{ALIAS_PATTERN, MappersModel, mapper_attributes};

pub const TYPE_NAME: &str = "identity_idp";

/// What the data sources show of an idp.
#[derive(Default, Debug, Serialize, Deserialize)]
pub(crate) struct IdpInfo {
    alias: String,
    #[serde(rename = "type")]
    kind: String,
    redirect_uri: Option<String>,
    oidc: Option<OidcInfo>,
    saml: Option<SamlInfo>,
    ocp: Option<OcpInfo>,
    mappers: Option<MappersModel>,
}

impl crate::tfplugin::model::Model for IdpInfo {
    fn schema() -> Schema {
        IdpDataSource::schema_static()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct OidcInfo {
    client_id: String,
    discover_document_url: Option<String>,
    scopes: Option<Vec<String>>,
    mandatory_claim: Option<ClaimInfo>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ClaimInfo {
    claim: String,
    values: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SamlInfo {
    entity_id: Option<String>,
    signing_certificate: Option<String>,
    single_sign_on_service_url: Option<String>,
    service_provider_metadata_url: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct OcpInfo {
    idp_base_url: Option<String>,
    client_id: Option<String>,
    scopes: Option<Vec<String>>,
}

impl IdpInfo {
    pub(crate) fn from_api(i: &Idp) -> Self {
        IdpInfo {
            alias: i.alias.clone(),
            kind: i.kind.clone(),
            redirect_uri: i.redirect_uri.clone(),
            oidc: i.oidc_data.as_ref().map(|o| OidcInfo {
                client_id: o.client_id.clone(),
                discover_document_url: o.discover_document_url.clone(),
                scopes: o.scopes.clone(),
                mandatory_claim: o.mandatory_claim.as_ref().map(|c| ClaimInfo { claim: c.claim.clone(), values: c.values.clone() }),
            }),
            saml: i.saml_data.as_ref().map(|s| SamlInfo {
                entity_id: s.entity_id.clone(),
                signing_certificate: s.signing_certificate.clone(),
                single_sign_on_service_url: s.single_sign_on_service_url.clone(),
                service_provider_metadata_url: s.service_provider_metadata_url.clone(),
            }),
            ocp: i.ocp_data.as_ref().map(|o| OcpInfo {
                idp_base_url: o.idp_base_url.clone(),
                client_id: o.client_id.clone(),
                scopes: o.scopes.clone(),
            }),
            mappers: i.mappers.as_ref().map(MappersModel::from_api),
        }
    }
}

fn computed(a: Attribute) -> Attribute {
    a.computed()
}

/// The read-only attributes of an idp, without `alias`.
pub(crate) fn idp_info_attributes() -> Vec<Attribute> {
    vec![
        Attribute::string("type").computed().describe("The protocol: `oidc`, `saml` or `openshift-v4`."),
        Attribute::string("redirect_uri").computed().describe("The redirect (callback) URI registered for this idp."),
        Attribute::object(
            "oidc",
            vec![
                Attribute::string("client_id").computed().describe("Client ID."),
                Attribute::string("discover_document_url").computed().describe("URL of the OpenID discovery document."),
                Attribute::list_of("scopes", Type::String).computed().describe("Requested scopes."),
                Attribute::object(
                    "mandatory_claim",
                    vec![
                        Attribute::string("claim").computed().describe("Claim a user's token must carry."),
                        Attribute::list_of("values", Type::String).computed().describe("Accepted values of the claim."),
                    ],
                )
                .computed()
                .describe("Claim required to log in."),
            ],
        )
        .computed()
        .describe("OpenID Connect settings (null for other types). The client secret is never exposed."),
        Attribute::object(
            "saml",
            vec![
                Attribute::string("entity_id").computed().describe("SAML entity ID."),
                Attribute::string("signing_certificate").computed().describe("The IdP's signing certificate (base64 DER)."),
                Attribute::string("single_sign_on_service_url").computed().describe("The IdP's single sign-on service URL."),
                Attribute::string("service_provider_metadata_url").computed().describe("URL of Run:ai's service provider metadata."),
            ],
        )
        .computed()
        .describe("SAML settings (null for other types)."),
        Attribute::object(
            "ocp",
            vec![
                Attribute::string("idp_base_url").computed().describe("Base URL of the OpenShift OAuth server."),
                Attribute::string("client_id").computed().describe("OAuth client ID."),
                Attribute::list_of("scopes", Type::String).computed().describe("Requested scopes."),
            ],
        )
        .computed()
        .describe("OpenShift v4 settings (null for other types). The client secret is never exposed."),
        Attribute::object("mappers", mapper_attributes(computed)).computed().describe("Claim mappers."),
    ]
}

pub struct IdpDataSource;

impl IdpDataSource {
    fn schema_static() -> Schema {
        let mut attrs = vec![
            Attribute::string("alias")
                .required()
                .describe("Alias of the identity provider.")
                .validate(Validator::matches(ALIAS_PATTERN, "an idp alias: lower-case letters, digits, '-' and '_'")),
        ];
        attrs.extend(idp_info_attributes());
        Schema::new("Reads one Run:ai identity provider by its alias. Secrets are never exposed.", attrs)
    }
}

#[async_trait]
impl DataSource<ProviderData> for IdpDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Self::schema_static()
    }

    async fn read(&self, data: &ProviderData, config: &Value) -> Result<StateResult, Diagnostics> {
        let c = data.runai()?;
        let alias = config.get("alias").as_str().unwrap_or_default();
        let idp =
            c.get_idp(alias).await.map_err(|e| crate::vendors::failure::api_diag("Unable to read identity provider", &e))?.ok_or_else(
                || {
                    Diagnostics::from(Diagnostic::error(
                        "Identity provider not found",
                        format!("Run:ai has no identity provider with alias \"{alias}\"."),
                    ))
                },
            )?;
        Ok(StateResult::state(to_value(&IdpInfo::from_api(&idp), IdpInfo::ty())?))
    }
}

#[cfg(test)]
mod model_tests {
    /// Every attribute of the schema has a field in the model, and no field is extra.
    #[test]
    fn the_model_and_the_schema_have_the_same_attributes() {
        assert_eq!(crate::tfplugin::model::model_mismatch::<super::IdpInfo>(), None);
    }
}
