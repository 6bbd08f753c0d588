//! Fuzzing the vendor clients' response handling (`src/vendors/*/client.rs`, `src/http/`) and the sandbox's SCIM
//! filter and PATCH parsers (`src/sandbox/scim/`) with proptest, on stable. The driver and
//! its knobs (`IDENTITY_FUZZ_CASES`, `IDENTITY_FUZZ_SECS`, `IDENTITY_FUZZ_SEED`) are
//! described in `tests/fuzz/harness.rs`.
//!
//! - The public serde models of every vendor (Run:ai `Idp` and its parts, Fudo `UserOidc`
//!   with its string-or-number ids and verbatim timestamps, SCIM `ListResponse` paging
//!   fields and `BulkOutcome`, Landscape `ImportSession` / `StagedGroup` / `StagedPage`),
//!   fed JSON that is shaped like the vendor's answers (the expected field names, values
//!   of the right kind most of the time, of any kind otherwise), the same as text, and
//!   byte mutations of that text.
//! - The error-body extractors of each vendor's `Dialect` (reachable through
//!   `Http::error_of`), Fudo's `result` envelope check (through `Http::accept`), and
//!   `Http::decode`, with any status and body; none may put a client secret in an error.
//! - The secret scrubber and the `Retry-After` parser with any text.
//! - The private answer models (`PostResponse`, Fudo's list body and envelope, SCIM's
//!   `TokenResponse`, `BulkResponse` and the OAuth2 error body, Landscape paging), through
//!   the clients' public methods against a local server that answers with the fuzzed
//!   bodies (no sandbox).
//! - The sandbox's SCIM filter, attribute path and PATCH path parsers with any string,
//!   filter evaluation against any resource, and whole PatchOp bodies.
//!
//! Property: no panic (an `Err` is fine), no hang, and the specific checks of each target.

use crate::harness;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use identity_provider::http::{self, ApiError, HttpSettings, scrub};
use identity_provider::http::{Auth, Http, Reply, Request};
use identity_provider::sandbox::scim::filter::{AttrPath, Filter, PatchPath};
use identity_provider::sandbox::scim::{self as sandbox_scim, GROUP_PATCH, USER_PATCH, patch};
use identity_provider::vendors::fudo::client::{FudoClient, NewUserOidc, UserOidc, UserOidcPatch};
use identity_provider::vendors::landscape::client::{ImportSession, LandscapeClient, StagedGroup, StagedPage};
use identity_provider::vendors::runai::client::{
    self as runai, Idp, IdpRequest, MandatoryClaim, Mappers, OcpData, OidcData, RunaiClient, SamlData,
};
use identity_provider::vendors::scim::client::{
    self as scim, BulkOperation, BulkOutcome, Grant, ListResponse, PatchOperation, ScimAuth, ScimClient,
};
use identity_provider::vendors::scim::model::{Group, User};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};

use harness::{Bytes, arb_mutation, mutate};

const TARGETS: &[&str] = &[
    "runai_models",
    "fudo_models",
    "fudo_id_literals",
    "scim_models",
    "landscape_models",
    "error_bodies",
    "scrub_and_retry_after",
    "sandbox_scim_filter",
    "sandbox_scim_patch",
    "through_the_clients",
];

// ================================================================ secrets

const RUNAI_TOKEN: &str = "RUNAI-TOKEN-QAZWSX";
const FUDO_KEY: &str = "FUDO-KEY-EDCRFV42";
const SCIM_STATIC: &str = "SCIM-STATIC-TGBYHN";
const SCIM_CLIENT_SECRET: &str = "SCIM-CLIENT-SECRET-UJMIK";
const SCIM_PASSWORD: &str = "SCIM-PASSWORD-OLP1234";
const SCIM_ACCESS: &str = "SCIM-ACCESS-TOKEN-QWERTY";
const LANDSCAPE_TOKEN: &str = "LANDSCAPE-TOKEN-ASDF99";
/// What a request body of the test carries as a secret field.
const BODY_SECRET: &str = "BODY-SECRET-ZXCV77";

/// Every secret of the tests: upper case, digits and dashes, so that none of them can be
/// assembled from the `[redacted]` marker and what surrounds it.
const SECRETS: &[&str] =
    &[RUNAI_TOKEN, FUDO_KEY, SCIM_STATIC, SCIM_CLIENT_SECRET, SCIM_PASSWORD, SCIM_ACCESS, LANDSCAPE_TOKEN, BODY_SECRET];

fn check_no_secret(what: &str, text: &str, secrets: &[&str]) -> Result<(), TestCaseError> {
    match secrets.iter().find(|s| text.contains(*s)) {
        Some(s) => Err(TestCaseError::fail(format!("{what} carries the secret {s}: {text}"))),
        None => Ok(()),
    }
}

fn check_error(e: &ApiError, secrets: &[&str]) -> Result<(), TestCaseError> {
    check_no_secret("an error", &e.to_string(), secrets)?;
    check_no_secret("an error's detail", &e.detail(), secrets)?;
    check_no_secret("an error's debug form", &format!("{e:?}"), secrets)
}

// ================================================================ shaped JSON

/// What a field of a vendor answer holds, for [`shaped`].
#[derive(Clone, Copy, Debug)]
enum K {
    Str,
    Enum(&'static [&'static str]),
    Int,
    Bool,
    /// A Fudo id: decimal strings (wider than 2^63 too), JSON integers, floats.
    Id,
    /// A timestamp, in Fudo's format, ISO 8601, or not.
    Time,
    /// An HTTP status as SCIM Bulk writes it: a string, a number or `{"code": ..}`.
    Status,
    StrList,
    Obj(&'static [(&'static str, K)]),
    List(&'static [(&'static str, K)]),
}

const MANDATORY_CLAIM: &[(&str, K)] = &[("claim", K::Str), ("values", K::StrList)];
const OIDC_DATA: &[(&str, K)] = &[
    ("clientId", K::Str),
    ("clientSecret", K::Str),
    ("discoverDocumentUrl", K::Str),
    ("scopes", K::StrList),
    ("mandatoryClaim", K::Obj(MANDATORY_CLAIM)),
];
const MAPPERS: &[(&str, K)] = &[("gid", K::Str), ("uid", K::Str), ("groups", K::Str), ("supplementaryGroups", K::Str), ("email", K::Str)];
const SAML_DATA: &[(&str, K)] =
    &[("signingCertificate", K::Str), ("singleSignOnServiceUrl", K::Str), ("entityId", K::Str), ("serviceProviderMetadataUrl", K::Str)];
const OCP_DATA: &[(&str, K)] = &[("idpBaseUrl", K::Str), ("clientId", K::Str), ("clientSecret", K::Str), ("scopes", K::StrList)];
const IDP: &[(&str, K)] = &[
    ("alias", K::Str),
    ("type", K::Enum(&["oidc", "saml", "openshift-v4", "OIDC", ""])),
    ("redirectUri", K::Str),
    ("samlData", K::Obj(SAML_DATA)),
    ("oidcData", K::Obj(OIDC_DATA)),
    ("ocpData", K::Obj(OCP_DATA)),
    ("mappers", K::Obj(MAPPERS)),
];
const RUNAI_ERROR: &[(&str, K)] = &[("code", K::Int), ("message", K::Str), ("details", K::Str)];
const RUNAI_POST: &[(&str, K)] = &[("alias", K::Str)];

const USER_OIDC: &[(&str, K)] = &[
    ("id", K::Id),
    ("user_id", K::Id),
    ("oidc_id", K::Id),
    ("oidc_sub", K::Str),
    ("user_name", K::Str),
    ("user_domain", K::Str),
    ("user_email", K::Str),
    ("user_organization", K::Str),
    ("user_role", K::Str),
    ("oidc_name", K::Str),
    ("created_at", K::Time),
    ("modified_at", K::Time),
    ("removed", K::Bool),
    ("builtin", K::Bool),
    ("hidden", K::Bool),
];
const FUDO_FIELD_ERROR: &[(&str, K)] =
    &[("field", K::Enum(&["user_id", "oidc_id", "oidc_sub", ""])), ("message", K::Str), ("msg", K::Str), ("detail", K::Str)];
const FUDO_BODY: &[(&str, K)] = &[
    ("result", K::Enum(&["success", "error", "Success", "", "failure"])),
    ("user_oidc", K::List(USER_OIDC)),
    ("message", K::Str),
    ("msg", K::Str),
    ("error", K::Str),
    ("errors", K::List(FUDO_FIELD_ERROR)),
    ("detail", K::Str),
    ("description", K::Str),
    ("reason", K::Str),
    ("field", K::Enum(&["user_id", "oidc_sub", "message"])),
];

