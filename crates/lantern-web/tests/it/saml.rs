//! SAML 2.0 sign-in against a real identity provider that Lantern's code did not write (nanoidp, started here
//! on loopback), Lantern being the service provider: metadata, the AuthnRequest redirect, the provider's
//! signed response posted to the ACS, attributes mapped to roles and to a row rule's attribute. Then the
//! refusals, each found in the audit line of its own request: an altered response, an unsigned one, one for
//! another audience, one addressed to another ACS, one nobody asked for, a replay (within a session, in
//! another session, and on another replica sharing Redis), an expired one, and metadata without a signing key.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use lantern_core::config::{ClaimMapping, SamlConfig};
use lantern_testkit::Idp;

use crate::api::kpi;
use crate::sso::start_idp;
use crate::support::{Backend, TestApp, Visitor, client};

/// Lantern's SAML settings for an app reached at `addr`, with the provider's metadata at `metadata`.
pub fn saml_config(metadata: String, addr: SocketAddr) -> SamlConfig {
    SamlConfig {
        idp_metadata: metadata,
        entity_id: format!("http://{addr}/auth/saml/metadata"),
        acs_url: format!("http://{addr}/auth/saml/acs"),
        label: "Company SSO".into(),
        allow_idp_initiated: false,
        max_assertion_age_secs: 120,
        clock_skew_secs: 60,
        attributes: ClaimMapping {
            email: "email".into(),
            roles: "roles".into(),
            role_map: BTreeMap::from([
                ("ADMIN".into(), vec!["admin".into()]),
                ("USER".into(), vec!["regional".into()]),
            ]),
            attributes: BTreeMap::from([("region".into(), "region".into())]),
            ..ClaimMapping::saml()
        },
    }
}

fn metadata_url(idp: &Idp) -> String {
    format!("{}/saml/metadata", idp.base)
}

/// An app whose SAML provider is `idp`, its settings changed by `change` (given the app's address).
async fn start(
    idp: &Idp,
    change: impl FnOnce(&mut SamlConfig, &mut lantern_core::config::Config),
) -> TestApp {
    let metadata = metadata_url(idp);
    TestApp::start_at(Backend::Local, move |c, addr| {
        crate::access::configure(c);
        let mut saml = saml_config(metadata, addr);
        change(&mut saml, c);
        c.auth.saml = Some(saml);
    })
    .await
}

/// Lantern's redirect to the provider for `me`, who asked for the APAC dashboard.
async fn request_url(me: &Visitor) -> url::Url {
    url::Url::parse(&me.redirect_of("/auth/saml/start?next=/d/apac-dot").await).unwrap()
}

