//! `s3-encryption`, `s3-public-access`, and `s3-secure-transport` (CIS AWS Foundations 3.1.1):
//! the bucket policy denies every request made over plain HTTP. It does when one statement is
//! a `Deny` to everyone (`"*"` or `{"AWS": "*"}`) of every S3 action (`s3:*` or `*`, in
//! `Action`) on the bucket's objects (a `Resource` matching `arn:aws:s3:::NAME/...`), whose
//! only condition is `Bool` or `BoolIfExists` `aws:SecureTransport` `false`. A statement
//! narrowed by anything else (another condition, some actions, some principals) denies part of
//! the plain-HTTP requests and does not count; a bucket without a policy fails; one whose
//! policy could not be read or parsed is not evaluated.

use super::{EvalContext, Rule, Verdict, Violation};
use crate::finding::{Evidence, RuleId, Severity};
use crate::iam::{ConditionValue, Effect, PolicyDocument, Statement};
use crate::model::{BucketEncryption, PublicAccessBlock, Resource, ResourceDetails};
use crate::observed::Observed;
use crate::settings::Setting;

/// The calls that find the buckets a bucket rule judges.
const BUCKET_LISTS: &[(&str, &str)] = &[("s3", "ListBuckets"), ("s3", "GetBucketLocation")];

/// Buckets without default encryption (or without SSE-KMS when the policy requires it).
pub struct S3Encryption;

impl Rule for S3Encryption {
    fn id(&self) -> RuleId {
        RuleId::S3Encryption
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        matches!(r.details, ResourceDetails::S3Bucket(_))
    }

    fn check(&self, cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        let ResourceDetails::S3Bucket(b) = &r.details else {
            return Verdict::Pass;
        };
        let encryption = match &b.encryption {
            Observed::Read(e) => e,
            Observed::Unread(e) => return Verdict::unread(e),
        };
        let reason = match encryption {
            BucketEncryption::None => "no default encryption configured".to_owned(),
            BucketEncryption::SseS3 if cx.policy.s3.require_kms => {
                "default encryption is SSE-S3 (AES256); the policy requires SSE-KMS".to_owned()
            }
            _ => return Verdict::Pass,
        };
        Verdict::Fail(Violation::new(
            Severity::High,
            vec![reason],
            format!(
                "aws s3api put-bucket-encryption --bucket {} --server-side-encryption-configuration '{{\"Rules\":[{{\"ApplyServerSideEncryptionByDefault\":{{\"SSEAlgorithm\":\"aws:kms\"}},\"BucketKeyEnabled\":true}}]}}'",
                r.id
            ),
            vec![Evidence::BucketEncryption {
                found: encryption.clone(),
                kms_required: cx.policy.s3.require_kms,
            }],
        ))
    }
}

/// Buckets whose effective public access block (bucket OR account, per flag) is incomplete.
pub struct S3PublicAccess;

impl Rule for S3PublicAccess {
    fn id(&self) -> RuleId {
        RuleId::S3PublicAccess
    }