const SCIM_EMAIL: &[(&str, K)] = &[("value", K::Str), ("type", K::Enum(&["work", "home"])), ("primary", K::Bool)];
const SCIM_META: &[(&str, K)] = &[("resourceType", K::Enum(&["User", "Group"])), ("created", K::Time), ("version", K::Str)];
const SCIM_MEMBER: &[(&str, K)] = &[("value", K::Str), ("type", K::Enum(&["User"])), ("ocid", K::Str), ("display", K::Str)];
const SCIM_RESOURCE: &[(&str, K)] = &[
    ("schemas", K::StrList),
    ("id", K::Str),
    ("ocid", K::Str),
    ("userName", K::Str),
    ("displayName", K::Str),
    ("externalId", K::Str),
    ("active", K::Bool),
    ("password", K::Str),
    ("emails", K::List(SCIM_EMAIL)),
    ("members", K::List(SCIM_MEMBER)),
    ("meta", K::Obj(SCIM_META)),
];
const SCIM_LIST: &[(&str, K)] = &[
    ("schemas", K::StrList),
    ("totalResults", K::Int),
    ("Resources", K::List(SCIM_RESOURCE)),
    ("itemsPerPage", K::Int),
    ("startIndex", K::Int),
];
const SCIM_ERROR: &[(&str, K)] = &[("schemas", K::StrList), ("status", K::Status), ("detail", K::Str), ("scimType", K::Str)];
const BULK_OP: &[(&str, K)] = &[
    ("method", K::Enum(&["POST", "PATCH", "DELETE", "PUT"])),
    ("bulkId", K::Str),
    ("location", K::Str),
    ("status", K::Status),
    ("response", K::Obj(SCIM_ERROR)),
];
const BULK_RESPONSE: &[(&str, K)] = &[("schemas", K::StrList), ("Operations", K::List(BULK_OP))];
const TOKEN: &[(&str, K)] = &[
    ("access_token", K::Enum(&[SCIM_ACCESS, SCIM_ACCESS, SCIM_ACCESS, ""])),
    ("token_type", K::Enum(&["Bearer", "bearer", "mac"])),
    ("expires_in", K::Int),
    ("scope", K::Str),
];
const OAUTH_ERROR: &[(&str, K)] =
    &[("error", K::Enum(&["invalid_client", "invalid_grant", "invalid_request", ""])), ("error_description", K::Str)];

const SESSION: &[(&str, K)] = &[
    ("id", K::Int),
    ("account_id", K::Int),
    ("status", K::Enum(&["IN_PROGRESS", "COMPLETED", "FAILED", "in_progress", ""])),
    ("issuer_id", K::Int),
    ("synced_at", K::Time),
];
const STAGED_GROUP: &[(&str, K)] =
    &[("id", K::Int), ("account_id", K::Int), ("issuer_id", K::Int), ("group_id", K::Str), ("name", K::Str), ("import_session_id", K::Int)];
const STAGED_PAGE: &[(&str, K)] = &[("count", K::Int), ("results", K::List(STAGED_GROUP)), ("next", K::Str), ("previous", K::Str)];
const LANDSCAPE_ERROR: &[(&str, K)] = &[("error", K::Str), ("message", K::Str), ("detail", K::Str)];

/// Strings: random text, values the models care about, and the secrets (a server may echo
/// them anywhere).
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "(?s).{0,20}",
        2 => prop::sample::select(vec![
            "", " ", "success", "error", "IN_PROGRESS", "COMPLETED", "oidc", "****", "9124292845052624898", "1e3", "null", "true",
            "https://example.com/x?a=b", "2024-06-19 08:39:55.351137-07", "\u{0}", "é", "Bearer abc.def.ghi", "password=hunter2",
        ])
        .prop_map(str::to_string),
        2 => prop::sample::select(SECRETS.to_vec()).prop_map(str::to_string),
    ]
    .boxed()
}

fn finite_f64() -> BoxedStrategy<f64> {
    use prop::num::f64 as f;
    (f::NORMAL | f::SUBNORMAL | f::ZERO | f::POSITIVE | f::NEGATIVE).boxed()
}

fn float_json(f: f64) -> Json {
    serde_json::Number::from_f64(f).map(Json::Number).unwrap_or(Json::Null)
}

/// Any JSON value, keys from the vendors' field names mostly.
fn any_json() -> BoxedStrategy<Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        finite_f64().prop_map(float_json),
        text().prop_map(Json::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map(field_name(), inner, 0..4).prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn field_name() -> BoxedStrategy<String> {
    let all: Vec<&str> =
        [IDP, OIDC_DATA, MAPPERS, USER_OIDC, FUDO_BODY, SCIM_LIST, SCIM_RESOURCE, BULK_OP, TOKEN, SESSION, STAGED_PAGE, LANDSCAPE_ERROR]
            .iter()
            .flat_map(|t| t.iter().map(|(k, _)| *k))
            .collect();
    prop_oneof![4 => prop::sample::select(all).prop_map(str::to_string), 1 => "(?s).{0,8}"].boxed()
}

fn int_json() -> BoxedStrategy<Json> {
    prop_oneof![
        4 => (0i64..200).prop_map(Json::from),
        2 => any::<i64>().prop_map(Json::from),
        2 => any::<u64>().prop_map(Json::from),
        1 => prop::sample::select(vec![-1i64, 0, 1, i64::MAX, i64::MIN, 9_223_372_036_854_775]).prop_map(Json::from),
        1 => prop::sample::select(vec![u64::MAX, 9_223_372_036_854_775_808, 18_446_744_073_709_551]).prop_map(Json::from),
        1 => prop::sample::select(vec![1.0, 1.5, -0.0, 1e19, 1e300]).prop_map(float_json),
        1 => prop::sample::select(vec!["1", "12", "-1", ""]).prop_map(|s| Json::String(s.into())),
    ]
    .boxed()
}

/// A value of the kind `k` most of the time, anything otherwise.
fn value_of(k: K) -> BoxedStrategy<Json> {
    let plausible: BoxedStrategy<Json> = match k {
        K::Str => text().prop_map(Json::String).boxed(),
        K::Enum(values) => {
            prop_oneof![5 => prop::sample::select(values.to_vec()).prop_map(|s| Json::String(s.into())), 1 => text().prop_map(Json::String)]
                .boxed()
        }
        K::Int => int_json(),
        K::Bool => prop_oneof![4 => any::<bool>().prop_map(Json::Bool), 1 => Just(Json::Null)].boxed(),
        K::Id => prop_oneof![
            4 => "[0-9]{1,25}".prop_map(Json::String),
            2 => any::<u64>().prop_map(Json::from),
            2 => any::<i64>().prop_map(Json::from),
            1 => prop::sample::select(vec![9.124292845052625e18, 12.5, 1e19, -0.0, 1.0]).prop_map(float_json),
            1 => prop::sample::select(vec!["", "-1", "1.5", "abc", " 7"]).prop_map(|s| Json::String(s.into())),
        ]
        .boxed(),
        K::Time => prop_oneof![
            prop::sample::select(vec![
                "2024-06-19 08:39:55.351137-07",
                "2024-06-19T08:39:55Z",
                "2024-02-30 25:61:61",
                "0000-00-00 00:00:00",
                "",
                "yesterday",
                "2024-06-19 08:39:55.351137-07:00:00",
            ])
            .prop_map(|s| Json::String(s.into())),
            "[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([-+][0-9]{2}(:?[0-9]{2})?|Z)?".prop_map(Json::String),
            any::<i64>().prop_map(Json::from),
        ]
        .boxed(),
        K::Status => prop_oneof![
            "[0-9]{3}".prop_map(Json::String),
            (0u64..1000).prop_map(Json::from),
            any::<u64>().prop_map(Json::from),
            "[0-9]{3}".prop_map(|c| json!({ "code": c })),
            (0u64..70000).prop_map(|c| json!({ "code": c })),
            text().prop_map(Json::String),
        ]
        .boxed(),
        K::StrList => prop::collection::vec(text().prop_map(Json::String), 0..4).prop_map(Json::Array).boxed(),
        K::Obj(fields) => shaped(fields),
        K::List(fields) => prop::collection::vec(shaped(fields), 0..4).prop_map(Json::Array).boxed(),
    };
    prop_oneof![17 => plausible, 2 => any_json(), 1 => Just(Json::Null)].boxed()
}

/// An object with the fields of `fields` (each present most of the time), and now and
/// then one it does not expect.
fn shaped(fields: &'static [(&'static str, K)]) -> BoxedStrategy<Json> {
    let members: Vec<_> = fields.iter().map(|(name, k)| prop::option::weighted(0.85, value_of(*k)).prop_map(move |v| (*name, v))).collect();
    (members, prop::option::weighted(0.1, (field_name(), any_json())))
        .prop_map(|(members, extra)| {
            let mut m = serde_json::Map::new();
            for (k, v) in members {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            }
            if let Some((k, v)) = extra {
                m.insert(k, v);
            }
            Json::Object(m)
        })
        .boxed()
}

/// A document: shaped (mostly), a list of shaped ones, or anything.
fn document(fields: &'static [(&'static str, K)]) -> BoxedStrategy<Json> {
    prop_oneof![
        6 => shaped(fields),
        1 => prop::collection::vec(shaped(fields), 0..3).prop_map(Json::Array),
        1 => any_json(),
    ]
    .boxed()
}

