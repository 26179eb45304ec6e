//! Partial content for the files the service hands out (result files and attachments), as a
//! web server does: one `Range: bytes=…` (`N-`, `N-M` or the suffix `-S`) answered with 206 and
//! `Content-Range`, an unsatisfiable one with 416 and `bytes */len`, anything else (several
//! ranges, other units, bad numbers) with the whole file and 200. Result files are streamed from
//! disk in chunks, never read whole, and [`count_sent`] counts every byte of them that goes out
//! (`Shared::file_bytes_served`, shown by `GET /admin/status`), so a test can see that a
//! resumed download fetched only what was missing. Reads files; never writes them.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes read from disk per chunk of a streamed file.
const CHUNK_BYTES: usize = 64 * 1024;

/// What a request's `Range` header asks of a file of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// No (usable) range: the whole file, 200.
    Whole,
    /// Bytes `start..=end`, 206.
    Part { start: u64, end: u64 },
    /// A range that starts past the end, 416.
    Unsatisfiable,
}

impl ByteRange {
    pub fn of(headers: &HeaderMap, len: u64) -> ByteRange {
        headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .map_or(ByteRange::Whole, |text| ByteRange::parse(text, len))
    }

    /// One `bytes=` range (RFC 9110 §14.1.2); several ranges are served whole.
    pub fn parse(text: &str, len: u64) -> ByteRange {
        let Some(spec) = text.trim().strip_prefix("bytes=") else {
            return ByteRange::Whole;
        };
        let Some((first, last)) = spec.trim().split_once('-') else {
            return ByteRange::Whole;
        };
        if spec.contains(',') {
            return ByteRange::Whole;
        }
        let number = |s: &str| s.trim().parse::<u64>().ok();
        match (first.trim().is_empty(), number(first), number(last)) {
            // `-S`: the last S bytes.
            (true, _, Some(suffix)) if suffix > 0 && len > 0 => ByteRange::Part {
                start: len.saturating_sub(suffix),
                end: len - 1,
            },
            (true, _, _) => ByteRange::Unsatisfiable,
            (false, Some(start), _) if start >= len => ByteRange::Unsatisfiable,
            (false, Some(start), None) if last.trim().is_empty() => ByteRange::Part {
                start,
                end: len - 1,
            },
            (false, Some(start), Some(end)) if end >= start => ByteRange::Part {
                start,
                end: end.min(len - 1),
            },
            _ => ByteRange::Whole,
        }
    }
}

/// The reply's status, first byte and number of bytes for `range` of a `len`-byte file (416
/// sends none).
fn plan(range: ByteRange, len: u64) -> (StatusCode, u64, u64) {
    match range {
        ByteRange::Whole => (StatusCode::OK, 0, len),
        ByteRange::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        ByteRange::Unsatisfiable => (StatusCode::RANGE_NOT_SATISFIABLE, 0, 0),
    }
}

fn headers_for(response: &mut Response, content_type: &str, range: ByteRange, len: u64) {
    let headers = response.headers_mut();
    let value = HeaderValue::from_str(content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, value);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let content_range = match range {
        ByteRange::Part { start, end } => Some(format!("bytes {start}-{end}/{len}")),
        ByteRange::Unsatisfiable => Some(format!("bytes */{len}")),
        ByteRange::Whole => None,
    };
    if let Some(value) = content_range.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(header::CONTENT_RANGE, value);
    }
}

/// An in-memory file (an attachment's data) answered for the request's range.
pub fn bytes_reply(bytes: Bytes, content_type: &str, request: &HeaderMap) -> Response {
    let len = bytes.len() as u64;
    let range = ByteRange::of(request, len);
    let (status, start, count) = plan(range, len);
    let body = bytes.slice(start as usize..(start + count) as usize);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    headers_for(&mut response, content_type, range, len);
    response
}

/// A file on disk answered for the request's range, streamed in chunks; `None` when it cannot
/// be opened (it expired meanwhile).
pub async fn file_reply(
    path: PathBuf,
    content_type: &str,
    request: &HeaderMap,
) -> Option<Response> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = tokio::fs::File::open(&path).await.ok()?;
    let len = file.metadata().await.ok()?.len();
    let range = ByteRange::of(request, len);
    let (status, start, count) = plan(range, len);
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start)).await.ok()?;
    }
    let chunks = futures_util::stream::unfold((file, count), move |(mut file, left)| async move {
        if left == 0 {
            return None;
        }
        let mut buf = vec![0u8; CHUNK_BYTES.min(left as usize)];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((
                    Ok::<_, std::io::Error>(Bytes::from(buf)),
                    (file, left - n as u64),
                ))
            }
            Err(e) => Some((Err(e), (file, 0))),
        }
    });
    let mut response = Response::new(Body::from_stream(chunks));
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(&count.to_string()) {
        response.headers_mut().insert(header::CONTENT_LENGTH, value);
    }
    headers_for(&mut response, content_type, range, len);
    Some(response)
}

/// Middleware: counts the body bytes of result files and attachments as they go out (after
/// any fault injection, so a connection cut after N bytes counts N).
pub async fn count_sent(
    State(sent): State<Arc<AtomicU64>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let is_file = path.contains("/directories/arcgisoutput/") || path.contains("/attachments/");
    let response = next.run(request).await;
    if !is_file {
        return response;
    }
    let (parts, body) = response.into_parts();
    let counted = body.into_data_stream().inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            sent.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
    });
    Response::from_parts(parts, Body::from_stream(counted))
}

#[cfg(test)]
mod tests {
    use super::ByteRange::{self, *};

    #[test]
    fn ranges_read_as_a_web_server_reads_them() {
        let len = 1000;
        let p = |s: &str| ByteRange::parse(s, len);
        assert_eq!(p("bytes=0-"), Part { start: 0, end: 999 });
        assert_eq!(
            p("bytes=200-"),
            Part {
                start: 200,
                end: 999
            }
        );
        assert_eq!(
            p("bytes=200-299"),
            Part {
                start: 200,
                end: 299
            }
        );
        assert_eq!(
            p("bytes=990-2000"),
            Part {
                start: 990,
                end: 999
            }
        );
        assert_eq!(
            p("bytes=-100"),
            Part {
                start: 900,
                end: 999
            }
        );
        assert_eq!(p("bytes=-5000"), Part { start: 0, end: 999 });
        assert_eq!(p("bytes=1000-"), Unsatisfiable);
        assert_eq!(p("bytes=-0"), Unsatisfiable);
        assert_eq!(p("bytes=300-200"), Whole);
        assert_eq!(p("bytes=0-1,5-9"), Whole);
        assert_eq!(p("items=0-9"), Whole);
        assert_eq!(p("bytes=x-"), Whole);
        assert_eq!(ByteRange::parse("bytes=0-", 0), Unsatisfiable);
    }
}