fn query(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The AuthnRequest a redirect carries (HTTP-Redirect binding: deflated, then base64), as XML.
fn authn_request(url: &url::Url) -> String {
    let deflated = B64.decode(query(url, "SAMLRequest").unwrap()).unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

/// The value of attribute `name` on the first element that has it.
fn xml_attribute(xml: &str, name: &str) -> String {
    let marker = format!(" {name}=\"");
    let at = xml
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {xml}"))
        + marker.len();
    xml[at..at + xml[at..].find('"').unwrap()].to_string()
}

/// What the provider answers once the user signed in: its response and where its form posts it.
struct Answer {
    acs: String,
    response: String,
    relay_state: String,
}

/// Signs `user` in at the provider's inline login form for `saml_request` (sent with `verb`'s binding).
async fn sign_in_at_provider(
    me: &Visitor,
    idp: &Idp,
    saml_request: &str,
    relay_state: &str,
    verb: &str,
    user: &str,
    password: &str,
) -> Answer {
    let res = me
        .client
        .post(format!("{}/saml/sso", idp.base))
        .form(&[
            ("SAMLRequest", saml_request),
            ("RelayState", relay_state),
            ("saml_original_verb", verb),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status();
    let html = res.text().await.unwrap();
    assert_eq!(status, 200, "the provider refused {user}: {html}");
    let value_of = |name: &str| {
        let marker = format!(r#"name="{name}" value=""#);
        let at = html
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in the provider's answer: {html}"))
            + marker.len();
        html[at..at + html[at..].find('"').unwrap()].to_string()
    };
    Answer {
        acs: xml_attribute(&html, "action"),
        response: value_of("SAMLResponse"),
        relay_state: value_of("RelayState"),
    }
}

/// Follows Lantern's redirect to the provider and signs `user` in there, as the browser would.
async fn at_provider(me: &Visitor, idp: &Idp, user: &str, password: &str) -> Answer {
    let url = request_url(me).await;
    let relay = query(&url, "RelayState").unwrap_or_default();
    let request = query(&url, "SAMLRequest").unwrap();
    sign_in_at_provider(me, idp, &request, &relay, "GET", user, password).await
}

/// A request of the test's own making, sent to the provider by HTTP-POST binding, with the `id` of Lantern's
/// pending request (or none: the provider then answers without `InResponseTo`, as to a sign-in started at the
/// provider) and naming `issuer` and `acs` as it likes.
async fn crafted_request(
    me: &Visitor,
    idp: &Idp,
    id: Option<&str>,
    issuer: &str,
    acs: &str,
) -> Answer {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let id = id.map(|id| format!(r#" ID="{id}""#)).unwrap_or_default();
    let xml = format!(
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"{id} Version="2.0" IssueInstant="{now}" Destination="{}/saml/sso" AssertionConsumerServiceURL="{acs}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>"#,
        idp.base
    );
    sign_in_at_provider(me, idp, &B64.encode(xml), "", "POST", "ana", "ana-pw").await
}

/// Posts `answer` to Lantern's ACS, as the provider's page does (`continued` as Lantern's own page does).
async fn post(me: &Visitor, answer: &Answer, response: &str, continued: bool) -> reqwest::Response {
    let mut form = vec![
        ("SAMLResponse", response),
        ("RelayState", answer.relay_state.as_str()),
    ];
    if continued {
        form.push(("continued", "1"));
    }
    me.client
        .post(me.url("/auth/saml/acs"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// A change to a response's XML.
type Edit = fn(String) -> String;

/// The response decoded, changed by `edit`, encoded again.
fn altered(response: &str, edit: impl FnOnce(String) -> String) -> String {
    let xml = String::from_utf8(B64.decode(response).unwrap()).unwrap();
    let changed = edit(xml.clone());
    assert_ne!(changed, xml, "the edit changed nothing");
    B64.encode(changed)
}

/// The response with its assertion signed again by the provider's own key, with `sha` (`sha1` or `sha256`) as
/// digest and RSA signature hash (nanoidp itself signs with SHA-256 only): signxml, from nanoidp's
/// virtualenv, does the signing.
fn signed_again(idp: &Idp, response: &str, sha: &str) -> String {
    const SCRIPT: &str = r#"
import base64, sys
from lxml import etree
from signxml import XMLSigner, methods
keys, sha = sys.argv[1], sys.argv[2]
root = etree.fromstring(base64.b64decode(sys.stdin.read()))
ns = {"ds": "http://www.w3.org/2000/09/xmldsig#", "saml": "urn:oasis:names:tc:SAML:2.0:assertion"}
assertion = root.find("saml:Assertion", ns)
for old in assertion.findall("ds:Signature", ns):
    assertion.remove(old)
class Sha1Signer(XMLSigner):
    def check_deprecated_methods(self):  # signxml refuses SHA-1 unless told: this test needs it
        pass
signer = Sha1Signer(method=methods.enveloped, signature_algorithm="rsa-" + sha, digest_algorithm=sha,
                   c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
signed = signer.sign(assertion, key=open(keys + "/rsa_private.pem", "rb").read(),
                     cert=open(keys + "/idp-cert.pem").read(), reference_uri=assertion.get("ID"))
root.replace(assertion, signed)
sys.stdout.write(base64.b64encode(etree.tostring(root)).decode())
"#;
    let out = lantern_testkit::run_with_input(
        std::process::Command::new(lantern_testkit::venv_python())
            .args(["-c", SCRIPT])
            .arg(idp.keys_dir())
            .arg(sha),
        response.as_bytes(),
    );
    assert!(
        out.status.success(),
        "re-signing: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `xml` without its first element named `tag` (the whole element, children included).
fn without_element(xml: &str, tag: &str) -> String {
    let start = xml
        .find(&format!("<{tag}"))
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"));
    let close = format!("</{tag}>");
    let end = start + xml[start..].find(&close).unwrap() + close.len();
    format!("{}{}", &xml[..start], &xml[end..])
}

/// A refused response: the login page again, nobody signed in, and the audit line of that very request
/// saying why, in words containing `why`.
async fn assert_refused(me: &Visitor, res: reqwest::Response, why: &str) {
    let lines = crate::audit_log::of(&res);
    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Single sign-on did not complete")
    );
    let reasons: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "login_failed" && l["method"] == "saml")
        .filter_map(|l| l["reason"].as_str())
        .collect();
    assert!(
        reasons.len() == 1 && reasons[0].contains(why),
        "expected one refusal saying `{why}`, the audit says {reasons:?}"
    );
    assert_eq!(me.status("/").await, 303, "not signed in");
}

/// Signed in: sent to `next`, with an audit line naming the user, the method and the roles.
fn assert_signed_in(res: &reqwest::Response, next: &str, user: &str, roles: &str) {
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], next);
    let lines = crate::audit_log::of(res);
    assert!(
        lines.iter().any(|l| l["event"] == "login"
            && l["user"] == user
            && l["method"] == "saml"
            && l["roles"] == roles),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_signs_users_in_with_their_provider_roles_and_row_rules() {
    let idp = start_idp().await;
    let app = start(&idp, |_, _| {}).await;
    assert!(
        app.page("/login")
            .await
            .contains("Sign in with Company SSO")
    );

    // Lantern's metadata, for the provider's administrator.
    let res = app
        .client
        .get(app.url("/auth/saml/metadata"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    let metadata = res.text().await.unwrap();
    assert_eq!(
        xml_attribute(&metadata, "entityID"),
        app.url("/auth/saml/metadata")
    );
    assert_eq!(
        xml_attribute(&metadata, "Location"),
        app.url("/auth/saml/acs")
    );
    assert!(metadata.contains("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"));
    assert!(
        !metadata.contains("SingleLogoutService"),
        "no logout endpoint is served"
    );

    // The request Lantern sends: to the provider's SSO URL, from Lantern's entity id, with a 128-bit id.
    let boss = app.with_client(client());
    let url = request_url(&boss).await;
    assert_eq!(
        url.as_str().split('?').next().unwrap(),
        format!("{}/saml/sso", idp.base)
    );
    let request = authn_request(&url);
    assert!(request.contains(&format!(">{}<", app.url("/auth/saml/metadata"))));
    assert_eq!(xml_attribute(&request, "ID").len(), 33, "{request}");

    // The provider's ADMIN: Lantern's admin, back on the page asked for.
    let relay = query(&url, "RelayState").unwrap_or_default();
    let answer = sign_in_at_provider(
        &boss,
        &idp,
        &query(&url, "SAMLRequest").unwrap(),
        &relay,
        "GET",
        "boss",
        "boss-pw",
    )
    .await;
    assert_eq!(answer.acs, app.url("/auth/saml/acs"));
    let res = post(&boss, &answer, &answer.response, false).await;
    assert_signed_in(&res, "/d/apac-dot", "boss@example.org", "admin,regional");
    let (status, list) = boss.get_json("/api/dashboards").await;
    assert_eq!(status, 200);
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "admin opens every dashboard"
    );

    // The same response again, in the session it signed in: that sign-in is over.
    let res = post(&boss, &answer, &answer.response, true).await;
    assert_eq!(res.status(), 401);
    let reasons = crate::audit_log::of(&res);
    assert!(
        reasons[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no sign-in under way"),
        "{reasons:?}"
    );
    // In another session that started a sign-in of its own: it answers another request.
    let other = app.with_client(client());
    request_url(&other).await;
    let res = post(&other, &answer, &answer.response, false).await;
    assert_refused(&other, res, "InResponseTo").await;

    // A provider USER: the `regional` role, with the row rule bound to the `region` attribute (North Asia).
    let ana = app.with_client(client());
    let answer = at_provider(&ana, &idp, "ana", "ana-pw").await;
    let res = post(&ana, &answer, &answer.response, false).await;
    assert_signed_in(&res, "/d/apac-dot", "ana@example.org", "regional");
    let north_asia = crate::access::apac_rows(&app)
        .await
        .iter()
        .filter(|r| r.1 == "North Asia")
        .count() as u64;
    assert!(north_asia > 0);
    let (status, data) = ana.get_json("/api/dashboards/apac-dot/data").await;
    assert_eq!(status, 200, "{data}");
    assert_eq!(
        kpi(&data, "order_lines")["value"].as_u64().unwrap(),
        north_asia
    );
    assert_eq!(
        ana.status("/d/cursor-usage").await,
        403,
        "regional opens apac-dot only"
    );
    assert!(
        ana.page("/").await.contains("Ana Sato"),
        "the display name from `displayName`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_refuses_altered_unsigned_misaddressed_and_unsolicited_responses() {
    let idp = start_idp().await;
    let app = start(&idp, |_, _| {}).await;

    // An attribute changed after the provider signed, or the signature taken away.
    let edits: [(Edit, &str); 2] = [
        (
            |xml| xml.replace("North Asia", "Oceania"),
            "does not verify",
        ),
        (|xml| without_element(&xml, "ds:Signature"), "not signed"),
    ];
    for (edit, why) in edits {
        let me = app.with_client(client());
        let answer = at_provider(&me, &idp, "ana", "ana-pw").await;
        let res = post(&me, &answer, &altered(&answer.response, edit), false).await;
        assert_refused(&me, res, why).await;
    }

    // Signed by the provider's own key, but with SHA-1 (and, as the control, the same signing with SHA-256
    // is accepted).
    let me = app.with_client(client());
    let answer = at_provider(&me, &idp, "ana", "ana-pw").await;
    let weak = signed_again(&idp, &answer.response, "sha1");
    assert!(
        String::from_utf8(B64.decode(&weak).unwrap())
            .unwrap()
            .contains("xmldsig#rsa-sha1")
    );
    let res = post(&me, &answer, &weak, false).await;
    assert_refused(
        &me,
        res,
        "algorithm refused here: http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    )
    .await;
    let me = app.with_client(client());
    let answer = at_provider(&me, &idp, "ana", "ana-pw").await;
    let strong = signed_again(&idp, &answer.response, "sha256");
    assert_ne!(strong, answer.response);
    let res = post(&me, &answer, &strong, false).await;
    assert_signed_in(&res, "/d/apac-dot", "ana@example.org", "regional");

    // Signed for another service provider (its audience), or addressed to another ACS: by the response's
    // `Destination` (unsigned here: nanoidp signs the assertion only) and, with that taken out, by the signed
    // `Recipient`; each though answering this session's own request.
    let (entity, acs) = (app.url("/auth/saml/metadata"), app.url("/auth/saml/acs"));
    let elsewhere = "http://127.0.0.1:9/elsewhere/acs";
    let no_destination: Edit =
        |xml| xml.replace(r#"Destination="http://127.0.0.1:9/elsewhere/acs""#, "");
    let cases: [(&str, &str, Option<Edit>, &str); 3] = [
        (
            "https://another-app.example/sp",
            &acs,
            None,
            "AudienceRequirement",
        ),
        (
            &entity,
            elsewhere,
            None,
            "addressed to http://127.0.0.1:9/elsewhere/acs",
        ),
        (
            &entity,
            elsewhere,
            Some(no_destination),
            "Recipient does not match SP ACS URL",
        ),
    ];
    for (issuer, to, edit, why) in cases {
        let me = app.with_client(client());
        let id = xml_attribute(&authn_request(&request_url(&me).await), "ID");
        let answer = crafted_request(&me, &idp, Some(&id), issuer, to).await;
        let response = edit.map_or(answer.response.clone(), |e| altered(&answer.response, e));
        let res = post(&me, &answer, &response, false).await;
        assert_refused(&me, res, why).await;
    }

    // A valid response posted where no sign-in is under way. First Lantern's page that posts it again from
    // Lantern's own origin (a browser sends no SameSite=Lax cookie with the provider's cross-site post)...
    let me = app.with_client(client());
    let answer = at_provider(&me, &idp, "ana", "ana-pw").await;
    let stranger = app.with_client(client());
    let res = post(&stranger, &answer, &answer.response, false).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains(r#"action="/auth/saml/acs""#), "{page}");
    assert!(page.contains(r#"name="continued" value="1""#));
    assert!(page.contains(&answer.response[..40]));
    assert_eq!(stranger.status("/").await, 303, "the page signs nobody in");
    // ...then that post, which finds no sign-in this session asked for.
    let res = post(&stranger, &answer, &answer.response, true).await;
    assert_refused(&stranger, res, "no sign-in under way").await;
    // The owner of the sign-in still completes it.
    let res = post(&me, &answer, &answer.response, false).await;
    assert_signed_in(&res, "/d/apac-dot", "ana@example.org", "regional");

    // A post with no response at all.
    let res = post(&stranger, &answer, "", true).await;
    assert_refused(&stranger, res, "no SAMLResponse").await;
}

fn redis_url() -> String {
    std::env::var("LANTERN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

/// With responses Lantern did not ask for allowed (a tile in the provider's portal), nothing ties a response
/// to a session: the assertion id is what stops a replay, also on another replica sharing Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_refuses_a_replayed_assertion_on_every_replica_sharing_redis() {
    let idp = start_idp().await;
    let redis = redis_url();
    let store = redis.clone();
    let first = start(&idp, move |saml, c| {
        saml.allow_idp_initiated = true;
        c.sessions.store = store;
    })
    .await;
    // The second replica answers at the same public address as the first (entity id, ACS).
    let public = first.addr;
    let metadata = metadata_url(&idp);
    let second = TestApp::start_at(Backend::Local, move |c, _| {
        crate::access::configure(c);
        let mut saml = saml_config(metadata, public);
        saml.allow_idp_initiated = true;
        c.auth.saml = Some(saml);
        c.sessions.store = redis;
    })
    .await;

    // A response to a sign-in started at the provider (no InResponseTo), replayed by whoever captured it, on
    // the same replica and on the other.
    let (entity, acs) = (
        first.url("/auth/saml/metadata"),
        first.url("/auth/saml/acs"),
    );
    let me = first.with_client(client());
    let answer = crafted_request(&me, &idp, None, &entity, &acs).await;
    assert!(
        !B64.decode(&answer.response)
            .map(|x| String::from_utf8(x).unwrap())
            .unwrap()
            .contains("InResponseTo")
    );
    let res = post(&me, &answer, &answer.response, false).await;
    assert_eq!(res.status(), 200, "Lantern's page that posts it again");
    let res = post(&me, &answer, &answer.response, true).await;
    assert_signed_in(&res, "/", "ana@example.org", "regional");
    let again = first.with_client(client());
    let res = post(&again, &answer, &answer.response, true).await;
    assert_refused(&again, res, "used before").await;
    let elsewhere = second.with_client(client());
    let res = post(&elsewhere, &answer, &answer.response, true).await;
    assert_refused(&elsewhere, res, "used before").await;

    // Unsolicited responses allowed, a response that answers a request is still bound to its session: posted
    // by another (a login CSRF with the attacker's own response), or in a session that sent another request.
    let me = first.with_client(client());
    let answer = at_provider(&me, &idp, "ana", "ana-pw").await;
    let victim = first.with_client(client());
    let res = post(&victim, &answer, &answer.response, true).await;
    assert_refused(&victim, res, "which this session did not send").await;
    request_url(&victim).await;
    let res = post(&victim, &answer, &answer.response, false).await;
    assert_refused(&victim, res, "InResponseTo").await;

    // A fresh assertion is accepted on the second replica: it was the id it refused, not the provider.
    let me = second.with_client(client());
    let answer = at_provider(&me, &idp, "ana", "ana-pw").await;
    assert_eq!(answer.acs, first.url("/auth/saml/acs"));
    let res = post(&me, &answer, &answer.response, true).await;
    assert_signed_in(&res, "/d/apac-dot", "ana@example.org", "regional");
}

/// The provider's metadata from a file: a replay refused from this process's memory, an assertion older than
/// allowed refused, and metadata that could verify nothing refused at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_refuses_expired_assertions_and_metadata_without_a_signing_key() {
    let idp = start_idp().await;
    let metadata = reqwest::get(metadata_url(&idp))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("idp-metadata.xml");
    std::fs::write(&file, &metadata).unwrap();
    let path = file.display().to_string();
    let app = start(&idp, move |saml, _| {
        saml.idp_metadata = path;
        saml.allow_idp_initiated = true;
        saml.max_assertion_age_secs = 2;
        saml.clock_skew_secs = 0;
    })
    .await;

    // An unsolicited response, used once: its id is remembered in this process.
    let (entity, acs) = (app.url("/auth/saml/metadata"), app.url("/auth/saml/acs"));
    let me = app.with_client(client());
    let answer = crafted_request(&me, &idp, None, &entity, &acs).await;
    let res = post(&me, &answer, &answer.response, true).await;
    assert_signed_in(&res, "/", "ana@example.org", "regional");
    let again = app.with_client(client());
    let res = post(&again, &answer, &answer.response, true).await;
    assert_refused(&again, res, "used before").await;

    let me = app.with_client(client());
    let answer = at_provider(&me, &idp, "ana", "ana-pw").await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let res = post(&me, &answer, &answer.response, false).await;
    assert_refused(&me, res, "expired").await;

    // The same metadata with its keys taken out: refused when Lantern starts, naming the file.
    let mut keyless = metadata.clone();
    while let Some(open) = keyless.find(":KeyDescriptor") {
        let prefix = &keyless[keyless[..open].rfind('<').unwrap() + 1..open];
        keyless = without_element(&keyless, &format!("{prefix}:KeyDescriptor"));
    }
    assert!(!keyless.contains("X509Certificate"), "{keyless}");
    let keyless_file = dir.path().join("keyless.xml");
    std::fs::write(&keyless_file, keyless).unwrap();
    let mut config = crate::support::base_config(&dir.path().join("data").display().to_string());
    crate::access::configure(&mut config);
    config.auth.saml = Some(saml_config(
        keyless_file.display().to_string(),
        "127.0.0.1:1".parse().unwrap(),
    ));
    let err = crate::support::start_error(config, false).await;
    assert!(
        err.contains(&keyless_file.display().to_string()) && err.contains("no signing certificate"),
        "{err}"
    );
}
