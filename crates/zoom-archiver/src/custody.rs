//! Custody on the command line: the manifest signer of each backend (the Ed25519 key file
//! of `[custody] signing_key` locally, the `[aws] manifest_key_id` KMS key on AWS), the
//! public keys trusted when verifying (the signer's and `[custody] public_keys`), and the
//! `keys`, `seal`, `verify --day` and `verify --object` commands. The rules are in
//! `archiver_core::services::manifest`.

use crate::app::Stores;
use crate::cli::{Backend, KeysCommand, StatusFormat};
use crate::config::FileConfig;
use anyhow::{Context, Result};
use archiver_core::services::manifest::{
    Custody, DayCheck, InclusionProof, ReadOptions, SealMode, SealOutcome, SealStatus,
    inclusion_proof, seal, verify_day,
};
use archiver_core::services::reconcile::Reconciler;
use archiver_core::{
    AuditAction, AuditDraft, AuditLog, ConfigError, ManifestSigner, PublicKey, TenantConfig,
    TenantId,
};
use archiver_local::{Ed25519KeyFile, public_key_file_text, public_key_path, read_public_key};
use chrono::NaiveDate;
use std::process::ExitCode;
use std::sync::Arc;

/// The manifest signer of `backend`, or why there is none.
pub async fn signer(
    cfg: &FileConfig,
    backend: Backend,
) -> Result<Result<Arc<dyn ManifestSigner>, String>> {
    match backend {
        Backend::Local => {
            let path = cfg.signing_key_path().map_err(|e| cfg.problem(e))?;
            if !path.exists() {
                return Ok(Err(format!(
                    "no manifest signing key at {}: create it with `zoom-archiver keys init`",
                    path.display()
                )));
            }
            let key = Ed25519KeyFile::open(&path)
                .map_err(|e| cfg.problem(ConfigError::new("custody.signing_key", e.to_string())))?;
            Ok(Ok(Arc::new(key)))
        }
        Backend::Aws => {
            let settings = cfg.aws().map_err(|e| cfg.problem(e))?;
            if settings.manifest_key_id.is_none() {
                return Ok(Err(
                    "no manifest signing key: set [aws] manifest_key_id (the stack's ManifestSigningKeyArn output)"
                        .into(),
                ));
            }
            let clock: Arc<dyn archiver_core::Clock> = Arc::new(archiver_core::SystemClock);
            let adapters = archiver_aws::connect(settings, clock)
                .await
                .context("connecting to AWS")?;
            Ok(adapters
                .signer
                .map(|s| s as Arc<dyn ManifestSigner>)
                .ok_or_else(|| "no manifest signing key".to_string()))
        }
    }
}

/// `reconciler`, sealing each day that becomes final with the backend's signer and `audit`;
/// without a signer it is returned as it is, with a warning on stderr (days are sealed
/// once there is one: `seal --day`, or the next `reconcile`).
pub async fn attach(
    reconciler: Reconciler,
    cfg: &FileConfig,
    backend: Backend,
    audit: Arc<dyn AuditLog>,
) -> Result<Reconciler> {
    Ok(match signer(cfg, backend).await? {
        Ok(signer) => reconciler.with_custody(Custody {
            signer,
            audit,
            actor: crate::app::actor(),
        }),
        Err(why) => {
            eprintln!("warning: final days are not sealed: {why}");
            reconciler
        }
    })
}

/// The public keys trusted when verifying: the signer's (locally its exported
/// `{signing_key}.pub`, else the key file's) and every `[custody] public_keys` file.
pub async fn trusted_keys(cfg: &FileConfig, backend: Backend) -> Result<Vec<PublicKey>> {
    let mut keys = Vec::new();
    match backend {
        Backend::Local => {
            let path = cfg.signing_key_path().map_err(|e| cfg.problem(e))?;
            let exported = public_key_path(&path);
            if exported.exists() {
                keys.push(
                    read_public_key(&exported)
                        .map_err(|e| cfg.problem(ConfigError::new("custody.signing_key", e)))?,
                );
            } else if let Ok(Ok(s)) = signer(cfg, backend).await {
                keys.push(s.public_key().await?);
            }
        }
        Backend::Aws => {
            if let Ok(s) = signer(cfg, backend).await? {
                keys.push(
                    s.public_key()
                        .await
                        .context("reading the manifest key's public key from KMS")?,
                );
            }
        }
    }
    for (i, p) in cfg.custody.public_keys.iter().enumerate() {
        let k = read_public_key(p)
            .map_err(|e| cfg.problem(ConfigError::new(format!("custody.public_keys[{i}]"), e)))?;
        keys.push(k);
    }
    if keys.is_empty() {
        return Err(cfg
            .problem(ConfigError::new(
                "custody",
                "no public key to verify manifests with (no signing key, no [custody] public_keys)",
            ))
            .into());
    }
    Ok(keys)
}

