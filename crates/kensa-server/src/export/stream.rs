//! `GET /api/v1/findings/export`: the export as the response body, through
//! a bounded channel so that memory stays flat and a slow client slows
//! the export.

#[allow(unused_imports)]
use super::*;

/// A `Write` that hands 64 KiB chunks to the response body.
pub(crate) struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
}

pub(super) const CHUNK: usize = 64 << 10;

impl ChannelWriter {
    pub(crate) fn new(tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>) -> ChannelWriter {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

pub(crate) struct Chunks(pub(crate) tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>);

impl futures_core::Stream for Chunks {
    type Item = std::io::Result<Bytes>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().0.poll_recv(cx)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: Option<String>,
    filter: Option<String>,
    sort: Option<String>,
}

pub(super) fn parse_sort(s: Option<&str>) -> ApiResult<Sort> {
    match s {
        Some(s) => s
            .parse()
            .map_err(|e: kensa_store::StoreError| ApiError::bad(e.to_string())),
        None => Ok(Sort::default()),
    }
}

pub(super) fn parse_filter(s: Option<&str>) -> ApiResult<Filter> {
    Filter::parse(s.unwrap_or("")).map_err(|e| ApiError::bad(e.to_string()))
}

pub(super) fn attachment(format: Format) -> String {
    let day = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    format!(
        "attachment; filename=\"kensa-findings-{}.{}\"",
        &day[..10],
        format.ext()
    )
}

/// `GET /api/v1/findings/export?format=csv|json&filter=…&sort=…`
pub async fn stream(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let format = Format::parse(q.format.as_deref().unwrap_or("csv"))?;
    let filter = parse_filter(q.filter.as_deref())?;
    let sort = parse_sort(q.sort.as_deref())?;
    with_db(&state, move |db| {
        authorize(
            db,
            &headers,
            Role::Viewer,
            "exporting findings needs a user token",
        )
        .map(drop)
    })
    .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
    let pool = Arc::clone(&state.pool);
    // Taken before the headers go out: a busy server still answers 503.
    let permit = pool.permit().await.map_err(ApiError::from)?;
    tokio::task::spawn_blocking(move || {
        let db = match pool.get(permit) {
            Ok(db) => db,
            Err(e) => {
                let e = ApiError::from(e);
                let _ = tx.blocking_send(Err(std::io::Error::other(e.message().to_owned())));
                return;
            }
        };
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        if let Err(e) = write_export(&db, &filter, sort, format, &mut w, |_| Ok(()))
            .and_then(|_| w.flush().map_err(|e| ServerError::Internal(e.to_string())))
        {
            // The headers are sent: all that is left is to cut the body
            // short, which the client sees as an incomplete response.
            tracing::error!("streamed export failed: {e}");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, attachment(format)),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(Chunks(rx)),
    )
        .into_response())
}
