use crate::error::Failure;
use archiver_core::{
    ManifestSigner, P256_SPKI_PREFIX, PublicKey, SignatureAlgorithm, SignatureEnvelope, SignerError,
};
use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, MessageType, SigningAlgorithmSpec};
use tokio::sync::OnceCell;

/// The manifest signer on AWS: an asymmetric KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`)
/// signing with `ECDSA_SHA_256` (KMS hashes the message with SHA-256). The key never leaves
/// KMS; signatures are DER and name the key's ARN, which is also the public key's id.
#[derive(Clone)]
pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    key_id: String,
    public: OnceCell<PublicKey>,
}

impl KmsSigner {
    /// A signer with the KMS key `key_id` (key id, ARN, alias name or alias ARN).
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        KmsSigner {
            client,
            key_id: key_id.into(),
            public: OnceCell::new(),
        }
    }

    /// The configured key id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    fn failed<E>(
        &self,
        what: &str,
        e: aws_sdk_kms::error::SdkError<E, aws_sdk_kms::config::http::HttpResponse>,
    ) -> SignerError
    where
        E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let f = Failure::of(e);
        let retryable = f.retryable;
        SignerError::Backend {
            key: format!("KMS key {} ({what})", self.key_id),
            retryable,
            source: f.into_source(),
        }
    }
}

#[async_trait]
impl ManifestSigner for KmsSigner {
    async fn sign(&self, message: &[u8]) -> Result<SignatureEnvelope, SignerError> {
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| self.failed("Sign", e))?;
        let value = out.signature().ok_or_else(|| SignerError::Key {
            key: self.key_id.clone(),
            message: "KMS Sign returned no signature".into(),
        })?;
        // KMS names the key by its ARN (moto's GetPublicKey does not: see `public_key`).
        let key_id = match out.key_id().filter(|k| k.starts_with("arn:")) {
            Some(arn) => arn.to_string(),
            None => self.public_key().await?.key_id,
        };
        Ok(SignatureEnvelope {
            algorithm: SignatureAlgorithm::EcdsaP256Sha256,
            key_id,
            value: hex::encode(value.as_ref()),
        })
    }

    async fn public_key(&self) -> Result<PublicKey, SignerError> {
        self.public
            .get_or_try_init(|| async {
                let out = self
                    .client
                    .get_public_key()
                    .key_id(&self.key_id)
                    .send()
                    .await
                    .map_err(|e| self.failed("GetPublicKey", e))?;
                let bad = |message: String| SignerError::Key {
                    key: self.key_id.clone(),
                    message,
                };
                #[allow(deprecated)]
                let spec = out.key_spec().map(|s| s.as_str().to_string()).or_else(|| {
                    out.customer_master_key_spec()
                        .map(|s| s.as_str().to_string())
                });
                if spec.as_deref() != Some(KeySpec::EccNistP256.as_str()) {
                    return Err(bad(format!(
                        "its key spec is {}, not ECC_NIST_P256",
                        spec.unwrap_or_else(|| "unknown".into())
                    )));
                }
                if !out
                    .signing_algorithms()
                    .contains(&SigningAlgorithmSpec::EcdsaSha256)
                {
                    return Err(bad("it cannot sign with ECDSA_SHA_256".into()));
                }
                let der = out
                    .public_key()
                    .map(|b| b.as_ref().to_vec())
                    .ok_or_else(|| bad("KMS returned no public key".into()))?;
                if der.len() != 91 || !der.starts_with(&P256_SPKI_PREFIX) {
                    return Err(bad("its public key is not an uncompressed P-256 key".into()));
                }
                // The key's ARN (KMS answers with it; moto with the bare key id).
                let key_id = match out.key_id().filter(|k| k.starts_with("arn:")) {
                    Some(arn) => arn.to_string(),
                    None => self
                        .client
                        .describe_key()
                        .key_id(&self.key_id)
                        .send()
                        .await
                        .map_err(|e| self.failed("DescribeKey", e))?
                        .key_metadata()
                        .and_then(|m| m.arn())
                        .ok_or_else(|| bad("KMS DescribeKey returned no ARN".into()))?
                        .to_string(),
                };
                Ok(PublicKey {
                    algorithm: SignatureAlgorithm::EcdsaP256Sha256,
                    key_id,
                    der,
                })
            })
            .await
            .cloned()
    }
}
