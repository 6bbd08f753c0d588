//! Scrubbing secrets out of text that leaves the provider: vendor error messages (which
//! often echo the request body), transport errors (which carry URLs) and decode errors
//! (serde quotes the values it could not read).
//!
//! Two passes:
//! 1. Known values: the credentials a client holds (token, API key, client secret,
//!    password) and the secret fields of the request being sent are replaced wherever
//!    they occur, in any format: as they are or in another ASCII case, JSON-escaped (also
//!    twice, as in a JSON body quoted in a JSON message), HTML-escaped, percent-encoded,
//!    and inside base64 (`user:secret` without its `Basic ` scheme).
//! 2. Shapes: values of secret-looking keys (`"password": "..."`, `client_secret=...`,
//!    `apiKey: ...`, also inside escaped JSON), `Authorization` schemes (`Bearer ...`,
//!    `Basic ...`), credentials in URLs (`https://user:pass@host`) and JWTs are replaced
//!    even when the value is not known (a server echoing someone else's secret).

use std::ops::Range;
use std::sync::LazyLock;

use regex::{Captures, Regex, RegexBuilder};

/// What a scrubbed value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Known secret values shorter than this are not replaced by value (a one-letter test
/// token would otherwise eat every occurrence of that letter); the shape pass still
/// catches them next to their key.
const MIN_KNOWN_LEN: usize = 4;

/// The part of a key name that marks its value as secret. Matched case-insensitively
/// inside longer names (`newPassword`, `client_secret_wo`, `x-api-key`).
const SECRET_WORDS: &str = r"password|passwd|passphrase|secret|token|api[_-]?key|authorization|private[_-]?key|credential";

/// `key: value`, `key=value`, `"key": "value"`, `\"key\":\"value\"` with a secret-looking key.
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    let key = format!(r"[A-Za-z0-9_.\-]*(?:{SECRET_WORDS})[A-Za-z0-9_.\-]*");
    let value = r#"\\"(?:[^"\\]|\\[^"])*\\"|"(?:[^"\\]|\\.)*"|'[^']*'|(?:bearer|basic)\s+[^\s,;&}\])"'<>]+|[^\s,;&}\])"'<>]+"#;
    Regex::new(&format!(r#"(?i)(?P<key>(?:\\?["'])?{key}(?:\\?["'])?\s*(?P<sep>[:=])\s*)(?P<value>{value})"#)).unwrap_or_else(|e| {
        // The pattern is a literal of this file: a unit test compiles it.
        panic!("invalid scrubber pattern: {e}")
    })
});

/// `Bearer abc`, `Basic YWJj` (Authorization schemes with their credentials).
static AUTH_SCHEME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?P<scheme>bearer|basic|token)\s+(?P<value>[A-Za-z0-9\-._~+/]{4,}=*)")
        .unwrap_or_else(|e| panic!("invalid scrubber pattern: {e}"))
});

/// `scheme://user:password@host`.
static URL_USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<pre>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)(?P<value>[^\s/@]+)@")
        .unwrap_or_else(|e| panic!("invalid scrubber pattern: {e}"))
});

/// A JSON Web Token (three base64url parts, the first a JSON header `{"`).
static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*").unwrap_or_else(|e| panic!("invalid scrubber pattern: {e}"))
});

/// Whether a JSON key or form field name holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    static SECRET_KEY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(&format!("(?i)(?:{SECRET_WORDS})")).unwrap_or_else(|e| panic!("invalid scrubber pattern: {e}")));
    SECRET_KEY.is_match(key)
}

/// The string values of secret-looking keys anywhere in a JSON document (to scrub them by
/// value from an answer that echoes the request in another shape).
pub fn secrets_in_json(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match v {
                    serde_json::Value::String(s) if is_secret_key(k) => out.push(s.clone()),
                    _ => secrets_in_json(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| secrets_in_json(i, out)),
        _ => {}
    }
}

/// How many encodings may be nested around a known secret: two covers a JSON string
/// inside a JSON string, HTML or percent escapes inside JSON, and double escaping.
const NESTING: usize = 2;

