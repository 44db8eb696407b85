//! The built-in registry: unique ids, consistent declarations, documented input types.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use trustplane_posture::{checks, CheckDef, DuplicateCheck, Provider, Registry};

#[test]
fn built_in_ids_are_unique_and_registered() {
    let all = checks::all();
    let ids: BTreeSet<&str> = all.iter().map(|c| c.id).collect();
    println!("{} built-in checks", all.len());
    assert_eq!(ids.len(), all.len(), "a check id is declared twice");
    assert_eq!(Registry::builtin().len(), all.len());
}

#[test]
fn registering_an_id_twice_is_an_error() {
    let mut r = Registry::new();
    let c: CheckDef = checks::all()[0];
    r.register(c).unwrap();
    assert_eq!(r.register(c), Err(DuplicateCheck(c.id.to_string())));
    assert!(r.contains(c.id));
}

#[test]
fn every_check_reads_types_of_its_own_cloud_that_the_readme_documents() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for c in checks::all() {
        assert!(!c.needs.is_empty(), "{} declares no input", c.id);
        assert!(!c.title.is_empty());
        let prefix = match c.provider {
            Provider::Aws => "aws.",
            Provider::Azure => "azure.",
        };
        for t in c.needs {
            assert!(t.starts_with(prefix), "{} reads {t}", c.id);
            // The README lists `azure.sql.server`, `.firewall_rule`, ...: match the full name
            // or the last segment after the first entry of its group.
            let last = t.rsplit('.').next().unwrap();
            assert!(
                readme.contains(&format!("`{t}`")) || readme.contains(&format!("`.{last}`")),
                "README does not document {t}"
            );
        }
    }
}