    fn listed_by(&self) -> &'static [(&'static str, &'static str)] {
        BUCKET_LISTS
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        matches!(r.details, ResourceDetails::S3Bucket(_))
    }

    fn check(&self, _cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        let ResourceDetails::S3Bucket(b) = &r.details else {
            return Verdict::Pass;
        };
        // The account-level block alone can decide: all four on blocks every bucket.
        if b.account_public_access_block.all_blocked() {
            return Verdict::Pass;
        }
        let bucket_block = match &b.public_access_block {
            Observed::Read(block) => *block,
            Observed::Unread(e) => return Verdict::unread(e),
        };
        let eff = PublicAccessBlock::effective(bucket_block, b.account_public_access_block);
        if eff.all_blocked() {
            return Verdict::Pass;
        }
        let off: Vec<&str> = [
            ("BlockPublicAcls", eff.block_public_acls),
            ("IgnorePublicAcls", eff.ignore_public_acls),
            ("BlockPublicPolicy", eff.block_public_policy),
            ("RestrictPublicBuckets", eff.restrict_public_buckets),
        ]
        .into_iter()
        .filter_map(|(name, on)| (!on).then_some(name))
        .collect();
        let mut reasons = vec![format!(
            "public access block off at both bucket and account level: {}",
            off.join(", ")
        )];
        let public_policy =
            b.policy_is_public == Some(Observed::Read(true)) && !eff.restrict_public_buckets;
        let grants: &[_] = match &b.acl_public_grants {
            Some(Observed::Read(g)) => g,
            _ => &[],
        };
        let public_acl = !grants.is_empty() && !eff.ignore_public_acls;
        if public_policy {
            reasons.push("the bucket policy makes it public now".to_owned());
        }
        // Whether it is public now only raises the severity; an unread status is said, not
        // guessed.
        for (read, what) in [
            (
                b.policy_is_public.as_ref().and_then(Observed::unread),
                "policy status",
            ),
            (
                b.acl_public_grants.as_ref().and_then(Observed::unread),
                "ACL",
            ),
        ] {
            if let Some(e) = read {
                reasons.push(format!(
                    "whether it is public now is unknown: its {what} could not be read ({} {})",
                    e.operation, e.code
                ));
            }
        }
        if public_acl {
            let names: Vec<String> = grants.iter().map(|g| format!("{g:?}")).collect();
            reasons.push(format!(
                "the ACL grants access to {} now",
                names.join(" and ")
            ));
        }
        Verdict::Fail(Violation::new(
            if public_policy || public_acl {
                Severity::Critical
            } else {
                Severity::High
            },
            reasons,
            format!(
                "aws s3api put-public-access-block --bucket {} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true (or block at account level: aws s3control put-public-access-block --account-id {} ...)",
                r.id, r.account_id
            ),
            vec![Evidence::PublicAccess {
                effective: eff,
                public_policy,
                public_grants: if public_acl {
                    grants.to_vec()
                } else {
                    Vec::new()
                },
            }],
        ))
    }
}

/// See the module documentation.
pub struct S3SecureTransport;

/// Whether `st` denies everyone every S3 action on the objects of `bucket` (in `partition`)
/// when the request is not over TLS, and nothing narrows it.
fn denies_plain_http(st: &Statement, partition: &str, bucket: &str) -> bool {
    let everyone = st.principal.as_ref().is_some_and(|p| p.is_everyone());
    let every_action = st
        .actions()
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case("s3:*"));
    let object = format!("arn:{partition}:s3:::{bucket}/any-key");
    let on_objects = st
        .resources()
        .iter()
        .any(|r| super::iam::iam_match(r, &object));
    let only_insecure = st.condition.as_ref().is_some_and(|c| {
        c.len() == 1
            && c.iter().all(|(op, keys)| {
                (op == "Bool" || op == "BoolIfExists")
                    && keys.len() == 1
                    && keys.iter().all(|(key, values)| {
                        key.eq_ignore_ascii_case("aws:SecureTransport")
                            && !values.as_slice().is_empty()
                            && values.as_slice().iter().all(|v| match v {
                                ConditionValue::Bool(b) => !b,
                                ConditionValue::String(s) => s.eq_ignore_ascii_case("false"),
                                ConditionValue::Number(_) => false,
                            })
                    })
            })
    });
    st.effect == Effect::Deny
        && st.not_principal.is_none()
        && st.not_action.is_none()
        && st.not_resource.is_none()
        && everyone
        && every_action
        && on_objects
        && only_insecure
}

impl Rule for S3SecureTransport {
    fn id(&self) -> RuleId {
        RuleId::S3SecureTransport
    }

