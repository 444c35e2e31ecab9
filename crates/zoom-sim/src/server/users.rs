//! Users: `GET /users/{userId}` (Zoom's "Get a user").

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Duration};
use serde_json::json;

use super::AppState;
use super::common::{admit, fmt_dt, json_ok, zoom_error};
use crate::ratelimit::{Category, Table};
use crate::scenario::{SimUser, UserStatus};

/// `created_at` of every simulated user (the scenario has no creation dates).
const CREATED_AT_SECS: i64 = 1_704_186_000; // 2024-01-02T09:00:00Z

/// The user whose id is `user_id`, or whose e-mail is `user_id` (case-insensitive).
fn find<'a>(users: &'a [SimUser], user_id: &str) -> Option<&'a SimUser> {
    users
        .iter()
        .find(|u| u.id == user_id)
        .or_else(|| users.iter().find(|u| u.email.eq_ignore_ascii_case(user_id)))
}

/// `GET /v2/users/{userId}` (Light, main table): `userId` is the user id or e-mail.
///
/// `created_at` is a fixed date (2024-01-02T09:00:00Z); `last_login_time` is an hour before
/// the simulator clock for an active user, the day after `created_at` for a deactivated one
/// and `""` for a pending one (never signed in). Unknown user: 404 / code 1001.
pub(crate) async fn get_user(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(user_id): Path<String>,
) -> Response {
    let path = format!("/v2/users/{user_id}");
    let adm = match admit(
        &st,
        &headers,
        &path,
        "GET /users/{userId}",
        Some((Table::Main, Category::Light)),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let acct = &st.scenario.accounts[adm.account];
    let Some(u) = find(&acct.users, &user_id) else {
        return zoom_error(404, 1001, &format!("User does not exist: {user_id}."));
    };
    let (first, last) = u.name.split_once(' ').unwrap_or((u.name.as_str(), ""));
    let created = DateTime::from_timestamp(CREATED_AT_SECS, 0).expect("valid timestamp");
    let last_login = match u.status {
        UserStatus::Active => fmt_dt(&st, st.clock.now() - Duration::hours(1)),
        UserStatus::Inactive => fmt_dt(&st, created + Duration::days(1)),
        UserStatus::Pending => String::new(),
    };
    json_ok(
        json!({
            "id": u.id,
            "first_name": first,
            "last_name": last,
            "display_name": u.name,
            "email": u.email,
            "type": 1,
            "status": u.status.as_str(),
            "phone_number": u.phone_number.clone().unwrap_or_default(),
            "timezone": "UTC",
            "created_at": fmt_dt(&st, created),
            "last_login_time": last_login,
            "dept": "",
            "role_id": "2",
        }),
        adm.headers,
    )
}
