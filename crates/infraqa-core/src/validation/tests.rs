use super::event::{self, EventError, SUPPORTED};
use crate::ResourceType;
use serde_json::Value;

/// The recorded event `name` (compiled in: the core reads no file, even in its tests).
fn recorded(name: &str) -> &'static str {
    match name {
        "AttachRolePolicy" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/AttachRolePolicy.json"
        )),
        "AuthorizeSecurityGroupIngress" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/AuthorizeSecurityGroupIngress.json"
        )),
        "CreateBucket" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/CreateBucket.json"
        )),
        "CreateDBInstance" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/CreateDBInstance.json"
        )),
        "CreateFunction20150331" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/CreateFunction20150331.json"
        )),
        "CreateRole" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/CreateRole.json"
        )),
        "CreateSecurityGroup" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/CreateSecurityGroup.json"
        )),
        "CreateVolume" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/CreateVolume.json"
        )),
        "DeleteBucketEncryption" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/DeleteBucketEncryption.json"
        )),
        "DeletePublicAccessBlock" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/DeletePublicAccessBlock.json"
        )),
        "ModifyDBInstance" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/ModifyDBInstance.json"
        )),
        "ModifyInstanceAttribute" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/ModifyInstanceAttribute.json"
        )),
        "PutBucketAcl" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/PutBucketAcl.json"
        )),
        "PutBucketEncryption" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/PutBucketEncryption.json"
        )),
        "PutBucketPolicy" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/PutBucketPolicy.json"
        )),
        "PutPublicAccessBlock" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/PutPublicAccessBlock.json"
        )),
        "PutRolePolicy" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/PutRolePolicy.json"
        )),
        "RunInstances" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/RunInstances.json"
        )),
        "UpdateAssumeRolePolicy" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/UpdateAssumeRolePolicy.json"
        )),
        "UpdateFunctionConfiguration20150331v2" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/cloudtrail/UpdateFunctionConfiguration20150331v2.json"
        )),
        other => panic!("no fixture tests/fixtures/cloudtrail/{other}.json"),
    }
}

/// The fixture for `name` with its placeholders filled.
fn fixture(name: &str, id: &str) -> String {
    recorded(name)
        .replace("${ACCOUNT}", "123456789012")
        .replace("${REGION}", "eu-west-1")
        .replace("${TIME}", "2026-12-01T09:00:00Z")
        .replace("${EVENT_ID}", "0b2c6a4e-1f3d-4c5b-8a9e-7d6c5b4a3f21")
        .replace("${ID}", id)
}

fn edited(name: &str, id: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(&fixture(name, id)).unwrap();
    edit(&mut v);
    v.to_string()
}

