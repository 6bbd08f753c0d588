//! Tests of lists and searches: filter operators and errors, batched id filters, paging,
//! projection, `.search`; filter and query-string parsing.

use super::*;

async fn filter_fixture(sb: &Sb) -> (Vec<Value>, Vec<Value>) {
    let mut users = Vec::new();
    for (name, given, family, email, active, ext) in [
        ("alice@example.com", "Alice", "Smith", "Alice@Example.com", true, "A-1"),
        ("bob@example.com", "Bob", "Jones", "bob@other.org", false, "b-2"),
        ("carol@corp.io", "Carol", "Smith", "carol@corp.io", true, "C-3"),
        ("dave \"the\" user", "Dave", "Quote", "dave@corp.io", true, "D-4"),
    ] {
        let a = sb
            .scim(
                "POST",
                USERS,
                Some(json!({
                    "schemas": [USER_SCHEMA], "userName": name, "active": active,
                    "externalId": ext,
                    "name": {"givenName": given, "familyName": family},
                    "emails": [{"value": email, "type": "work", "primary": true}]
                })),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
        users.push(a.json);
    }
    let uid = |i: usize| id_of(&users[i]);
    let groups = vec![
        sb.create_group("Admins", &[&uid(0), &uid(2)]).await,
        sb.create_group("Readers", &[&uid(1)]).await,
        sb.create_group("Empty", &[]).await,
    ];
    (users, groups)
}

#[tokio::test]
async fn filter_operators() {
    let sb = sandbox();
    let (users, groups) = filter_fixture(&sb).await;
    let all = ["alice@example.com", "bob@example.com", "carol@corp.io", "dave \"the\" user"];
    let pick = |idx: &[usize]| idx.iter().map(|&i| all[i].to_string()).collect::<Vec<_>>();

    let cases: Vec<(String, Vec<usize>)> = vec![
        // eq is case-insensitive for userName, and so are attribute names and operators.
        ("userName eq \"ALICE@example.com\"".into(), vec![0]),
        ("USERNAME EQ \"alice@example.com\"".into(), vec![0]),
        ("userName ne \"alice@example.com\"".into(), vec![1, 2, 3]),
        ("userName co \"EXAMPLE\"".into(), vec![0, 1]),
        ("userName sw \"b\"".into(), vec![1]),
        ("userName ew \".io\"".into(), vec![2]),
        ("userName eq \"dave \\\"the\\\" user\"".into(), vec![3]),
        ("emails.value eq \"ALICE@example.com\"".into(), vec![0]),
        ("emails.value co \"corp\"".into(), vec![2, 3]),
        ("emails.type eq \"recovery\"".into(), vec![0, 1, 2, 3]),
        ("emails[type eq \"work\" and value ew \"other.org\"]".into(), vec![1]),
        ("name.familyName eq \"smith\"".into(), vec![0, 2]),
        ("name.givenName sw \"Ca\"".into(), vec![2]),
        ("urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"carol\"".into(), vec![2]),
        ("active eq true".into(), vec![0, 2, 3]),
        ("active eq false".into(), vec![1]),
        ("active ne true".into(), vec![1]),
        ("externalId pr".into(), vec![0, 1, 2, 3]),
        ("externalId eq \"A-1\"".into(), vec![0]),
        // externalId is caseExact.
        ("externalId eq \"a-1\"".into(), vec![]),
        ("displayName eq \"bob jones\"".into(), vec![1]),
        (format!("id eq \"{}\"", id_of(&users[3])), vec![3]),
        (format!("ocid eq \"{}\"", users[1]["ocid"].as_str().unwrap_or("")), vec![1]),
        // Groups of a user.
        (format!("groups.value eq \"{}\"", id_of(&groups[0])), vec![0, 2]),
        (format!("groups[value eq \"{}\"]", id_of(&groups[1])), vec![1]),
        (format!("groups.value eq \"{}\"", groups[1]["ocid"].as_str().unwrap_or("")), vec![1]),
        ("groups pr".into(), vec![0, 1, 2]),
        ("not (groups pr)".into(), vec![3]),
        // Precedence: and binds tighter than or.
        ("userName sw \"a\" or userName sw \"b\" and active eq true".into(), vec![0]),
        ("(userName sw \"a\" or userName sw \"b\") and active eq false".into(), vec![1]),
        ("userName sw \"b\" and active eq true or userName sw \"c\"".into(), vec![2]),
        ("not (name.familyName eq \"Smith\") and active eq true".into(), vec![3]),
        ("not(userName co \"example\" or userName co \"corp\")".into(), vec![3]),
        ("meta.created pr and meta.resourceType eq \"User\"".into(), vec![0, 1, 2, 3]),
        ("meta.lastModified gt \"2000-01-01T00:00:00Z\"".into(), vec![0, 1, 2, 3]),
        ("meta.created lt \"2000-01-01T00:00:00Z\"".into(), vec![]),
        ("externalId eq null".into(), vec![]),
        ("userName gt \"bob\"".into(), vec![1, 2, 3]),
        ("userName le \"bob@example.com\"".into(), vec![0, 1]),
    ];
    for (f, expected) in cases {
        assert_eq!(filter_users(&sb, &f).await, pick(&expected), "filter: {f}");
    }

    // Groups: the members value filter in every form.
    let u0 = id_of(&users[0]);
    let u1_ocid = users[1]["ocid"].as_str().unwrap_or("").to_string();
    let gcases: Vec<(String, Vec<&str>)> = vec![
        (format!("members[type eq \"User\" and value eq \"{u0}\"]"), vec!["Admins"]),
        (format!("members[value eq \"{u0}\"]"), vec!["Admins"]),
        (format!("members.value eq \"{u0}\""), vec!["Admins"]),
        (format!("members[type eq \"User\" and value eq \"{u1_ocid}\"]"), vec!["Readers"]),
        ("members[type eq \"User\" and value eq \"nobody\"]".into(), vec![]),
        ("members pr".into(), vec!["Admins", "Readers"]),
        ("displayName eq \"admins\"".into(), vec!["Admins"]),
        ("displayName sw \"R\" or displayName ew \"pty\"".into(), vec!["Readers", "Empty"]),
        (format!("id eq \"{}\"", id_of(&groups[2])), vec!["Empty"]),
    ];
    for (f, expected) in gcases {
        assert_eq!(filter_groups(&sb, &f).await, expected, "filter: {f}");
    }
    // The literal query string of the OCI IAM SCIM documentation (spaces as %20, quotes as %22, raw brackets).
    let a = sb.scim("GET", &format!("{GROUPS}?filter=members[type%20eq%20%22User%22%20and%20value%20eq%20%22{u0}%22]"), None).await;
    assert_eq!(a.json["totalResults"], json!(1), "{}", a.raw);
    // '+' as a space works as well.
    let a = sb.scim("GET", &format!("{USERS}?filter=userName+eq+%22bob%40example.com%22"), None).await;
    assert_eq!(a.json["totalResults"], json!(1), "{}", a.raw);
}

#[tokio::test]
async fn invalid_filters_are_400_invalid_filter() {
    let sb = sandbox();
    filter_fixture(&sb).await;
    for (f, hint) in [
        ("userName eq", "value"),
        ("userName", "operator"),
        ("userName xx \"a\"", "unknown operator"),
        ("userName eq alice", "double quotes"),
        ("userName eq \"alice", "unterminated"),
        ("(userName eq \"a\"", "\")\""),
        ("userName eq \"a\")", "end of the filter"),
        ("userName eq \"a\" and", "attribute path"),
        ("userName eq \"a\" xor userName eq \"b\"", "\"and\", \"or\""),
        ("members[value eq \"x\"", "\"]\""),
        ("nickName9 eq \"x\"", "not supported"),
        ("name.nope eq \"x\"", "not supported"),
        ("urn:x:y:userName eq \"a\"", "not supported"),
        ("1abc eq \"x\"", "invalid attribute path"),
        ("userName eq \"\\q\"", "escape"),
        ("", "empty"),
    ] {
        let a = list(&sb, USERS, &format!("filter={}", query(f))).await;
        assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidFilter"));
        assert!(detail(&a).contains(hint), "filter {f:?}: detail {:?} lacks {hint:?}", detail(&a));
    }
    let a = list(&sb, GROUPS, &format!("filter={}", query("userName eq \"x\""))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidFilter"));
    let deep = format!("{}userName pr{}", "(".repeat(40), ")".repeat(40));
    let a = list(&sb, USERS, &format!("filter={}", query(&deep))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidFilter"));
}

#[tokio::test]
async fn batched_id_filters_are_fast() {
    let sb = sandbox();
    {
        // Many users, created directly (the API path is exercised elsewhere).
        let now = Utc::now();
        sb.state
            .write(|d| {
                for i in 0..600 {
                    d.oci.create_user(user_body(&format!("bulk{i}"), "B", &i.to_string()).as_object().expect("object"), now)?;
                }
                Ok::<_, ScimError>(())
            })
            .await
            .expect("users");
    }
    let state = sb.state.snapshot().await;
    let users = state["oci"]["users"].as_array().expect("users").clone();
    let wanted: Vec<String> = users.iter().step_by(4).take(150).map(id_of).collect();
    let mut terms: Vec<String> = wanted.iter().map(|id| format!("id eq \"{id}\"")).collect();
    terms.push("id eq \"not-there\"".into());
    let f = terms.join(" or ");
    let started = Instant::now();
    let mut got = Vec::new();
    let mut start = 1;
    loop {
        let a = list(&sb, USERS, &format!("filter={}&startIndex={start}&count=50", query(&f))).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
        assert_eq!(a.json["totalResults"], json!(150));
        let page = a.json["Resources"].as_array().expect("page");
        got.extend(page.iter().map(id_of));
        if page.is_empty() || got.len() >= 150 {
            break;
        }
        start += page.len();
    }
    let elapsed = started.elapsed();
    assert_eq!(got, wanted, "creation order");
    // A figure, not a limit (timing is never asserted in a test).
    eprintln!("150 ids in one filter, 3 pages: {elapsed:?}");

    // Mixed ids and ocids in one batch.
    let f = format!("id eq \"{}\" or ocid eq \"{}\"", id_of(&users[0]), users[1]["ocid"].as_str().unwrap_or(""));
    let a = list(&sb, USERS, &format!("filter={}", query(&f))).await;
    assert_eq!(a.json["totalResults"], json!(2));
}

#[tokio::test]
async fn paging() {
    let sb = sandbox();
    let now = Utc::now();
    sb.state
        .write(|d| {
            for i in 0..120 {
                d.oci.create_user(user_body(&format!("p{i:03}"), "P", "Q").as_object().expect("object"), now)?;
            }
            Ok::<_, ScimError>(())
        })
        .await
        .expect("users");
    let page = |params: &'static str| {
        let sb = &sb;
        async move {
            let a = list(sb, USERS, params).await;
            assert_eq!(a.status, StatusCode::OK, "{params}: {}", a.raw);
            a.json
        }
    };
    let names = |v: &Value| -> Vec<String> {
        v["Resources"].as_array().expect("Resources").iter().map(|r| r["userName"].as_str().unwrap_or("").to_string()).collect()
    };

    let first = page("").await;
    assert_eq!(first["schemas"], json!([LIST_RESPONSE_SCHEMA]));
    assert_eq!(first["totalResults"], json!(120));
    assert_eq!(first["itemsPerPage"], json!(50));
    assert_eq!(first["startIndex"], json!(1));
    assert_eq!(names(&first)[0], "p000");
    assert_eq!(names(&first)[49], "p049");

    let last = page("startIndex=101").await;
    assert_eq!(last["itemsPerPage"], json!(20));
    assert_eq!(last["startIndex"], json!(101));
    assert_eq!(names(&last)[0], "p100");

    let capped = page("count=500&startIndex=51").await;
    assert_eq!(capped["itemsPerPage"], json!(50));
    assert_eq!(names(&capped)[0], "p050");

    let small = page("count=3&startIndex=2").await;
    assert_eq!(names(&small), vec!["p001", "p002", "p003"]);
    assert_eq!(small["totalResults"], json!(120));

    let zero = page("count=0").await;
    assert_eq!(zero["itemsPerPage"], json!(0));
    assert_eq!(zero["Resources"], json!([]));
    assert_eq!(zero["totalResults"], json!(120));

    let below = page("startIndex=0&count=-5").await;
    assert_eq!(below["startIndex"], json!(1));
    assert_eq!(below["itemsPerPage"], json!(0));

    let beyond = page("startIndex=500").await;
    assert_eq!(beyond["Resources"], json!([]));
    assert_eq!(beyond["totalResults"], json!(120));

    let filtered = page("filter=userName%20sw%20%22p1%22&startIndex=11&count=5").await;
    assert_eq!(filtered["totalResults"], json!(20));
    assert_eq!(names(&filtered), vec!["p110", "p111", "p112", "p113", "p114"]);

    for bad in ["count=abc", "startIndex=1.5"] {
        let a = list(&sb, USERS, bad).await;
        assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidValue"));
    }
    // An empty domain answers an empty list.
    let empty = list(&sb, GROUPS, "").await;
    assert_eq!(
        empty.json,
        json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []})
    );
}

