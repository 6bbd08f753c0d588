//! Workload identity for SCIM tokens (`scim.workload_identity`) through the real terraform
//! CLI: JWTs minted here with a test RSA key, the sandbox trusting that key's JWKS
//! (`--scim-jwks`, `--scim-jwt-issuer`, `--scim-jwt-audience`), and the token handed to
//! the provider as HCP Terraform does, in `TFC_WORKLOAD_IDENTITY_TOKEN` (never on the
//! command line, which Terraform logs). Covered: a valid token (create, empty plans,
//! destroy), one exchange per provider process (also against an issuer that accepts a
//! token once), an expired token, a wrong audience, a wrong signing key, the tagged
//! variable, the file source, the conflict with a client secret, and that the JWT never
//! reaches the state, Terraform's output or its trace logs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::{self, CmdOutput, Sandbox, Workspace};

/// HCP Terraform's issuer, and the audience a workspace would configure
/// (`TFC_WORKLOAD_IDENTITY_AUDIENCE`).
const ISSUER: &str = "https://app.terraform.io";
const AUDIENCE: &str = "oci.identity.sandbox";
const TOKEN_ROUTE: &str = "POST /oci/oauth2/v1/token";
const TOKEN_VAR: &str = "TFC_WORKLOAD_IDENTITY_TOKEN";

/// A signing key and its `kid`, as an issuer of workload identity tokens has.
struct Issuer {
    kid: String,
    key: EncodingKey,
    jwk: Jwk,
}

impl Issuer {
    fn new(kid: &str) -> Issuer {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("an RSA key");
        let key = EncodingKey::from_rsa_pem(pair.serialize_pem().as_bytes()).expect("the key as PEM");
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("the public JWK");
        jwk.common.key_id = Some(kid.to_string());
        Issuer { kid: kid.to_string(), key, jwk }
    }

    /// An RS256 token like HCP Terraform's, for `aud`, expiring `exp_in` seconds from now
    /// (negative: already expired).
    fn token(&self, aud: &str, exp_in: i64) -> String {
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64;
        let claims = json!({
            "iss": ISSUER,
            "aud": aud,
            "sub": "organization:acme:project:Default Project:workspace:identity:run_phase:apply",
            "terraform_run_phase": "apply",
            "jti": format!("{}-{}", now, SERIAL.fetch_add(1, Ordering::SeqCst)),
            "iat": now.min(now + exp_in - 60),
            "nbf": now.min(now + exp_in - 60),
            "exp": now + exp_in,
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("signed")
    }

    fn valid(&self) -> String {
        self.token(AUDIENCE, 1800)
    }
}

/// A sandbox that trusts `issuer`'s key for [`ISSUER`] and [`AUDIENCE`]; the JWKS file
/// lives in the returned directory.
fn trusting(issuer: &Issuer, extra: &[&str]) -> (Sandbox, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a directory for the JWKS");
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, serde_json::to_string(&JwkSet { keys: vec![issuer.jwk.clone()] }).expect("JWKS")).expect("write the JWKS");
    let jwks = jwks.to_string_lossy().into_owned();
    let mut args = vec!["--scim-jwks", jwks.as_str(), "--scim-jwt-issuer", ISSUER, "--scim-jwt-audience", AUDIENCE];
    args.extend_from_slice(extra);
    (Sandbox::start_with(&args), dir)
}

/// A workspace whose SCIM settings are the sandbox's URL and client id, with no client
/// secret: the credential is the workload identity token.
fn workspace(sb: &Sandbox) -> Workspace {
    let mut ws = Workspace::new(sb);
    ws.remove_env("IDENTITY_SCIM_CLIENT_SECRET");
    ws
}

fn config(workload_identity: &str, users: usize) -> String {
    format!(
        r#"provider "identity" {{
  scim = {{
    workload_identity = {workload_identity}
  }}
}}

resource "identity_scim_user" "u" {{
  count     = {users}
  user_name = "wi-${{count.index}}"
}}"#
    )
}

fn tokens(sb: &Sandbox) -> u64 {
    sb.route_count(TOKEN_ROUTE)
}

