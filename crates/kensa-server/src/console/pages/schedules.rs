//! `/schedules`: scheduled exports (findings or the register, to a path
//! or S3), listed, made and deleted; the API's rules apply
//! ([`crate::schedule`]).

#[allow(unused_imports)]
use super::*;

use crate::schedule::{Delivery, ScheduleRequest, Source};

#[derive(Deserialize)]
pub(crate) struct SchedulesQuery {
    made: Option<i64>,
}

pub(crate) async fn schedules(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<SchedulesQuery>,
) -> Response {
    page(&state, headers, here("/schedules", &raw), move |db, cx| {
        let all = db.schedules()?;
        let mine: Vec<_> = all
            .into_iter()
            .filter(|s| cx.can(Role::Admin) || s.owner == cx.user)
            .collect();
        let settings = crate::export::ExportSettings::load(db)?;
        let may = cx.role.includes(settings.role());
        Ok(Out::Page(layout(
            cx,
            cx.t("s.title"),
            html! {
                h1 { (cx.t("s.title")) }
                @if let Some(id) = q.made { p class="ok" id="made" { (cx.t("s.made")) " " (id) } }
                table id="schedules" {
                    thead { tr {
                        th { "ID" } th { (cx.t("s.name")) } th { (cx.t("s.owner")) }
                        th { (cx.t("s.when")) } th { (cx.t("s.what")) } th { (cx.t("s.delivery")) }
                        th { (cx.t("s.next")) } th { (cx.t("s.last")) } th {}
                    } }
                    tbody {
                        @for s in &mine {
                            tr {
                                td { (s.id) } td { (s.name) } td { (s.owner) }
                                td { code { (s.cron) } " " (s.timezone) }
                                td { (s.spec["source"].as_str().unwrap_or("")) " · " (s.spec["format"].as_str().unwrap_or(""))
                                     @if let Some(f) = s.spec["filter"].as_str().filter(|f| !f.is_empty()) { " · " code { (f) } } }
                                td { code { (s.spec["delivery"].to_string()) } }
                                td { @if s.enabled { (when(s.next_due)) } @else { (cx.t("s.disabled")) } }
                                td { @if let Some(j) = s.last_job { (s.last_due.map(when).unwrap_or_default()) " · #" (j) } }
                                td { form method="post" action={ "/schedules/" (s.id) "/delete" } class="inline" {
                                    (csrf_field(cx)) button type="submit" class="danger" { (cx.t("s.delete")) }
                                } }
                            }
                        }
                    }
                }
                @if may {
                    h2 { (cx.t("s.create")) }
                    form method="post" action="/schedules" class="panel stack" id="schedule-form" {
                        (csrf_field(cx))
                        label { (cx.t("s.name")) input type="text" name="name" required; }
                        label { (cx.t("s.cron")) input type="text" name="cron" placeholder="0 9 * * MON" required; }
                        label { (cx.t("s.timezone")) input type="text" name="timezone" value="UTC" required; }
                        label { (cx.t("s.source"))
                            select name="source" {
                                option value="findings" { (cx.t("s.findings")) }
                                option value="assets" { (cx.t("s.assets")) }
                            }
                        }
                        label { (cx.t("s.format"))
                            select name="format" {
                                option value="csv" { "CSV" } option value="json" { "JSON" } option value="xlsx" { "XLSX" }
                            }
                        }
                        label { (cx.t("r.filter")) input type="text" name="filter" class="filter"; }
                        label { (cx.t("s.lang"))
                            select name="lang" { option value="en" { "English" } option value="ja" { "日本語" } }
                        }
                        label { (cx.t("s.delivery"))
                            select name="delivery" {
                                option value="path" { (cx.t("s.path")) } option value="s3" { "S3" }
                            }
                        }
                        label { (cx.t("s.dir")) input type="text" name="dir"; }
                        label { (cx.t("s.bucket")) input type="text" name="bucket"; }
                        label { (cx.t("s.prefix")) input type="text" name="prefix"; }
                        button type="submit" { (cx.t("s.create")) }
                    }
                }
            },
        )))
    })
    .await
}

pub(crate) async fn schedule_create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let exports = Arc::clone(&state.exports);
    let clock = state.clock.clone();
    post(&state, headers, body, move |db, cx, form| {
        let field = |k: &str| form.get(k).map(str::trim).filter(|v| !v.is_empty());
        let need =
            |k: &'static str| field(k).ok_or_else(|| ApiError::bad(format!("{k}: required")));
        let source = match need("source")? {
            "findings" => Source::Findings,
            "assets" => Source::Assets,
            s => return Err(ApiError::bad(format!("source {s:?}: findings or assets"))),
        };
        let delivery = match need("delivery")? {
            "path" => Delivery::Path {
                path: None,
                dir: field("dir").map(str::to_owned),
            },
            "s3" => Delivery::S3 {
                bucket: need("bucket")?.to_owned(),
                key: None,
                prefix: field("prefix").map(str::to_owned),
                encryption: None,
            },
            d => return Err(ApiError::bad(format!("delivery {d:?}: path or s3"))),
        };
        let req = ScheduleRequest {
            name: need("name")?.to_owned(),
            cron: need("cron")?.to_owned(),
            timezone: field("timezone").unwrap_or("UTC").to_owned(),
            enabled: true,
            source,
            format: need("format")?.to_owned(),
            filter: field("filter").map(str::to_owned),
            sort: None,
            lang: field("lang").map(str::to_owned),
            delivery,
        };
        let id = crate::schedule::make(db, &exports, clock.now(), &cx.user, cx.role, &req)?;
        Ok(Out::See(format!("/schedules?made={id}")))
    })
    .await
}

pub(crate) async fn schedule_delete(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    post(&state, headers, body, move |db, cx, _| {
        crate::schedule::delete_as(db, &cx.user, cx.role, id)?;
        Ok(Out::See("/schedules".into()))
    })
    .await
}
