//! Where a tenant's Zoom credentials come from: one rule for every process (the CLI on
//! both backends, and the Lambda functions).
//!
//! A tenant configuration names its client secret in exactly one way (validated at load):
//! - `client_secret`: inline;
//! - `client_secret_env = "VAR"`: the secret source's `env:VAR`;
//! - `client_secret_ref = "NAME"`: the secret source's `NAME` (a Secrets Manager id, or
//!   `file:PATH` / `env:VAR` locally). When that value is a JSON object it is the whole
//!   credential set `{"account_id","client_id","client_secret"}`, whose ids must equal the
//!   configuration's (a secret of another account is refused); otherwise the value is the
//!   client secret itself.

use crate::domain::TenantConfig;
use crate::ports::{SecretError, SecretSource, ZoomCredentials};
use secrecy::{ExposeSecret, SecretString};

/// The Zoom credentials of `tenant`, read through `secrets` by the rule of this module.
/// Errors name the tenant's secret and the field at fault, never a value.
pub async fn zoom_credentials(
    tenant: &TenantConfig,
    secrets: &dyn SecretSource,
) -> Result<ZoomCredentials, SecretError> {
    let with_secret = |client_secret: SecretString| ZoomCredentials {
        account_id: tenant.account_id.clone(),
        client_id: tenant.client_id.clone(),
        client_secret,
    };
    if let Some(s) = &tenant.client_secret {
        return Ok(with_secret(s.clone()));
    }
    if let Some(var) = &tenant.client_secret_env {
        return secrets.get(&format!("env:{var}")).await.map(with_secret);
    }
    let Some(name) = &tenant.client_secret_ref else {
        return Err(SecretError::NotFound(format!(
            "tenant {}: none of client_secret, client_secret_env, client_secret_ref is set",
            tenant.id
        )));
    };
    let value = secrets.get(name).await?;
    if !value.expose_secret().trim_start().starts_with('{') {
        return Ok(with_secret(value));
    }
    let c = parse_zoom_credentials(name, &value)?;
    if c.account_id != tenant.account_id || c.client_id != tenant.client_id {
        return Err(SecretError::Malformed {
            name: name.clone(),
            message: format!(
                "it holds another account or client id than tenant {}'s configuration",
                tenant.id
            ),
        });
    }
    Ok(c)
}

/// Parses the Zoom credentials secret `{"account_id","client_id","client_secret"}`.
/// Errors name the secret and the field, never a value.
pub fn parse_zoom_credentials(
    name: &str,
    value: &SecretString,
) -> Result<ZoomCredentials, SecretError> {
    let malformed = |message: String| SecretError::Malformed {
        name: name.to_string(),
        message,
    };
    let v: serde_json::Value = serde_json::from_str(value.expose_secret()).map_err(|e| {
        malformed(format!(
            "not JSON (line {} column {})",
            e.line(),
            e.column()
        ))
    })?;
    let obj = v
        .as_object()
        .ok_or_else(|| malformed("not a JSON object".into()))?;
    let field = |k: &str| -> Result<String, SecretError> {
        match obj.get(k) {
            None | Some(serde_json::Value::Null) => Err(malformed(format!("missing field {k:?}"))),
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(serde_json::Value::String(_)) => Err(malformed(format!("field {k:?} is empty"))),
            Some(_) => Err(malformed(format!("field {k:?} is not a string"))),
        }
    };
    Ok(ZoomCredentials {
        account_id: field("account_id")?,
        client_id: field("client_id")?,
        client_secret: SecretString::from(field("client_secret")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use std::collections::HashMap;

    struct Map(HashMap<String, String>);

    #[async_trait]
    impl SecretSource for Map {
        async fn get(&self, name: &str) -> Result<SecretString, SecretError> {
            self.0
                .get(name)
                .map(|v| SecretString::from(v.clone()))
                .ok_or_else(|| SecretError::NotFound(name.into()))
        }
    }

    fn tenant(extra: serde_json::Value) -> TenantConfig {
        let mut v = serde_json::json!({"id": "acme", "account_id": "acc", "client_id": "cid"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    fn source() -> Map {
        Map(HashMap::from([
            ("env:ZOOM_SECRET".into(), "from-env".into()),
            ("file:/run/zoom".into(), "  raw-secret".into()),
            (
                "acme/zoom".into(),
                r#"{"account_id":"acc","client_id":"cid","client_secret":"TOPSECRET"}"#.into(),
            ),
            (
                "other/zoom".into(),
                r#"{"account_id":"else","client_id":"cid","client_secret":"TOPSECRET"}"#.into(),
            ),
        ]))
    }

    #[tokio::test]
    async fn each_way_of_naming_the_secret_reads_it() {
        let s = source();
        let got = |t: TenantConfig| {
            let s = &s;
            async move { zoom_credentials(&t, s).await }
        };
        let inline = got(tenant(serde_json::json!({"client_secret": "inline"})))
            .await
            .unwrap();
        assert_eq!(inline.client_secret.expose_secret(), "inline");
        assert_eq!(inline.account_id, "acc");
        let env = got(tenant(
            serde_json::json!({"client_secret_env": "ZOOM_SECRET"}),
        ))
        .await
        .unwrap();
        assert_eq!(env.client_secret.expose_secret(), "from-env");
        let raw = got(tenant(
            serde_json::json!({"client_secret_ref": "file:/run/zoom"}),
        ))
        .await
        .unwrap();
        assert_eq!(raw.client_secret.expose_secret(), "  raw-secret");
        let json = got(tenant(
            serde_json::json!({"client_secret_ref": "acme/zoom"}),
        ))
        .await
        .unwrap();
        assert_eq!(json.client_secret.expose_secret(), "TOPSECRET");
    }

    #[tokio::test]
    async fn a_secret_of_another_account_or_a_missing_one_is_refused_without_its_value() {
        let s = source();
        let e = zoom_credentials(
            &tenant(serde_json::json!({"client_secret_ref": "other/zoom"})),
            &s,
        )
        .await
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("other/zoom")
                && msg.contains("another account")
                && !msg.contains("TOPSECRET"),
            "{msg}"
        );
        let e = zoom_credentials(
            &tenant(serde_json::json!({"client_secret_ref": "missing"})),
            &s,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, SecretError::NotFound(_)), "{e}");
        let e = zoom_credentials(&tenant(serde_json::json!({})), &s)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("client_secret_ref"), "{e}");
    }

    #[test]
    fn parses_credentials_and_names_missing_fields_without_values() {
        let ok = parse_zoom_credentials(
            "s",
            &SecretString::from(
                r#"{"account_id":"a","client_id":"c","client_secret":"TOPSECRET"}"#,
            ),
        )
        .unwrap();
        assert_eq!(ok.account_id, "a");
        assert_eq!(ok.client_secret.expose_secret(), "TOPSECRET");
        let e = parse_zoom_credentials(
            "s",
            &SecretString::from(r#"{"account_id":"a","client_secret":"TOPSECRET"}"#),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("client_id") && !msg.contains("TOPSECRET"),
            "{msg}"
        );
        let e = parse_zoom_credentials(
            "s",
            &SecretString::from(r#"{"account_id":1,"client_id":"c","client_secret":"TOPSECRET"}"#),
        )
        .unwrap_err();
        assert!(e.to_string().contains("account_id"));
        let e = parse_zoom_credentials("s", &SecretString::from("TOPSECRET not json")).unwrap_err();
        assert!(!e.to_string().contains("TOPSECRET"));
    }
}
