//! Ingest: reading synchronizeReplica replies with 100,000 and 1,000,000 edit results the way
//! the client does, embedded (`parse_reply`) and as a result file (`read_sync_stream`), their
//! results flattened into edit-result rows (budget: ≥ 300 MB/s), and reading
//! `GDB_DataChangesEditResults` from a delta SQLite file (budget: ≥ 1,000,000 rows/s; BENCHMARKS.md).
//! Run: `cargo bench --bench ingest`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use syncwatch::geodatabase::delta::{self, Delta};
use syncwatch::protocol::{
    ChangeType, EditResult, Feature, FeatureSink, Guid, LayerSyncResult, ReplicaResponse,
    ResponseType, parse_reply, read_sync_stream,
};

/// A realistic reply: 10 layers, results split between adds, updates and deletes, one in five failed.
fn sync_reply(results: usize) -> ReplicaResponse {
    let layers = 10;
    let per_layer = results / layers;
    let mut reply = ReplicaResponse {
        replica_id: Some(Guid::new_v4()),
        replica_name: Some("bench".into()),
        replica_server_gen: Some(1_374_861_421_011),
        response_type: Some(ResponseType::Edits),
        ..Default::default()
    };
    for layer in 0..layers {
        let mut l = LayerSyncResult {
            id: layer as i64,
            ..Default::default()
        };
        for i in 0..per_layer {
            let gid = Some(Guid::new_v4());
            let oid = Some((layer * per_layer + i) as i64);
            let r = if i % 5 == 0 {
                EditResult::failed(
                    oid,
                    gid,
                    1001,
                    "Field: Depth is not nullable. Cannot set null value.",
                )
            } else {
                EditResult::ok(oid, gid)
            };
            match i % 3 {
                0 => l.add_results.push(r),
                1 => l.update_results.push(r),
                _ => l.delete_results.push(r),
            }
        }
        reply.edits.push(l);
    }
    reply
}

fn sync_reply_json(results: usize) -> Vec<u8> {
    serde_json::to_vec(&sync_reply(results)).expect("serialize bench reply")
}

/// Discards streamed features (the bench replies carry none).
struct NoFeatures;

impl FeatureSink for NoFeatures {
    type Error = std::convert::Infallible;
    fn feature(&mut self, _: i64, _: ChangeType, _: Feature) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Both ways the client reads a reply's edit results: an embedded reply parsed from the body
/// (`parse_reply`), and a result file on disk read as a stream (`read_sync_stream`, as
/// `engine/job/sync_result.rs` does), each flattened into rows.
fn ingest(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest_json");
    group.sample_size(10);
    let dir = tempfile::tempdir().expect("temp dir");
    for results in [100_000usize, 1_000_000] {
        let body = sync_reply_json(results);
        let path = dir.path().join(format!("result-{results}.json"));
        std::fs::write(&path, &body).expect("write the result file");
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("embedded", results), &body, |b, body| {
            b.iter(|| {
                let reply: ReplicaResponse = parse_reply(body).expect("bench reply parses");
                let rows = reply.result_rows();
                assert_eq!(rows.len(), results);
                rows
            })
        });
        group.bench_with_input(
            BenchmarkId::new("result_file", results),
            &path,
            |b, path| {
                b.iter(|| {
                    let file = std::fs::File::open(path).expect("open the result file");
                    let reader = std::io::BufReader::with_capacity(256 * 1024, file);
                    let read =
                        read_sync_stream(reader, &mut NoFeatures).expect("bench reply reads");
                    let rows = read.response.result_rows();
                    assert_eq!(rows.len(), results);
                    rows
                })
            },
        );
    }
    group.finish();
}

/// A delta file holding `results` edit results, as the server writes it for a SQLite download.
fn ingest_delta(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest_delta");
    group.sample_size(10);
    let dir = tempfile::tempdir().expect("temp dir");
    for results in [100_000usize, 1_000_000] {
        let path = dir.path().join(format!("delta-{results}.geodatabase"));
        delta::write(&path, &Delta::from_response(&sync_reply(results))).expect("write delta");
        group.throughput(Throughput::Elements(results as u64));
        group.bench_with_input(BenchmarkId::from_parameter(results), &path, |b, path| {
            b.iter(|| {
                let read = delta::read(path).expect("bench delta reads");
                assert_eq!(read.edit_results.len(), results);
                read
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ingest, ingest_delta);
criterion_main!(benches);
