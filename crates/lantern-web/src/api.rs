//! JSON and CSV API:
//!
//! - `GET /api/dashboards`: the dashboards.
//! - `GET /api/dashboards/{id}/data?<filters>`: KPIs and every chart's figure.
//! - `GET /api/dashboards/{id}/charts/{chart}?<filters>&_page.{chart}=N&_sort.{chart}=-col`: one chart (a table's
//!   next page or new sort).
//! - `GET /api/dashboards/{id}/charts/{chart}/export.csv?<filters>`: the rows behind the chart, streamed.
//! - `GET /api/dashboards/{id}/charts/{chart}/rows?<filters>&page=N` and `…/rows.csv`: the dataset rows behind the
//!   chart ("view rows"), a page as JSON or all of them streamed as CSV.
//! - `GET /api/dashboards/{id}/options/{dimension}?<filters>&q=text`: a filter's options, most frequent first,
//!   narrowed by the other filters and by `q`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use datafusion::arrow::csv::WriterBuilder;
use futures::StreamExt;
use lantern_core::access::RowScope;
use lantern_core::filters::FilterSet;
use lantern_core::query::ResultTable;
use lantern_core::shape::{Aggregate, GroupKey, Query, ROWS, Sort};
use serde::Serialize;

use crate::access::{Access, AuthorizedBoard, Principal};
use crate::board::run::{CacheOutcome, ChartFigure, DashboardData, Request, run};
use crate::board::{Board, BoardChart};
use crate::charts::{ChartView, Context};
use crate::error::AppError;
use crate::server::Route;
use crate::state::AppState;

pub fn routes() -> Vec<Route> {
    use Access::{Dashboard, SignedIn};
    use lantern_core::access::Feature::{Export, ViewRows};
    vec![
        Route::get("/api/dashboards", SignedIn, list),
        Route::get("/api/dashboards/{id}/data", Dashboard(&[]), data),
        Route::get("/api/dashboards/{id}/charts/{chart}", Dashboard(&[]), chart),
        Route::get(
            "/api/dashboards/{id}/charts/{chart}/export.csv",
            Dashboard(&[Export]),
            export,
        ),
        Route::get(
            "/api/dashboards/{id}/charts/{chart}/rows",
            Dashboard(&[ViewRows]),
            rows,
        ),
        // Downloading the rows behind a chart needs both: seeing them and exporting.
        Route::get(
            "/api/dashboards/{id}/charts/{chart}/rows.csv",
            Dashboard(&[ViewRows, Export]),
            rows_csv,
        ),
        Route::get(
            "/api/dashboards/{id}/options/{dimension}",
            Dashboard(&[]),
            options,
        ),
        Route::get("/api/specs", SignedIn, specs),
    ]
}

#[derive(serde::Deserialize)]
struct SpecsQuery {
    dashboard: Option<String>,
}

/// The reload status of `lantern serve --watch`, which dashboard pages poll to reload themselves: the error of a
/// refused edit only as it concerns `?dashboard=` (which the user must be able to open), as the page shows it.
async fn specs(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    axum::extract::Query(q): axum::extract::Query<SpecsQuery>,
) -> Json<crate::watch::Status> {
    let mut status = state.reload_status();
    let board = q
        .dashboard
        .and_then(|id| state.board(&id))
        .filter(|b| me.may_open_dashboard(b.id(), &b.spec.spec.dataset));
    status.error = board.and_then(|b| {
        let dataset_file = state
            .engine()
            .dataset_spec(&b.spec.spec.dataset)
            .map(|d| d.file.clone());
        status
            .affects(&b.spec.file, dataset_file.as_deref())
            .cloned()
    });
    Json(status)
}

/// URL query pairs in order, repeated keys kept.
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// The pairs without the given (non-filter) keys.
fn without(pairs: &[(String, String)], keys: &[&str]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(k, _)| !keys.contains(&k.as_str()))
        .cloned()
        .collect()
}

