//! The audit log: one JSON line per security event (login, logout, failure, lockout, forbidden access, session
//! rotation), under the `audit` log target, whatever the log format, so it can be routed and parsed apart from
//! the rest of the log.

/// Records `event` for `user` with extra `fields`, and the current request's id.
pub fn event(event: &str, user: &str, fields: &[(&str, &str)]) {
    let mut line = serde_json::Map::new();
    line.insert(
        "time".into(),
        chrono::Utc::now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            .into(),
    );
    line.insert("event".into(), event.into());
    line.insert("user".into(), user.into());
    if let Some(id) = crate::request_id::current() {
        line.insert("request_id".into(), id.into());
    }
    for (k, v) in fields {
        line.insert((*k).into(), (*v).into());
    }
    tracing::info!(target: "audit", "{}", serde_json::Value::Object(line));
}
