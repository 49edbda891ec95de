/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the part of Criterion's API the concurrency suites use, for ThreadSanitizer
 * builds only: Criterion's runner cannot start under TSan ("Could not initialize inheritable
 * arena", Criterion issue #274). Same spelling (Test, TestSuite with .init/.fini/.timeout/
 * .disabled, cr_assert*, cr_log_*, cr_redirect_stderr), same model (each test in its own
 * forked process, a failed assertion ends that test, TAP on stdout); the runner is runner.c.
 * Everything else in the suite keeps using Criterion itself.
 */
#ifndef DSQLAUTH_TSAN_CRITERION_H
#define DSQLAUTH_TSAN_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct crl_opts {
    int unused_; /* lets {0, __VA_ARGS__} take zero options */
    void (*init)(void);
    void (*fini)(void);
    double timeout;
    int disabled;
    const char *description;
};

struct crl_test {
    const char *suite, *name;
    void (*fn)(void);
    const struct crl_opts *opts;
    struct crl_test *next;
};

struct crl_suite {
    const char *name;
    const struct crl_opts *opts;
    struct crl_suite *next;
};

void crl_register_test(struct crl_test *t);
void crl_register_suite(struct crl_suite *s);
__attribute__((noreturn, format(printf, 4, 5))) void
crl_fail(const char *file, int line, const char *expr, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void crl_log(const char *level, const char *fmt, ...);

/* For programs with their own main (tests/local/harness.c's h_main), as in Criterion. */
struct criterion_test_set;
struct criterion_test_set *criterion_initialize(void);
int criterion_handle_args(int argc, char *argv[], bool handle_unknown_arg);
int criterion_run_all_tests(struct criterion_test_set *set); /* 1: all passed */
void criterion_finalize(struct criterion_test_set *set);

#define TestSuite(suite, ...)                                                                      \
    static const struct crl_opts crl_suite_opts_##suite = {0, __VA_ARGS__};                        \
    __attribute__((constructor)) static void crl_suite_reg_##suite(void)                           \
    {                                                                                              \
        static struct crl_suite s = {#suite, &crl_suite_opts_##suite, NULL};                       \
        crl_register_suite(&s);                                                                    \
    }

#define Test(suite, name, ...)                                                                     \
    static void crl_fn_##suite##_##name(void);                                                     \
    static const struct crl_opts crl_opts_##suite##_##name = {0, __VA_ARGS__};                     \
    __attribute__((constructor)) static void crl_reg_##suite##_##name(void)                        \
    {                                                                                              \
        static struct crl_test t = {#suite, #name, crl_fn_##suite##_##name,                        \
                                    &crl_opts_##suite##_##name, NULL};                             \
        crl_register_test(&t);                                                                     \
    }                                                                                              \
    static void crl_fn_##suite##_##name(void)

#define CRL_CHECK(cond, expr, ...)                                                                 \
    do {                                                                                           \
        if (!(cond))                                                                               \
            crl_fail(__FILE__, __LINE__, expr, " " __VA_ARGS__);                                   \
    } while (0)

#define cr_assert(x, ...) CRL_CHECK((x), #x, __VA_ARGS__)
#define cr_assert_not(x, ...) CRL_CHECK(!(x), "!(" #x ")", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) CRL_CHECK((a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) CRL_CHECK((a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) CRL_CHECK((a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) CRL_CHECK((a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) CRL_CHECK((a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) CRL_CHECK((a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_null(p, ...) CRL_CHECK((p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) CRL_CHECK((p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) CRL_CHECK(strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...)                                                               \
    CRL_CHECK(strcmp((a), (b)) != 0, #a " differs from " #b, __VA_ARGS__)
#define cr_assert_fail(...) crl_fail(__FILE__, __LINE__, "cr_assert_fail", " " __VA_ARGS__)

#define cr_log_info(...) crl_log("info", __VA_ARGS__)
#define cr_log_warn(...) crl_log("warn", __VA_ARGS__)
#define cr_log_error(...) crl_log("error", __VA_ARGS__)

#endif
