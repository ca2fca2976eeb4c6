//! A fault-injecting reverse proxy in front of the emulator.
//!
//! The emulator cannot fail on demand; this proxy can. Each request's service and region
//! (from the signature's credential scope) and operation (from `X-Amz-Target` for JSON
//! protocols, the `Action=` form field for query protocols, and the method, path and query
//! for S3 and S3 Control) are matched against [`Fault`] rules. A matching request is failed
//! the way the rule says: an HTTP status with a body, `AccessDenied` in the shape the
//! service's protocol really uses, throttling likewise, a dropped connection, a delay before
//! forwarding (past the client's attempt timeout if it is long enough), or a body cut short.
//! Anything else is forwarded unchanged (the `Host` header is kept, so signatures still
//! verify). Every request is counted.
//!
//! In latency mode ([`FaultProxy::with_latency`]) every request also waits a round trip
//! before it is forwarded, as a real AWS endpoint answers in tens of milliseconds: a scan's
//! wall time then shows its critical path (calls that wait for one another, rate limits), not
//! only the emulator's own speed.
//!
//! One emulator process answers every request on one core, so even in latency mode a large
//! scan's wall time is the emulator's total work. A [`Recording`] removes it: a proxy in
//! [`Replay::Record`] keeps the emulator's answer to every read, and a proxy in
//! [`Replay::Serve`] answers a read it has seen, byte for byte, without asking the emulator
//! (after its round trip), and forwards anything else. A read-only scan replayed that way runs
//! at the speed of its own critical path, as against an endpoint that serves in parallel.

use crate::{KitError, Step};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;

/// What a matching request gets instead of the emulator's answer.
#[derive(Debug, Clone)]
pub enum FaultAction {
    /// This status and body (an HTML page for an emulator-style 500).
    Status {
        /// The HTTP status.
        status: u16,
        /// The body.
        body: String,
    },
    /// `AccessDenied` as the service's protocol writes it.
    AccessDenied,
    /// The service's throttling error (EC2 503 `RequestLimitExceeded`, S3 503 `SlowDown`,
    /// query 400 `Throttling`, JSON 400 `ThrottlingException`, Lambda 429).
    Throttle,
    /// The connection is closed without an answer.
    Drop,
    /// The request is forwarded after this delay.
    Delay(Duration),
    /// The emulator's answer, its full length declared but the connection closed halfway
    /// through the body (as a reset connection does).
    Truncate,
}

/// Fail matching requests with `action`: those of `service`, `operation` and `region` where
/// set (unset matches any), at most `times` of them, and only `rate.0` of every `rate.1`
/// (spread evenly, so no request is failed twice in a row below 50%).
#[derive(Debug, Clone)]
pub struct Fault {
    /// The signing name of the service, e.g. `s3`, `ec2`, `iam`.
    pub service: Option<String>,
    /// The API operation, e.g. `DescribeVolumes`.
    pub operation: Option<String>,
    /// Only in this region, when set.
    pub region: Option<String>,
    /// Only requests whose body contains this text, when set (e.g. an account id in the
    /// `RoleArn` of an `AssumeRole`).
    pub body_contains: Option<String>,
    /// What to do instead of forwarding.
    pub action: FaultAction,
    /// How many matching requests to fail; `None` fails all of them.
    pub times: Option<u64>,
    /// Fail this many of every so many matching requests.
    pub rate: Option<(u64, u64)>,
}

impl Fault {
    /// Fails every request of `operation` with `action`.
    pub fn on(operation: &str, action: FaultAction) -> Self {
        Self {
            service: None,
            operation: Some(operation.to_owned()),
            region: None,
            body_contains: None,
            action,
            times: None,
            rate: None,
        }
    }

    /// Fails every request of `service` (any operation) with `action`.
    pub fn on_service(service: &str, action: FaultAction) -> Self {
        Self {
            service: Some(service.to_owned()),
            ..Self::on("", action)
        }
        .any_operation()
    }

    /// Fails requests of every service with `action`.
    pub fn everywhere(action: FaultAction) -> Self {
        Self::on("", action).any_operation()
    }

    fn any_operation(mut self) -> Self {
        self.operation = None;
        self
    }

    /// Only in `region`.
    pub fn in_region(mut self, region: &str) -> Self {
        self.region = Some(region.to_owned());
        self
    }

