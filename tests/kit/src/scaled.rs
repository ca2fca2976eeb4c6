//! The replay endpoint of the scale benchmarks: a recorded scan of a small estate served as an
//! estate `copies` times larger.
//!
//! One emulator process cannot serve 50,000 resources, so the benchmarks record the emulator's
//! answers to a scan of a small seeded estate ([`crate::fault_proxy::Replay::Record`]) and a
//! [`Scaled`] proxy ([`crate::fault_proxy::Replay::Scaled`]) then answers as if every resource
//! had `copies` copies:
//!
//! - **Fresh identity, consistent references.** Every identifier the recording names (EC2 ids
//!   such as `i-…`, `vol-…`, `sg-…`; IAM role ids; bucket, role, function, log group and
//!   database names read from the listings) gets the suffix `-c<k>` in copy `k` (copy 0 is the
//!   recording itself), in every answer and in every ARN, so an instance of copy 7 names the
//!   volume, interface and groups of copy 7. Identifiers the estate does not own (the public
//!   AMIs its instances run) keep their name.
//! - **Lists page as the APIs page.** A listing's items (of every recorded page) are served
//!   `copies` times over, in pages of the size the request asks for (or the API's default),
//!   with continuation tokens of our own; the tagging API's pages also end at 500 tags.
//! - **Reads of one resource** (a bucket's encryption, say) are answered from the recording
//!   of the original resource with the copy's names.
//! - **Batched metric reads** (`GetMetricData`) are answered per query as the emulator answers
//!   a resource without data points: complete and empty.
//! - **Accounts.** [`Scaled::for_accounts`] also serves the recorded account as many accounts
//!   reached through `AssumeRole`: the role's credentials name the account they were issued
//!   for (credentials are not part of a recording's key), and each account is answered as its
//!   own copies of the estate with its own id in every ARN, and its own throttling buckets.
//! - **Throttling** at the rates AWS publishes per account and region ([`RATES`]), with each
//!   protocol's own throttling error; what AWS does not publish is not throttled.
//!
//! It is a benchmark instrument, not a test double: correctness tests run against the
//! emulator. A read it cannot answer is a 500 with a body saying so, and counted
//! ([`Scaled::misses`]), so a benchmark can print that its figures are incomplete.

use crate::fault_proxy::{Answer, RequestKey, text_response, throttled, xml};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use regex::Regex;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// The API throttling AWS publishes, per account and region: `(service, operation prefix,
/// bucket size, refill per second, where it is published)`.
pub const RATES: [(&str, &str, f64, f64, &str); 3] = [
    (
        "ec2",
        "Describe",
        100.0,
        20.0,
        "EC2 API request throttling: non-mutating actions, bucket 100, refill 20 a second",
    ),
    (
        "monitoring",
        "GetMetricData",
        50.0,
        50.0,
        "CloudWatch service quotas: GetMetricData 50 transactions a second",
    ),
    (
        "sts",
        "",
        600.0,
        600.0,
        "STS: 600 requests a second per account and region",
    ),
];

/// The EC2 lists a scan pages, by the element that holds their items.
const EC2_LISTS: [(&str, &str); 14] = [
    ("DescribeInstances", "reservationSet"),
    ("DescribeVolumes", "volumeSet"),
    ("DescribeSnapshots", "snapshotSet"),
    ("DescribeImages", "imagesSet"),
    ("DescribeAddresses", "addressesSet"),
    ("DescribeSecurityGroups", "securityGroupInfo"),
    ("DescribeNetworkInterfaces", "networkInterfaceSet"),
    ("DescribeVpcs", "vpcSet"),
    ("DescribeFlowLogs", "flowLogSet"),
    ("DescribeNatGateways", "natGatewaySet"),
    ("DescribeSubnets", "subnetSet"),
    ("DescribeRouteTables", "routeTableSet"),
    ("DescribeNetworkAcls", "networkAclSet"),
    ("DescribeInternetGateways", "internetGatewaySet"),
];