fn interesting_json() -> Vec<Vec<u8>> {
    [
        "[",
        "]",
        "{",
        "}",
        "\"",
        "\\",
        ",",
        ":",
        "null",
        "true",
        "-",
        "0",
        "1e999",
        "18446744073709551616",
        "123456789012345678901234567890",
        "-9223372036854775809",
        "12.5",
        "-0",
        "\\u0000",
        "\\ud800",
        "\"user_id\":",
        "\"totalResults\":",
        "\"result\":\"success\"",
        FUDO_KEY,
        SCIM_ACCESS,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .chain([vec![0xff], vec![0xed, 0xa0, 0x80]])
    .collect()
}

/// Replaces the `at`-th leaf of `j` (any scalar, wherever it is) with `secret`: a server
/// that echoes a credential, maybe where a number or a boolean belongs.
fn echo_secret(j: &mut Json, at: Index, secret: &str) {
    fn leaves<'a>(j: &'a mut Json, out: &mut Vec<&'a mut Json>) {
        match j {
            Json::Array(items) => items.iter_mut().for_each(|i| leaves(i, out)),
            Json::Object(m) => m.values_mut().for_each(|v| leaves(v, out)),
            leaf => out.push(leaf),
        }
    }
    let mut all = Vec::new();
    leaves(j, &mut all);
    if all.is_empty() {
        *j = Json::String(secret.into());
    } else {
        let n = all.len();
        *all.swap_remove(at.index(n)) = Json::String(secret.into());
    }
}

fn echoing(doc: BoxedStrategy<Json>) -> BoxedStrategy<Bytes> {
    (doc, any::<Index>(), prop::sample::select(SECRETS.to_vec()))
        .prop_map(|(mut j, at, secret)| {
            echo_secret(&mut j, at, secret);
            Bytes(serde_json::to_vec(&j).unwrap_or_default())
        })
        .boxed()
}

/// A document as JSON text, as it is, echoing a secret, or with byte mutations; also
/// arbitrary bytes.
fn body_bytes(fields: &'static [(&'static str, K)]) -> BoxedStrategy<Bytes> {
    let interesting = interesting_json();
    prop_oneof![
        4 => document(fields).prop_map(|j| Bytes(serde_json::to_vec(&j).unwrap_or_default())),
        2 => echoing(document(fields)),
        2 => (document(fields), prop::collection::vec(arb_mutation(), 1..4))
            .prop_map(move |(j, ms)| Bytes(mutate(serde_json::to_vec(&j).unwrap_or_default(), &ms, &interesting))),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Bytes),
        1 => prop::sample::select(vec!["", " ", "null", "[]", "{}", "<html>502 Bad Gateway</html>", "\"success\""]).prop_map(|s| Bytes(s.into())),
    ]
    .boxed()
}

// ================================================================ model checks

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

/// Decodes `T` from the value and from its text; both must agree on success.
fn both_ways<T: DeserializeOwned>(j: &Json) -> (Result<T, serde_json::Error>, Result<T, serde_json::Error>) {
    let text = serde_json::to_vec(j).unwrap_or_default();
    (serde_json::from_value::<T>(j.clone()), serde_json::from_slice::<T>(&text))
}

/// Serialize-then-deserialize gives the same model back.
fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(v: &T) -> Result<(), TestCaseError> {
    let j = serde_json::to_value(v).map_err(|e| fail(format!("{v:?} does not serialize: {e}")))?;
    let back: T = serde_json::from_value(j.clone()).map_err(|e| fail(format!("{v:?} does not read back from {j}: {e}")))?;
    prop_assert_eq!(&back, v);
    Ok(())
}

fn check_model<T: DeserializeOwned + std::fmt::Debug>(j: &Json, bytes: &[u8]) -> Result<Option<T>, TestCaseError> {
    let (a, b) = both_ways::<T>(j);
    if a.is_ok() != b.is_ok() {
        return Err(fail(format!("from_value and from_slice disagree on {j}: {a:?} vs {b:?}")));
    }
    let _ = serde_json::from_slice::<T>(bytes);
    Ok(a.ok())
}

// ================================================================ targets: models

fn idp_request(text: fn() -> BoxedStrategy<String>) -> BoxedStrategy<IdpRequest> {
    let opt_text = || prop::option::of(text());
    (
        opt_text(),
        prop::sample::select(vec!["oidc", "saml", "openshift-v4", "OIDC", ""]),
        prop::option::of((text(), opt_text(), opt_text())),
        prop::option::of((opt_text(), opt_text())),
        prop::option::of(opt_text()),
    )
        .prop_map(|(name, kind, oidc, ocp, saml)| IdpRequest {
            name,
            kind: kind.to_string(),
            oidc_data: oidc.map(|(client_id, client_secret, discover_document_url)| OidcData {
                client_id,
                client_secret,
                discover_document_url,
                ..OidcData::default()
            }),
            ocp_data: ocp.map(|(client_id, idp_base_url)| OcpData { client_id, idp_base_url, ..OcpData::default() }),
            saml_data: saml.map(|entity_id| runai::SamlCreationData { entity_id, ..runai::SamlCreationData::default() }),
            mappers: None,
        })
        .boxed()
}

#[test]
fn runai_models() {
    let strategy = (document(IDP), body_bytes(IDP), idp_request(text), text());
    harness::fuzz(TARGETS, "runai_models", 1200, strategy, |(j, bytes, req, s)| {
        if let Some(idp) = check_model::<Idp>(&j, &bytes.0)? {
            let _ = runai::matches_request(&idp, &req);
            for part in [&j["oidcData"], &j["ocpData"], &j["mappers"], &j["samlData"]] {
                let _ = serde_json::from_value::<SamlData>(part.clone());
            }
            if let Some(o) = &idp.oidc_data {
                round_trips(o)?;
            }
            if let Some(o) = &idp.ocp_data {
                round_trips(o)?;
            }
            if let Some(m) = &idp.mappers {
                round_trips(m)?;
            }
        }
        let _ = check_model::<Vec<Idp>>(&j, &bytes.0)?;
        if let Some(m) = check_model::<Mappers>(&j, &bytes.0)? {
            round_trips(&m)?;
        }
        if let Some(c) = check_model::<MandatoryClaim>(&j["oidcData"]["mandatoryClaim"], &bytes.0)? {
            round_trips(&c)?;
        }
        let _ = (runai::expected_alias(&req), runai::is_masked(&s));
        let body = serde_json::to_value(&req).map_err(|e| fail(format!("an IdpRequest does not serialize: {e}")))?;
        prop_assert!(body.get("type").is_some());
        Ok(())
    });
}

/// What an id field read from `j` must be: the string as is, an integer's exact digits,
/// and nothing else (None: the decode must fail).
fn expected_id(j: Option<&Json>) -> Option<Option<String>> {
    match j {
        None | Some(Json::Null) => Some(None),
        Some(Json::String(s)) => Some(Some(s.clone())),
        Some(Json::Number(n)) if n.is_i64() || n.is_u64() => Some(Some(n.to_string())),
        Some(_) => None,
    }
}

#[test]
fn fudo_models() {
    let strategy = (document(USER_OIDC), body_bytes(USER_OIDC));
    harness::fuzz(TARGETS, "fudo_models", 1500, strategy, |(j, bytes)| {
        let got = check_model::<UserOidc>(&j, &bytes.0)?;
        if let (Some(a), Json::Object(m)) = (&got, &j) {
            // Ids keep their exact digits; a number that went through f64 is refused.
            for (field, value) in [("user_id", Some(a.user_id.clone())), ("oidc_id", Some(a.oidc_id.clone())), ("id", a.id.clone())] {
                let want = expected_id(m.get(field));
                prop_assert!(want.is_some(), "{} = {:?} was accepted as {:?}", field, m.get(field), value);
                prop_assert_eq!(want.flatten(), value, "{}", field);
            }
            // Timestamps are verbatim.
            prop_assert_eq!(a.created_at.as_deref(), m.get("created_at").and_then(Json::as_str));
            prop_assert_eq!(a.modified_at.as_deref(), m.get("modified_at").and_then(Json::as_str));
            // null reads as false.
            prop_assert_eq!(a.removed, m.get("removed").and_then(Json::as_bool).unwrap_or(false));
        }
        if let Json::Object(m) = &j {
            // A required id that cannot be read exactly makes the whole object fail.
            for field in ["user_id", "oidc_id"] {
                if matches!(expected_id(m.get(field)), None | Some(None)) {
                    prop_assert!(got.is_none(), "{} = {:?} was accepted", field, m.get(field));
                }
            }
        }
        let _ = check_model::<Vec<UserOidc>>(&j, &bytes.0)?;
        let _ = serde_json::to_value(NewUserOidc { user_id: "1".into(), oidc_id: "2".into(), oidc_sub: j.to_string() });
        let _ = serde_json::to_value(UserOidcPatch { oidc_sub: j.to_string() });
        Ok(())
    });
}

