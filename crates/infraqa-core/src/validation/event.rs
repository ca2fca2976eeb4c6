//! A CloudTrail event as EventBridge delivers it ("AWS API Call via CloudTrail"), and the
//! resources it names.
//!
//! Where the new resource's id comes from differs per call: creations name it in
//! `responseElements` (an event whose `responseElements` is null there created nothing), changes
//! to an existing resource name it in `requestParameters` (S3 and IAM changes carry a null
//! `responseElements` even when they succeed).
//!
//! Only what the verdict uses is read, and only that is required: `detail.eventName`,
//! `eventTime`, `eventID` and `awsRegion` (an error names the one missing). Everything else
//! (`requestID`, `userAgent`, `tlsDetails`, session attributes, ...) may be absent; a missing
//! `userIdentity` leaves the principal `unknown` and no Owner.

use crate::ResourceType;
use crate::model::GLOBAL_REGION;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The request parameters the validator reads (each event uses one or two).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    #[serde(default, deserialize_with = "text")]
    instance_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    group_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    bucket_name: Option<String>,
    #[serde(default, rename = "dBInstanceIdentifier", deserialize_with = "text")]
    db_instance_identifier: Option<String>,
    #[serde(default, deserialize_with = "text")]
    function_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    role_name: Option<String>,
}

/// The response elements the validator reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(default, deserialize_with = "lenient")]
    instances_set: Option<Items<Instance>>,
    #[serde(default, deserialize_with = "text")]
    volume_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    group_id: Option<String>,
    #[serde(default, rename = "dBInstanceIdentifier", deserialize_with = "text")]
    db_instance_identifier: Option<String>,
    #[serde(default, deserialize_with = "text")]
    function_name: Option<String>,
    /// IAM's `CreateRole` answers `{"roleName": ...}`; Lambda's `role` is the execution role's
    /// ARN, which names no resource of the event.
    #[serde(default, deserialize_with = "role_name")]
    role: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Items<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instance {
    #[serde(default, deserialize_with = "text")]
    instance_id: Option<String>,
}

/// A field that is text in the events the validator reads; another type in some other
/// service's event is simply not an id (request and response shapes differ per service).
fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// A value of the expected shape, or none when another service's event shapes it otherwise.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

/// `role.roleName` when `role` is an object.
fn role_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Value::deserialize(d)?
        .get("roleName")
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// The EventBridge detail type of CloudTrail API call events.
pub const DETAIL_TYPE: &str = "AWS API Call via CloudTrail";

/// Every event name the validator understands.
pub const SUPPORTED: [&str; 20] = [
    "RunInstances",
    "CreateVolume",
    "CreateSecurityGroup",
    "AuthorizeSecurityGroupIngress",
    "ModifyInstanceAttribute",
    "CreateBucket",
    "PutBucketPolicy",
    "PutBucketAcl",
    "DeleteBucketEncryption",
    "PutBucketEncryption",
    "DeletePublicAccessBlock",
    "PutPublicAccessBlock",
    "CreateDBInstance",
    "ModifyDBInstance",
    "CreateFunction20150331",
    "UpdateFunctionConfiguration20150331v2",
    "CreateRole",
    "PutRolePolicy",
    "AttachRolePolicy",
    "UpdateAssumeRolePolicy",
];

/// Input that is not a CloudTrail API call event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not JSON, or not the EventBridge/CloudTrail shape.
    #[error("{origin}: not a CloudTrail event: {message}")]
    Malformed {
        /// The file or source.
        origin: String,
        /// What is wrong, and where.
        message: String,
    },
    /// An EventBridge event of another kind.
    #[error("{origin}: detail-type is {found:?}, expected \"{DETAIL_TYPE}\"")]
    WrongType {
        /// The file or source.
        origin: String,
        /// The detail type found.
        found: Option<String>,
    },
}

/// The envelope EventBridge wraps a CloudTrail event in: only the fields read.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default, deserialize_with = "text")]
    account: Option<String>,
    #[serde(default)]
    detail: Option<Detail>,
}

/// `detail`: the CloudTrail record. The four fields the verdict needs are optional here so that
/// their absence is reported by name (see [`parse`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    #[serde(default, deserialize_with = "text")]
    event_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    event_time: Option<String>,
    #[serde(default, rename = "eventID", deserialize_with = "text")]
    event_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    aws_region: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    user_identity: Option<Identity>,
    #[serde(default, deserialize_with = "lenient")]
    request_parameters: Option<Request>,
    #[serde(default, deserialize_with = "lenient")]
    response_elements: Option<Response>,
    #[serde(default, deserialize_with = "text")]
    error_code: Option<String>,
}

