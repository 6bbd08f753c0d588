//! Known secrets echoed in other encodings: base64 (`user:secret` without `Basic `),
//! percent-encoded, HTML-escaped, JSON-escaped once and twice, in another case. Examples
//! for each form, then fuzz-style properties: random secrets in random text.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use proptest::test_runner::Config;

use super::*;

fn known(secrets: &[&str]) -> Vec<String> {
    secrets.iter().map(|s| s.to_string()).collect()
}

/// The inside of a JSON string holding `s` (serde's escaping).
fn json(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_else(|e| panic!("a string serializes: {e}"));
    quoted[1..quoted.len() - 1].to_string()
}

/// JSON with every character outside ASCII as `\uXXXX` (Python's `ensure_ascii`), and
/// `<`, `>`, `&` as Go writes them.
fn json_ascii(s: &str) -> String {
    let mut out = String::new();
    for c in json(s).chars() {
        if c.is_ascii() && !matches!(c, '<' | '>' | '&') {
            out.push(c);
        } else {
            c.encode_utf16(&mut [0; 2]).iter().for_each(|u| out.push_str(&format!("\\u{u:04X}")));
        }
    }
    out
}

/// Percent-encoding of everything but unreserved characters; `form` writes a space `+`.
fn percent(s: &str, form: bool, lower: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b' ' if form => out.push('+'),
            b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => out.push(char::from(b)),
            b if lower => out.push_str(&format!("%{b:02x}")),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// HTML escaping of `& < > " '`, with `"` and `'` written in the `style` given.
fn html(s: &str, style: usize) -> String {
    let (quot, apos) = [("&quot;", "&#39;"), ("&#34;", "&#x27;"), ("&#x22;", "&apos;"), ("&QUOT;", "&#039;")][style % 4];
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', quot).replace('\'', apos)
}

/// Every way a test echoes a secret (`i` picks one).
fn echo(secret: &str, i: usize) -> String {
    match i % 13 {
        0 => secret.to_string(),
        1 => secret.to_ascii_uppercase(),
        2 => secret.to_ascii_lowercase(),
        3 => json(secret),
        4 => json(&json(secret)),
        5 => json_ascii(secret),
        6 => json(&json_ascii(secret)),
        7 => percent(secret, false, false),
        8 => percent(secret, true, true),
        9 => html(secret, i / 13),
        10 => json(&html(secret, i / 13)),
        11 => percent(&json(secret), true, false).to_ascii_lowercase(),
        _ => html(&json(secret), i / 13).to_ascii_uppercase(),
    }
}

/// `data` in base64: standard or URL-safe, padded or not (`i` picks).
fn b64(data: &str, i: usize) -> String {
    [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD][i % 4].encode(data)
}

#[test]
fn base64_user_colon_secret_without_a_scheme() {
    let secrets = known(&["s3cr3t-Value"]);
    // `runai:s3cr3t-Value`: the client id is not a known secret.
    let echoed = b64("runai:s3cr3t-Value", 0);
    assert_eq!(scrub(&format!("credentials {echoed} refused"), &secrets), "credentials [redacted] refused");
    for (i, data) in
        ["s3cr3t-Value", "a:s3cr3t-Value", "ab:s3cr3t-Value", "s3cr3t-Value:x", "a long client id:s3cr3t-Value"].iter().enumerate()
    {
        for alphabet in 0..4 {
            let echoed = b64(data, alphabet);
            let text = format!("got \"{echoed}\" ({i})");
            assert_eq!(scrub(&text, &secrets), format!("got \"[redacted]\" ({i})"), "{data} as {echoed}");
            // Case changed, and escaped once more.
            assert_eq!(scrub(&echoed.to_ascii_lowercase(), &secrets), REDACTED, "{data} as {echoed}");
            let escaped = json(&echoed.replace('/', "\\/"));
            assert_eq!(scrub(&escaped, &secrets), REDACTED, "{data} as {escaped}");
        }
    }
    // Two known secrets side by side (`username:password`).
    let pair = known(&["admin-user", "Sandbox-Passw0rd!"]);
    assert_eq!(scrub(&format!("[{}]", b64("admin-user:Sandbox-Passw0rd!", 1)), &pair), "[[redacted]]");
    // Percent-encoded base64 (`+`, `/`, `=` escaped).
    let with_symbols = known(&["??>>??>>"]);
    let echoed = b64("id:??>>??>>", 0);
    assert!(echoed.contains('/') && echoed.contains('+'), "{echoed}");
    assert_eq!(scrub(&format!("x={} y", percent(&echoed, true, false)), &with_symbols), "x=[redacted] y");
}

