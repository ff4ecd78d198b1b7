//! The broker's and dealer's lookups with many subscriptions or registrations: the cost of
//! finding what a URI matches as the index grows from 10 to 100,000 patterns, for each
//! match policy, against a plain scan of the same patterns for contrast.
//!
//! `cargo bench -p wamp-bench --bench lookup`

#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use wamp_router::UriIndex;
use wamp_runtime::proto::uri::{self, MatchPolicy};

const SIZES: [usize; 5] = [10, 100, 1_000, 10_000, 100_000];

/// The `i`-th pattern of `policy`, all in one namespace so that lookups meet them.
fn pattern(policy: MatchPolicy, i: usize) -> String {
    match policy {
        MatchPolicy::Exact => format!("com.app.p{i}.run"),
        MatchPolicy::Prefix => format!("com.app.p{i}."),
        MatchPolicy::Wildcard => format!("com.app.p{i}..run"),
    }
}

/// A concrete URI that matches pattern `i` of `policy` and no other.
fn target(policy: MatchPolicy, i: usize) -> String {
    match policy {
        MatchPolicy::Exact => format!("com.app.p{i}.run"),
        MatchPolicy::Prefix => format!("com.app.p{i}.run"),
        MatchPolicy::Wildcard => format!("com.app.p{i}.any.run"),
    }
}

fn lookups(c: &mut Criterion) {
    for policy in [
        MatchPolicy::Exact,
        MatchPolicy::Prefix,
        MatchPolicy::Wildcard,
    ] {
        let mut group = c.benchmark_group(format!("lookup/{}", policy.as_str()));
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        for n in SIZES {
            let patterns: Vec<String> = (0..n).map(|i| pattern(policy, i)).collect();
            let mut index = UriIndex::new();
            for (i, p) in patterns.iter().enumerate() {
                index.insert(policy, p, i as u64 + 1);
            }
            let uri = target(policy, n / 2);
            group.bench_with_input(BenchmarkId::new("broker_matches", n), &uri, |b, uri| {
                b.iter(|| {
                    let mut found = 0;
                    index.matches(black_box(uri), |_, _| found += 1);
                    assert_eq!(found, 1);
                    found
                })
            });
            group.bench_with_input(BenchmarkId::new("dealer_best_match", n), &uri, |b, uri| {
                b.iter(|| index.best_match(black_box(uri)))
            });
            if n <= 10_000 {
                // What an index saves: testing every pattern in turn.
                group.bench_with_input(BenchmarkId::new("scan", n), &uri, |b, uri| {
                    b.iter(|| {
                        patterns
                            .iter()
                            .filter(|p| uri::matches(p, policy, black_box(uri)))
                            .count()
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, lookups);
criterion_main!(benches);
