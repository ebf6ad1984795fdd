//! Answers a board for one request: resolves the version and filters once, then runs the KPI group and every
//! chart's queries concurrently through the cache and builds cards and figures. A chart that fails shows its own
//! error card; the rest of the page keeps working.

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use lantern_core::access::RowScope;
use lantern_core::cache::Lookup;
use lantern_core::filters::{Condition, FilterSet, previous_period};
use lantern_core::query::{QueryEngine, ResultTable, Scope};
use lantern_core::shape::{Aggregate, Grain, GroupKey, Query, Sort};
use serde::Serialize;
use serde_json::Value;

use super::{Board, BoardChart};
use crate::charts::{ChartView, Context};
use crate::error::AppError;
use crate::kpi::{KpiCard, card, period_label};

/// One chart's figure (or its error) for the page.
#[derive(Debug, Clone, Serialize)]
pub struct ChartFigure {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    pub wide: bool,
    pub figure: Value,
    /// The chart's query came back without rows.
    pub empty: bool,
    /// Why this chart could not be drawn (the rest of the page still is).
    pub error: Option<String>,
}

/// An active filter, for the chips above the charts.
#[derive(Debug, Clone, Serialize)]
pub struct Chip {
    pub dimension: String,
    pub label: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct CacheStats {
    pub hits: usize,
    pub misses: usize,
}

impl CacheStats {
    fn add(&mut self, l: Lookup) {
        match l {
            Lookup::Hit => self.hits += 1,
            Lookup::Miss => self.misses += 1,
        }
    }

    /// How the request was answered, for the request log: `hit`, `miss` or `partial`.
    pub fn outcome(&self) -> CacheOutcome {
        CacheOutcome(match (self.hits, self.misses) {
            (_, 0) => "hit",
            (0, _) => "miss",
            _ => "partial",
        })
    }
}

/// Put in response extensions so that the request log line can say whether the cache answered.
#[derive(Debug, Clone, Copy)]
pub struct CacheOutcome(pub &'static str);

/// The comparison period, when the dashboard's date filter has a range.
#[derive(Debug, Clone, Serialize)]
pub struct Period {
    pub current: String,
    pub previous: String,
}

/// Everything a dashboard page shows for one filter set.
#[derive(Debug, Clone, Serialize)]
pub struct DashboardData {
    pub dashboard: String,
    pub dataset: String,
    pub version: u64,
    pub rows: u64,
    /// The filters applied, in canonical form (`name`, `value` pairs).
    pub filters: Vec<(String, String)>,
    pub chips: Vec<Chip>,
    pub period: Option<Period>,
    pub kpis: Vec<KpiCard>,
    pub charts: Vec<ChartFigure>,
    pub cache: CacheStats,
    pub elapsed_ms: f64,
}

/// A request resolved for a board: scope, comparison period and the filters for it.
pub struct Request<'a> {
    pub board: &'a Board,
    pub scope: Scope,
    pub pairs: &'a [(String, String)],
    /// The previous period and its filter set, when a date range is set.
    pub previous: Option<((NaiveDate, NaiveDate), FilterSet)>,
    pub current: Option<(NaiveDate, NaiveDate)>,
}

/// The data's first and last day in `dimension` (for open-ended ranges and presets).
pub async fn date_bounds(
    engine: &QueryEngine,
    scope: &Scope,
    dimension: &str,
) -> Result<Option<(NaiveDate, NaiveDate)>, AppError> {
    let (t, _) = engine
        .answer(
            scope,
            &FilterSet::default(),
            &Query::Bounds {
                dimension: dimension.to_string(),
            },
        )
        .await?;
    let day = |v: &Value| {
        v.as_str()
            .and_then(|s| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok())
    };
    Ok(t.rows
        .first()
        .and_then(|r| Some((day(&r[0])?, day(&r[1])?))))
}

impl<'a> Request<'a> {
    pub async fn new(
        engine: &QueryEngine,
        board: &'a Board,
        pairs: &'a [(String, String)],
        rows: &RowScope,
    ) -> Result<Request<'a>, AppError> {
        let scope = engine.scope(&board.spec, pairs, rows).await?;
        board.check_model(scope.model())?;
        let mut current = None;
        let mut previous = None;
        if let Some(f) = board.spec.date_filter()
            && matches!(
                scope.filters.get(&f.dimension),
                Some(Condition::Range { .. })
            )
            && let Some(bounds) = date_bounds(engine, &scope, &f.dimension).await?
            && let Some((from, to)) = scope.filters.date_range(&f.dimension, bounds)
            // A range that ends before it starts (an open side past the data) has no previous period.
            && from <= to
        {
            let (pf, pt) = previous_period(from, to);
            previous = Some((
                (pf, pt),
                scope.filters.with_date_range(&f.dimension, pf, pt),
            ));
            current = Some((from, to));
        }
        Ok(Request {
            board,
            scope,
            pairs,
            previous,
            current,
        })
    }

