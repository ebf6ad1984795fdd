//! Login, logout, sessions and the guard in front of pages and the API.

use crate::support::{PASSWORD, TestApp, client};

#[tokio::test]
async fn logged_out_visitors_are_sent_to_login_and_api_answers_401() {
    let app = TestApp::start().await;
    for path in ["/", "/d/cursor-usage?team=Web"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        let to = res.headers()["location"].to_str().unwrap().to_string();
        assert!(to.starts_with("/login?next="), "{to}");
    }
    let (status, body) = app.get_json("/api/dashboards/cursor-usage/data").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert_eq!(app.status("/api/status").await, 401);

    // Public routes stay public.
    assert_eq!(app.status("/login").await, 200);
    assert_eq!(app.status("/healthz").await, 200);
    assert_eq!(app.status("/static/app.css").await, 200);
}

#[tokio::test]
async fn wrong_password_is_refused_and_login_rotates_the_session() {
    let app = TestApp::start().await;
    for (user, password) in [("admin", "nope"), ("root", PASSWORD)] {
        let res = app.login_as(user, password).await;
        assert_eq!(res.status(), 401, "{user}");
        // One message whether the name or the password is wrong.
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("Wrong username or password")
        );
    }

    // A session cookie from before login is not the one after it.
    let anon = app.client.get(app.url("/login")).send().await.unwrap();
    let before: Vec<String> = anon.cookies().map(|c| c.value().to_string()).collect();
    let page = anon.text().await.unwrap();
    let csrf = lantern_testkit::csrf_token(&page).unwrap();
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", PASSWORD),
            ("next", "/d/apac-dot"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/d/apac-dot");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let after = res.cookies().next().unwrap().value().to_string();
    assert!(!before.contains(&after));
    assert_eq!(
        app.client.get(app.url("/")).send().await.unwrap().status(),
        200
    );
    // The token from before login is renewed with the session: it no longer passes.
    let res = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Logout ends the session.
    let res = app.logout().await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.client.get(app.url("/")).send().await.unwrap().status(),
        303
    );
}

#[tokio::test]
async fn posts_without_the_sessions_csrf_token_are_refused() {
    let app = TestApp::start().await;
    // No token, a made-up token, a token from another session: each refused before the password is looked at.
    let other = TestApp::start().await;
    let foreign = other.csrf("/login").await;
    let _ = app.csrf("/login").await;
    for token in [None, Some("0".repeat(64)), Some(foreign)] {
        let mut form = vec![
            ("username", "admin".to_string()),
            ("password", PASSWORD.to_string()),
        ];
        if let Some(t) = &token {
            form.push(("csrf", t.clone()));
        }
        let res = app
            .client
            .post(app.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{token:?}");
        assert!(res.text().await.unwrap().contains("reload the page"));
    }
    // A script's header token works like the form's.
    let csrf = app.csrf("/login").await;
    let res = app
        .client
        .post(app.url("/login"))
        .header("x-csrf-token", &csrf)
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // Signed in, a logout without the token is refused too, and the session lives on.
    let res = app.client.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.status("/").await, 200);
    // One route takes posts without a token: the SAML ACS, posted by the identity provider's page, whose
    // response is signed and bound to the session's own request instead.
    assert_eq!(lantern_web::server::csrf_exempt(), ["/auth/saml/acs"]);
}

