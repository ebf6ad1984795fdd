//! Reading Lantern's HTML forms as a browser would, for tests that sign in over plain HTTP.

/// The CSRF token a page's form carries (`<input type="hidden" name="csrf" value="…">`).
pub fn csrf_token(html: &str) -> Option<String> {
    let at = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_token() {
        let html = r#"<form><input type="hidden" name="csrf" value="ab12"></form>"#;
        assert_eq!(super::csrf_token(html).as_deref(), Some("ab12"));
        assert_eq!(super::csrf_token("<form></form>"), None);
    }
}
