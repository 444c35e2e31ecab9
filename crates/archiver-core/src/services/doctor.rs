//! `zoom-archiver doctor`: is this deployment able to archive, and if not, what to fix.
//!
//! Each check gives one [`Check`] line, `ok` or what to fix, per tenant (the configuration
//! and the queue are the deployment's):
//!
//! - **token**: an access token by the account credentials grant; a refusal names the
//!   likely culprit (client id or secret for `invalid_client`, the account id for
//!   `Account does not exist`, ...). No line ever holds a secret: the details come from
//!   Zoom's answers and the configuration's names, never its values.
//! - **proxy**: the forward proxy the tenant's Zoom client uses (the `proxy` setting; the
//!   client does not read `HTTPS_PROXY` and friends, which the line points out when they
//!   are set) and whether Zoom answered through it.
//! - **scope** (one line per endpoint the tenant's sources call, see [`endpoints`]):
//!   - Light and Medium endpoints are called once ([`ZoomApi::probe`]: one page of one
//!     item over the last day, or a made-up id whose 404 is the expected answer); Zoom's
//!     400 / code 4711 names the missing scopes ([`ZoomError::MissingScopes`]).
//!   - Heavy and Resource-intensive endpoints draw on Zoom's daily limits, and the delete
//!     endpoints of a tenant with `delete_at_zoom` delete: neither is ever called; their
//!     scope is looked up in the scopes the token's OAuth answer lists
//!     ([`ZoomApi::token_scopes`], [`scope_need`]).
//! - **archiving** (tenants with the meetings source): whether the Archiving API answers
//!   for the account, from the `GET /archive_files` probe ([`says_archiving_is_off`]).
//! - **objects**, **metadata**, **queue**: the stores through the ports. The object store
//!   is write-once and its port has no delete, so it gets a read (`head` of a reserved
//!   key) and nothing is written; the metadata store a memo written and read back (it
//!   expires within the hour); the queue its counts.
//!
//! The rules are pure ([`classify`], [`classify_token`], [`scope_need`], [`endpoints`]);
//! the checks talk to Zoom only through [`ZoomApi`] (wrapped in
//! [`super::budget::BudgetedZoom`], the probes are counted like any call) and to the
//! stores through [`Ports`].

use crate::domain::{DeleteMode, ObjectKey, Source, TenantConfig, TenantId};
use crate::ports::{Endpoint, Ports, Window, ZoomApi, ZoomError};
use chrono::{DateTime, Duration, Utc};
use std::fmt::Write as _;

/// The memo key of the metadata round trip.
pub const PROBE_MEMO: &str = "doctor/probe";

/// The one line for an account without archiving.
pub const ARCHIVING_OFF: &str = "archiving is not enabled for this account: enable Meeting/Webinar archiving in the Zoom admin portal";

/// One check's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// The tenant checked; `None` for the deployment's own (configuration, queue).
    pub tenant: Option<TenantId>,
    /// What was checked (`token`, `proxy`, `scope GET /phone/recordings`, ...).
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, or what to fix.
    pub detail: String,
}

impl Check {
    /// A passed check.
    pub fn pass(
        tenant: Option<&TenantId>,
        name: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Check {
            tenant: tenant.cloned(),
            name: name.into(),
            ok: true,
            detail: detail.into(),
        }
    }

    /// A failed check.
    pub fn fail(
        tenant: Option<&TenantId>,
        name: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Check {
            ok: false,
            ..Check::pass(tenant, name, detail)
        }
    }
}

/// Every check of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DoctorReport {
    /// The checks, in the order they were made.
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// Whether every check passed.
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// One line per check: `ok` or `FAIL`, the tenant (`-` for the deployment), the
    /// check and its detail, in aligned columns.
    pub fn render(&self) -> String {
        let tenant = |c: &Check| c.tenant.as_ref().map_or("-", |t| t.as_str()).to_string();
        let tw = self
            .checks
            .iter()
            .map(|c| tenant(c).len())
            .max()
            .unwrap_or(1);
        let nw = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(1);
        let mut out = String::new();
        for c in &self.checks {
            let status = if c.ok { "ok" } else { "FAIL" };
            let _ = writeln!(
                out,
                "{status:<4}  {:<tw$}  {:<nw$}  {}",
                tenant(c),
                c.name,
                c.detail
            );
        }
        out
    }
}

/// How a tenant's Zoom client came to be (the caller builds it).
pub enum ZoomSetup<'a> {
    /// Built.
    Ready(&'a dyn ZoomApi),
    /// The client secret could not be read (the error names the secret, not its value).
    NoSecret(String),
    /// The client could not be built (an API base or proxy URL that does not parse).
    NoClient(String),
}

/// The proxy variables of the process environment, read by the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    /// `(name, value)` of those set and not empty.
    pub vars: Vec<(String, String)>,
}

impl ProxyEnv {
    /// The names looked at: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, each in
    /// upper and lower case.
    pub const NAMES: [&'static str; 8] = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ];

    /// The variables of [`ProxyEnv::NAMES`] that `get` gives a non-empty value.
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Self {
        ProxyEnv {
            vars: Self::NAMES
                .iter()
                .filter_map(|n| {
                    get(n)
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| (n.to_string(), v))
                })
                .collect(),
        }
    }

