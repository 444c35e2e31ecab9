//! The local manifest signer: an Ed25519 key in a file (PKCS#8 PEM, mode 0600), its public
//! key beside it in `{path}.pub` (SubjectPublicKeyInfo PEM, preceded by a `key_id:` line),
//! both readable by OpenSSL (`openssl pkey -in key`, `openssl pkey -pubin -in key.pub`).

use archiver_core::{
    ED25519_SPKI_PREFIX, ManifestSigner, P256_SPKI_PREFIX, PublicKey, SignatureAlgorithm,
    SignatureEnvelope, SignerError, ed25519_spki, local_key_id, pem, pem_decode, public_key_pem,
};
use async_trait::async_trait;
use ed25519_dalek::Signer;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The DER prefix of an Ed25519 private key in PKCS#8 (RFC 8410): the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// An Ed25519 signing key read from a file.
pub struct Ed25519KeyFile {
    path: PathBuf,
    key: ed25519_dalek::SigningKey,
    public: PublicKey,
}

impl std::fmt::Debug for Ed25519KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519KeyFile")
            .field("path", &self.path)
            .field("key_id", &self.public.key_id)
            .finish_non_exhaustive()
    }
}

fn key_err(path: &Path, message: impl Into<String>) -> SignerError {
    SignerError::Key {
        key: path.display().to_string(),
        message: message.into(),
    }
}

/// Where the public key of the key file at `path` is exported: `{path}.pub`.
pub fn public_key_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// The text of a `.pub` file: a `key_id:` line, then the PEM public key.
pub fn public_key_file_text(key: &PublicKey) -> String {
    format!(
        "key_id: {}\nalgorithm: {}\n{}",
        key.key_id,
        key.algorithm,
        public_key_pem(&key.der)
    )
}

/// Reads a public key file: PEM `SubjectPublicKeyInfo` of an Ed25519 or P-256 key,
/// optionally preceded by a `key_id: …` line (required for P-256 keys, whose id is the KMS
/// key's ARN; an Ed25519 key's id is derived from the key).
pub fn read_public_key(path: &Path) -> Result<PublicKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let der = pem_decode("PUBLIC KEY", &text)
        .ok_or_else(|| format!("{}: no PEM public key in it", path.display()))?;
    let named = text
        .lines()
        .find_map(|l| l.strip_prefix("key_id:"))
        .map(|s| s.trim().to_string());
    if der.len() == 44 && der.starts_with(&ED25519_SPKI_PREFIX) {
        let id = local_key_id(&der);
        if named.as_ref().is_some_and(|n| *n != id) {
            return Err(format!(
                "{}: its key_id line says {}, the key's id is {id}",
                path.display(),
                named.unwrap_or_default()
            ));
        }
        Ok(PublicKey {
            algorithm: SignatureAlgorithm::Ed25519,
            key_id: id,
            der,
        })
    } else if der.len() == 91 && der.starts_with(&P256_SPKI_PREFIX) {
        Ok(PublicKey {
            algorithm: SignatureAlgorithm::EcdsaP256Sha256,
            key_id: named.ok_or_else(|| {
                format!(
                    "{}: a P-256 public key needs a `key_id: <KMS key ARN>` line before it",
                    path.display()
                )
            })?,
            der,
        })
    } else {
        Err(format!(
            "{}: not an Ed25519 or P-256 public key",
            path.display()
        ))
    }
}

impl Ed25519KeyFile {
    fn from_seed(path: &Path, seed: [u8; 32]) -> Self {
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let der = ed25519_spki(key.verifying_key().as_bytes());
        Ed25519KeyFile {
            path: path.to_path_buf(),
            public: PublicKey {
                algorithm: SignatureAlgorithm::Ed25519,
                key_id: local_key_id(&der),
                der,
            },
            key,
        }
    }

