//! Fudo PAM: assignments of OpenID Connect configurations to users, `/api/v2/user/oidc`
//! (Fudo's API documentation for `user/oidc`).
//!
//! - Ids are decimal strings wider than 2^53 (`"9124292845052624898"`). They are `String`
//!   end to end; an id that arrives as a JSON number is accepted only when its exact
//!   digits survive ([`id_string`]), never through `f64`.
//! - Every answer carries a `result` envelope: anything but `"success"` is an error
//!   with the server's message, whatever the HTTP status.
//! - The `Authorization` header is the raw API key (no `Bearer`).
//! - Deployments often run self-signed TLS: the client trusts an extra CA
//!   (`ca_cert_pem`) or, insecurely, skips verification.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::http::coalesce::{CoalesceSettings, CoalesceStats, Coalescer};
use crate::http::{ApiError, Auth, Created, Dialect, Http, HttpSettings, Request, json_error_text, path_segment};

const VENDOR: &str = super::VENDOR.label;
/// The path every endpoint hangs under, appended to the configured `url`.
pub const API_PATH: &str = "/api/v2";
/// What a right `fudo.url` looks like (for a 404 that a wrong one causes).
const BASE_HINT: &str = "`fudo.url` is the Fudo server's URL without a path, e.g. `https://fudo.example.com`; the provider adds \
                         `/api/v2`.";

/// Deserializes an id as its exact decimal text: a JSON string is taken as is, a JSON
/// integer keeps its digits (serde_json hands integers over as `u64`/`i64`, exactly), and
/// anything that went through floating point (a fraction, an exponent, or an integer too
/// wide for 64 bits) is refused, since its digits are already lost.
pub fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(IdVisitor)
}

/// [`id_string`] for an optional id (`null` or absent reads as `None`).
pub fn opt_id_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_option(OptIdVisitor)
}

struct IdVisitor;

impl<'de> Visitor<'de> for IdVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id as a decimal string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Err(E::custom(format!(
            "an id arrived as the non-integer or oversized JSON number {v}, whose exact digits are lost; Fudo ids must be decimal strings"
        )))
    }
}

struct OptIdVisitor;

impl<'de> Visitor<'de> for OptIdVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id as a decimal string, or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        id_string(d).map(Some)
    }
}

/// A boolean where `null` reads as false.
fn null_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

/// `UserOpenIDModel` as Fudo answers it. The read-only fields are optional: the server
/// may leave out the "expensive" ones (the spec's examples omit `user_organization`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct UserOidc {
    /// The protected unique id; the spec's examples never show it.
    #[serde(default, deserialize_with = "opt_id_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "id_string")]
    pub user_id: String,
    #[serde(deserialize_with = "id_string")]
    pub oidc_id: String,
    #[serde(default)]
    pub oidc_sub: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub user_domain: Option<String>,
    #[serde(default)]
    pub user_email: Option<String>,
    #[serde(default)]
    pub user_organization: Option<String>,
    #[serde(default)]
    pub user_role: Option<String>,
    #[serde(default)]
    pub oidc_name: Option<String>,
    /// Verbatim, in Fudo's format (`2024-06-19 08:39:55.351137-07`).
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub modified_at: Option<String>,
    #[serde(default, deserialize_with = "null_false")]
    pub removed: bool,
    #[serde(default, deserialize_with = "null_false")]
    pub builtin: bool,
    #[serde(default, deserialize_with = "null_false")]
    pub hidden: bool,
}

/// The body of POST: the writable part of `UserOpenIDModel`, ids as strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewUserOidc {
    pub user_id: String,
    pub oidc_id: String,
    pub oidc_sub: String,
}

/// The body of PATCH: only `oidc_sub` can change (the ids are immutable).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserOidcPatch {
    pub oidc_sub: String,
}

/// `{"result": ..., "user_oidc": [...]}`.
#[derive(Deserialize)]
struct ListBody {
    #[serde(default)]
    user_oidc: Option<Vec<UserOidc>>,
}

/// The envelope alone, and whatever an error answer says.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    result: Option<serde_json::Value>,
}