#[test]
fn every_supported_event_names_its_resource() {
    for name in SUPPORTED {
        let (kind, id) = match name {
            "RunInstances" | "ModifyInstanceAttribute" => {
                (ResourceType::Ec2Instance, "i-0abc123def4567890")
            }
            "CreateVolume" => (ResourceType::Ec2Volume, "vol-0abc123def4567890"),
            "CreateSecurityGroup" | "AuthorizeSecurityGroupIngress" => {
                (ResourceType::Ec2SecurityGroup, "sg-0abc123def4567890")
            }
            "CreateDBInstance" | "ModifyDBInstance" => (ResourceType::RdsDb, "orders-db"),
            "CreateFunction20150331" | "UpdateFunctionConfiguration20150331v2" => {
                (ResourceType::LambdaFunction, "resize-images")
            }
            "CreateRole" | "PutRolePolicy" | "AttachRolePolicy" | "UpdateAssumeRolePolicy" => {
                (ResourceType::IamRole, "app-role")
            }
            _ => (ResourceType::S3Bucket, "acme-invoices"),
        };
        let call = event::parse(&fixture(name, id), name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(call.name, name);
        assert_eq!(call.owner.as_deref(), Some("alice"), "{name}");
        let named = call.resources().unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(named.len(), 1, "{name}");
        assert_eq!(named[0].resource_type, kind, "{name}");
        assert_eq!(named[0].id, id, "{name}");
        let region = if kind == ResourceType::IamRole {
            "global"
        } else {
            "eu-west-1"
        };
        assert_eq!(named[0].region, region, "{name}");
    }
}

#[test]
fn run_instances_names_every_instance_it_started() {
    let text = edited("RunInstances", "i-1", |v| {
        let items = v
            .pointer_mut("/detail/responseElements/instancesSet/items")
            .unwrap()
            .as_array_mut()
            .unwrap();
        let mut second = items[0].clone();
        second["instanceId"] = "i-2".into();
        items.push(second);
    });
    let ids: Vec<String> = event::parse(&text, "e")
        .unwrap()
        .resources()
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(ids, ["i-1", "i-2"]);
}

#[test]
fn failed_calls_empty_responses_and_unsupported_names_are_ignored_with_a_reason() {
    let failed = edited("CreateBucket", "b", |v| {
        v["detail"]["errorCode"] = "BucketAlreadyOwnedByYou".into();
        v["detail"]["errorMessage"] =
            "Your previous request to create the named bucket succeeded".into();
    });
    let reason = event::parse(&failed, "e")
        .unwrap()
        .resources()
        .unwrap_err()
        .0;
    assert!(reason.contains("BucketAlreadyOwnedByYou"), "{reason}");

    for empty in [Value::Null, Value::from("absent")] {
        let text = edited("RunInstances", "i-1", |v| {
            if empty.is_null() {
                v["detail"]["responseElements"] = Value::Null;
            } else {
                v["detail"]
                    .as_object_mut()
                    .unwrap()
                    .remove("responseElements");
            }
        });
        let reason = event::parse(&text, "e").unwrap().resources().unwrap_err().0;
        assert!(reason.contains("no responseElements"), "{reason}");
    }

    // S3 changes succeed with a null responseElements: still validated.
    let call = event::parse(&fixture("PutBucketAcl", "b"), "e").unwrap();
    assert!(call.resources().is_ok());

    let other = edited("CreateBucket", "b", |v| {
        v["detail"]["eventName"] = "DeleteBucket".into();
    });
    let reason = event::parse(&other, "e")
        .unwrap()
        .resources()
        .unwrap_err()
        .0;
    assert!(
        reason.starts_with("DeleteBucket is not an event"),
        "{reason}"
    );
}

#[test]
fn the_owner_is_a_person_or_a_session_never_a_service() {
    let user = edited("CreateVolume", "vol-1", |v| {
        v["detail"]["userIdentity"] = serde_json::json!({
            "type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::123456789012:user/bob",
            "accountId": "123456789012", "userName": "bob"
        });
    });
    let call = event::parse(&user, "e").unwrap();
    assert_eq!(call.owner.as_deref(), Some("bob"));
    assert_eq!(call.principal, "arn:aws:iam::123456789012:user/bob");

    let service = edited("CreateVolume", "vol-1", |v| {
        v["detail"]["userIdentity"] = serde_json::json!({
            "type": "AWSService", "invokedBy": "autoscaling.amazonaws.com"
        });
    });
    let call = event::parse(&service, "e").unwrap();
    assert_eq!(call.owner, None);
    assert_eq!(call.principal, "autoscaling.amazonaws.com");

    // Every way a service shows in an event yields no Owner, whatever the session is named.
    let services: [(&str, Value); 6] = [
        (
            "a service-linked role's session",
            serde_json::json!({
                "type": "AssumedRole",
                "arn": "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling",
                "sessionContext": {"sessionIssuer": {"type": "Role",
                    "arn": "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"}}
            }),
        ),
        (
            "a session of a role under /aws-service-role/ with another name",
            serde_json::json!({
                "type": "AssumedRole",
                "arn": "arn:aws:sts::123456789012:assumed-role/Custom/ElasticLoadBalancing",
                "sessionContext": {"sessionIssuer": {"type": "Role",
                    "arn": "arn:aws:iam::123456789012:role/aws-service-role/elasticloadbalancing.amazonaws.com/Custom"}}
            }),
        ),
        (
            "a service role's session",
            serde_json::json!({
                "type": "AssumedRole",
                "arn": "arn:aws:sts::123456789012:assumed-role/resize-role-x1/resize-images",
                "sessionContext": {"sessionIssuer": {"type": "Role",
                    "arn": "arn:aws:iam::123456789012:role/service-role/resize-role-x1"}}
            }),
        ),
        (
            "an instance profile's session (named by the instance)",
            serde_json::json!({
                "type": "AssumedRole",
                "arn": "arn:aws:sts::123456789012:assumed-role/app-instance/i-0abc123def4567890"
            }),
        ),
        (
            "a person's session that a service used for them (invokedBy)",
            serde_json::json!({
                "type": "AssumedRole",
                "arn": "arn:aws:sts::123456789012:assumed-role/Deploy/alice",
                "invokedBy": "cloudformation.amazonaws.com"
            }),
        ),
        (
            "a session named after its service",
            serde_json::json!({
                "type": "AssumedRole",
                "arn": "arn:aws:sts::123456789012:assumed-role/Ops/ecs-tasks.amazonaws.com"
            }),
        ),
    ];
    for (what, identity) in services {
        let text = edited("CreateVolume", "vol-1", |v| {
            v["detail"]["userIdentity"] = identity;
        });
        assert_eq!(event::parse(&text, "e").unwrap().owner, None, "{what}");
    }
    // A person's session through an SSO permission set is a person.
    let sso = edited("CreateVolume", "vol-1", |v| {
        v["detail"]["userIdentity"] = serde_json::json!({
            "type": "AssumedRole",
            "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123abcd/carol@example.com",
            "sessionContext": {"sessionIssuer": {"type": "Role",
                "arn": "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123abcd"}}
        });
    });
    assert_eq!(
        event::parse(&sso, "e").unwrap().owner.as_deref(),
        Some("carol@example.com")
    );
}

#[test]
fn an_event_is_judged_on_the_fields_the_verdict_needs() {
    // Fields the verdict does not use may be absent, each and all together.
    let unused = [
        "/detail/requestID",
        "/detail/userAgent",
        "/detail/tlsDetails",
        "/detail/sourceIPAddress",
        "/detail/eventVersion",
        "/detail/eventType",
        "/detail/readOnly",
        "/detail/managementEvent",
        "/detail/recipientAccountId",
        "/detail/eventCategory",
        "/detail/eventSource",
        "/detail/userIdentity/sessionContext/attributes",
        "/detail/userIdentity/sessionContext/sessionIssuer/principalId",
        "/detail/userIdentity/principalId",
        "/detail/userIdentity/accessKeyId",
        "/version",
        "/id",
        "/source",
        "/time",
        "/region",
        "/resources",
    ];
    let remove = |v: &mut Value, pointer: &str| {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        if let Some(o) = v.pointer_mut(parent).and_then(Value::as_object_mut) {
            o.remove(key);
        }
    };
    for pointer in unused {
        let text = edited("CreateVolume", "vol-1", |v| remove(v, pointer));
        let call = event::parse(&text, "e").unwrap_or_else(|e| panic!("without {pointer}: {e}"));
        assert_eq!(
            call.resources().unwrap()[0].id,
            "vol-1",
            "without {pointer}"
        );
        assert_eq!(call.owner.as_deref(), Some("alice"), "without {pointer}");
    }
    let bare = edited("CreateVolume", "vol-1", |v| {
        for pointer in unused {
            remove(v, pointer);
        }
        remove(v, "/detail/userIdentity");
    });
    let call = event::parse(&bare, "e").unwrap();
    assert_eq!(call.principal, "unknown");
    assert_eq!(call.owner, None);
    assert_eq!(call.resources().unwrap()[0].id, "vol-1");
    // The fields it needs are named when absent.
    for field in ["eventName", "eventTime", "eventID", "awsRegion"] {
        let text = edited("CreateVolume", "vol-1", |v| {
            v["detail"].as_object_mut().unwrap().remove(field);
        });
        let err = event::parse(&text, "ev.json").unwrap_err().to_string();
        assert!(err.contains(&format!("detail.{field}")), "{err}");
        assert!(err.starts_with("ev.json"), "{err}");
    }
}

#[test]
fn bad_input_is_named_not_panicked_on() {
    let err = event::parse("{\"detail-type\": ", "ev.json").unwrap_err();
    assert!(
        matches!(&err, EventError::Malformed { message, .. } if message.contains("line 1")),
        "{err}"
    );
    let err = event::parse(
        r#"{"detail-type": "EC2 Instance State-change Notification", "detail": {}}"#,
        "ev.json",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("EC2 Instance State-change"),
        "{err}"
    );
    let no_name = edited("CreateVolume", "v", |v| {
        v["detail"].as_object_mut().unwrap().remove("eventName");
    });
    let err = event::parse(&no_name, "ev.json").unwrap_err();
    assert!(err.to_string().contains("eventName"), "{err}");
    let bad_time = edited("CreateVolume", "v", |v| {
        v["detail"]["eventTime"] = "yesterday".into();
    });
    let err = event::parse(&bad_time, "ev.json").unwrap_err();
    assert!(err.to_string().contains("eventTime"), "{err}");
    for garbage in ["", "[]", "null", "42", "{\"detail-type\": 3}"] {
        assert!(event::parse(garbage, "g").is_err(), "{garbage:?}");
    }
}

#[test]
fn function_names_come_from_arns_too() {
    let call = event::parse(&fixture("UpdateFunctionConfiguration20150331v2", "f"), "e").unwrap();
    assert_eq!(call.resources().unwrap()[0].id, "f");
}

mod verdict {
    use super::fixture;
    use crate::observed::Found;
    use crate::rules::testkit::{policy, scan_error};
    use crate::validation::{Named, Validation, Verdict, event, grace_left};
    use chrono::{DateTime, TimeZone, Utc};
    use std::time::Duration;

    const POLICY: &str = r#"
[tags]
required = ["Owner"]
"#;

    fn at(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, s).unwrap()
    }

    fn judged(found: Vec<Found>) -> Validation {
        let call = event::parse(&fixture("CreateVolume", "vol-1"), "CreateVolume").unwrap();
        let named: Vec<Named> = found
            .into_iter()
            .map(|found| Named {
                resource_type: crate::ResourceType::Ec2Volume,
                id: "vol-1".into(),
                region: "eu-west-1".into(),
                found,
            })
            .collect();
        let p = policy(POLICY);
        Validation::judge(&call, &p, "123456789012".into(), &named, false, at(30)).validation
    }

    #[test]
    fn an_event_whose_resources_are_all_gone_is_ignored_and_says_so() {
        let v = judged(vec![Found::Gone]);
        assert_eq!(v.verdict, Verdict::Ignored);
        assert_eq!(
            v.reason.as_deref(),
            Some("every resource the event names no longer exists")
        );
        assert_eq!(
            v.resources[0].resource_arn, "arn:aws:ec2:eu-west-1:123456789012:volume/vol-1",
            "named as a scan would name it"
        );
        assert!(v.resources[0].gone);
    }

    #[test]
    fn an_unread_resource_is_not_evaluated_with_the_failed_read_never_approved() {
        let v = judged(vec![Found::Unread(scan_error(
            "eu-west-1",
            "ec2",
            "DescribeVolumes",
        ))]);
        assert_eq!(v.verdict, Verdict::NotEvaluated);
        assert_eq!(
            v.reason.as_deref(),
            Some("reads the rules need failed: ec2 DescribeVolumes (AccessDenied)")
        );
    }

    #[test]
    fn the_grace_left_counts_from_the_event_time_and_is_capped_at_a_day() {
        let grace = Duration::from_secs(60);
        assert_eq!(
            grace_left(at(0), grace, at(20)),
            Some(Duration::from_secs(40))
        );
        assert_eq!(
            grace_left(at(0), grace, at(0) + chrono::Duration::minutes(1)),
            None
        );
        assert_eq!(
            grace_left(at(0), grace, at(0) + chrono::Duration::hours(1)),
            None
        );
        let week = Duration::from_secs(7 * 86_400);
        assert_eq!(
            grace_left(at(0), week, at(0)),
            Some(Duration::from_secs(86_400)),
            "never more than MAX_GRACE_SECONDS"
        );
    }
}
