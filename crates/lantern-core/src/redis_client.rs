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
}