/// The text of an error answer: the first of the usual message keys, else nothing.
fn error_message(v: &serde_json::Value) -> Option<String> {
    fn text(v: &serde_json::Value) -> Option<String> {
        match v {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            serde_json::Value::Array(items) => {
                let parts: Vec<String> = items.iter().filter_map(text).collect();
                (!parts.is_empty()).then(|| parts.join("; "))
            }
            serde_json::Value::Object(m) => {
                let msg = ["message", "msg", "error", "detail", "description", "reason"].iter().find_map(|k| m.get(*k).and_then(text));
                match (m.get("field").and_then(serde_json::Value::as_str), msg) {
                    (Some(field), Some(msg)) if !msg.contains(field) => Some(format!("{field}: {msg}")),
                    (_, msg) => msg,
                }
            }
            _ => None,
        }
    }
    let obj = v.as_object()?;
    for key in ["message", "msg", "error", "errors", "detail", "description", "reason"] {
        if let Some(t) = obj.get(key).and_then(text) {
            return Some(match obj.get("field").and_then(serde_json::Value::as_str) {
                Some(field) if !t.contains(field) => format!("{field}: {t}"),
                _ => t,
            });
        }
    }
    None
}

/// Fudo's message in an error body.
fn error_text(body: &[u8]) -> Option<(String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    error_message(&v).map(|m| (m, None))
}

/// A 2xx answer is an error all the same when its `result` is not `"success"`.
fn check_success(status: StatusCode, bytes: &[u8]) -> Result<(), ApiError> {
    if status == StatusCode::NO_CONTENT && bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let envelope: Envelope = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::Decode { vendor: VENDOR, reason: format!("not a JSON object with a `result`: {}", json_error_text(&e)) })?;
    match envelope.result {
        Some(serde_json::Value::String(r)) if r == "success" => Ok(()),
        other => {
            let result = match other {
                None | Some(serde_json::Value::Null) => "no result".to_string(),
                Some(serde_json::Value::String(r)) => format!("result \"{r}\""),
                Some(v) => format!("result {v}"),
            };
            let message = error_text(bytes).map(|(m, _)| m).unwrap_or_else(|| "the request was not successful".to_string());
            Err(ApiError::from_status(VENDOR, status, Some((message, Some(result)))))
        }
    }
}

const DIALECT: Dialect = Dialect { vendor: VENDOR, error_text, check_success: Some(check_success) };

/// How concurrent assignment reads are batched (see [`FudoClient::get_coalesced`]): one
/// list answers any number of them.
const ASSIGNMENT_READS: CoalesceSettings = CoalesceSettings { max_batch: 1000, ..CoalesceSettings::DEFAULT };

/// An assignment's key: (`user_id`, `oidc_id`).
type Pair = (String, String);

/// A configured Fudo client. Clones share the connection pool, the governor and the
/// batching of reads.
#[derive(Clone)]
pub struct FudoClient {
    base: String,
    api_key: String,
    http: Http,
    assignment_reads: Arc<Coalescer<Pair, UserOidc>>,
}

impl fmt::Debug for FudoClient {
    /// The API key is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FudoClient").field("base", &self.base).finish_non_exhaustive()
    }
}

/// Why a Fudo client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FudoClientError {
    /// `ca_cert_pem` holds no usable certificate.
    #[error("fudo.ca_cert_pem: {0}")]
    CaCert(String),
    #[error("cannot set up the Fudo HTTP client: {0}")]
    Build(String),
}

impl FudoClient {
    /// `url` is the Fudo base (e.g. `https://fudo.example.com`); `/api/v2/...` is appended.
    /// `ca_cert_pem` is an extra CA to trust; `insecure` skips certificate verification.
    pub fn new(
        url: &str,
        api_key: &str,
        ca_cert_pem: Option<&str>,
        insecure: bool,
        settings: HttpSettings,
    ) -> Result<Self, FudoClientError> {
        let ca = ca_cert_pem.filter(|p| !p.trim().is_empty());
        if let Some(pem) = ca {
            if let Some(problem) = crate::http::ca_problem(pem) {
                return Err(FudoClientError::CaCert(problem));
            }
        }
        let batch = settings.batch_reads;
        let http = Http::new(DIALECT, settings, ca, insecure).map_err(|e| match ca {
            Some(_) => FudoClientError::CaCert(e),
            None => FudoClientError::Build(e),
        })?;
        let base = url.trim_end_matches('/').to_string();
        let probe = format!("{base}{API_PATH}/objspec/user_oidc");
        Ok(FudoClient {
            api_key: api_key.to_string(),
            http: http.with_secrets(&[api_key]).with_base_probe(probe, BASE_HINT),
            base,
            assignment_reads: Arc::new(Coalescer::new("Fudo assignment reads", ASSIGNMENT_READS.enabled(batch))),
        })
    }

