//! Login, logout, password change, sessions, CSRF and the login limiter; the [`Viewer`]
//! extractor that every protected handler takes.

use crate::accounts::{self, token_hash};
use crate::html::{Frame, esc, page};
use crate::{Review, Viewer};
use axum::extract::{ConnectInfo, Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

const SESSION_COOKIE: &str = "za_session";
const LOGIN_CSRF_COOKIE: &str = "za_login_csrf";

/// A logged-in browser.
pub(crate) struct Session {
    name: String,
    csrf: String,
    started: Instant,
}

pub(crate) fn routes() -> Router<Arc<Review>> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/password", get(password_form).post(password_change))
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(state: &Review, name: &str, value: &str, max_age: Option<u64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    if state.cfg.secure_cookies {
        c.push_str("; Secure");
    }
    c
}

fn unauthenticated(parts: &Parts) -> Response {
    if parts.uri.path().starts_with("/api/") {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(serde_json::json!({"error": "authentication required"})),
        )
            .into_response()
    } else {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        Redirect::to(&format!("/login?next={}", crate::html::qv(next))).into_response()
    }
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "review request failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
}

impl FromRequestParts<Arc<Review>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<Review>,
    ) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
        let (user, session, csrf) = if let Some(token) = bearer {
            let sha = token_hash(&token);
            match state.users.by_token(&sha).await.map_err(internal)? {
                Some(u) => (u, format!("token:{sha}"), None),
                None => return Err(unauthenticated(parts)),
            }
        } else {
            let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
                return Err(unauthenticated(parts));
            };
            let found = {
                let mut sessions = state.sessions.lock().unwrap_or_else(|e| e.into_inner());
                let lifetime = state.cfg.session_lifetime;
                sessions.retain(|_, s| s.started.elapsed() < lifetime);
                sessions.get(&id).map(|s| (s.name.clone(), s.csrf.clone()))
            };
            let Some((name, csrf)) = found else {
                return Err(unauthenticated(parts));
            };
            match state.users.get(&name).await.map_err(internal)? {
                Some(u) => (u, id, Some(csrf)),
                None => return Err(unauthenticated(parts)),
            }
        };
        let grants = state.users.grants(&user.name).await.map_err(internal)?;
        let v = Viewer {
            name: user.name,
            role: user.role,
            grants,
            session,
            csrf,
            must_change_password: user.must_change_password,
        };
        if v.must_change_password && v.csrf.is_some() && !parts.uri.path().starts_with("/password")
        {
            return Err(if parts.uri.path().starts_with("/api/") {
                (
                    StatusCode::FORBIDDEN,
                    Json(serde_json::json!({"error": "change the one-time password first"})),
                )
                    .into_response()
            } else {
                Redirect::to("/password").into_response()
            });
        }
        Ok(v)
    }
}

/// Checks a form's CSRF token against the session's.
pub(crate) fn check_csrf(v: &Viewer, token: &str) -> Result<(), Response> {
    match &v.csrf {
        Some(c) if !token.is_empty() && c == token => Ok(()),
        _ => Err((StatusCode::FORBIDDEN, "invalid or missing CSRF token\n").into_response()),
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn login_page(state: &Review, headers: &HeaderMap, next: &str, error: Option<&str>) -> Response {
    // The pre-session token is kept while its cookie lives: a second load of the login
    // page (another tab, a redirected background request) must not void the first form.
    let token = cookie(headers, LOGIN_CSRF_COOKIE)
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(accounts::random_secret);
    let err = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e)))
        .unwrap_or_default();
    let body = format!(
        r#"{err}<form method="post" action="/login" class="login">
<input type="hidden" name="csrf" value="{token}"><input type="hidden" name="next" value="{next}">
<label>User <input name="username" id="username" autocomplete="username" required></label>
<label>Password <input name="password" id="password" type="password" autocomplete="current-password" required></label>
<button id="login">Log in</button></form>"#,
        next = esc(next)
    );
    (
        [(
            header::SET_COOKIE,
            set_cookie(state, LOGIN_CSRF_COOKIE, &token, Some(3600)),
        )],
        Html(page(
            "Log in",
            &Frame {
                user: None,
                csrf: None,
            },
            &body,
        )),
    )
        .into_response()
}

async fn login_form(
    State(state): State<Arc<Review>>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    login_page(
        &state,
        &headers,
        q.next.as_deref().unwrap_or("/search"),
        None,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: String,
}

/// Only local paths: no open redirect.
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next
    } else {
        "/search"
    }
}