    /// The proxy variables (not `NO_PROXY`) as `NAME=value`, credentials hidden.
    fn proxies(&self) -> Vec<String> {
        self.vars
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("no_proxy"))
            .map(|(n, v)| format!("{n}={}", redact_url(v)))
            .collect()
    }
}

/// A URL with any `user:password@` replaced by `***@` (for proxies).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// The scopes an endpoint needs: its granular scope, or one of the classic ones (as in
/// the shared Zoom reference; `:master` forms of `:admin` scopes are taken too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScopeNeed {
    /// The granular scope (`:admin` form, as Server-to-Server apps hold them).
    pub granular: &'static str,
    /// Classic scopes that also allow the call.
    pub classic: &'static [&'static str],
}

impl ScopeNeed {
    /// Whether `granted` holds one of the scopes.
    pub fn granted_by(&self, granted: &[String]) -> bool {
        let wanted = std::iter::once(self.granular).chain(self.classic.iter().copied());
        let matches = |w: &str, g: &str| {
            g == w
                || w.strip_suffix(":admin")
                    .is_some_and(|base| g.strip_suffix(":master") == Some(base))
        };
        wanted
            .flat_map(|w| granted.iter().map(move |g| (w, g)))
            .any(|(w, g)| matches(w, g))
    }

    /// `a` or `a (or classic b, c)`.
    pub fn describe(&self) -> String {
        if self.classic.is_empty() {
            self.granular.to_string()
        } else {
            format!("{} (or classic {})", self.granular, self.classic.join(", "))
        }
    }
}

/// The scopes `endpoint` needs (zoom-api.md §1; the archive rows are unconfirmed there).
pub fn scope_need(endpoint: Endpoint) -> ScopeNeed {
    let (granular, classic): (&'static str, &'static [&'static str]) = match endpoint {
        Endpoint::ArchiveFiles => (
            "archiving:read:list_archived_files:admin",
            &["recording:read:admin"],
        ),
        Endpoint::MeetingArchive => (
            "archiving:read:archived_files:admin",
            &["recording:read:admin", "recording:read"],
        ),
        Endpoint::MeetingParticipants => (
            "dashboard:read:list_meeting_participants:admin",
            &["dashboard_meetings:read:admin", "dashboard:read:admin"],
        ),
        Endpoint::PastMeetings => (
            "dashboard:read:list_meetings:admin",
            &["dashboard_meetings:read:admin", "dashboard:read:admin"],
        ),
        Endpoint::PhoneRecordings => (
            "phone:read:list_call_recordings:admin",
            &["phone:read:admin", "phone_recording:read:admin"],
        ),
        Endpoint::CallHistory => (
            "phone:read:list_call_logs:admin",
            &["phone:read:admin", "phone_call_log:read:admin"],
        ),
        Endpoint::CallPath => (
            "phone:read:call_log:admin",
            &["phone:read:admin", "phone_call_log:read:admin"],
        ),
        Endpoint::User => ("user:read:user:admin", &["user:read:admin"]),
        // Zoom's generated Meetings SDK docs name the classic scope; the granular one is
        // from third-party listings (unconfirmed).
        Endpoint::DeleteMeetingArchive => (
            "archiving:delete:archived_files:admin",
            &["recording:write:admin"],
        ),
        Endpoint::ArchiveFileAutoDelete => (
            "archiving:update:archived_file_auto_delete_status:admin",
            &["recording:write:admin"],
        ),
        // Zoom's Phone spec (2026): x-granular-scopes and x-macro-scopes.
        Endpoint::DeletePhoneRecording => (
            "phone:delete:call_recording:admin",
            &["phone:write:admin", "phone_recording:write:admin"],
        ),
    };
    ScopeNeed { granular, classic }
}

/// The endpoints the archive calls for `tenant`, in a stable order:
///
/// - meetings: `GET /archive_files` (the poll), `GET /metrics/meetings/{id}/participants`
///   (who was in a meeting), `GET /metrics/meetings` and
///   `GET /past_meetings/{uuid}/archive_files` (reconciliation);
/// - phone: `GET /phone/recordings` (the poll), `GET /phone/call_history` (or the legacy
///   call logs) and `GET /phone/call_history/{uuid}` (reconciliation);
/// - with configured users: `GET /users/{userId}` (who they are at Zoom);
/// - with `delete_at_zoom` (only then): `DELETE /past_meetings/{uuid}/archive_files`
///   (meetings `after_seal`), `PATCH /archive_files/{fileId}` (meetings
///   `auto_delete_after_seal`), `DELETE /phone/recordings/{recordingId}` (phone
///   `after_seal`).
pub fn endpoints(tenant: &TenantConfig) -> Vec<Endpoint> {
    let mut out = Vec::new();
    if tenant.sources.contains(&Source::Meetings) {
        out.extend([
            Endpoint::ArchiveFiles,
            Endpoint::MeetingParticipants,
            Endpoint::PastMeetings,
            Endpoint::MeetingArchive,
        ]);
    }
    if tenant.sources.contains(&Source::Phone) {
        out.extend([
            Endpoint::PhoneRecordings,
            Endpoint::CallHistory,
            Endpoint::CallPath,
        ]);
    }
    if !tenant.users.is_empty() {
        out.push(Endpoint::User);
    }
    let deletes = &tenant.delete_at_zoom;
    if tenant.sources.contains(&Source::Meetings) {
        match deletes.meetings {
            DeleteMode::Off => {}
            DeleteMode::AfterSeal => out.push(Endpoint::DeleteMeetingArchive),
            DeleteMode::AutoDeleteAfterSeal => out.push(Endpoint::ArchiveFileAutoDelete),
        }
    }
    if tenant.sources.contains(&Source::Phone) && deletes.phone == DeleteMode::AfterSeal {
        out.push(Endpoint::DeletePhoneRecording);
    }
    out
}

/// What an answer of Zoom means for the deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The app may make the call.
    Allowed,
    /// The app lacks scopes; Zoom's names for them.
    MissingScopes(Vec<String>),
    /// Meeting and webinar archiving is not enabled for the account.
    ArchivingOff,
    /// The credentials were refused; what to fix.
    BadCredentials(String),
    /// Zoom was not reached (network, proxy, DNS, TLS), or something else answered.
    Unreachable(String),
    /// Anything else; what happened.
    Failed(String),
}