/// `userIdentity`: who made the call.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity {
    #[serde(default, rename = "type", deserialize_with = "text")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "text")]
    arn: Option<String>,
    #[serde(default, deserialize_with = "text")]
    principal_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    account_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    user_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    invoked_by: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    session_context: Option<SessionContext>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext {
    #[serde(default, deserialize_with = "lenient")]
    session_issuer: Option<SessionIssuer>,
}

/// The role (or user) whose session made the call.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer {
    #[serde(default, deserialize_with = "text")]
    arn: Option<String>,
}

/// One CloudTrail API call event.
#[derive(Debug, Clone)]
pub struct ApiCall {
    /// `detail.eventName`.
    pub name: String,
    /// `detail.eventTime`.
    pub time: DateTime<Utc>,
    /// `detail.eventID`: the key for duplicates.
    pub id: String,
    /// `detail.awsRegion`.
    pub region: String,
    /// The account the call was made in (`account` of the envelope, or the caller's).
    pub account_id: Option<String>,
    /// Who made the call, as a person reads it (an ARN).
    pub principal: String,
    /// A name fit for an `Owner` tag: the session name of a person's assumed role, or the IAM
    /// user; none for AWS services (see [`owner`]) and the root user.
    pub owner: Option<String>,
    /// `detail.errorCode`, when the call failed.
    pub error_code: Option<String>,
    request: Request,
    response: Option<Response>,
}

/// Parses an EventBridge CloudTrail event. `origin` names the input in errors.
pub fn parse(text: &str, origin: &str) -> Result<ApiCall, EventError> {
    let malformed = |message: String| EventError::Malformed {
        origin: origin.to_owned(),
        message,
    };
    let raw: Value = serde_json::from_str(text)
        .map_err(|e| malformed(format!("line {} column {}: {e}", e.line(), e.column())))?;
    let detail_type = raw
        .get("detail-type")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if detail_type.as_deref() != Some(DETAIL_TYPE) {
        return Err(EventError::WrongType {
            origin: origin.to_owned(),
            found: detail_type,
        });
    }
    let event: Envelope = serde_json::from_value(raw).map_err(|e| malformed(format!("{e}")))?;
    let detail = event
        .detail
        .ok_or_else(|| malformed("the event has no detail".to_owned()))?;
    let required = |field: Option<String>, name: &str| {
        field
            .filter(|v| !v.is_empty())
            .ok_or_else(|| malformed(format!("detail.{name} is missing or not text")))
    };
    let name = required(detail.event_name, "eventName")?;
    let event_time = required(detail.event_time, "eventTime")?;
    let id = required(detail.event_id, "eventID")?;
    let region = required(detail.aws_region, "awsRegion")?;
    let time = DateTime::parse_from_rfc3339(&event_time)
        .map_err(|e| {
            malformed(format!(
                "detail.eventTime {event_time:?} is not a timestamp: {e}"
            ))
        })?
        .with_timezone(&Utc);
    let identity = detail.user_identity.unwrap_or_default();
    Ok(ApiCall {
        principal: principal(&identity),
        owner: owner(&identity),
        account_id: event.account.or_else(|| identity.account_id.clone()),
        name,
        time,
        id,
        region,
        error_code: detail.error_code,
        request: detail.request_parameters.unwrap_or_default(),
        response: detail.response_elements,
    })
}

fn principal(u: &Identity) -> String {
    u.arn
        .clone()
        .or_else(|| u.invoked_by.clone())
        .or_else(|| u.principal_id.clone())
        .or_else(|| u.kind.clone())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The Owner an event gives its resources: the IAM user, or the session name of an assumed
/// role, when a person made the call. None when a service did, which shows as:
/// - an `AWSService` identity, or any identity with `invokedBy` (a service calling for it);
/// - a session of a service-linked role (`AWSServiceRoleFor*`, or an issuer under
///   `/aws-service-role/`) or of a service role (an issuer under `/service-role/`);
/// - a session a service started on its own behalf, named after the service
///   (`*.amazonaws.com`) or after the EC2 instance whose profile it is (`i-` and hex).
///
/// None for the root user and any other type too: the resource is left for a person to tag.
fn owner_of(kind: Option<&str>, arn: Option<&str>, user_name: Option<&str>) -> Option<String> {
    let name = match kind? {
        // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
        "AssumedRole" => {
            let mut parts = arn?.rsplit('/');
            let session = parts.next()?;
            let role = parts.next()?;
            if role.starts_with("AWSServiceRoleFor") {
                return None;
            }
            session.to_owned()
        }
        "IAMUser" => user_name?.to_owned(),
        _ => return None,
    };
    let instance = name.strip_prefix("i-").is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    });
    (!name.is_empty() && !name.ends_with(".amazonaws.com") && !instance).then_some(name)
}

