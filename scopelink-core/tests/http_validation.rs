//! Pure functions of the HTTP runtime: URL validation, `Link` header
//! parsing, provider error messages, request building and its Debug output.

use scopelink_core::http::{
    error_message, next_link, validate_url, AddressPolicy, Headers, Method, Request,
};
use scopelink_core::HttpError;
use secrecy::SecretString;
use url::Url;

const PUBLIC: AddressPolicy = AddressPolicy {
    allow_loopback: false,
    allow_private: false,
};

fn forbidden(input: &str, policy: AddressPolicy) -> String {
    match validate_url(input, policy) {
        Err(HttpError::ForbiddenAddress { host }) => host,
        other => panic!("{input}: expected ForbiddenAddress, got {other:?}"),
    }
}

#[test]
fn a_public_https_url_is_accepted() {
    let url = validate_url(
        " https://na.myconnectwise.net/v4_6_release/apis/3.0 ",
        PUBLIC,
    )
    .unwrap();
    assert_eq!(url.host_str(), Some("na.myconnectwise.net"));
    assert_eq!(url.path(), "/v4_6_release/apis/3.0");
    let url = validate_url("https://93.184.216.34:8443/", PUBLIC).unwrap();
    assert_eq!(url.port(), Some(8443));
    // Host names are checked when they are resolved, not here.
    validate_url("https://localhost.example.com/", PUBLIC).unwrap();
}

#[test]
fn plain_http_and_other_schemes_are_refused() {
    for input in [
        "http://example.com/",
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://example.com/",
        "ws://example.com/",
        "javascript:alert(1)",
    ] {
        assert!(
            matches!(
                validate_url(input, PUBLIC),
                Err(HttpError::InsecureScheme { .. })
            ),
            "{input}: {:?}",
            validate_url(input, PUBLIC)
        );
    }
    // Loopback policy allows http, but still not other schemes.
    assert!(matches!(
        validate_url("file:///etc/passwd", AddressPolicy::allow_local()),
        Err(HttpError::InsecureScheme { .. })
    ));
    validate_url("http://example.com/", AddressPolicy::allow_local()).unwrap();
}

#[test]
fn loopback_literals_are_refused_unless_allowed() {
    for (input, host) in [
        ("https://127.0.0.1/", "127.0.0.1"),
        ("https://127.1.2.3:8443/x", "127.1.2.3"),
        ("https://[::1]/", "[::1]"),
        ("https://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]"),
        // Numeric forms the URL parser normalizes.
        ("https://2130706433/", "127.0.0.1"),
        ("https://0x7f.1/", "127.0.0.1"),
    ] {
        assert_eq!(forbidden(input, PUBLIC), host, "{input}");
    }
    let url = validate_url("http://127.0.0.1:8080", AddressPolicy::allow_local()).unwrap();
    assert_eq!(url.port(), Some(8080));
    validate_url("https://[::1]:9000/api", AddressPolicy::allow_local()).unwrap();
}

#[test]
fn private_link_local_and_unspecified_literals_are_refused() {
    let private = [
        "https://169.254.169.254/latest/meta-data",
        "https://169.254.1.1/",
        "https://10.1.2.3/",
        "https://172.16.0.1/",
        "https://172.31.255.254/",
        "https://192.168.1.1/",
        "https://0.0.0.0/",
        "https://100.64.0.1/",
        "https://[::]/",
        "https://[fe80::1]/",
        "https://[fc00::1]/",
        "https://[fd00:ec2::254]/",
        "https://[::ffff:10.0.0.1]/",
        "https://[::ffff:169.254.169.254]/",
        "https://[::ffff:192.168.0.1]/",
    ];
    for input in private {
        forbidden(input, PUBLIC);
        // Loopback opt-in does not open private ranges.
        forbidden(input, AddressPolicy::allow_local());
        let everything = AddressPolicy {
            allow_loopback: true,
            allow_private: true,
        };
        validate_url(input, everything).unwrap();
    }
    assert_eq!(
        forbidden("http://10.0.0.1/", AddressPolicy::allow_local()),
        "10.0.0.1"
    );
    // Private opt-in alone does not open loopback or http.
    let private_only = AddressPolicy {
        allow_loopback: false,
        allow_private: true,
    };
    forbidden("https://127.0.0.1/", private_only);
    assert!(matches!(
        validate_url("http://10.0.0.1/", private_only),
        Err(HttpError::InsecureScheme { .. })
    ));
    // Just outside the private ranges.
    validate_url("https://172.32.0.1/", PUBLIC).unwrap();
    validate_url("https://11.0.0.1/", PUBLIC).unwrap();
}

