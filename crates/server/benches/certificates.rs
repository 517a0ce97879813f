//! Signing and verifying issued certificates: 10,000 documents signed with Ed25519 (canonical
//! payload bytes included), and the same 10,000 verified, as `xcert certificate verify` and a
//! third party do. Run with `cargo bench -p xcert-server --bench certificates`; each
//! measurement is one batch of 10,000.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xcert_server::credentials::document::{
    PAYLOAD_FORMAT, Payload, SignedDocument, SigningKey, new_number, verify,
};

const DOCUMENTS: usize = 10_000;

fn payloads(key: &SigningKey) -> Vec<Payload> {
    (0..DOCUMENTS)
        .map(|index| {
            let bytes = (index as u64).to_le_bytes();
            Payload {
                certificate_code: "WEB-FE".to_owned(),
                certificate_level: "junior".to_owned(),
                certificate_title: "Web 前端开发（初级）".to_owned(),
                credits: 4,
                exam_date: "2026-06-06".to_owned(),
                format: PAYLOAD_FORMAT.to_owned(),
                holder_document: "1101**********002X".to_owned(),
                holder_name: format!("考生 {index}"),
                issued_at: "2026-06-20T08:00:00Z".to_owned(),
                issuer_code: "ACME".to_owned(),
                issuer_name: "ACME Evaluation".to_owned(),
                key_id: key.public_key().key_id(),
                number: new_number("WEB-FE", "junior", 2026, bytes),
            }
        })
        .collect()
}

fn certificates(c: &mut Criterion) {
    let key = SigningKey::from_seed(&[7; 32]);
    let public = key.public_key();
    let payloads = payloads(&key);
    let documents: Vec<SignedDocument> = payloads.iter().cloned().map(|p| key.sign(p)).collect();

    let mut group = c.benchmark_group("certificates");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(DOCUMENTS as u64));
    group.bench_function("sign 10,000", |b| {
        b.iter(|| {
            for payload in &payloads {
                black_box(key.sign(payload.clone()));
            }
        });
    });
    group.bench_function("verify 10,000", |b| {
        b.iter(|| {
            for document in &documents {
                assert!(verify(black_box(document), &public).is_ok());
            }
        });
    });
    group.finish();
}

criterion_group!(benches, certificates);
criterion_main!(benches);