/// Whether Zoom's refusal of an archive endpoint says archiving is off for the account.
///
/// Zoom's spec documents 400 with code 200 `"Not available for this account."` / `"Only
/// available for Paid account."` for the archive endpoints; what an account without
/// archiving really gets is unconfirmed, so any refusal whose message says the feature is
/// unavailable, not enabled or disabled is taken.
pub fn says_archiving_is_off(e: &ZoomError) -> bool {
    let message = match e {
        ZoomError::BadRequest { message, .. } | ZoomError::Forbidden(message) => message,
        _ => return false,
    };
    let m = message.to_ascii_lowercase();
    m.contains("not available for this account")
        || m.contains("only available for paid account")
        || (m.contains("archiv")
            && ["not enabled", "disabled", "not available", "not turned on"]
                .iter()
                .any(|w| m.contains(w)))
}

/// What Zoom's answer to a probe of `endpoint` means.
///
/// A lookup's `NotFound` or validation error is an answer past the scope check, so the
/// call is allowed; a listing's is not (a wrong `api_base_url`, a product the account
/// lacks).
pub fn classify(endpoint: Endpoint, answer: &Result<(), ZoomError>) -> Verdict {
    let e = match answer {
        Ok(()) => return Verdict::Allowed,
        Err(e) => e,
    };
    let archive = matches!(endpoint, Endpoint::ArchiveFiles | Endpoint::MeetingArchive);
    match e {
        ZoomError::MissingScopes { scopes, .. } => Verdict::MissingScopes(scopes.clone()),
        e if archive && says_archiving_is_off(e) => Verdict::ArchivingOff,
        ZoomError::NotFound(_) | ZoomError::BadRequest { .. } if endpoint.is_lookup() => {
            Verdict::Allowed
        }
        ZoomError::Unauthorized(m) => {
            Verdict::BadCredentials(format!("Zoom refused the access token: {m}"))
        }
        ZoomError::Forbidden(m) => Verdict::Failed(format!(
            "Zoom refused the call ({m}): check the app's scopes, and that the app's owner \
             may see this account's data"
        )),
        ZoomError::NotFound(m) => Verdict::Failed(format!(
            "Zoom has no such endpoint ({m}): check api_base_url, and that the account has \
             the product"
        )),
        ZoomError::Transport(m) => Verdict::Unreachable(format!("Zoom was not reached: {m}")),
        ZoomError::Decode(m) => Verdict::Unreachable(format!(
            "what answered is not Zoom ({m}): a proxy's or portal's page? check api_base_url \
             and the proxy"
        )),
        ZoomError::RateLimited { category, kind, .. } if kind == super::budget::BUDGET_KIND => {
            Verdict::Failed(format!(
                "not checked: this system's daily budget of {category} calls is spent; try \
                 again after 00:00 UTC"
            ))
        }
        ZoomError::RateLimited { category, kind, .. } => Verdict::Failed(format!(
            "not checked: rate-limited by Zoom ({category}, {kind}); try again later"
        )),
        ZoomError::Server { .. } => Verdict::Failed(format!("{e}; try again later")),
        e => Verdict::Failed(e.to_string()),
    }
}

/// Where the tenant's client secret comes from, by name (never its value).
fn secret_origin(t: &TenantConfig) -> String {
    if let Some(v) = &t.client_secret_env {
        format!("the client secret (environment variable {v})")
    } else if let Some(r) = &t.client_secret_ref {
        format!("the client secret (secret {r:?})")
    } else {
        "client_secret".to_string()
    }
}