/// Ids as JSON number literals in text (where serde_json sees every digit): an integer
/// that fits 64 bits keeps its exact digits; a fraction, an exponent or a wider integer is
/// refused.
#[test]
fn fudo_id_literals() {
    let literal = prop_oneof![
        "-?[0-9]{1,30}",
        "-?[1-9][0-9]{0,25}(\\.[0-9]{1,5})?([eE][-+]?[0-9]{1,3})?",
        any::<u64>().prop_map(|u| u.to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        prop::sample::select(vec!["-0", "0", "18446744073709551616", "-9223372036854775809", "9124292845052624898", "1e2", "1.0"])
            .prop_map(str::to_string),
    ];
    harness::fuzz(TARGETS, "fudo_id_literals", 6000, literal, |lit| {
        let text = format!(r#"{{"user_id": {lit}, "oidc_id": "1", "id": {lit}}}"#);
        let parsed: Result<UserOidc, _> = serde_json::from_str(&text);
        let is_json_integer = serde_json::from_str::<Json>(&lit).ok().is_some_and(|j| j.is_i64() || j.is_u64());
        match parsed {
            Ok(a) => {
                prop_assert!(is_json_integer, "{} was accepted as {:?}", lit, a.user_id);
                let want: i128 = lit.parse().map_err(|e| fail(format!("{lit}: {e}")))?;
                prop_assert_eq!(a.user_id.parse::<i128>().ok(), Some(want), "{} read as {}", lit, a.user_id);
                prop_assert_eq!(a.id.as_deref(), Some(a.user_id.as_str()));
            }
            Err(e) => prop_assert!(!is_json_integer, "the 64-bit integer {} was refused: {}", lit, e),
        }
        Ok(())
    });
}

#[test]
fn scim_models() {
    let strategy =
        (prop_oneof![document(SCIM_LIST), document(BULK_RESPONSE), document(SCIM_RESOURCE)], body_bytes(SCIM_LIST), any_json(), text());
    harness::fuzz(TARGETS, "scim_models", 1200, strategy, |(j, bytes, other, s)| {
        if let (Some(page), true) = (check_model::<ListResponse<Json>>(&j, &bytes.0)?, j.is_object()) {
            // The paging fields are what the document says (absent: 0 / none). (serde also
            // reads a struct from an array of its fields in order: not checked here.)
            prop_assert_eq!(page.total_results as u64, j.get("totalResults").and_then(Json::as_u64).unwrap_or(0));
            prop_assert_eq!(page.resources.len(), j.get("Resources").and_then(Json::as_array).map_or(0, Vec::len));
        }
        let _ = check_model::<ListResponse<UserOidc>>(&j, &bytes.0)?;
        // The typed users and groups: what decodes says what the document says, and reads
        // back from what it writes.
        // (`meta` is read, never written: it round-trips as absent.)
        if let Some(u) = check_model::<User>(&j, &bytes.0)? {
            round_trips(&User { meta: None, ..u.clone() })?;
            if j.is_object() {
                prop_assert_eq!(u.id.as_deref(), j.get("id").and_then(Json::as_str));
                prop_assert_eq!(u.user_name.as_deref(), j.get("userName").and_then(Json::as_str));
                prop_assert_eq!(
                    u.version(),
                    j.get("meta").and_then(|m| m.get("version")).and_then(Json::as_str),
                    "a text meta.version is kept"
                );
            }
        }
        if let Some(g) = check_model::<Group>(&j, &bytes.0)? {
            round_trips(&Group { meta: None, ..g.clone() })?;
            if j.is_object() {
                prop_assert_eq!(g.version(), j.get("meta").and_then(|m| m.get("version")).and_then(Json::as_str));
                prop_assert_eq!(g.display_name.as_deref(), j.get("displayName").and_then(Json::as_str));
                prop_assert_eq!(g.members.as_ref().map(Vec::len), j.get("members").and_then(Json::as_array).map(Vec::len));
            }
        }
        if let Some(page) = check_model::<ListResponse<User>>(&j, &bytes.0)? {
            for u in &page.resources {
                round_trips(&User { meta: None, ..u.clone() })?;
            }
        }
        for op in j.get("Operations").and_then(Json::as_array).into_iter().flatten() {
            if let Ok(o) = serde_json::from_value::<BulkOutcome>(op.clone()) {
                let code = o.status_code();
                prop_assert_eq!(o.is_success(), (200..300).contains(&code));
                let _ = o.detail();
            }
        }
        let _ = check_model::<BulkOutcome>(&j, &bytes.0)?;
        let _ = scim::matches_request(&j, &other);
        let _ = scim::matches_request(&other, &j);
        // A quoted filter literal reads back as the string.
        let q = scim::quote(&s);
        prop_assert_eq!(serde_json::from_str::<String>(&q).ok(), Some(s.clone()));
        let ops = [
            PatchOperation::replace(&s, other.clone()),
            PatchOperation::add_members(std::slice::from_ref(&s)),
            PatchOperation::remove_member(&s),
        ];
        let body = scim::patch_body(&ops);
        prop_assert_eq!(body["Operations"].as_array().map(Vec::len), Some(3));
        let _ = Filter::parse(ops[2].path.as_deref().unwrap_or_default())
            .map_err(|e| fail(format!("remove_member's path does not parse: {e}")))?;
        Ok(())
    });
}

#[test]
fn landscape_models() {
    let strategy = (prop_oneof![document(SESSION), document(STAGED_PAGE), document(STAGED_GROUP)], body_bytes(STAGED_PAGE));
    harness::fuzz(TARGETS, "landscape_models", 1500, strategy, |(j, bytes)| {
        if let Some(s) = check_model::<ImportSession>(&j, &bytes.0)? {
            let _ = (s.in_progress(), s.completed());
            round_trips(&s)?;
        }
        if let Some(g) = check_model::<StagedGroup>(&j, &bytes.0)? {
            round_trips(&g)?;
        }
        if let Some(p) = check_model::<StagedPage>(&j, &bytes.0)? {
            if j.is_object() {
                prop_assert_eq!(p.count, j.get("count").and_then(Json::as_u64));
                prop_assert_eq!(p.next.as_deref(), j.get("next").and_then(Json::as_str));
            }
            for g in &p.results {
                round_trips(g)?;
            }
        }
        let _ = check_model::<Vec<StagedGroup>>(&j, &bytes.0)?;
        Ok(())
    });
}

// ================================================================ targets: error bodies

fn settings() -> HttpSettings {
    HttpSettings { request_timeout: Duration::from_secs(5), max_retries: 0, ..HttpSettings::default() }
}

/// One client per vendor, for their `Http` (no request is sent).
struct Clients {
    runai: RunaiClient,
    fudo: FudoClient,
    scim: ScimClient,
    landscape: LandscapeClient,
}

fn clients() -> &'static Clients {
    static C: OnceLock<Clients> = OnceLock::new();
    C.get_or_init(|| Clients {
        runai: RunaiClient::new("http://127.0.0.1:9", RUNAI_TOKEN, settings()).expect("runai client"),
        fudo: FudoClient::new("http://127.0.0.1:9", FUDO_KEY, None, false, settings()).expect("fudo client"),
        scim: ScimClient::new("http://127.0.0.1:9/admin/v1", ScimAuth::Static(SCIM_STATIC.into()), None, settings()).expect("scim client"),
        landscape: LandscapeClient::new("http://127.0.0.1:9", LANDSCAPE_TOKEN, settings()).expect("landscape client"),
    })
}

fn arb_status() -> BoxedStrategy<u16> {
    prop_oneof![
        4 => prop::sample::select(vec![200u16, 201, 202, 204, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504]),
        1 => 100u16..1000,
    ]
    .boxed()
}

fn error_document() -> BoxedStrategy<Bytes> {
    prop_oneof![
        body_bytes(RUNAI_ERROR),
        body_bytes(FUDO_BODY),
        body_bytes(SCIM_ERROR),
        body_bytes(OAUTH_ERROR),
        body_bytes(LANDSCAPE_ERROR)
    ]
    .boxed()
}

/// The error of each vendor's dialect for any status and body; Fudo's envelope check of
/// 2xx answers; decode errors. No client secret and no secret field of the request may
/// show in any of them.
#[test]
fn error_bodies() {
    let strategy = (arb_status(), error_document(), 0usize..4, any::<bool>());
    harness::fuzz(TARGETS, "error_bodies", 2000, strategy, |(status, body, vendor, with_body)| {
        let c = clients();
        let (http, token): (&Http, &str) = match vendor {
            0 => (c.runai.http(), RUNAI_TOKEN),
            1 => (c.fudo.http(), FUDO_KEY),
            2 => (c.scim.http(), SCIM_STATIC),
            _ => (c.landscape.http(), LANDSCAPE_TOKEN),
        };
        let status = StatusCode::from_u16(status).map_err(|e| fail(e.to_string()))?;
        let reply = Reply { status, headers: HeaderMap::new(), body: body.0.clone(), request: String::new() };
        let mut req =
            Request::new(Method::POST, "http://127.0.0.1:9/x").auth(if vendor == 1 { Auth::Raw(token) } else { Auth::Bearer(token) });
        if with_body {
            req = req.body(json!({"name": "n", "clientSecret": BODY_SECRET}).to_string().into_bytes(), "application/json");
        }
        let secrets: &[&str] = if with_body { &[token, BODY_SECRET] } else { &[token] };

        let e = http.error_of(&req, &reply);
        prop_assert_eq!(e.status(), Some(status.as_u16()));
        prop_assert!(!e.to_string().trim().is_empty());
        check_error(&e, secrets)?;

        match http.accept(&req, reply.clone()) {
            Ok(r) => {
                prop_assert!(status.is_success());
                if vendor == 1 {
                    // Fudo: a 2xx is an error unless its `result` says success (or it is an
                    // empty 204). Read as a struct, like the client does: serde_json skips
                    // the other fields without checking their strings' UTF-8.
                    #[derive(serde::Deserialize)]
                    struct Envelope {
                        #[serde(default)]
                        result: Option<Json>,
                    }
                    let ok =
                        serde_json::from_slice::<Envelope>(&body.0).ok().is_some_and(|e| e.result == Some(Json::String("success".into())))
                            || (status == StatusCode::NO_CONTENT && r.is_empty());
                    prop_assert!(ok, "Fudo accepted {:?}", body);
                }
            }
            Err(e) => {
                prop_assert!(!status.is_success() || vendor == 1, "{:?} refused a {} answer: {}", vendor, status, e);
                check_error(&e, secrets)?;
            }
        }
        for e in [
            http.decode::<Json>(&reply).err(),
            http.decode::<Vec<Idp>>(&reply).err(),
            http.decode::<ListResponse<Json>>(&reply).err(),
            http.decode::<Vec<StagedGroup>>(&reply).err(),
            http.decode::<UserOidc>(&reply).err(),
            http.decode::<ImportSession>(&reply).err(),
        ]
        .into_iter()
        .flatten()
        {
            check_error(&e, &[token])?;
        }
        Ok(())
    });
}

#[test]
fn scrub_and_retry_after() {
    let secret = "[A-Z0-9][A-Z0-9-]{3,20}";
    let scrub_text = prop_oneof![
        "(?s).{0,80}",
        (prop::collection::vec(
            prop_oneof![
                "(?s).{0,12}",
                prop::sample::select(vec![
                    "password",
                    "\"client_secret\": ",
                    "\\\"apiKey\\\":\\\"",
                    "token=",
                    "Authorization: Bearer ",
                    "Basic ",
                    "https://u:",
                    "@host/",
                    "eyJhbGciOiJIUzI1NiJ9.",
                    "eyJzdWIiOiIxIn0.",
                    "sig",
                    "'",
                    "\"",
                    "\\",
                    "=",
                    ":",
                    " ",
                    "null",
                    "[redacted]",
                ])
                .prop_map(str::to_string),
                secret,
            ],
            0..12
        ))
        .prop_map(|parts| parts.concat()),
    ];
    let retry = prop_oneof![
        "(?s).{0,30}",
        "-?[0-9]{0,25}(\\.[0-9]{0,20})?([eE][-+]?[0-9]{1,4})?",
        prop::sample::select(vec![
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Sun, 06 Nov 2094 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "inf",
            "NaN",
            "-0",
            "1e308",
            "18446744073709551616",
            "0.0000001",
        ])
        .prop_map(str::to_string),
    ];
    let strategy = (scrub_text, prop::collection::vec(secret, 0..4), retry, any::<u32>(), prop::collection::vec(any::<u8>(), 0..30));
    harness::fuzz(TARGETS, "scrub_and_retry_after", 4000, strategy, |(text, known, retry, attempt, header_bytes)| {
        let mut with_secrets = text.clone();
        for k in &known {
            with_secrets.push_str(&format!(" {k} {}", serde_json::to_string(k).unwrap_or_default()));
        }
        let out = scrub::scrub(&with_secrets, &known);
        let known_refs: Vec<&str> = known.iter().map(String::as_str).collect();
        check_no_secret("scrubbed text", &out, &known_refs)?;
        let _ = scrub::is_secret_key(&text);
        let mut found = Vec::new();
        scrub::secrets_in_json(&json!({ "password": text, "x": [{ "apiKey": retry }] }), &mut found);
        prop_assert_eq!(found.len(), 2);

        let now = SystemTime::now();
        if let Some(d) = http::parse_retry_after(&retry, now) {
            prop_assert!(d <= http::MAX_RETRY_AFTER, "{:?} -> {:?}", retry, d);
        }
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(&header_bytes) {
            headers.insert(reqwest::header::RETRY_AFTER, v);
        }
        if let Some(d) = http::retry_after(&headers) {
            prop_assert!(d <= http::MAX_RETRY_AFTER);
        }
        let b = http::backoff(attempt);
        prop_assert!(b <= Duration::from_secs(5), "backoff({}) = {:?}", attempt, b);
        let _ = http::retryable(StatusCode::from_u16(100 + (attempt % 900) as u16).unwrap_or(StatusCode::OK));
        Ok(())
    });
}

// ================================================================ targets: the sandbox's SCIM parsers

fn filter_text() -> BoxedStrategy<String> {
    let token = prop_oneof![
        4 => prop::sample::select(vec![
            "userName", "name.givenName", "emails", "emails.value", "members", "value", "id", "ocid", "meta.created", "$ref",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName", "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group:description",
            "urn:", "urn:x", "a.b.c", "1abc", "é", "abcé", "urné", "ü.ä",
        ])
        .prop_map(str::to_string),
        3 => prop::sample::select(vec!["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "xx"]).prop_map(str::to_string),
        3 => prop::sample::select(vec!["and", "or", "not", "AND", "Or", "(", ")", "[", "]", "not("]).prop_map(str::to_string),
        3 => prop_oneof![
            "(?s).{0,8}".prop_map(|s: String| serde_json::to_string(&s).unwrap_or_default()),
            prop::sample::select(vec!["true", "false", "null", "1", "-1.5e3", "1e999", "\"a\\\"b\"", "\"\\u00e9\"", "\"\\ud800\"", "\"unterminated", "\"\\"])
                .prop_map(str::to_string),
        ],
        1 => "(?s).{0,6}",
    ];
    prop_oneof![
        4 => (prop::collection::vec((token, prop::sample::select(vec![" ", "", "  ", "\t"])), 0..14))
            .prop_map(|parts| parts.into_iter().map(|(t, sep)| format!("{t}{sep}")).collect::<String>()),
        1 => "(?s).{0,40}",
        1 => (1usize..80).prop_map(|n| format!("{}userName eq \"x\"{}", "(".repeat(n), ")".repeat(n))),
        1 => (1usize..80).prop_map(|n| format!("{}userName pr{}", "not (".repeat(n), ")".repeat(n))),
        1 => (1usize..40).prop_map(|n| format!("members[{}value eq \"x\"{}]", "emails[".repeat(n), "]".repeat(n))),
    ]
    .boxed()
}

#[test]
fn sandbox_scim_filter() {
    let strategy = (filter_text(), document(SCIM_RESOURCE), any::<Index>());
    harness::fuzz(TARGETS, "sandbox_scim_filter", 4000, strategy, |(text, resource, cut)| {
        let cut_at = cut.index(text.len() + 1);
        let prefix = text.get(..cut_at).unwrap_or(&text);
        for s in [text.as_str(), prefix, text.trim()] {
            if let Ok(f) = Filter::parse(s) {
                let _ = (f.paths(), f.id_set());
                if let Json::Object(root) = &resource {
                    let _ = f.matches(root, sandbox_scim::USER_SCHEMA);
                    let _ = f.matches(root, sandbox_scim::GROUP_SCHEMA);
                }
            }
            if let Ok(p) = AttrPath::parse(s) {
                let _ = (p.key(), p.full());
                if let Json::Object(root) = &resource {
                    let _ = identity_provider::sandbox::scim::filter::values(root, &p, sandbox_scim::USER_SCHEMA);
                }
            }
            let _ = PatchPath::parse(s);
            let _ = PatchPath::parse(&format!("members[{s}]"));
            let _ = PatchPath::parse(&format!("emails[{s}].value"));
            let _ = sandbox_scim::parse_urlencoded(s);
        }
        Ok(())
    });
}

fn patch_operation() -> BoxedStrategy<Json> {
    let op = prop_oneof![
        4 => prop::sample::select(vec!["add", "replace", "remove", "Add", "REMOVE", "move", ""]).prop_map(|s| Json::String(s.into())),
        1 => any_json(),
    ];
    let path = prop_oneof![
        4 => prop::sample::select(vec![
            "userName", "name", "name.givenName", "emails", "emails[type eq \"work\"]", "emails[type eq \"work\"].value", "members",
            "members[value eq \"u1\"]", "members[value eq \"u1\"].display", "displayName", "active", "id", "meta", "password",
            "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group:description", "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group",
            "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", "urn:x:y", "emails[", "members]", "é", "abcé",
        ])
        .prop_map(|s| Some(Json::String(s.into()))),
        2 => filter_text().prop_map(|s| Some(Json::String(s))),
        1 => Just(None),
        1 => any_json().prop_map(Some),
    ];
    let value = prop_oneof![
        3 => shaped(SCIM_RESOURCE).prop_map(Some),
        2 => value_of(K::List(SCIM_MEMBER)).prop_map(Some),
        2 => value_of(K::List(SCIM_EMAIL)).prop_map(Some),
        2 => any_json().prop_map(Some),
        1 => Just(None),
    ];
    (op, path, value)
        .prop_map(|(op, path, value)| {
            let mut m = serde_json::Map::new();
            m.insert("op".into(), op);
            if let Some(p) = path {
                m.insert("path".into(), p);
            }
            if let Some(v) = value {
                m.insert("value".into(), v);
            }
            Json::Object(m)
        })
        .boxed()
}

#[test]
fn sandbox_scim_patch() {
    let body = (prop::collection::vec(patch_operation(), 0..5), any::<u8>()).prop_map(|(ops, shape)| match shape % 8 {
        0 => json!({ "Operations": ops }),
        1 => json!({ "schemas": [sandbox_scim::PATCH_OP_SCHEMA], "Operations": ops.first().cloned().unwrap_or(Json::Null) }),
        _ => json!({ "schemas": [sandbox_scim::PATCH_OP_SCHEMA], "Operations": ops }),
    });
    let strategy = (document(SCIM_RESOURCE), body, any::<bool>());
    harness::fuzz(TARGETS, "sandbox_scim_patch", 2500, strategy, |(doc, body, group)| {
        let (Json::Object(mut doc), Json::Object(body)) = (doc, body) else { return Ok(()) };
        let schema = if group { &GROUP_PATCH } else { &USER_PATCH };
        let _ = patch::apply(&mut doc, schema, &body);
        Ok(())
    });
}

// ================================================================ target: through the clients

/// One canned answer of the local server.
#[derive(Clone, Debug)]
struct Canned {
    status: u16,
    body: Bytes,
    retry_after: Option<&'static str>,
}

struct Server {
    addr: SocketAddr,
    queue: Arc<Mutex<VecDeque<Canned>>>,
}

/// A local HTTP server that answers every request with the next canned answer (500 when
/// there is none left), on a thread of its own (for the rest of the process).
fn start_server() -> Server {
    {
        let queue: Arc<Mutex<VecDeque<Canned>>> = Arc::default();
        let q = queue.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("server runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr")).expect("send addr");
                let app = axum::Router::new().fallback(move || {
                    let q = q.clone();
                    async move {
                        let next = q.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                        let c = next.unwrap_or(Canned { status: 500, body: Bytes(b"{}".to_vec()), retry_after: None });
                        let mut resp = axum::response::Response::new(axum::body::Body::from(c.body.0));
                        *resp.status_mut() = StatusCode::from_u16(c.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                        resp.headers_mut().insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                        if let Some(r) = c.retry_after {
                            resp.headers_mut().insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static(r));
                        }
                        resp
                    }
                });
                axum::serve(listener, app).await.expect("serve");
            });
        });
        Server { addr: rx.recv().expect("server address"), queue }
    }
}

