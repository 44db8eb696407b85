//! Times outbound provisioning into an Identity Store (moto's, started by
//! `bench/provision-identity-store.sh`): USERS users in GROUPS groups from empty, then a 1 %
//! change (half new users, half deleted), then a reconciliation that reads everything back.
//!
//! `cargo run -p trustplane-cloud --example provision_identity_store -- USERS GROUPS MOTO_URL`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use trustplane_keyring::Sealer;
use trustplane_model::{Actor, SystemClock};
use trustplane_provisioning::connections::{self, CreateConnection};
use trustplane_provisioning::outbound::{Mode, Outbound};
use trustplane_store::{NewGroup, NewUser, Store};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

async fn add_user(store: &Store, i: usize, groups: &[String]) -> String {
    let u = store
        .create_user(
            &Actor::system(),
            NewUser {
                user_principal_name: format!("user{i}@bench.example"),
                display_name: format!("User {i}"),
                given_name: Some("User".into()),
                surname: Some(format!("N{i}")),
                mail: Some(format!("user{i}@bench.example")),
                account_enabled: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store
        .add_member(&Actor::system(), &groups[i % groups.len()], &u.id)
        .await
        .unwrap();
    u.id
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let users: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let group_count: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let moto = args.get(3).cloned().expect("the moto URL");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, Arc::new(SystemClock)).await.unwrap();
    let seeded = Instant::now();
    let mut groups = Vec::new();
    for g in 0..group_count {
        let made = store
            .create_group(
                &Actor::system(),
                NewGroup {
                    display_name: format!("Group {g}"),
                    description: None,
                    is_assignable_to_role: false,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        groups.push(made.id);
    }
    let mut ids = Vec::new();
    for i in 0..users {
        ids.push(add_user(&store, i, &groups).await);
    }
    println!(
        "seeded {users} users in {group_count} groups in {:.1?}",
        seeded.elapsed()
    );

    let outbound = Outbound::new(
        store.clone(),
        Sealer::from_base64(KEY).unwrap(),
        Some(Arc::new(trustplane_cloud::IdentityStores)),
    );
    let body: CreateConnection = serde_json::from_value(json!({
        "type": "awsIdentityStore", "displayName": "bench", "identityStoreId": "d-0000000001",
        "region": "us-east-1", "endpoint": moto, "deleteThresholdPercent": 100}))
    .unwrap();
    let c = connections::create(
        &store,
        &outbound,
        &Actor::system(),
        body,
        "http://localhost",
    )
    .await
    .unwrap();
    let id = c["id"].as_str().unwrap();

    let t = Instant::now();
    let report = outbound.run(id, Mode::Changes).await.unwrap();
    println!(
        "from empty: {:.1?}, pushed {}, failed {}",
        t.elapsed(),
        report["pushed"],
        report["failed"]
    );

    // A 1 % change: half new people (each into a group), half deleted.
    let change = (users / 100).max(2);
    for (i, gone) in ids.iter().take(change / 2).enumerate() {
        add_user(&store, users + i, &groups).await;
        store.delete_user(&Actor::system(), gone).await.unwrap();
    }
    let t = Instant::now();
    let report = outbound.run(id, Mode::Changes).await.unwrap();
    println!(
        "1 % change ({change} users): {:.1?}, pushed {}, failed {}",
        t.elapsed(),
        report["pushed"],
        report["failed"]
    );

    let t = Instant::now();
    let report = outbound.run(id, Mode::Reconcile).await.unwrap();
    println!(
        "reconciliation: {:.1?}, drift {}, pushed {}",
        t.elapsed(),
        report["drift"],
        report["pushed"]
    );
}