/// What a failed token request means for `tenant` (Zoom's OAuth errors: `invalid_client`
/// for a wrong client id or secret, `invalid_request` / "Account does not exist" for a
/// wrong account id).
pub fn classify_token(tenant: &TenantConfig, e: &ZoomError) -> Verdict {
    match e {
        ZoomError::Unauthorized(m) | ZoomError::Forbidden(m) => {
            let l = m.to_ascii_lowercase();
            let fix = if l.contains("invalid_client")
                || l.contains("client_id")
                || l.contains("client_secret")
            {
                format!(
                    "wrong client id or client secret: check client_id ({:?}) and {} against \
                     the app's credentials in the Zoom App Marketplace",
                    tenant.client_id,
                    secret_origin(tenant)
                )
            } else if l.contains("account does not exist") || l.contains("invalid_request") {
                format!(
                    "wrong account id: check account_id ({:?}) against the app's Account ID",
                    tenant.account_id
                )
            } else if l.contains("invalid_grant")
                || l.contains("unsupported_grant_type")
                || l.contains("unauthorized_client")
            {
                "the app does not take the account credentials grant: it must be an activated \
                 Server-to-Server OAuth app"
                    .to_string()
            } else {
                format!(
                    "check account_id, client_id and {} (the app may be deactivated)",
                    secret_origin(tenant)
                )
            };
            let said = m
                .strip_prefix("token request refused")
                .unwrap_or(m)
                .trim_start();
            Verdict::BadCredentials(format!("Zoom refused the token request {said}; {fix}"))
        }
        ZoomError::Transport(m) => Verdict::Unreachable(format!(
            "the OAuth endpoint {} was not reached: {m}",
            tenant.oauth_url
        )),
        ZoomError::Decode(m) => Verdict::Unreachable(format!(
            "what answered at {} is not Zoom's OAuth endpoint ({m}): check oauth_url and the \
             proxy",
            tenant.oauth_url
        )),
        e => Verdict::Failed(format!("the token request failed: {e}")),
    }
}

/// The checks of `tenant`'s Zoom access: token, proxy, one line per endpoint
/// ([`endpoints`]) and, with the meetings source, archiving. `now` ends the one-day window
/// of the listing probes.
pub async fn check_zoom(
    tenant: &TenantConfig,
    zoom: ZoomSetup<'_>,
    env: &ProxyEnv,
    now: DateTime<Utc>,
) -> Vec<Check> {
    let t = Some(&tenant.id);
    let mut out = Vec::new();
    let zoom = match zoom {
        ZoomSetup::Ready(z) => z,
        ZoomSetup::NoSecret(e) => {
            out.push(Check::fail(
                t,
                "token",
                format!("not requested: the client secret could not be read: {e}"),
            ));
            out.push(proxy_check(tenant, env, None));
            return out;
        }
        ZoomSetup::NoClient(e) => {
            out.push(Check::fail(
                t,
                "token",
                format!("not requested: the Zoom client could not be built: {e}"),
            ));
            // A proxy URL that does not parse is the proxy's fault; other faults (the API
            // base) leave it untried.
            let reached = e.contains("proxy").then_some(Err(e.as_str()));
            out.push(proxy_check(tenant, env, reached));
            return out;
        }
    };
    let granted = match zoom.token_scopes().await {
        Ok(granted) => {
            let detail = match &granted {
                Some(g) => format!(
                    "obtained from {} ({} scopes granted)",
                    tenant.oauth_url,
                    g.len()
                ),
                None => format!(
                    "obtained from {} (the answer lists no scopes)",
                    tenant.oauth_url
                ),
            };
            out.push(Check::pass(t, "token", detail));
            out.push(proxy_check(tenant, env, Some(Ok(()))));
            granted
        }
        Err(e) => {
            let (detail, reached) = match classify_token(tenant, &e) {
                Verdict::Unreachable(m) => (m.clone(), Err(m)),
                Verdict::BadCredentials(m) | Verdict::Failed(m) => (m, Ok(())),
                other => (format!("{other:?}"), Ok(())),
            };
            out.push(Check::fail(t, "token", detail));
            out.push(proxy_check(
                tenant,
                env,
                Some(reached.as_ref().map(|_| ()).map_err(String::as_str)),
            ));
            return out;
        }
    };
    let window = Window {
        from: now - Duration::days(1),
        to: now,
    };
    let mut archive_files = None;
    for endpoint in endpoints(tenant) {
        let name = format!("scope {}", endpoint.label());
        let need = scope_need(endpoint);
        if endpoint.has_daily_limit() || endpoint.is_write() {
            let why = if endpoint.is_write() {
                "it deletes at Zoom (delete_at_zoom)".to_string()
            } else {
                format!(
                    "{} calls count against Zoom's daily limit",
                    endpoint.category()
                )
            };
            out.push(match &granted {
                Some(g) if need.granted_by(g) => Check::pass(
                    t,
                    name,
                    format!(
                        "granted ({}, in the token; not called: {why})",
                        need.granular,
                    ),
                ),
                Some(_) => Check::fail(
                    t,
                    name,
                    format!(
                        "missing scope: the token's scopes hold none of {}: add it to the \
                         app's scopes in the Zoom App Marketplace",
                        need.describe()
                    ),
                ),
                None => Check::pass(
                    t,
                    name,
                    format!(
                        "not checked: never called ({why}), and the token lists no scopes \
                         (needs {})",
                        need.describe()
                    ),
                ),
            });
            continue;
        }
        let verdict = classify(endpoint, &zoom.probe(endpoint, window).await);
        out.push(match &verdict {
            Verdict::Allowed => Check::pass(t, name, "Zoom answered"),
            Verdict::MissingScopes(s) => Check::fail(
                t,
                name,
                format!(
                    "missing scopes: Zoom names [{}] (one is enough): add it to the app's \
                     scopes in the Zoom App Marketplace",
                    s.join(", ")
                ),
            ),
            Verdict::ArchivingOff => Check::pass(
                t,
                name,
                "not decided: Zoom answered that archiving is off (see the archiving line)",
            ),
            Verdict::BadCredentials(m) | Verdict::Unreachable(m) | Verdict::Failed(m) => {
                Check::fail(t, name, m.clone())
            }
        });
        if endpoint == Endpoint::ArchiveFiles {
            archive_files = Some(verdict);
        }
    }
    if let Some(v) = archive_files {
        out.push(match v {
            Verdict::Allowed => {
                Check::pass(t, "archiving", "the Archiving API answers for the account")
            }
            Verdict::ArchivingOff => Check::fail(t, "archiving", ARCHIVING_OFF),
            Verdict::MissingScopes(_) => Check::fail(
                t,
                "archiving",
                "not known: the app may not call GET /archive_files (see its scope line)",
            ),
            _ => Check::fail(
                t,
                "archiving",
                "not known: GET /archive_files failed (see its scope line)",
            ),
        });
    }
    out
}

