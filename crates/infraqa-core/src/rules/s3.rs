//! `s3-encryption` and `s3-public-access`.

use super::{EvalContext, Rule, Violation};
use crate::finding::{Evidence, RuleId, Severity};
use crate::model::{BucketEncryption, PublicAccessBlock, Resource, ResourceDetails};

/// Buckets without default encryption (or without SSE-KMS when the policy requires it).
pub struct S3Encryption;

impl Rule for S3Encryption {
    fn id(&self) -> RuleId {
        RuleId::S3Encryption
    }

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        matches!(r.details, ResourceDetails::S3Bucket(_))
    }

    fn check(&self, cx: &EvalContext<'_>, r: &Resource) -> Option<Violation> {
        let ResourceDetails::S3Bucket(b) = &r.details else {
            return None;
        };
        let reason = match &b.encryption {
            BucketEncryption::None => "no default encryption configured".to_owned(),
            BucketEncryption::SseS3 if cx.policy.s3.require_kms => {
                "default encryption is SSE-S3 (AES256); the policy requires SSE-KMS".to_owned()
            }
            _ => return None,
        };
        Some(Violation::new(
            Severity::High,
            vec![reason],
            format!(
                "aws s3api put-bucket-encryption --bucket {} --server-side-encryption-configuration '{{\"Rules\":[{{\"ApplyServerSideEncryptionByDefault\":{{\"SSEAlgorithm\":\"aws:kms\"}},\"BucketKeyEnabled\":true}}]}}'",
                r.id
            ),
            vec![Evidence::BucketEncryption {
                found: b.encryption.clone(),
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

    fn applies(&self, _cx: &EvalContext<'_>, r: &Resource) -> bool {
        matches!(r.details, ResourceDetails::S3Bucket(_))
    }

    fn check(&self, _cx: &EvalContext<'_>, r: &Resource) -> Option<Violation> {
        let ResourceDetails::S3Bucket(b) = &r.details else {
            return None;
        };
        let eff =
            PublicAccessBlock::effective(b.public_access_block, b.account_public_access_block);
        if eff.all_blocked() {
            return None;
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
        let public_policy = b.policy_is_public == Some(true) && !eff.restrict_public_buckets;
        let grants = b.acl_public_grants.as_deref().unwrap_or_default();
        let public_acl = !grants.is_empty() && !eff.ignore_public_acls;
        if public_policy {
            reasons.push("the bucket policy makes it public now".to_owned());
        }
        if public_acl {
            let names: Vec<String> = grants.iter().map(|g| format!("{g:?}")).collect();
            reasons.push(format!(
                "the ACL grants access to {} now",
                names.join(" and ")
            ));
        }
        Some(Violation::new(
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
                encryption,
                public_access_block: bucket_block,
                account_public_access_block: account_block,
                policy_is_public: policy_public,
                acl_public_grants: acl,
                access_logging: false,
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
}