/// Neither `jwt` nor its signature (the part that is unique to it) is in `text`.
#[track_caller]
fn assert_hidden(jwt: &str, text: &str, what: &str) {
    let signature = jwt.rsplit('.').next().expect("a JWT");
    assert!(!text.contains(jwt) && !text.contains(signature), "the workload identity token appears in {what}");
}

/// Every command's output, checked for the token.
#[track_caller]
fn assert_out_hidden(jwt: &str, out: &CmdOutput) {
    assert_hidden(jwt, &out.combined(), &format!("the output of `{}`", out.command));
}

/// A command that must fail with exit code 1: its output as it is, and on one line
/// (Terraform wraps the diagnostics' words; see [`support::flat`]).
#[track_caller]
fn expect_exit_1(ws: &Workspace, args: &[&str]) -> (String, String) {
    let out = ws.run(args);
    if out.code != 1 {
        ws.fail("expected exit code 1", &out);
    }
    let raw = out.combined();
    let flat = support::flat(&raw);
    (raw, flat)
}

const APPLY: &[&str] = &["apply", "-auto-approve", "-input=false", "-no-color"];

#[test]
fn a_workload_identity_token_manages_users_with_one_exchange_per_provider_process() {
    let issuer = Issuer::new("hcp-1");
    let (sb, _jwks) = trusting(&issuer, &[]);
    let mut ws = workspace(&sb);
    let jwt = issuer.valid();
    ws.set_env(TOKEN_VAR, &jwt);
    ws.write_main(&config("{}", 5));

    // One apply process creates five users concurrently: one exchange.
    let before = tokens(&sb);
    let out = ws.apply_unchecked("its token requests are counted first; checked right below");
    assert_out_hidden(&jwt, &out);
    assert_eq!(tokens(&sb) - before, 1, "one exchange serves the five creates of the apply process");
    assert_eq!(sb.scim_users().len(), 5);
    ws.check_applied();

    // A refreshing plan is one provider process: one exchange.
    let before = tokens(&sb);
    let out = ws.plan(&[]);
    assert_eq!(out.code, 0, "{}", ws.report("the plan is empty", &out));
    assert_out_hidden(&jwt, &out);
    assert_eq!(tokens(&sb) - before, 1, "one exchange for the five reads of the plan");

    // The exchanges were client assertions: no client secret was sent.
    let token_requests = sb.requests_to("POST", "/oci/oauth2/v1/token");
    assert!(!token_requests.is_empty() && token_requests.iter().all(|r| r["status"] == json!(200)), "{token_requests:#?}");

    // With every log on, the token is nowhere: not in the output, not in the trace logs,
    // not in the state, not in the sandbox's logs.
    let mut traced = ws.sibling();
    traced.set_env("TF_LOG", "trace");
    std::fs::copy(ws.dir().join("terraform.tfstate"), traced.dir().join("terraform.tfstate")).expect("copy the state");
    traced.write_main(&config("{}", 6));
    let out = traced.apply_with(&[]);
    assert!(out.stderr.len() > 10_000, "trace logs were captured");
    assert!(out.stderr.contains("identity_scim_user"), "the trace logs cover the provider's calls");
    assert_out_hidden(&jwt, &out);
    traced.assert_state_lacks(&jwt);
    traced.assert_state_lacks(jwt.rsplit('.').next().expect("signature"));
    assert_eq!(sb.scim_users().len(), 6);
    std::fs::copy(traced.dir().join("terraform.tfstate"), ws.dir().join("terraform.tfstate")).expect("copy the state back");
    ws.write_main(&config("{}", 6));
    ws.assert_plan_empty();
    ws.assert_state_lacks(&jwt);

    // Destroy: its plan and its apply are two provider processes, one exchange each.
    let before = tokens(&sb);
    let out = ws.destroy();
    assert_out_hidden(&jwt, &out);
    assert_eq!(tokens(&sb) - before, 2, "one exchange for the destroy's refresh, one for its deletes");
    assert!(sb.scim_users().is_empty());
    assert_hidden(&jwt, &sb.stderr_tail(), "the sandbox's logs");
}