    fn date_dimension(&self) -> Option<&str> {
        self.board.spec.date_filter().map(|f| f.dimension.as_str())
    }

    /// Answers one query under `filters`, counting the cache lookup.
    async fn ask(
        &self,
        engine: &QueryEngine,
        filters: &FilterSet,
        query: &Query,
    ) -> Result<(Arc<ResultTable>, Lookup), AppError> {
        Ok(engine.answer(&self.scope, filters, query).await?)
    }

    /// The KPI row: values, previous-period values and sparklines.
    pub async fn kpis(
        &self,
        engine: &QueryEngine,
        stats: &mut CacheStats,
    ) -> Result<Vec<KpiCard>, AppError> {
        let spec = &self.board.spec.spec;
        if spec.kpis.is_empty() {
            return Ok(Vec::new());
        }
        let measures: Vec<String> = spec.kpis.iter().map(|k| k.measure().to_string()).collect();
        let total = Query::Aggregate(Aggregate {
            measures: measures.clone(),
            ..Default::default()
        });
        let spark_dim = self
            .date_dimension()
            .filter(|_| spec.kpis.iter().any(|k| k.sparkline() != Some(false)));
        let spark = spark_dim.map(|d| {
            let days = self
                .current
                .map(|(a, b)| (b - a).num_days())
                .unwrap_or(i64::MAX);
            Query::Aggregate(Aggregate {
                group_by: vec![GroupKey::Time {
                    dimension: d.to_string(),
                    grain: if days <= 62 { Grain::Day } else { Grain::Week },
                }],
                measures: measures.clone(),
                sort: vec![Sort::asc(d)],
                ..Default::default()
            })
        });
        let filters = &self.scope.filters;
        let (now, series, before) = futures::future::join3(
            self.ask(engine, filters, &total),
            async {
                match &spark {
                    Some(q) => self.ask(engine, filters, q).await.map(Some),
                    None => Ok(None),
                }
            },
            async {
                match &self.previous {
                    Some((_, f)) => self.ask(engine, f, &total).await.map(Some),
                    None => Ok(None),
                }
            },
        )
        .await;
        let (now, l) = now?;
        stats.add(l);
        let series = series?.map(|(t, l)| {
            stats.add(l);
            t
        });
        let before = before?.map(|(t, l)| {
            stats.add(l);
            t
        });
        let model = self.scope.model();
        let value = |t: &ResultTable, m: &str| {
            t.column_index(m)
                .and_then(|i| t.rows.first().map(|r| r[i].clone()))
                .unwrap_or(Value::Null)
        };
        Ok(spec
            .kpis
            .iter()
            .map(|k| {
                let m = k.measure();
                let previous = before
                    .as_ref()
                    .zip(self.previous.as_ref())
                    .map(|(t, (range, _))| (value(t, m), *range));
                let spark: Vec<Option<f64>> = match (&series, k.sparkline()) {
                    (Some(t), None | Some(true)) => match t.column_index(m) {
                        Some(i) => t.rows.iter().map(|r| r[i].as_f64()).collect(),
                        None => vec![],
                    },
                    _ => vec![],
                };
                card(
                    &model.measures[m],
                    k.label(),
                    value(&now, m),
                    previous,
                    &spark,
                )
            })
            .collect())
    }

