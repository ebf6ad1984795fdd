//! Authorization: a matrix over every route of the router × each kind of user, row-level security checked
//! against values computed here from the Parquet files, and the users file followed while serving.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Float64Type;
use lantern_core::access::{Feature, RoleConfig, UserRecord};
use lantern_core::config::Config;
use lantern_web::access::Access;
use lantern_web::auth::hash_password;

use crate::api::kpi;
use crate::support::{PASSWORD, TestApp, Visitor, client, fmt_thousands, read_dataset};

fn user(name: &str, roles: &[&str], attributes: &[(&str, &str)]) -> UserRecord {
    UserRecord {
        username: name.into(),
        password_hash: hash_password(PASSWORD).unwrap(),
        name: Some(format!("{name} (test)")),
        email: None,
        roles: roles.iter().map(|r| r.to_string()).collect(),
        attributes: attributes
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    lantern_core::access::Attribute::One(v.to_string()),
                )
            })
            .collect(),
        enabled: true,
    }
}

const ROLES: &str = "
viewer: {dashboards: [cursor-usage], datasets: [cursor_usage]}
analyst: {dashboards: '*', datasets: '*', features: [export, view_rows, dataset_pages], rows: {apac_dot: all}}
outsider: {dashboards: [apac-dot], datasets: [apac_dot], features: [export], rows: {apac_dot: all}}
japan: {dashboards: [apac-dot], datasets: [apac_dot], features: [export, view_rows, dataset_pages], rows: {apac_dot: [{country: Japan}]}}
korea: {dashboards: [apac-dot], datasets: [apac_dot], features: [export, view_rows, dataset_pages], rows: {apac_dot: [{country: [Korea]}]}}
regional: {dashboards: [apac-dot], datasets: [apac_dot], features: [view_rows], rows: {apac_dot: [{sub_region: '{{user.region}}'}]}}
unruled: {dashboards: [apac-dot], datasets: [apac_dot], features: [export, view_rows, dataset_pages]}
";

/// The apac-dot country filter's options for `me`, sorted.
async fn country_options(me: &Visitor) -> Vec<String> {
    let (status, options) = me
        .get_json("/api/dashboards/apac-dot/options/country")
        .await;
    assert_eq!(status, 200, "{options}");
    let mut countries: Vec<String> = options["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap().to_string())
        .collect();
    countries.sort();
    countries
}

pub fn configure(c: &mut Config) {
    c.chat = Some(crate::chat::chat_config("http://127.0.0.1:9", ""));
    c.auth.roles = serde_yaml::from_str::<BTreeMap<String, RoleConfig>>(ROLES).unwrap();
    c.auth.users = vec![
        user("admin", &["admin"], &[]),
        user("viewer", &["viewer"], &[]),
        user("analyst", &["analyst"], &[]),
        user("outsider", &["outsider"], &[]),
        user("ken", &["japan"], &[]),
        user("min", &["korea"], &[]),
        user("rita", &["regional"], &[("region", "North Asia")]),
        user("nobody", &["unruled"], &[]),
    ];
}

pub async fn signed_in(app: &TestApp, name: &str) -> Visitor {
    let me = app.with_client(client());
    let res = me.login_as(name, PASSWORD).await;
    assert_eq!(res.status(), 303, "{name} could not sign in");
    me
}

/// What each kind of user may do, written out here rather than read from Lantern's roles.
struct Persona {
    name: Option<&'static str>,
    dashboards: &'static [&'static str],
    features: &'static [Feature],
}