/// The dashboard `id` as the access check found it (none: it does not exist).
fn board(checked: Option<&AuthorizedBoard>, id: &str) -> Result<Arc<Board>, AppError> {
    checked
        .filter(|b| b.0.id() == id)
        .map(|b| b.0.clone())
        .ok_or_else(|| AppError::not_found("dashboard", id))
}

/// What every chart route starts from: its dashboard, its chart (both checked to exist) and the URL's pairs, with
/// `page` (of "view rows") taken apart from the filters.
struct ChartTarget {
    board: Arc<Board>,
    chart: String,
    pairs: Vec<(String, String)>,
    page: usize,
    /// The rows the signed-in user may see of the board's dataset.
    rows: RowScope,
}

impl FromRequestParts<AppState> for ChartTarget {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Path((id, chart)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "bad_path", e.body_text()))?;
        let board = board(parts.extensions.get::<AuthorizedBoard>(), &id)?;
        let rows = signed_in(parts)?.rows(&board.spec.spec.dataset);
        if board.chart(&chart).is_none() {
            return Err(AppError::not_found("chart", &chart));
        }
        let all = query_pairs(parts.uri.query());
        let page = all
            .iter()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, 1_000_000);
        Ok(Self {
            board,
            chart,
            pairs: without(&all, &["page"]),
            page,
            rows,
        })
    }
}

impl ChartTarget {
    fn chart(&self) -> &BoardChart {
        self.board
            .chart(&self.chart)
            .expect("checked when the target was extracted")
    }

    /// The request context: the dataset version and the parsed filters, resolved once.
    async fn request<'a>(&'a self, state: &'a AppState) -> Result<Request<'a>, AppError> {
        Request::new(state.engine(), &self.board, &self.pairs, &self.rows).await
    }

    /// The filters the chart's own queries run with (its highlighted dimensions' value lists left out).
    fn filters(&self, request: &Request) -> FilterSet {
        let own = self.chart().chart.highlights();
        let own: Vec<&str> = own.iter().map(String::as_str).collect();
        request.scope.filters.without_lists_on(&own)
    }

    /// A download's file name: `<dashboard>-<chart><suffix>.csv`.
    fn file(&self, suffix: &str) -> String {
        format!("{}-{}{suffix}.csv", self.board.id(), self.chart)
    }
}

#[derive(Serialize)]
struct DashboardInfo {
    id: String,
    title: String,
    description: Option<String>,
    dataset: String,
    url: String,
}

/// The signed-in user, put in extensions by [`crate::access::authorize`] on every non-public route.
fn signed_in(parts: &Parts) -> Result<&Principal, AppError> {
    parts
        .extensions
        .get::<Principal>()
        .ok_or_else(|| AppError::internal("route without its access check"))
}

/// The dashboards the user may open.
async fn list(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
) -> Json<Vec<DashboardInfo>> {
    let out = state
        .boards()
        .iter()
        .map(|b| &b.spec)
        .filter(|d| me.may_open_dashboard(&d.spec.id, &d.spec.dataset))
        .map(|d| DashboardInfo {
            id: d.spec.id.clone(),
            title: d.spec.title.clone(),
            description: d.spec.description.clone(),
            dataset: d.spec.dataset.clone(),
            url: format!("/d/{}", d.spec.id),
        })
        .collect();
    Json(out)
}

/// Runs the dashboard's queries (through the cache) and builds its KPI cards and figures.
pub async fn dashboard_data(
    state: &AppState,
    board: &Board,
    pairs: &[(String, String)],
    rows: &RowScope,
) -> Result<DashboardData, AppError> {
    run(state.engine(), board, pairs, rows).await
}

