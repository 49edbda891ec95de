/* SPDX-License-Identifier: MIT */
/* attrs.h: the compiler attributes every module uses (hidden visibility, printf checking). */
#ifndef DSQL_BASE_ATTRS_H
#define DSQL_BASE_ATTRS_H

#if defined(__GNUC__)
#define DSQL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define DSQL_LOCAL __attribute__((visibility("hidden")))
#else
#define DSQL_PRINTF(a, b)
#define DSQL_LOCAL
#endif

#endif /* DSQL_BASE_ATTRS_H */