/// The proxy line: which proxy the Zoom client uses and whether Zoom answered through it
/// (`reached`: `None` when no request was made, `Some(Err)` with why it was not reached).
fn proxy_check(tenant: &TenantConfig, env: &ProxyEnv, reached: Option<Result<(), &str>>) -> Check {
    use secrecy::ExposeSecret;
    let t = Some(&tenant.id);
    let via = match &tenant.proxy {
        Some(p) => format!(
            "proxy {} (the tenant's proxy setting)",
            redact_url(p.expose_secret())
        ),
        None => "no proxy (direct connection)".to_string(),
    };
    let env_vars = env.proxies();
    let env_note = if env_vars.is_empty() {
        String::new()
    } else {
        format!(
            "; {} set in the environment, but the Zoom client does not read it: set `proxy` \
             in the tenant's configuration to use a proxy",
            env_vars.join(", ")
        )
    };
    match reached {
        None => Check::pass(
            t,
            "proxy",
            format!("{via}; Zoom not contacted (no credentials){env_note}"),
        ),
        Some(Ok(())) => Check::pass(t, "proxy", format!("{via}; Zoom answered{env_note}")),
        Some(Err(why)) => {
            let fix = if tenant.proxy.is_some() {
                "check the proxy's address and credentials, and that it lets CONNECT through \
                 to Zoom's hosts"
            } else if env_vars.is_empty() {
                "if this network needs a proxy, set `proxy` in the tenant's configuration"
            } else {
                "this network seems to need the proxy of the environment: set `proxy` in the \
                 tenant's configuration"
            };
            Check::fail(t, "proxy", format!("{via}; {why}; {fix}{env_note}"))
        }
    }
}

/// The object and metadata store checks of `tenant` on `backend` (a description such as
/// `embedded (filesystem /var/lib/za)`): `head` of a reserved key (nothing is written to
/// the write-once object store), and a memo ([`PROBE_MEMO`]) written and read back.
pub async fn check_stores(ports: &Ports, tenant: &TenantId, backend: &str) -> Vec<Check> {
    let t = Some(tenant);
    let mut out = Vec::new();
    let objects = match ObjectKey::parse(format!("{tenant}/_doctor/probe")) {
        Ok(key) => match ports.blobs.head(&key).await {
            Ok(_) => Check::pass(
                t,
                "objects",
                format!("{backend}: readable (read only: the store is write-once)"),
            ),
            Err(e) => Check::fail(t, "objects", format!("{backend}: {e}")),
        },
        Err(e) => Check::fail(t, "objects", e.to_string()),
    };
    out.push(objects);
    let now = ports.clock.now();
    let value = format!("doctor {}", now.to_rfc3339());
    let meta = ports.meta.as_ref();
    let round_trip = async {
        meta.put_memo(tenant, PROBE_MEMO, &value, now + Duration::hours(1))
            .await?;
        meta.get_memo(tenant, PROBE_MEMO, now).await
    };
    out.push(match round_trip.await {
        Ok(Some(v)) if v == value => Check::pass(
            t,
            "metadata",
            format!("{backend}: a memo written and read back"),
        ),
        Ok(other) => Check::fail(
            t,
            "metadata",
            format!(
                "{backend}: a memo written was read back as {:?}",
                other.map(|_| "another value")
            ),
        ),
        Err(e) => Check::fail(t, "metadata", format!("{backend}: {e}")),
    });
    out
}

/// The queue check on `backend`: its counts.
pub async fn check_queue(ports: &Ports, backend: &str) -> Check {
    match ports.queue.counts().await {
        Ok(c) => Check::pass(
            None,
            "queue",
            format!(
                "{backend}: {} ready, {} in flight, {} delayed, {} dead letters",
                c.ready, c.in_flight, c.delayed, c.dead
            ),
        ),
        Err(e) => Check::fail(None, "queue", format!("{backend}: {e}")),
    }
}

