//! A fault-injecting reverse proxy in front of the emulator.
//!
//! The emulator cannot fail on demand; this proxy can. Each request's operation (from the
//! `X-Amz-Target` header of JSON protocols or the `Action=` form field of query protocols) and
//! region (from the signature's credential scope) are matched against [`Fault`] rules; a match
//! is answered with the rule's status and body, anything else is forwarded unchanged (the
//! `Host` header is kept, so signatures still verify). Every request is counted.

use crate::{KitError, Step};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::net::TcpListener;

/// Answer `operation` (in `region`, or any region) with `status` and `body`, `times` times
/// (`None`: always).
#[derive(Debug, Clone)]
pub struct Fault {
    /// The API operation, e.g. `DescribeVolumes`.
    pub operation: String,
    /// Only in this region, when set.
    pub region: Option<String>,
    /// The HTTP status to answer with.
    pub status: u16,
    /// The response body (an HTML page for an emulator-style 500).
    pub body: String,
    /// How many matching requests to fail; `None` fails all of them.
    pub times: Option<u64>,
}

#[derive(Debug, Default)]
struct State {
    faults: Vec<(Fault, AtomicU64)>,
    forwarded: AtomicU64,
    injected: AtomicU64,
    by_operation: Mutex<BTreeMap<String, u64>>,
}

/// A running proxy; it stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    url: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, faults: Vec<Fault>) -> Result<Self, KitError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .step("binding the fault proxy")?;
        let addr = listener
            .local_addr()
            .step("reading the fault proxy's address")?;
        let state = Arc::new(State {
            faults: faults.into_iter().map(|f| (f, AtomicU64::new(0))).collect(),
            ..State::default()
        });
        let upstream = upstream.trim_end_matches('/').to_owned();
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let task_state = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&task_state);
                let client = client.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        handle(req, Arc::clone(&state), client.clone(), upstream.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            url: format!("http://{addr}"),
            state,
            task,
        })
    }

    /// The proxy's endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Requests forwarded to the emulator.
    pub fn forwarded(&self) -> u64 {
        self.state.forwarded.load(Ordering::Relaxed)
    }

    /// Requests answered with a fault.
    pub fn injected(&self) -> u64 {
        self.state.injected.load(Ordering::Relaxed)
    }

    /// All requests seen, by operation.
    pub fn requests_by_operation(&self) -> BTreeMap<String, u64> {
        self.state
            .by_operation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

type Reply = Response<Full<Bytes>>;

async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: String,
) -> Result<Reply, hyper::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let operation = operation_of(&parts.headers, &body);
    let region = region_of(&parts.headers);
    *state
        .by_operation
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(operation.clone().unwrap_or_else(|| "other".into()))
        .or_default() += 1;

    for (fault, used) in &state.faults {
        let op_matches = operation.as_deref() == Some(fault.operation.as_str());
        let region_matches = fault.region.is_none() || fault.region == region;
        if op_matches && region_matches {
            let n = used.fetch_add(1, Ordering::Relaxed);
            if fault.times.is_none_or(|limit| n < limit) {
                state.injected.fetch_add(1, Ordering::Relaxed);
                return Ok(text_response(fault.status, fault.body.clone()));
            }
        }
    }

    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri: hyper::Uri = match format!("{upstream}{path}").parse() {
        Ok(uri) => uri,
        Err(e) => return Ok(text_response(502, format!("bad upstream uri: {e}"))),
    };
    let mut forward = Request::builder().method(parts.method).uri(uri);
    for (name, value) in &parts.headers {
        forward = forward.header(name, value);
    }
    let forward = match forward.body(Full::new(body)) {
        Ok(f) => f,
        Err(e) => return Ok(text_response(502, format!("bad request: {e}"))),
    };
    state.forwarded.fetch_add(1, Ordering::Relaxed);
    match client.request(forward).await {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            let bytes = body.collect().await?.to_bytes();
            Ok(Response::from_parts(parts, Full::new(bytes)))
        }
        Err(e) => Ok(text_response(502, format!("upstream failed: {e}"))),
    }
}

fn text_response(status: u16, body: String) -> Reply {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html"),
    );
    resp
}

/// The operation of a JSON-protocol (`X-Amz-Target: Service.Operation`) or query-protocol
/// (`Action=Operation` form field) request.
fn operation_of(headers: &hyper::HeaderMap, body: &[u8]) -> Option<String> {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().map(str::to_owned);
    }
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action=").map(str::to_owned))
}

/// The region in the SigV4 credential scope `.../DATE/REGION/SERVICE/aws4_request`.
fn region_of(headers: &hyper::HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?.split(',').next()?;
    scope.split('/').nth(2).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_and_regions_are_read_from_requests() {
        let mut headers = hyper::HeaderMap::new();
        headers.insert("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261127/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=abc".parse().unwrap());
        assert_eq!(region_of(&headers).as_deref(), Some("eu-west-1"));
        assert_eq!(
            operation_of(&headers, b"Action=DescribeVolumes&Version=2016-11-15").as_deref(),
            Some("DescribeVolumes")
        );
        headers.insert(
            "x-amz-target",
            "Logs_20140328.DescribeLogGroups".parse().unwrap(),
        );
        assert_eq!(
            operation_of(&headers, b"{}").as_deref(),
            Some("DescribeLogGroups")
        );
        assert_eq!(operation_of(&hyper::HeaderMap::new(), b"").as_deref(), None);
    }
}