    /// Only requests whose body contains `text`.
    pub fn with_body(mut self, text: &str) -> Self {
        self.body_contains = Some(text.to_owned());
        self
    }

    /// At most `n` times.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Only `fail` of every `of` matching requests.
    pub fn rate(mut self, fail: u64, of: u64) -> Self {
        self.rate = Some((fail, of.max(1)));
        self
    }

    fn matches(&self, req: &Seen, body: &[u8]) -> bool {
        let eq = |want: &Option<String>, got: &Option<String>| want.is_none() || want == got;
        eq(&self.service, &req.service)
            && eq(&self.operation, &req.operation)
            && eq(&self.region, &req.region)
            && self.body_contains.as_ref().is_none_or(|text| {
                body.windows(text.len().max(1))
                    .any(|w| w == text.as_bytes())
            })
    }

    /// Whether the `n`th matching request (from 0) is failed.
    fn fires(&self, n: u64) -> bool {
        self.times.is_none_or(|limit| n < limit)
            && self
                .rate
                .is_none_or(|(fail, of)| (n + 1) * fail / of > n * fail / of)
    }
}

/// A delay added to every request before it is forwarded: `base` plus a spread drawn evenly
/// from `0..=spread` per request (deterministic in the request's sequence number).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    /// The least delay.
    pub base: Duration,
    /// The most added to `base`.
    pub spread: Duration,
}

impl Latency {
    /// `base` for every request.
    pub fn fixed(base: Duration) -> Self {
        Self {
            base,
            spread: Duration::ZERO,
        }
    }

    /// The delay of the `n`th request.
    pub fn of_request(&self, n: u64) -> Duration {
        let spread = u64::try_from(self.spread.as_micros()).unwrap_or(u64::MAX);
        if spread == 0 {
            return self.base;
        }
        // splitmix64: an even spread without a random-number crate.
        let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        self.base + Duration::from_micros(z % (spread + 1))
    }
}

/// What identifies a request for replay: everything the service answers from, less what
/// changes between two sends of the same call (the signature, its date, the SDK's invocation
/// id and user agent).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RequestKey {
    pub(crate) service: Option<String>,
    pub(crate) operation: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) method: hyper::Method,
    pub(crate) path_and_query: String,
    pub(crate) target: Option<String>,
    pub(crate) body: Bytes,
}

/// An answer as the emulator gave it.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: hyper::StatusCode,
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) body: Bytes,
}

/// The emulator's answers to the reads one proxy forwarded, shared with the proxy that
/// replays them.
#[derive(Debug, Clone, Default)]
pub struct Recording(Arc<Mutex<HashMap<RequestKey, Answer>>>);

impl Recording {
    /// An empty recording.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether it holds no answer.
    pub fn is_empty(&self) -> bool {
        self.answers().is_empty()
    }

    pub(crate) fn answers(&self) -> std::sync::MutexGuard<'_, HashMap<RequestKey, Answer>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether a proxy records reads, serves them from a recording, or neither.
#[derive(Debug, Clone, Default)]
pub enum Replay {
    /// Forward everything.
    #[default]
    Off,
    /// Forward everything and keep the answers to reads.
    Record(Recording),
    /// Answer reads found in the recording from it; forward the rest.
    Serve(Recording),
    /// Answer reads from a recording served as a larger estate (and `AssumeRole` for its
    /// accounts); forward writes.
    Scaled(crate::scaled::Scaled),
}

/// Whether a request only reads, so its answer can be replayed while nothing is written: a
/// named operation that gets, lists, describes or looks up, or a REST `GET` or `HEAD`.
fn is_read(method: &hyper::Method, operation: Option<&str>) -> bool {
    match operation {
        Some(op) => ["Get", "List", "Describe", "Head", "Lookup"]
            .iter()
            .any(|verb| op.starts_with(verb)),
        None => matches!(*method, hyper::Method::GET | hyper::Method::HEAD),
    }
}

/// What the proxy learned about one request.
#[derive(Debug, Clone, Default)]
struct Seen {
    service: Option<String>,
    operation: Option<String>,
    region: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    faults: Vec<(Fault, AtomicU64)>,
    latency: Latency,
    replay: Replay,
    requests: AtomicU64,
    forwarded: AtomicU64,
    injected: AtomicU64,
    replayed: AtomicU64,
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
        Self::with_latency(upstream, faults, Latency::default()).await
    }