/// Where `secret` stands in `text`, in any encoding: the byte ranges to replace.
fn known_matches(secret: &str, text: &str) -> Vec<Range<usize>> {
    // The full pattern of a very long secret may exceed the regex size limit: fewer
    // nested encodings then, down to the secret in any case, then as it is.
    let compiled =
        (0..=NESTING).rev().find_map(|depth| RegexBuilder::new(&known_pattern(secret, depth)).size_limit(KNOWN_SIZE_LIMIT).build().ok());
    match compiled {
        Some(re) => re.find_iter(text).map(|m| m.range()).collect(),
        // Too long for any pattern: the value as it is.
        None => text.match_indices(secret).map(|(i, m)| i..i + m.len()).collect(),
    }
}

/// The compiled size a known secret's pattern may take (the default, 10 MiB, is too little
/// for a multi-kilobyte token with many punctuation characters).
const KNOWN_SIZE_LIMIT: usize = 64 << 20;

/// A pattern for `secret` as a server may echo it, ignoring ASCII case:
/// - as it is, or with each character escaped by up to `depth` nested encodings among
///   JSON (`\"`, `\/`, `\n`, `\u00e9`), HTML (`&quot;`, `&#34;`, `&#x22;`, `&amp;`...)
///   and percent-encoding (`%22`, `+` for a space, UTF-8 bytes for other characters);
/// - inside base64 (standard or URL-safe, padded or not, at any offset: `user:secret`,
///   `secret:other`), when `depth` allows encodings: then the whole base64 word goes.
fn known_pattern(secret: &str, depth: usize) -> String {
    let plain: String = secret.chars().map(|c| encoded(c, depth)).collect();
    if depth == 0 {
        return plain;
    }
    // The standard alphabet's `+` and `/` are `-` and `_` in the URL-safe one.
    let base64_char = |c: char| match c {
        '+' => format!("(?:{}|-)", encoded('+', depth)),
        '/' => format!("(?:{}|_)", encoded('/', depth)),
        _ => encoded(c, depth),
    };
    let cores: Vec<String> = base64_cores(secret.as_bytes()).iter().map(|core| core.chars().map(base64_char).collect()).collect();
    let alphabet = format!("(?:[A-Za-z0-9_-]|{}|{})", encoded('+', depth), encoded('/', depth));
    format!("{plain}|{alphabet}*(?:{}){alphabet}*{}*", cores.join("|"), encoded('=', depth))
}

/// A pattern for `c` written with up to `depth` nested encodings, ignoring ASCII case. The
/// escapes come before the character itself, so that an escape that could also be read as
/// the end of the secret and some text (`\\` after a secret ending in `\`) goes whole.
fn encoded(c: char, depth: usize) -> String {
    let mut alternatives: Vec<String> =
        if depth == 0 { Vec::new() } else { escapes(c).iter().map(|e| e.chars().map(|x| encoded(x, depth - 1)).collect()).collect() };
    alternatives.push(if c.is_ascii_alphabetic() {
        format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
    } else {
        regex::escape(c.encode_utf8(&mut [0; 4]))
    });
    if alternatives.len() == 1 { alternatives.remove(0) } else { format!("(?:{})", alternatives.join("|")) }
}

/// The ways one encoding writes `c` other than as itself. ASCII letters, digits and the
/// other characters unreserved in URLs (`-._~`) are left as they are by every encoder
/// (and long tokens are made of them: their patterns stay small).
fn escapes(c: char) -> Vec<String> {
    if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~') {
        return Vec::new();
    }
    let mut out = Vec::new();
    // JSON: a short escape, or UTF-16 code units.
    let short = match c {
        '"' => Some("\\\""),
        '\\' => Some("\\\\"),
        '/' => Some("\\/"),
        '\u{8}' => Some("\\b"),
        '\u{c}' => Some("\\f"),
        '\n' => Some("\\n"),
        '\r' => Some("\\r"),
        '\t' => Some("\\t"),
        _ => None,
    };
    out.extend(short.map(str::to_string));
    out.push(c.encode_utf16(&mut [0; 2]).iter().map(|u| format!("\\u{u:04x}")).collect());
    // HTML: a named reference, or the code point in decimal or hex.
    let named: &[&str] = match c {
        '"' => &["&quot;"],
        '&' => &["&amp;"],
        '<' => &["&lt;"],
        '>' => &["&gt;"],
        '\'' => &["&apos;", "&#039;"],
        _ => &[],
    };
    out.extend(named.iter().map(|n| n.to_string()));
    out.push(format!("&#{};", u32::from(c)));
    out.push(format!("&#x{:x};", u32::from(c)));
    // Percent-encoding: the UTF-8 bytes, and `+` for a space in forms.
    out.push(c.encode_utf8(&mut [0; 4]).bytes().map(|b| format!("%{b:02x}")).collect());
    if c == ' ' {
        out.push("+".to_string());
    }
    out
}

