use archiver_core::{
    ManifestSigner, P256_SPKI_PREFIX, PublicKey, SignatureAlgorithm, SignatureEnvelope,
    SignerError, ed25519_spki, local_key_id,
};
use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

enum Key {
    Ed25519(Box<ed25519_dalek::SigningKey>),
    P256(Box<p256::ecdsa::SigningKey>),
}

/// A [`ManifestSigner`] with a key made from a seed: Ed25519 (as the local key file signs)
/// or ECDSA P-256 with SHA-256 in DER (as AWS KMS signs). It can be made to fail
/// ([`MemSigner::fail`]) like an unreachable KMS.
#[derive(Clone)]
pub struct MemSigner {
    key: Arc<Key>,
    public: PublicKey,
    failing: Arc<AtomicBool>,
}

impl MemSigner {
    /// An Ed25519 signer whose key is derived from `seed`.
    pub fn ed25519(seed: u8) -> Self {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let der = ed25519_spki(sk.verifying_key().as_bytes());
        MemSigner {
            public: PublicKey {
                algorithm: SignatureAlgorithm::Ed25519,
                key_id: local_key_id(&der),
                der,
            },
            key: Arc::new(Key::Ed25519(Box::new(sk))),
            failing: Arc::default(),
        }
    }

    /// An ECDSA P-256 signer whose key is derived from `seed` (not 0), named like a KMS key.
    pub fn ecdsa_p256(seed: u8) -> Self {
        let sk = p256::ecdsa::SigningKey::from_slice(&[seed.max(1); 32])
            .expect("a constant non-zero scalar below the order");
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(sk.verifying_key().to_sec1_point(false).as_bytes());
        MemSigner {
            public: PublicKey {
                algorithm: SignatureAlgorithm::EcdsaP256Sha256,
                key_id: format!("arn:aws:kms:us-east-1:123456789012:key/mem-{seed}"),
                der,
            },
            key: Arc::new(Key::P256(Box::new(sk))),
            failing: Arc::default(),
        }
    }

    /// The public key (what a verifier trusts).
    pub fn public(&self) -> PublicKey {
        self.public.clone()
    }

    /// From now on `sign` fails (retryably) while `on`.
    pub fn fail(&self, on: bool) {
        self.failing.store(on, Ordering::SeqCst);
    }
}

#[async_trait]
impl ManifestSigner for MemSigner {
    async fn sign(&self, message: &[u8]) -> Result<SignatureEnvelope, SignerError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(SignerError::Backend {
                key: self.public.key_id.clone(),
                source: "injected signer failure".into(),
                retryable: true,
            });
        }
        let value = match self.key.as_ref() {
            Key::Ed25519(k) => {
                use ed25519_dalek::Signer;
                hex::encode(k.sign(message).to_bytes())
            }
            Key::P256(k) => {
                use p256::ecdsa::signature::Signer;
                let s: p256::ecdsa::Signature = k.sign(message);
                hex::encode(s.to_der().as_bytes())
            }
        };
        Ok(SignatureEnvelope {
            algorithm: self.public.algorithm,
            key_id: self.public.key_id.clone(),
            value,
        })
    }

    async fn public_key(&self) -> Result<PublicKey, SignerError> {
        Ok(self.public.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn both_kinds_conform() {
        crate::conformance::manifest_signer(&MemSigner::ed25519(3)).await;
        crate::conformance::manifest_signer(&MemSigner::ecdsa_p256(3)).await;
        let s = MemSigner::ed25519(1);
        s.fail(true);
        assert!(s.sign(b"x").await.is_err());
    }
}