    /// [`FaultProxy::start`] in latency mode: every request waits `latency` first.
    pub async fn with_latency(
        upstream: &str,
        faults: Vec<Fault>,
        latency: Latency,
    ) -> Result<Self, KitError> {
        Self::with_replay(upstream, faults, latency, Replay::Off).await
    }

    /// [`FaultProxy::with_latency`] that also records reads or serves them from a recording.
    pub async fn with_replay(
        upstream: &str,
        faults: Vec<Fault>,
        latency: Latency,
        replay: Replay,
    ) -> Result<Self, KitError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .step("binding the fault proxy")?;
        let addr = listener
            .local_addr()
            .step("reading the fault proxy's address")?;
        let state = Arc::new(State {
            faults: faults.into_iter().map(|f| (f, AtomicU64::new(0))).collect(),
            latency,
            replay,
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
                        let (state, client, upstream) =
                            (Arc::clone(&state), client.clone(), upstream.clone());
                        async move {
                            match handle(req, state, client, upstream).await? {
                                Reply::Answer(r) => Ok::<_, Dropped>(
                                    r.map(|b| b.map_err(|never| match never {}).boxed()),
                                ),
                                Reply::Truncated(r) => {
                                    Ok(r.map(|b| ProxyBody::new(CutShort(Some(b)))))
                                }
                                // An error from the service makes hyper close the connection
                                // without an answer.
                                Reply::Drop => Err(Dropped),
                            }
                        }
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

    /// A proxy that forwards everything to `upstream` and records its answers to reads.
    pub async fn recording(upstream: &str, recording: &Recording) -> Result<Self, KitError> {
        let replay = Replay::Record(recording.clone());
        Self::with_replay(upstream, vec![], Latency::default(), replay).await
    }

    /// A proxy that answers reads from `scaled` after `latency`, and forwards writes to
    /// `upstream`.
    pub async fn scaled(
        upstream: &str,
        scaled: &crate::scaled::Scaled,
        latency: Duration,
    ) -> Result<Self, KitError> {
        let replay = Replay::Scaled(scaled.clone());
        Self::with_replay(upstream, vec![], Latency::fixed(latency), replay).await
    }

    /// The proxy's endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Requests forwarded to the emulator.
    pub fn forwarded(&self) -> u64 {
        self.state.forwarded.load(Ordering::Relaxed)
    }

    /// Requests answered from a recording.
    pub fn replayed(&self) -> u64 {
        self.state.replayed.load(Ordering::Relaxed)
    }

    /// All requests seen.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
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

async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: String,
) -> Result<Reply, hyper::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let seen = Seen {
        service: service_of(&parts.headers),
        operation: operation_of(&parts.method, &parts.uri, &parts.headers, &body),
        region: region_of(&parts.headers),
    };
    *state
        .by_operation
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(seen.operation.clone().unwrap_or_else(|| "other".into()))
        .or_default() += 1;
    let delay = state
        .latency
        .of_request(state.requests.fetch_add(1, Ordering::Relaxed));
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let mut after = None;
    for (fault, used) in &state.faults {
        if !fault.matches(&seen, &body) {
            continue;
        }
        let n = used.fetch_add(1, Ordering::Relaxed);
        if !fault.fires(n) {
            continue;
        }
        state.injected.fetch_add(1, Ordering::Relaxed);
        let service = seen.service.as_deref().unwrap_or_default();
        match &fault.action {
            FaultAction::Status { status, body } => {
                return Ok(Reply::Answer(text_response(*status, body.clone())));
            }
            FaultAction::AccessDenied => return Ok(Reply::Answer(access_denied(service))),
            FaultAction::Throttle => return Ok(Reply::Answer(throttled(service))),
            FaultAction::Drop => return Ok(Reply::Drop),
            FaultAction::Delay(d) => tokio::time::sleep(*d).await,
            FaultAction::Truncate => after = Some(FaultAction::Truncate),
        }
        break;
    }

    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let read = is_read(&parts.method, seen.operation.as_deref());
    // Every request of a scaled replay is keyed (it answers `AssumeRole` too); reads otherwise.
    let keyed = match state.replay {
        Replay::Off => false,
        Replay::Scaled(_) => true,
        Replay::Record(_) | Replay::Serve(_) => read,
    };
    let key = keyed.then(|| RequestKey {
        service: seen.service.clone(),
        operation: seen.operation.clone(),
        region: seen.region.clone(),
        method: parts.method.clone(),
        path_and_query: path.to_owned(),
        target: parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.clone(),
    });
    if let (Replay::Scaled(scaled), Some(key)) = (&state.replay, &key) {
        let scope = scope(&parts.headers);
        let signer = scope.as_deref().and_then(|s| s.split('/').next());
        if let Some(answer) = scaled.serve(key, signer, read) {
            return Ok(Reply::Answer(answer));
        }
    }
    if let (Replay::Serve(recording), Some(key), None) = (&state.replay, &key, &after) {
        let found = recording.answers().get(key).cloned();
        if let Some(answer) = found {
            state.replayed.fetch_add(1, Ordering::Relaxed);
            let mut resp = Response::new(Full::new(answer.body));
            *resp.status_mut() = answer.status;
            *resp.headers_mut() = answer.headers;
            return Ok(Reply::Answer(resp));
        }
    }
    let uri: hyper::Uri = match format!("{upstream}{path}").parse() {
        Ok(uri) => uri,
        Err(e) => {
            return Ok(Reply::Answer(text_response(
                502,
                format!("bad upstream uri: {e}"),
            )));
        }
    };
    let mut forward = Request::builder().method(parts.method).uri(uri);
    for (name, value) in &parts.headers {
        forward = forward.header(name, value);
    }
    let forward = match forward.body(Full::new(body)) {
        Ok(f) => f,
        Err(e) => {
            return Ok(Reply::Answer(text_response(
                502,
                format!("bad request: {e}"),
            )));
        }
    };
    state.forwarded.fetch_add(1, Ordering::Relaxed);
    match client.request(forward).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            let mut bytes = body.collect().await?.to_bytes();
            if let (Replay::Record(recording), Some(key)) = (&state.replay, key) {
                let answer = Answer {
                    status: parts.status,
                    headers: parts.headers.clone(),
                    body: bytes.clone(),
                };
                recording.answers().insert(key, answer);
            }
            if after.is_some() {
                let declared = bytes.len();
                bytes.truncate(declared / 2);
                parts
                    .headers
                    .insert(hyper::header::CONTENT_LENGTH, declared.into());
                return Ok(Reply::Truncated(Response::from_parts(parts, bytes)));
            }
            Ok(Reply::Answer(Response::from_parts(parts, Full::new(bytes))))
        }
        Err(e) => Ok(Reply::Answer(text_response(
            502,
            format!("upstream failed: {e}"),
        ))),
    }
}

