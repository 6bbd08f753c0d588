//! `identity_idp_mappers`: the claim mappers of a Run:ai identity provider
//! (`/api/v1/idps/{alias}/mappers`).
//!
//! Run:ai answers a mapper PUT with `202 Accepted`: the change becomes visible later.
//! Create and update wait, with a bounded poll, until a read shows the new values, so
//! the next plan is empty. The mappers belong to the idp and cannot be deleted: destroy
//! resets them to empty strings.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::idp::{ALIAS_PATTERN, MappersModel, mapper_attributes};
use crate::http::ApiError;
use crate::provider::ProviderData;
use crate::tfplugin::model::{Model as _, from_value, to_value};
use crate::tfplugin::resource::ImportState;
use crate::tfplugin::schema::IdentitySchema;
use crate::tfplugin::timeouts::{Op, Timeouts};
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{ApplyRequest, Attribute, Diagnostic, Diagnostics, Resource, Schema, StateResult, Type, Value};
use crate::vendors::runai::client::{Mappers, RunaiClient};

pub const TYPE_NAME: &str = "identity_idp_mappers";
/// Create and update have a timeout (the standard defaults); a delete, which resets the
/// mappers with an update, is bounded by `timeouts.update`. Mappers are named by their idp.
const TIMEOUTS: Timeouts = Timeouts::only(&[Op::Create, Op::Update], Op::Update, "the mappers", |v| {
    format!("the mappers of identity provider \"{}\"", v.get("idp").as_str().unwrap_or_default())
});

pub struct IdpMappersResource;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Model {
    id: Option<String>,
    idp: Option<String>,
    #[serde(flatten)]
    mappers: MappersModel,
    timeouts: Option<serde_json::Value>,
}

impl crate::tfplugin::model::Model for Model {
    fn schema() -> Schema {
        IdpMappersResource::schema_static()
    }
}

impl IdpMappersResource {
    fn schema_static() -> Schema {
        let mut attrs = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The idp's alias."),
            Attribute::string("idp")
                .required()
                .requires_replace()
                .describe("Alias of the identity provider whose mappers these are (e.g. `identity_idp.corp.alias`).")
                .validate(Validator::matches(ALIAS_PATTERN, "an idp alias: lower-case letters, digits, '-' and '_'")),
        ];
        attrs.extend(mapper_attributes(|a| a.optional().computed().use_state_for_unknown()));
        attrs.push(TIMEOUTS.attribute());
        Schema::new(
            "The claim mappers of a Run:ai identity provider: which claims of the external idp fill Run:ai's user attributes. \
             Run:ai applies mapper changes asynchronously (202 Accepted); apply waits until they are visible. \
             Mappers cannot be deleted: destroying this resource resets them to empty. Unset fields keep their current values. \
             Do not also set `mappers` on the `identity_idp`.\n\n\
             Concurrent changes: Run:ai's API offers no preconditions; an update sends the configured mappers (PUT), which \
             replace those values whatever they are on the server by then (the last writer wins), and leaves the others.",
            attrs,
        )
    }

    /// PUTs the mappers and waits until a read shows them. The framework bounds the whole
    /// call by the operation's timeout (its error names `timeouts.create`/`update`, also
    /// when the PUT itself waits on retries or a rate limit); the polling stops early,
    /// with its own error, once the next poll would come after that limit.
    async fn put_and_wait(&self, c: &RunaiClient, alias: &str, wanted: &Mappers, timeout: Duration) -> Result<Mappers, MapperError> {
        let deadline = Instant::now() + timeout;
        c.put_mappers(alias, wanted).await.map_err(|e| {
            if e.is_not_found() {
                MapperError::IdpNotFound { alias: alias.to_string(), source: e }
            } else {
                MapperError::Api { action: "Unable to update mappers", source: e }
            }
        })?;
        let mut delay = Duration::from_millis(100);
        loop {
            let seen = c
                .get_mappers(alias)
                .await
                .map_err(|e| MapperError::Api { action: "Unable to read mappers", source: e })?
                .ok_or_else(|| MapperError::IdpVanished { alias: alias.to_string() })?;
            if visible(wanted, &seen) {
                return Ok(seen);
            }
            if Instant::now() + delay > deadline {
                return Err(MapperError::NotVisible { alias: alias.to_string(), timeout });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(2));
        }
    }

    fn state(&self, alias: &str, m: &Mappers, timeouts: Option<serde_json::Value>) -> Result<Value, Diagnostics> {
        to_value(
            &Model { id: Some(alias.to_string()), idp: Some(alias.to_string()), mappers: MappersModel::from_api(m), timeouts },
            Model::ty(),
        )
    }

    async fn apply(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        let c = data.runai()?;
        let planned: Model = req.planned_model()?;
        let alias = planned.idp.clone().unwrap_or_default();
        // Send only what the configuration sets; unset fields keep their values.
        let cfg: Model = req.config_model()?;
        let limit = req.deadline.as_ref().map_or(Op::Update.default_timeout(), |d| d.limit());
        let seen = self.put_and_wait(c, &alias, &cfg.mappers.to_api(), limit).await.map_err(Diagnostics::from)?;
        Ok(StateResult::state(self.state(&alias, &seen, planned.timeouts)?))
    }
}