#[test]
fn base64_of_other_text_is_kept() {
    let secrets = known(&["s3cr3t-Value"]);
    let other = b64("runai:another-secret", 0);
    assert_eq!(scrub(&format!("credentials {other} refused"), &secrets), format!("credentials {other} refused"));
}

#[test]
fn json_escaped_once_and_twice() {
    let secrets = known(&["with\"quote\\and/slash"]);
    assert_eq!(scrub(r#"{"detail": "bad: with\"quote\\and/slash!"}"#, &secrets), r#"{"detail": "bad: [redacted]!"}"#);
    assert_eq!(scrub(r#"{"detail": "bad: with\"quote\\and\/slash!"}"#, &secrets), r#"{"detail": "bad: [redacted]!"}"#);
    // A JSON body quoted in a JSON message.
    assert_eq!(
        scrub(r#"{"message": "{\"secret\": \"with\\\"quote\\\\and/slash\", \"x\": 1}"}"#, &secrets),
        r#"{"message": "{\"secret\": \"[redacted]\", \"x\": 1}"}"#
    );
    // `\u` escapes (non-ASCII written as ASCII; `<` as Go writes it).
    let secrets = known(&["pässwörd<1>"]);
    assert_eq!(scrub(r#"echo "p\u00e4ssw\u00F6rd\u003c1\u003e" end"#, &secrets), r#"echo "[redacted]" end"#);
    assert_eq!(scrub(&json_ascii("😀-emoji-😀"), &known(&["😀-emoji-😀"])), REDACTED);
}

#[test]
fn percent_encoded_in_any_case() {
    let secrets = known(&["p@ss w+rd/é"]);
    for echoed in ["p%40ss%20w%2Brd%2F%C3%A9", "p%40ss+w%2brd%2f%c3%a9", "P%40SS+W%2BRD/%C3%A9", "p%2540ss%2520w%252Brd%252F%25C3%25A9"] {
        assert_eq!(scrub(&format!("GET /x?password_wo={echoed}&next=1"), &secrets), "GET /x?password_wo=[redacted]&next=1", "{echoed}");
    }
}

#[test]
fn html_escaped_in_every_style() {
    let secrets = known(&["a&b<c>d\"e'f"]);
    for style in 0..4 {
        let echoed = html("a&b<c>d\"e'f", style);
        assert_eq!(scrub(&format!("<p>{echoed}</p>"), &secrets), "<p>[redacted]</p>", "{echoed}");
    }
    // Numeric references for other characters, and escaping applied twice.
    assert_eq!(scrub("<td>a&#38;b&#x3C;c&#62;d&#x22;e&#x27;f</td>", &secrets), "<td>[redacted]</td>");
    assert_eq!(scrub("<td>a&amp;amp;b&amp;lt;c&amp;gt;d&amp;quot;e&amp;#39;f</td>", &secrets), "<td>[redacted]</td>");
}

#[test]
fn in_another_case() {
    let secrets = known(&["Sandbox-Passw0rd!"]);
    assert_eq!(scrub("login SANDBOX-PASSW0RD! failed", &secrets), "login [redacted] failed");
    assert_eq!(scrub("login sandbox-passw0rd%21 failed", &secrets), "login [redacted] failed");
    // Only ASCII letters change: `é` is not `É`.
    assert_eq!(scrub("x ÉTÉ-2024 y", &known(&["été-2024"])), "x ÉTÉ-2024 y");
}

#[test]
fn short_secrets_still_leave_text_alone() {
    let secrets = known(&["t", "a&b", "%2"]);
    for text in ["the token t", "a&amp;b a%26b YSZi", "50%2 ab", "A&B"] {
        assert_eq!(scrub(text, &secrets), text);
    }
}

#[test]
fn overlapping_secrets_go_whole() {
    let secrets = known(&["abcdef", "defghi"]);
    assert_eq!(scrub("x abcdefghi y", &secrets), "x [redacted] y");
    assert_eq!(scrub("x abcdefdefghi y", &secrets), "x [redacted] y");
}

#[test]
fn long_tokens_are_scrubbed_quickly() {
    // A 4 KiB token full of punctuation, in a 1 MiB message.
    let token: String = (0..4096).map(|i| ['a', '-', '.', '_', '/', '+', '=', '~', 'Z', '9'][i % 10]).collect();
    let text = format!("{}{}{}", "x".repeat(512 << 10), percent(&token, true, false), " y".repeat(256 << 10));
    let t0 = std::time::Instant::now();
    let out = scrub(&text, &known(&[&token]));
    assert!(out.contains("x[redacted] y") && !out.contains("a-.") && out.len() < text.len());
    assert!(t0.elapsed() < std::time::Duration::from_secs(20), "took {:?}", t0.elapsed());
}

fn config() -> Config {
    // No proptest-regressions files next to the sources: a failure found becomes an
    // example test above.
    Config { cases: 256, failure_persistence: None, ..Config::default() }
}

/// A secret: at least [`MIN_KNOWN_LEN`] characters, with everything an encoding escapes.
fn secret() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9\"\\\\&<>'%+ /=#;:?@é€ß中😀\t\n-]{4,20}"
}

/// Text around a secret: anything but `:` and `=` (which would make a `key: value` the
/// shape pass replaces) and `|` (the fence between it and the secret).
fn around() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 .,!?\"\\\\&<>'%+/#;@é€中-]{0,24}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_echoed_secret_is_replaced_and_the_rest_kept(s in secret(), pre in around(), post in around(), form in 0usize..52) {
        let echoed = echo(&s, form);
        let out = scrub(&format!("{pre}|{echoed}|{post}"), &known(&[&s]));
        prop_assert_eq!(out, format!("{pre}|{REDACTED}|{post}"), "{:?} echoed as {:?}", s, echoed);
    }

    #[test]
    fn prop_echoed_secret_is_gone_without_a_fence(s in secret(), pre in around(), post in around(), form in 0usize..52) {
        let echoed = echo(&s, form);
        let out = scrub(&format!("{pre}{echoed}{post}"), &known(&[&s]));
        prop_assert!(!out.to_ascii_lowercase().contains(&echoed.to_ascii_lowercase()), "{:?} echoed as {:?}: {:?}", s, echoed, out);
    }

    #[test]
    fn prop_base64_credentials_are_replaced(
        s in secret(),
        other in secret(),
        user in "[a-zA-Z0-9._@-]{0,16}",
        pre in around(),
        post in around(),
        shape in 0usize..4,
        alphabet in 0usize..4,
        lower in any::<bool>(),
    ) {
        let data = match shape {
            0 => s.clone(),
            1 => format!("{user}:{s}"),
            2 => format!("{s}:{other}"),
            _ => format!("{other}:{s}"),
        };
        let mut echoed = b64(&data, alphabet);
        if lower {
            echoed = echoed.to_ascii_lowercase();
        }
        let out = scrub(&format!("{pre}|{echoed}|{post}"), &known(&[&s, &other]));
        prop_assert_eq!(out, format!("{pre}|{REDACTED}|{post}"), "{:?} in base64 {:?}", data, echoed);
    }

    #[test]
    fn prop_text_without_the_secret_is_unchanged(s in secret(), text in "[a-z .,!?]{0,64}") {
        prop_assume!(!text.contains(&s.to_ascii_lowercase()));
        prop_assert_eq!(scrub(&text, &known(&[&s])), scrub(&text, &[]));
    }

    #[test]
    fn prop_short_secrets_change_nothing(s in "[a-zA-Z0-9\"&<>%+ ]{1,3}", text in "[a-zA-Z0-9 .,\"&<>%+]{0,64}") {
        prop_assert_eq!(scrub(&text, &known(&[&s])), scrub(&text, &[]));
    }
}