/// An answer, an answer to cut short, or a connection to drop.
enum Reply {
    Answer(Response<Full<Bytes>>),
    Truncated(Response<Bytes>),
    Drop,
}

/// A body that sends what it has, then fails: hyper closes the connection short of the
/// declared length.
struct CutShort(Option<Bytes>);

impl hyper::body::Body for CutShort {
    type Data = Bytes;
    type Error = Dropped;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Dropped>>> {
        std::task::Poll::Ready(Some(match self.0.take() {
            Some(data) => Ok(hyper::body::Frame::data(data)),
            None => Err(Dropped),
        }))
    }
}

type ProxyBody = http_body_util::combinators::BoxBody<Bytes, Dropped>;

/// The protocol family of a service, by its signing name.
fn protocol(service: &str) -> &'static str {
    match service {
        "ec2" => "ec2",
        "s3" | "s3control" => "rest-xml",
        // CloudWatch signs as `monitoring`.
        "iam" | "sts" | "rds" | "sns" | "cloudwatch" | "monitoring" => "query",
        "lambda" | "securityhub" => "rest-json",
        _ => "json",
    }
}

pub(crate) fn xml(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut r = text_response(status, body);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/xml"),
    );
    r
}

fn json(status: u16, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    let mut r = text_response(
        status,
        format!(r#"{{"__type":"{error_type}","message":"{message}"}}"#),
    );
    let headers = r.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(error_type) {
        headers.insert("x-amzn-errortype", v);
    }
    r
}

/// `AccessDenied` as each protocol writes it.
fn access_denied(service: &str) -> Response<Full<Bytes>> {
    let msg =
        "User: arn:aws:iam::123456789012:user/scanner is not authorized to perform this action";
    match protocol(service) {
        "ec2" => xml(403, format!("<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>{msg}</Message></Error></Errors><RequestID>x</RequestID></Response>")),
        "rest-xml" => xml(403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>x</RequestId></Error>".to_owned()),
        "query" => xml(403, format!("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{msg}</Message></Error><RequestId>x</RequestId></ErrorResponse>")),
        "rest-json" => json(403, "AccessDeniedException", msg),
        _ => json(400, "AccessDeniedException", msg),
    }
}

/// The throttling error each protocol really uses.
pub(crate) fn throttled(service: &str) -> Response<Full<Bytes>> {
    match protocol(service) {
        "ec2" => xml(503, "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>x</RequestID></Response>".to_owned()),
        "rest-xml" => xml(503, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>x</RequestId></Error>".to_owned()),
        "query" => xml(400, "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>".to_owned()),
        "rest-json" => json(429, "TooManyRequestsException", "Rate exceeded"),
        _ => json(400, "ThrottlingException", "Rate exceeded"),
    }
}

pub(crate) fn text_response(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html"),
    );
    resp
}

/// A connection the proxy drops on purpose.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for Dropped {}

impl From<hyper::Error> for Dropped {
    fn from(_: hyper::Error) -> Self {
        Self
    }
}

/// The S3 operations infraqa calls, by the query key that names the sub-resource.
const S3_SUBRESOURCES: [(&str, &str); 8] = [
    ("encryption", "GetBucketEncryption"),
    ("publicAccessBlock", "GetPublicAccessBlock"),
    ("logging", "GetBucketLogging"),
    ("policyStatus", "GetBucketPolicyStatus"),
    ("acl", "GetBucketAcl"),
    ("location", "GetBucketLocation"),
    ("tagging", "GetBucketTagging"),
    ("versioning", "GetBucketVersioning"),
];

/// The operation of a JSON-protocol (`X-Amz-Target: Service.Operation`), query-protocol
/// (`Action=Operation` form field) or S3 REST request (method, path and sub-resource).
fn operation_of(
    method: &hyper::Method,
    uri: &hyper::Uri,
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> Option<String> {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().map(str::to_owned);
    }
    if let Some(action) = std::str::from_utf8(body)
        .ok()
        .and_then(|b| b.split('&').find_map(|p| p.strip_prefix("Action=")))
    {
        return Some(action.to_owned());
    }
    match service_of(headers).as_deref() {
        Some("securityhub") => match uri.path() {
            "/findings/import" => Some("BatchImportFindings".to_owned()),
            "/findings" => Some("GetFindings".to_owned()),
            _ => None,
        },
        Some("s3control") if uri.path().ends_with("/publicAccessBlock") => {
            Some(format!("{}PublicAccessBlock", rest_verb(method)))
        }
        Some("s3") => {
            let keys: Vec<&str> = uri
                .query()
                .unwrap_or_default()
                .split('&')
                .map(|kv| kv.split('=').next().unwrap_or_default())
                .collect();
            // The sub-resource names the operation; the method says which (`PUT
            // ?publicAccessBlock` is `PutPublicAccessBlock`).
            let named = S3_SUBRESOURCES
                .iter()
                .find(|(key, _)| keys.contains(key))
                .map(|(_, op)| op.replacen("Get", rest_verb(method), 1));
            // Path-style: `/` lists buckets, `/bucket` is the bucket, `/bucket/key` an object.
            let segments = uri.path().trim_start_matches('/').splitn(2, '/').count();
            named.or_else(|| match (uri.path(), segments, method) {
                ("/", _, &hyper::Method::GET) => Some("ListBuckets".to_owned()),
                (_, 1, &hyper::Method::GET) if keys.contains(&"list-type") => {
                    Some("ListObjectsV2".to_owned())
                }
                (_, 1, &hyper::Method::PUT) => Some("CreateBucket".to_owned()),
                (_, 2, m) => Some(format!("{}Object", rest_verb(m))),
                _ => None,
            })
        }
        _ => None,
    }
}

fn rest_verb(method: &hyper::Method) -> &'static str {
    match *method {
        hyper::Method::GET => "Get",
        hyper::Method::PUT => "Put",
        hyper::Method::DELETE => "Delete",
        _ => "Post",
    }
}

/// The signing name in the SigV4 credential scope `.../DATE/REGION/SERVICE/aws4_request`.
fn service_of(headers: &hyper::HeaderMap) -> Option<String> {
    scope(headers)?.split('/').nth(3).map(str::to_owned)
}

fn scope(headers: &hyper::HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    Some(
        auth.split("Credential=")
            .nth(1)?
            .split(',')
            .next()?
            .to_owned(),
    )
}

/// The region in the SigV4 credential scope.
fn region_of(headers: &hyper::HeaderMap) -> Option<String> {
    scope(headers)?.split('/').nth(2).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_stays_within_its_bounds_and_covers_the_spread() {
        let ms = Duration::from_millis;
        assert_eq!(Latency::fixed(ms(40)).of_request(7), ms(40));
        assert_eq!(Latency::default().of_request(7), Duration::ZERO);
        let l = Latency {
            base: ms(20),
            spread: ms(40),
        };
        let delays: Vec<Duration> = (0..2000).map(|n| l.of_request(n)).collect();
        assert!(delays.iter().all(|d| (ms(20)..=ms(60)).contains(d)));
        let low = delays.iter().filter(|d| **d < ms(30)).count();
        let high = delays.iter().filter(|d| **d > ms(50)).count();
        // An even spread puts about a quarter in each outer band.
        assert!(
            (400..600).contains(&low) && (400..600).contains(&high),
            "{low} {high}"
        );
        assert_eq!(l.of_request(5), l.of_request(5), "deterministic");
    }

    #[test]
    fn operations_and_regions_are_read_from_requests() {
        let mut headers = hyper::HeaderMap::new();
        headers.insert("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261127/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=abc".parse().unwrap());
        assert_eq!(region_of(&headers).as_deref(), Some("eu-west-1"));
        assert_eq!(service_of(&headers).as_deref(), Some("ec2"));
        let get = hyper::Method::GET;
        let root: hyper::Uri = "/".parse().unwrap();
        let op = |headers: &hyper::HeaderMap, uri: &hyper::Uri, body: &[u8]| {
            operation_of(&get, uri, headers, body)
        };
        assert_eq!(
            op(
                &headers,
                &root,
                b"Action=DescribeVolumes&Version=2016-11-15"
            )
            .as_deref(),
            Some("DescribeVolumes")
        );
        let mut s3 = hyper::HeaderMap::new();
        s3.insert("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc".parse().unwrap());
        for (uri, want) in [
            ("/logs-bucket?encryption", Some("GetBucketEncryption")),
            ("/b?publicAccessBlock=", Some("GetPublicAccessBlock")),
            ("/b?policyStatus", Some("GetBucketPolicyStatus")),
            ("/", Some("ListBuckets")),
            ("/b/key", Some("GetObject")),
            ("/b?list-type=2&prefix=x", Some("ListObjectsV2")),
        ] {
            assert_eq!(
                op(&s3, &uri.parse().unwrap(), b"").as_deref(),
                want,
                "{uri}"
            );
        }
        let put: hyper::Uri = "/b?publicAccessBlock".parse().unwrap();
        assert_eq!(
            operation_of(&hyper::Method::PUT, &put, &s3, b"").as_deref(),
            Some("PutPublicAccessBlock"),
            "the method names a sub-resource's write"
        );
        headers.insert(
            "x-amz-target",
            "Logs_20140328.DescribeLogGroups".parse().unwrap(),
        );
        assert_eq!(
            op(&headers, &root, b"{}").as_deref(),
            Some("DescribeLogGroups")
        );
        assert_eq!(op(&hyper::HeaderMap::new(), &root, b"").as_deref(), None);
    }

    #[test]
    fn rates_spread_failures_and_never_fail_twice_in_a_row_below_half() {
        let f = Fault::everywhere(FaultAction::Drop).rate(3, 10);
        let fired: Vec<u64> = (0..20).filter(|n| f.fires(*n)).collect();
        assert_eq!(fired, [3, 6, 9, 13, 16, 19]);
        assert!(Fault::everywhere(FaultAction::Drop).times(2).fires(1));
        assert!(!Fault::everywhere(FaultAction::Drop).times(2).fires(2));
    }
}