const PERSONAS: [Persona; 5] = [
    Persona {
        name: None,
        dashboards: &[],
        features: &[],
    },
    Persona {
        name: Some("viewer"),
        dashboards: &["cursor-usage"],
        features: &[],
    },
    Persona {
        name: Some("analyst"),
        dashboards: &["cursor-usage", "apac-dot"],
        features: &[Feature::Export, Feature::ViewRows, Feature::DatasetPages],
    },
    Persona {
        name: Some("admin"),
        dashboards: &["cursor-usage", "apac-dot"],
        features: &[
            Feature::Export,
            Feature::ViewRows,
            Feature::DatasetPages,
            Feature::Chat,
            Feature::ChatSql,
        ],
    },
    // A role without the cursor-usage page (and without dataset pages).
    Persona {
        name: Some("outsider"),
        dashboards: &["apac-dot"],
        features: &[Feature::Export],
    },
];

/// A concrete URL for a route on dashboard `board` (or its dataset).
fn concrete(path: &str, board: &str) -> String {
    let (dataset, chart, dimension) = match board {
        "cursor-usage" => ("cursor_usage", "requests-by-team", "team"),
        _ => ("apac_dot", "reference-pivot", "country"),
    };
    let id = if path.starts_with("/datasets") || path.contains("/chat/") {
        dataset
    } else {
        board
    };
    path.replace("{id}", id)
        .replace("{chart}", chart)
        .replace("{dimension}", dimension)
        .replace("{name}", "app.css")
        .replace("{thread}", "0000000000000000001")
        .replace("{turn}", "0")
}

/// Public routes and what they answer logged out and signed in (a new public route must be added here).
fn public_expectation(path: &str, method: &str) -> (u16, u16) {
    match (method, path) {
        ("GET", "/login") => (200, 303),
        ("GET", "/healthz") | ("GET", "/static/{name}") | ("GET", "/readyz") => (200, 200),
        // No `server.metrics_token` in this app: the scrape is open (the operations test covers the token).
        ("GET", "/metrics") => (200, 200),
        // With the session's token, a wrong password and a logout.
        ("POST", "/login") => (401, 401),
        ("POST", "/logout") => (303, 303),
        // Single sign-on is not configured in this app: nothing there.
        ("GET", "/auth/oidc/start") | ("GET", "/auth/oidc/callback") => (404, 404),
        ("GET", "/auth/saml/metadata")
        | ("GET", "/auth/saml/start")
        | ("POST", "/auth/saml/acs") => (404, 404),
        _ => panic!("no expectation for the public route {method} {path}: add one"),
    }
}

