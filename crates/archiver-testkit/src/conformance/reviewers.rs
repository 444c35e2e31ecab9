use archiver_core::{ReviewGrant, ReviewRole, Reviewer, ReviewerStore, TenantId};

/// The [`ReviewerStore`] contract: insert-if-absent by name, password changes only on an
/// existing account, token hashes resolve to their account, grants are a set. Uses fresh
/// random names, so it can run against a shared store.
pub async fn reviewer_store(store: &dyn ReviewerStore) {
    let name = format!("rev-{}", uuid::Uuid::new_v4().simple());
    let r = Reviewer {
        name: name.clone(),
        role: ReviewRole::Reviewer,
        password_hash: "$argon2id$first".into(),
        must_change_password: true,
        created_at: crate::fixtures::t0(),
    };
    assert!(store.insert(&r).await.unwrap(), "a new name is stored");
    let other = Reviewer {
        role: ReviewRole::Admin,
        ..r.clone()
    };
    assert!(
        !store.insert(&other).await.unwrap(),
        "insert is insert-if-absent"
    );
    assert_eq!(store.get(&name).await.unwrap(), Some(r.clone()));
    assert!(store.list().await.unwrap().iter().any(|u| u.name == name));

    assert!(
        store
            .set_password(&name, "$argon2id$second", false)
            .await
            .unwrap()
    );
    let got = store.get(&name).await.unwrap().unwrap();
    assert_eq!(got.password_hash, "$argon2id$second");
    assert!(!got.must_change_password);
    assert!(
        !store
            .set_password("no-such-user-x", "h", false)
            .await
            .unwrap(),
        "set_password does not create an account"
    );

    let sha = format!("{:064x}", fastrand_u128());
    assert_eq!(store.by_token(&sha).await.unwrap(), None);
    store.add_token(&name, &sha).await.unwrap();
    assert_eq!(store.by_token(&sha).await.unwrap().unwrap().name, name);

    let t = TenantId::new("tenant-a").unwrap();
    let whole = ReviewGrant {
        tenant: t.clone(),
        user: None,
    };
    let one = ReviewGrant {
        tenant: t,
        user: Some("bob@acme.example".into()),
    };
    assert!(store.grants(&name).await.unwrap().is_empty());
    store.grant(&name, &one).await.unwrap();
    store.grant(&name, &whole).await.unwrap();
    store.grant(&name, &one).await.unwrap();
    let gs = store.grants(&name).await.unwrap();
    assert_eq!(gs.len(), 2, "grants are a set: {gs:?}");
    assert!(gs.contains(&whole) && gs.contains(&one));
}

fn fastrand_u128() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}
