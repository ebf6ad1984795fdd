//! The HTML templates, compiled into the binary and parsed once.

use std::sync::LazyLock;

use minijinja::{Environment, Value};

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    let templates: [(&str, &str); 14] = [
        ("base.html", include_str!("../templates/base.html")),
        ("layout.html", include_str!("../templates/layout.html")),
        ("login.html", include_str!("../templates/login.html")),
        (
            "saml_continue.html",
            include_str!("../templates/saml_continue.html"),
        ),
        ("home.html", include_str!("../templates/home.html")),
        (
            "dashboard.html",
            include_str!("../templates/dashboard.html"),
        ),
        ("error.html", include_str!("../templates/error.html")),
        ("datasets.html", include_str!("../templates/datasets.html")),
        ("dataset.html", include_str!("../templates/dataset.html")),
        ("chat.html", include_str!("../templates/chat.html")),
        (
            "components/chat.html",
            include_str!("../templates/components/chat.html"),
        ),
        (
            "components/sidebar.html",
            include_str!("../templates/components/sidebar.html"),
        ),
        (
            "components/filters.html",
            include_str!("../templates/components/filters.html"),
        ),
        (
            "components/cards.html",
            include_str!("../templates/components/cards.html"),
        ),
    ];
    for (name, source) in templates {
        env.add_template(name, source).expect("templates are valid");
    }
    env.add_function("icon", |name: &str| {
        Value::from_safe_string(crate::theme::icon_svg(name))
    });
    env.add_global("asset_version", crate::assets::ASSET_VERSION.as_str());
    env
});

/// Renders template `name` with `ctx`.
pub fn render(name: &str, ctx: Value) -> Result<String, minijinja::Error> {
    ENV.get_template(name)?.render(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_escapes() {
        let html = render(
            "login.html",
            minijinja::context! { error => "<b>bad</b>", next => "/", username => "", form => true },
        )
        .unwrap();
        assert!(
            html.contains("&lt;b&gt;bad") && !html.contains("<b>bad"),
            "{html}"
        );
        assert!(html.contains(r#"name="password""#));
        // Single sign-on only: its button and no password field.
        let sso = vec![
            minijinja::context! { id => "oidc", label => "Okta", url => "/auth/oidc/start?next=%2F" },
            minijinja::context! { id => "saml", label => "Entra ID", url => "/auth/saml/start?next=%2F" },
        ];
        let html = render(
            "login.html",
            minijinja::context! { next => "/", username => "", form => false, sso },
        )
        .unwrap();
        assert!(html.contains("Sign in with Okta") && !html.contains(r#"name="password""#));
        assert!(html.contains(r#"id="sso-saml""#) && html.contains("Sign in with Entra ID"));
        // The page that posts a SAML response again: the response as a hidden field, escaped.
        let html = render(
            "saml_continue.html",
            minijinja::context! { saml_response => "PHNhbWw+\"x", relay_state => "" },
        )
        .unwrap();
        assert!(html.contains(r#"value="PHNhbWw+&quot;x""#), "{html}");
        assert!(html.contains("/static/continue.js") && html.contains("data-autosubmit"));
    }
}
