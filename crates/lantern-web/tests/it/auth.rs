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
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "admin"), ("password", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Wrong username or password")
    );
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "root"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // A session cookie from before login is not the one after it.
    let anon = app.client.get(app.url("/login")).send().await.unwrap();
    let before: Vec<String> = anon.cookies().map(|c| c.value().to_string()).collect();
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", PASSWORD),
            ("next", "/d/apac-dot"),
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

    // Logout ends the session.
    let res = app.client.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.client.get(app.url("/")).send().await.unwrap().status(),
        303
    );
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
