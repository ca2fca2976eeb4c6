//! `s3-encryption` and `s3-public-access`.

use super::{EvalContext, Rule, Verdict, Violation};
use crate::finding::{Evidence, RuleId, Severity};
use crate::model::{BucketEncryption, PublicAccessBlock, Resource, ResourceDetails};
use crate::observed::Observed;

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
        &[("s3", "ListBuckets"), ("s3", "GetBucketLocation")]
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
}