impl Server {
    fn answer_with(&self, answers: Vec<Canned>) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.clear();
        q.extend(answers);
    }
}

#[derive(Clone, Debug)]
enum Op {
    RunaiList,
    RunaiGet(String),
    RunaiCreate(Box<IdpRequest>),
    RunaiMappers(String),
    RunaiDelete(String),
    RunaiCoalesced(Vec<String>),
    FudoList,
    FudoGet(String, String),
    FudoCreate(String, String, String),
    FudoUpdate(String),
    FudoDelete(String, String),
    FudoObjspec,
    ScimGet(ScimAuthKind, String),
    ScimListAll(ScimAuthKind),
    ScimCreate(ScimAuthKind, Json),
    ScimPatch(ScimAuthKind, String),
    ScimBulk(ScimAuthKind, Vec<Json>),
    ScimFindId(ScimAuthKind, String),
    ScimCoalesced(ScimAuthKind, Vec<String>),
    ScimPassword(ScimAuthKind, String),
    LandscapeCreate(i64),
    LandscapeGet(i64),
    LandscapeCount(i64),
    LandscapeList(i64, bool),
}

#[derive(Clone, Copy, Debug)]
enum ScimAuthKind {
    Static,
    ClientCredentials,
    Password,
}

/// Request data: anything but the secrets (a request that sends a credential as, say, a
/// user name makes it data of the request, which errors may name).
fn request_text() -> BoxedStrategy<String> {
    text().prop_map(|t| if SECRETS.contains(&t.as_str()) { "not a secret".into() } else { t }).boxed()
}

