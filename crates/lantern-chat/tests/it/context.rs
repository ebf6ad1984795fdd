//! The context a model gets for the demo dataset: the defined measures, and profiles and sample rows under the
//! user's row rules; what a small budget leaves out.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lantern_core::access::RowScope;
use lantern_core::sandbox::{Limits, Sandbox};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_holds_the_definitions_and_only_the_users_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (_, engine) = crate::support::demo_engine(dir.path(), &["apac_dot"], 5_000).await;
    let sandbox = Sandbox::new(Limits::default(), 1).unwrap();
    let japan = RowScope::Only(vec![BTreeMap::from([(
        "country".to_string(),
        vec!["Japan".to_string()],
    )])]);
    let filters = [("Status".to_string(), "Open".to_string())];
    let built =
        lantern_chat::context::build(&engine, &sandbox, "apac_dot", &japan, &filters, 8_000)
            .await
            .unwrap();
    let text = &built.text;
    let spec = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/apac_dot.yaml"),
    )
    .unwrap();
    assert!(
        spec.contains("expr: count(*)"),
        "the demo spec defines order_lines as count(*)"
    );
    assert!(
        text.contains("order_lines \"Order lines\": count(*)"),
        "{text}"
    );
    assert!(text.contains("Table `apac_dot`") && text.contains("- country ("));
    assert!(text.contains("- Status: Open"));
    assert!(
        text.contains("Sample rows:") && text.contains("Japan"),
        "{text}"
    );
    for other in ["Korea", "China", "Taiwan", "Hong Kong"] {
        assert!(!text.contains(other), "{other} is not this user's: {text}");
    }
    assert!(built.left_out.is_empty(), "{:?}", built.left_out);
    assert_eq!(built.tokens, lantern_chat::context::estimate_tokens(text));

    // A small budget keeps the definitions and leaves the rest out, saying so.
    let small = lantern_chat::context::build(&engine, &sandbox, "apac_dot", &japan, &[], 400)
        .await
        .unwrap();
    assert_eq!(small.left_out, ["profiles", "sample rows"]);
    assert!(small.text.contains("order_lines") && !small.text.contains("Sample rows"));
    assert!(small.tokens < built.tokens);
}
