//! Signed SAML responses built per second against raw RSA-2048 SHA-256 signatures per second,
//! on one thread, interleaved in one run so that both see the same machine load.
//!
//! A response with its assertion signed costs one RSA signature plus building the XML and two
//! SHA-256 digests; the raw signature rate is the ceiling. Run with
//! `cargo bench -p trustplane-saml --bench sign` (optionally `-- ROUNDS`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use time::{Duration, OffsetDateTime};
use trustplane_saml::{build_response, new_id, Attribute, ResponseParams, SigningKey};

/// Operations per batch; rounds alternate a batch of each.
const BATCH: usize = 200;

fn params(now: OffsetDateTime) -> ResponseParams {
    let attribute = |name: &str, values: &[&str]| Attribute {
        name: name.into(),
        name_format: Some("urn:oasis:names:tc:SAML:2.0:attrname-format:uri".into()),
        friendly_name: None,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    };
    ResponseParams {
        response_id: new_id().unwrap(),
        assertion_id: new_id().unwrap(),
        issue_instant: now,
        issuer: "https://idp.trustplane.test/saml".into(),
        destination: "https://signin.aws.amazon.com/saml".into(),
        in_response_to: Some("_0123456789abcdef0123456789abcdef".into()),
        audience: "urn:amazon:webservices".into(),
        name_id: "ada@example.com".into(),
        name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into(),
        session_index: new_id().unwrap(),
        session_not_on_or_after: Some(now + Duration::hours(8)),
        authn_instant: now,
        authn_context_class_ref:
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport".into(),
        not_before: now - Duration::minutes(1),
        not_on_or_after: now + Duration::minutes(5),
        attributes: vec![
            attribute(
                "https://aws.amazon.com/SAML/Attributes/Role",
                &[
                    "arn:aws:iam::111122223333:role/Admin,arn:aws:iam::111122223333:saml-provider/Trustplane",
                    "arn:aws:iam::111122223333:role/ReadOnly,arn:aws:iam::111122223333:saml-provider/Trustplane",
                ],
            ),
            attribute("https://aws.amazon.com/SAML/Attributes/RoleSessionName", &["ada@example.com"]),
            attribute("https://aws.amazon.com/SAML/Attributes/SessionDuration", &["3600"]),
            attribute("email", &["ada@example.com"]),
            attribute("displayName", &["Ada Lovelace"]),
            attribute("groups", &["Cloud Admins", "R&D", "staff"]),
        ],
        sign_assertion: true,
        sign_response: false,
    }
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10);
    let now = OffsetDateTime::now_utc();
    let key = SigningKey::generate("bench.trustplane.test", now, now + Duration::days(1)).unwrap();
    let params = params(now);
    let size = build_response(&params, &key).unwrap().len();
    // The signing input of a raw signature: the size of a canonical SignedInfo.
    let signed_info = vec![b'x'; 700];
    println!(
        "one thread, {rounds} rounds of {BATCH} responses then {BATCH} raw signatures; response {size} bytes, assertion signed, 6 attributes"
    );

    // Warm up both paths.
    for _ in 0..20 {
        black_box(build_response(black_box(&params), &key).unwrap());
        black_box(key.sign(black_box(&signed_info)).unwrap());
    }

    let mut responses_us = Vec::new();
    let mut raw_us = Vec::new();
    let (mut responses_total, mut raw_total) = (0.0, 0.0);
    for _ in 0..rounds {
        let batch = Instant::now();
        for _ in 0..BATCH {
            let t = Instant::now();
            black_box(build_response(black_box(&params), &key).unwrap());
            responses_us.push(t.elapsed().as_secs_f64() * 1e6);
        }
        responses_total += batch.elapsed().as_secs_f64();
        let batch = Instant::now();
        for _ in 0..BATCH {
            let t = Instant::now();
            black_box(key.sign(black_box(&signed_info)).unwrap());
            raw_us.push(t.elapsed().as_secs_f64() * 1e6);
        }
        raw_total += batch.elapsed().as_secs_f64();
    }
    let n = (rounds * BATCH) as f64;
    let response_median = median(&mut responses_us);
    let raw_median = median(&mut raw_us);
    println!(
        "signed responses    mean {:>7.1}/s | median {response_median:>7.1} µs ({:>7.1}/s) | fastest {:>7.1} µs",
        n / responses_total,
        1e6 / response_median,
        responses_us[0]
    );
    println!(
        "raw RSA-2048 SHA256 mean {:>7.1}/s | median {raw_median:>7.1} µs ({:>7.1}/s) | fastest {:>7.1} µs",
        n / raw_total,
        1e6 / raw_median,
        raw_us[0]
    );
    println!(
        "response / raw signature time (medians): {:.3}",
        response_median / raw_median
    );
}
