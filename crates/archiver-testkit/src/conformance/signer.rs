use archiver_core::{ManifestSigner, signed_message, verify_signature};

/// The [`ManifestSigner`] contract: a signature names the signer's key (algorithm and key
/// id of [`ManifestSigner::public_key`]), verifies against that public key, and fails
/// against another message; the public key is stable between calls.
pub async fn manifest_signer(signer: &dyn ManifestSigner) {
    let key = signer.public_key().await.expect("public key");
    assert_eq!(
        signer.public_key().await.expect("public key again"),
        key,
        "the public key is stable"
    );
    for root in ["00".repeat(32), "a1".repeat(32)] {
        let msg = signed_message(&root);
        let sig = signer.sign(&msg).await.expect("sign");
        assert_eq!(
            sig.algorithm, key.algorithm,
            "the signature names the key's algorithm"
        );
        assert_eq!(sig.key_id, key.key_id, "the signature names the key's id");
        assert_eq!(
            verify_signature(&key, &msg, &sig),
            Ok(()),
            "a signature verifies against the public key"
        );
        assert!(
            verify_signature(&key, &signed_message(&"ff".repeat(32)), &sig).is_err(),
            "a signature does not verify another message"
        );
    }
}