/// Locally, makes the manifests just written read-only files (mode 0444): the embedded
/// default's stand-in for S3 Object Lock (their hashes are in the next day's manifest).
pub fn protect(cfg: &FileConfig, backend: Backend, outcomes: &[SealOutcome]) {
    if backend != Backend::Local {
        return;
    }
    let Ok(root) = cfg.data_dir().map(|d| d.join("objects")) else {
        return;
    };
    for o in outcomes {
        if !matches!(o.status, SealStatus::Sealed | SealStatus::Addendum) {
            continue;
        }
        let Some(key) = &o.key else { continue };
        let p = root.join(key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Err(e) = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o444)) {
                eprintln!("warning: {} could not be made read-only: {e}", p.display());
            }
        }
    }
}

/// One line of a day sealed (or looked at again).
pub fn seal_line(o: &SealOutcome) -> String {
    let key = o.key.as_deref().unwrap_or("-");
    let root = o.root.as_deref().unwrap_or("-");
    match o.status {
        SealStatus::Sealed => format!(
            "{} {} sealed: {key} ({} objects, {} CDRs), root {root}",
            o.tenant, o.day, o.objects, o.cdrs
        ),
        SealStatus::Addendum => format!(
            "{} {} addendum {}: {key} ({} objects, {} CDRs changed or new since the seal), root {root}",
            o.tenant,
            o.day,
            o.part.unwrap_or_default(),
            o.objects,
            o.cdrs
        ),
        SealStatus::AlreadySealed => format!(
            "{} {} already sealed: {key}, root {root} (nothing changed since)",
            o.tenant, o.day
        ),
        SealStatus::NotSealed => format!("{} {} not sealed", o.tenant, o.day),
    }
}

