//! Who is asking, and what they may see.

use archiver_core::{Cdr, ReviewGrant, ReviewRole, TenantId};

/// An authenticated caller: a session's user or an API token's.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// The account name.
    pub name: String,
    /// Its role.
    pub role: ReviewRole,
    /// Its grants (ignored for admins).
    pub grants: Vec<ReviewGrant>,
    /// The session id, or `token:` and the token hash: the unit plays are audited per.
    pub session: String,
    /// The session's CSRF token (none for API tokens).
    pub csrf: Option<String>,
    /// The one-time password is still set: pages send the user to change it.
    pub must_change_password: bool,
}

impl Viewer {
    /// The tenants of `all` this viewer sees anything of.
    pub fn tenants(&self, all: &[TenantId]) -> Vec<TenantId> {
        all.iter()
            .filter(|t| self.sees_tenant(t))
            .cloned()
            .collect()
    }

    /// True when the viewer sees at least part of `tenant`.
    pub fn sees_tenant(&self, tenant: &TenantId) -> bool {
        self.role == ReviewRole::Admin || self.grants.iter().any(|g| &g.tenant == tenant)
    }

    /// True when the viewer sees all of `tenant`.
    pub fn sees_whole_tenant(&self, tenant: &TenantId) -> bool {
        self.role == ReviewRole::Admin
            || self
                .grants
                .iter()
                .any(|g| &g.tenant == tenant && g.user.is_none())
    }

    /// True when the viewer may see `cdr`.
    pub fn sees(&self, cdr: &Cdr) -> bool {
        self.role == ReviewRole::Admin
            || self.grants.iter().any(|g| {
                g.tenant == cdr.tenant
                    && g.user.as_deref().is_none_or(|u| {
                        cdr.user_email
                            .as_deref()
                            .is_some_and(|e| e.eq_ignore_ascii_case(u))
                            || cdr.user_extension.as_deref() == Some(u)
                    })
            })
    }
}