    /// One chart's figure; its errors become the figure's error text.
    pub async fn chart(
        &self,
        engine: &QueryEngine,
        c: &BoardChart,
        stats: &mut CacheStats,
    ) -> ChartFigure {
        let view = ChartView::from_pairs(&c.spec.id, self.pairs);
        let highlights = c.chart.highlights();
        let own: Vec<&str> = highlights.iter().map(String::as_str).collect();
        let filters = self.scope.filters.without_lists_on(&own);
        let selected = |d: &str| self.scope.filters.selected(d);
        let ctx = Context {
            model: self.scope.model(),
            view: &view,
            theme: &crate::theme::LIGHT,
            selected: &selected,
            date_dimension: self.date_dimension(),
            previous: self.previous.as_ref().map(|(p, _)| *p),
        };
        let asks = c.chart.asks(&ctx);
        let runs = asks.iter().map(|a| async {
            if a.previous {
                match &self.previous {
                    Some((_, f)) => self.ask(engine, f, &a.query).await.map(Some),
                    None => Ok(None),
                }
            } else {
                self.ask(engine, &filters, &a.query).await.map(Some)
            }
        });
        let mut figure = ChartFigure {
            id: c.spec.id.clone(),
            kind: c.spec.kind.clone(),
            title: Board::chart_title(c),
            description: c.spec.description.clone(),
            wide: c.spec.wide,
            figure: Value::Null,
            empty: false,
            error: None,
        };
        match futures::future::try_join_all(runs).await {
            Ok(results) => {
                let results: Vec<Option<Arc<ResultTable>>> = results
                    .into_iter()
                    .map(|r| {
                        r.map(|(t, l)| {
                            stats.add(l);
                            t
                        })
                    })
                    .collect();
                figure.empty = results
                    .iter()
                    .zip(&asks)
                    .find(|(_, a)| !a.previous)
                    .and_then(|(r, _)| r.as_ref())
                    .is_some_and(|t| t.rows.is_empty());
                figure.figure = c.chart.build(&results, &ctx);
            }
            Err(e) => {
                figure.error = Some(e.public_message());
            }
        }
        figure
    }

    /// The chips of the active filters.
    pub fn chips(&self) -> Vec<Chip> {
        let model = self.scope.model();
        self.scope
            .filters
            .dimensions()
            .filter_map(|d| {
                let label = model.dimensions.get(d)?.label.clone();
                let text = match self.scope.filters.get(d)? {
                    Condition::In(vs) => vs
                        .iter()
                        .map(|v| v.canonical())
                        .collect::<Vec<_>>()
                        .join(", "),
                    c @ Condition::Range { .. } => {
                        match (d == self.date_dimension().unwrap_or(""), self.current) {
                            (true, Some((a, b))) => period_label(a, b),
                            _ => c.canonical().replace("..", " – "),
                        }
                    }
                };
                Some(Chip {
                    dimension: d.to_string(),
                    label,
                    text,
                })
            })
            .collect()
    }
}

/// Runs every item of `board` for the URL `pairs`, over the `rows` the user may see.
pub async fn run(
    engine: &QueryEngine,
    board: &Board,
    pairs: &[(String, String)],
    rows: &RowScope,
) -> Result<DashboardData, AppError> {
    let started = Instant::now();
    let request = Box::pin(Request::new(engine, board, pairs, rows)).await?;
    let mut kpi_stats = CacheStats::default();
    let kpis = Box::pin(request.kpis(engine, &mut kpi_stats));
    let charts = futures::future::join_all(board.charts.iter().map(|c| {
        let request = &request;
        async move {
            let mut stats = CacheStats::default();
            let f = Box::pin(request.chart(engine, c, &mut stats)).await;
            (f, stats)
        }
    }));
    let (kpis, charts) = futures::future::join(kpis, charts).await;
    let kpis = kpis?;
    let mut cache = kpi_stats;
    let charts = charts
        .into_iter()
        .map(|(f, s)| {
            cache.hits += s.hits;
            cache.misses += s.misses;
            f
        })
        .collect();
    let version = &request.scope.version;
    // Under row rules the dataset's size is the user's rows, not the whole version's.
    let rows = if request.scope.is_restricted() {
        let (t, _) = engine
            .answer(
                &request.scope,
                &FilterSet::default(),
                &Query::Count { group_by: vec![] },
            )
            .await?;
        t.rows.first().and_then(|r| r[0].as_u64()).unwrap_or(0)
    } else {
        version.manifest.rows
    };
    Ok(DashboardData {
        dashboard: board.id().to_string(),
        dataset: board.spec.spec.dataset.clone(),
        version: version.manifest.version,
        rows,
        filters: request.scope.filters.to_pairs(),
        chips: request.chips(),
        period: request
            .current
            .zip(request.previous.as_ref())
            .map(|((a, b), ((c, d), _))| Period {
                current: period_label(a, b),
                previous: period_label(*c, *d),
            }),
        kpis,
        charts,
        cache,
        elapsed_ms: (started.elapsed().as_secs_f64() * 1e5).round() / 100.0,
    })
}
