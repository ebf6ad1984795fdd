//! The identity provider as Lantern trusts it: its metadata (from a file at start, or a URL on first use),
//! and samael's service provider configured so that its lenient defaults are closed. samael would parse a
//! response without checking any signature when the metadata has no signing key, accept any signature
//! algorithm, and check the audience only when the assertion names one; here a metadata without a signing key
//! is refused, only SHA-256 and stronger signatures verify, and the audience is required. samael's
//! `allow_idp_initiated` also stops it comparing `InResponseTo` with the request sent, so a response that
//! answers a request is always checked by a service provider that does not allow unsolicited ones, and the
//! lenient one only takes responses that answer no request at all.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use lantern_core::config::SamlConfig;
use samael::crypto::AllowedSignatureAlgorithm;
use samael::metadata::{EntityDescriptor, HTTP_REDIRECT_BINDING};
use samael::schema::{Assertion, Response};
use samael::service_provider::ServiceProvider;
use serde_json::Value;

/// Signature algorithms accepted: SHA-1 and weaker are refused (samael accepts every one unless told).
const STRONG_ALGORITHMS: [AllowedSignatureAlgorithm; 6] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// Metadata bigger than this is refused rather than parsed.
const METADATA_MAX_BYTES: usize = 1 << 20;

/// After a failed metadata fetch, requests wait this long before the next try (each would fetch otherwise).
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// The configured identity provider.
pub struct Provider {
    pub(crate) config: SamlConfig,
    http: openidconnect::reqwest::Client,
    sp: tokio::sync::OnceCell<ServiceProviders>,
    last_failure: std::sync::Mutex<Option<(std::time::Instant, String)>>,
}

/// samael's service provider twice over the same metadata: `answering` checks responses against the request
/// they answer; `unsolicited` (only when `allow_idp_initiated`) takes responses that answer none.
pub struct ServiceProviders {
    answering: ServiceProvider,
    unsolicited: Option<ServiceProvider>,
}

/// A verified assertion, as Lantern uses it.
pub struct Verified {
    /// The assertion's id, for the replay check.
    pub id: String,
    /// How long the assertion could still be accepted: its id is remembered that long.
    pub keep: Duration,
    /// `name_id` and every attribute by its `Name` and its `FriendlyName`.
    pub claims: BTreeMap<String, Value>,
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

impl Provider {
    /// Reads and checks metadata given as a file now, so a bad file stops the start with its path named.
    pub fn new(config: SamlConfig) -> Result<Self, String> {
        let http = crate::sso::provider_http();
        let mut provider = Self {
            config,
            http,
            sp: tokio::sync::OnceCell::new(),
            last_failure: std::sync::Mutex::new(None),
        };
        if !is_url(&provider.config.idp_metadata) {
            let path = &provider.config.idp_metadata;
            let xml = std::fs::read_to_string(path)
                .map_err(|e| format!("auth.saml.idp_metadata: cannot read {path}: {e}"))?;
            let sp = provider
                .service_provider(&xml)
                .map_err(|e| format!("auth.saml.idp_metadata: {path}: {e}"))?;
            provider.sp = tokio::sync::OnceCell::new_with(Some(sp));
        }
        Ok(provider)
    }

    pub fn label(&self) -> &str {
        &self.config.label
    }

    /// samael's service providers over the provider's `metadata`, checked.
    fn service_provider(&self, metadata: &str) -> Result<ServiceProviders, String> {
        let idp: EntityDescriptor = metadata
            .parse()
            .map_err(|e| format!("not SAML metadata: {e}"))?;
        if idp.entity_id.as_deref().is_none_or(str::is_empty) {
            return Err("the metadata has no entityID".into());
        }
        let sp = ServiceProvider {
            entity_id: Some(self.config.entity_id.clone()),
            metadata_url: Some(self.config.entity_id.clone()),
            acs_url: Some(self.config.acs_url.clone()),
            slo_url: None,
            idp_metadata: idp,
            allow_idp_initiated: false,
            max_issue_delay: chrono::Duration::seconds(self.config.max_assertion_age_secs as i64),
            max_clock_skew: chrono::Duration::seconds(self.config.clock_skew_secs as i64),
            allowed_signature_algorithms: Some(STRONG_ALGORITHMS.to_vec()),
            ..ServiceProvider::default()
        };
        match sp.idp_signing_certs() {
            Ok(Some(certs)) if !certs.is_empty() => {}
            Ok(_) => {
                return Err(
                    "the metadata has no signing certificate, so no response could be verified: \
                            refused (add the provider's signing certificate to its metadata)"
                        .into(),
                );
            }
            Err(e) => return Err(format!("a signing certificate does not parse: {e}")),
        }
        if sp.sso_binding_location(HTTP_REDIRECT_BINDING).is_none() {
            return Err(
                "the metadata has no SingleSignOnService with the HTTP-Redirect binding".into(),
            );
        }
        let unsolicited = self.config.allow_idp_initiated.then(|| ServiceProvider {
            allow_idp_initiated: true,
            ..sp.clone()
        });
        Ok(ServiceProviders {
            answering: sp,
            unsolicited,
        })
    }

