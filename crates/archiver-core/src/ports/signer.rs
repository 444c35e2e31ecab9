//! The manifest signer: signs a sealed day's Merkle root (an Ed25519 key file locally, an
//! AWS KMS asymmetric key on AWS), and the verification of its signatures, which needs
//! only the public key.
//!
//! Public keys travel as DER `SubjectPublicKeyInfo` (what AWS KMS `GetPublicKey` returns,
//! and what `openssl pkey -pubin` reads once PEM-armoured). Signatures are raw 64 bytes for
//! Ed25519 (RFC 8032) and DER `ECDSA-Sig-Value` for ECDSA P-256 with SHA-256 (what KMS
//! `Sign` returns and `openssl dgst -verify` reads).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A signature algorithm of the manifests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SignatureAlgorithm {
    /// Ed25519 (RFC 8032, pure: the message itself is signed).
    #[serde(rename = "ed25519")]
    Ed25519,
    /// ECDSA over NIST P-256 of the message's SHA-256 (KMS `ECDSA_SHA_256`).
    #[serde(rename = "ecdsa-p256-sha256")]
    EcdsaP256Sha256,
}

impl SignatureAlgorithm {
    /// The name written into manifests (`ed25519`, `ecdsa-p256-sha256`).
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureAlgorithm::Ed25519 => "ed25519",
            SignatureAlgorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
        }
    }
}

impl std::fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signature with what is needed to check it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureEnvelope {
    /// The algorithm.
    pub algorithm: SignatureAlgorithm,
    /// The signing key's id ([`PublicKey::key_id`]).
    pub key_id: String,
    /// The signature, lowercase hex (Ed25519: 64 bytes; ECDSA: DER).
    pub value: String,
}

/// A public key to check signatures with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// The algorithm its signatures use.
    pub algorithm: SignatureAlgorithm,
    /// Its id, as signatures name it: `ed25519:` and the first 16 hex digits of the SHA-256
    /// of its DER for local keys ([`local_key_id`]); the key's ARN for KMS keys.
    pub key_id: String,
    /// DER `SubjectPublicKeyInfo`.
    pub der: Vec<u8>,
}

/// Why a signer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The key cannot be used (missing file, wrong key spec, unreadable).
    #[error("signing key {key}: {message}")]
    Key {
        /// The key file or key id.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The signing service failed.
    #[error("signing with {key} failed: {source}")]
    Backend {
        /// The key.
        key: String,
        /// The service's error.
        source: super::BoxError,
        /// Whether trying again may succeed.
        retryable: bool,
    },
}

/// Signs manifests: the sealing service hands it the message ([`signed_message`] of a
/// root) and stores the envelope beside the manifest.
#[async_trait]
pub trait ManifestSigner: Send + Sync {
    /// Signs `message`.
    async fn sign(&self, message: &[u8]) -> Result<SignatureEnvelope, SignerError>;
    /// The public key of the signing key.
    async fn public_key(&self) -> Result<PublicKey, SignerError>;
}

/// The DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410): the 32-byte key follows.
pub const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The DER prefix of a P-256 `SubjectPublicKeyInfo` (id-ecPublicKey, prime256v1, RFC 5480)
/// with an uncompressed point: the 65-byte point (`0x04 || x || y`) follows.
pub const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The `SubjectPublicKeyInfo` DER of a raw Ed25519 public key.
pub fn ed25519_spki(raw: &[u8; 32]) -> Vec<u8> {
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(raw);
    der
}

/// The id of a local key: `ed25519:` and the first 16 hex digits of the SHA-256 of its DER.
pub fn local_key_id(der: &[u8]) -> String {
    format!("ed25519:{}", &hex::encode(Sha256::digest(der))[..16])
}

/// PEM armour of a DER `SubjectPublicKeyInfo` (`-----BEGIN PUBLIC KEY-----`).
pub fn public_key_pem(der: &[u8]) -> String {
    pem("PUBLIC KEY", der)
}

/// PEM armour (RFC 7468) of `der` with `label`, lines of 64 characters.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside PEM armour with `label`; `None` when it is not such a document.
pub fn pem_decode(label: &str, text: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64_decode(&body)
}

fn base64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// What the signature of a manifest signs: the ASCII bytes
/// `zoom-archiver-manifest-v1:` followed by the Merkle root in lowercase hex.
pub fn signed_message(root_hex: &str) -> Vec<u8> {
    format!("zoom-archiver-manifest-v1:{root_hex}").into_bytes()
}

