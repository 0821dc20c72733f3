//! The HTTP API (`/api/v1`) and the console, JSON in and out: the router
//! that puts the rooms together. Each feature module owns its handlers and
//! says which paths they serve in its `routes()`; what they share (state,
//! errors, authorization) is [`crate::kit`].

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

pub use crate::kit::{AppState, Limits};

/// Every route of the server, behind the body limit and the CSRF check.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.limits.body;
    let csrf = axum::middleware::from_fn_with_state(Arc::clone(&state), crate::session::csrf);
    let count = axum::middleware::from_fn_with_state(Arc::clone(&state), crate::observe::count);
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .merge(crate::observe::routes())
        .merge(crate::tokens::routes())
        .merge(crate::agents::routes())
        .merge(crate::agent_dist::routes())
        .merge(crate::assets::routes())
        .merge(crate::findings::routes())
        .merge(crate::reviews::routes())
        .merge(crate::export::routes())
        .merge(crate::schedule::routes())
        .merge(crate::push::routes())
        .merge(crate::network::routes())
        .merge(crate::agentless::routes())
        .merge(crate::notify::api::routes())
        .merge(crate::session::routes())
        .merge(crate::console::routes())
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
        // Outermost, so that it covers every route, whatever order they
        // are added in.
        .layer(csrf)
        // Outside the CSRF check, so that its refusals are counted too.
        .layer(count)
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}