fn owner(u: &Identity) -> Option<String> {
    if u.invoked_by.is_some() {
        return None;
    }
    let issuer = u
        .session_context
        .as_ref()
        .and_then(|c| c.session_issuer.as_ref())
        .and_then(|i| i.arn.as_deref())
        .unwrap_or_default();
    if issuer.contains("/aws-service-role/") || issuer.contains("/service-role/") {
        return None;
    }
    owner_of(u.kind.as_deref(), u.arn.as_deref(), u.user_name.as_deref())
}

/// A resource an event names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// Its type.
    pub resource_type: ResourceType,
    /// Its id (name for buckets, roles and functions).
    pub id: String,
    /// Its region (`global` for IAM).
    pub region: String,
}

/// Why an event names nothing to validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored(pub String);

/// What a change event whose `responseElements` is null reads as.
const EMPTY: Response = Response {
    instances_set: None,
    volume_id: None,
    group_id: None,
    db_instance_identifier: None,
    function_name: None,
    role: None,
};

/// A non-empty id.
fn id(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

impl ApiCall {
    /// The resources the event names, or why it names none to validate.
    pub fn resources(&self) -> Result<Vec<Named>, Ignored> {
        if let Some(code) = &self.error_code {
            return Err(Ignored(format!(
                "the call failed ({code}): it changed nothing"
            )));
        }
        if !SUPPORTED.contains(&self.name.as_str()) {
            return Err(Ignored(format!(
                "{} is not an event the validator checks (supported: {})",
                self.name,
                SUPPORTED.join(", ")
            )));
        }
        let req = &self.request;
        let resp = self.response.as_ref();
        let from_response = matches!(
            self.name.as_str(),
            "RunInstances"
                | "CreateVolume"
                | "CreateSecurityGroup"
                | "CreateDBInstance"
                | "CreateFunction20150331"
                | "CreateRole"
        );
        let Some(resp) = resp.or(if from_response { None } else { Some(&EMPTY) }) else {
            return Err(Ignored(format!(
                "{} has no responseElements: the call created nothing",
                self.name
            )));
        };
        let regional = |t: ResourceType, id: Option<&str>| {
            id.map(|id| Named {
                resource_type: t,
                id: id.to_owned(),
                region: self.region.clone(),
            })
        };
        let global = |id: Option<&str>| {
            id.map(|id| Named {
                resource_type: ResourceType::IamRole,
                id: id.to_owned(),
                region: GLOBAL_REGION.to_owned(),
            })
        };
        let named: Vec<Named> = match self.name.as_str() {
            "RunInstances" => resp
                .instances_set
                .iter()
                .flat_map(|s| &s.items)
                .filter_map(|i| regional(ResourceType::Ec2Instance, id(&i.instance_id)))
                .collect(),
            "CreateVolume" => regional(ResourceType::Ec2Volume, id(&resp.volume_id))
                .into_iter()
                .collect(),
            "CreateSecurityGroup" => regional(ResourceType::Ec2SecurityGroup, id(&resp.group_id))
                .into_iter()
                .collect(),
            "AuthorizeSecurityGroupIngress" => {
                regional(ResourceType::Ec2SecurityGroup, id(&req.group_id))
                    .into_iter()
                    .collect()
            }
            "ModifyInstanceAttribute" => regional(ResourceType::Ec2Instance, id(&req.instance_id))
                .into_iter()
                .collect(),
            "CreateDBInstance" => regional(
                ResourceType::RdsDb,
                id(&resp.db_instance_identifier).or(id(&req.db_instance_identifier)),
            )
            .into_iter()
            .collect(),
            "ModifyDBInstance" => regional(ResourceType::RdsDb, id(&req.db_instance_identifier))
                .into_iter()
                .collect(),
            "CreateFunction20150331" => regional(
                ResourceType::LambdaFunction,
                id(&resp.function_name).map(function_name),
            )
            .into_iter()
            .collect(),
            "UpdateFunctionConfiguration20150331v2" => regional(
                ResourceType::LambdaFunction,
                id(&req.function_name).map(function_name),
            )
            .into_iter()
            .collect(),
            "CreateRole" => global(id(&resp.role)).into_iter().collect(),
            "PutRolePolicy" | "AttachRolePolicy" | "UpdateAssumeRolePolicy" => {
                global(id(&req.role_name)).into_iter().collect()
            }
            // The S3 calls: the bucket is a request parameter.
            _ => regional(ResourceType::S3Bucket, id(&req.bucket_name))
                .into_iter()
                .collect(),
        };
        if named.is_empty() {
            return Err(Ignored(format!(
                "{} names no resource in its {}",
                self.name,
                if from_response {
                    "responseElements"
                } else {
                    "requestParameters"
                }
            )));
        }
        Ok(named)
    }
}

/// A function's name from its name, its ARN, or its qualified ARN.
fn function_name(s: &str) -> &str {
    match s.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => s,
    }
}
