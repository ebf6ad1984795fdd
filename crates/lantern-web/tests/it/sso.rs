//! Single sign-on against a real identity provider that Lantern's code did not write (nanoidp, started here on
//! loopback): the OpenID Connect code flow with PKCE end to end, claims mapped to roles and to a row rule's
//! attribute, and the refusals: a state that does not match, a nonce that does not match, a replayed callback,
//! an error from the provider.

use std::collections::BTreeMap;

use lantern_core::config::{ClaimMapping, OidcConfig};
use lantern_testkit::{Idp, start_nanoidp};

use crate::api::kpi;
use crate::support::{Backend, TestApp, Visitor, client};

pub const IDP_USERS: &str = r#"
config_version: 1
users:
  boss:
    password: "boss-pw"
    email: "boss@example.org"
    roles: ["USER", "ADMIN"]
    tenant: "default"
  ana:
    password: "ana-pw"
    email: "ana@example.org"
    roles: ["USER"]
    tenant: "North Asia"
    attributes:
      region: "North Asia"
      displayName: "Ana Sato"
"#;

/// nanoidp with [`IDP_USERS`], started off the async runtime (it waits for the provider to answer).
pub async fn start_idp() -> Idp {
    tokio::task::spawn_blocking(|| start_nanoidp(IDP_USERS))
        .await
        .unwrap()
}

pub async fn start(idp: &Idp) -> TestApp {
    let issuer = idp.base.clone();
    TestApp::start_at(Backend::Local, move |c, addr| {
        crate::access::configure(c);
        c.auth.oidc = Some(OidcConfig {
            issuer,
            client_id: "demo-client".into(),
            client_secret: Some("demo-secret".into()),
            redirect_url: format!("http://{addr}/auth/oidc/callback"),
            scopes: vec!["email".into(), "profile".into()],
            label: "NanoIDP".into(),
            claims: ClaimMapping {
                role_map: BTreeMap::from([
                    ("ADMIN".into(), vec!["admin".into()]),
                    ("USER".into(), vec!["regional".into()]),
                ]),
                attributes: BTreeMap::from([("region".into(), "tenant".into())]),
                ..Default::default()
            },
        });
    })
    .await
}

/// Lantern's redirect to the provider, for `visitor` starting a sign-in.
async fn authorize_url(me: &Visitor) -> String {
    me.redirect_of("/auth/oidc/start?next=/d/apac-dot").await
}

/// Signs in at the provider's own form and returns where it sends the browser back.
async fn at_provider(me: &Visitor, url: &str, user: &str, password: &str) -> String {
    let page = me.client.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200, "the provider's authorize page");
    let html = page.text().await.unwrap();
    let marker = r#"name="transaction_id" value=""#;
    let at = html.find(marker).expect("nanoidp's login form") + marker.len();
    let transaction = &html[at..at + html[at..].find('"').unwrap()];
    let res = me
        .client
        .post(url)
        .form(&[
            ("transaction_id", transaction),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    if res.status() != 302 {
        panic!(
            "the provider refused {user}: {} {}",
            res.status(),
            res.text().await.unwrap_or_default()
        );
    }
    res.headers()["location"].to_str().unwrap().to_string()
}

fn with_param(url: &str, key: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == key {
                value.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

async fn refused(me: &Visitor, callback: &str) {
    let res = me.client.get(callback).send().await.unwrap();
    assert_eq!(res.status(), 401, "{callback}");
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Single sign-on did not complete")
    );
    assert_eq!(me.status("/").await, 303, "not signed in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_signs_users_in_with_their_provider_roles_and_row_rules() {
    let idp = start_idp().await;
    let app = start(&idp).await;
    let login = app.page("/login").await;
    assert!(
        login.contains("Sign in with NanoIDP"),
        "the login page offers SSO"
    );

    // The provider's ADMIN: Lantern's admin, back on the page asked for.
    let boss = app.with_client(client());
    let back = at_provider(&boss, &authorize_url(&boss).await, "boss", "boss-pw").await;
    let res = boss.client.get(&back).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/d/apac-dot");
    let (status, list) = boss.get_json("/api/dashboards").await;
    assert_eq!(status, 200);
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "admin opens every dashboard"
    );
    // The same callback again is refused: the sign-in it belonged to is over.
    let replay = app.with_client(client());
    refused(&replay, &back).await;

    // A provider USER: the `regional` role, with the row rule bound to the `tenant` claim (North Asia).
    let ana = app.with_client(client());
    let back = at_provider(&ana, &authorize_url(&ana).await, "ana", "ana-pw").await;
    assert_eq!(ana.client.get(&back).send().await.unwrap().status(), 303);
    let north_asia = crate::access::apac_rows(&app)
        .await
        .iter()
        .filter(|r| r.1 == "North Asia")
        .count() as u64;
    let (status, data) = ana.get_json("/api/dashboards/apac-dot/data").await;
    assert_eq!(status, 200, "{data}");
    assert_eq!(
        kpi(&data, "order_lines")["value"].as_u64().unwrap(),
        north_asia
    );
    assert!(north_asia > 0);
    assert_eq!(
        ana.status("/d/cursor-usage").await,
        403,
        "regional opens apac-dot only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_refuses_a_wrong_state_a_wrong_nonce_and_a_provider_error() {
    let idp = start_idp().await;
    let app = start(&idp).await;

    // A state other than the one sent.
    let me = app.with_client(client());
    let back = at_provider(&me, &authorize_url(&me).await, "ana", "ana-pw").await;
    refused(&me, &with_param(&back, "state", "forged")).await;

    // A nonce other than the one sent (the provider signs whatever nonce it was asked for): the state and the
    // PKCE verifier match, the ID token does not.
    let me = app.with_client(client());
    let url = with_param(&authorize_url(&me).await, "nonce", "chosen-by-an-attacker");
    let back = at_provider(&me, &url, "ana", "ana-pw").await;
    refused(&me, &back).await;

    // The provider says no.
    let me = app.with_client(client());
    let url = authorize_url(&me).await;
    let state = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let denied = me.url(&format!(
        "/auth/oidc/callback?error=access_denied&state={state}"
    ));
    refused(&me, &denied).await;

    // A callback with no sign-in under way.
    let me = app.with_client(client());
    refused(&me, &me.url("/auth/oidc/callback?code=x&state=y")).await;
}
