//! REST APIs: GET or POST with headers; bearer, API key, basic or OAuth2 client-credentials auth; pagination by
//! page number, offset/limit, a cursor field or the `Link` header; records found by a JSON path; retries with
//! backoff. Records are staged as JSON lines and read like any JSON lines file (nested objects → `a.b` columns).
//!
//! ```yaml
//! source:
//!   kind: api
//!   base_url: https://api.example.com        # `${VAR}` and `${VAR:-default}` expand from the environment
//!   path: /v1/orders
//!   query: {status: shipped}
//!   auth: {type: bearer, token: "${ORDERS_API_TOKEN}"}
//!   records: $.data.items
//!   pagination: {type: cursor, cursor_path: $.meta.next_cursor, param: cursor}
//! ```

use std::collections::BTreeMap;
use std::io::Write;

use reqwest::{Client, Method, RequestBuilder};
use serde::Deserialize;
use serde_json::Value;

use super::http::{RetryConfig, check_http_url, client, client_credentials, expand_env, send_ok};
use super::{Fault, Input, Source, StageContext, Staged, StagedFile};
use crate::error::{EtlError, Result};

/// `source: {kind: api, …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub base_url: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub method: HttpMethod,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// A JSON body for POST.
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub auth: Option<Auth>,
    /// Where the records are in each answer: `$` (the answer is the list), `$.data.items`, `results`.
    #[serde(default = "root_path")]
    pub records: String,
    #[serde(default)]
    pub pagination: Pagination,
    /// A run that would fetch more pages fails instead of loading part of the data.
    #[serde(default = "max_pages")]
    pub max_pages: u64,
    #[serde(default)]
    pub retry: RetryConfig,
    #[serde(default = "timeout_secs")]
    pub timeout_secs: u64,
}

fn root_path() -> String {
    "$".into()
}
fn max_pages() -> u64 {
    10_000
}
fn timeout_secs() -> u64 {
    60
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Post,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// `auth: {type: …}`; every value may be `${ENV_VAR}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    Bearer {
        token: String,
    },
    ApiKey {
        /// The header or query parameter name.
        name: String,
        value: String,
        #[serde(rename = "in", default)]
        location: KeyLocation,
    },
    Basic {
        username: String,
        #[serde(default)]
        password: String,
    },
    /// OAuth2 client credentials: the token is fetched once per run and sent as a bearer token.
    Oauth2 {
        token_url: String,
        client_id: String,
        client_secret: String,
        #[serde(default)]
        scope: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum KeyLocation {
    #[default]
    Header,
    Query,
}

/// `pagination: {type: …}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// One request.
    #[default]
    None,
    /// `?page=1`, `?page=2`, … until a page has fewer than `size` records (or none).
    Page {
        #[serde(default = "page_param")]
        param: String,
        #[serde(default = "one")]
        start: u64,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default)]
        size: Option<u64>,
    },
    /// `?offset=0&limit=100`, `?offset=100&limit=100`, … until a page has fewer than `limit` records.
    Offset {
        #[serde(default = "offset_param")]
        offset_param: String,
        #[serde(default = "limit_param")]
        limit_param: String,
        #[serde(default = "hundred")]
        limit: u64,
    },
    /// The answer holds the next cursor at `cursor_path`; sent back as `?{param}=…` until it is null or empty.
    Cursor {
        cursor_path: String,
        #[serde(default = "cursor_param")]
        param: String,
    },
    /// Follows the `Link: <…>; rel="next"` header (GitHub style).
    Link,
}

fn page_param() -> String {
    "page".into()
}
fn offset_param() -> String {
    "offset".into()
}
fn limit_param() -> String {
    "limit".into()
}
fn cursor_param() -> String {
    "cursor".into()
}
fn one() -> u64 {
    1
}
fn hundred() -> u64 {
    100
}

