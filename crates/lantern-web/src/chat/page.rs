//! `/chat/{id}`: the chat page of a dataset, with the user's threads beside the conversation.

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use lantern_core::access::Feature;
use minijinja::value::{Serde, Value};

use crate::access::Principal;
use crate::components::sidebar;
use crate::error::AppError;
use crate::state::AppState;

/// Whether `me` gets the chat on `dataset`: it is configured, and they have the feature and the dataset.
pub fn offered(state: &AppState, me: &Principal, dataset: &str) -> bool {
    state.chat().is_some() && me.may(Feature::Chat) && me.may_open_dataset(dataset)
}

pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(me): Extension<Principal>,
) -> Response {
    let Some(chat) = state.chat() else {
        return AppError::not_found("page", &format!("/chat/{id}"))
            .page()
            .into_response();
    };
    let Some(spec) = state.engine().dataset_spec(&id) else {
        return AppError::not_found("dataset", &id).page().into_response();
    };
    let config = chat.config();
    crate::pages::html(
        "chat.html",
        minijinja::context! {
            dataset => minijinja::context! {
                id => &id,
                title => spec.title(),
                description => &spec.spec.description,
            },
            model => &config.model,
            templates => Value::from(Serde(crate::theme::plotly_templates())),
            nav => Value::from(Serde(sidebar::entries(&state, &me))),
            active => format!("/chat/{id}"),
            user => Value::from(Serde(me.view())),
        },
    )
}