/// Checks `sig` over `message` against `key`: the algorithms and key ids must agree and
/// the signature must verify. The error says what does not hold.
pub fn verify_signature(
    key: &PublicKey,
    message: &[u8],
    sig: &SignatureEnvelope,
) -> Result<(), String> {
    if sig.algorithm != key.algorithm {
        return Err(format!(
            "signed with {}, the public key of {} is {}",
            sig.algorithm, key.key_id, key.algorithm
        ));
    }
    if sig.key_id != key.key_id {
        return Err(format!(
            "signed by key {}, not by {}",
            sig.key_id, key.key_id
        ));
    }
    let value = hex::decode(&sig.value).map_err(|e| format!("signature is not hex: {e}"))?;
    match key.algorithm {
        SignatureAlgorithm::Ed25519 => {
            let raw: [u8; 32] = key
                .der
                .strip_prefix(&ED25519_SPKI_PREFIX[..])
                .and_then(|r| r.try_into().ok())
                .ok_or("the public key is not an Ed25519 SubjectPublicKeyInfo")?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&raw)
                .map_err(|e| format!("the public key is not valid: {e}"))?;
            let s = ed25519_dalek::Signature::from_slice(&value)
                .map_err(|_| "the signature is not 64 bytes".to_string())?;
            vk.verify_strict(message, &s)
                .map_err(|_| "the signature does not verify".to_string())
        }
        SignatureAlgorithm::EcdsaP256Sha256 => {
            use p256::ecdsa::signature::Verifier;
            let point = key
                .der
                .strip_prefix(&P256_SPKI_PREFIX[..])
                .filter(|p| p.len() == 65)
                .ok_or("the public key is not a P-256 SubjectPublicKeyInfo")?;
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|e| format!("the public key is not valid: {e}"))?;
            let s = p256::ecdsa::Signature::from_der(&value)
                .map_err(|_| "the signature is not a DER ECDSA signature".to_string())?;
            vk.verify(message, &s)
                .map_err(|_| "the signature does not verify".to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_pem_round_trip() {
        for n in 0..70 {
            let data: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            let p = pem("PUBLIC KEY", &data);
            assert_eq!(pem_decode("PUBLIC KEY", &p), Some(data));
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64_encode(b"foob"), "Zm9vYg==");
        assert!(pem_decode("PUBLIC KEY", "nothing").is_none());
    }

    #[test]
    fn ed25519_signatures_verify_and_others_do_not() {
        use ed25519_dalek::Signer;
        let sk = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let der = ed25519_spki(sk.verifying_key().as_bytes());
        let key = PublicKey {
            algorithm: SignatureAlgorithm::Ed25519,
            key_id: local_key_id(&der),
            der,
        };
        let msg = signed_message(&"ab".repeat(32));
        let sig = SignatureEnvelope {
            algorithm: SignatureAlgorithm::Ed25519,
            key_id: key.key_id.clone(),
            value: hex::encode(sk.sign(&msg).to_bytes()),
        };
        assert_eq!(verify_signature(&key, &msg, &sig), Ok(()));
        let e = verify_signature(&key, b"another message", &sig).unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        let mut other = sig.clone();
        other.key_id = "ed25519:0000000000000000".into();
        assert!(
            verify_signature(&key, &msg, &other)
                .unwrap_err()
                .contains("signed by key")
        );
        let mut bad = sig.clone();
        bad.value.replace_range(0..2, "00");
        assert!(verify_signature(&key, &msg, &bad).is_err());
    }

    #[test]
    fn ecdsa_p256_der_signatures_verify() {
        use p256::ecdsa::signature::Signer;
        let sk = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let point = sk.verifying_key().to_sec1_point(false);
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(point.as_bytes());
        let key = PublicKey {
            algorithm: SignatureAlgorithm::EcdsaP256Sha256,
            key_id: "arn:aws:kms:us-east-1:123456789012:key/k".into(),
            der,
        };
        let msg = signed_message(&"cd".repeat(32));
        let s: p256::ecdsa::Signature = sk.sign(&msg);
        let sig = SignatureEnvelope {
            algorithm: SignatureAlgorithm::EcdsaP256Sha256,
            key_id: key.key_id.clone(),
            value: hex::encode(s.to_der().as_bytes()),
        };
        assert_eq!(verify_signature(&key, &msg, &sig), Ok(()));
        assert!(verify_signature(&key, b"x", &sig).is_err());
        let mut wrong_alg = sig.clone();
        wrong_alg.algorithm = SignatureAlgorithm::Ed25519;
        assert!(verify_signature(&key, &msg, &wrong_alg).is_err());
    }

    /// A signature made by AWS KMS (by moto: ECC_NIST_P256, ECDSA_SHA_256, RAW message)
    /// verifies here with the key's `GetPublicKey` DER.
    #[test]
    fn a_kms_signature_verifies() {
        let key = PublicKey {
            algorithm: SignatureAlgorithm::EcdsaP256Sha256,
            key_id: "arn:aws:kms:us-east-1:123456789012:key/0dbc91ad-2ff6-4da1-91db-c952d3a4d699"
                .into(),
            der: hex::decode(concat!(
                "3059301306072a8648ce3d020106082a8648ce3d03010703420004a9be7a5b2409a28336c1a7",
                "80d911f7a7a1fd34ff864976b14b76ee4ddfa2d1d3acada003b3c918666741a2c92117fe3946",
                "10dec27ef7f5563ad335aa41d5e001"
            ))
            .unwrap(),
        };
        let sig = SignatureEnvelope {
            algorithm: SignatureAlgorithm::EcdsaP256Sha256,
            key_id: key.key_id.clone(),
            value: concat!(
                "304402203955c68cd12a56a7aabab5263f49566eccbd58bc0a10dcbd236cdebf30cac16702",
                "206f65f28dfd17b5bc48bdcd0dfcebf7d9b0a1e56246e621d0bb5e876a2f72dea3"
            )
            .into(),
        };
        let msg = signed_message(&"ab".repeat(32));
        assert_eq!(verify_signature(&key, &msg, &sig), Ok(()));
        assert!(verify_signature(&key, &signed_message(&"ac".repeat(32)), &sig).is_err());
    }
}
