//! The KMS manifest signer against `moto_server` (endpoint in env `MOTO`; skipped without
//! it unless `ZA_REQUIRE_MOTO=1`): an ECC_NIST_P256 key signs with ECDSA_SHA_256 and its
//! signatures verify with the core's check; a key of another spec is refused by name;
//! `aws init` creates the key behind an alias once.

use archiver_aws::{AwsSettings, KmsSigner, init_resources, sdk_config};
use archiver_core::{ManifestSigner, SignatureAlgorithm, signed_message, verify_signature};
use aws_sdk_kms::types::{KeySpec, KeyUsageType};

async fn client() -> Option<(aws_sdk_kms::Client, String)> {
    let endpoint = archiver_testkit::moto_endpoint()?;
    let s = AwsSettings {
        region: "us-east-1".into(),
        endpoint_url: Some(endpoint.clone()),
        bucket: "unused".into(),
        table: "unused".into(),
        queue_name: "unused".into(),
        dlq_name: None,
        kms_key_id: None,
        key_prefix: None,
        object_lock: None,
        manifest_key_id: None,
    };
    Some((aws_sdk_kms::Client::new(&sdk_config(&s).await), endpoint))
}

#[tokio::test]
async fn an_ecc_p256_key_signs_manifests_that_verify() {
    let Some((kms, _)) = client().await else {
        return;
    };
    let key = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    let id = key.key_metadata().unwrap().key_id().to_string();
    let signer = KmsSigner::new(kms.clone(), &id);
    archiver_testkit::conformance::manifest_signer(&signer).await;
    let public = signer.public_key().await.unwrap();
    assert_eq!(public.algorithm, SignatureAlgorithm::EcdsaP256Sha256);
    assert!(public.key_id.ends_with(&id), "the ARN: {}", public.key_id);
    // Through an alias: the signatures still name the key's ARN.
    let alias = format!("alias/za-test-{}", fastrand::u32(..));
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    let by_alias = KmsSigner::new(kms.clone(), &alias);
    let msg = signed_message(&"12".repeat(32));
    let sig = by_alias.sign(&msg).await.unwrap();
    assert_eq!(sig.key_id, public.key_id);
    assert_eq!(verify_signature(&public, &msg, &sig), Ok(()));
}

#[tokio::test]
async fn a_key_of_another_spec_is_refused_by_name() {
    let Some((kms, _)) = client().await else {
        return;
    };
    let key = kms.create_key().send().await.unwrap();
    let id = key.key_metadata().unwrap().key_id().to_string();
    let e = KmsSigner::new(kms, &id).public_key().await.unwrap_err();
    assert!(e.to_string().contains("not ECC_NIST_P256"), "{e}");
}

#[tokio::test]
async fn aws_init_creates_the_manifest_key_behind_its_alias_once() {
    let Some((kms, endpoint)) = client().await else {
        return;
    };
    let name = format!("za-kms-{:08x}", fastrand::u32(..));
    let s = AwsSettings {
        region: "us-east-1".into(),
        endpoint_url: Some(endpoint),
        bucket: name.clone(),
        table: name.clone(),
        queue_name: name.clone(),
        dlq_name: None,
        kms_key_id: None,
        key_prefix: None,
        object_lock: None,
        manifest_key_id: Some(format!("alias/{name}")),
    };
    let first = init_resources(&s).await.unwrap();
    assert!(
        first.created.contains(&format!("kms:alias/{name}")),
        "{first:?}"
    );
    let again = init_resources(&s).await.unwrap();
    assert!(
        again.existing.contains(&format!("kms:alias/{name}")),
        "{again:?}"
    );
    let signer = KmsSigner::new(kms, format!("alias/{name}"));
    archiver_testkit::conformance::manifest_signer(&signer).await;
}