    /// Reads the key file at `path` (PKCS#8 PEM, `-----BEGIN PRIVATE KEY-----`).
    pub fn open(path: &Path) -> Result<Self, SignerError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            key_err(
                path,
                if e.kind() == std::io::ErrorKind::NotFound {
                    "no such file: create it with `zoom-archiver keys init`".to_string()
                } else {
                    e.to_string()
                },
            )
        })?;
        let der = pem_decode("PRIVATE KEY", &text)
            .ok_or_else(|| key_err(path, "no PEM private key in it"))?;
        let seed: [u8; 32] = der
            .strip_prefix(&ED25519_PKCS8_PREFIX[..])
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| key_err(path, "not an Ed25519 private key (PKCS#8)"))?;
        Ok(Self::from_seed(path, seed))
    }

    /// Creates a new key at `path` (mode 0600; its directory is created, mode 0700, when
    /// missing) and exports its public key to `{path}.pub`. Refuses to replace an existing
    /// key file.
    pub fn generate(path: &Path) -> Result<Self, SignerError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| key_err(path, format!("no randomness from the system: {e}")))?;
        let k = Self::from_seed(path, seed);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir)
                .map_err(|e| key_err(path, format!("creating {}: {e}", dir.display())))?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path).map_err(|e| {
            key_err(
                path,
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    "a key file is already there (keys are never replaced: see key rotation in CUSTODY.md)"
                        .to_string()
                } else {
                    e.to_string()
                },
            )
        })?;
        let mut der = ED25519_PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        f.write_all(pem("PRIVATE KEY", &der).as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| key_err(path, e.to_string()))?;
        let pub_path = public_key_path(path);
        std::fs::write(&pub_path, public_key_file_text(&k.public))
            .map_err(|e| key_err(&pub_path, e.to_string()))?;
        Ok(k)
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }
}

#[async_trait]
impl ManifestSigner for Ed25519KeyFile {
    async fn sign(&self, message: &[u8]) -> Result<SignatureEnvelope, SignerError> {
        Ok(SignatureEnvelope {
            algorithm: SignatureAlgorithm::Ed25519,
            key_id: self.public.key_id.clone(),
            value: hex::encode(self.key.sign(message).to_bytes()),
        })
    }

    async fn public_key(&self) -> Result<PublicKey, SignerError> {
        Ok(self.public.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use archiver_core::{signed_message, verify_signature};

    #[tokio::test]
    async fn a_generated_key_signs_reopens_and_exports_its_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/manifest-ed25519.key");
        let k = Ed25519KeyFile::generate(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o700);
        }
        let e = Ed25519KeyFile::generate(&path).unwrap_err().to_string();
        assert!(e.contains("already there"), "{e}");
        let again = Ed25519KeyFile::open(&path).unwrap();
        assert_eq!(again.public(), k.public());
        let exported = read_public_key(&public_key_path(&path)).unwrap();
        assert_eq!(&exported, k.public());
        assert!(exported.key_id.starts_with("ed25519:"));
        let msg = signed_message(&"00".repeat(32));
        let sig = again.sign(&msg).await.unwrap();
        assert_eq!(verify_signature(&exported, &msg, &sig), Ok(()));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
        archiver_testkit::conformance::manifest_signer(&again).await;
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = Ed25519KeyFile::open(&dir.path().join("none")).unwrap_err();
        assert!(e.to_string().contains("keys init"), "{e}");
        let p = dir.path().join("junk");
        std::fs::write(&p, "hello").unwrap();
        assert!(Ed25519KeyFile::open(&p).is_err());
        assert!(read_public_key(&p).is_err());
        // A P-256 key needs its KMS key id.
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.push(4);
        der.extend_from_slice(&[1u8; 64]);
        std::fs::write(&p, public_key_pem(&der)).unwrap();
        assert!(read_public_key(&p).unwrap_err().contains("key_id"));
        std::fs::write(&p, format!("key_id: arn:k\n{}", public_key_pem(&der))).unwrap();
        assert_eq!(read_public_key(&p).unwrap().key_id, "arn:k");
    }
}