    fn needs(&self) -> &'static [Setting] {
        &[Setting::BucketPolicy]
    }

    fn listed_by(&self) -> &'static [(&'static str, &'static str)] {
        BUCKET_LISTS
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        matches!(r.details, ResourceDetails::S3Bucket(_))
    }

    fn check(&self, _cx: &EvalContext<'_>, r: &Resource) -> Verdict {
        let ResourceDetails::S3Bucket(b) = &r.details else {
            return Verdict::Pass;
        };
        let partition = crate::model::partition(&r.region);
        let found = match &b.policy {
            None => return super::not_recorded(r, "s3", "GetBucketPolicy", "bucket policy"),
            Some(Observed::Unread(e)) => return Verdict::unread(e),
            Some(Observed::Read(None)) => "no bucket policy",
            Some(Observed::Read(Some(doc))) => {
                if PolicyDocument::statements(doc)
                    .iter()
                    .any(|st| denies_plain_http(st, partition, &r.id))
                {
                    return Verdict::Pass;
                }
                "no statement of its bucket policy denies them"
            }
        };
        Verdict::Fail(Violation::new(
            Severity::Medium,
            vec![format!("requests over plain HTTP are allowed: {found}")],
            format!(
                "Add to the bucket policy of {name}: {{\"Sid\":\"DenyInsecureTransport\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":[\"arn:{partition}:s3:::{name}\",\"arn:{partition}:s3:::{name}/*\"],\"Condition\":{{\"Bool\":{{\"aws:SecureTransport\":\"false\"}}}}}} (aws s3api put-bucket-policy replaces the whole policy: merge it)",
                name = r.id
            ),
            vec![Evidence::setting(
                "Policy",
                found,
                "a Deny of s3:* to everyone when aws:SecureTransport is false",
            )],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PublicGrantee, ResourceType, S3Bucket};
    use crate::rules::testkit::*;

    const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };
    const NONE: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: false,
        ignore_public_acls: false,
        block_public_policy: false,
        restrict_public_buckets: false,
    };

    fn bucket(
        encryption: BucketEncryption,
        bucket_block: PublicAccessBlock,
        account_block: PublicAccessBlock,
        policy_public: Option<bool>,
        acl: Option<Vec<PublicGrantee>>,
    ) -> Resource {
        resource(
            ResourceType::S3Bucket,
            "b",
            "us-east-1",
            &[],
            ResourceDetails::S3Bucket(S3Bucket {
                encryption: Observed::Read(encryption),
                public_access_block: Observed::Read(bucket_block),
                account_public_access_block: account_block,
                policy_is_public: policy_public.map(Observed::Read),
                acl_public_grants: acl.map(Observed::Read),
                access_logging: Observed::Read(false),
                policy: None,
            }),
        )
    }

    #[test]
    fn encryption_cases() {
        let cases = [
            (
                "none fails",
                BucketEncryption::None,
                "",
                Some("no default encryption configured"),
            ),
            ("SSE-S3 passes", BucketEncryption::SseS3, "", None),
            (
                "KMS passes",
                BucketEncryption::SseKms { key_id: None },
                "",
                None,
            ),
            (
                "DSSE passes",
                BucketEncryption::SseKmsDsse { key_id: None },
                "",
                None,
            ),
            (
                "SSE-S3 fails with require_kms",
                BucketEncryption::SseS3,
                "[s3]\nrequire_kms = true",
                Some("default encryption is SSE-S3 (AES256); the policy requires SSE-KMS"),
            ),
            (
                "KMS passes with require_kms",
                BucketEncryption::SseKms {
                    key_id: Some("k".into()),
                },
                "[s3]\nrequire_kms = true",
                None,
            ),
        ];
        for (name, enc, p, want) in cases {
            let got = check(
                &S3Encryption,
                &policy(p),
                &inventory(vec![bucket(enc, ALL, NONE, None, None)]),
            );
            assert_eq!(
                got.map(|v| v.reasons.join("; ")),
                want.map(str::to_owned),
                "{name}"
            );
        }
    }

    #[test]
    fn public_access_cases() {
        let bucket_half = PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            ..NONE
        };
        let account_half = PublicAccessBlock {
            block_public_policy: true,
            restrict_public_buckets: true,
            ..NONE
        };
        let cases = [
            (
                "blocked at bucket level",
                bucket(BucketEncryption::SseS3, ALL, NONE, None, None),
                None,
            ),
            (
                "blocked at account level",
                bucket(BucketEncryption::SseS3, NONE, ALL, None, None),
                None,
            ),
            (
                "halves at each level combine",
                bucket(
                    BucketEncryption::SseS3,
                    bucket_half,
                    account_half,
                    None,
                    None,
                ),
                None,
            ),
            (
                "missing everywhere is high",
                bucket(
                    BucketEncryption::SseS3,
                    NONE,
                    NONE,
                    Some(false),
                    Some(vec![]),
                ),
                Some(Severity::High),
            ),
            (
                "public ACL is critical",
                bucket(
                    BucketEncryption::SseS3,
                    NONE,
                    NONE,
                    Some(false),
                    Some(vec![PublicGrantee::AllUsers]),
                ),
                Some(Severity::Critical),
            ),
            (
                "public policy is critical",
                bucket(
                    BucketEncryption::SseS3,
                    NONE,
                    NONE,
                    Some(true),
                    Some(vec![]),
                ),
                Some(Severity::Critical),
            ),
            (
                "public ACL neutralised by IgnorePublicAcls is high",
                bucket(
                    BucketEncryption::SseS3,
                    bucket_half,
                    NONE,
                    Some(false),
                    Some(vec![PublicGrantee::AuthenticatedUsers]),
                ),
                Some(Severity::High),
            ),
            (
                "public policy neutralised by RestrictPublicBuckets is high",
                bucket(
                    BucketEncryption::SseS3,
                    NONE,
                    account_half,
                    Some(true),
                    None,
                ),
                Some(Severity::High),
            ),
        ];
        for (name, b, want) in cases {
            let got = check(&S3PublicAccess, &policy(""), &inventory(vec![b]));
            assert_eq!(got.as_ref().map(|v| v.severity), want, "{name}: {got:?}");
        }
        let v = check(
            &S3PublicAccess,
            &policy(""),
            &inventory(vec![bucket(
                BucketEncryption::SseS3,
                bucket_half,
                NONE,
                Some(false),
                Some(vec![]),
            )]),
        )
        .unwrap();
        assert_eq!(
            v.reasons,
            [
                "public access block off at both bucket and account level: BlockPublicPolicy, RestrictPublicBuckets"
            ]
        );
    }

    #[test]
    fn unread_configuration_is_not_evaluated_unless_what_was_read_decides() {
        let unread_enc = |mut r: Resource| {
            if let ResourceDetails::S3Bucket(b) = &mut r.details {
                b.encryption = Observed::failed(denied("s3", "GetBucketEncryption"));
            }
            r
        };
        let unread_block = |mut r: Resource| {
            if let ResourceDetails::S3Bucket(b) = &mut r.details {
                b.public_access_block = Observed::failed(denied("s3", "GetPublicAccessBlock"));
            }
            r
        };
        let p = policy("");
        let b = || bucket(BucketEncryption::None, NONE, NONE, None, None);
        assert_eq!(
            unread_operations(&S3Encryption, &p, &inventory(vec![unread_enc(b())])),
            ["GetBucketEncryption"],
            "AccessDenied on GetBucketEncryption is not 'no encryption'"
        );
        assert_eq!(
            unread_operations(&S3PublicAccess, &p, &inventory(vec![unread_block(b())])),
            ["GetPublicAccessBlock"],
            "an unread bucket block is not 'all four flags off'"
        );
        let account_blocked = unread_block(bucket(BucketEncryption::None, NONE, ALL, None, None));
        assert_eq!(
            check(&S3PublicAccess, &p, &inventory(vec![account_blocked])),
            None,
            "the account-level block alone decides"
        );
        // Flags known to be off: a finding; an unread policy status is said, not guessed.
        let mut status_unread = bucket(BucketEncryption::SseS3, NONE, NONE, None, Some(vec![]));
        if let ResourceDetails::S3Bucket(b) = &mut status_unread.details {
            b.policy_is_public = Some(Observed::failed(denied("s3", "GetBucketPolicyStatus")));
        }
        let v = check(&S3PublicAccess, &p, &inventory(vec![status_unread])).unwrap();
        assert_eq!(v.severity, Severity::High);
        assert!(
            v.reasons[1].contains("policy status could not be read"),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn secure_transport_needs_a_full_deny_of_plain_http() {
        let p = policy("");
        let with = |policy: Option<Observed<Option<Box<PolicyDocument>>>>| {
            let mut b = bucket(
                BucketEncryption::SseS3,
                NONE,
                NONE,
                Some(false),
                Some(vec![]),
            );
            if let ResourceDetails::S3Bucket(d) = &mut b.details {
                d.policy = policy;
            }
            inventory(vec![b])
        };
        let doc = |statement: &str| {
            Some(Observed::Read(Some(Box::new(
                PolicyDocument::parse(&format!(
                    r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#
                ))
                .unwrap(),
            ))))
        };
        let name = with(None).resources[0].id.to_string();
        let deny = |principal: &str, action: &str, resource: &str, condition: &str| {
            format!(
                r#"{{"Effect":"Deny","Principal":{principal},"Action":{action},"Resource":{resource},"Condition":{condition}}}"#
            )
        };
        let objects = format!(r#"["arn:aws:s3:::{name}","arn:aws:s3:::{name}/*"]"#);
        let insecure = r#"{"Bool":{"aws:SecureTransport":"false"}}"#;
        let cases: Vec<(&str, String, bool)> = vec![
            (
                "the usual statement",
                deny(r#""*""#, r#""s3:*""#, &objects, insecure),
                true,
            ),
            (
                "AWS * and a boolean",
                deny(
                    r#"{"AWS":"*"}"#,
                    r#"["s3:*"]"#,
                    r#""*""#,
                    r#"{"BoolIfExists":{"aws:securetransport":false}}"#,
                ),
                true,
            ),
            (
                "some actions only",
                deny(r#""*""#, r#""s3:GetObject""#, &objects, insecure),
                false,
            ),
            (
                "the bucket but not its objects",
                deny(
                    r#""*""#,
                    r#""s3:*""#,
                    &format!(r#""arn:aws:s3:::{name}""#),
                    insecure,
                ),
                false,
            ),
            (
                "another bucket",
                deny(r#""*""#, r#""s3:*""#, r#""arn:aws:s3:::other/*""#, insecure),
                false,
            ),
            (
                "one principal",
                deny(
                    r#"{"AWS":"arn:aws:iam::123456789012:root"}"#,
                    r#""s3:*""#,
                    &objects,
                    insecure,
                ),
                false,
            ),
            (
                "narrowed by another condition",
                deny(
                    r#""*""#,
                    r#""s3:*""#,
                    &objects,
                    r#"{"Bool":{"aws:SecureTransport":"false"},"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}"#,
                ),
                false,
            ),
            (
                "denies TLS instead",
                deny(
                    r#""*""#,
                    r#""s3:*""#,
                    &objects,
                    r#"{"Bool":{"aws:SecureTransport":"true"}}"#,
                ),
                false,
            ),
            (
                "an Allow",
                deny(r#""*""#, r#""s3:*""#, &objects, insecure).replace("Deny", "Allow"),
                false,
            ),
        ];
        for (case, statement, passes) in cases {
            let got = check(&S3SecureTransport, &p, &with(doc(&statement)));
            assert_eq!(got.is_none(), passes, "{case}: {got:?}");
        }
        let none = check(&S3SecureTransport, &p, &with(Some(Observed::Read(None)))).unwrap();
        assert_eq!(
            none.reasons,
            ["requests over plain HTTP are allowed: no bucket policy"]
        );
        assert_eq!(
            unread_operations(&S3SecureTransport, &p, &with(None)),
            ["GetBucketPolicy"]
        );
        assert_eq!(
            unread_operations(
                &S3SecureTransport,
                &p,
                &with(Some(Observed::failed(denied("s3", "GetBucketPolicy"))))
            ),
            ["GetBucketPolicy"]
        );
    }
}
