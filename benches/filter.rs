//! Filter: a series filter, a text search and a sort over 1,000,000 edit results, each alone and
//! all three together (budget: ≤ 150 ms for filter + sort; BENCHMARKS.md).
//! Run: `cargo bench --bench filter`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use syncwatch::ui::fixtures;
use syncwatch::ui::results::{Chip, GridFilter, SortColumn, compute_indices};

const ROWS: usize = 1_000_000;

fn cases() -> Vec<(&'static str, GridFilter)> {
    let series = GridFilter {
        chip: Chip::Feature,
        ..GridFilter::default()
    };
    let search = GridFilter {
        search: "nullable".into(),
        ..GridFilter::default()
    };
    let sort = GridFilter {
        sort: Some((SortColumn::Description, true)),
        ..GridFilter::default()
    };
    let all_three = GridFilter {
        chip: Chip::Feature,
        search: "status".into(),
        sort: Some((SortColumn::GlobalId, false)),
        ..GridFilter::default()
    };
    vec![
        ("series_1000", series),
        ("search_text", search),
        ("sort_description", sort),
        ("series_search_sort", all_three),
    ]
}

fn filter(c: &mut Criterion) {
    let rows = fixtures::big_results(ROWS);
    let mut group = c.benchmark_group("filter_1m");
    group.sample_size(10);
    for (name, filter) in cases() {
        let shown = compute_indices(&rows, &filter).len();
        assert!(
            shown > 0,
            "{name} shows no rows; the bench would measure nothing"
        );
        group.bench_with_input(BenchmarkId::from_parameter(name), &filter, |b, filter| {
            b.iter(|| compute_indices(&rows, filter))
        });
    }
    group.finish();
}

criterion_group!(benches, filter);
criterion_main!(benches);