    /// The shared HTTP layer (its settings and governor).
    pub fn http(&self) -> &Http {
        &self.http
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_PATH}{path}", self.base)
    }

    fn request<'a>(&'a self, method: Method, url: &'a str, body: Option<&impl Serialize>) -> Result<Request<'a>, ApiError> {
        let mut req = Request::new(method, url).auth(Auth::Raw(&self.api_key));
        if let Some(b) = body {
            let bytes = serde_json::to_vec(b).map_err(|e| ApiError::Decode { vendor: VENDOR, reason: e.to_string() })?;
            req = req.body(bytes, "application/json");
        }
        Ok(req)
    }

    /// Sends a request and checks the status and the `result` envelope; returns the body.
    async fn call(&self, method: Method, path: &str, body: Option<&impl Serialize>) -> Result<Vec<u8>, ApiError> {
        let url = self.url(path);
        let req = self.request(method.clone(), &url, body)?;
        // Setting `oidc_sub` twice has the effect of setting it once.
        let req = if method == Method::PATCH { req.repeat(crate::http::Repeat::Safe) } else { req };
        Ok(self.http.send(&req).await?.body)
    }

    /// Decodes an answer; serde quotes the offending value, so the error is scrubbed of
    /// the API key too.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, ApiError> {
        Self::decode_with(bytes, std::slice::from_ref(&self.api_key))
    }

    fn decode_with<T: DeserializeOwned>(bytes: &[u8], secrets: &[String]) -> Result<T, ApiError> {
        serde_json::from_slice(bytes).map_err(|e| ApiError::Decode { vendor: VENDOR, reason: json_error_text(&e) }.scrubbed(secrets))
    }

    /// `GET /api/v2/user/oidc`: every assignment (objects marked `removed` left out).
    pub async fn list(&self) -> Result<Vec<UserOidc>, ApiError> {
        let body: ListBody = self.decode(&self.call(Method::GET, "/user/oidc", None::<&()>).await?)?;
        Ok(body.user_oidc.unwrap_or_default().into_iter().filter(|a| !a.removed).collect())
    }

    /// `GET /api/v2/user/<user_id>/oidc/<oidc_id>`: the assignment, or None when it is
    /// gone (an empty list, a 404 for the user or configuration, or a `removed` object).
    pub async fn get(&self, user_id: &str, oidc_id: &str) -> Result<Option<UserOidc>, ApiError> {
        let bytes = match self.call(Method::GET, &one_path(user_id, oidc_id), None::<&()>).await {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let body: ListBody = self.decode(&bytes)?;
        Ok(body.user_oidc.unwrap_or_default().into_iter().find(|a| a.user_id == user_id && a.oidc_id == oidc_id && !a.removed))
    }

    /// Reads an assignment like [`FudoClient::get`], coalescing concurrent reads into one
    /// `GET /api/v2/user/oidc` (Fudo lists every assignment in one answer; see
    /// [`crate::http::coalesce`]). A pair missing from the list, or a failed list, falls back to
    /// the single GET, so an assignment reads as gone only when that GET says so.
    pub async fn get_coalesced(&self, user_id: &str, oidc_id: &str) -> Result<Option<UserOidc>, ApiError> {
        let key = (user_id.to_string(), oidc_id.to_string());
        self.assignment_reads.read(key, |_| self.assignments_by_pair(), || self.get(user_id, oidc_id)).await
    }

    /// How assignment reads have been batched so far.
    pub fn assignment_read_stats(&self) -> CoalesceStats {
        self.assignment_reads.stats()
    }

    async fn assignments_by_pair(&self) -> Result<HashMap<Pair, UserOidc>, ApiError> {
        Ok(self.list().await?.into_iter().map(|a| ((a.user_id.clone(), a.oidc_id.clone()), a)).collect())
    }

    /// `POST /api/v2/user/oidc`. Fudo answers only `{"result":"success"}`: read the
    /// assignment back for the server-made fields.
    ///
    /// The pair (`user_id`, `oidc_id`) is the natural key (Fudo answers 409 for a pair that
    /// exists): when an attempt's answer is lost (see [`Http::create`]), an assignment of
    /// the pair with the requested `oidc_sub` is adopted.
    pub async fn create(&self, req: &NewUserOidc) -> Result<(), ApiError> {
        let url = self.url("/user/oidc");
        let request = self.request(Method::POST, &url, Some(req))?;
        let lookup = || async {
            Ok(self.get(&req.user_id, &req.oidc_id).await?.filter(|a| a.oidc_sub.as_deref() == Some(req.oidc_sub.as_str())).map(drop))
        };
        let what = format!("assignment of OpenID Connect configuration {} to user {}", req.oidc_id, req.user_id);
        match self.http.create(&request, &what, lookup).await? {
            Created::New(_) | Created::Adopted(()) => Ok(()),
        }
    }

    /// `PATCH /api/v2/user/<user_id>/oidc/<oidc_id>`.
    pub async fn update(&self, user_id: &str, oidc_id: &str, patch: &UserOidcPatch) -> Result<(), ApiError> {
        self.call(Method::PATCH, &one_path(user_id, oidc_id), Some(patch)).await.map(drop)
    }

    /// `DELETE /api/v2/user/<user_id>/oidc/<oidc_id>`; Ok(false) when it was already gone.
    pub async fn delete(&self, user_id: &str, oidc_id: &str) -> Result<bool, ApiError> {
        match self.call(Method::DELETE, &one_path(user_id, oidc_id), None::<&()>).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `GET /api/v2/objspec/user_oidc`: the model's attribute specification, as sent.
    pub async fn objspec(&self) -> Result<serde_json::Value, ApiError> {
        self.decode(&self.call(Method::GET, "/objspec/user_oidc", None::<&()>).await?)
    }
}

fn one_path(user_id: &str, oidc_id: &str) -> String {
    format!("/user/{}/oidc/{}", path_segment(user_id), path_segment(oidc_id))
}

/// Checks an answer: a non-2xx status, or a body whose `result` is not `"success"`, is
/// an error carrying the server's message. A 204 has no body to judge. (The shared layer
/// does the same with [`DIALECT`]; this is that check on its own, for tests.)
#[cfg(test)]
fn check_answer(status: StatusCode, bytes: &[u8]) -> Result<(), ApiError> {
    if !status.is_success() {
        return Err(ApiError::from_status(VENDOR, status, error_text(bytes)));
    }
    check_success(status, bytes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const WIDE: &str = "9124292845052624898";

    #[test]
    fn ids_keep_their_exact_digits() {
        // As strings (what Fudo sends).
        let a: UserOidc = serde_json::from_str(&format!(r#"{{"user_id": "{WIDE}", "oidc_id": "{WIDE}"}}"#)).expect("strings");
        assert_eq!((a.user_id.as_str(), a.oidc_id.as_str()), (WIDE, WIDE));
        // As JSON integers: exact, although 9124292845052624898 > 2^53 (as f64 it would
        // read 9124292845052624896).
        let a: UserOidc =
            serde_json::from_str(&format!(r#"{{"user_id": {WIDE}, "oidc_id": 18446744073709551615, "id": -42}}"#)).expect("numbers");
        assert_eq!(a.user_id, WIDE);
        assert_eq!(a.oidc_id, "18446744073709551615");
        assert_eq!(a.id.as_deref(), Some("-42"));
        assert_ne!(format!("{}", WIDE.parse::<f64>().expect("f64") as u64), WIDE, "the premise: f64 loses the digits");
    }

    #[test]
    fn ids_that_went_through_floating_point_are_refused() {
        for n in ["9.124292845052625e18", "18446744073709551616", "12.5"] {
            let err = serde_json::from_str::<UserOidc>(&format!(r#"{{"user_id": {n}, "oidc_id": "1"}}"#)).expect_err(n);
            assert!(err.to_string().contains("decimal strings"), "{n}: {err}");
        }
        let err = serde_json::from_str::<UserOidc>(r#"{"user_id": true, "oidc_id": "1"}"#).expect_err("bool");
        assert!(err.to_string().contains("decimal string"), "{err}");
    }

    #[test]
    fn read_model_of_the_spec_example() {
        let body = json!({
            "result": "success",
            "user_oidc": [{
                "user_id": WIDE, "oidc_id": WIDE, "oidc_sub": "John",
                "user_name": "User_1", "user_domain": "zw.local", "user_email": "user@fudosecurity.com",
                "user_role": "operator", "oidc_name": "OKTA2",
                "created_at": "2024-06-19 08:39:55.351137-07", "modified_at": "2024-06-19 08:39:55.351137-07",
                "builtin": false, "hidden": null
            }]
        });
        let bytes = serde_json::to_vec(&body).expect("json");
        check_answer(StatusCode::OK, &bytes).expect("success");
        let list: ListBody = FudoClient::decode_with(&bytes, &[]).expect("decode");
        let a = &list.user_oidc.expect("list")[0];
        assert_eq!(a.user_name.as_deref(), Some("User_1"));
        assert_eq!(a.user_organization, None);
        assert_eq!(a.created_at.as_deref(), Some("2024-06-19 08:39:55.351137-07"));
        assert!(!a.builtin && !a.hidden && !a.removed);
    }

    #[test]
    fn requests_carry_ids_as_strings() {
        let body =
            serde_json::to_value(NewUserOidc { user_id: WIDE.into(), oidc_id: "9124292845052624897".into(), oidc_sub: "John".into() })
                .expect("json");
        assert_eq!(body, json!({"user_id": WIDE, "oidc_id": "9124292845052624897", "oidc_sub": "John"}));
        assert_eq!(serde_json::to_value(UserOidcPatch { oidc_sub: "JohnD".into() }).expect("json"), json!({"oidc_sub": "JohnD"}));
    }

    #[test]
    fn a_result_other_than_success_is_an_error_with_the_servers_message() {
        let err = check_answer(StatusCode::OK, br#"{"result": "error", "message": "Object is locked."}"#).expect_err("error");
        assert_eq!(err.status(), Some(200));
        assert!(err.detail().contains("Object is locked.") && err.detail().contains("result \"error\""), "{}", err.detail());
        let err = check_answer(StatusCode::OK, br#"{"user_oidc": []}"#).expect_err("no result");
        assert!(err.detail().contains("no result"), "{}", err.detail());
        let err = check_answer(StatusCode::OK, b"<html>proxy</html>").expect_err("not json");
        assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
        check_answer(StatusCode::NO_CONTENT, b"").expect("204 without body");
    }

    #[test]
    fn error_statuses_carry_the_servers_message() {
        let err =
            check_answer(StatusCode::NOT_FOUND, br#"{"result": "error", "message": "User with id 1 does not exist."}"#).expect_err("404");
        assert!(err.is_not_found());
        assert_eq!(err.to_string(), "Fudo answered 404: User with id 1 does not exist.");
        let err =
            check_answer(StatusCode::BAD_REQUEST, br#"{"result": "error", "message": "Missing required attribute.", "field": "oidc_sub"}"#)
                .expect_err("400");
        assert_eq!(err.to_string(), "Fudo answered 400: oidc_sub: Missing required attribute.");
        let err =
            check_answer(StatusCode::BAD_REQUEST, br#"{"result": "error", "errors": [{"field": "user_id", "message": "bad"}, "worse"]}"#)
                .expect_err("400");
        assert_eq!(err.to_string(), "Fudo answered 400: user_id: bad; worse");
        let err = check_answer(StatusCode::BAD_GATEWAY, b"<html>Bad gateway</html>").expect_err("502");
        assert_eq!(err.to_string(), "Fudo answered 502: Bad Gateway");
    }

    #[test]
    fn an_unusable_ca_is_reported_against_ca_cert_pem() {
        for pem in ["not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"] {
            let err = FudoClient::new("https://fudo.example.com", "k", Some(pem), false, HttpSettings::default()).expect_err(pem);
            assert!(matches!(err, FudoClientError::CaCert(_)), "{pem}: {err:?}");
            assert!(err.to_string().starts_with("fudo.ca_cert_pem"), "{err}");
        }
        let c = FudoClient::new("https://fudo.example.com/", "secret-key", None, true, HttpSettings::default()).expect("client");
        assert_eq!(c.url("/user/oidc"), "https://fudo.example.com/api/v2/user/oidc");
        assert!(!format!("{c:?}").contains("secret-key"));
        assert_eq!(one_path(WIDE, "1/2"), format!("/user/{WIDE}/oidc/1%2F2"));
    }

    mod coalescing {
        use futures_util::future::join_all;

        use super::super::*;
        use crate::sandbox::faults::FaultSettings;
        use crate::sandbox::fudo::{OIDC_AZUREAD, OIDC_OKTA2, USER_1, USER_2};
        use crate::sandbox::{self, RunningSandbox, SandboxConfig};

        /// The three pairs the seeds allow besides the built-in one.
        const PAIRS: [(&str, &str); 3] = [(USER_1, OIDC_OKTA2), (USER_1, OIDC_AZUREAD), (USER_2, OIDC_OKTA2)];

        async fn with_assignments() -> (RunningSandbox, FudoClient) {
            let s = sandbox::spawn(SandboxConfig::default()).await.expect("sandbox");
            let c = FudoClient::new(
                &s.fudo_url(),
                sandbox::DEFAULT_FUDO_API_KEY,
                None,
                false,
                HttpSettings { max_retries: 0, ..Default::default() },
            )
            .expect("client");
            for (i, (u, o)) in PAIRS.iter().enumerate() {
                let req = NewUserOidc { user_id: u.to_string(), oidc_id: o.to_string(), oidc_sub: format!("sub-{i}") };
                c.create(&req).await.expect("create");
            }
            (s, c)
        }

        /// (lists, single GETs) logged since `from`.
        fn reads(s: &RunningSandbox, from: usize) -> (usize, usize) {
            let log = s.state.requests();
            let gets = log[from..].iter().filter(|r| r.method == "GET");
            let lists = gets.clone().filter(|r| r.path == "/fudo/api/v2/user/oidc").count();
            (lists, gets.filter(|r| r.path.starts_with("/fudo/api/v2/user/") && r.path != "/fudo/api/v2/user/oidc").count())
        }

        #[tokio::test]
        async fn concurrent_reads_share_one_list_and_a_deleted_assignment_is_gone() {
            let (s, c) = with_assignments().await;
            assert!(c.delete(USER_1, OIDC_AZUREAD).await.expect("delete"));
            let from = s.state.requests().len();
            let got = join_all(PAIRS.iter().map(|(u, o)| c.get_coalesced(u, o))).await;
            for ((u, o), g) in PAIRS.iter().zip(got) {
                let g = g.expect("read");
                if *o == OIDC_AZUREAD {
                    assert!(g.is_none(), "the deleted assignment reads as gone");
                } else {
                    let a = g.expect("found");
                    assert_eq!((a.user_id.as_str(), a.oidc_id.as_str()), (*u, *o));
                }
            }
            assert_eq!(reads(&s, from), (1, 1), "one list, and one GET to confirm the missing pair is gone");
            // Clones share the batching.
            let clone = c.clone();
            let from = s.state.requests().len();
            let got = join_all([clone.get_coalesced(USER_1, OIDC_OKTA2), c.get_coalesced(USER_2, OIDC_OKTA2)]).await;
            assert_eq!(
                got.into_iter().map(|g| g.expect("read").and_then(|a| a.oidc_sub)).collect::<Vec<_>>(),
                [Some("sub-0".to_string()), Some("sub-2".to_string())]
            );
            assert_eq!(reads(&s, from), (1, 0));
            assert_eq!(c.assignment_read_stats().batches, 2);
        }

        #[tokio::test]
        async fn a_failed_list_falls_back_to_single_reads() {
            let (s, c) = with_assignments().await;
            let from = s.state.requests().len();
            s.state.faults().set(FaultSettings { rate: 1.0, count: Some(1), statuses: vec![500], ..Default::default() });
            let got = join_all(PAIRS.iter().map(|(u, o)| c.get_coalesced(u, o))).await;
            assert!(got.into_iter().all(|g| g.expect("read").is_some()));
            assert_eq!(reads(&s, from), (1, 3), "the list failed; every assignment was read on its own");
        }
    }
}
