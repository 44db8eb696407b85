//! The cloud scheduler without an HTTP server or a cloud: fake ports, a store on SQLite in a
//! temporary folder and a clock the tests move.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;
use trustplane_cloudops::{
    BoxFuture, Cloud, CloudCollector, CloudConnectors, LogLocation, LogObjects, ObjectFailure,
    ObjectReads, ScanTarget, ERROR, MAX_OBJECT_ATTEMPTS,
};
use trustplane_keyring::Sealer;
use trustplane_model::{Actor, ManualClock};
use trustplane_monitor::{Detection, IngestLimits};
use trustplane_posture::ResourceDoc;
use trustplane_store::{NewCloudAccount, NewLogSource, Store};

const T0: i64 = 1_790_000_000_000;
/// 32 zero bytes, base64url: a master key for tests.
const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

struct Node {
    store: Store,
    sealer: Sealer,
    detection: Arc<Detection>,
    _dir: tempfile::TempDir,
}

async fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::open(&url, Arc::new(ManualClock::new(T0)))
        .await
        .unwrap();
    let sealer = Sealer::from_base64(KEY).unwrap();
    let detection = Arc::new(
        Detection::new(store.clone(), sealer.clone(), &[], IngestLimits::default()).unwrap(),
    );
    Node {
        store,
        sealer,
        detection,
        _dir: dir,
    }
}

impl Node {
    fn cloud(&self, connectors: CloudConnectors) -> Cloud {
        Cloud::new(
            self.store.clone(),
            self.sealer.clone(),
            self.detection.clone(),
            connectors,
        )
    }
}

/// A bucket in memory: objects by key, and objects that fail to read.
#[derive(Default)]
struct Bucket {
    objects: HashMap<String, Vec<u8>>,
    failing: HashMap<String, bool>,
    reads: Mutex<Vec<String>>,
}

impl LogObjects for Bucket {
    fn list<'a>(
        &'a self,
        _location: &'a LogLocation,
        start_after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            let mut keys: Vec<String> = self
                .objects
                .keys()
                .chain(self.failing.keys())
                .filter(|k| start_after.is_none_or(|s| k.as_str() > s))
                .cloned()
                .collect();
            keys.sort();
            keys.truncate(limit);
            Ok(keys)
        })
    }

    fn read<'a>(
        &'a self,
        _location: &'a LogLocation,
        keys: Vec<String>,
    ) -> BoxFuture<'a, ObjectReads> {
        Box::pin(async move {
            self.reads.lock().unwrap().extend(keys.iter().cloned());
            keys.into_iter()
                .map(|k| {
                    let read = match (self.objects.get(&k), self.failing.get(&k)) {
                        (Some(bytes), _) => Ok(bytes.clone()),
                        (None, Some(&refused)) => Err(ObjectFailure {
                            reason: "access denied".into(),
                            refused,
                        }),
                        (None, None) => Err(ObjectFailure {
                            reason: "no such key".into(),
                            refused: false,
                        }),
                    };
                    (k, read)
                })
                .collect()
        })
    }
}

fn record(name: &str) -> Vec<u8> {
    json!({"Records": [{"eventName": name, "eventSource": "s3.amazonaws.com", "eventTime": "2026-11-28T10:00:00Z"}]})
        .to_string()
        .into_bytes()
}