/// The configuration line: `path` was read and validated (by the caller) with `tenants`
/// tenants.
pub fn config_check(path: &str, tenants: usize) -> Check {
    let s = if tenants == 1 { "" } else { "s" };
    Check::pass(
        None,
        "config",
        format!("{path}: read and valid ({tenants} tenant{s})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ArchiveMeeting, PhoneRecording};
    use crate::ports::{ArchiveDateType, Download, Page};
    use async_trait::async_trait;
    use std::sync::Mutex;

    fn tenant(extra: serde_json::Value) -> TenantConfig {
        let mut v = serde_json::json!({
            "id": "acme", "account_id": "acc-1", "client_id": "cid-1",
            "client_secret": "s3cr3t-value",
            "users": [{"email": "alice@acme.example", "extension": "1001", "mode": "voice"}],
        });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    fn missing(scopes: &[&str]) -> ZoomError {
        ZoomError::MissingScopes {
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            message: "Invalid access token, does not contain scopes:[..].".into(),
        }
    }

    #[test]
    fn answers_are_classified() {
        use Endpoint::*;
        let c = |e: Endpoint, r: Result<(), ZoomError>| classify(e, &r);
        assert_eq!(c(ArchiveFiles, Ok(())), Verdict::Allowed);
        assert_eq!(
            c(
                PhoneRecordings,
                Err(missing(&["a:read:x", "a:read:x:admin"]))
            ),
            Verdict::MissingScopes(vec!["a:read:x".into(), "a:read:x:admin".into()])
        );
        let off = || ZoomError::BadRequest {
            code: 200,
            message: "Not available for this account.".into(),
        };
        assert_eq!(c(ArchiveFiles, Err(off())), Verdict::ArchivingOff);
        assert_eq!(c(MeetingArchive, Err(off())), Verdict::ArchivingOff);
        assert_eq!(
            c(
                ArchiveFiles,
                Err(ZoomError::Forbidden(
                    "Meeting archiving is not enabled.".into()
                ))
            ),
            Verdict::ArchivingOff
        );
        // The same words from a phone listing are not about archiving.
        assert!(matches!(c(PhoneRecordings, Err(off())), Verdict::Failed(_)));
        // A lookup of a made-up id: 404 or a validation error is Zoom's answer past the
        // scope check; for a listing it is a fault.
        for lookup in [MeetingArchive, CallPath, User] {
            assert_eq!(
                c(lookup, Err(ZoomError::NotFound("x".into()))),
                Verdict::Allowed
            );
            assert_eq!(
                c(
                    lookup,
                    Err(ZoomError::BadRequest {
                        code: 300,
                        message: "Invalid field.".into()
                    })
                ),
                Verdict::Allowed
            );
        }
        assert!(matches!(
            c(PhoneRecordings, Err(ZoomError::NotFound("Not Found".into()))),
            Verdict::Failed(m) if m.contains("api_base_url")
        ));
        assert!(matches!(
            c(CallPath, Err(ZoomError::Transport("connect: refused".into()))),
            Verdict::Unreachable(m) if m.contains("refused")
        ));
        assert!(matches!(
            c(ArchiveFiles, Err(ZoomError::Decode("<html>".into()))),
            Verdict::Unreachable(m) if m.contains("proxy")
        ));
        assert!(matches!(
            c(
                User,
                Err(ZoomError::Unauthorized("Invalid access token.".into()))
            ),
            Verdict::BadCredentials(_)
        ));
        assert!(matches!(
            c(
                User,
                Err(ZoomError::RateLimited {
                    category: "Light".into(),
                    kind: "QPS".into(),
                    retry_after: None
                })
            ),
            Verdict::Failed(m) if m.starts_with("not checked")
        ));
    }

    #[test]
    fn token_refusals_name_the_culprit_never_the_secret() {
        let t = tenant(serde_json::json!({}));
        let v = |m: &str| classify_token(&t, &ZoomError::Unauthorized(m.into()));
        let Verdict::BadCredentials(m) = v(
            "token request refused (400 Bad Request): invalid_client: Invalid client_id or client_secret",
        ) else {
            panic!()
        };
        assert!(
            m.contains("wrong client id or client secret") && m.contains("cid-1"),
            "{m}"
        );
        assert!(!m.contains("s3cr3t"), "{m}");
        let Verdict::BadCredentials(m) =
            v("token request refused (400 Bad Request): invalid_request: Account does not exist")
        else {
            panic!()
        };
        assert!(m.contains("wrong account id") && m.contains("acc-1"), "{m}");
        let env = tenant(serde_json::json!({"client_secret_env": "ZA_SECRET"}));
        let Verdict::BadCredentials(m) = classify_token(
            &env,
            &ZoomError::Unauthorized("invalid_client: Invalid client_id or client_secret".into()),
        ) else {
            panic!()
        };
        assert!(m.contains("environment variable ZA_SECRET"), "{m}");
        assert!(matches!(
            classify_token(&t, &ZoomError::Transport("connect: timed out".into())),
            Verdict::Unreachable(m) if m.contains("zoom.us/oauth/token")
        ));
    }

    #[test]
    fn scopes_are_looked_up_in_both_forms() {
        let need = scope_need(Endpoint::MeetingParticipants);
        let g = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(need.granted_by(&g(&["dashboard:read:list_meeting_participants:admin"])));
        assert!(need.granted_by(&g(&["x:y", "dashboard:read:admin"])));
        assert!(need.granted_by(&g(&["dashboard:read:list_meeting_participants:master"])));
        assert!(!need.granted_by(&g(&["dashboard:read:list_meetings:admin"])));
        assert!(!need.granted_by(&[]));
    }

    #[test]
    fn endpoints_follow_the_sources() {
        let both = endpoints(&tenant(serde_json::json!({})));
        assert_eq!(both.len(), 8);
        let phone = endpoints(&tenant(
            serde_json::json!({"sources": ["phone"], "users": []}),
        ));
        assert_eq!(
            phone,
            [
                Endpoint::PhoneRecordings,
                Endpoint::CallHistory,
                Endpoint::CallPath
            ]
        );
    }

    #[test]
    fn proxies_are_named_without_credentials() {
        assert_eq!(redact_url("http://u:p@proxy:3128"), "http://***@proxy:3128");
        assert_eq!(redact_url("http://proxy:3128/x@y"), "http://proxy:3128/x@y");
        assert_eq!(redact_url("u:p@proxy:3128"), "***@proxy:3128");
        let env = ProxyEnv::read(|n| match n {
            "HTTPS_PROXY" => Some("http://me:pw@corp:8080".into()),
            "no_proxy" => Some("localhost".into()),
            "HTTP_PROXY" => Some(" ".into()),
            _ => None,
        });
        assert_eq!(env.vars.len(), 2);
        assert_eq!(env.proxies(), ["HTTPS_PROXY=http://***@corp:8080"]);
    }

    /// A fake Zoom: a token (or its refusal), the granted scopes, and the scopes withheld
    /// from the probes; it records what was probed.
    struct Fake {
        token: Result<Option<Vec<String>>, String>,
        token_error: fn(String) -> ZoomError,
        withheld: Vec<Endpoint>,
        archiving_off: bool,
        probed: Mutex<Vec<Endpoint>>,
    }

    #[async_trait]
    impl ZoomApi for Fake {
        async fn list_archived_meetings(
            &self,
            _: Window,
            _: ArchiveDateType,
            _: Option<&str>,
        ) -> Result<Page<ArchiveMeeting>, ZoomError> {
            unreachable!()
        }
        async fn get_meeting_archive(&self, _: &str) -> Result<Option<ArchiveMeeting>, ZoomError> {
            unreachable!()
        }
        async fn list_phone_recordings(
            &self,
            _: Window,
            _: Option<&str>,
        ) -> Result<Page<PhoneRecording>, ZoomError> {
            unreachable!()
        }
        async fn list_meeting_participants(
            &self,
            _: &str,
            _: Option<&str>,
        ) -> Result<Page<crate::domain::MeetingParticipant>, ZoomError> {
            unreachable!()
        }
        async fn download(&self, _: &str) -> Result<Download, ZoomError> {
            unreachable!()
        }
        async fn token_scopes(&self) -> Result<Option<Vec<String>>, ZoomError> {
            self.token.clone().map_err(self.token_error)
        }
        async fn probe(&self, endpoint: Endpoint, window: Window) -> Result<(), ZoomError> {
            assert_eq!(window.to - window.from, Duration::days(1));
            self.probed.lock().unwrap().push(endpoint);
            if self.withheld.contains(&endpoint) {
                let s = scope_need(endpoint).granular;
                return Err(missing(&[s.trim_end_matches(":admin"), s]));
            }
            if self.archiving_off && endpoint == Endpoint::ArchiveFiles {
                return Err(ZoomError::BadRequest {
                    code: 200,
                    message: "Not available for this account.".into(),
                });
            }
            if endpoint.is_lookup() {
                return Err(ZoomError::NotFound("made up".into()));
            }
            Ok(())
        }
    }

    fn fake(token: Result<Option<Vec<String>>, String>) -> Fake {
        Fake {
            token,
            token_error: ZoomError::Unauthorized,
            withheld: Vec::new(),
            archiving_off: false,
            probed: Mutex::default(),
        }
    }

    fn all_scopes() -> Option<Vec<String>> {
        Some(
            Endpoint::ALL
                .iter()
                .map(|e| scope_need(*e).granular.to_string())
                .collect(),
        )
    }

    #[tokio::test]
    async fn an_app_with_every_scope_passes_without_a_heavy_call() {
        let t = tenant(serde_json::json!({}));
        let z = fake(Ok(all_scopes()));
        let checks = check_zoom(&t, ZoomSetup::Ready(&z), &ProxyEnv::default(), Utc::now()).await;
        let report = DoctorReport { checks };
        assert!(report.all_ok(), "{}", report.render());
        let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names[..2], ["token", "proxy"]);
        assert!(names.contains(&"archiving"));
        assert_eq!(names.iter().filter(|n| n.starts_with("scope ")).count(), 8);
        let probed = z.probed.lock().unwrap().clone();
        assert!(probed.iter().all(|e| !e.has_daily_limit()), "{probed:?}");
        assert_eq!(probed.len(), 5);
    }

    #[tokio::test]
    async fn delete_scopes_are_checked_only_for_tenants_that_delete_and_never_called() {
        let lines = |checks: &[Check]| -> Vec<String> {
            checks
                .iter()
                .filter(|c| c.name.starts_with("scope DELETE") || c.name.starts_with("scope PATCH"))
                .map(|c| c.name.clone())
                .collect()
        };
        let off = tenant(serde_json::json!({}));
        let z = fake(Ok(all_scopes()));
        let checks = check_zoom(&off, ZoomSetup::Ready(&z), &ProxyEnv::default(), Utc::now()).await;
        assert!(lines(&checks).is_empty(), "{checks:?}");
        let on = tenant(serde_json::json!({"delete_at_zoom": "after_seal"}));
        let mut granted = all_scopes().unwrap();
        granted.retain(|s| s != "phone:delete:call_recording:admin");
        let z = fake(Ok(Some(granted)));
        let report = DoctorReport {
            checks: check_zoom(&on, ZoomSetup::Ready(&z), &ProxyEnv::default(), Utc::now()).await,
        };
        assert_eq!(
            lines(&report.checks),
            [
                "scope DELETE /past_meetings/{meetingUUID}/archive_files",
                "scope DELETE /phone/recordings/{recordingId}"
            ]
        );
        let text = report.render();
        let phone = report
            .checks
            .iter()
            .find(|c| c.name == "scope DELETE /phone/recordings/{recordingId}")
            .unwrap();
        assert!(
            !phone.ok && phone.detail.contains("phone:delete:call_recording:admin"),
            "{text}"
        );
        let meetings = report
            .checks
            .iter()
            .find(|c| c.name.starts_with("scope DELETE /past_meetings"))
            .unwrap();
        assert!(
            meetings.ok && meetings.detail.contains("not called"),
            "{text}"
        );
        let probed = z.probed.lock().unwrap().clone();
        assert!(probed.iter().all(|e| !e.is_write()), "{probed:?}");
        let tagging =
            tenant(serde_json::json!({"delete_at_zoom": {"meetings": "auto_delete_after_seal"}}));
        assert!(endpoints(&tagging).contains(&Endpoint::ArchiveFileAutoDelete));
        assert!(!endpoints(&tagging).contains(&Endpoint::DeletePhoneRecording));
    }

    #[tokio::test]
    async fn missing_scopes_and_archiving_off_are_named() {
        let t = tenant(serde_json::json!({}));
        let mut granted = all_scopes().unwrap();
        granted.retain(|s| s != "phone:read:list_call_logs:admin");
        let z = Fake {
            withheld: vec![Endpoint::PhoneRecordings],
            archiving_off: true,
            ..fake(Ok(Some(granted)))
        };
        let report = DoctorReport {
            checks: check_zoom(&t, ZoomSetup::Ready(&z), &ProxyEnv::default(), Utc::now()).await,
        };
        assert!(!report.all_ok());
        let text = report.render();
        let line = |name: &str| {
            report
                .checks
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("{name}: {text}"))
                .clone()
        };
        let rec = line("scope GET /phone/recordings");
        assert!(
            !rec.ok && rec.detail.contains("phone:read:list_call_recordings:admin"),
            "{text}"
        );
        let calls = line("scope GET /phone/call_history");
        assert!(
            !calls.ok && calls.detail.contains("phone:read:list_call_logs:admin"),
            "{text}"
        );
        let arch = line("archiving");
        assert!(!arch.ok && arch.detail == ARCHIVING_OFF, "{text}");
        assert!(line("scope GET /users/{userId}").ok, "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("FAIL  acme  scope GET /phone/recordings")),
            "{text}"
        );
    }

    #[tokio::test]
    async fn refused_credentials_fail_the_token_and_stop_there() {
        let t = tenant(serde_json::json!({"proxy": "http://user:pw@proxy.corp:3128"}));
        let z = fake(Err(
            "token request refused (400 Bad Request): invalid_client: Invalid client_id or client_secret"
                .into(),
        ));
        let env = ProxyEnv::read(|n| (n == "HTTPS_PROXY").then(|| "http://a:b@env:1".into()));
        let checks = check_zoom(&t, ZoomSetup::Ready(&z), &env, Utc::now()).await;
        assert_eq!(checks.len(), 2, "{checks:?}");
        assert!(
            !checks[0].ok && checks[0].detail.contains("client secret"),
            "{checks:?}"
        );
        assert!(checks[1].ok, "Zoom answered, through the proxy: {checks:?}");
        let all = format!("{checks:?}");
        for secret in ["s3cr3t", ":pw@", "a:b@"] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
        assert!(all.contains("proxy http://***@proxy.corp:3128"), "{all}");
        assert!(all.contains("HTTPS_PROXY=http://***@env:1"), "{all}");
        assert!(z.probed.lock().unwrap().is_empty());
        // No secret at all: a failed token line, and Zoom is not contacted.
        let checks = check_zoom(
            &t,
            ZoomSetup::NoSecret("environment variable ZA_X is not set".into()),
            &ProxyEnv::default(),
            Utc::now(),
        )
        .await;
        assert!(
            !checks[0].ok && checks[0].detail.contains("ZA_X"),
            "{checks:?}"
        );
        // An unreachable OAuth host fails the proxy line too, with what to do.
        let z = Fake {
            token_error: ZoomError::Transport,
            ..fake(Err("connect: connection refused".into()))
        };
        let checks = check_zoom(&t, ZoomSetup::Ready(&z), &env, Utc::now()).await;
        assert!(!checks[0].ok && !checks[1].ok, "{checks:?}");
        assert!(
            checks[1].detail.contains("connection refused") && checks[1].detail.contains("CONNECT"),
            "{checks:?}"
        );
    }

    #[test]
    fn the_report_renders_aligned_lines() {
        let acme = TenantId::new("acme").unwrap();
        let r = DoctorReport {
            checks: vec![
                config_check("/etc/za.toml", 1),
                Check::fail(Some(&acme), "token", "wrong"),
            ],
        };
        assert_eq!(
            r.render(),
            "ok    -     config  /etc/za.toml: read and valid (1 tenant)\nFAIL  acme  token   wrong\n"
        );
        assert!(!r.all_ok());
    }
}
