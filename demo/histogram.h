/* SPDX-License-Identifier: MIT */
/* histogram.h: a fixed-size log-linear latency histogram (about 1.6% resolution), mergeable. */
#ifndef PC_HISTOGRAM_H
#define PC_HISTOGRAM_H

#include <stdint.h>

/* Values below 2^PC_HIST_SUB_BITS are exact; above, each power of two is split into
 * 2^PC_HIST_SUB_BITS buckets. Values of 2^PC_HIST_MAX_BITS and more land in the last bucket
 * (in microseconds that is 12.7 days). */
#define PC_HIST_SUB_BITS 6
#define PC_HIST_MAX_BITS 40
#define PC_HIST_BUCKETS ((PC_HIST_MAX_BITS - PC_HIST_SUB_BITS + 1) << PC_HIST_SUB_BITS)

/* Plain data: zero it to start (memset or = {0}). Not thread-safe: one writer at a time. */
typedef struct pc_hist {
    uint64_t count;
    uint64_t sum;
    uint64_t min;
    uint64_t max;
    uint64_t buckets[PC_HIST_BUCKETS];
} pc_hist;

void pc_hist_add(pc_hist *h, uint64_t value);
void pc_hist_merge(pc_hist *dst, const pc_hist *src);

/* The value at percentile p (0 < p <= 100): the upper end of the bucket holding that rank,
 * never above the largest value added. 0 for an empty histogram. */
uint64_t pc_hist_percentile(const pc_hist *h, double p);

/* Bucket index of a value and the largest value of a bucket (exposed for tests). */
unsigned pc_hist_index(uint64_t value);
uint64_t pc_hist_bucket_high(unsigned index);

#endif