/// Why a mapper change did not complete.
#[derive(Debug)]
enum MapperError {
    /// The PUT answered 404: there is no such idp.
    IdpNotFound { alias: String, source: ApiError },
    /// A read after the PUT found the idp gone.
    IdpVanished { alias: String },
    /// Run:ai accepted the change but reads did not show it in time.
    NotVisible { alias: String, timeout: Duration },
    /// Any other failure of a call; `action` is the diagnostic's summary.
    Api { action: &'static str, source: ApiError },
}

impl MapperError {
    /// The idp no longer exists (so neither do its mappers).
    fn idp_gone(&self) -> bool {
        matches!(self, MapperError::IdpNotFound { .. } | MapperError::IdpVanished { .. })
    }
}

impl From<MapperError> for Diagnostics {
    fn from(e: MapperError) -> Diagnostics {
        match e {
            MapperError::IdpNotFound { alias, source } => Diagnostic::error(
                "Identity provider not found",
                format!("Run:ai has no identity provider \"{alias}\": {}", source.detail()),
            )
            .into(),
            MapperError::IdpVanished { alias } => {
                Diagnostic::error("Identity provider vanished", format!("\"{alias}\" disappeared while its mappers were being applied.")).into()
            }
            MapperError::NotVisible { alias, timeout } => Diagnostic::error(
                "Mapper change not visible in time",
                format!(
                    "Run:ai accepted the mapper change of \"{alias}\" (202) but it was not visible after {}s. It may still be applied; run `terraform apply` again, or raise timeouts.",
                    timeout.as_secs()
                ),
            )
            .into(),
            MapperError::Api { action, source } => crate::vendors::failure::api_diag(action, &source),
        }
    }
}

/// Every field that was sent reads back with the sent value.
fn visible(wanted: &Mappers, seen: &Mappers) -> bool {
    let pairs = [
        (&wanted.gid, &seen.gid),
        (&wanted.uid, &seen.uid),
        (&wanted.groups, &seen.groups),
        (&wanted.supplementary_groups, &seen.supplementary_groups),
        (&wanted.email, &seen.email),
    ];
    pairs.iter().all(|(w, s)| w.is_none() || w == s)
}

#[async_trait]
impl Resource<ProviderData> for IdpMappersResource {
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::required(&[("idp", Type::String, "Alias of the identity provider.")]))
    }

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Self::schema_static()
    }

    async fn create(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        self.apply(data, req).await
    }

    async fn read(&self, data: &ProviderData, state: &Value, _private: &[u8]) -> Result<StateResult, Diagnostics> {
        let c = data.runai()?;
        let prior: Model = from_value(state)?;
        let alias = prior.idp.clone().or(prior.id.clone()).unwrap_or_default();
        match c.get_mappers(&alias).await {
            Ok(Some(m)) => Ok(StateResult::state(self.state(&alias, &m, prior.timeouts)?)),
            Ok(None) => Ok(StateResult::gone()),
            Err(e) => Err(crate::vendors::failure::api_diag("Unable to read mappers", &e)),
        }
    }

    async fn update(&self, data: &ProviderData, req: &ApplyRequest) -> Result<StateResult, Diagnostics> {
        self.apply(data, req).await
    }

    async fn delete(&self, data: &ProviderData, state: &Value, _private: &[u8]) -> Result<(), Diagnostics> {
        let c = data.runai()?;
        let alias = state.get("idp").as_str().unwrap_or_default().to_string();
        let empty = Some(String::new());
        let reset =
            Mappers { gid: empty.clone(), uid: empty.clone(), groups: empty.clone(), supplementary_groups: empty.clone(), email: empty };
        let limit = TIMEOUTS.deadline(Op::Delete, state).map_or(Op::Update.default_timeout(), |d| d.limit());
        match self.put_and_wait(c, &alias, &reset, limit).await {
            Ok(_) => Ok(()),
            // The idp is gone, and its mappers with it.
            Err(e) if e.idp_gone() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn timeouts(&self) -> Option<Timeouts> {
        Some(TIMEOUTS)
    }

    fn as_import(&self) -> Option<&dyn ImportState<ProviderData>> {
        Some(self)
    }
}

#[async_trait]
impl ImportState<ProviderData> for IdpMappersResource {
    async fn import(&self, _data: Option<&ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let id = id.trim();
        if id.is_empty() {
            return Err(Diagnostic::error(
                "Invalid import ID",
                "Import mappers by their idp's alias, e.g. `terraform import identity_idp_mappers.corp corp-oidc`.",
            )
            .into());
        }
        to_value(&Model { id: Some(id.to_string()), idp: Some(id.to_string()), ..Default::default() }, Model::ty())
    }
}

#[cfg(test)]
mod model_tests {
    /// Every attribute of the schema has a field in the model, and no field is extra (a
    /// missing one would silently become null).
    #[test]
    fn the_model_and_the_schema_have_the_same_attributes() {
        assert_eq!(crate::tfplugin::model::model_mismatch::<super::Model>(), None);
    }
}
