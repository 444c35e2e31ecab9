//! The DynamoDB reviewer store against `moto_server` (endpoint in env `MOTO`): the
//! conformance suite the memory and SQLite stores pass, and its items in the metadata
//! table. Without `MOTO` each test prints "skipped: MOTO not set" and passes, unless
//! `ZA_REQUIRE_MOTO=1`.

use archiver_aws::{AwsAdapters, AwsSettings, connect, init_resources};
use archiver_core::{MetaError, ReviewRole, Reviewer, ReviewerStore, SystemClock};
use aws_sdk_dynamodb::types::AttributeValue;
use std::sync::Arc;

async fn setup(name: &str) -> Option<(AwsSettings, AwsAdapters)> {
    let endpoint = archiver_testkit::moto_endpoint()?;
    let base = format!("za-{name}-{}-{:08x}", std::process::id(), fastrand::u32(..));
    let s = AwsSettings {
        region: "us-east-1".into(),
        endpoint_url: Some(endpoint),
        bucket: base.clone(),
        table: base.clone(),
        queue_name: base,
        dlq_name: None,
        kms_key_id: None,
        key_prefix: None,
        object_lock: None,
        manifest_key_id: None,
    };
    init_resources(&s).await.expect("init_resources");
    let a = connect(&s, Arc::new(SystemClock)).await.expect("connect");
    Some((s, a))
}

#[tokio::test]
async fn conformance_reviewer_store_on_dynamodb() {
    let Some((_s, a)) = setup("crev").await else {
        return;
    };
    archiver_testkit::conformance::reviewer_store(&*a.reviewers).await;
}

fn reviewer(name: &str) -> Reviewer {
    Reviewer {
        name: name.into(),
        role: ReviewRole::Admin,
        password_hash: "$argon2id$x".into(),
        must_change_password: true,
        created_at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn tokens_are_items_keyed_by_hash_and_need_an_account() {
    let Some((s, a)) = setup("rtok").await else {
        return;
    };
    let store = &*a.reviewers;
    let sha = format!("{:032x}{:032x}", fastrand::u128(..), fastrand::u128(..));

    // No account: nothing is written, and the caller hears why.
    let e = store.add_token("ghost", &sha).await.unwrap_err();
    assert!(matches!(e, MetaError::Conflict(_)), "{e}");
    assert_eq!(store.by_token(&sha).await.unwrap(), None);

    assert!(store.insert(&reviewer("ada")).await.unwrap());
    assert!(store.insert(&reviewer("rita")).await.unwrap());
    store.add_token("ada", &sha).await.unwrap();
    // A hash names one account: the first stays.
    store.add_token("rita", &sha).await.unwrap();
    assert_eq!(store.by_token(&sha).await.unwrap().unwrap().name, "ada");

    // The token is its own item, read by key (the key the adapter's GetItem reads).
    let ddb = a.meta.client();
    let item = ddb
        .get_item()
        .table_name(&s.table)
        .key("pk", AttributeValue::S(format!("R#TOKEN#{sha}")))
        .key("sk", AttributeValue::S("TOKEN".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the token item");
    assert_eq!(item["name"], AttributeValue::S("ada".into()));
    assert_eq!(item["kind"], AttributeValue::S("review_token".into()));

    // Accounts share one partition; every review item's key starts with R#.
    let out = ddb
        .scan()
        .table_name(&s.table)
        .filter_expression("begins_with(#k, :r)")
        .expression_attribute_names("#k", "kind")
        .expression_attribute_values(":r", AttributeValue::S("review".into()))
        .send()
        .await
        .unwrap();
    let items = out.items.unwrap_or_default();
    assert_eq!(items.len(), 3, "two accounts and one token: {items:?}");
    assert!(
        items
            .iter()
            .all(|i| i["pk"].as_s().unwrap().starts_with("R#")),
        "{items:?}"
    );
    assert!(
        items
            .iter()
            .all(|i| !i.contains_key("password") && !i.contains_key("token")),
        "only hashes are stored"
    );

    // set_password changes the hash in place and never creates an account.
    assert!(
        store
            .set_password("ada", "$argon2id$y", false)
            .await
            .unwrap()
    );
    let ada = store.get("ada").await.unwrap().unwrap();
    assert_eq!(
        (ada.password_hash.as_str(), ada.must_change_password),
        ("$argon2id$y", false)
    );
    assert_eq!(ada.role, ReviewRole::Admin);
    assert!(!store.set_password("nobody", "h", false).await.unwrap());
    assert_eq!(store.get("nobody").await.unwrap(), None);
}
