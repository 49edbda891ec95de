/* SPDX-License-Identifier: MIT */
/* histogram.c: log-linear buckets: exact below 64, then 64 buckets per power of two. */
#include "histogram.h"

#define SUB (1u << PC_HIST_SUB_BITS)

unsigned pc_hist_index(uint64_t value)
{
    if (value < SUB)
        return (unsigned)value;
    if (value >> PC_HIST_MAX_BITS)
        return PC_HIST_BUCKETS - 1;
    unsigned e = 63u - (unsigned)__builtin_clzll(value); /* floor(log2(value)) >= SUB_BITS */
    unsigned shift = e - PC_HIST_SUB_BITS;
    unsigned mantissa = (unsigned)(value >> shift); /* in [SUB, 2*SUB) */
    return ((shift + 1) << PC_HIST_SUB_BITS) + (mantissa - SUB);
}

uint64_t pc_hist_bucket_high(unsigned index)
{
    unsigned block = index >> PC_HIST_SUB_BITS;
    uint64_t r = index & (SUB - 1);
    if (block == 0)
        return r;
    unsigned shift = block - 1;
    return ((SUB + r + 1) << shift) - 1;
}

void pc_hist_add(pc_hist *h, uint64_t value)
{
    if (h->count == 0 || value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
    h->count++;
    h->sum += value;
    h->buckets[pc_hist_index(value)]++;
}

void pc_hist_merge(pc_hist *dst, const pc_hist *src)
{
    if (src->count == 0)
        return;
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
    for (unsigned i = 0; i < PC_HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
}

uint64_t pc_hist_percentile(const pc_hist *h, double p)
{
    if (h->count == 0)
        return 0;
    /* The rank of the percentile: ceil(p/100 * count), at least 1. */
    double exact = p / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)exact;
    if ((double)rank < exact)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;

    uint64_t seen = 0;
    for (unsigned i = 0; i < PC_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t high = pc_hist_bucket_high(i);
            if (high > h->max)
                high = h->max;
            if (high < h->min)
                high = h->min;
            return high;
        }
    }
    return h->max;
}
