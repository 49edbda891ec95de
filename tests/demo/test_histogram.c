/* SPDX-License-Identifier: MIT */
/* test_histogram.c: latency histogram: bucket bounds, percentiles against exact ones, merge. */
#include "histogram.h"

#include <criterion/criterion.h>
#include <stdlib.h>

Test(histogram, small_values_are_exact)
{
    for (uint64_t v = 0; v < 64; v++) {
        cr_expect_eq(pc_hist_index(v), v);
        cr_expect_eq(pc_hist_bucket_high(pc_hist_index(v)), v);
    }
}

Test(histogram, every_value_lies_in_its_bucket_within_2_percent)
{
    for (uint64_t v = 1; v < ((uint64_t)1 << 40); v = v * 3 / 2 + 1) {
        unsigned i = pc_hist_index(v);
        uint64_t high = pc_hist_bucket_high(i);
        uint64_t low = i ? pc_hist_bucket_high(i - 1) + 1 : 0;
        cr_assert(low <= v && v <= high, "v=%llu in [%llu, %llu]", (unsigned long long)v,
                  (unsigned long long)low, (unsigned long long)high);
        cr_assert_leq((double)(high - low), (double)v / 50.0 + 1.0);
    }
}

Test(histogram, huge_values_land_in_the_last_bucket)
{
    cr_expect_eq(pc_hist_index(UINT64_MAX), PC_HIST_BUCKETS - 1);
    cr_expect_eq(pc_hist_index((uint64_t)1 << 40), PC_HIST_BUCKETS - 1);
}

static int cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

Test(histogram, percentiles_match_sorted_values)
{
    enum { N = 10000 };
    static uint64_t values[N];
    pc_hist h = {0};
    srand(7);
    for (int i = 0; i < N; i++) {
        values[i] = (uint64_t)(rand() % 50000) + (i % 100 == 0 ? 200000u : 0u); /* a tail */
        pc_hist_add(&h, values[i]);
    }
    qsort(values, N, sizeof values[0], cmp);
    const double ps[] = {50, 95, 99, 99.9, 100};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        size_t rank = (size_t)(ps[k] / 100.0 * N + 0.999999);
        uint64_t exact = values[rank - 1];
        uint64_t got = pc_hist_percentile(&h, ps[k]);
        cr_expect(got >= exact && (double)got <= (double)exact * 1.02 + 1,
                  "p%g: exact %llu, histogram %llu", ps[k], (unsigned long long)exact,
                  (unsigned long long)got);
    }
    cr_expect_eq(pc_hist_percentile(&h, 100), values[N - 1]);
    cr_expect_eq(h.count, N);
}

Test(histogram, merge_adds_counts_and_keeps_extremes)
{
    pc_hist a = {0}, b = {0}, all = {0};
    for (uint64_t v = 10; v < 1000; v += 7) {
        pc_hist_add(v % 2 ? &a : &b, v);
        pc_hist_add(&all, v);
    }
    pc_hist_merge(&a, &b);
    cr_expect_eq(a.count, all.count);
    cr_expect_eq(a.sum, all.sum);
    cr_expect_eq(a.min, all.min);
    cr_expect_eq(a.max, all.max);
    cr_expect_eq(pc_hist_percentile(&a, 50), pc_hist_percentile(&all, 50));
}

Test(histogram, empty_is_zero)
{
    pc_hist h = {0};
    cr_expect_eq(pc_hist_percentile(&h, 99), 0);
}