/// Against an issuer that accepts a token once (`--scim-jwt-single-use`), the provider
/// still works, because it exchanges the token once per process; a second process with
/// the same token is refused, in the issuer's words; a new token (the next run phase)
/// works again.
#[test]
fn an_issuer_that_accepts_a_token_once_is_served_one_exchange() {
    let issuer = Issuer::new("hcp-1");
    let (sb, _jwks) = trusting(&issuer, &["--scim-jwt-single-use"]);
    let mut ws = workspace(&sb);
    let plan_phase = issuer.valid();
    ws.set_env(TOKEN_VAR, &plan_phase);
    ws.write_main(&config(r#"{ grant = "jwt_bearer" }"#, 8));
    let out = ws.apply_with(&[]);
    assert_out_hidden(&plan_phase, &out);
    assert_eq!(sb.scim_users().len(), 8, "eight creates, one exchange: a second would have been refused");
    assert_eq!(tokens(&sb), 1);

    let (raw, err) = expect_exit_1(&ws, &["plan", "-input=false", "-no-color"]);
    assert_hidden(&plan_phase, &raw, "the error");
    assert!(err.contains("Credentials refused by the SCIM token endpoint (400 invalid_grant)"), "{err}");
    assert!(err.contains("The assertion has already been used"), "the issuer's words: {err}");
    assert!(err.contains("TFC_WORKLOAD_IDENTITY_TOKEN"), "names where the token came from: {err}");

    ws.set_env(TOKEN_VAR, &issuer.valid());
    ws.assert_plan_empty();
    ws.set_env(TOKEN_VAR, &issuer.valid());
    let before = tokens(&sb);
    // `destroy` refreshes and deletes in two provider processes: each exchanges the
    // token once, which such an issuer refuses the second time. HCP Terraform gives each
    // run phase its own token; here the destroy's plan is saved and applied with a new one.
    let plan = ws.run_ok(&["plan", "-destroy", "-input=false", "-no-color", "-out=destroy.tfplan"]);
    assert_eq!(tokens(&sb) - before, 1, "{}", ws.report("one exchange", &plan));
    ws.set_env(TOKEN_VAR, &issuer.valid());
    ws.run_ok(&["apply", "-input=false", "-no-color", "destroy.tfplan"]);
    assert!(sb.scim_users().is_empty());
}

#[test]
fn an_expired_token_a_wrong_audience_and_a_wrong_key_are_refused_in_the_issuers_words() {
    let issuer = Issuer::new("hcp-1");
    let (sb, _jwks) = trusting(&issuer, &[]);
    let mut ws = workspace(&sb);
    // The same `kid` as the trusted key, signed with another key: only the signature tells.
    let impostor = Issuer::new("hcp-1");
    let cases = [
        ("{}", issuer.token(AUDIENCE, -600), "401 invalid_client", "The assertion has expired"),
        ("{}", issuer.token("aws.workload.identity", 600), "401 invalid_client", "does not include \"oci.identity.sandbox\""),
        ("{}", impostor.valid(), "401 invalid_client", "The assertion's signature is invalid"),
        (r#"{ grant = "jwt_bearer" }"#, issuer.token(AUDIENCE, -600), "400 invalid_grant", "The assertion has expired"),
    ];
    for (settings, jwt, code, words) in &cases {
        ws.set_env(TOKEN_VAR, jwt);
        ws.write_main(&config(settings, 1));
        let (raw, err) = expect_exit_1(&ws, APPLY);
        assert_hidden(jwt, &raw, "the error");
        assert!(err.contains(&format!("Credentials refused by the SCIM token endpoint ({code})")), "{words}: {err}");
        assert!(err.contains(words), "the issuer's words ({words}): {err}");
        assert!(err.contains("the environment variable TFC_WORKLOAD_IDENTITY_TOKEN"), "{err}");
    }
    assert!(sb.scim_users().is_empty(), "nothing was created");
    assert_eq!(sb.route_count("POST /oci/admin/v1/Users"), 0);
}

#[test]
fn the_token_comes_from_a_tagged_variable_or_a_file() {
    let issuer = Issuer::new("hcp-1");
    let (sb, _jwks) = trusting(&issuer, &[]);
    let mut ws = workspace(&sb);

    // The tagged variable wins over the plain one (which holds an expired token here).
    let tagged = issuer.valid();
    ws.set_env("TFC_WORKLOAD_IDENTITY_TOKEN_OCI", &tagged);
    ws.set_env(TOKEN_VAR, &issuer.token(AUDIENCE, -600));
    ws.write_main(&config(r#"{ tag = "OCI" }"#, 2));
    let out = ws.apply();
    assert_out_hidden(&tagged, &out);
    assert_eq!(sb.scim_users().len(), 2);
    ws.assert_state_lacks(&tagged);

    // Without it: an error at the attribute that names the variable, and HCP Terraform's
    // audience variable that makes a run get it.
    ws.remove_env("TFC_WORKLOAD_IDENTITY_TOKEN_OCI");
    let (_, err) = expect_exit_1(&ws, &["plan", "-input=false", "-no-color"]);
    assert!(err.contains("Missing workload identity token"), "{err}");
    assert!(err.contains("TFC_WORKLOAD_IDENTITY_TOKEN_OCI") && err.contains("TFC_WORKLOAD_IDENTITY_AUDIENCE_OCI"), "{err}");

    // A file, relative to the directory Terraform runs in; the tag from the environment
    // is no longer set, so nothing conflicts.
    let from_file = issuer.valid();
    ws.write_file("secrets/token.jwt", &format!("{from_file}\n"));
    ws.remove_env(TOKEN_VAR);
    ws.write_main(&config(r#"{ file = "secrets/token.jwt" }"#, 3));
    let out = ws.apply();
    assert_out_hidden(&from_file, &out);
    assert_eq!(sb.scim_users().len(), 3);
    ws.assert_state_lacks(&from_file);

    // An unreadable file: an error at `scim.workload_identity.file`.
    ws.write_main(&config(r#"{ file = "secrets/missing.jwt" }"#, 3));
    let (_, err) = expect_exit_1(&ws, &["plan", "-input=false", "-no-color"]);
    assert!(err.contains("Cannot read the workload identity token") && err.contains("secrets/missing.jwt"), "{err}");

    ws.write_main(&config(r#"{ file = "secrets/token.jwt" }"#, 3));
    ws.destroy();
}

#[test]
fn a_client_secret_beside_workload_identity_is_refused_at_plan_time() {
    let issuer = Issuer::new("hcp-1");
    let (sb, _jwks) = trusting(&issuer, &[]);
    // The sandbox's environment sets IDENTITY_SCIM_CLIENT_SECRET: left in place here.
    let mut ws = Workspace::new(&sb);
    let jwt = issuer.valid();
    ws.set_env(TOKEN_VAR, &jwt);
    ws.write_main(&config("{}", 1));
    let (raw, err) = expect_exit_1(&ws, &["plan", "-input=false", "-no-color"]);
    assert!(err.contains("Conflicting SCIM credentials"), "{err}");
    assert!(err.contains("IDENTITY_SCIM_CLIENT_SECRET") && err.contains("scim.client_secret"), "{err}");
    assert_hidden(&jwt, &raw, "the error");
    // In the configuration: the schema's conflict, at the attribute.
    ws.remove_env("IDENTITY_SCIM_CLIENT_SECRET");
    ws.write_main(&config("{}", 1).replace("workload_identity = {}", "workload_identity = {}\n    client_secret = \"s3cret\""));
    let (_, err) = expect_exit_1(&ws, &["validate", "-no-color"]);
    assert!(err.contains("Conflicting attributes") && err.contains("scim.client_secret"), "{err}");
    assert_eq!(tokens(&sb), 0, "nothing was sent");
    assert!(support::scim_list(&sb.state(), "users").is_empty());
}

/// The claims the tests' tokens carry are those of an HCP Terraform token.
#[test]
fn test_tokens_look_like_hcp_terraforms() {
    let issuer = Issuer::new("hcp-1");
    let jwt = issuer.valid();
    let payload = jwt.split('.').nth(1).expect("payload");
    let claims: Value =
        serde_json::from_slice(&base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).expect("base64url"))
            .expect("JSON");
    assert_eq!((claims["iss"].as_str(), claims["aud"].as_str()), (Some(ISSUER), Some(AUDIENCE)));
    assert!(claims["exp"].as_i64() > claims["iat"].as_i64());
}