/// How a listing's items and its continuation are written.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// XML: the items are the children of `container`; the token follows it as `<token>`.
    Xml {
        container: &'static str,
        token: &'static str,
    },
    /// IAM's XML: `<IsTruncated>` and `<Marker>`.
    IamXml { container: &'static str },
    /// XML without paging (S3 `ListBuckets`).
    XmlAll { container: &'static str },
    /// JSON: the items are the array `array`; the token is the field `token`.
    Json {
        array: &'static str,
        token: &'static str,
    },
}

/// A paged list: how it is written, the request's page-size and token parameters, and the
/// API's default page.
#[derive(Debug, Clone, Copy)]
struct ListKind {
    shape: Shape,
    page_param: &'static str,
    token_param: &'static str,
    default_page: usize,
    /// The tagging API ends a page at 500 tags too.
    max_tags: Option<usize>,
}

fn list_kind(service: &str, operation: &str) -> Option<ListKind> {
    let xml = |container, token| Shape::Xml { container, token };
    let kind = |shape, page_param, token_param, default_page| ListKind {
        shape,
        page_param,
        token_param,
        default_page,
        max_tags: None,
    };
    match (service, operation) {
        ("ec2", op) => EC2_LISTS
            .iter()
            .find(|(o, _)| *o == op)
            .map(|(_, c)| kind(xml(c, "nextToken"), "MaxResults", "NextToken", 1000)),
        ("iam", "GetAccountAuthorizationDetails") => Some(kind(
            Shape::IamXml {
                container: "RoleDetailList",
            },
            "MaxItems",
            "Marker",
            100,
        )),
        ("rds", "DescribeDBInstances") => Some(kind(
            xml("DBInstances", "Marker"),
            "MaxRecords",
            "Marker",
            100,
        )),
        ("s3", "ListBuckets") => Some(kind(
            Shape::XmlAll {
                container: "Buckets",
            },
            "",
            "",
            usize::MAX,
        )),
        ("tagging", "GetResources") => Some(ListKind {
            max_tags: Some(500),
            ..kind(
                Shape::Json {
                    array: "ResourceTagMappingList",
                    token: "PaginationToken",
                },
                "ResourcesPerPage",
                "PaginationToken",
                100,
            )
        }),
        ("logs", "DescribeLogGroups") => Some(kind(
            Shape::Json {
                array: "logGroups",
                token: "nextToken",
            },
            "limit",
            "nextToken",
            50,
        )),
        ("lambda", "ListFunctions") => Some(kind(
            Shape::Json {
                array: "Functions",
                token: "NextMarker",
            },
            "MaxItems",
            "Marker",
            50,
        )),
        _ => None,
    }
}

/// Request parameters that only continue a listing: dropped from every key, so each page of
/// a listing has the key of its first.
const TOKEN_PARAMS: [&str; 5] = [
    "NextToken",
    "nextToken",
    "Marker",
    "PaginationToken",
    "continuation-token",
];

/// A text with the places where copy `k`'s suffix goes.
#[derive(Debug, Clone, Default)]
struct Template {
    text: String,
    /// Byte offsets just past each identifier.
    marks: Vec<usize>,
}

impl Template {
    fn of(text: String, ids: Option<&Regex>) -> Self {
        let marks = ids.map_or_else(Vec::new, |re| {
            re.captures_iter(&text)
                .filter_map(|c| c.get(2).map(|m| m.end()))
                .collect()
        });
        Self { text, marks }
    }

    fn render(&self, copy: u32, out: &mut String) {
        let mut from = 0;
        if copy > 0 {
            for &mark in &self.marks {
                out.push_str(&self.text[from..mark]);
                // Writing to a String cannot fail.
                let _ = write!(out, "-c{copy}");
                from = mark;
            }
        }
        out.push_str(&self.text[from..]);
    }
}

/// A recorded listing: what surrounds its items, and the items of all its pages.
#[derive(Debug)]
struct Listing {
    kind: ListKind,
    head: String,
    items: Vec<Template>,
    /// Each item's tag count, for the tagging API's 500-tag pages.
    tags: Vec<usize>,
    tail: String,
    answer: Answer,
}

/// One throttling bucket.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A recorded scan served `copies` times larger (see the module's documentation).
#[derive(Debug, Clone)]
pub struct Scaled(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    copies: u32,
    /// The recorded account's id, and each served account's number (the recorded one is 0).
    template: Option<String>,
    accounts: HashMap<String, u32>,
    lists: HashMap<RequestKey, Listing>,
    reads: HashMap<RequestKey, (Answer, Template)>,
    /// An identifier with a copy's suffix: group 1 what precedes it, 2 the original, 3 `k`.
    suffixed: Option<Regex>,
    buckets: Mutex<HashMap<(String, String, String), Bucket>>,
    served: AtomicU64,
    misses: AtomicU64,
    throttles: AtomicU64,
}

impl Scaled {
    /// Serves `recording` as an estate with `copies` copies of each of its resources.
    pub fn new(recording: &crate::fault_proxy::Recording, copies: u32) -> Self {
        Self::with(recording, copies, None, HashMap::new())
    }

    fn with(
        recording: &crate::fault_proxy::Recording,
        copies: u32,
        template: Option<String>,
        accounts: HashMap<String, u32>,
    ) -> Self {
        let recorded: Vec<(RequestKey, Answer)> = recording
            .answers()
            .iter()
            .map(|(k, a)| (k.clone(), a.clone()))
            .collect();
        let ids = identifiers(&recorded);
        let alternation = ids
            .iter()
            .map(|id| regex::escape(id))
            .collect::<Vec<_>>()
            .join("|");
        let pattern = |tail: &str| {
            (!ids.is_empty())
                .then(|| Regex::new(&format!(r"(^|[^A-Za-z0-9_]|%2F|%3A)({alternation}){tail}")))
                .and_then(Result::ok)
        };
        let plain = pattern(r"\b");
        let suffixed = pattern(r"-c([0-9]+)\b");
        let mut lists: HashMap<RequestKey, Listing> = HashMap::new();
        let mut reads = HashMap::new();
        for (key, answer) in recorded {
            let operation = key.operation.clone().unwrap_or_default();
            let service = key.service.clone().unwrap_or_default();
            let normal = normalize(&key);
            let kind = list_kind(&service, &operation)
                .filter(|_| !names_its_targets(&service, &operation, &key.body));
            match kind.and_then(|kind| listing(kind, &answer, plain.as_ref())) {
                Some(found) => match lists.get_mut(&normal) {
                    // Another page of the same listing.
                    Some(listing) => {
                        listing.items.extend(found.items);
                        listing.tags.extend(found.tags);
                    }
                    None => {
                        lists.insert(normal, found);
                    }
                },
                None => {
                    let text = String::from_utf8_lossy(&answer.body).into_owned();
                    let template = Template::of(text, plain.as_ref());
                    reads.insert(normal, (answer, template));
                }
            }
        }
        Self(Arc::new(Inner {
            copies: copies.max(1),
            template,
            accounts,
            lists,
            reads,
            suffixed,
            buckets: Mutex::new(HashMap::new()),
            served: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            throttles: AtomicU64::new(0),
        }))
    }

    /// [`Scaled::new`] serving `accounts` too, each as `copies` copies of the estate recorded
    /// in account `recorded`, reached through `AssumeRole`.
    pub fn for_accounts(
        recording: &crate::fault_proxy::Recording,
        copies: u32,
        recorded: &str,
        accounts: &[String],
    ) -> Self {
        let numbers = std::iter::once(recorded.to_owned())
            .chain(accounts.iter().filter(|a| *a != recorded).cloned())
            .zip(0..)
            .collect();
        Self::with(recording, copies, Some(recorded.to_owned()), numbers)
    }

    /// Resources in the served estate per resource of the recording.
    pub fn copies(&self) -> u32 {
        self.0.copies
    }

    /// Requests answered.
    pub fn served(&self) -> u64 {
        self.0.served.load(Ordering::Relaxed)
    }

    /// Requests it could not answer from the recording.
    pub fn misses(&self) -> u64 {
        self.0.misses.load(Ordering::Relaxed)
    }

    /// Requests answered with a throttling error.
    pub fn throttles(&self) -> u64 {
        self.0.throttles.load(Ordering::Relaxed)
    }

    /// Answers one request, signed with the access key `signer`; `None` for a write (not
    /// `read`), which the proxy forwards.
    pub(crate) fn serve(
        &self,
        key: &RequestKey,
        signer: Option<&str>,
        read: bool,
    ) -> Option<Response<Full<Bytes>>> {
        let assume = key.service.as_deref() == Some("sts")
            && key.operation.as_deref() == Some("AssumeRole")
            && self.0.template.is_some();
        (read || assume).then(|| self.answer(key, signer))
    }

    fn answer(&self, key: &RequestKey, signer: Option<&str>) -> Response<Full<Bytes>> {
        let inner = &self.0;
        let service = key.service.as_deref().unwrap_or_default();
        let operation = key.operation.as_deref().unwrap_or_default();
        let region = key.region.as_deref().unwrap_or_default();
        let account = signer
            .and_then(|k| k.strip_prefix(ISSUED))
            .and_then(|id| inner.accounts.get_key_value(id));
        let (account_id, number) = account.map_or(("", 0), |(id, n)| (id.as_str(), *n));
        if !inner.admit(account_id, service, operation, region) {
            inner.throttles.fetch_add(1, Ordering::Relaxed);
            return throttled(service);
        }
        inner.served.fetch_add(1, Ordering::Relaxed);
        if (service, operation) == ("monitoring", "GetMetricData") {
            return metric_data(&key.body);
        }
        if (service, operation) == ("sts", "AssumeRole") {
            return assumed(&key.body);
        }
        let (mut original, copy) = inner.original(key);
        // What the account asks of itself, as the recorded account asked it.
        if let (Some(template), 1..) = (&inner.template, number) {
            original.path_and_query = original.path_and_query.replace(account_id, template);
            let body = String::from_utf8_lossy(&original.body).replace(account_id, template);
            original.body = Bytes::from(body);
        }
        let normal = normalize(&original);
        // The account's id where the recorded account's stood.
        let own = |body: String| match (&inner.template, number) {
            (Some(template), 1..) => body.replace(template.as_str(), account_id),
            _ => body,
        };
        if let Some(listing) = inner.lists.get(&normal) {
            return inner.page(listing, key, number, own);
        }
        match inner.reads.get(&normal) {
            Some((answer, template)) => {
                let mut body = String::with_capacity(template.text.len() + 16);
                template.render(copy, &mut body);
                respond(answer, own(body))
            }
            None => {
                inner.misses.fetch_add(1, Ordering::Relaxed);
                text_response(
                    500,
                    format!("the scaled replay has no recording of {service} {operation}"),
                )
            }
        }
    }
}

impl Inner {
    /// Takes a token from the request's bucket, if its API is throttled.
    fn admit(&self, account: &str, service: &str, operation: &str, region: &str) -> bool {
        let Some((_, _, size, refill, _)) = RATES
            .iter()
            .find(|(s, prefix, ..)| *s == service && operation.starts_with(prefix))
        else {
            return true;
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let bucket = buckets
            .entry((account.to_owned(), service.to_owned(), region.to_owned()))
            .or_insert(Bucket {
                tokens: *size,
                at: now,
            });
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * refill).min(*size);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// The recorded request a request of copy `k` stands for, and `k`.
    fn original(&self, key: &RequestKey) -> (RequestKey, u32) {
        let Some(re) = &self.suffixed else {
            return (key.clone(), 0);
        };
        let mut copy = 0;
        let mut strip = |text: &str| {
            re.replace_all(text, |c: &regex::Captures<'_>| {
                if let Some(k) = c.get(3).and_then(|k| k.as_str().parse().ok()) {
                    copy = k;
                }
                format!("{}{}", &c[1], &c[2])
            })
            .into_owned()
        };
        let path_and_query = strip(&key.path_and_query);
        let body = Bytes::from(strip(&String::from_utf8_lossy(&key.body)));
        (
            RequestKey {
                path_and_query,
                body,
                ..key.clone()
            },
            copy,
        )
    }

    /// One page of a scaled listing, of the `account`th account's copies.
    fn page(
        &self,
        listing: &Listing,
        key: &RequestKey,
        account: u32,
        own: impl Fn(String) -> String,
    ) -> Response<Full<Bytes>> {
        let kind = listing.kind;
        let total = listing.items.len() * self.copies as usize;
        let offset = param(key, kind.token_param)
            .and_then(|t| t.strip_prefix("iqa-").and_then(|n| n.parse().ok()))
            .unwrap_or(0usize);
        let size = param(key, kind.page_param)
            .and_then(|n| n.parse().ok())
            .unwrap_or(kind.default_page)
            .max(1);
        let per_copy = listing.items.len().max(1);
        let (mut end, mut tags) = (offset, 0);
        while end < total && end - offset < size {
            let weight = listing.tags.get(end % per_copy).copied().unwrap_or(0);
            if kind
                .max_tags
                .is_some_and(|max| end > offset && tags + weight > max)
            {
                break;
            }
            tags += weight;
            end += 1;
        }
        let next = (end < total).then(|| format!("iqa-{end}"));
        let continued = |part: &str| match (kind.shape, &next) {
            (Shape::Xml { container, token }, Some(next)) => {
                let close = format!("</{container}>");
                part.replacen(&close, &format!("{close}<{token}>{next}</{token}>"), 1)
            }
            (Shape::IamXml { .. }, Some(next)) => part.replacen(
                "<IsTruncated>false</IsTruncated>",
                &format!("<IsTruncated>true</IsTruncated><Marker>{next}</Marker>"),
                1,
            ),
            (Shape::Json { token, .. }, Some(next)) => part.replacen(
                &format!("\"{token}\":null"),
                &format!("\"{token}\":\"{next}\""),
                1,
            ),
            _ => part.to_owned(),
        };
        let mut body = continued(&listing.head);
        for n in offset..end {
            if n > offset && matches!(kind.shape, Shape::Json { .. }) {
                body.push(',');
            }
            let copy = u32::try_from(n / per_copy).unwrap_or(u32::MAX);
            let copy = account.saturating_mul(self.copies).saturating_add(copy);
            listing.items[n % per_copy].render(copy, &mut body);
        }
        body.push_str(&continued(&listing.tail));
        respond(&listing.answer, own(body))
    }
}

/// How the access keys [`assumed`] issues begin; the account id follows.
const ISSUED: &str = "ASIAIQA";

/// `AssumeRole`'s answer: credentials whose access key names the role's account.
fn assumed(body: &[u8]) -> Response<Full<Bytes>> {
    let asked = String::from_utf8_lossy(body);
    let arn = asked
        .split('&')
        .find_map(|p| p.strip_prefix("RoleArn="))
        .unwrap_or_default()
        .replace("%3A", ":")
        .replace("%2F", "/");
    let account = arn.split(':').nth(4).unwrap_or_default();
    let role = arn.rsplit('/').next().unwrap_or_default();
    let expires = (chrono::Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    xml(
        200,
        format!(
            r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>{ISSUED}{account}</AccessKeyId><SecretAccessKey>scaled</SecretAccessKey><SessionToken>scaled</SessionToken><Expiration>{expires}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROASCALED:infraqa</AssumedRoleId><Arn>arn:aws:sts::{account}:assumed-role/{role}/infraqa</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>scaled</RequestId></ResponseMetadata></AssumeRoleResponse>"#
        ),
    )
}

/// Whether a listing request names the resources it wants (a lookup of the AMIs instances
/// run, say): it is answered as recorded, never multiplied.
fn names_its_targets(service: &str, operation: &str, body: &[u8]) -> bool {
    let body = String::from_utf8_lossy(body);
    service == "ec2"
        && operation == "DescribeImages"
        && (body.contains("ImageId.") || body.contains("=image-id"))
}

/// Every identifier the recorded estate owns (see the module's documentation).
fn identifiers(recorded: &[(RequestKey, Answer)]) -> BTreeSet<String> {
    // Static patterns: compiling them cannot fail (checked by the unit tests).
    let patterns = [
        r"\b(?:i|vol|snap|ami|sg|eni|eni-attach|vpc|subnet|nat|eipalloc|eipassoc|fl|rtb|rtbassoc|igw|acl|aclassoc|r|dopt)-[0-9a-f]{8,17}\b",
        r"\bARO[A-Z0-9]{13,}\b",
        r"<(?:Name|RoleName|InstanceProfileName|DBInstanceIdentifier)>([^<]+)</",
        r#""(?:FunctionName|logGroupName)":\s*"([^"]+)""#,
    ];
    let res: Vec<Regex> = patterns.iter().filter_map(|p| Regex::new(p).ok()).collect();
    let mut ids = BTreeSet::new();
    let mut foreign = BTreeSet::new();
    for (key, answer) in recorded {
        let op = key.operation.as_deref().unwrap_or_default();
        let service = key.service.as_deref().unwrap_or_default();
        let body = String::from_utf8_lossy(&answer.body);
        if names_its_targets(service, op, &key.body) {
            // What the estate's instances run but another account owns.
            if let Some(re) = res.first() {
                let asked = String::from_utf8_lossy(&key.body);
                foreign.extend(re.find_iter(&asked).map(|m| m.as_str().to_owned()));
            }
            continue;
        }
        let named = list_kind(service, op).is_some();
        for (n, re) in res.iter().enumerate() {
            if n >= 2 && !named {
                continue;
            }
            for c in re.captures_iter(&body) {
                if let Some(m) = c.get(1).or_else(|| c.get(0)) {
                    let id = m.as_str();
                    // Only names that end as identifiers do: the suffix must be found again.
                    if id.ends_with(|c: char| c.is_ascii_alphanumeric()) {
                        ids.insert(id.to_owned());
                    }
                }
            }
        }
    }
    ids.retain(|id| !foreign.contains(id));
    ids
}

/// A listing's parts, or `None` when the answer does not hold the listing (an error).
fn listing(kind: ListKind, answer: &Answer, ids: Option<&Regex>) -> Option<Listing> {
    if !answer.status.is_success() {
        return None;
    }
    let body = std::str::from_utf8(&answer.body).ok()?;
    let (head, items, tail, tags) = match kind.shape {
        Shape::Xml { container, .. }
        | Shape::IamXml { container }
        | Shape::XmlAll { container } => {
            let (start, end, ranges) = children(body, container)?;
            let items: Vec<String> = ranges
                .into_iter()
                .flat_map(|r| match container {
                    // EC2 pages instances, not reservations: one reservation per instance.
                    "reservationSet" => per_instance(&body[r]),
                    _ => vec![body[r].to_owned()],
                })
                .collect();
            let tail = strip_token(&body[end..], kind.shape);
            let n = items.len();
            (body[..start].to_owned(), items, tail, vec![0; n])
        }
        Shape::Json { array, token } => {
            let mut value: serde_json::Value = serde_json::from_str(body).ok()?;
            let object = value.as_object_mut()?;
            let items = match object.remove(array)? {
                serde_json::Value::Array(items) => items,
                _ => return None,
            };
            object.insert(token.to_owned(), serde_json::Value::Null);
            object.insert(
                array.to_owned(),
                serde_json::Value::String(PLACEHOLDER.to_owned()),
            );
            let whole = serde_json::to_string(&value).ok()?;
            let quoted = format!("\"{PLACEHOLDER}\"");
            let (head, tail) = whole.split_once(&quoted)?;
            let tags = items
                .iter()
                .map(|i| i.get("Tags").and_then(|t| t.as_array()).map_or(0, Vec::len))
                .collect();
            let items = items
                .iter()
                .filter_map(|i| serde_json::to_string(i).ok())
                .collect();
            (format!("{head}["), items, format!("]{tail}"), tags)
        }
    };
    Some(Listing {
        kind,
        head,
        items: items.into_iter().map(|i| Template::of(i, ids)).collect(),
        tags,
        tail,
        answer: answer.clone(),
    })
}

/// A reservation of several instances as one reservation per instance.
fn per_instance(reservation: &str) -> Vec<String> {
    match children(reservation, "instancesSet") {
        Some((start, end, instances)) if instances.len() > 1 => instances
            .into_iter()
            .map(|i| {
                format!(
                    "{}{}{}",
                    &reservation[..start],
                    &reservation[i],
                    &reservation[end..]
                )
            })
            .collect(),
        _ => vec![reservation.to_owned()],
    }
}

const PLACEHOLDER: &str = "__infraqa_scaled_items__";

/// A listing's tail without the emulator's own continuation (a recorded listing's pages are
/// joined; continuations are ours).
fn strip_token(tail: &str, shape: Shape) -> String {
    let token = match shape {
        Shape::Xml { token, .. } => token,
        Shape::IamXml { .. } => "Marker",
        _ => return tail.to_owned(),
    };
    let mut out = tail.replace(&format!("<{token}/>"), "");
    if let Some(start) = out.find(&format!("<{token}>")) {
        let close = format!("</{token}>");
        if let Some(end) = out[start..].find(&close) {
            out.replace_range(start..start + end + close.len(), "");
        }
    }
    out.replace(
        "<IsTruncated>true</IsTruncated>",
        "<IsTruncated>false</IsTruncated>",
    )
}

/// The byte ranges of the element children of the first `<name>` element: where its
/// content starts, where its closing tag starts, and each child.
fn children(xml: &str, name: &str) -> Option<(usize, usize, Vec<Range<usize>>)> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let (mut depth, mut from, mut at) = (0usize, start, start);
    let mut items = Vec::new();
    while let Some(lt) = xml[at..].find('<') {
        let lt = at + lt;
        let gt = lt + xml[lt..].find('>')?;
        let tag = &xml[lt + 1..gt];
        if tag.starts_with('/') {
            if depth == 0 {
                return Some((start, lt, items));
            }
            depth -= 1;
            if depth == 0 {
                items.push(from..gt + 1);
            }
        } else if tag.starts_with('?') || tag.starts_with('!') {
        } else if tag.ends_with('/') {
            if depth == 0 {
                items.push(lt..gt + 1);
            }
        } else {
            if depth == 0 {
                from = lt;
            }
            depth += 1;
        }
        at = gt + 1;
    }
    None
}

/// A request's key with the parameters that continue a listing dropped.
fn normalize(key: &RequestKey) -> RequestKey {
    let keep = |pair: &&str| {
        let name = pair.split('=').next().unwrap_or_default();
        !TOKEN_PARAMS.contains(&name)
    };
    let path_and_query = match key.path_and_query.split_once('?') {
        Some((path, query)) => {
            let query: Vec<&str> = query.split('&').filter(keep).collect();
            format!("{path}?{}", query.join("&"))
        }
        None => key.path_and_query.clone(),
    };
    let text = String::from_utf8_lossy(&key.body);
    let body = if let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(&text) {
        for name in TOKEN_PARAMS {
            object.remove(name);
        }
        serde_json::to_vec(&object).unwrap_or_default()
    } else if text.contains('=') {
        text.split('&')
            .filter(keep)
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    } else {
        key.body.to_vec()
    };
    RequestKey {
        path_and_query,
        body: Bytes::from(body),
        ..key.clone()
    }
}

/// A request parameter from its form body, its query string or its JSON body.
fn param(key: &RequestKey, name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&key.body);
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_str(&text) {
        return object.get(name).map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    let query = key.path_and_query.split_once('?').map_or("", |(_, q)| q);
    text.split('&').chain(query.split('&')).find_map(|pair| {
        pair.strip_prefix(name)?
            .strip_prefix('=')
            .map(str::to_owned)
    })
}

/// `GetMetricData` answered per query, complete and without data points.
fn metric_data(body: &[u8]) -> Response<Full<Bytes>> {
    let asked = String::from_utf8_lossy(body);
    let mut out = String::from(
        r#"<GetMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricDataResult><MetricDataResults>"#,
    );
    for pair in asked.split('&') {
        let Some((name, id)) = pair.split_once('=') else {
            continue;
        };
        if name.starts_with("MetricDataQueries.member.") && name.ends_with(".Id") {
            let _ = write!(
                out,
                "<member><Id>{id}</Id><Label>{id}</Label><Timestamps/><Values/><StatusCode>Complete</StatusCode></member>"
            );
        }
    }
    out.push_str("</MetricDataResults><Messages/></GetMetricDataResult><ResponseMetadata><RequestId>scaled</RequestId></ResponseMetadata></GetMetricDataResponse>");
    xml(200, out)
}

/// A recorded answer's status and headers with a new body.
fn respond(answer: &Answer, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = answer.status;
    let headers = resp.headers_mut();
    for (name, value) in &answer.headers {
        if name != hyper::header::CONTENT_LENGTH && !name.as_str().starts_with("x-amz-checksum") {
            headers.append(name, value.clone());
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault_proxy::Recording;
    use http_body_util::BodyExt;

    fn key(service: &str, operation: &str, path: &str, body: &str) -> RequestKey {
        RequestKey {
            service: Some(service.to_owned()),
            operation: Some(operation.to_owned()),
            region: Some("eu-west-1".to_owned()),
            method: hyper::Method::POST,
            path_and_query: path.to_owned(),
            target: None,
            body: Bytes::from(body.to_owned()),
        }
    }

    fn answer(body: &str) -> Answer {
        Answer {
            status: hyper::StatusCode::OK,
            headers: hyper::HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
        }
    }

    async fn body(resp: Response<Full<Bytes>>) -> (u16, String) {
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    const VOLUMES: &str = "Action=DescribeVolumes&Version=2016-11-15&MaxResults=5";

    /// Three volumes, two attached to one instance that runs a public AMI.
    fn recording() -> Recording {
        let recording = Recording::new();
        let volume = |id: &str| {
            format!(
                "<item><volumeId>vol-{id}</volumeId><attachmentSet><item><instanceId>i-0123456789abcdef0</instanceId></item></attachmentSet><tagSet/></item>"
            )
        };
        let volumes = format!(
            "<DescribeVolumesResponse><requestId>x</requestId><volumeSet>{}{}{}</volumeSet></DescribeVolumesResponse>",
            volume("0aaaaaaaaaaaaaaa1"),
            volume("0aaaaaaaaaaaaaaa2"),
            volume("0aaaaaaaaaaaaaaa3")
        );
        let instances = "<DescribeInstancesResponse><reservationSet><item><reservationId>r-0bbbbbbbbbbbbbbb1</reservationId><instancesSet><item><instanceId>i-0123456789abcdef0</instanceId><imageId>ami-0ccccccccccccccc1</imageId></item><item><instanceId>i-0123456789abcdef1</instanceId><imageId>ami-0ccccccccccccccc1</imageId></item></instancesSet></item></reservationSet></DescribeInstancesResponse>";
        let mut answers = recording.answers();
        answers.insert(
            key("ec2", "DescribeVolumes", "/", VOLUMES),
            answer(&volumes),
        );
        answers.insert(
            key(
                "ec2",
                "DescribeInstances",
                "/",
                "Action=DescribeInstances&MaxResults=1000",
            ),
            answer(instances),
        );
        answers.insert(
            key(
                "ec2",
                "DescribeImages",
                "/",
                "Action=DescribeImages&Filter.1.Name=image-id&Filter.1.Value.1=ami-0ccccccccccccccc1",
            ),
            answer("<DescribeImagesResponse><imagesSet><item><imageId>ami-0ccccccccccccccc1</imageId><imageOwnerId>111</imageOwnerId></item></imagesSet></DescribeImagesResponse>"),
        );
        answers.insert(
            key("s3", "ListBuckets", "/", ""),
            answer("<ListAllMyBucketsResult><Buckets><Bucket><Name>logs-one</Name></Bucket></Buckets></ListAllMyBucketsResult>"),
        );
        answers.insert(
            key("s3", "GetBucketEncryption", "/logs-one?encryption", ""),
            answer("<ServerSideEncryptionConfiguration><Rule><Bucket>logs-one</Bucket></Rule></ServerSideEncryptionConfiguration>"),
        );
        let tagged: Vec<String> = (0..4)
            .map(|n| {
                let tags = (0..200)
                    .map(|t| format!(r#"{{"Key":"k{t}","Value":"v"}}"#))
                    .collect::<Vec<_>>()
                    .join(",");
                format!(r#"{{"ResourceARN":"arn:aws:ec2:eu-west-1:1:volume/vol-0aaaaaaaaaaaaaaa{n}","Tags":[{tags}]}}"#)
            })
            .collect();
        answers.insert(
            key(
                "tagging",
                "GetResources",
                "/",
                r#"{"ResourcesPerPage":100}"#,
            ),
            answer(&format!(
                r#"{{"PaginationToken":"","ResourceTagMappingList":[{}]}}"#,
                tagged.join(",")
            )),
        );
        drop(answers);
        recording
    }

    #[test]
    fn children_are_split_at_their_own_depth() {
        let xml = "<r><set><item><a><item/></a></item><item/><item>x</item></set><set2/></r>";
        let (start, end, items) = children(xml, "set").unwrap();
        assert_eq!(
            &xml[start..end],
            "<item><a><item/></a></item><item/><item>x</item>"
        );
        let items: Vec<&str> = items.into_iter().map(|r| &xml[r]).collect();
        assert_eq!(
            items,
            ["<item><a><item/></a></item>", "<item/>", "<item>x</item>"]
        );
        assert!(children(xml, "missing").is_none());
    }

    #[tokio::test]
    async fn a_listing_is_served_copies_times_over_in_the_pages_asked_for() {
        let scaled = Scaled::new(&recording(), 4);
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let asked = match &token {
                Some(t) => {
                    format!("Action=DescribeVolumes&Version=2016-11-15&NextToken={t}&MaxResults=5")
                }
                None => VOLUMES.to_owned(),
            };
            let (status, text) =
                body(scaled.answer(&key("ec2", "DescribeVolumes", "/", &asked), None)).await;
            assert_eq!(status, 200, "{text}");
            token = text
                .split_once("<nextToken>")
                .and_then(|(_, rest)| rest.split_once("</nextToken>"))
                .map(|(t, _)| t.to_owned());
            pages.push(text);
            if token.is_none() {
                break;
            }
        }
        let ids: Vec<String> = pages
            .iter()
            .flat_map(|p| {
                p.split("<volumeId>")
                    .skip(1)
                    .map(|v| v.split('<').next().unwrap().to_owned())
            })
            .collect();
        assert_eq!(pages.len(), 3, "12 volumes in pages of 5");
        assert_eq!(ids.len(), 12);
        assert_eq!(
            ids.iter().collect::<BTreeSet<_>>().len(),
            12,
            "every copy has fresh ids: {ids:?}"
        );
        assert_eq!(ids[0], "vol-0aaaaaaaaaaaaaaa1");
        assert_eq!(ids[3], "vol-0aaaaaaaaaaaaaaa1-c1");
        // Copy 1's volumes are attached to copy 1's instance.
        assert!(pages[0].contains("<volumeId>vol-0aaaaaaaaaaaaaaa1-c1</volumeId><attachmentSet><item><instanceId>i-0123456789abcdef0-c1<"));
        assert_eq!(scaled.misses(), 0);
    }

    #[tokio::test]
    async fn instances_page_one_by_one_and_keep_the_amis_others_own() {
        let scaled = Scaled::new(&recording(), 2);
        let (_, text) = body(scaled.answer(
            &key(
                "ec2",
                "DescribeInstances",
                "/",
                "Action=DescribeInstances&MaxResults=1000",
            ),
            None,
        ))
        .await;
        assert_eq!(text.matches("<instanceId>").count(), 4, "{text}");
        assert_eq!(
            text.matches("<reservationId>").count(),
            4,
            "one reservation per instance"
        );
        assert!(text.contains("<instanceId>i-0123456789abcdef1-c1</instanceId><imageId>ami-0ccccccccccccccc1</imageId>"), "{text}");
        // The lookup of that AMI is answered as recorded, whatever copy asks.
        let (status, text) = body(scaled.answer(&key(
            "ec2",
            "DescribeImages",
            "/",
            "Action=DescribeImages&Filter.1.Name=image-id&Filter.1.Value.1=ami-0ccccccccccccccc1",
        ), None))
        .await;
        assert_eq!((status, text.matches("<imageId>").count()), (200, 1));
    }

    #[tokio::test]
    async fn a_read_of_one_resource_answers_for_its_copy_and_a_stranger_is_a_miss() {
        let scaled = Scaled::new(&recording(), 3);
        let mut get = key("s3", "GetBucketEncryption", "/logs-one-c2?encryption", "");
        let (status, text) = body(scaled.answer(&get, None)).await;
        assert_eq!(
            (status, text.contains("<Bucket>logs-one-c2</Bucket>")),
            (200, true),
            "{text}"
        );
        get.path_and_query = "/elsewhere?encryption".to_owned();
        let (status, _) = body(scaled.answer(&get, None)).await;
        assert_eq!((status, scaled.misses()), (500, 1));
    }

    #[tokio::test]
    async fn tagging_pages_end_at_500_tags_and_the_last_has_no_token() {
        let scaled = Scaled::new(&recording(), 2);
        let first = key(
            "tagging",
            "GetResources",
            "/",
            r#"{"ResourcesPerPage":100}"#,
        );
        let (_, text) = body(scaled.answer(&first, None)).await;
        let page: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            page["ResourceTagMappingList"].as_array().unwrap().len(),
            2,
            "200 tags each"
        );
        assert_eq!(page["PaginationToken"], "iqa-2");
        let last = key(
            "tagging",
            "GetResources",
            "/",
            r#"{"PaginationToken":"iqa-6","ResourcesPerPage":100}"#,
        );
        let (_, text) = body(scaled.answer(&last, None)).await;
        let page: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            page["ResourceTagMappingList"][1]["ResourceARN"],
            "arn:aws:ec2:eu-west-1:1:volume/vol-0aaaaaaaaaaaaaaa3-c1"
        );
        assert!(page["PaginationToken"].is_null());
    }

    #[tokio::test]
    async fn ec2_is_throttled_past_its_bucket_and_metric_queries_are_answered_each() {
        let scaled = Scaled::new(&recording(), 1);
        let read = key("ec2", "DescribeVolumes", "/", VOLUMES);
        let mut statuses = Vec::new();
        for _ in 0..101 {
            statuses.push(body(scaled.answer(&read, None)).await.0);
        }
        assert!(statuses[..100].iter().all(|s| *s == 200));
        assert_eq!((statuses[100], scaled.throttles()), (503, 1));
        let metrics = key(
            "monitoring",
            "GetMetricData",
            "/",
            "Action=GetMetricData&MetricDataQueries.member.1.Id=q0&MetricDataQueries.member.1.MetricStat.Period=60&MetricDataQueries.member.2.Id=q1",
        );
        let (_, text) = body(scaled.answer(&metrics, None)).await;
        assert_eq!(
            text.matches("<StatusCode>Complete</StatusCode>").count(),
            2,
            "{text}"
        );
        assert!(text.contains("<Id>q1</Id>"));
    }

    #[tokio::test]
    async fn each_account_is_answered_as_its_own_copies_with_its_own_id() {
        let recording = recording();
        recording.answers().insert(
            key("sts", "GetCallerIdentity", "/", "Action=GetCallerIdentity"),
            answer("<GetCallerIdentityResult><Account>111111111111</Account></GetCallerIdentityResult>"),
        );
        let accounts = ["222222222222".to_owned(), "333333333333".to_owned()];
        let scaled = Scaled::for_accounts(&recording, 2, "111111111111", &accounts);
        let assume = key(
            "sts",
            "AssumeRole",
            "/",
            "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A333333333333%3Arole%2Finfraqa-member&RoleSessionName=infraqa",
        );
        let (_, text) = body(scaled.answer(&assume, None)).await;
        assert!(
            text.contains("<AccessKeyId>ASIAIQA333333333333</AccessKeyId>"),
            "{text}"
        );
        let signer = Some("ASIAIQA333333333333");
        let who = key("sts", "GetCallerIdentity", "/", "Action=GetCallerIdentity");
        let (_, text) = body(scaled.answer(&who, signer)).await;
        assert!(text.contains("<Account>333333333333</Account>"), "{text}");
        // The third account (number 2) holds copies 4 and 5.
        let (_, text) =
            body(scaled.answer(&key("ec2", "DescribeVolumes", "/", VOLUMES), signer)).await;
        assert!(
            text.contains("<volumeId>vol-0aaaaaaaaaaaaaaa1-c4</volumeId>"),
            "{text}"
        );
        let (_, text) =
            body(scaled.answer(&key("ec2", "DescribeVolumes", "/", VOLUMES), None)).await;
        assert!(
            text.contains("<volumeId>vol-0aaaaaaaaaaaaaaa1</volumeId>"),
            "{text}"
        );
    }

    #[test]
    fn identifiers_come_from_ids_role_ids_and_the_names_listings_give() {
        let recorded = [
            (
                key(
                    "iam",
                    "GetAccountAuthorizationDetails",
                    "/",
                    "Action=GetAccountAuthorizationDetails",
                ),
                answer(
                    "<RoleDetailList><member><RoleName>app-role</RoleName><RoleId>AROAABCDEFGHIJKLMNOPQ</RoleId></member></RoleDetailList>",
                ),
            ),
            (
                key("lambda", "ListFunctions", "/2015-03-31/functions/", ""),
                answer(r#"{"Functions":[{"FunctionName":"resize-images"}]}"#),
            ),
            (
                key("ec2", "DescribeVolumes", "/", VOLUMES),
                answer(
                    "<volumeSet><item><volumeId>vol-0aaaaaaaaaaaaaaa1</volumeId></item></volumeSet>",
                ),
            ),
            // A `<Name>` outside a listing names nothing of the estate's.
            (
                key("monitoring", "DescribeAlarms", "/", "Action=DescribeAlarms"),
                answer("<Dimensions><member><Name>InstanceId</Name></member></Dimensions>"),
            ),
        ];
        let ids: Vec<String> = identifiers(&recorded).into_iter().collect();
        assert_eq!(
            ids,
            [
                "AROAABCDEFGHIJKLMNOPQ",
                "app-role",
                "resize-images",
                "vol-0aaaaaaaaaaaaaaa1"
            ]
        );
    }
}