impl Review {
    /// True when `key` has used up its failed logins in the window.
    fn limited(&self, key: &str) -> bool {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let window = self.cfg.login_window;
        let v = f.entry(key.to_string()).or_default();
        v.retain(|t| t.elapsed() < window);
        v.len() >= self.cfg.login_failures
    }

    fn failed(&self, key: &str) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        f.entry(key.to_string()).or_default().push(Instant::now());
    }
}

async fn login(
    State(state): State<Arc<Review>>,
    connect: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(&form.next).to_string();
    if cookie(&headers, LOGIN_CSRF_COOKIE).is_none_or(|c| c.is_empty() || c != form.csrf) {
        return (
            StatusCode::FORBIDDEN,
            "invalid or missing CSRF token: reload the login page\n",
        )
            .into_response();
    }
    let addr = connect.map_or_else(|| "unknown".to_string(), |c| c.0.0.ip().to_string());
    let (user_key, addr_key) = (format!("user:{}", form.username), format!("addr:{addr}"));
    if state.limited(&user_key) || state.limited(&addr_key) {
        tracing::warn!(user = %form.username, %addr, "login refused: too many failures");
        let mut r = login_page(
            &state,
            &headers,
            &next,
            Some("Too many failed logins: try again later."),
        );
        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return r;
    }
    let user = match state.users.get(&form.username).await {
        Ok(u) => u,
        Err(e) => return internal(e),
    };
    let hash = user.as_ref().map_or_else(
        || accounts::dummy_hash().to_string(),
        |u| u.password_hash.clone(),
    );
    let password = form.password.clone();
    let ok = tokio::task::spawn_blocking(move || accounts::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        state.failed(&user_key);
        state.failed(&addr_key);
        tracing::warn!(user = %form.username, %addr, "login failed");
        let mut r = login_page(&state, &headers, &next, Some("Wrong user or password."));
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return r;
    };
    state
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&user_key);
    let id = accounts::random_secret();
    state
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            id.clone(),
            Session {
                name: user.name.clone(),
                csrf: accounts::random_secret(),
                started: Instant::now(),
            },
        );
    tracing::info!(user = %user.name, %addr, "login");
    let lifetime = state.cfg.session_lifetime.as_secs();
    let to = if user.must_change_password {
        "/password".to_string()
    } else {
        next
    };
    let mut r = Redirect::to(&to).into_response();
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, &id, Some(lifetime))
            .parse()
            .expect("a cookie of ASCII"),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(&state, LOGIN_CSRF_COOKIE, "", Some(0))
            .parse()
            .expect("a cookie of ASCII"),
    );
    r
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(state): State<Arc<Review>>, v: Viewer, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = check_csrf(&v, &f.csrf) {
        return r;
    }
    state
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&v.session);
    state
        .played
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&v.session);
    (
        [(
            header::SET_COOKIE,
            set_cookie(&state, SESSION_COOKIE, "", Some(0)),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

fn password_page(v: &Viewer, error: Option<&str>) -> Response {
    let err = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e)))
        .unwrap_or_default();
    let note = if v.must_change_password {
        "<p>Your password was a one-time password: choose your own.</p>"
    } else {
        ""
    };
    let body = format!(
        r#"{note}{err}<form method="post" action="/password" class="login">
<input type="hidden" name="csrf" value="{csrf}">
<label>New password (12 characters or more) <input name="password" id="new-password" type="password" autocomplete="new-password" required minlength="12"></label>
<label>Again <input name="again" id="new-password-again" type="password" autocomplete="new-password" required minlength="12"></label>
<button id="set-password">Set password</button></form>"#,
        csrf = esc(v.csrf.as_deref().unwrap_or_default())
    );
    Html(page(
        "Change password",
        &Frame {
            user: Some(&v.name),
            csrf: v.csrf.as_deref(),
        },
        &body,
    ))
    .into_response()
}

async fn password_form(v: Viewer) -> Response {
    password_page(&v, None)
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    password: String,
    again: String,
}

async fn password_change(
    State(state): State<Arc<Review>>,
    v: Viewer,
    Form(f): Form<PasswordForm>,
) -> Response {
    if let Err(r) = check_csrf(&v, &f.csrf) {
        return r;
    }
    if f.password != f.again {
        return password_page(&v, Some("The two passwords differ."));
    }
    match accounts::change_password(state.users.as_ref(), &v.name, &f.password).await {
        Ok(()) => Redirect::to("/search").into_response(),
        Err(crate::AccountError::Invalid(m)) => password_page(&v, Some(&m)),
        Err(e) => internal(e),
    }
}
