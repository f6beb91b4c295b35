//! The pages: one HTML shell per path, drawn by `app.js` from the REST API and redrawn
//! each second (no reload). The charts are SVG drawn by the script; nothing is fetched
//! from outside the driver.

use crate::api::App;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

const SHELL: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/style.css");

/// The paths of the pages (each served the same shell; the script draws by path).
const PAGES: &[&str] = &[
    "/streaming/",
    "/streaming/batch/",
    "/jobs/",
    "/jobs/job/",
    "/stages/",
    "/stages/stage/",
    "/storage/",
    "/executors/",
    "/environment/",
    "/accumulators/",
    "/dashboards/",
];

async fn shell(State(app): State<Arc<App>>) -> Html<String> {
    Html(SHELL.replace("{{APP_ID}}", &app.id))
}

pub(crate) fn routes() -> Router<Arc<App>> {
    let mut r = Router::new()
        .route("/", get(|| async { Redirect::temporary("/streaming/") }))
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/static/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        );
    for p in PAGES {
        r = r.route(p, get(shell));
    }
    r
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}
