//! The `identity` provider: its configuration schema, assembled from each vendor's block
//! (`src/vendors/<vendor>/config.rs`) and the settings they share ([`settings`]), and
//! configuration into one client per vendor.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::http::HttpSettings;
use crate::tfplugin::validator::Validator;
use crate::tfplugin::{AttrPath, Attribute, DataSource, Diagnostic, Diagnostics, Provider, Resource, Schema, Value};
use crate::vendors::fudo::client::FudoClient;
use crate::vendors::landscape::client::LandscapeClient;
use crate::vendors::runai::client::RunaiClient;
use crate::vendors::scim::client::ScimClient;
use crate::vendors::scim::config::ScimSettings;
use crate::vendors::{VENDORS, fudo, landscape, runai, scim};

pub(crate) mod settings;

use settings::{Context, Env, process_env};

pub const TYPE_NAME: &str = "identity";
/// The registry address used in examples, tests and the debug reattach line.
pub const REGISTRY_ADDRESS: &str = "registry.terraform.io/idfabric/identity";

/// The identity provider.
#[derive(Default)]
pub struct IdentityProvider;

/// What configuration produces: one client per vendor; an `Err` says how to configure a
/// vendor that is not.
pub struct ProviderData {
    runai: Result<RunaiClient, String>,
    fudo: Result<FudoClient, String>,
    scim: Result<ScimSettings, String>,
    scim_client: Result<Arc<ScimClient>, String>,
    landscape: Result<LandscapeClient, String>,
    pub http: HttpSettings,
    /// Who manages which group's membership, in the plan being made (for warnings).
    pub membership_claims: crate::vendors::scim::membership_conflicts::MembershipClaims,
}

fn not_configured(vendor: &str) -> impl Fn(&String) -> Diagnostics + '_ {
    move |why| Diagnostic::error(format!("{vendor} is not configured"), why.clone()).into()
}

impl ProviderData {
    /// The Run:ai client, or a diagnostic saying how to configure it.
    pub fn runai(&self) -> Result<&RunaiClient, Diagnostics> {
        self.runai.as_ref().map_err(not_configured(runai::VENDOR.label))
    }
    /// The Fudo client, or how to configure it.
    pub fn fudo_client(&self) -> Result<&FudoClient, Diagnostics> {
        self.fudo.as_ref().map_err(not_configured(fudo::VENDOR.label))
    }
    /// The SCIM settings (the ephemeral OAuth2 token reads the token endpoint's).
    pub fn scim(&self) -> Result<&ScimSettings, Diagnostics> {
        self.scim.as_ref().map_err(not_configured(scim::VENDOR.label))
    }
    /// The SCIM client (one per provider process: its token cache is shared by every
    /// resource), or how to configure it.
    pub fn scim_client(&self) -> Result<&ScimClient, Diagnostics> {
        self.scim_client.as_deref().map_err(not_configured(scim::VENDOR.label))
    }
    /// The Landscape client (one connection pool per provider process), or how to
    /// configure it.
    pub fn landscape_client(&self) -> Result<&LandscapeClient, Diagnostics> {
        self.landscape.as_ref().map_err(not_configured(landscape::VENDOR.label))
    }
}

impl IdentityProvider {
    pub fn provider_schema() -> Schema {
        Schema::new(
            "Manages identity federation: Run:ai identity providers, Fudo user-to-OIDC assignments, \
             OCI IAM identity domains over SCIM 2.0 and Canonical Landscape OIDC group imports. \
             Every vendor block is optional; configure only the vendors your configuration uses. \
             TLS: every vendor block takes `ca_cert_pem`, a CA trusted in addition to the system's roots, and \
             `insecure_skip_verify`. The system's roots are those of the operating system's certificate store; on Linux, \
             `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR` replace the places they are read from.",
            vec![
                runai::config::block(),
                fudo::config::block(),
                scim::config::block(),
                landscape::config::block(),
                Attribute::number("request_timeout")
                    .optional()
                    .describe("Timeout of one HTTP request, in seconds. Defaults to `30`.")
                    .validate(Validator::IntBetween { min: 1, max: 3600 }),
                Attribute::number("max_retries")
                    .optional()
                    .describe(
                        "How many times a request that failed transiently (429, 502, 503, 504, connection errors) is retried, with \
                         jittered exponential backoff and `Retry-After` honoured. A create (POST) is sent again only when it provably \
                         never reached the server, or after the object it would create was looked up by its natural key and not \
                         found (found, it is adopted). Defaults to `5`.",
                    )
                    .validate(Validator::IntBetween { min: 0, max: 100 }),
            ],
        )
    }
}

