//! Loading and saving inventories; bad input is a typed error naming the file.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::json;
use trustplane_posture::{Inventory, InventoryError, Provider, ResourceDoc};

fn doc(id: &str) -> ResourceDoc {
    ResourceDoc::new(
        Provider::Aws,
        "111111111111",
        "us-east-1",
        "aws.ec2.vpc",
        id,
        id,
        json!({"VpcId": id}),
    )
}

#[test]
fn save_then_load_round_trips() {
    let dir = common::tempdir("roundtrip");
    let mut inv = Inventory::from_docs([doc("vpc-1"), doc("vpc-2")]);
    inv.push(ResourceDoc::collection_error(
        Provider::Aws,
        "111111111111",
        "eu-west-1",
        "ec2",
        &["aws.ec2.vpc"],
        "throttled",
        None,
    ));
    let path = inv.save_dir(&dir).unwrap();
    assert_eq!(path.file_name().unwrap(), "inventory.ndjson");
    let back = Inventory::load_dir(&dir).unwrap();
    assert_eq!(back.docs(), inv.docs());
    assert_eq!(back.of_type("aws.ec2.vpc").count(), 2);
    assert_eq!(back.collection_errors().len(), 1);
    assert_eq!(back.collection_errors()[0].resource_types, ["aws.ec2.vpc"]);
}

#[test]
fn loads_json_arrays_single_documents_and_ndjson_and_ignores_other_files() {
    let dir = common::tempdir("formats");
    std::fs::write(
        dir.join("a.json"),
        serde_json::to_string(&vec![doc("vpc-1"), doc("vpc-2")]).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("b.json"),
        serde_json::to_string(&doc("vpc-3")).unwrap(),
    )
    .unwrap();
    let lines = format!(
        "{}\n\n{}\n",
        serde_json::to_string(&doc("vpc-4")).unwrap(),
        serde_json::to_string(&doc("vpc-5")).unwrap()
    );
    std::fs::write(dir.join("c.ndjson"), lines).unwrap();
    std::fs::write(dir.join("notes.txt"), "not an inventory").unwrap();
    let inv = Inventory::load_dir(&dir).unwrap();
    let ids: Vec<&str> = inv.docs().iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["vpc-1", "vpc-2", "vpc-3", "vpc-4", "vpc-5"]);
}

#[test]
fn malformed_json_file_is_a_parse_error_naming_the_file() {
    let dir = common::tempdir("malformed");
    std::fs::write(
        dir.join("good.json"),
        serde_json::to_string(&doc("vpc-1")).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("broken.json"), "[{\"provider\": \"aws\", ").unwrap();
    let err = Inventory::load_dir(&dir).unwrap_err();
    match &err {
        InventoryError::Parse { path, .. } => assert!(path.ends_with("broken.json")),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("broken.json"), "{err}");
}

#[test]
fn bad_ndjson_line_names_file_and_line() {
    let dir = common::tempdir("badline");
    let lines = format!("{}\n{{\"provider\":\"gcp\",\"account\":\"x\",\"region\":\"r\",\"type\":\"t\",\"id\":\"i\"}}\n", serde_json::to_string(&doc("vpc-1")).unwrap());
    std::fs::write(dir.join("scan.ndjson"), lines).unwrap();
    let err = Inventory::load_dir(&dir).unwrap_err();
    match &err {
        InventoryError::Parse { path, line, .. } => {
            assert!(path.ends_with("scan.ndjson"));
            assert_eq!(*line, 2);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn unknown_field_and_empty_id_are_rejected() {
    let dir = common::tempdir("invalid");
    std::fs::write(
        dir.join("x.json"),
        r#"{"provider":"aws","account":"1","region":"global","type":"aws.iam.user","id":"u","raw":{},"extra":1}"#,
    )
    .unwrap();
    assert!(matches!(
        Inventory::load_dir(&dir).unwrap_err(),
        InventoryError::Parse { .. }
    ));
    std::fs::write(
        dir.join("x.json"),
        r#"{"provider":"aws","account":"1","region":"global","type":"aws.iam.user","id":"","raw":{}}"#,
    )
    .unwrap();
    let err = Inventory::load_dir(&dir).unwrap_err();
    assert!(matches!(err, InventoryError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("x.json") && err.to_string().contains("`id`"));
}

#[test]
fn missing_directory_is_an_io_error_naming_it() {
    let err =
        Inventory::load_dir(std::path::Path::new("/nonexistent/trustplane-scan")).unwrap_err();
    assert!(matches!(err, InventoryError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/trustplane-scan"));
}

#[test]
fn a_directory_without_documents_is_an_empty_error_not_an_empty_inventory() {
    let dir = common::tempdir("empty-dir");
    let err = Inventory::load_dir(&dir).unwrap_err();
    assert!(matches!(err, InventoryError::Empty { .. }), "{err:?}");
    assert!(err.to_string().contains("the directory is empty"), "{err}");

    // Another tool's output (CSV, HTML) is not an inventory either.
    std::fs::write(dir.join("prowler-output.csv"), "a;b;c\n").unwrap();
    std::fs::write(dir.join("report.html"), "<html></html>").unwrap();
    let err = Inventory::load_dir(&dir).unwrap_err();
    assert!(err.to_string().contains("none of its 2 entries"), "{err}");

    // JSON files that parse but hold nothing.
    std::fs::write(dir.join("a.json"), "[]").unwrap();
    std::fs::write(dir.join("b.ndjson"), "\n\n").unwrap();
    let err = Inventory::load_dir(&dir).unwrap_err();
    assert!(
        err.to_string().contains("2 JSON file(s) hold no documents"),
        "{err}"
    );
}