#[tokio::test]
async fn every_route_answers_each_kind_of_user_as_its_rule_says() {
    // The matrix fails many sign-ins from one address on purpose: throttling has its own test.
    let app = TestApp::start_configured(|c| {
        configure(c);
        c.auth.throttle.max_failures_per_account = 10_000;
        c.auth.throttle.max_failures_per_address = 10_000;
    })
    .await;
    let table = lantern_web::server::route_table();
    assert!(table.len() >= 18, "{} routes", table.len());
    let mut checked = 0;
    for persona in &PERSONAS {
        for board in ["cursor-usage", "apac-dot"] {
            for (path, methods, access) in &table {
                for method in methods.iter().filter(|m| **m != axum::http::Method::HEAD) {
                    // A fresh session per request: a logout or failed login must not change the next one.
                    let me = match persona.name {
                        Some(n) => signed_in(&app, n).await,
                        None => app.with_client(client()),
                    };
                    let url = concrete(path, board);
                    let api = url.starts_with("/api/");
                    let want = match access {
                        Access::Public => {
                            let (out, inn) = public_expectation(path, method.as_str());
                            if persona.name.is_some() { inn } else { out }
                        }
                        _ if persona.name.is_none() => {
                            if api {
                                401
                            } else {
                                303
                            }
                        }
                        Access::SignedIn => 200,
                        Access::Dashboard(features) => {
                            let open = persona.dashboards.contains(&board)
                                && features.iter().all(|f| persona.features.contains(f));
                            if open { 200 } else { 403 }
                        }
                        // Chat is configured against a model nobody asks here: the page and the list
                        // answer, a thread that does not exist is not found, and a form (not JSON) posted
                        // to a chat route is refused as such.
                        Access::Chat(features) => {
                            let open = persona.features.contains(&Feature::Chat)
                                && features.iter().all(|f| persona.features.contains(f))
                                && persona.dashboards.contains(&board);
                            match (open, method.as_str(), path.contains("{thread}")) {
                                (false, _, _) => 403,
                                (true, "POST", _) => 415,
                                (true, _, true) => 404,
                                (true, _, false) => 200,
                            }
                        }
                        Access::DatasetPages => {
                            let open = persona.features.contains(&Feature::DatasetPages)
                                && (!path.contains("{id}") || persona.dashboards.contains(&board));
                            if open { 200 } else { 403 }
                        }
                    };
                    let res = if *method == axum::http::Method::POST {
                        let csrf = me
                            .csrf(if persona.name.is_some() {
                                "/"
                            } else {
                                "/login"
                            })
                            .await;
                        me.client
                            .post(me.url(&url))
                            .form(&[
                                ("username", "admin"),
                                ("password", "wrong"),
                                ("csrf", &csrf),
                            ])
                            .send()
                            .await
                            .unwrap()
                    } else {
                        me.client.get(me.url(&url)).send().await.unwrap()
                    };
                    let got = res.status().as_u16();
                    let body = res.text().await.unwrap_or_default();
                    assert_eq!(
                        got,
                        want,
                        "{method} {url} as {:?}: {}",
                        persona.name,
                        &body[..body.len().min(300)]
                    );
                    if got == 403 {
                        // Refused: a message, never data.
                        assert!(body.contains("not shared with you"), "{url}: {body}");
                        assert!(
                            !body.contains("\"kpis\"") && !body.contains("\"rows\""),
                            "{url}"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 5 * 2 * 18, "{checked} requests");
}

#[tokio::test]
async fn lists_show_only_what_the_user_may_open() {
    let app = TestApp::start_configured(configure).await;
    for (name, boards, datasets_link) in [
        ("viewer", vec!["cursor-usage"], false),
        ("outsider", vec!["apac-dot"], false),
        ("analyst", vec!["apac-dot", "cursor-usage"], true),
    ] {
        let me = signed_in(&app, name).await;
        let (status, list) = me.get_json("/api/dashboards").await;
        assert_eq!(status, 200);
        let mut ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        ids.sort();
        assert_eq!(ids, boards, "{name}");
        let home = me.page("/").await;
        for b in ["cursor-usage", "apac-dot"] {
            assert_eq!(
                home.contains(&format!("data-dashboard=\"{b}\"")),
                boards.contains(&b),
                "{name}'s sidebar and {b}"
            );
            assert_eq!(
                home.contains(&format!("href=\"/d/{b}\"")),
                boards.contains(&b)
            );
        }
        assert_eq!(home.contains("href=\"/datasets\""), datasets_link, "{name}");
    }
    // A user with no role signs in and is told nothing is shared with them.
    let app = TestApp::start_configured(|c| {
        configure(c);
        c.auth.users.push(user("new", &[], &[]));
    })
    .await;
    let me = signed_in(&app, "new").await;
    let home = me.page("/").await;
    assert!(home.contains("Nothing shared with you yet"), "{home}");
    assert_eq!(me.status("/d/apac-dot").await, 403);
}

/// One apac_dot row: (country, sub_region, status, amount).
pub type ApacRow = (String, String, String, f64);

pub async fn apac_rows(app: &TestApp) -> Vec<ApacRow> {
    let mut out = Vec::new();
    for b in read_dataset(&app.storage, "apac_dot", 1).await {
        let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
        let text = |name: &str| {
            let c = datafusion::arrow::compute::cast(
                &col(name),
                &datafusion::arrow::datatypes::DataType::Utf8,
            )
            .unwrap();
            let c = c.as_string::<i32>().clone();
            (0..c.len())
                .map(move |i| c.value(i).to_string())
                .collect::<Vec<_>>()
        };
        let amount = datafusion::arrow::compute::cast(
            &col("amount"),
            &datafusion::arrow::datatypes::DataType::Float64,
        )
        .unwrap();
        let amount = amount.as_primitive::<Float64Type>();
        let (country, sub, status) = (text("country"), text("sub_region"), text("status"));
        for i in 0..b.num_rows() {
            out.push((
                country[i].clone(),
                sub[i].clone(),
                status[i].clone(),
                amount.value(i),
            ));
        }
    }
    out
}

fn csv_column(csv: &str, name: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let i = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no {name} in {header:?}"));
    lines
        .map(|l| l.split(',').nth(i).unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn row_rules_narrow_every_answer_to_the_users_rows() {
    let app = TestApp::start_configured(configure).await;
    let rows = apac_rows(&app).await;
    let url = "/api/dashboards/apac-dot/data";
    // The same URL for every user, the unrestricted analyst first so that its answers are cached.
    let analyst = signed_in(&app, "analyst").await;
    let (status, all) = analyst.get_json(url).await;
    assert_eq!(status, 200);
    assert_eq!(
        kpi(&all, "order_lines")["value"].as_u64().unwrap(),
        rows.len() as u64
    );

    let check = |who: &'static str, keep: Box<dyn Fn(&ApacRow) -> bool>| {
        let mine: Vec<_> = rows.iter().filter(|r| keep(r)).cloned().collect();
        (who, mine)
    };
    let cases = [
        check("ken", Box::new(|r| r.0 == "Japan")),
        check("min", Box::new(|r| r.0 == "Korea")),
        check("rita", Box::new(|r| r.1 == "North Asia")),
        check("nobody", Box::new(|_| false)),
    ];
    let mut seen = Vec::new();
    for (who, mine) in &cases {
        let me = signed_in(&app, who).await;
        let (status, body) = me.get_json(url).await;
        assert_eq!(status, 200, "{who}: {body}");
        let lines = kpi(&body, "order_lines")["value"].as_u64().unwrap_or(0);
        assert_eq!(lines, mine.len() as u64, "{who}'s order lines");
        let open: f64 = mine.iter().filter(|r| r.2 == "Open").map(|r| r.3).sum();
        let got = kpi(&body, "open_amount")["value"].as_f64().unwrap_or(0.0);
        assert!(
            (got - open).abs() <= 1e-6 * open.abs().max(1.0),
            "{who}: open amount {got} vs {open}"
        );
        assert_eq!(
            body["rows"].as_u64().unwrap(),
            mine.len() as u64,
            "{who}'s row count"
        );
        seen.push(lines);

        // Filter options list only the user's countries.
        let countries = country_options(&me).await;
        let mut want: Vec<&str> = mine.iter().map(|r| r.0.as_str()).collect();
        want.sort();
        want.dedup();
        assert_eq!(countries, want, "{who}'s country options");

        // View rows: the page's total is the user's count.
        let (status, page) = me
            .get_json("/api/dashboards/apac-dot/charts/reference-pivot/rows")
            .await;
        assert_eq!(status, 200, "{who}: {page}");
        assert_eq!(
            page["total"].as_u64().unwrap(),
            mine.len() as u64,
            "{who}'s rows"
        );

        if *who != "rita" {
            // The CSV of those rows holds the user's countries only.
            let res = me
                .client
                .get(me.url("/api/dashboards/apac-dot/charts/reference-pivot/rows.csv"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{who}'s rows.csv");
            let csv = res.text().await.unwrap();
            let exported = csv_column(&csv, "country");
            assert_eq!(exported.len(), mine.len(), "{who}'s exported rows");
            assert!(exported.iter().all(|c| want.contains(&c.as_str())), "{who}");

            // The dataset page's profile counts the user's rows only.
            let page = me.page("/datasets/apac_dot").await;
            assert!(
                page.contains(&format!("{} rows", fmt_thousands(mine.len() as u64))),
                "{who}'s profile"
            );
        }
    }
    // Different rules, different numbers: nobody saw another's cached answer.
    assert!(seen[0] != seen[1] && seen[0] > 0 && seen[1] > 0, "{seen:?}");
    assert_eq!(seen[3], 0, "no matching rule: no rows");
    assert!(
        seen[2] > seen[0],
        "North Asia holds Japan and more: {seen:?}"
    );
    // And the unrestricted answer is still the whole dataset.
    let (_, again) = analyst.get_json(url).await;
    assert_eq!(
        kpi(&again, "order_lines")["value"],
        kpi(&all, "order_lines")["value"]
    );
}

#[tokio::test]
async fn a_disabled_user_is_signed_out_and_a_role_change_rotates_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    let mut users = lantern_core::access::UsersFile::default();
    users.users.push(user("ana", &["viewer"], &[]));
    users.save(&file).unwrap();
    let path = file.clone();
    let app = TestApp::start_configured(move |c| {
        configure(c);
        c.auth.users.clear();
        c.auth.users_file = Some(path);
    })
    .await;
    let ana = signed_in(&app, "ana").await;
    assert_eq!(ana.status("/d/cursor-usage").await, 200);
    assert_eq!(ana.status("/d/apac-dot").await, 403);
    let before = cookie(&ana).await;

    // Given the analyst role: the same browser may open apac-dot at once, under a new session id.
    users.users[0].roles = vec!["analyst".into()];
    std::thread::sleep(std::time::Duration::from_millis(1100));
    users.save(&file).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(ana.status("/d/apac-dot").await, 200);
    assert_ne!(
        cookie(&ana).await,
        before,
        "the session id changes with the roles"
    );

    // Disabled: the next request is signed out, and signing in again fails with the usual message.
    users.users[0].enabled = false;
    std::thread::sleep(std::time::Duration::from_millis(1100));
    users.save(&file).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(ana.status("/").await, 303);
    let res = ana.login_as("ana", PASSWORD).await;
    assert_eq!(res.status(), 401);
}

/// The session id the server has this visitor on (the session layer sends its cookie with every response).
async fn cookie(me: &Visitor) -> String {
    let res = me.client.get(me.url("/api/specs")).send().await.unwrap();
    res.cookies()
        .find(|c| c.name() == "lantern_session")
        .map(|c| c.value().to_string())
        .expect("a session cookie")
}

/// The shipped example configuration loads, its roles check out against the shipped dashboards, and its
/// row rules hold.
#[tokio::test]
async fn the_example_configuration_works_with_the_demo_dashboards() {
    let example = crate::support::repo_root().join("examples/lantern.yaml");
    let loaded = Config::load(Some(&example)).unwrap();
    assert_eq!(loaded.auth.roles.len(), 4);
    let app = TestApp::start_configured(move |c| {
        c.auth.roles = loaded.auth.roles.clone();
        c.auth.users = vec![user("ji", &["north_asia"], &[])];
    })
    .await;
    let me = signed_in(&app, "ji").await;
    assert_eq!(country_options(&me).await, ["Japan", "Korea"]);
    assert_eq!(me.status("/d/cursor-usage").await, 403);
}

/// A row rule whose value cannot be its dimension's type stops the start, naming the role, dataset and rule.
#[tokio::test]
async fn a_row_rule_value_of_the_wrong_type_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::support::base_config(&dir.path().join("data").display().to_string());
    config.auth.roles = serde_yaml::from_str(
        "counted: {dashboards: [apac-dot], datasets: [apac_dot], rows: {apac_dot: [{country: Japan}, {quantity: [3, many]}]}}",
    )
    .unwrap();
    let err = crate::support::start_error(config, true).await;
    assert!(
        err.contains("auth.roles.counted.rows.apac_dot")
            && err.contains("rule 2")
            && err.contains("`many`"),
        "{err}"
    );
}