async fn source(store: &Store) -> String {
    store
        .create_log_source(
            &Actor::system(),
            NewLogSource {
                display_name: "trail".into(),
                bucket: "logs".into(),
                prefix: "AWSLogs/".into(),
                region: "eu-west-1".into(),
                role_arn: None,
                endpoint_url: None,
                poll_interval_secs: 60,
                enabled: true,
            },
        )
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn a_poll_reads_in_key_order_retries_a_failing_object_then_gives_it_up() {
    let n = node().await;
    let bucket = Arc::new(Bucket {
        objects: [
            ("a".to_string(), record("GetObject")),
            ("c".into(), record("PutObject")),
        ]
        .into_iter()
        .collect(),
        failing: [("b".to_string(), false)].into_iter().collect(),
        ..Default::default()
    });
    let cloud = n.cloud(CloudConnectors {
        log_objects: Some(bucket.clone()),
        ..Default::default()
    });
    let id = source(&n.store).await;

    // `a` is read and acknowledged; `b` fails and holds the cursor before it.
    let first = cloud.poll(&Actor::system(), &id).await.unwrap().unwrap();
    assert_eq!(first.objects, 1, "{first:?}");
    assert_eq!(first.records, 1);
    assert_eq!(first.retrying.as_deref(), Some("b"));
    assert_eq!(first.last_key.as_deref(), Some("a"));

    for _ in 1..MAX_OBJECT_ATTEMPTS - 1 {
        let again = cloud.poll(&Actor::system(), &id).await.unwrap().unwrap();
        assert_eq!(again.retrying.as_deref(), Some("b"), "{again:?}");
        assert_eq!(again.objects, 0);
    }
    // The last attempt gives `b` up and goes on to `c`.
    let last = cloud.poll(&Actor::system(), &id).await.unwrap().unwrap();
    assert_eq!(last.given_up, vec!["b".to_string()], "{last:?}");
    assert_eq!((last.objects, last.records), (1, 1));
    assert_eq!(last.last_key.as_deref(), Some("c"));
    assert_eq!(last.retrying, None);

    // Nothing acknowledged is read again.
    let reads = bucket.reads.lock().unwrap().clone();
    assert_eq!(reads.iter().filter(|k| *k == "a").count(), 1, "{reads:?}");
    let stored = n.store.get_log_source(&id).await.unwrap();
    assert_eq!(stored.last_key.as_deref(), Some("c"));
    assert_eq!((stored.objects_read, stored.objects_failed), (2, 1));
}

#[tokio::test]
async fn an_object_refused_for_its_size_is_skipped_at_once() {
    let n = node().await;
    let bucket = Arc::new(Bucket {
        objects: [("b".to_string(), record("GetObject"))]
            .into_iter()
            .collect(),
        failing: [("a".to_string(), true)].into_iter().collect(),
        ..Default::default()
    });
    let cloud = n.cloud(CloudConnectors {
        log_objects: Some(bucket),
        ..Default::default()
    });
    let id = source(&n.store).await;
    let report = cloud.poll(&Actor::system(), &id).await.unwrap().unwrap();
    assert_eq!(report.given_up, vec!["a".to_string()], "{report:?}");
    assert_eq!(report.objects, 1);
    assert_eq!(report.last_key.as_deref(), Some("b"));
}

#[tokio::test]
async fn a_node_without_ports_records_errors_never_successes() {
    let n = node().await;
    let cloud = n.cloud(CloudConnectors::default());
    let id = source(&n.store).await;
    let report = cloud.poll(&Actor::system(), &id).await.unwrap().unwrap();
    assert!(
        report.error.as_deref().unwrap().contains("cannot read S3"),
        "{report:?}"
    );
    assert_eq!(n.store.get_log_source(&id).await.unwrap().last_key, None);

    let account = n
        .store
        .create_cloud_account(
            &Actor::system(),
            NewCloudAccount {
                provider: "aws".into(),
                account: "111122223333".into(),
                display_name: "prod".into(),
                settings: json!({ "regions": ["eu-west-1"] }),
                sealed_secret: None,
                enabled: true,
            },
        )
        .await
        .unwrap();
    let scan = cloud
        .scan(&Actor::system(), &account.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(scan.status, ERROR);
    assert!(
        scan.error
            .as_deref()
            .unwrap()
            .contains("no cloud collector"),
        "{scan:?}"
    );
}

/// Answers every collection with nothing, and remembers what it was asked for.
#[derive(Default)]
struct Empty {
    asked: Mutex<Vec<String>>,
}

impl CloudCollector for Empty {
    fn collect<'a>(
        &'a self,
        target: &'a ScanTarget,
    ) -> BoxFuture<'a, Result<Vec<ResourceDoc>, String>> {
        Box::pin(async move {
            self.asked.lock().unwrap().push(format!("{target:?}"));
            Ok(Vec::new())
        })
    }
}

#[tokio::test]
async fn an_azure_secret_is_opened_for_the_scan_only_and_the_account_must_match() {
    let n = node().await;
    let collector = Arc::new(Empty::default());
    let cloud = n.cloud(CloudConnectors {
        collector: Some(collector.clone()),
        ..Default::default()
    });
    let subscription = "00000000-0000-0000-0000-000000000001";
    let sealed = cloud.seal_secret("azure", subscription, "hunter2").unwrap();
    assert!(!sealed.contains("hunter2"));
    let account = n
        .store
        .create_cloud_account(
            &Actor::system(),
            NewCloudAccount {
                provider: "azure".into(),
                account: subscription.into(),
                display_name: "sub".into(),
                settings: json!({
                    "tenantId": "00000000-0000-0000-0000-00000000000a",
                    "clientId": "00000000-0000-0000-0000-00000000000b",
                }),
                sealed_secret: Some(sealed),
                enabled: true,
            },
        )
        .await
        .unwrap();
    match cloud.connection(&account.id).await.unwrap() {
        ScanTarget::Azure { client_secret, .. } => assert_eq!(client_secret, "hunter2"),
        other => panic!("{other:?}"),
    }

    // The fake reaches no account at all: the scan is an error, not an empty success.
    let scan = cloud
        .scan(&Actor::system(), &account.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(scan.status, ERROR);
    assert!(
        scan.error.as_deref().unwrap().contains("reach no account"),
        "{scan:?}"
    );
    let asked = collector.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert!(!asked[0].contains("hunter2"), "{asked:?}");
}