#[tokio::test]
async fn expired_and_forged_sessions_are_logged_out() {
    let app = TestApp::start_configured(|c| c.auth.session_ttl_secs = 1).await;
    app.login().await;
    assert_eq!(
        app.client.get(app.url("/")).send().await.unwrap().status(),
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let res = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303, "an expired session must not pass");
    let (status, _) = app.get_json("/api/dashboards/cursor-usage/data").await;
    assert_eq!(status, 401);

    let forged = client();
    let res = forged
        .get(app.url("/"))
        .header("cookie", "lantern_session=AAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::start().await;
    let logged_out = [
        "/login",
        "/healthz",
        "/static/app.js",
        "/api/dashboards/cursor-usage/data",
        "/",
    ];
    let check = |path: &str, res: &reqwest::Response| {
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self';"), "{path}: {csp}");
        assert!(
            !csp.contains("script-src 'self' 'unsafe-inline'"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
    };
    for path in logged_out {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        check(path, &res);
    }
    app.login().await;
    for path in [
        "/",
        "/d/cursor-usage",
        "/api/dashboards/cursor-usage/data",
        "/no-such-page",
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        check(path, &res);
    }
}

#[tokio::test]
async fn repeated_failures_are_throttled_per_account_and_per_address() {
    let app = TestApp::start_configured(|c| {
        c.auth.throttle.max_failures_per_account = 3;
        c.auth.throttle.max_failures_per_address = 5;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.login_as("admin", "guess").await.status(), 401);
    }
    // Locked: even the right password waits, with a clear message and Retry-After.
    let res = app.login_as("admin", PASSWORD).await;
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    let page = res.text().await.unwrap();
    assert!(
        page.contains("Too many failed sign-ins for this account. Try again in 15 minutes."),
        "{page}"
    );
    // Two more names from the same address reach its limit: then every account waits from here.
    for name in ["root", "guest"] {
        assert_eq!(app.login_as(name, "guess").await.status(), 401);
    }
    let res = app.login_as("someone", "guess").await;
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("for your address"));
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_timeout_however_active() {
    let app = TestApp::start_configured(|c| c.auth.session_max_secs = 2).await;
    app.login().await;
    for _ in 0..3 {
        assert_eq!(app.status("/").await, 200);
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert_eq!(app.status("/").await, 303, "past the absolute timeout");
}

fn redis_url() -> String {
    std::env::var("LANTERN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

/// Two servers that share nothing but Redis: a sign-in on one is valid on the other, and a logout on either
/// ends it on both. With the memory store (the control) the other server does not know the session.
#[tokio::test]
async fn servers_sharing_redis_share_sign_ins_and_logouts() {
    let url = redis_url();
    let a = TestApp::start_configured(|c| c.sessions.store = url.clone()).await;
    let b = TestApp::start_configured(|c| c.sessions.store = url.clone()).await;
    a.login().await;
    // Cookies are kept per host, not port: the same browser sends its session cookie to both servers.
    let on_b = b.with_client(a.client.clone());
    assert_eq!(on_b.status("/").await, 200, "signed in on a, valid on b");
    let (status, _) = on_b.get_json("/api/dashboards/cursor-usage/data").await;
    assert_eq!(status, 200);
    assert_eq!(on_b.logout().await.status(), 303);
    assert_eq!(a.status("/").await, 303, "logged out on b, ended on a");

    let memory = TestApp::start().await;
    let other = TestApp::start().await;
    memory.login().await;
    assert_eq!(
        other.with_client(memory.client.clone()).status("/").await,
        303
    );
}

#[tokio::test]
async fn a_session_store_that_does_not_answer_stops_the_start_with_its_name() {
    let mut config = crate::support::base_config("unused");
    config.sessions.store = "redis://127.0.0.1:1/0".into();
    let err = crate::support::start_error(config, false).await;
    assert!(
        err.contains("sessions.store `redis://127.0.0.1:1/0`"),
        "{err}"
    );
}

/// Behind a proxy that says so, the client's address comes from `X-Forwarded-For` (throttling) and an HTTPS
/// request gets a `Secure` cookie; without `server.behind_proxy` both headers are ignored.
#[tokio::test]
async fn behind_a_proxy_forwarded_headers_set_the_address_and_secure_cookies() {
    let app = TestApp::start_configured(|c| {
        c.server.behind_proxy = true;
        c.auth.throttle.max_failures_per_address = 2;
        c.auth.throttle.max_failures_per_account = 100;
    })
    .await;
    let attempt = |from: &'static str, user: &'static str| {
        let app = &app;
        async move {
            let csrf = app.csrf("/login").await;
            app.client
                .post(app.url("/login"))
                .header("x-forwarded-for", format!("198.51.100.1, {from}"))
                .form(&[("username", user), ("password", "guess"), ("csrf", &csrf)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(attempt("10.0.0.1", "a").await, 401);
    assert_eq!(attempt("10.0.0.1", "b").await, 401);
    assert_eq!(
        attempt("10.0.0.1", "c").await,
        429,
        "10.0.0.1 reached its limit"
    );
    assert_eq!(
        attempt("10.0.0.2", "c").await,
        401,
        "another client behind the same proxy"
    );

    let https = client()
        .get(app.url("/login"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let cookie = https.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let http = client().get(app.url("/login")).send().await.unwrap();
    let cookie = http.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(!cookie.contains("Secure"), "{cookie}");

    // Not behind a proxy: a client cannot claim HTTPS or another address.
    let direct = TestApp::start().await;
    let res = client()
        .get(direct.url("/login"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(
        !res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
}