    /// The service providers, fetching the metadata first when it is a URL (again after a failure, but not
    /// within 30 seconds of it).
    pub async fn sp(&self) -> Result<&ServiceProviders, String> {
        if let Some(sp) = self.sp.get() {
            return Ok(sp);
        }
        if let Some((at, why)) = self.last_failure.lock().unwrap().as_ref()
            && at.elapsed() < RETRY_AFTER
        {
            return Err(why.clone());
        }
        let fetched = self.sp.get_or_try_init(|| self.fetch_metadata()).await;
        if let Err(why) = &fetched {
            *self.last_failure.lock().unwrap() = Some((std::time::Instant::now(), why.clone()));
        }
        fetched
    }

    async fn fetch_metadata(&self) -> Result<ServiceProviders, String> {
        let url = &self.config.idp_metadata;
        let at = |e: &dyn std::fmt::Display| format!("IdP metadata at {url}: {e}");
        let mut res = self.http.get(url).send().await.map_err(|e| at(&e))?;
        if !res.status().is_success() {
            return Err(at(&format!("answered {}", res.status())));
        }
        // Read in chunks, so a huge answer is cut off rather than held whole.
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| at(&e))? {
            body.extend_from_slice(&chunk);
            if body.len() > METADATA_MAX_BYTES {
                return Err(at(&"larger than 1 MiB"));
            }
        }
        let xml = std::str::from_utf8(&body).map_err(|e| at(&e))?;
        self.service_provider(xml).map_err(|e| at(&e))
    }

    /// Lantern's metadata, for the provider's administrator: entity id, the ACS (HTTP-POST), signed assertions
    /// wanted. Built here rather than by samael's `metadata()`, which insists on a single logout endpoint
    /// Lantern does not serve; Lantern neither signs requests nor decrypts assertions, so it lists no key.
    pub fn metadata_xml(&self) -> Result<String, String> {
        use samael::metadata::{HTTP_POST_BINDING, IndexedEndpoint, SpSsoDescriptor};
        use samael::traits::ToXml;
        let descriptor = SpSsoDescriptor {
            protocol_support_enumeration: Some("urn:oasis:names:tc:SAML:2.0:protocol".into()),
            authn_requests_signed: Some(false),
            want_assertions_signed: Some(true),
            assertion_consumer_services: vec![IndexedEndpoint {
                binding: HTTP_POST_BINDING.into(),
                location: self.config.acs_url.clone(),
                ..IndexedEndpoint::default()
            }],
            ..SpSsoDescriptor::default()
        };
        let metadata = EntityDescriptor {
            entity_id: Some(self.config.entity_id.clone()),
            valid_until: Some(Utc::now() + chrono::Duration::hours(48)),
            sp_sso_descriptors: Some(vec![descriptor]),
            ..EntityDescriptor::default()
        };
        metadata.to_string().map_err(|e| e.to_string())
    }