#[test]
fn user_info_is_refused_and_never_echoed() {
    for input in [
        "https://admin:hunter2@example.com/",
        "https://admin@example.com/",
        "https://:hunter2@example.com/",
        "http://admin:hunter2@127.0.0.1/",
    ] {
        let err = validate_url(input, AddressPolicy::allow_local()).unwrap_err();
        assert!(
            matches!(err, HttpError::InvalidUrl { .. }),
            "{input}: {err:?}"
        );
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("admin"), "{shown}");
    }
    // Not even when the URL is refused for another reason first, or does
    // not parse at all.
    for input in [
        "ftp://admin:hunter2@example.com/",
        "https://admin:hunter2@exa mple.com/",
        "https://admin:hunter2@[::1/",
    ] {
        let err = validate_url(input, PUBLIC).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

#[test]
fn malformed_urls_and_bare_hosts_are_invalid() {
    for input in [
        "",
        "   ",
        "na.myconnectwise.net",
        "https://",
        "https://exa mple.com/",
        "not a url",
    ] {
        assert!(
            matches!(
                validate_url(input, PUBLIC),
                Err(HttpError::InvalidUrl { .. })
            ),
            "{input}: {:?}",
            validate_url(input, PUBLIC)
        );
    }
}

#[test]
fn refused_urls_do_not_echo_their_query() {
    let err = validate_url("http://example.com/cb?token=abc123", PUBLIC).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(matches!(err, HttpError::InsecureScheme { .. }));
    assert!(!shown.contains("abc123"), "{shown}");
    assert!(shown.contains("example.com/cb"), "{shown}");
}

fn links(values: &[&str]) -> Headers {
    let mut headers = Headers::new();
    for value in values {
        headers.append("link", value).unwrap();
    }
    headers
}

#[test]
fn next_link_reads_rfc_8288_headers() {
    // GitHub style, quoted rel.
    let h = links(&[
        r#"<https://api.example.com/items?page=2>; rel="next", <https://api.example.com/items?page=5>; rel="last""#,
    ]);
    assert_eq!(
        next_link(&h).as_deref(),
        Some("https://api.example.com/items?page=2")
    );
    // Unquoted rel, next not first, extra parameters and spaces.
    let h = links(&[
        r#"<https://a.example/p?page=1>; rel=prev ;title="a, b; c", <https://a.example/p?page=3> ; rel=next"#,
    ]);
    assert_eq!(next_link(&h).as_deref(), Some("https://a.example/p?page=3"));
    // Several relation types in one rel; case-insensitive.
    let h = links(&[r#"<https://a.example/x?c=9>; rel="Next last""#]);
    assert_eq!(next_link(&h).as_deref(), Some("https://a.example/x?c=9"));
    // A comma inside the target and the next link in a second header.
    let h = links(&[
        r#"<https://a.example/x?ids=1,2>; rel="prev""#,
        r#"</x?ids=3,4&page=2>; rel="next""#,
    ]);
    assert_eq!(next_link(&h).as_deref(), Some("/x?ids=3,4&page=2"));
    // `rel="nextish"`, anchors, `rev` do not count; only the first rel does.
    let h = links(&[
        r#"<https://a.example/1>; rel="nextish", <https://a.example/2>; rev="next", <https://a.example/3>; rel="last"; rel="next""#,
    ]);
    assert_eq!(next_link(&h), None);
    // No header, garbage.
    assert_eq!(next_link(&Headers::new()), None);
    assert_eq!(next_link(&links(&["garbage; rel=next"])), None);
    assert_eq!(
        next_link(&links(&[r#"<https://a.example/unterminated; rel="next""#])),
        None
    );
    // Garbage before a good link does not hide it.
    let h = links(&[r#"junk, <https://a.example/ok>; rel="next""#]);
    assert_eq!(next_link(&h).as_deref(), Some("https://a.example/ok"));
}

#[test]
fn provider_messages_are_extracted_from_common_body_shapes() {
    let cases: &[(&str, &str)] = &[
        // ConnectWise: message plus field errors.
        (
            r#"{"code":"InvalidObject","message":"opportunity object is invalid","errors":[{"code":"MissingRequiredField","message":"The name field is required."}]}"#,
            "opportunity object is invalid (The name field is required.)",
        ),
        (
            r#"{"code":"NotFound","message":"Company 99999 not found"}"#,
            "Company 99999 not found",
        ),
        (
            r#"{"Message":"Authorization has been denied for this request."}"#,
            "Authorization has been denied for this request.",
        ),
        // OAuth: the code is kept with the description.
        (
            r#"{"error":"invalid_grant","error_description":"Refresh token expired"}"#,
            "invalid_grant: Refresh token expired",
        ),
        (r#"{"error":"invalid_client"}"#, "invalid_client"),
        // Dynamics / Graph.
        (
            r#"{"error":{"code":"0x80040217","message":"account With Id = 42 Does Not Exist"}}"#,
            "account With Id = 42 Does Not Exist",
        ),
        // Autotask.
        (
            r#"{"errors":["Zip code is invalid."]}"#,
            "Zip code is invalid.",
        ),
        (
            r#"{"errors":[{"message":"first"},{"message":"second"}]}"#,
            "first; second",
        ),
        // Salesforce.
        (
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
            "Session expired or invalid",
        ),
        // Problem details.
        (
            r#"{"title":"Bad Request","detail":"page_size must be <= 100"}"#,
            "Bad Request: page_size must be <= 100",
        ),
        (
            r#"{"detail":"Authentication credentials were not provided."}"#,
            "Authentication credentials were not provided.",
        ),
        (r#"{"title":"Not Found"}"#, "Not Found"),
        // HaloPSA: a JSON string, and field-keyed validation errors.
        (
            r#""Please select a Customer before saving this Ticket.""#,
            "Please select a Customer before saving this Ticket.",
        ),
        (
            r#"{"[0].tickettype_id": "The ticket type 999 does not exist."}"#,
            "[0].tickettype_id: The ticket type 999 does not exist.",
        ),
        // Text and HTML bodies, whitespace collapsed.
        (
            "  Service Unavailable\r\n  try later ",
            "Service Unavailable try later",
        ),
        (
            "<html><body>Bad gateway</body></html>",
            "<html><body>Bad gateway</body></html>",
        ),
        // JSON without a known key: the text as is.
        (r#"{"code":42}"#, r#"{"code":42}"#),
    ];
    for (body, want) in cases {
        assert_eq!(
            error_message(body.as_bytes()).as_deref(),
            Some(*want),
            "{body}"
        );
    }
    for empty in ["", "  \n", "{}", "[]", "null", r#""""#] {
        assert_eq!(error_message(empty.as_bytes()), None, "{empty:?}");
    }
    let long = "x".repeat(5000);
    let clipped = error_message(long.as_bytes()).unwrap();
    assert_eq!(clipped.chars().count(), 301);
    assert!(clipped.ends_with('…'));
    let long_json = format!(r#"{{"message":"{}"}}"#, "é".repeat(1000));
    assert_eq!(
        error_message(long_json.as_bytes()).unwrap().chars().count(),
        301
    );
    assert_eq!(
        error_message(&[0xff, 0xfe, b'o', b'k']).as_deref(),
        Some("\u{fffd}\u{fffd}ok")
    );
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[test]
fn request_builders_set_headers_and_bodies() {
    let req = Request::new(Method::POST, url("https://api.example.com/v1/items"))
        .header("Accept", "application/json")
        .header("bad header", "x")
        .header("X-Ok", "line\nbreak")
        .query(&[("page", "2"), ("q", "a b&c")])
        .json(&serde_json::json!({"name": "Acme"}));
    assert_eq!(req.headers.get("accept").unwrap(), "application/json");
    assert_eq!(
        req.headers.len(),
        2,
        "{:?}",
        req.headers.names().collect::<Vec<_>>()
    );
    assert_eq!(req.headers.get("content-type").unwrap(), "application/json");
    assert_eq!(req.body.as_deref(), Some(br#"{"name":"Acme"}"#.as_slice()));
    assert_eq!(req.url.query(), Some("page=2&q=a+b%26c"));
    assert!(!req.retry_safe);

    let req = Request::new(Method::POST, url("https://login.example.com/token"))
        .form(&[("grant_type", "client_credentials"), ("scope", "a b")])
        .retry_safe(true);
    assert_eq!(
        req.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        req.body.as_deref(),
        Some(b"grant_type=client_credentials&scope=a+b".as_slice())
    );
    assert!(req.retry_safe);

    // A value serde_json cannot encode leaves no body (and no panic).
    let mut bad = std::collections::HashMap::new();
    bad.insert((1, 2), "x");
    let req = Request::new(Method::POST, url("https://api.example.com/")).json(&bad);
    assert!(req.body.is_none());
}

#[test]
fn request_debug_shows_no_secrets() {
    let token = SecretString::from("sk-live-SECRET-123".to_string());
    let req = Request::new(Method::POST, url("https://api.example.com/v1/token"))
        .secret_header("Authorization", &token)
        .header("X-Api-Key", "plain-KEY-456")
        .header("Accept", "application/json")
        .query(&[("access_token", "QUERY-789")])
        .form(&[("client_secret", "FORM-000")]);
    assert!(req.headers.is_sensitive("authorization"));
    assert!(req.headers.is_sensitive("x-api-key"));
    assert!(!req.headers.is_sensitive("accept"));
    let shown = format!("{req:?} {req:#?}");
    for secret in ["SECRET-123", "KEY-456", "QUERY-789", "FORM-000"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("/v1/token"), "{shown}");
    assert!(shown.contains("application/json"), "{shown}");
    assert!(shown.contains("authorization"), "{shown}");
}

#[test]
fn a_refused_local_address_tells_how_to_opt_in() {
    let err = validate_url("https://127.0.0.1:8443/api", PUBLIC).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("`127.0.0.1`"), "{message}");
    assert!(
        message.contains("with_addresses(AddressPolicy::allow_local())")
            && message.contains("HttpConfig::addresses"),
        "{message}"
    );
}
