//! `infra/template.yaml` declares exactly the table of [`archiver_aws::table_definition`]
//! and the queue settings the adapters and `init_resources` assume. No emulator needed.

use archiver_aws::table_definition;
use serde_norway::Value;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v:?}"))
        .to_string()
}

fn key_schema(v: &Value) -> (String, String) {
    let ks = v.as_sequence().unwrap();
    let find = |kind: &str| {
        ks.iter()
            .find(|k| k["KeyType"].as_str() == Some(kind))
            .map(|k| s(&k["AttributeName"]))
            .unwrap_or_default()
    };
    assert_eq!(ks.len(), 2, "{v:?}");
    (find("HASH"), find("RANGE"))
}

#[test]
fn the_table_matches_table_definition() {
    let t = template();
    let props = &t["Resources"]["MetadataTable"]["Properties"];
    let def = table_definition();
    assert_eq!(
        key_schema(&props["KeySchema"]),
        (def.partition_key.clone(), def.sort_key.clone())
    );
    let mut attrs: Vec<String> = props["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["AttributeType"], Value::from("S"));
            s(&a["AttributeName"])
        })
        .collect();
    attrs.sort();
    assert_eq!(attrs, def.attributes());
    let gsis: Vec<(String, (String, String))> = props["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|g| {
            assert_eq!(g["Projection"]["ProjectionType"], Value::from("ALL"));
            (s(&g["IndexName"]), key_schema(&g["KeySchema"]))
        })
        .collect();
    let want: Vec<(String, (String, String))> = def
        .gsis
        .iter()
        .map(|g| {
            (
                g.name.clone(),
                (g.partition_key.clone(), g.sort_key.clone()),
            )
        })
        .collect();
    assert_eq!(gsis, want);
    assert_eq!(props["BillingMode"], Value::from("PAY_PER_REQUEST"));
    assert_eq!(
        s(&props["TimeToLiveSpecification"]["AttributeName"]),
        def.ttl_attribute
    );
    assert_eq!(
        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        Value::from(true)
    );
}

#[test]
fn the_queue_redrives_after_max_receive_count_and_outlives_the_downloader() {
    let t = template();
    let q = &t["Resources"]["TaskQueue"]["Properties"];
    assert_eq!(
        q["RedrivePolicy"]["maxReceiveCount"],
        Value::from(archiver_aws::MAX_RECEIVE_COUNT)
    );
    let timeout = t["Resources"]["DownloaderFunction"]["Properties"]["Timeout"]
        .as_u64()
        .unwrap();
    assert_eq!(q["VisibilityTimeout"].as_u64().unwrap(), 6 * timeout);
    assert_eq!(
        q["VisibilityTimeout"].as_u64().unwrap(),
        archiver_aws::QUEUE_VISIBILITY_SECS
    );
    let events =
        &t["Resources"]["DownloaderFunction"]["Properties"]["Events"]["Tasks"]["Properties"];
    assert_eq!(events["BatchSize"], Value::from(5));
    assert_eq!(
        events["FunctionResponseTypes"][0],
        Value::from("ReportBatchItemFailures")
    );
}

/// The string of a scalar, through a CloudFormation tag (`!Sub "..."`) when there is one.
fn text(v: &Value) -> String {
    match v {
        Value::Tagged(t) => text(&t.value),
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// Least privilege on the bucket (issue 14): a function writes only under its tenant's own
/// prefix, and the tenant configuration object — which names the OAuth endpoint the client
/// secret is sent to — is read-only to every function (no SAM bucket-wide write policy).
#[test]
fn functions_write_only_under_the_tenant_prefix_and_never_the_configuration() {
    let t = template();
    for f in ["PollerFunction", "DownloaderFunction", "ReconcilerFunction"] {
        let policies = t["Resources"][f]["Properties"]["Policies"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{f} has policies"));
        for p in policies {
            let m = p.as_mapping().unwrap();
            for (k, _) in m {
                let k = text(k);
                assert!(
                    !matches!(
                        k.as_str(),
                        "S3WritePolicy" | "S3CrudPolicy" | "S3FullAccessPolicy"
                    ),
                    "{f} uses the bucket-wide {k}"
                );
            }
            let Some(statements) = p.get("Statement").and_then(Value::as_sequence) else {
                continue;
            };
            for st in statements {
                let actions: Vec<String> = match &st["Action"] {
                    Value::Sequence(a) => a.iter().map(text).collect(),
                    other => vec![text(other)],
                };
                let writes = actions
                    .iter()
                    .any(|a| a.starts_with("s3:Put") || a.starts_with("s3:Delete") || a == "s3:*");
                if writes {
                    let resource = text(&st["Resource"]);
                    assert!(
                        resource.ends_with("/${TenantId}/*"),
                        "{f} writes {resource}: only its tenant's prefix"
                    );
                }
                let resource = text(&st["Resource"]);
                if resource.contains("TenantConfigS3Key") {
                    assert_eq!(
                        actions,
                        ["s3:GetObject"],
                        "{f}: the configuration is read-only"
                    );
                }
            }
        }
    }
}

/// Custody (issue 16): the stack's manifest key is an asymmetric P-256 signing key kept
/// when the stack goes, named to the reconciler by `MANIFEST_KMS_KEY_ID` (what
/// `stack::settings_from_env` reads), usable by it for `kms:Sign` (ECDSA_SHA_256 over a raw
/// message only) and `kms:GetPublicKey`, and given as an output.
#[test]
fn the_reconciler_signs_manifests_with_the_stack_key() {
    let t = template();
    let key = &t["Resources"]["ManifestSigningKey"];
    assert_eq!(key["Type"], Value::from("AWS::KMS::Key"));
    assert_eq!(key["DeletionPolicy"], Value::from("Retain"));
    assert_eq!(key["Properties"]["KeySpec"], Value::from("ECC_NIST_P256"));
    assert_eq!(key["Properties"]["KeyUsage"], Value::from("SIGN_VERIFY"));
    let f = &t["Resources"]["ReconcilerFunction"]["Properties"];
    let env = &f["Environment"]["Variables"]["MANIFEST_KMS_KEY_ID"];
    let env = format!("{env:?}");
    assert!(
        env.contains("GetAtt") && env.contains("ManifestSigningKey.Arn"),
        "{env}"
    );
    let mut granted = Vec::new();
    for p in f["Policies"].as_sequence().unwrap() {
        for st in p
            .get("Statement")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            if format!("{:?}", st["Resource"]).contains("ManifestSigningKey") {
                granted.push(text(&st["Action"]));
                if text(&st["Action"]) == "kms:Sign" {
                    let c = &st["Condition"]["StringEquals"];
                    assert_eq!(c["kms:SigningAlgorithm"], Value::from("ECDSA_SHA_256"));
                    assert_eq!(c["kms:MessageType"], Value::from("RAW"));
                }
            }
        }
    }
    granted.sort();
    assert_eq!(granted, ["kms:GetPublicKey", "kms:Sign"]);
    for other in ["PollerFunction", "DownloaderFunction"] {
        let p = format!("{:?}", t["Resources"][other]["Properties"]["Policies"]);
        assert!(!p.contains("ManifestSigningKey"), "{other} cannot sign");
    }
    assert!(t["Outputs"]["ManifestSigningKeyId"]["Value"] != Value::Null);
}