    /// The AuthnRequest redirect to the provider, and the request's id (which the response must answer).
    pub fn authn_redirect(&self, sps: &ServiceProviders) -> Result<(url::Url, String), String> {
        let sp = &sps.answering;
        let sso = sp
            .sso_binding_location(HTTP_REDIRECT_BINDING)
            .ok_or("no HTTP-Redirect SingleSignOnService")?;
        let mut request = sp
            .make_authentication_request(&sso)
            .map_err(|e| e.to_string())?;
        // samael's ids carry 32 random bits; an id that answers a sign-in deserves 128.
        let random: [u8; 16] = rand::random();
        request.id = format!(
            "_{}",
            random
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let url = request
            .redirect("")
            .map_err(|e| e.to_string())?
            .ok_or("the request has no destination")?;
        Ok((url, request.id))
    }

    /// Verifies a base64 `SAMLResponse` answering `request_id` (or, when allowed, none) and returns its
    /// assertion; the error says why it was refused, for the log.
    pub fn verify(
        &self,
        sps: &ServiceProviders,
        encoded: &str,
        request_id: Option<&str>,
    ) -> Result<Verified, String> {
        // Some providers wrap the base64 in lines.
        let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
        let xml = base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .map_err(|e| format!("the SAMLResponse is not base64: {e}"))?;
        let xml =
            String::from_utf8(xml).map_err(|_| "the SAMLResponse is not UTF-8".to_string())?;
        self.check_envelope(&xml)?;
        let assertion = match (request_id, &sps.unsolicited) {
            (Some(id), _) => sps.answering.parse_xml_response(&xml, Some(&[id])),
            (None, Some(sp)) => sp.parse_xml_response(&xml, None),
            (None, None) => {
                return Err("no sign-in under way, and unsolicited responses are off".into());
            }
        }
        .map_err(|e| explain(&e, &xml))?;
        if request_id.is_none() {
            // samael, allowing unsolicited responses, compares no InResponseTo: a response that answers a
            // request answers one sent from another session, and is no unsolicited response.
            let answers = assertion
                .subject
                .iter()
                .flat_map(|s| s.subject_confirmations.iter().flatten())
                .filter_map(|c| {
                    c.subject_confirmation_data
                        .as_ref()?
                        .in_response_to
                        .as_ref()
                })
                .next();
            if let Some(id) = answers {
                return Err(format!(
                    "the response answers request {id}, which this session did not send"
                ));
            }
        }
        // samael checks the audience only when the assertion restricts it, and passes when any one of several
        // restrictions names Lantern: every restriction must, and there must be one.
        let restrictions: Vec<Vec<&str>> = assertion
            .conditions
            .iter()
            .flat_map(|c| c.audience_restrictions.iter().flatten())
            .map(|r| r.audience.iter().map(String::as_str).collect())
            .collect();
        let ours = self.config.entity_id.as_str();
        if restrictions.is_empty() || restrictions.iter().any(|r| !r.contains(&ours)) {
            return Err(format!(
                "the assertion is for audience {restrictions:?}, not for `{ours}`"
            ));
        }
        let skew = chrono::Duration::seconds(self.config.clock_skew_secs as i64);
        if assertion.issue_instant > Utc::now() + skew {
            return Err(format!(
                "the assertion is issued in the future ({})",
                assertion.issue_instant
            ));
        }
        if assertion.id.len() > super::super::replay::ID_MAX_LEN {
            return Err("the assertion id is longer than 256 characters".into());
        }
        Ok(Verified {
            id: assertion.id.clone(),
            keep: self.acceptable_for(&assertion),
            claims: claims(&assertion),
        })
    }

    /// The response's envelope, read before any signature check. samael checks `Destination` and the status
    /// only when the response itself is signed (not only its assertion); refusing on what an unsigned
    /// envelope says lets nothing in, and a provider's error status gets its own message.
    fn check_envelope(&self, xml: &str) -> Result<(), String> {
        let Ok(response) = xml.parse::<Response>() else {
            return Ok(());
        };
        if let Some(to) = &response.destination
            && *to != self.config.acs_url
        {
            return Err(format!(
                "the response is addressed to {to}, not to this ACS ({})",
                self.config.acs_url
            ));
        }
        let status = response
            .status
            .as_ref()
            .and_then(|s| s.status_code.value.as_deref());
        if let Some(code) = status
            && code != "urn:oasis:names:tc:SAML:2.0:status:Success"
        {
            return Err(format!("the provider answered status {code}"));
        }
        Ok(())
    }

    /// How much longer `assertion` could pass samael's time checks: its latest deadline plus the skew.
    fn acceptable_for(&self, assertion: &Assertion) -> Duration {
        let skew = chrono::Duration::seconds(self.config.clock_skew_secs as i64);
        let mut until = assertion.issue_instant
            + chrono::Duration::seconds(self.config.max_assertion_age_secs as i64);
        if let Some(t) = assertion
            .conditions
            .as_ref()
            .and_then(|c| c.not_on_or_after)
        {
            until = until.max(t);
        }
        for c in assertion
            .subject
            .iter()
            .flat_map(|s| s.subject_confirmations.iter().flatten())
        {
            if let Some(t) = c
                .subject_confirmation_data
                .as_ref()
                .and_then(|d| d.not_on_or_after)
            {
                until = until.max(t);
            }
        }
        (until + skew - Utc::now()).to_std().unwrap_or_default()
    }
}

/// samael's refusal in words a log reader acts on. samael says only "must be signed" for a missing, a
/// wrong and a weak signature; the response (read unverified, for this message only) tells them apart.
fn explain(e: &samael::service_provider::Error, xml: &str) -> String {
    use samael::service_provider::Error as E;
    if !matches!(e, E::FailedToValidateSignature) {
        return format!("{e}");
    }
    let Ok(response) = xml.parse::<Response>() else {
        return "no valid signature by the provider's key (the response does not parse as sent)"
            .into();
    };
    let signatures: Vec<_> = response
        .signature
        .iter()
        .chain(
            response
                .assertion
                .iter()
                .filter_map(|a| a.signature.as_ref()),
        )
        .collect();
    if signatures.is_empty() {
        return "the response is not signed: neither the response nor its assertion carries a signature"
            .into();
    }
    let weak: Vec<&str> = signatures
        .iter()
        .map(|s| s.signed_info.signature_method.algorithm.value())
        .filter(|a| !STRONG_ALGORITHMS.iter().any(|s| s.signature_uri() == *a))
        .collect();
    if !weak.is_empty() {
        return format!("signed with an algorithm refused here: {}", weak.join(", "));
    }
    "the signature does not verify with the provider's key: the response was altered, or signed by another key"
        .into()
}

/// The attribute name under which the subject's `NameID` is a claim; no attribute can take it.
const NAME_ID: &str = "name_id";

/// The assertion's subject and attributes as claims for [`crate::sso::map_user`]: every attribute by its
/// `Name`, then by its `FriendlyName` where no attribute has that `Name` (so a friendly name never shadows
/// another attribute), and the `NameID` as `name_id`.
fn claims(assertion: &Assertion) -> BTreeMap<String, Value> {
    let attributes: Vec<_> = assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| &s.attributes)
        .collect();
    let values = |a: &samael::attribute::Attribute| {
        Value::Array(
            a.values
                .iter()
                .filter_map(|v| v.value.as_ref())
                .map(|v| Value::String(v.trim().into()))
                .collect(),
        )
    };
    let mut claims = BTreeMap::new();
    for a in &attributes {
        if let Some(name) = a.name.as_ref().filter(|n| *n != NAME_ID) {
            claims.entry(name.clone()).or_insert_with(|| values(a));
        }
    }
    let by_name: Vec<String> = claims.keys().cloned().collect();
    for a in &attributes {
        if let Some(friendly) = a.friendly_name.as_ref().filter(|n| *n != NAME_ID)
            && !by_name.contains(friendly)
        {
            claims.entry(friendly.clone()).or_insert_with(|| values(a));
        }
    }
    if let Some(id) = assertion.subject.as_ref().and_then(|s| s.name_id.as_ref()) {
        claims.insert(NAME_ID.to_string(), Value::String(id.value.trim().into()));
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_the_name_id_and_every_attribute_by_name_and_friendly_name() {
        let xml = r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="2026-12-01T10:00:00Z">
  <saml:Issuer>https://idp.example</saml:Issuer>
  <saml:Subject><saml:NameID> ana@example.org </saml:NameID></saml:Subject>
  <saml:AttributeStatement>
    <saml:Attribute Name="urn:oid:0.9.2342.19200300.100.1.3" FriendlyName="mail"><saml:AttributeValue>ana@example.org</saml:AttributeValue></saml:Attribute>
    <saml:Attribute Name="groups"><saml:AttributeValue>USER</saml:AttributeValue><saml:AttributeValue>ANALYSTS</saml:AttributeValue></saml:Attribute>
  </saml:AttributeStatement>
</saml:Assertion>"#;
        let assertion: Assertion = xml.parse().unwrap();
        let c = claims(&assertion);
        assert_eq!(c["name_id"], "ana@example.org", "trimmed");
        assert_eq!(c["mail"], serde_json::json!(["ana@example.org"]));
        assert_eq!(
            c["urn:oid:0.9.2342.19200300.100.1.3"],
            serde_json::json!(["ana@example.org"])
        );
        assert_eq!(c["groups"], serde_json::json!(["USER", "ANALYSTS"]));
    }

    #[test]
    fn a_friendly_name_never_shadows_an_attribute_and_no_attribute_is_the_name_id() {
        let xml = r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a2" Version="2.0" IssueInstant="2026-12-01T10:00:00Z">
  <saml:Issuer>https://idp.example</saml:Issuer>
  <saml:AttributeStatement>
    <saml:Attribute Name="nickname" FriendlyName="groups"><saml:AttributeValue>ADMINS</saml:AttributeValue></saml:Attribute>
    <saml:Attribute Name="groups"><saml:AttributeValue>USER</saml:AttributeValue></saml:Attribute>
    <saml:Attribute Name="name_id"><saml:AttributeValue>boss@example.org</saml:AttributeValue></saml:Attribute>
  </saml:AttributeStatement>
</saml:Assertion>"#;
        let c = claims(&xml.parse().unwrap());
        assert_eq!(
            c["groups"],
            serde_json::json!(["USER"]),
            "by Name, whatever the order"
        );
        assert_eq!(c["nickname"], serde_json::json!(["ADMINS"]));
        assert!(!c.contains_key("name_id"), "no NameID, no username: {c:?}");
    }
}
