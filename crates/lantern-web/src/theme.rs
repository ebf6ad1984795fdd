//! The warm professional light theme and its dark twin: palettes shared by `assets/app.css` (as CSS custom
//! properties) and the Plotly layout templates applied to every figure, plus the small icon set dashboards can
//! name. Figures are built with the light template; the page swaps in the dark one when the reader chose dark mode.

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

/// A colour theme for figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub name: &'static str,
    pub colorway: [&'static str; 8],
    pub text: &'static str,
    pub muted: &'static str,
    pub grid: &'static str,
    pub line: &'static str,
    pub surface: &'static str,
    /// Low and high ends of sequential colour scales (heatmaps, pivot cells).
    pub scale: [&'static str; 2],
    pub good: &'static str,
    pub bad: &'static str,
}

pub const LIGHT: Theme = Theme {
    name: "light",
    colorway: COLORWAY,
    text: TEXT,
    muted: MUTED,
    grid: GRID,
    line: "#e7dfd4",
    surface: "#ffffff",
    scale: ["#fbf3ea", "#c8602b"],
    good: "#2f7d4f",
    bad: "#b3261e",
};

/// The dark theme: the same hues lifted for a dark surface.
pub const DARK: Theme = Theme {
    name: "dark",
    colorway: [
        "#e07a45", "#4fa3a8", "#e5b95e", "#8db37a", "#b58ab8", "#d9765d", "#7aa3d1", "#c4a981",
    ],
    text: "#ece6df",
    muted: "#a89d92",
    grid: "#2f2a26",
    line: "#3b3530",
    surface: "#1f1c19",
    scale: ["#2a2420", "#e07a45"],
    good: "#5cbf84",
    bad: "#f07468",
};

/// The Plotly template (`layout.template`) that matches the CSS theme.
pub fn plotly_template_for(t: &Theme) -> Value {
    json!({
        "layout": {
            "colorway": t.colorway,
            "font": {"family": FONT, "color": t.text, "size": 13},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "hoverlabel": {"font": {"family": FONT, "color": t.text}, "bgcolor": t.surface, "bordercolor": t.line},
            "xaxis": {"gridcolor": t.grid, "linecolor": t.line, "zerolinecolor": t.grid, "tickfont": {"color": t.muted}, "automargin": true},
            "yaxis": {"gridcolor": t.grid, "linecolor": t.line, "zerolinecolor": t.grid, "tickfont": {"color": t.muted}, "automargin": true},
            "legend": {"orientation": "h", "y": -0.18, "font": {"color": t.muted}},
            "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
            "piecolorway": t.colorway,
            "modebar": {"bgcolor": "rgba(0,0,0,0)", "color": t.muted, "activecolor": t.colorway[0]},
            "coloraxis": {"colorscale": [[0, t.scale[0]], [1, t.scale[1]]]}
        }
    })
}

/// The light template (the one figures are built with).
pub fn plotly_template() -> Value {
    plotly_template_for(&LIGHT)
}

/// Both themes' Plotly templates, by theme name, for the page scripts to switch between.
pub fn plotly_templates() -> Value {
    serde_json::json!({
        "light": plotly_template_for(&LIGHT),
        "dark": plotly_template_for(&DARK),
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
        "close" => r#"<path d="M6 6l12 12M18 6L6 18"/>"#,
        "chat" => r#"<path d="M4 5h16v11H9l-5 4z"/><path d="M8 9h8M8 12h5"/>"#,
        "send" => r#"<path d="M4 12l16-8-6 16-3-7z"/>"#,
        "play" => r#"<path d="M7 5l12 7-12 7z"/>"#,
        "thumbs-up" => {
            r#"<path d="M7 11v9H4v-9z"/><path d="M7 11l4-7a2 2 0 0 1 3 2l-1 4h5a2 2 0 0 1 2 2.3l-1.2 6A2 2 0 0 1 16.8 20H7"/>"#
        }
        "thumbs-down" => {
            r#"<path d="M7 13V4H4v9z"/><path d="M7 13l4 7a2 2 0 0 0 3-2l-1-4h5a2 2 0 0 0 2-2.3l-1.2-6A2 2 0 0 0 16.8 4H7"/>"#
        }
        "plus" => r#"<path d="M12 5v14M5 12h14"/>"#,
        "up" => r#"<path d="M12 19V5"/><path d="M5 12l7-7 7 7"/>"#,
        "rows" => r#"<path d="M4 6h16M4 12h16M4 18h16"/>"#,
        "download" => r#"<path d="M12 4v11"/><path d="M7 10l5 5 5-5"/><path d="M5 20h14"/>"#,
        "moon" => r#"<path class="moon" d="M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z"/>"#,
        "sun" => {
            r#"<g class="sun"><circle cx="12" cy="12" r="4"/><path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4"/></g>"#
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
        // The dark theme's surface and text are the CSS dark block's.
        assert!(css.contains(&format!("--surface: {};", DARK.surface)));
        assert!(css.contains(&format!("--text: {};", DARK.text)));
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