/// The value at a JSON path: `$`, `$.a.b`, `a.b`, `items.0.id`.
pub fn json_path<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    let trimmed = path.trim();
    let rest = trimmed
        .strip_prefix('$')
        .unwrap_or(trimmed)
        .trim_start_matches('.');
    let mut v = root;
    for seg in rest.split('.').filter(|s| !s.is_empty()) {
        v = match v {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

enum ResolvedAuth {
    None,
    Bearer(String),
    Header(String, String),
    Query(String, String),
    Basic(String, String),
}

#[async_trait::async_trait]
impl Source for ApiConfig {
    fn check(&self) -> std::result::Result<(), Fault> {
        check_http_url("base_url", &self.base_url)?;
        if let Some(Auth::Oauth2 { token_url, .. }) = &self.auth {
            check_http_url("auth.token_url", token_url)?;
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "api {} {}{}",
            self.method.as_str(),
            self.base_url,
            self.path
        )
    }

    async fn stage(&self, ctx: &StageContext<'_>) -> Result<Staged> {
        self.fetch(ctx).await
    }
}

impl ApiConfig {
    async fn resolve_auth(&self, http: &Client) -> Result<ResolvedAuth> {
        Ok(match &self.auth {
            None => ResolvedAuth::None,
            Some(Auth::Bearer { token }) => {
                ResolvedAuth::Bearer(expand_env(token, "source.auth.token")?)
            }
            Some(Auth::ApiKey {
                name,
                value,
                location,
            }) => {
                let value = expand_env(value, "source.auth.value")?;
                match location {
                    KeyLocation::Header => ResolvedAuth::Header(name.clone(), value),
                    KeyLocation::Query => ResolvedAuth::Query(name.clone(), value),
                }
            }
            Some(Auth::Basic { username, password }) => ResolvedAuth::Basic(
                expand_env(username, "source.auth.username")?,
                expand_env(password, "source.auth.password")?,
            ),
            Some(Auth::Oauth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            }) => {
                let token = client_credentials(
                    http,
                    &self.retry,
                    &expand_env(token_url, "source.auth.token_url")?,
                    &expand_env(client_id, "source.auth.client_id")?,
                    &expand_env(client_secret, "source.auth.client_secret")?,
                    scope.as_deref(),
                )
                .await?;
                ResolvedAuth::Bearer(token)
            }
        })
    }

    /// The first page's URL: `base_url` + `path`, with `${VAR}`s expanded.
    pub fn url(&self) -> Result<String> {
        let base = expand_env(&self.base_url, "source.base_url")?;
        let path = expand_env(&self.path, "source.path")?;
        let url = format!(
            "{}{}",
            base.trim_end_matches('/'),
            if path.is_empty() || path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            }
        );
        reqwest::Url::parse(&url).map_err(|e| {
            EtlError::source("source.base_url", format!("`{url}` is not a URL: {e}"))
        })?;
        Ok(url)
    }

    /// Fetches every page into one JSON lines file.
    async fn fetch(&self, ctx: &StageContext<'_>) -> Result<Staged> {
        let http = client(self.timeout_secs)?;
        let auth = self.resolve_auth(&http).await?;
        let first_url = self.url()?;
        let mut headers = Vec::new();
        for (k, v) in &self.headers {
            headers.push((k.clone(), expand_env(v, &format!("source.headers.{k}"))?));
        }
        let mut query: Vec<(String, String)> = Vec::new();
        for (k, v) in &self.query {
            query.push((k.clone(), expand_env(v, &format!("source.query.{k}"))?));
        }
        let label = format!("{} {first_url}", self.method.as_str());
        let path = ctx.staging.join("api.jsonl");
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&path).map_err(|e| EtlError::failed(&label, e))?,
        );
        let method = match self.method {
            HttpMethod::Get => Method::GET,
            HttpMethod::Post => Method::POST,
        };
        let body = self
            .body
            .as_ref()
            .map(|b| serde_json::to_vec(b).expect("JSON value"));

        let mut url = first_url.clone();
        let mut page_params: Vec<(String, String)> = Vec::new();
        let (mut page, mut offset) = (0u64, 0u64);
        match &self.pagination {
            Pagination::Page {
                param,
                start,
                size_param,
                size,
            } => {
                page = *start;
                page_params.push((param.clone(), page.to_string()));
                if let (Some(sp), Some(s)) = (size_param, size) {
                    page_params.push((sp.clone(), s.to_string()));
                }
            }
            Pagination::Offset {
                offset_param,
                limit_param,
                limit,
            } => {
                page_params.push((offset_param.clone(), "0".into()));
                page_params.push((limit_param.clone(), limit.to_string()));
            }
            _ => {}
        }
        let (mut pages, mut records, mut bytes) = (0u64, 0u64, 0u64);
        loop {
            pages += 1;
            if pages > self.max_pages {
                return Err(EtlError::source(
                    &label,
                    format!(
                        "more than source.max_pages = {} pages; raise it to load everything",
                        self.max_pages
                    ),
                ));
            }
            let what = format!("{} {url}", self.method.as_str());
            let build = || -> RequestBuilder {
                let mut r = http.request(method.clone(), &url);
                // A `Link` URL carries its own query string.
                if url == first_url || !matches!(self.pagination, Pagination::Link) {
                    r = r.query(&query).query(&page_params);
                }
                for (k, v) in &headers {
                    r = r.header(k, v);
                }
                r = match &auth {
                    ResolvedAuth::None => r,
                    ResolvedAuth::Bearer(t) => r.bearer_auth(t),
                    ResolvedAuth::Header(k, v) => r.header(k, v),
                    ResolvedAuth::Query(k, v) => r.query(&[(k, v)]),
                    ResolvedAuth::Basic(u, p) => r.basic_auth(u, Some(p)),
                };
                if let Some(b) = &body {
                    r = r
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(b.clone());
                }
                r
            };
            let response = send_ok(&what, &self.retry, build).await?;
            let link = response
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let raw = response
                .bytes()
                .await
                .map_err(|e| EtlError::source(&what, e.without_url().to_string()))?;
            bytes += raw.len() as u64;
            let answer: Value = serde_json::from_slice(&raw)
                .map_err(|e| EtlError::source(&what, format!("the answer is not JSON: {e}")))?;
            let found = json_path(&answer, &self.records).ok_or_else(|| {
                EtlError::source(
                    &what,
                    format!("no `{}` in the answer (source.records)", self.records),
                )
            })?;
            let list: Vec<&Value> = match found {
                Value::Array(items) => items.iter().collect(),
                Value::Null => vec![],
                other => vec![other],
            };
            for item in &list {
                if !item.is_object() {
                    return Err(EtlError::source(
                        &what,
                        format!(
                            "`{}` holds a {} where records (objects) are expected",
                            self.records,
                            kind_of(item)
                        ),
                    ));
                }
                serde_json::to_writer(&mut out, item)
                    .and_then(|_| out.write_all(b"\n").map_err(serde_json::Error::io))
                    .map_err(|e| EtlError::failed(&label, e))?;
            }
            records += list.len() as u64;
            let n = list.len() as u64;
            let next = match &self.pagination {
                Pagination::None => None,
                Pagination::Page {
                    param,
                    size,
                    size_param,
                    ..
                } => {
                    let last = n == 0 || size.is_some_and(|s| n < s);
                    (!last).then(|| {
                        page += 1;
                        page_params = vec![(param.clone(), page.to_string())];
                        if let (Some(sp), Some(s)) = (size_param, size) {
                            page_params.push((sp.clone(), s.to_string()));
                        }
                        first_url.clone()
                    })
                }
                Pagination::Offset {
                    offset_param,
                    limit_param,
                    limit,
                } => {
                    offset += n;
                    (n >= *limit && n > 0).then(|| {
                        page_params = vec![
                            (offset_param.clone(), offset.to_string()),
                            (limit_param.clone(), limit.to_string()),
                        ];
                        first_url.clone()
                    })
                }
                Pagination::Cursor { cursor_path, param } => {
                    let cursor = match json_path(&answer, cursor_path) {
                        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                        Some(Value::Number(n)) => Some(n.to_string()),
                        _ => None,
                    };
                    cursor.filter(|_| n > 0).map(|c| {
                        page_params = vec![(param.clone(), c)];
                        first_url.clone()
                    })
                }
                Pagination::Link => link.map(|l| {
                    // Relative links resolve against the current page.
                    reqwest::Url::parse(&url)
                        .and_then(|base| base.join(&l))
                        .map(|u| u.to_string())
                        .unwrap_or(l)
                }),
            };
            match next {
                Some(u) => url = u,
                None => break,
            }
        }
        out.flush().map_err(|e| EtlError::failed(&label, e))?;
        tracing::info!(
            dataset = ctx.dataset,
            pages,
            records,
            bytes,
            "api source fetched"
        );
        let mut staged = Staged::files(Input::JsonLines(vec![StagedFile { path, label }]));
        staged.input_files = pages as usize;
        staged.input_bytes = bytes;
        Ok(staged)
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_and_link_headers() {
        let v: Value =
            serde_json::from_str(r#"{"data": {"items": [{"id": 1}]}, "meta": {"next": "abc"}}"#)
                .unwrap();
        assert_eq!(json_path(&v, "$.data.items.0.id"), Some(&Value::from(1)));
        assert_eq!(json_path(&v, "meta.next"), Some(&Value::from("abc")));
        assert_eq!(json_path(&v, "$"), Some(&v));
        assert_eq!(json_path(&v, "$.nope"), None);
        assert_eq!(
            next_link(r#"<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last""#)
                .as_deref(),
            Some("https://a/x?page=2")
        );
        assert_eq!(next_link(r#"<https://a/x?page=1>; rel="prev""#), None);
    }

    #[test]
    fn config_parses_and_names_bad_options() {
        let c: ApiConfig = serde_yaml::from_str(
            "base_url: http://x\npath: /v1/o\nauth: {type: api_key, name: X-Key, value: k, in: query}\npagination: {type: offset, limit: 50}\n",
        )
        .unwrap();
        assert!(matches!(c.pagination, Pagination::Offset { limit: 50, .. }));
        assert_eq!(c.url().unwrap(), "http://x/v1/o");
        let err = serde_yaml::from_str::<ApiConfig>(
            "base_url: http://x\npagination: {type: page, sise: 3}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("sise"), "{err}");
        let err = serde_yaml::from_str::<ApiConfig>("base_url: http://x\nauth: {type: kerberos}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("kerberos"), "{err}");
    }
}