fn without_secrets(j: Json) -> Json {
    match j {
        Json::String(s) if SECRETS.contains(&s.as_str()) => Json::String("not a secret".into()),
        Json::Array(items) => Json::Array(items.into_iter().map(without_secrets).collect()),
        Json::Object(m) => Json::Object(m.into_iter().map(|(k, v)| (k, without_secrets(v))).collect()),
        other => other,
    }
}

fn id_text() -> BoxedStrategy<String> {
    prop_oneof![3 => "[a-z0-9]{1,8}", 1 => "(?s).{0,10}"].boxed()
}

fn arb_op() -> BoxedStrategy<Op> {
    let auth = prop::sample::select(vec![ScimAuthKind::Static, ScimAuthKind::ClientCredentials, ScimAuthKind::Password]);
    prop_oneof![
        Just(Op::RunaiList),
        id_text().prop_map(Op::RunaiGet),
        idp_request(request_text).prop_map(|r| Op::RunaiCreate(Box::new(r))),
        id_text().prop_map(Op::RunaiMappers),
        id_text().prop_map(Op::RunaiDelete),
        prop::collection::vec(id_text(), 1..5).prop_map(Op::RunaiCoalesced),
        Just(Op::FudoList),
        (id_text(), id_text()).prop_map(|(u, o)| Op::FudoGet(u, o)),
        (id_text(), id_text(), request_text()).prop_map(|(u, o, s)| Op::FudoCreate(u, o, s)),
        request_text().prop_map(Op::FudoUpdate),
        (id_text(), id_text()).prop_map(|(u, o)| Op::FudoDelete(u, o)),
        Just(Op::FudoObjspec),
        (auth.clone(), id_text()).prop_map(|(a, i)| Op::ScimGet(a, i)),
        auth.clone().prop_map(Op::ScimListAll),
        (auth.clone(), shaped(SCIM_RESOURCE)).prop_map(|(a, b)| Op::ScimCreate(a, without_secrets(b))),
        (auth.clone(), id_text()).prop_map(|(a, i)| Op::ScimPatch(a, i)),
        (auth.clone(), prop::collection::vec(shaped(BULK_OP).prop_map(without_secrets), 0..3)).prop_map(|(a, ops)| Op::ScimBulk(a, ops)),
        (auth.clone(), request_text()).prop_map(|(a, v)| Op::ScimFindId(a, v)),
        (auth.clone(), prop::collection::vec(id_text(), 1..5)).prop_map(|(a, ids)| Op::ScimCoalesced(a, ids)),
        (auth, id_text()).prop_map(|(a, i)| Op::ScimPassword(a, i)),
        any::<i64>().prop_map(Op::LandscapeCreate),
        any::<i64>().prop_map(Op::LandscapeGet),
        any::<i64>().prop_map(Op::LandscapeCount),
        (any::<i64>(), any::<bool>()).prop_map(|(i, b)| Op::LandscapeList(i, b)),
    ]
    .boxed()
}

fn canned(fields: &'static [(&'static str, K)]) -> BoxedStrategy<Canned> {
    let retry_after = prop_oneof![
        6 => Just(None),
        // Short or past waits only: a long Retry-After pauses the vendor for real (what it
        // parses to is fuzzed in `scrub_and_retry_after`).
        1 => prop::sample::select(vec!["0", "1", "0.05", "-1", "abc", "", "NaN", "inf", "-0", "Wed, 21 Oct 2015 07:28:00 GMT"]).prop_map(Some),
    ];
    (arb_status(), body_bytes(fields), retry_after)
        .prop_map(|(status, body, retry_after)| Canned { status: status.clamp(200, 599), body, retry_after })
        .boxed()
}