/// The URL and CA checks of [`IdentityProvider::validate_config`] (configure makes the
/// same ones while resolving the settings).
fn check_settings(config: &Value, env: Env<'_>, diags: &mut Diagnostics) {
    for v in VENDORS {
        let _ = settings::vendor_url(v, config, env, diags);
        let _ = settings::check_tls(v, config, diags);
    }
    scim::config::validate_token_url(config, env, diags);
    scim::config::validate_workload_identity(config, env, diags);
}

/// Configuration into clients, with settings missing from `config` looked up in `env`.
fn configure_with(config: &Value, env: Env<'_>, diags: &mut Diagnostics) -> Option<ProviderData> {
    let http = HttpSettings {
        request_timeout: Duration::from_secs(config.get("request_timeout").as_i64().filter(|v| *v > 0).unwrap_or(30) as u64),
        max_retries: config.get("max_retries").as_i64().filter(|v| *v >= 0).unwrap_or(5) as u32,
        ..HttpSettings::default()
    };
    let cx = Context { config, env, http: &http };
    let runai = runai::config::configure(&cx, diags);
    let fudo = fudo::config::configure(&cx, diags);
    let (scim_settings, scim) = scim::config::configure(&cx, diags);
    let landscape = landscape::config::configure(&cx, diags);

    let blocks: [(&crate::vendors::Vendor, &settings::Sends, Option<&str>); 4] = [
        (&runai::VENDOR, &runai.sends, runai.exposed),
        (&fudo::VENDOR, &fudo.sends, fudo.exposed),
        (&scim::VENDOR, &scim.sends, scim.exposed),
        (&landscape::VENDOR, &landscape.sends, landscape.exposed),
    ];
    // Certificate checks off: say so on every run, naming what is exposed.
    for (v, _, exposed) in &blocks {
        if config.get(v.block).get("insecure_skip_verify").as_bool() == Some(true) {
            diags.push(settings::insecure_warning(v, *exposed));
        }
    }
    // Credentials over plain http travel in cleartext: say so (loopback excepted).
    for (v, sends, _) in &blocks {
        for (attr, url, what) in sends.iter().filter(|(_, url, _)| settings::is_cleartext_remote(url)) {
            let block = v.block;
            diags.push(
                Diagnostic::warning(
                    "Credentials sent over plain http",
                    format!(
                        "`{block}.{attr}` is {}: {what} would travel unencrypted to a host that is not this machine. \
                         Use an https:// URL.",
                        crate::http::strip_url_queries(url)
                    ),
                )
                .at(AttrPath::attrs(&[block, attr])),
            );
        }
    }

    if diags.has_errors() {
        return None;
    }
    Some(ProviderData {
        runai: runai.client,
        fudo: fudo.client,
        scim: scim_settings,
        scim_client: scim.client,
        landscape: landscape.client,
        http,
        membership_claims: Default::default(),
    })
}