/// `zoom-archiver keys init|show`.
pub async fn keys(cfg: &FileConfig, backend: Backend, what: &KeysCommand) -> Result<ExitCode> {
    match what {
        KeysCommand::Init => {
            if backend == Backend::Aws {
                eprintln!(
                    "error: on AWS the manifests are signed by the stack's KMS key ([aws] manifest_key_id; `aws init` creates an alias/… key): `zoom-archiver --backend aws keys show` exports its public key"
                );
                return Ok(ExitCode::from(2));
            }
            let path = cfg.signing_key_path().map_err(|e| cfg.problem(e))?;
            let key = Ed25519KeyFile::generate(&path)
                .map_err(|e| cfg.problem(ConfigError::new("custody.signing_key", e.to_string())))?;
            println!("created {} (mode 0600)", path.display());
            println!(
                "public key exported to {}",
                public_key_path(&path).display()
            );
            print!("{}", public_key_file_text(key.public()));
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Show { out } => {
            let key = match signer(cfg, backend).await? {
                Ok(s) => s.public_key().await?,
                Err(why) => {
                    eprintln!("error: {why}");
                    return Ok(ExitCode::from(2));
                }
            };
            let text = public_key_file_text(&key);
            if let Some(out) = out {
                std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
            }
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `zoom-archiver seal --day D`: each tenant's day sealed (or looked at again).
pub async fn seal_days(
    cfg: &FileConfig,
    backend: Backend,
    stores: &Stores,
    tenants: &[TenantConfig],
    day: NaiveDate,
) -> Result<ExitCode> {
    let signer = match signer(cfg, backend).await? {
        Ok(s) => s,
        Err(why) => {
            return Err(cfg
                .problem(ConfigError::new(
                    if backend == Backend::Aws {
                        "aws.manifest_key_id"
                    } else {
                        "custody.signing_key"
                    },
                    why,
                ))
                .into());
        }
    };
    let custody = Custody {
        signer,
        audit: stores.audit.clone(),
        actor: crate::app::actor(),
    };
    let mut failed = false;
    for t in tenants {
        match seal(&stores.ports, &custody, t, day, SealMode::Seal).await {
            Ok(o) => {
                protect(cfg, backend, std::slice::from_ref(&o));
                println!("{}", seal_line(&o));
            }
            Err(e) => {
                eprintln!("{} {day}: {e}", t.id);
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The lines `verify --day` prints: one per problem, then a summary per tenant.
pub fn day_lines(c: &DayCheck, took: std::time::Duration) -> String {
    let mut s = String::new();
    for f in &c.findings {
        s.push_str(&format!(
            "{:<9} {}: {}\n",
            f.check.label(),
            f.subject,
            f.problem
        ));
    }
    let day = c.day.map(|d| d.to_string()).unwrap_or_default();
    s.push_str(&format!(
        "{} {day}: {} manifests, {} objects ({:.1} MiB) and {} CDRs checked, audit chain walked to entry {}{} in {:.1} s: {}\n",
        c.tenant,
        c.manifests.len(),
        c.objects,
        c.bytes as f64 / 1_048_576.0,
        c.cdrs,
        c.audit_entries,
        if c.disposed > 0 {
            format!(", {} disposed of since", c.disposed)
        } else {
            String::new()
        },
        took.as_secs_f64(),
        if c.intact() {
            "intact".to_string()
        } else {
            format!("{} problems", c.findings.len())
        }
    ));
    s
}

/// `zoom-archiver verify --day D`: each tenant's sealed day checked.
pub async fn verify_days(
    cfg: &FileConfig,
    backend: Backend,
    stores: &Stores,
    tenants: &[TenantId],
    day: NaiveDate,
    format: StatusFormat,
) -> Result<ExitCode> {
    let keys = trusted_keys(cfg, backend).await?;
    // Ranged parallel reads pay off on S3; a local file streams as fast alone.
    let read = ReadOptions {
        parallel_streams: if backend == Backend::Aws { 4 } else { 1 },
        ..ReadOptions::default()
    };
    let mut intact = true;
    let mut all = Vec::new();
    for t in tenants {
        let started = std::time::Instant::now();
        let c = verify_day(&stores.ports, stores.audit.as_ref(), &keys, t, day, &read)
            .await
            .with_context(|| format!("tenant {t}: checking {day}"))?;
        intact &= c.intact();
        let result = if c.intact() {
            "intact".to_string()
        } else {
            format!("{} problems", c.findings.len())
        };
        record_verify(stores.audit.as_ref(), t, &c.manifests, day, &result).await?;
        if format == StatusFormat::Table {
            print!("{}", day_lines(&c, started.elapsed()));
        }
        all.push(c);
    }
    if format == StatusFormat::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "days": all }))?
        );
    }
    Ok(if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A `verify` entry in the tenant's audit trail (the check read the day's objects).
async fn record_verify(
    audit: &dyn AuditLog,
    tenant: &TenantId,
    manifests: &[String],
    day: NaiveDate,
    result: &str,
) -> Result<()> {
    archiver_core::services::audit::record(
        audit,
        AuditDraft {
            tenant: tenant.clone(),
            at: chrono::Utc::now(),
            actor: crate::app::actor(),
            action: AuditAction::Verify,
            objects: manifests.to_vec(),
            reason: Some(format!("verify --day {day}")),
            result: result.to_string(),
        },
    )
    .await
    .context("recording the check in the audit trail")?;
    Ok(())
}

/// The lines `verify --object` prints.
pub fn proof_lines(p: &InclusionProof) -> String {
    let mut s = format!("manifest   {}\n", p.manifest);
    s.push_str(&format!(
        "signature  {} by {}: {}\n",
        p.signature.algorithm,
        p.signature.key_id,
        p.signature_problem.as_deref().unwrap_or("ok")
    ));
    s.push_str(&format!(
        "leaf       {} of {}: {}\n",
        p.leaf_index, p.tree_size, p.line
    ));
    s.push_str(&format!("leaf hash  {}\n", p.leaf_hash));
    for (i, h) in p.path.iter().enumerate() {
        s.push_str(&format!("{:<10} {h}\n", if i == 0 { "path" } else { "" }));
    }
    s.push_str(&format!("root       {}\n", p.root));
    s.push_str(&format!(
        "object     {}\n",
        p.object_problem
            .as_deref()
            .unwrap_or("ok: its bytes are the ones listed")
    ));
    s.push_str(if p.verifies() {
        "verified: the path leads from the leaf to the signed root\n"
    } else if !p.path_verifies {
        "NOT VERIFIED: the path does not lead to the root\n"
    } else {
        "NOT VERIFIED\n"
    });
    s
}

/// `zoom-archiver verify --object KEY`: the object's inclusion proof.
pub async fn verify_object(
    cfg: &FileConfig,
    backend: Backend,
    stores: &Stores,
    tenants: &[TenantId],
    key: &str,
    format: StatusFormat,
) -> Result<ExitCode> {
    let keys = trusted_keys(cfg, backend).await?;
    let Some(t) = tenants.iter().find(|t| key.starts_with(&format!("{t}/"))) else {
        eprintln!("error: {key} is not an object key of the tenants configured");
        return Ok(ExitCode::from(2));
    };
    let p = match inclusion_proof(&stores.ports, &keys, t, key).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    match format {
        StatusFormat::Json => println!("{}", serde_json::to_string_pretty(&p)?),
        StatusFormat::Table => print!("{}", proof_lines(&p)),
    }
    Ok(if p.verifies() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