/// A Fudo answer that passes the envelope check (200, `"result": "success"`), so that the
/// body gets as far as the models.
fn fudo_success() -> BoxedStrategy<Canned> {
    let with_success = |j: Json| match j {
        Json::Object(mut m) => {
            m.insert("result".into(), Json::String("success".into()));
            Json::Object(m)
        }
        other => other,
    };
    let doc = shaped(FUDO_BODY).prop_map(with_success).boxed();
    let echoed = echoing(doc.clone()).prop_map(move |b| match serde_json::from_slice::<Json>(&b.0) {
        // The echo may have replaced the result itself: put it back.
        Ok(j) => Bytes(serde_json::to_vec(&with_success(j)).unwrap_or_default()),
        Err(_) => b,
    });
    prop_oneof![doc.prop_map(|j| Bytes(serde_json::to_vec(&j).unwrap_or_default())), echoed]
        .prop_map(|body| Canned { status: 200, body, retry_after: None })
        .boxed()
}

/// Whether `op` is sent by a SCIM client with OAuth2 (whose first request goes to the
/// token endpoint).
fn needs_token(op: &Op) -> bool {
    matches!(
        op,
        Op::ScimGet(ScimAuthKind::ClientCredentials | ScimAuthKind::Password, _)
            | Op::ScimListAll(ScimAuthKind::ClientCredentials | ScimAuthKind::Password)
            | Op::ScimCreate(ScimAuthKind::ClientCredentials | ScimAuthKind::Password, _)
            | Op::ScimPatch(ScimAuthKind::ClientCredentials | ScimAuthKind::Password, _)
            | Op::ScimBulk(ScimAuthKind::ClientCredentials | ScimAuthKind::Password, _)
            | Op::ScimFindId(ScimAuthKind::ClientCredentials | ScimAuthKind::Password, _)
            | Op::ScimCoalesced(ScimAuthKind::ClientCredentials | ScimAuthKind::Password, _)
            | Op::ScimPassword(ScimAuthKind::ClientCredentials | ScimAuthKind::Password, _)
    )
}

/// The answers for one operation: shaped like the vendor's (any of its documents).
fn answers_for(op: &Op) -> BoxedStrategy<Vec<Canned>> {
    let any_of = |tables: Vec<&'static [(&'static str, K)]>| proptest::strategy::Union::new(tables.into_iter().map(canned)).boxed();
    let body = match op {
        Op::RunaiList | Op::RunaiGet(_) | Op::RunaiCreate(_) | Op::RunaiMappers(_) | Op::RunaiDelete(_) | Op::RunaiCoalesced(_) => {
            any_of(vec![IDP, RUNAI_POST, MAPPERS, RUNAI_ERROR])
        }
        Op::FudoList | Op::FudoGet(..) | Op::FudoCreate(..) | Op::FudoUpdate(_) | Op::FudoDelete(..) | Op::FudoObjspec => {
            prop_oneof![canned(FUDO_BODY), fudo_success()].boxed()
        }
        Op::ScimGet(..)
        | Op::ScimListAll(_)
        | Op::ScimCreate(..)
        | Op::ScimPatch(..)
        | Op::ScimBulk(..)
        | Op::ScimFindId(..)
        | Op::ScimCoalesced(..)
        | Op::ScimPassword(..) => any_of(vec![SCIM_LIST, SCIM_RESOURCE, BULK_RESPONSE, SCIM_ERROR]),
        _ => any_of(vec![SESSION, STAGED_PAGE, LANDSCAPE_ERROR]),
    };
    let token = (prop_oneof![4 => Just(200u16), 1 => arb_status()], prop_oneof![4 => body_bytes(TOKEN), 1 => body_bytes(OAUTH_ERROR)])
        .prop_map(|(status, body)| Canned { status: status.clamp(200, 599), body, retry_after: None });
    let rest = prop::collection::vec(body, 1..5);
    if needs_token(op) {
        (token, rest)
            .prop_map(|(t, mut rest)| {
                rest.insert(0, t);
                rest
            })
            .boxed()
    } else {
        rest.boxed()
    }
}

/// The user a create sends, from a document shaped like a SCIM resource (what the typed
/// user does not hold is left out; a document it cannot hold sends an empty user).
fn user_of(body: &Json) -> User {
    serde_json::from_value(body.clone()).unwrap_or_default()
}

/// A Bulk operation from a document shaped like one: its method, path, bulkId and data.
fn bulk_operation(op: &Json) -> BulkOperation {
    let text = |k: &str| op.get(k).and_then(Json::as_str).map(str::to_string);
    BulkOperation {
        method: text("method").unwrap_or_default(),
        path: text("path").unwrap_or_default(),
        bulk_id: text("bulkId"),
        data: op.get("data").or_else(|| op.get("response")).cloned(),
    }
}

fn scim_client(base: &str, kind: ScimAuthKind) -> ScimClient {
    let oauth = |grant| ScimAuth::OAuth2 {
        token_url: format!("{base}/oauth2/v1/token"),
        client_id: "client".into(),
        client_secret: SCIM_CLIENT_SECRET.into(),
        grant,
        scope: "urn:opc:idm:__myscopes__".into(),
    };
    let auth = match kind {
        ScimAuthKind::Static => ScimAuth::Static(SCIM_STATIC.into()),
        ScimAuthKind::ClientCredentials => oauth(Grant::ClientCredentials),
        ScimAuthKind::Password => oauth(Grant::Password { username: "admin".into(), password: SCIM_PASSWORD.into() }),
    };
    ScimClient::new(&format!("{base}/admin/v1"), auth, None, settings()).expect("scim client")
}

/// The secrets the client of `op` holds or sends: its credentials, the access token the
/// token endpoint issued (`issued`), and the secret fields of its request bodies. (A
/// server that echoes another vendor's secret is not this client's leak.)
fn secrets_of(op: &Op, issued: bool) -> Vec<&'static str> {
    let scim = |k: &ScimAuthKind| match k {
        ScimAuthKind::Static => vec![SCIM_STATIC],
        ScimAuthKind::ClientCredentials => vec![SCIM_CLIENT_SECRET],
        ScimAuthKind::Password => vec![SCIM_CLIENT_SECRET, SCIM_PASSWORD],
    };
    let mut out = match op {
        Op::RunaiList | Op::RunaiGet(_) | Op::RunaiCreate(_) | Op::RunaiMappers(_) | Op::RunaiDelete(_) | Op::RunaiCoalesced(_) => {
            vec![RUNAI_TOKEN]
        }
        Op::FudoList | Op::FudoGet(..) | Op::FudoCreate(..) | Op::FudoUpdate(_) | Op::FudoDelete(..) | Op::FudoObjspec => vec![FUDO_KEY],
        Op::ScimGet(k, _)
        | Op::ScimListAll(k)
        | Op::ScimCreate(k, _)
        | Op::ScimPatch(k, _)
        | Op::ScimBulk(k, _)
        | Op::ScimFindId(k, _)
        | Op::ScimCoalesced(k, _) => scim(k),
        // The new password is sent last: no earlier answer can echo it (that it is scrubbed
        // from errors is checked in `error_bodies`).
        Op::ScimPassword(k, _) => scim(k),
        Op::LandscapeCreate(_) | Op::LandscapeGet(_) | Op::LandscapeCount(_) | Op::LandscapeList(..) => vec![LANDSCAPE_TOKEN],
    };
    if issued {
        out.push(SCIM_ACCESS);
    }
    out
}