#[tokio::test]
async fn list_projection_and_search() {
    let sb = sandbox();
    let (users, _groups) = filter_fixture(&sb).await;
    let a = list(&sb, GROUPS, "excludedAttributes=members").await;
    let rs = a.json["Resources"].as_array().expect("Resources");
    assert_eq!(rs.len(), 3);
    assert!(rs.iter().all(|g| g.get("members").is_none() && g.get("displayName").is_some()));

    let a = list(&sb, USERS, "attributes=userName,emails.value&count=1").await;
    assert_eq!(
        a.json["Resources"][0],
        json!({
            "schemas": [USER_SCHEMA, USER_EXTENSION, USER_STATE_EXTENSION],
            "id": id_of(&users[0]),
            "userName": "alice@example.com",
            "emails": [{"value": "alice@example.com"}, {"value": "alice@example.com"}]
        })
    );
    let a = list(&sb, GROUPS, &format!("filter={}&attributes=members.value", query("displayName eq \"Readers\""))).await;
    assert_eq!(a.json["Resources"][0]["members"], json!([{"value": id_of(&users[1])}]));

    // POST /.search: the same in a body.
    let a = sb
        .scim(
            "POST",
            "/oci/admin/v1/Users/.search",
            Some(json!({
                "schemas": [SEARCH_REQUEST_SCHEMA],
                "filter": "name.familyName eq \"Smith\"",
                "attributes": ["userName"],
                "startIndex": 2,
                "count": 10
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(a.json["totalResults"], json!(2));
    assert_eq!(a.json["startIndex"], json!(2));
    assert_eq!(a.json["Resources"][0]["userName"], json!("carol@corp.io"));
    assert!(a.json["Resources"][0].get("emails").is_none());
    let a = sb.scim("POST", "/oci/admin/v1/Groups/.search", Some(json!({"schemas": [SEARCH_REQUEST_SCHEMA], "filter": "bogus"}))).await;
    assert_scim_error(&a, StatusCode::BAD_REQUEST, Some("invalidFilter"));
}

#[test]
fn filter_precedence_and_shapes() {
    let cmp = |p: &str, v: &str| Filter::Compare(path(p), Op::Eq, Literal::Str(v.into()));
    assert_eq!(
        Filter::parse("a eq \"1\" or b eq \"2\" and c eq \"3\"").expect("parse"),
        Filter::Or(vec![cmp("a", "1"), Filter::And(vec![cmp("b", "2"), cmp("c", "3")])])
    );
    assert_eq!(
        Filter::parse("(a eq \"1\" or b eq \"2\") and not (c pr)").expect("parse"),
        Filter::And(vec![Filter::Or(vec![cmp("a", "1"), cmp("b", "2")]), Filter::Not(Box::new(Filter::Present(path("c"))))])
    );
    assert_eq!(
        Filter::parse("members[type eq \"User\" and value eq \"x\"]").expect("parse"),
        Filter::ValuePath(path("members"), Box::new(Filter::And(vec![cmp("type", "User"), cmp("value", "x")])))
    );
    assert_eq!(
        Filter::parse("a EQ true or b Ne null or c gt 5").expect("parse"),
        Filter::Or(vec![
            Filter::Compare(path("a"), Op::Eq, Literal::Bool(true)),
            Filter::Compare(path("b"), Op::Ne, Literal::Null),
            Filter::Compare(path("c"), Op::Gt, Literal::Num(5.into())),
        ])
    );
    assert_eq!(Filter::parse(r#"a eq "q\"uo\\te\u00e9""#).expect("parse"), cmp("a", "q\"uo\\teé"));
    let p = path("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName");
    assert_eq!(p.urn.as_deref(), Some(USER_SCHEMA));
    assert_eq!((p.attr.as_str(), p.sub.as_deref()), ("name", Some("givenName")));

    // 500 or-terms: one flat node, and an id set.
    let f = (0..500).map(|i| format!("id eq \"{i}\"")).collect::<Vec<_>>().join(" or ");
    let parsed = Filter::parse(&f).expect("parse");
    assert!(matches!(&parsed, Filter::Or(terms) if terms.len() == 500));
    assert_eq!(parsed.id_set().map(|s| s.len()), Some(500));
    assert!(Filter::parse("id eq \"1\" or userName eq \"x\"").expect("parse").id_set().is_none());
}

#[test]
fn urlencoded_parsing() {
    assert_eq!(
        parse_urlencoded("a=1+2&b=%22x%22&c&d=%zz&e=%E2%82%AC&f=%"),
        vec![
            ("a".to_string(), "1 2".to_string()),
            ("b".to_string(), "\"x\"".to_string()),
            ("c".to_string(), String::new()),
            ("d".to_string(), "%zz".to_string()),
            ("e".to_string(), "€".to_string()),
            ("f".to_string(), "%".to_string()),
        ]
    );
}
