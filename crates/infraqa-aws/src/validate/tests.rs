use super::event::{self, EventError, SUPPORTED};
use infraqa_core::ResourceType;
use serde_json::Value;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/cloudtrail"
);

/// The fixture for `name` with its placeholders filled.
fn fixture(name: &str, id: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}.json"))
        .unwrap()
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

    let by_service = edited("CreateVolume", "vol-1", |v| {
        v["detail"]["userIdentity"]["arn"] =
            "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling"
                .into();
        v["detail"]["userIdentity"]["type"] = "AssumedRole".into();
    });
    assert_eq!(
        event::parse(&by_service, "e").unwrap().owner.as_deref(),
        Some("AutoScaling")
    );
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