#[async_trait]
impl Provider for IdentityProvider {
    type Data = ProviderData;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Self::provider_schema()
    }

    /// Checks what can be checked before configuration: the URL settings, whether from
    /// the configuration or the environment (the schema's validators see only the
    /// former), and the CA bundles. Configure checks them again (values unknown here).
    fn validate_config(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        check_settings(config, &process_env, &mut diags);
        diags
    }

    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<ProviderData> {
        configure_with(config, &process_env, diags)
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ProviderData>>> {
        crate::vendors::resources()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ProviderData>>> {
        crate::vendors::data_sources()
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn crate::tfplugin::resource::EphemeralResource<ProviderData>>> {
        crate::vendors::ephemeral_resources()
    }

    fn list_resources(&self) -> Vec<Arc<dyn crate::tfplugin::resource::ListResource<ProviderData>>> {
        crate::vendors::list_resources()
    }

    fn functions(&self) -> Vec<Arc<dyn crate::tfplugin::function::Function>> {
        crate::vendors::functions()
    }

    fn actions(&self) -> Vec<Arc<dyn crate::tfplugin::action::Action<ProviderData>>> {
        crate::vendors::actions()
    }
}

#[cfg(test)]
mod tests {
    use super::settings::{URL_PATTERN, ca_cert_description, is_cleartext_remote, setting, url_problem, vendor_http_settings};
    use super::*;
    use crate::http::{DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_RESPONSE_MB};
    use crate::vendors::Vendor;
    use crate::vendors::scim::config::default_token_url;

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut c = Value::object_of(&[
            ("runai", Value::Null),
            ("fudo", Value::Null),
            ("scim", Value::Null),
            ("landscape", Value::Null),
            ("request_timeout", Value::Null),
            ("max_retries", Value::Null),
        ]);
        for (k, v) in pairs {
            c.set(k, v.clone());
        }
        c
    }

    /// An environment holding only `vars` (tests never read or set the process's own).
    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    /// Configures with `vars` as the whole environment.
    fn configure_in(c: &Value, vars: &[(&str, &str)]) -> (Option<ProviderData>, Diagnostics) {
        let mut d = Diagnostics::new();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let _in_runtime = rt.enter();
        let data = configure_with(c, &env_of(vars), &mut d);
        (data, d)
    }

    fn configure(c: &Value) -> (Option<ProviderData>, Diagnostics) {
        configure_in(c, &[])
    }

    /// The ValidateProviderConfig checks, with `vars` as the whole environment.
    fn validate_in(c: &Value, vars: &[(&str, &str)]) -> Diagnostics {
        let mut d = Diagnostics::new();
        check_settings(c, &env_of(vars), &mut d);
        d
    }

    fn errors(d: &Diagnostics) -> Vec<&Diagnostic> {
        d.iter().filter(|x| x.severity == crate::tfplugin::diag::Severity::Error).collect()
    }

    fn path_of(x: &Diagnostic) -> String {
        x.path.as_ref().map(|p| p.to_string()).unwrap_or_default()
    }

    /// A vendor block with its URL and credential set (`extra` added).
    fn vendor_block(v: &Vendor, extra: &[(&str, Value)]) -> Value {
        let credential = if v.block == "fudo" { "api_key" } else { "token" };
        let mut b =
            Value::object_of(&[("url", format!("https://{}.example.com/api", v.block).into()), (credential, "s3cret-value".into())]);
        for (k, val) in extra {
            b.set(k, val.clone());
        }
        b
    }

    #[test]
    fn unconfigured_vendor_names_the_attribute_and_env_variable() {
        let (data, d) = configure(&config(&[]));
        assert!(!d.has_errors(), "{d}");
        let err = data.expect("data").runai().expect_err("not configured").to_string();
        assert!(err.contains("runai.url") && err.contains("IDENTITY_RUNAI_URL") && err.contains("IDENTITY_RUNAI_TOKEN"), "{err}");
    }

    #[test]
    fn url_without_credentials_is_an_error_at_the_attribute() {
        let c = config(&[
            ("runai", Value::object_of(&[("url", "https://app.run.ai".into()), ("token", Value::Null)])),
            ("landscape", Value::object_of(&[("url", "https://landscape.example.com".into()), ("token", Value::Null)])),
        ]);
        let (data, d) = configure(&c);
        assert!(data.is_none());
        let paths: Vec<String> = d.iter().filter_map(|x| x.path.as_ref().map(|p| p.to_string())).collect();
        assert!(paths.contains(&"runai.token".to_string()), "{paths:?}");
        assert!(paths.contains(&"landscape.token".to_string()), "{paths:?}");
    }

    #[test]
    fn insecure_fudo_warns_every_run() {
        let c = config(&[(
            "fudo",
            Value::object_of(&[
                ("url", "https://fudo.example.com".into()),
                ("api_key", "k".into()),
                ("ca_cert_pem", Value::Null),
                ("insecure_skip_verify", true.into()),
            ]),
        )]);
        let (data, d) = configure(&c);
        assert!(data.is_some());
        assert!(d.iter().any(|x| x.severity == crate::tfplugin::diag::Severity::Warning && x.summary.contains("TLS")));
    }

    #[test]
    fn every_validator_pattern_compiles() {
        use crate::tfplugin::schema::{AttrKind, Attribute};
        fn walk(attrs: &[Attribute], n: &mut usize) {
            for a in attrs {
                let mut vs: Vec<&Validator> = a.validators.iter().collect();
                while let Some(v) = vs.pop() {
                    match v {
                        Validator::Matches { pattern, .. } => {
                            regex::Regex::new(pattern).unwrap_or_else(|e| panic!("{}: {pattern:?}: {e}", a.name));
                            *n += 1;
                        }
                        Validator::Each(inner) => vs.push(inner),
                        _ => {}
                    }
                }
                if let AttrKind::Nested { attributes, .. } = &a.kind {
                    walk(attributes, n);
                }
            }
        }
        let p = IdentityProvider;
        let mut n = 0;
        walk(&p.schema().block.attributes, &mut n);
        for r in p.resources() {
            walk(&r.schema().block.attributes, &mut n);
        }
        for d in p.data_sources() {
            walk(&d.schema().block.attributes, &mut n);
        }
        assert!(n > 10, "found {n} patterns");
    }

    #[test]
    fn plain_http_beyond_this_machine_is_flagged() {
        for u in ["http://scim.example.com/admin/v1", "http://10.0.0.5:8080/x", "http://[2001:db8::1]/x"] {
            assert!(is_cleartext_remote(u), "{u}");
        }
        for u in ["https://scim.example.com", "http://127.0.0.1:9/x", "http://localhost/x", "http://[::1]:80/", "not a url"] {
            assert!(!is_cleartext_remote(u), "{u}");
        }
    }

    #[test]
    fn tokens_read_from_files_lose_their_newline() {
        let b = Value::object_of(&[("token", "abc.def\n".into()), ("api_key", " k1 \r\n".into()), ("password", " p \n".into())]);
        let env = env_of(&[("IDENTITY_X_TOKEN", "from-env\n")]);
        assert_eq!(setting(&b, "token", None, &env), Ok(Some("abc.def".to_string())));
        assert_eq!(setting(&b, "api_key", None, &env), Ok(Some("k1".to_string())));
        assert_eq!(setting(&b, "password", None, &env), Ok(Some(" p \n".to_string())), "a password is taken as it is");
        let blank = Value::object_of(&[("token", "\n".into())]);
        assert_eq!(setting(&blank, "token", None, &env), Ok(None), "a blank token is no token");
        assert_eq!(setting(&Value::Null, "token", Some("IDENTITY_X_TOKEN"), &env), Ok(Some("from-env".to_string())));
    }

    #[test]
    fn rate_settings_are_validated_at_plan_time_and_reach_each_vendor() {
        use crate::tfplugin::value::Number;
        let schema = IdentityProvider::provider_schema();
        let float = |f: f64| Value::Number(Number::Float(f));
        let validate = |c: &Value| {
            let mut d = Diagnostics::new();
            crate::tfplugin::validator::validate_attributes(&schema.block.attributes, c, &AttrPath::root(), &mut d);
            d
        };
        for (block, attr, bad) in [
            ("scim", "max_concurrent_requests", Value::int(0)),
            ("runai", "max_concurrent_requests", Value::int(-3)),
            ("fudo", "max_requests_per_second", float(0.0)),
            ("landscape", "max_requests_per_second", float(-1.5)),
            ("scim", "max_response_mb", Value::int(0)),
            ("fudo", "max_response_mb", Value::int(5000)),
        ] {
            let c = config(&[(block, Value::object_of(&[(attr, bad.clone())]))]);
            let d = validate(&c);
            let paths: Vec<String> = d.iter().filter_map(|x| x.path.as_ref().map(|p| p.to_string())).collect();
            assert!(d.has_errors() && paths.contains(&format!("{block}.{attr}")), "{block}.{attr} = {bad:?}: {paths:?} {d}");
        }
        let good =
            config(&[("scim", Value::object_of(&[("max_concurrent_requests", Value::int(4)), ("max_requests_per_second", float(2.5))]))]);
        assert!(!validate(&good).has_errors());

        let top = HttpSettings { max_retries: 7, ..HttpSettings::default() };
        let s = vendor_http_settings(&top, good.get("scim"));
        assert_eq!((s.max_concurrent_requests, s.max_requests_per_second, s.max_retries), (4, Some(2.5), 7));
        let s = vendor_http_settings(&top, good.get("runai"));
        assert_eq!((s.max_concurrent_requests, s.max_requests_per_second), (DEFAULT_MAX_CONCURRENT_REQUESTS, None));
        assert_eq!(s.max_response_bytes, DEFAULT_MAX_RESPONSE_MB << 20, "the default");
        let small = config(&[("fudo", Value::object_of(&[("max_response_mb", Value::int(3))]))]);
        assert_eq!(vendor_http_settings(&top, small.get("fudo")).max_response_bytes, 3 << 20);
        // Every attribute is described (the docs are generated from the descriptions).
        for block in ["runai", "fudo", "scim", "landscape"] {
            let a = schema.block.attributes.iter().find(|a| a.name == block).expect("block");
            let crate::tfplugin::schema::AttrKind::Nested { attributes, .. } = &a.kind else { panic!("{block} is nested") };
            for name in ["max_concurrent_requests", "max_requests_per_second", "max_response_mb"] {
                let attr = attributes.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("{block}.{name}"));
                assert!(!attr.description.is_empty(), "{block}.{name} has a description");
            }
        }
    }

    #[test]
    fn every_vendor_block_has_the_same_tls_options() {
        let schema = IdentityProvider::provider_schema();
        assert!(schema.block.description.contains("SSL_CERT_FILE"), "the provider description documents SSL_CERT_FILE");
        for v in VENDORS {
            let a = schema.block.attributes.iter().find(|a| a.name == v.block).expect("block");
            let crate::tfplugin::schema::AttrKind::Nested { attributes, .. } = &a.kind else { panic!("{} is nested", v.block) };
            let find = |name: &str| attributes.iter().find(|x| x.name == name).unwrap_or_else(|| panic!("{}.{name}", v.block));
            let (ca, insecure) = (find("ca_cert_pem"), find("insecure_skip_verify"));
            assert!(ca.optional && !ca.sensitive && insecure.optional, "{}", v.block);
            assert_eq!(ca.description, ca_cert_description(v.server), "{}: the same words, with its server", v.block);
            for words in ["in addition to the system's trusted roots", "SSL_CERT_FILE", "SSL_CERT_DIR", "CaUsedAsEndEntity"] {
                assert!(ca.description.contains(words), "{}.ca_cert_pem: {words}", v.block);
            }
            for words in ["every run shows a warning", v.credential, "Defaults to `false`"] {
                assert!(insecure.description.contains(words), "{}.insecure_skip_verify: {words}", v.block);
            }

            // They reach the vendor's HTTP settings, which every client is built from.
            let top = HttpSettings::default();
            let pem = "-----BEGIN CERTIFICATE-----\n...";
            let c = config(&[(v.block, Value::object_of(&[("ca_cert_pem", pem.into()), ("insecure_skip_verify", true.into())]))]);
            let s = vendor_http_settings(&top, c.get(v.block));
            assert_eq!((s.ca_cert_pem.as_deref(), s.insecure_skip_verify), (Some(pem), true), "{}", v.block);
            let blank = config(&[(v.block, Value::object_of(&[("ca_cert_pem", " \n".into())]))]);
            let s = vendor_http_settings(&top, blank.get(v.block));
            assert_eq!((s.ca_cert_pem, s.insecure_skip_verify), (None, false), "{}: a blank bundle is none", v.block);
        }
    }

    #[test]
    fn an_unusable_ca_is_an_error_at_the_vendors_ca_cert_pem() {
        for v in VENDORS {
            for pem in ["not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"] {
                let c = config(&[(v.block, vendor_block(v, &[("ca_cert_pem", pem.into())]))]);
                let (data, d) = configure(&c);
                assert!(data.is_none(), "{}: {pem:?}", v.block);
                let errs = errors(&d);
                assert_eq!(errs.len(), 1, "{}: one error, not one per layer: {d}", v.block);
                assert_eq!(path_of(errs[0]), format!("{}.ca_cert_pem", v.block));
                assert_eq!(errs[0].summary, format!("Invalid {}.ca_cert_pem", v.block));
                assert!(errs[0].detail.contains("BEGIN CERTIFICATE"), "{}", errs[0].detail);
                // ValidateProviderConfig says the same, before anything is configured.
                let early = validate_in(&c, &[]);
                assert_eq!(
                    errors(&early).iter().map(|x| (path_of(x), &x.summary)).collect::<Vec<_>>(),
                    [(path_of(errs[0]), &errs[0].summary)]
                );
            }
        }
        // A usable CA (and one set for a vendor whose URL is not) is fine everywhere.
        let ca = crate::sandbox::tls::generate(&["localhost".to_string()]).expect("certificate").ca_pem;
        let mut pairs: Vec<(&str, Value)> =
            VENDORS.iter().map(|v| (v.block, vendor_block(v, &[("ca_cert_pem", ca.as_str().into())]))).collect();
        let (data, d) = configure(&config(&pairs));
        assert!(d.is_empty(), "{d}");
        let data = data.expect("configured");
        assert!(data.runai().is_ok() && data.fudo_client().is_ok() && data.scim_client().is_ok() && data.landscape_client().is_ok());
        pairs[0].1 = Value::object_of(&[("ca_cert_pem", "garbage".into())]);
        let (_, d) = configure(&config(&pairs));
        assert_eq!(errors(&d).iter().map(|x| path_of(x)).collect::<Vec<_>>(), ["runai.ca_cert_pem"], "checked without a URL too");
    }

    #[test]
    fn insecure_skip_verify_warns_for_every_vendor_naming_what_is_exposed() {
        for v in VENDORS {
            let c = config(&[(v.block, vendor_block(v, &[("insecure_skip_verify", true.into())]))]);
            let (data, d) = configure(&c);
            assert!(data.is_some() && !d.has_errors(), "{}: {d}", v.block);
            let w: Vec<&Diagnostic> = d.iter().filter(|x| x.severity == crate::tfplugin::diag::Severity::Warning).collect();
            assert_eq!(w.len(), 1, "{}: {d}", v.block);
            assert_eq!(w[0].summary, format!("TLS verification is off for {}", v.label));
            assert_eq!(path_of(w[0]), format!("{}.insecure_skip_verify", v.block));
            let exposed = if v.block == "scim" { "the SCIM token" } else { v.credential };
            for words in [exposed, &format!("`{}.ca_cert_pem`", v.block), &format!("`{}.insecure_skip_verify` is true", v.block)] {
                assert!(w[0].detail.contains(words), "{}: {words}: {}", v.block, w[0].detail);
            }
            assert!(!format!("{d}").contains("s3cret-value"));
            let off = config(&[(v.block, vendor_block(v, &[("insecure_skip_verify", false.into())]))]);
            assert!(configure(&off).1.is_empty(), "{}: no warning when false", v.block);
        }
        let oauth2 = Value::object_of(&[
            ("url", "https://idcs-x.identity.oraclecloud.com/admin/v1".into()),
            ("client_id", "id".into()),
            ("client_secret", "s3cret-value".into()),
            ("insecure_skip_verify", true.into()),
        ]);
        let (_, d) = configure(&config(&[("scim", oauth2)]));
        let w = d.iter().find(|x| x.summary == "TLS verification is off for SCIM").expect("warning");
        assert!(w.detail.contains("the OAuth2 client secret and the access tokens"), "{}", w.detail);
    }

    #[test]
    fn urls_from_the_environment_are_checked_like_the_attribute() {
        let secrets = [
            ("IDENTITY_RUNAI_TOKEN", "s3cret-runai"),
            ("IDENTITY_FUDO_API_KEY", "s3cret-fudo"),
            ("IDENTITY_SCIM_TOKEN", "s3cret-scim"),
            ("IDENTITY_LANDSCAPE_TOKEN", "s3cret-landscape"),
        ];
        for v in VENDORS {
            let mut vars = secrets.to_vec();
            vars.push((v.url_env, "idcs.example.com/admin/v1"));
            for (when, d) in [("configure", configure_in(&config(&[]), &vars).1), ("validate", validate_in(&config(&[]), &vars))] {
                let errs = errors(&d);
                assert_eq!(errs.len(), 1, "{when} {}: {d}", v.url_env);
                assert_eq!(errs[0].summary, format!("Invalid {}", v.url_env));
                assert_eq!(path_of(errs[0]), format!("{}.url", v.block));
                assert_eq!(
                    errs[0].detail,
                    format!(
                        "The environment variable {} is \"idcs.example.com/admin/v1\", which is not an http:// or https:// URL (e.g. {}).",
                        v.url_env, v.example
                    )
                );
                assert!(!format!("{d}").contains("s3cret"), "{when}: no secret in {d}");
            }
        }
        // The exact text for SCIM.
        let (data, d) = configure_in(&config(&[]), &[("IDENTITY_SCIM_URL", "idcs.example.com/admin/v1"), ("IDENTITY_SCIM_TOKEN", "t")]);
        assert!(data.is_none());
        assert_eq!(
            errors(&d)[0].detail,
            "The environment variable IDENTITY_SCIM_URL is \"idcs.example.com/admin/v1\", which is not an http:// or https:// URL \
             (e.g. https://idcs-xxxx.identity.oraclecloud.com/admin/v1)."
        );

        // What the pattern lets through but reqwest refuses is caught too, from either place.
        let bad_port = "https://scim.example.com:99999/admin/v1";
        let (_, d) = configure_in(&config(&[]), &[("IDENTITY_SCIM_URL", bad_port), ("IDENTITY_SCIM_TOKEN", "t")]);
        assert_eq!(
            errors(&d)[0].detail,
            format!(
                "The environment variable IDENTITY_SCIM_URL is \"{bad_port}\", which is not a valid URL: invalid port number (e.g. {}).",
                scim::VENDOR.example
            )
        );
        let c = config(&[("scim", Value::object_of(&[("url", bad_port.into()), ("token", "t".into())]))]);
        let (_, d) = configure(&c);
        let e = errors(&d);
        assert_eq!((e.len(), e[0].summary.as_str(), path_of(e[0])), (1, "Invalid scim.url", "scim.url".to_string()), "{d}");
        assert!(e[0].detail.starts_with(&format!("`scim.url` is \"{bad_port}\", which is not a valid URL")), "{}", e[0].detail);
        let c = config(&[(
            "scim",
            Value::object_of(&[
                ("url", "https://x/admin/v1".into()),
                ("client_id", "i".into()),
                ("client_secret", "s3cret".into()),
                ("token_url", "x/oauth2/v1/token".into()),
            ]),
        )]);
        let (_, d) = configure(&c);
        let e = errors(&d);
        assert_eq!((e.len(), e[0].summary.as_str(), path_of(e[0])), (1, "Invalid scim.token_url", "scim.token_url".to_string()), "{d}");
        assert!(!format!("{d}").contains("s3cret"));

        // User information and query values in a URL are not shown.
        let (_, d) =
            configure_in(&config(&[]), &[("IDENTITY_RUNAI_URL", "ftp://admin:hunter2@host/x?sig=s3cret#f"), ("IDENTITY_RUNAI_TOKEN", "t")]);
        let detail = &errors(&d)[0].detail;
        assert!(detail.contains("\"ftp://***@host/x\"") && !detail.contains("hunter2") && !detail.contains("s3cret"), "{detail}");

        // A valid URL passes; a configured URL wins over (and hides) a bad variable.
        let (data, d) =
            configure_in(&config(&[]), &[("IDENTITY_SCIM_URL", "https://idcs-x.example.com/admin/v1"), ("IDENTITY_SCIM_TOKEN", "t")]);
        assert!(d.is_empty() && data.expect("configured").scim_client().is_ok(), "{d}");
        let c = config(&[("scim", Value::object_of(&[("url", "https://idcs-x.example.com/admin/v1".into())]))]);
        let (data, d) = configure_in(&c, &[("IDENTITY_SCIM_URL", "not a url"), ("IDENTITY_SCIM_TOKEN", "t")]);
        assert!(d.is_empty() && data.is_some(), "{d}");
        // An unknown URL is not checked (nor configured) until it is known.
        let c = config(&[("scim", Value::object_of(&[("url", Value::unknown())]))]);
        let (data, d) = configure_in(&c, &[("IDENTITY_SCIM_URL", "not a url")]);
        assert!(d.is_empty() && data.expect("configured").scim().is_err(), "{d}");
    }

    #[test]
    fn the_configure_time_url_check_applies_the_attributes_rule() {
        let schema = IdentityProvider::provider_schema();
        let mut url_attrs = 0;
        for v in VENDORS {
            let a = schema.block.attributes.iter().find(|a| a.name == v.block).expect("block");
            let crate::tfplugin::schema::AttrKind::Nested { attributes, .. } = &a.kind else { panic!("{} is nested", v.block) };
            for x in attributes.iter().filter(|x| x.name == "url" || x.name == "token_url") {
                assert!(
                    matches!(x.validators.as_slice(), [Validator::Matches { pattern, .. }] if *pattern == URL_PATTERN),
                    "{}.{} is validated by URL_PATTERN",
                    v.block,
                    x.name
                );
                url_attrs += 1;
            }
        }
        assert_eq!(url_attrs, 5, "four `url`s and `scim.token_url`");
        // The same verdict at plan time (on the configuration) and at configure time.
        for u in [
            "https://a",
            "http://127.0.0.1:9/x",
            "idcs.example.com/admin/v1",
            "https://",
            "ftp://x",
            "https://h st/x",
            " https://a",
            "https://a\n",
        ] {
            let c = config(&[("scim", Value::object_of(&[("url", u.into())]))]);
            let mut d = Diagnostics::new();
            crate::tfplugin::validator::validate_attributes(&schema.block.attributes, &c, &AttrPath::root(), &mut d);
            let at_configure = url_problem(u);
            assert_eq!(d.has_errors(), at_configure.as_deref() == Some("not an http:// or https:// URL"), "{u:?}: {d} / {at_configure:?}");
        }
    }

    #[test]
    fn validator_descriptions_do_not_repeat_themselves() {
        let p = IdentityProvider;
        let mut schemas = vec![("provider".to_string(), p.schema())];
        schemas.extend(p.resources().iter().map(|r| (r.type_name().to_string(), r.schema())));
        schemas.extend(p.data_sources().iter().map(|d| (d.type_name().to_string(), d.schema())));
        schemas.extend(p.ephemeral_resources().iter().map(|e| (e.type_name().to_string(), e.schema())));
        schemas.extend(p.list_resources().iter().map(|l| (l.type_name().to_string(), l.schema())));
        let doubled = regex::Regex::new(r"(?i)\bmust be must be\b|[^.]\.\.(\s|$)").expect("pattern");
        for (name, schema) in &schemas {
            let page = crate::tfplugin::docs::render_schema(schema);
            assert!(!doubled.is_match(&page), "{name}: {:?}", doubled.find(&page).map(|m| &page[m.start().saturating_sub(80)..m.end()]));
        }
        assert!(crate::tfplugin::docs::render_schema(&schemas[0].1).contains("Must be a number greater than 0 and at most 10000."));
    }

    #[test]
    fn scim_token_url_defaults_from_the_scim_url() {
        assert_eq!(
            default_token_url("https://idcs-x.identity.oraclecloud.com/admin/v1"),
            "https://idcs-x.identity.oraclecloud.com/oauth2/v1/token"
        );
        assert_eq!(default_token_url("http://127.0.0.1:9/oci/admin/v1/"), "http://127.0.0.1:9/oci/oauth2/v1/token");
    }
}