/// Runs one operation against the canned answers; the errors it returns must not carry a
/// secret of its client.
async fn run_op(base: &str, op: &Op, secrets: &[&str]) -> Result<(), TestCaseError> {
    let mut errors: Vec<ApiError> = Vec::new();
    let mut keep = |r: Result<(), ApiError>| {
        if let Err(e) = r {
            errors.push(e);
        }
    };
    match op {
        Op::RunaiList | Op::RunaiGet(_) | Op::RunaiCreate(_) | Op::RunaiMappers(_) | Op::RunaiDelete(_) | Op::RunaiCoalesced(_) => {
            let c = RunaiClient::new(base, RUNAI_TOKEN, settings()).expect("runai client");
            match op {
                Op::RunaiList => keep(c.list_idps().await.map(drop)),
                Op::RunaiGet(a) => keep(c.get_idp(a).await.map(drop)),
                Op::RunaiCreate(r) => keep(c.create_idp(r).await.map(drop)),
                Op::RunaiMappers(a) => keep(c.get_mappers(a).await.map(drop)),
                Op::RunaiDelete(a) => keep(c.delete_idp(a).await.map(drop)),
                Op::RunaiCoalesced(aliases) => {
                    for r in futures_util::future::join_all(aliases.iter().map(|a| c.get_idp_coalesced(a))).await {
                        keep(r.map(drop));
                    }
                }
                _ => unreachable!(),
            }
        }
        Op::FudoList | Op::FudoGet(..) | Op::FudoCreate(..) | Op::FudoUpdate(_) | Op::FudoDelete(..) | Op::FudoObjspec => {
            let c = FudoClient::new(base, FUDO_KEY, None, false, settings()).expect("fudo client");
            match op {
                Op::FudoList => keep(c.list().await.map(drop)),
                Op::FudoGet(u, o) => keep(c.get(u, o).await.map(drop)),
                Op::FudoCreate(u, o, s) => {
                    keep(c.create(&NewUserOidc { user_id: u.clone(), oidc_id: o.clone(), oidc_sub: s.clone() }).await)
                }
                Op::FudoUpdate(s) => keep(c.update("1", "2", &UserOidcPatch { oidc_sub: s.clone() }).await),
                Op::FudoDelete(u, o) => keep(c.delete(u, o).await.map(drop)),
                Op::FudoObjspec => keep(c.objspec().await.map(drop)),
                _ => unreachable!(),
            }
        }
        Op::ScimGet(k, id) => keep(scim_client(base, *k).get::<User>(id, &[]).await.map(drop)),
        Op::ScimListAll(k) => keep(scim_client(base, *k).list_all::<Group>(Some("displayName pr"), &[]).await.map(drop)),
        Op::ScimCreate(k, body) => keep(scim_client(base, *k).create(&user_of(body)).await.map(drop)),
        Op::ScimPatch(k, id) => keep(scim_client(base, *k).patch::<Group>(id, &[PatchOperation::remove_member("u1")]).await.map(drop)),
        Op::ScimBulk(k, ops) => keep(scim_client(base, *k).bulk(ops.iter().map(bulk_operation).collect()).await.map(drop)),
        Op::ScimFindId(k, v) => {
            let _ = scim_client(base, *k).find_id::<User>(v).await;
        }
        Op::ScimCoalesced(k, ids) => {
            let c = scim_client(base, *k);
            for r in futures_util::future::join_all(ids.iter().map(|i| c.get_user_coalesced(i))).await {
                keep(r.map(drop));
            }
        }
        Op::ScimPassword(k, id) => keep(scim_client(base, *k).set_password(id, BODY_SECRET).await),
        Op::LandscapeCreate(i) | Op::LandscapeGet(i) | Op::LandscapeCount(i) | Op::LandscapeList(i, _) => {
            let c = LandscapeClient::new(base, LANDSCAPE_TOKEN, settings()).expect("landscape client");
            match op {
                Op::LandscapeCreate(_) => keep(c.create_import_session(*i).await.map(drop)),
                Op::LandscapeGet(_) => keep(c.get_import_session(*i).await.map(drop)),
                Op::LandscapeCount(_) => keep(c.staged_count(*i, true).await.map(drop)),
                Op::LandscapeList(_, imported) => keep(c.list_staged(*i, *imported).await.map(drop)),
                _ => unreachable!(),
            }
        }
    }
    for e in &errors {
        check_error(e, secrets)?;
    }
    Ok(())
}

/// The clients' public methods against a local server answering with fuzzed bodies: this
/// reaches the private answer models and the paging loops.
#[test]
fn through_the_clients() {
    let strategy = arb_op().prop_flat_map(|op| {
        let answers = answers_for(&op);
        (Just(op), answers)
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("client runtime");
    let s = start_server();
    let base = format!("http://{}", s.addr);
    harness::fuzz(TARGETS, "through_the_clients", 400, strategy, |(op, answers)| {
        // Whether the first answer hands out the access token (to an OAuth2 client): a 2xx
        // that reads as the client's token response. (An answer that does not read issues
        // nothing: its values are no secret of the client.)
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            access_token: String,
            #[serde(default)]
            #[allow(dead_code)]
            expires_in: Option<u64>,
        }
        let issued = needs_token(&op)
            && answers.first().is_some_and(|a| {
                (200..300).contains(&a.status)
                    && serde_json::from_slice::<TokenResponse>(&a.body.0).is_ok_and(|t| t.access_token == SCIM_ACCESS)
            });
        s.answer_with(answers.into_iter().collect());
        rt.block_on(run_op(&base, &op, &secrets_of(&op, issued)))
    });
}

// ================================================================ regressions

/// Found by `sandbox_scim_filter` and `sandbox_scim_patch` (fixed): `AttrPath::parse`
/// sliced `s[..4]` to look for `urn:`, which panics when the fourth byte falls inside a
/// multi-byte character; any SCIM filter or PATCH path such as `" 𐀀"` or `"A𐀀"` took the
/// sandbox's request handler down.
#[test]
fn attribute_paths_with_multibyte_characters_are_refused_not_a_panic() {
    for s in [" 𐀀", "A𐀀", "abcé", "urné", "ur𐀀:x"] {
        assert!(AttrPath::parse(s).is_err(), "{s:?}");
        assert!(Filter::parse(&format!("{s} eq \"x\"")).is_err(), "{s:?}");
        assert!(PatchPath::parse(s).is_err(), "{s:?}");
    }
    assert!(Filter::parse(" 𐀀").is_err());
    let mut doc = serde_json::Map::new();
    let body = json!({"schemas": [sandbox_scim::PATCH_OP_SCHEMA], "Operations": [{"op": "add", "path": "A𐀀", "value": {}}]});
    let err = patch::apply(&mut doc, &USER_PATCH, body.as_object().expect("object")).expect_err("invalid path");
    assert_eq!(err.scim_type, Some("invalidPath"));
    // URN-qualified paths still parse.
    let p = AttrPath::parse("URN:x:name.givenName").expect("a URN path");
    assert_eq!((p.urn.as_deref(), p.attr.as_str(), p.sub.as_deref()), (Some("URN:x"), "name", Some("givenName")));
}

/// Found by `through_the_clients`: a token endpoint answering with an `expires_in` near
/// u64::MAX seconds (anything above about 9.2e18) makes `ScimClient::access_token` panic
/// with "overflow when adding duration to instant" (`Instant::now() + refresh_in` in
/// src/vendors/scim/client.rs), taking down whichever gRPC call needed a token. A lifetime that
/// long should be capped (e.g. at a day) or added with `checked_add`.
#[test]
fn scim_token_with_a_huge_expires_in_does_not_panic() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let s = start_server();
    let base = format!("http://{}", s.addr);
    for expires_in in [u64::MAX, 1 << 63, i64::MAX as u64] {
        let token = json!({"access_token": SCIM_ACCESS, "token_type": "Bearer", "expires_in": expires_in});
        let user = json!({"id": "u1", "userName": "u1"});
        s.answer_with(vec![
            Canned { status: 200, body: Bytes(token.to_string().into_bytes()), retry_after: None },
            Canned { status: 200, body: Bytes(user.to_string().into_bytes()), retry_after: None },
        ]);
        let c = scim_client(&base, ScimAuthKind::ClientCredentials);
        let got = rt.block_on(c.get::<User>("u1", &[])).expect("the user");
        assert_eq!(got.and_then(|u| u.id).as_deref(), Some("u1"), "expires_in {expires_in}");
    }
}

/// A client error for `answers` to `call`, as text.
fn error_text_for<F: std::future::Future<Output = Result<(), ApiError>>>(
    answers: &[(u16, Json)],
    call: impl FnOnce(String) -> F,
) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let s = start_server();
    s.answer_with(
        answers.iter().map(|(status, j)| Canned { status: *status, body: Bytes(j.to_string().into_bytes()), retry_after: None }).collect(),
    );
    let e = rt.block_on(call(format!("http://{}", s.addr))).expect_err("an error");
    format!("{e} / {}", e.detail())
}

/// A Fudo answer that passes the envelope check but does not fit the model, echoing the
/// API key where a boolean belongs: the decode error quotes the value, and
/// `FudoClient::decode` (src/vendors/fudo/client.rs) scrubs it with `.scrubbed(&[])`, by shape
/// only, not with the client's API key (`Http::decode` uses the client's secrets).
#[test]
fn fudo_decode_errors_do_not_echo_the_api_key() {
    let body = json!({"result": "success", "user_oidc": [{"user_id": "1", "oidc_id": "2", "removed": FUDO_KEY}]});
    let text = error_text_for(&[(200, body)], |base| async move {
        FudoClient::new(&base, FUDO_KEY, None, false, settings()).expect("client").list().await.map(drop)
    });
    assert!(!text.contains(FUDO_KEY), "{text}");
}

/// The same for SCIM: an answer that echoes the OAuth2 access token the client was issued.
/// `Http::decode` scrubs with the client's configured secrets (client secret, password),
/// and the access token obtained at run time is not among them (`ScimClient::json` has no
/// request to take it from).
#[test]
fn scim_decode_errors_do_not_echo_the_access_token() {
    let token = json!({"access_token": SCIM_ACCESS, "expires_in": 3600});
    let page = json!({"totalResults": SCIM_ACCESS, "Resources": []});
    let text = error_text_for(&[(200, token), (200, page)], |base| async move {
        scim_client(&base, ScimAuthKind::ClientCredentials).list_page::<User>(None, &[], 1, 10).await.map(drop)
    });
    assert!(!text.contains(SCIM_ACCESS), "{text}");
}
