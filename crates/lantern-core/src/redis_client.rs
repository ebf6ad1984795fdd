//! Redis clients for the shared result cache and the sessions: `redis://` in the clear, or `rediss://` over TLS
//! (as managed Redis services such as ElastiCache with in-transit encryption require), trusting the system's
//! roots, or those of `SSL_CERT_FILE` / `SSL_CERT_DIR` when set (a private certificate authority).

/// A client for `url`; it connects on first use.
pub fn open(url: &str) -> redis::RedisResult<redis::Client> {
    if url.trim_start().starts_with("rediss://") {
        // Other crates build rustls with more than one crypto provider, so it picks none by itself: a TLS
        // connection needs one installed for the process. An error means one already is.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
    redis::Client::open(url)
}

/// `error` as text, with the way out when it is a certificate no root vouches for (over TLS, usually a private
/// authority's): for the start-up error of the sessions and the cache's warning alike.
pub fn explain(error: &dyn std::fmt::Display) -> String {
    let text = error.to_string();
    if text.contains("certificate") {
        format!(
            "{text} (for a certificate authority the system does not trust, set SSL_CERT_FILE to its PEM file)"
        )
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_schemes_open_and_others_do_not() {
        for url in [
            "redis://127.0.0.1:6379/0",
            "rediss://cache.example.com:6380/1",
        ] {
            assert!(super::open(url).is_ok(), "{url}");
        }
        assert!(super::open("http://127.0.0.1:6379").is_err());
    }

    #[test]
    fn certificate_errors_say_how_to_trust_the_authority() {
        let unknown = "invalid peer certificate: UnknownIssuer";
        assert!(super::explain(&unknown).ends_with("set SSL_CERT_FILE to its PEM file)"));
        assert_eq!(super::explain(&"connection refused"), "connection refused");
    }
}
