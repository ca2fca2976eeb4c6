//! Hostile input: whatever bytes arrive as a policy file, an IAM policy document or an
//! infraqa document, parsing never panics and a failure is always a typed error that names
//! the problem.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use infraqa_core::Policy;
use infraqa_core::iam::PolicyDocument;
use proptest::prelude::*;

/// Policy-shaped TOML: real section and key names with values of any type, so the validator
/// (not just the TOML parser) sees wrong types, bad regions, ports, globs, dates and rule ids.
fn policy_like() -> impl Strategy<Value = String> {
    let section = prop::sample::select(vec![
        "scan",
        "tags",
        "tags.allowed_values",
        "tags.aliases",
        "regions",
        "ec2",
        "s3",
        "network",
        "logging",
        "orphans",
        "cost",
        "rules.s3-encryption",
        "rules.nope",
    ]);
    let key = prop::sample::select(vec![
        "regions",
        "required",
        "applies_to",
        "approved",
        "approved_amis",
        "approved_ami_owners",
        "public_allowlist",
        "require_kms",
        "allowed_public_ports",
        "allow_public_icmp",
        "critical_tag",
        "critical_values",
        "stopped_instance_days",
        "enabled",
        "severity",
        "Environment",
        "Owner",
        "unknown_key",
    ]);
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        "[a-z0-9*?:/ -]{0,12}".prop_map(|s| format!("{s:?}")),
        prop::collection::vec("[a-z0-9*:-]{0,10}", 0..4).prop_map(|v| format!("{v:?}")),
        prop::collection::vec(any::<i32>(), 0..4).prop_map(|v| format!("{v:?}")),
        Just("\"all\"".to_owned()),
        Just("{ key = \"k\", value = \"v\" }".to_owned()),
    ];
    let entry = (key, value).prop_map(|(k, v)| format!("{k} = {v}\n"));
    let table = (section, prop::collection::vec(entry, 0..5))
        .prop_map(|(s, entries)| format!("[{s}]\n{}", entries.concat()));
    let exemption = ("[a-z-]{0,20}", "[a-z0-9*:-]{0,20}", "[0-9-]{0,12}").prop_map(|(r, g, d)| {
        format!("[[exemptions]]\nrule = {r:?}\nresource = {g:?}\nreason = \"r\"\nexpires = {d:?}\n")
    });
    prop::collection::vec(prop_oneof![table, exemption], 0..6).prop_map(|t| t.concat())
}

/// JSON values of any shape, nested a few levels.
fn json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<f64>().prop_map(|f| if f.is_finite() {
            f.to_string()
        } else {
            "0".into()
        }),
        "[A-Za-z*:%?]{0,8}".prop_map(|s| format!("{s:?}")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let key = prop::sample::select(vec![
            "Statement",
            "Effect",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Principal",
            "NotPrincipal",
            "Condition",
            "AWS",
            "Version",
            "schema_version",
            "resources",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key, inner), 0..4).prop_map(|kv| {
                let fields: Vec<String> = kv.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_as_a_policy_is_a_policy_or_a_typed_error(text in any::<String>()) {
        if let Err(e) = Policy::from_toml(&text, "fuzz.toml") {
            prop_assert!(e.to_string().contains("fuzz.toml"), "{e}");
        }
    }

    #[test]
    fn policy_shaped_files_are_validated_without_panicking(text in policy_like()) {
        match Policy::from_toml(&text, "fuzz.toml") {
            Ok(p) => {
                // What validates can be printed and parsed back to the same policy.
                let again = Policy::from_toml(&p.to_toml(), "again.toml");
                prop_assert_eq!(again.as_ref().ok(), Some(&p), "{}", p.to_toml());
            }
            Err(e) => prop_assert!(e.to_string().contains("fuzz.toml"), "{e}"),
        }
    }

    #[test]
    fn any_text_as_an_iam_document_parses_or_is_a_typed_error(text in any::<String>()) {
        let _ = PolicyDocument::parse(&text).map_err(|e| e.to_string());
    }

    #[test]
    fn json_of_any_shape_as_an_iam_document_never_panics(text in json()) {
        if let Ok(doc) = PolicyDocument::parse(&text) {
            for st in doc.statements() {
                let _ = (st.actions(), st.not_actions(), st.resources(), st.covers_all_resources());
                let _ = st.principal.as_ref().map(|p| p.is_everyone());
            }
        }
        let encoded: String = text.bytes().map(|b| format!("%{b:02X}")).collect();
        prop_assert_eq!(
            PolicyDocument::parse(&encoded).is_ok(),
            PolicyDocument::parse(&text).is_ok(),
            "URL-encoded and plain forms agree"
        );
    }

    #[test]
    fn any_document_bytes_are_a_document_or_a_typed_error(text in prop_oneof![any::<String>(), json()]) {
        let b = text.as_bytes();
        let _ = infraqa_core::document::inventory(b).map_err(|e| e.to_string());
        let _ = infraqa_core::document::findings(b).map_err(|e| e.to_string());
        let _ = infraqa_core::document::history_entry(b).map_err(|e| e.to_string());
    }
}