async fn data(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    checked: Option<Extension<AuthorizedBoard>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<(Extension<CacheOutcome>, Json<DashboardData>), AppError> {
    let b = board(checked.as_ref().map(|Extension(b)| b), &id)?;
    let pairs = query_pairs(raw.as_deref());
    let data = dashboard_data(&state, &b, &pairs, &me.rows(&b.spec.spec.dataset)).await?;
    Ok((Extension(data.cache.outcome()), Json(data)))
}

async fn chart(
    State(state): State<AppState>,
    target: ChartTarget,
) -> Result<Json<ChartFigure>, AppError> {
    let request = target.request(&state).await?;
    let mut stats = Default::default();
    Ok(Json(
        request
            .chart(state.engine(), target.chart(), &mut stats)
            .await,
    ))
}

/// Streams `query`'s rows as CSV, one chunk per batch, so a large export never builds in memory.
async fn csv_response(
    state: &AppState,
    request: &Request<'_>,
    filters: &FilterSet,
    query: &Query,
    file: &str,
) -> Result<Response, AppError> {
    let df = state
        .engine()
        .dataframe(&request.scope, filters, query)
        .await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let stream = df
        .execute_stream()
        .await
        .map_err(|e| AppError::from(lantern_core::Error::Query(e)))?;
    // Shared with the closing chunk: with no row at all, the file still gets its header line.
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let first_seen = first.clone();
    // The body is polled after the handler returned, outside the request's task: keep its id for the log.
    let request_id = crate::request_id::current();
    let write = |batch: &datafusion::arrow::record_batch::RecordBatch, header: bool| {
        let mut writer = WriterBuilder::new().with_header(header).build(Vec::new());
        writer.write(batch).map_err(std::io::Error::other)?;
        Ok::<_, std::io::Error>(writer.into_inner())
    };
    let body = stream
        .map(move |batch| {
            // A failure after the first bytes cannot change the status any more: it is logged and the connection
            // is cut before the final chunk, so the client sees an incomplete download instead of a short, valid
            // file.
            let batch = batch.map_err(|e| {
                tracing::error!(request_id = request_id.as_deref().unwrap_or("-"), error = %e, "CSV export failed mid-stream");
                std::io::Error::other(e)
            })?;
            write(&batch, first.swap(false, std::sync::atomic::Ordering::SeqCst))
        })
        .chain(futures::stream::once(async move {
            if first_seen.load(std::sync::atomic::Ordering::SeqCst) {
                write(&datafusion::arrow::record_batch::RecordBatch::new_empty(schema), true)
            } else {
                Ok(Vec::new())
            }
        }));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

async fn export(State(state): State<AppState>, target: ChartTarget) -> Result<Response, AppError> {
    let request = target.request(&state).await?;
    let view = ChartView::from_pairs(&target.chart, &target.pairs);
    let none = |_: &str| Vec::new();
    let ctx = Context {
        model: request.scope.model(),
        view: &view,
        theme: &crate::theme::LIGHT,
        selected: &none,
        date_dimension: target
            .board
            .spec
            .date_filter()
            .map(|f| f.dimension.as_str()),
        previous: None,
    };
    let query = target
        .chart()
        .chart
        .export(&ctx)
        .ok_or_else(|| AppError::not_found("export of chart", &target.chart))?;
    let filters = target.filters(&request);
    csv_response(&state, &request, &filters, &query, &target.file("")).await
}

/// Rows per page of "view rows".
const ROWS_PAGE: usize = 50;

#[derive(Serialize)]
struct RowsPage {
    columns: Vec<String>,
    rows: Vec<Vec<serde_json::Value>>,
    page: usize,
    pages: usize,
    total: usize,
}

async fn rows(
    State(state): State<AppState>,
    target: ChartTarget,
) -> Result<Json<RowsPage>, AppError> {
    let page = target.page;
    let request = target.request(&state).await?;
    let filters = target.filters(&request);
    let engine = state.engine();
    let query = Query::Rows {
        columns: vec![],
        sort: vec![],
        offset: (page - 1).saturating_mul(ROWS_PAGE),
        limit: Some(ROWS_PAGE),
    };
    let (t, count) = futures::future::try_join(
        engine.answer(&request.scope, &filters, &query),
        engine.answer(&request.scope, &filters, &Query::Count { group_by: vec![] }),
    )
    .await?;
    let total = count
        .0
        .rows
        .first()
        .and_then(|r| r[0].as_u64())
        .unwrap_or(0) as usize;
    let t: Arc<ResultTable> = t.0;
    Ok(Json(RowsPage {
        columns: t.columns.clone(),
        rows: t.rows.clone(),
        page,
        pages: total.div_ceil(ROWS_PAGE).max(1),
        total,
    }))
}

async fn rows_csv(
    State(state): State<AppState>,
    target: ChartTarget,
) -> Result<Response, AppError> {
    let request = target.request(&state).await?;
    let filters = target.filters(&request);
    let query = Query::Rows {
        columns: vec![],
        sort: vec![],
        offset: 0,
        limit: None,
    };
    csv_response(&state, &request, &filters, &query, &target.file("-rows")).await
}

/// Options listed per request at most; `more` says there are others (search to find them).
pub const OPTIONS_LIMIT: usize = 50;

#[derive(Debug, Clone, Serialize)]
pub struct FilterOption {
    pub value: String,
    pub count: Option<u64>,
    pub selected: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilterOptions {
    pub dimension: String,
    pub options: Vec<FilterOption>,
    pub more: bool,
}

/// A filter's options under the other filters (and `search`), most frequent first, selected ones always listed.
pub async fn filter_options(
    state: &AppState,
    request: &Request<'_>,
    dimension: &str,
    search: Option<&str>,
) -> Result<FilterOptions, AppError> {
    let model = request.scope.model();
    // Only the dashboard's own filters list their values: options for any other dimension (an id, an email)
    // would hand out row-level values to users who may not view rows.
    let declared = request
        .board
        .spec
        .spec
        .filters
        .iter()
        .any(|f| f.dimension == dimension);
    if !model.dimensions.contains_key(dimension) || !declared {
        return Err(AppError::not_found("filter", dimension));
    }
    let filters = request.scope.filters.without(dimension);
    let query = Query::Aggregate(Aggregate {
        group_by: vec![GroupKey::Dimension(dimension.to_string())],
        measures: vec![ROWS.to_string()],
        sort: vec![Sort::desc(ROWS)],
        limit: Some(OPTIONS_LIMIT + 1),
        search: search
            .filter(|s| !s.trim().is_empty())
            .map(|s| (dimension.to_string(), s.trim().to_string())),
        ..Default::default()
    });
    let (t, _) = state
        .engine()
        .answer(&request.scope, &filters, &query)
        .await?;
    let selected = request.scope.filters.selected(dimension);
    let mut options: Vec<FilterOption> = t
        .rows
        .iter()
        .take(OPTIONS_LIMIT)
        .filter_map(|r| {
            let value = crate::charts::grid::filter_text(&r[0])?;
            Some(FilterOption {
                selected: selected.contains(&value),
                count: r[1].as_u64(),
                value,
            })
        })
        .collect();
    for s in selected.iter().rev() {
        if !options.iter().any(|o| &o.value == s) {
            options.insert(
                0,
                FilterOption {
                    value: s.clone(),
                    count: None,
                    selected: true,
                },
            );
        }
    }
    Ok(FilterOptions {
        dimension: dimension.to_string(),
        options,
        more: t.rows.len() > OPTIONS_LIMIT,
    })
}

async fn options(
    State(state): State<AppState>,
    Extension(me): Extension<Principal>,
    checked: Option<Extension<AuthorizedBoard>>,
    Path((id, dimension)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<FilterOptions>, AppError> {
    let b = board(checked.as_ref().map(|Extension(b)| b), &id)?;
    let all = query_pairs(raw.as_deref());
    let q = all.iter().find(|(k, _)| k == "q").map(|(_, v)| v.clone());
    let pairs = without(&all, &["q"]);
    let rows = me.rows(&b.spec.spec.dataset);
    let request = Request::new(state.engine(), &b, &pairs, &rows).await?;
    Ok(Json(
        filter_options(&state, &request, &dimension, q.as_deref()).await?,
    ))
}