/// The base64 characters (standard alphabet) that only `secret`'s bytes decide, for each of
/// the three offsets it may start at in the encoded data. Any base64 text that carries the
/// secret (alone, as `user:secret`, next to another) contains one of them.
fn base64_cores(secret: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    let mut cores = Vec::with_capacity(3);
    for offset in 0..3 {
        let mut data = vec![0; offset];
        data.extend_from_slice(secret);
        let standard = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&data);
        // Character i holds bits 6i..6i+6 of the data; the secret's are 8*offset onwards.
        let core = &standard[(8 * offset).div_ceil(6)..8 * data.len() / 6];
        cores.push(core.to_string());
    }
    cores
}

/// Removes secrets from `text`: every `known` value (at least [`MIN_KNOWN_LEN`] long) in
/// any of its encodings (see [`known_pattern`]), then every secret by its shape (see the
/// module docs).
pub fn scrub(text: &str, known: &[String]) -> String {
    let mut known: Vec<&str> = known.iter().map(String::as_str).filter(|k| k.len() >= MIN_KNOWN_LEN).collect();
    known.sort_unstable();
    known.dedup();
    let mut found: Vec<Range<usize>> = known.iter().flat_map(|k| known_matches(k, text)).collect();
    // Overlapping echoes (two secrets that share characters, a secret inside a base64
    // blob of another) are replaced whole, by one marker.
    found.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in found {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for r in merged {
        out.push_str(&text[done..r.start]);
        out.push_str(REDACTED);
        done = r.end;
    }
    out.push_str(&text[done..]);
    let before = out;
    let out = KEY_VALUE.replace_all(&before, |c: &Captures<'_>| {
        let value = &c["value"];
        // `clientSecret: must not be empty` is a message about a field, not its value: a
        // bare word after a colon that prose goes on after is left alone.
        let rest = c.get(0).map_or("", |m| &before[m.end()..]);
        let prose = &c["sep"] == ":"
            && value.chars().all(|ch| ch.is_ascii_alphabetic())
            && rest.strip_prefix(' ').is_some_and(|r| r.starts_with(|ch: char| ch.is_ascii_alphabetic()));
        let replaced = if prose {
            value.to_string()
        } else if value.starts_with("\\\"") {
            format!("\\\"{REDACTED}\\\"")
        } else if value.starts_with('"') {
            format!("\"{REDACTED}\"")
        } else if value.starts_with('\'') {
            format!("'{REDACTED}'")
        } else if value.contains("[redacted")
            || value.eq_ignore_ascii_case("null")
            || value.eq_ignore_ascii_case("true")
            || value.eq_ignore_ascii_case("false")
        {
            value.to_string()
        } else {
            REDACTED.to_string()
        };
        format!("{}{replaced}", &c["key"])
    });
    let out = AUTH_SCHEME.replace_all(&out, |c: &Captures<'_>| {
        // "token" is also an ordinary word: only a long, word-less value is a credential.
        let value = &c["value"];
        if c["scheme"].eq_ignore_ascii_case("token") && (value.len() < 16 || value.chars().all(|ch| ch.is_ascii_alphabetic())) {
            return c[0].to_string();
        }
        format!("{} {REDACTED}", &c["scheme"])
    });
    let out = URL_USERINFO.replace_all(&out, |c: &Captures<'_>| format!("{}{REDACTED}@", &c["pre"]));
    JWT.replace_all(&out, REDACTED).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> String {
        scrub(text, &[])
    }

    #[test]
    fn a_known_secret_after_a_scheme_is_redacted_once() {
        let known = vec!["abc.def-123456".to_string()];
        assert_eq!(scrub("Authorization: Bearer abc.def-123456 was refused", &known), "Authorization: Bearer [redacted] was refused");
        assert_eq!(scrub("echo: {\"authorization\": \"Basic abc.def-123456\"}", &known), "echo: {\"authorization\": \"[redacted]\"}");
    }

    #[test]
    fn patterns_compile() {
        LazyLock::force(&KEY_VALUE);
        LazyLock::force(&AUTH_SCHEME);
        LazyLock::force(&URL_USERINFO);
        LazyLock::force(&JWT);
        assert!(is_secret_key("client_secret_wo") && is_secret_key("newPassword") && is_secret_key("X-Api-Key"));
        assert!(!is_secret_key("userName") && !is_secret_key("displayName"));
    }

    #[test]
    fn known_values_are_replaced_anywhere() {
        let known = vec!["Sandbox-Passw0rd!".to_string(), "t".to_string(), "with\"quote".to_string()];
        assert_eq!(
            scrub("could not log in as admin with Sandbox-Passw0rd! (locked)", &known),
            "could not log in as admin with [redacted] (locked)"
        );
        // Too short to replace by value: left alone.
        assert_eq!(scrub("the token t", &known), "the token t");
        // JSON-escaped echo.
        assert_eq!(scrub(r#"got {"x": "with\"quote"}"#, &known), r#"got {"x": "[redacted]"}"#);
    }

    #[test]
    fn secret_keys_in_echoed_bodies() {
        assert_eq!(
            s(r#"invalid request {"userName":"bob","password":"hunter2-Secret","active":true}"#),
            r#"invalid request {"userName":"bob","password":"[redacted]","active":true}"#
        );
        assert_eq!(
            s(r#"oidcData: {"clientId": "runai", "clientSecret": "s3cr3t value"} is invalid"#),
            r#"oidcData: {"clientId": "runai", "clientSecret": "[redacted]"} is invalid"#
        );
        // Escaped JSON inside a JSON string.
        assert_eq!(s(r#"{"detail": "bad body {\"password\":\"p@ss\"}"}"#), r#"{"detail": "bad body {\"password\":\"[redacted]\"}"}"#);
        // Form bodies and query strings.
        assert_eq!(
            s("grant_type=password&username=admin&password=Sandbox-Passw0rd!&scope=x"),
            "grant_type=password&username=admin&password=[redacted]&scope=x"
        );
        assert_eq!(s("client_secret=abc123; other=1"), "client_secret=[redacted]; other=1");
        assert_eq!(s("api_key: 'k-123'"), "api_key: '[redacted]'");
        assert_eq!(s("x-api-key=SECRETKEY, next"), "x-api-key=[redacted], next");
        // Values that are not secrets stay.
        assert_eq!(s(r#"{"password": null, "token_expired": true}"#), r#"{"password": null, "token_expired": true}"#);
        assert_eq!(s("userName must be unique"), "userName must be unique");
        // A message about a secret field keeps its words.
        assert_eq!(s("oidcData.clientSecret: must not be empty"), "oidcData.clientSecret: must not be empty");
        assert_eq!(s("password: Missing required attribute."), "password: Missing required attribute.");
        assert_eq!(s("password: hunter2 is too short"), "password: [redacted] is too short");
        assert_eq!(s("{ClientSecret:abc, Name:x}"), "{ClientSecret:[redacted], Name:x}");
    }

    #[test]
    fn authorization_and_urls_and_jwts() {
        assert_eq!(s("header Authorization: Bearer abc.def-ghi was refused"), "header Authorization: [redacted] was refused");
        assert_eq!(s("sent Bearer sandbox-runai-token"), "sent Bearer [redacted]");
        assert_eq!(s("Basic c2FuZGJveC1jbGllbnQ6c2VjcmV0"), "Basic [redacted]");
        assert_eq!(
            s("token request to https://admin:pw123@idcs.example.com/oauth2 failed"),
            "token request to https://admin:[redacted]@idcs.example.com/oauth2 failed"
        );
        assert_eq!(s("invalid token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl here"), "invalid token [redacted] here");
        // "token" as a word in a sentence is kept.
        assert_eq!(s("the access token was refused twice"), "the access token was refused twice");
    }
}

#[cfg(test)]
#[path = "scrub_tests.rs"]
mod encoding_tests;
