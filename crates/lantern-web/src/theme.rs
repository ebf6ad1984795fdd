//! The warm professional light theme: the palette shared by `assets/app.css` (as CSS custom properties) and the
//! Plotly layout template applied to every figure, plus the small icon set dashboards can name.

use serde_json::{Value, json};

/// Series colours, in order: burnt orange, teal, ochre, sage, plum, brick, steel blue, sand.
pub const COLORWAY: [&str; 8] = [
    "#c8602b", "#2f6f73", "#d9a441", "#6b8e5a", "#8c5e8f", "#b8573f", "#4f7cac", "#a68a64",
];
pub const TEXT: &str = "#2b2622";
pub const MUTED: &str = "#7a6e64";
pub const GRID: &str = "#efe8de";
pub const FONT: &str =
    "Inter, Segoe UI, -apple-system, BlinkMacSystemFont, Roboto, Helvetica Neue, Arial, sans-serif";

/// The Plotly template (`layout.template`) that matches the CSS theme.
pub fn plotly_template() -> Value {
    json!({
        "layout": {
            "colorway": COLORWAY,
            "font": {"family": FONT, "color": TEXT, "size": 13},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "hoverlabel": {"font": {"family": FONT}, "bgcolor": "#ffffff", "bordercolor": "#e7dfd4"},
            "xaxis": {"gridcolor": GRID, "linecolor": "#e7dfd4", "zerolinecolor": GRID, "tickfont": {"color": MUTED}, "automargin": true},
            "yaxis": {"gridcolor": GRID, "linecolor": "#e7dfd4", "zerolinecolor": GRID, "tickfont": {"color": MUTED}, "automargin": true},
            "legend": {"orientation": "h", "y": -0.18, "font": {"color": MUTED}},
            "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
            "piecolorway": COLORWAY
        }
    })
}

/// Inline SVG for an icon name (feather-style strokes); unknown names get the chart icon.
pub fn icon_svg(name: &str) -> String {
    let body = match name {
        "lantern" => {
            r#"<path d="M9 3h6"/><path d="M12 3v2"/><path d="M7 8a5 5 0 0 1 10 0v8a3 3 0 0 1-3 3h-4a3 3 0 0 1-3-3z"/><path d="M12 10c1.2 1.3 1.2 3.2 0 4.5-1.2-1.3-1.2-3.2 0-4.5z"/><path d="M9 21h6"/>"#
        }
        "home" => r#"<path d="M3 11l9-7 9 7"/><path d="M5 10v10h14V10"/>"#,
        "cursor" => r#"<path d="M4 4l7 17 2.5-7.5L21 11z"/>"#,
        "globe" => {
            r#"<circle cx="12" cy="12" r="9"/><path d="M3 12h18"/><path d="M12 3a14 14 0 0 1 0 18a14 14 0 0 1 0-18z"/>"#
        }
        "truck" => {
            r#"<path d="M2 6h11v10H2z"/><path d="M13 10h4l3 3v3h-7z"/><circle cx="6" cy="18" r="2"/><circle cx="17" cy="18" r="2"/>"#
        }
        "users" => {
            r#"<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20a6.5 6.5 0 0 1 13 0"/><path d="M16 4.5a3.5 3.5 0 0 1 0 7"/><path d="M18 14.5a6.5 6.5 0 0 1 3.5 5.5"/>"#
        }
        "table" => {
            r#"<rect x="3" y="4" width="18" height="16" rx="2"/><path d="M3 10h18M3 15h18M9 4v16"/>"#
        }
        "clock" => r#"<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>"#,
        "money" => {
            r#"<rect x="2" y="6" width="20" height="12" rx="2"/><circle cx="12" cy="12" r="2.5"/><path d="M6 12h.01M18 12h.01"/>"#
        }
        _ => r#"<path d="M4 20V10M10 20V4M16 20v-7M22 20H2"/>"#,
    };
    format!(r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true">{body}</svg>"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_and_plotly_share_the_palette() {
        let css = include_str!("../assets/app.css");
        assert!(css.contains(&format!("--accent: {};", COLORWAY[0])));
        assert!(css.contains(&format!("--teal: {};", COLORWAY[1])));
        assert!(css.contains(&format!("--text: {TEXT};")));
        assert_eq!(plotly_template()["layout"]["colorway"][0], COLORWAY[0]);
    }

    #[test]
    fn every_dashboard_icon_is_drawn() {
        for name in lantern_core::dashboard::ICONS {
            let fallback = icon_svg("no-such-icon");
            assert!(
                name == &"chart" || icon_svg(name) != fallback,
                "{name} has no drawing"
            );
        }
    }
}
