/* SPDX-License-Identifier: MIT */
/* test_chain.c: chain order, the process-wide cache, refresh windows, threads and fork. */
#include "creds/chain.h"
#include "creds/creds.h"
#include "scratch.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1795618800 /* 2026-11-25T15:00:00Z */

static char *dir;
static int64_t fake_now;
static char count_path[600];

static int64_t fake_clock(void)
{
    return fake_now;
}

static void setup(void)
{
    dir = scratch_dir();
    scratch_isolate_env(dir);
    snprintf(count_path, sizeof count_path, "%s/count", dir);
    dsql_credentials_cache_clear();
    dsql_creds_chain_set_clock(NULL);
}

TestSuite(chain, .init = setup, .timeout = 60);

/*
 * A credential_process that counts its runs in dir/count, fails while dir/fail exists, sleeps
 * dir/sleep seconds if present, and prints key id AKID<run number> with the expiration in
 * dir/exp if present.
 */
static void counting_process(const char *profile_header)
{
    char body[2048], cfg[1200];
    snprintf(
        body, sizeof body,
        "#!/bin/sh\nd='%s'\necho run >> \"$d/count\"\nn=$(wc -l < \"$d/count\")\n"
        "[ -e \"$d/sleep\" ] && sleep \"$(cat \"$d/sleep\")\"\n"
        "if [ -e \"$d/fail\" ]; then echo 'the identity provider is down' >&2; exit 5; fi\n"
        "exp=''\n[ -e \"$d/exp\" ] && exp=\", \\\"Expiration\\\": \\\"$(cat \"$d/exp\")\\\"\"\n"
        "printf '{\"Version\": 1, \"AccessKeyId\": \"AKID%%s\", \"SecretAccessKey\": "
        "\"S\"%%s}' \"$n\" \"$exp\"\n",
        dir);
    const char *p = scratch_write(dir, "count.sh", body, 0755);
    snprintf(cfg, sizeof cfg, "[%s]\ncredential_process = '%s'\n", profile_header, p);
    scratch_write(dir, "config", cfg, 0644);
}

static void set_expiration(const char *iso)
{
    scratch_write(dir, "exp", iso, 0644);
}

static dsql_credentials *resolve_ok(const char *profile)
{
    dsql_credentials *c = NULL;
    dsql_error err = {0};
    int rc = dsql_credentials_resolve(profile, &c, &err);
    cr_assert_eq(rc, DSQL_OK, "resolve: %s", err.message);
    return c;
}

static void expect_key(const char *profile, const char *key)
{
    dsql_credentials *c = resolve_ok(profile);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), key);
    dsql_credentials_free(c);
}

Test(chain, order_and_source_names)
{
    const char *src[][2] = {{"env", "AKIDENV"},
                            {"shared-credentials-file", "AKIDSHARED"},
                            {"credential_process", "AKID1"},
                            {"config-file", "AKIDCONFIG"}};
    counting_process("default");
    char *cfg = scratch_read(getenv("AWS_CONFIG_FILE"));
    char both[2048];
    snprintf(both, sizeof both, "%saws_access_key_id = AKIDCONFIG\naws_secret_access_key = s\n",
             cfg);
    scratch_write(dir, "config", both, 0644);
    scratch_write(dir, "credentials",
                  "[default]\naws_access_key_id = AKIDSHARED\n"
                  "aws_secret_access_key = s\n",
                  0644);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    for (int step = 0; step < 4; step++) {
        dsql_credentials_cache_clear();
        dsql_credentials *c = resolve_ok(NULL);
        cr_assert_str_eq(dsql_credentials_source(c), src[step][0], "step %d", step);
        cr_assert_str_eq(dsql_credentials_access_key_id(c), src[step][1], "step %d", step);
        dsql_credentials_free(c);
        if (step == 0)
            unsetenv("AWS_ACCESS_KEY_ID");
        if (step == 1)
            unlink(getenv("AWS_SHARED_CREDENTIALS_FILE"));
        if (step == 2) {
            snprintf(both, sizeof both,
                     "[default]\naws_access_key_id = AKIDCONFIG\n"
                     "aws_secret_access_key = s\n");
            scratch_write(dir, "config", both, 0644);
        }
    }
    free(cfg);
}

Test(chain, a_failing_configured_source_stops_the_chain)
{
    counting_process("default");
    scratch_write(dir, "fail", "", 0644);
    scratch_write(dir, "credentials", "", 0644);
    char *cfg = scratch_read(getenv("AWS_CONFIG_FILE"));
    char both[2048];
    snprintf(both, sizeof both, "%saws_access_key_id = AKIDCONFIG\naws_secret_access_key = s\n",
             cfg);
    scratch_write(dir, "config", both, 0644);
    dsql_credentials *c = NULL;
    dsql_error err = {0};
    cr_assert_eq(dsql_credentials_resolve(NULL, &c, &err), DSQL_ERR_CREDENTIALS);
    cr_assert_null(c);
    cr_assert(strstr(err.message, "exited with status 5: the identity provider is down") != NULL,
              "%s", err.message);
    free(cfg);
}

Test(chain, no_credentials_and_missing_profiles)
{
    dsql_credentials *c = NULL;
    dsql_error err = {0};
    cr_assert_eq(dsql_credentials_resolve(NULL, &c, &err), DSQL_ERR_NO_CREDENTIALS);
    cr_assert(strstr(err.message, "no AWS credentials found for profile 'default'") != NULL);
    cr_assert_eq(dsql_credentials_resolve("dev", &c, &err), DSQL_ERR_CONFIG);
    char want[1400];
    snprintf(want, sizeof want, "profile 'dev' not found in %s/config or %s/credentials", dir, dir);
    cr_assert(strstr(err.message, want) != NULL, "%s", err.message);
    setenv("AWS_PROFILE", "default", 1);
    cr_assert_eq(dsql_credentials_resolve(NULL, &c, &err), DSQL_ERR_CONFIG,
                 "a named 'default' must exist too");
    cr_assert_null(c);
}

Test(chain, process_runs_once_for_a_thousand_resolves)
{
    counting_process("default");
    for (int i = 0; i < 1000; i++)
        expect_key(NULL, "AKID1");
    cr_assert_eq(scratch_count_lines(count_path), 1);
    dsql_credentials_cache_clear();
    expect_key(NULL, "AKID2");
    cr_assert_eq(scratch_count_lines(count_path), 2, "a cleared cache asks again");
}

static void *resolver(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        dsql_credentials *c = NULL;
        if (dsql_credentials_resolve(NULL, &c, NULL) != DSQL_OK ||
            strcmp(dsql_credentials_access_key_id(c), "AKID1") != 0)
            return (void *)1;
        dsql_credentials_free(c);
    }
    return NULL;
}

Test(chain, concurrent_callers_share_one_fetch)
{
    counting_process("default");
    scratch_write(dir, "sleep", "0.3", 0644);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, resolver, NULL);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        cr_assert_null(r, "thread %d got other credentials or an error", i);
    }
    cr_assert_eq(scratch_count_lines(count_path), 1);
}

Test(chain, concurrent_callers_share_one_failure)
{
    counting_process("default");
    scratch_write(dir, "sleep", "1", 0644);
    scratch_write(dir, "fail", "", 0644);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, resolver, NULL);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(t[i], &r);
        cr_assert_not_null(r);
    }
    /* Each thread gives up on its first failure; the seven that started while the first was
     * running share its outcome instead of running the process again. */
    cr_assert_eq(scratch_count_lines(count_path), 1);
}

Test(chain, refresh_windows)
{
    dsql_creds_chain_set_clock(fake_clock);
    counting_process("default");
    set_expiration("2026-11-25T16:00:00Z"); /* T0 + 3600 */
    fake_now = T0;
    expect_key(NULL, "AKID1");
    fake_now = T0 + 3600 - 901; /* 15 min + 1 s left: still fresh */
    expect_key(NULL, "AKID1");
    cr_assert_eq(scratch_count_lines(count_path), 1);

    fake_now = T0 + 3600 - 800; /* inside the advisory window: refreshed */
    expect_key(NULL, "AKID2");
    cr_assert_eq(scratch_count_lines(count_path), 2);

    /* The advisory refresh fails: the current credentials stay in use. */
    scratch_write(dir, "fail", "", 0644);
    expect_key(NULL, "AKID2");
    cr_assert_eq(scratch_count_lines(count_path), 3, "it tried");

    /* Inside the mandatory window a failure is an error. */
    fake_now = T0 + 3600 - 300;
    dsql_credentials *c = NULL;
    dsql_error err = {0};
    cr_assert_eq(dsql_credentials_resolve(NULL, &c, &err), DSQL_ERR_CREDENTIALS);
    cr_assert(strstr(err.message, "exited with status 5") != NULL, "%s", err.message);
    cr_assert_null(c);

    /* Recovered: new credentials with a later expiry, then cache hits again. */
    unlink(strcat(strcpy((char[700]){0}, dir), "/fail"));
    set_expiration("2026-11-25T18:00:00Z");
    expect_key(NULL, "AKID5");
    expect_key(NULL, "AKID5");
    cr_assert_eq(scratch_count_lines(count_path), 5);
}

Test(chain, refresh_that_returns_expired_credentials_fails)
{
    dsql_creds_chain_set_clock(fake_clock);
    counting_process("default");
    set_expiration("2026-11-25T16:00:00Z");
    fake_now = T0;
    expect_key(NULL, "AKID1");
    fake_now = T0 + 3600 + 10; /* expired: the process prints the same, already past */
    dsql_credentials *c = NULL;
    dsql_error err = {0};
    cr_assert_eq(dsql_credentials_resolve(NULL, &c, &err), DSQL_ERR_CREDENTIALS);
    cr_assert(strstr(err.message, "expired at 2026-11-25T16:00:00Z") != NULL, "%s", err.message);
}

Test(chain, static_credentials_never_refresh)
{
    dsql_creds_chain_set_clock(fake_clock);
    scratch_write(dir, "credentials",
                  "[default]\naws_access_key_id = AKIDSTATIC\n"
                  "aws_secret_access_key = s\n",
                  0644);
    fake_now = T0;
    expect_key(NULL, "AKIDSTATIC");
    unlink(getenv("AWS_SHARED_CREDENTIALS_FILE"));
    fake_now = T0 + 86400 * 365;
    expect_key(NULL, "AKIDSTATIC");
}

Test(chain, named_profile_skips_env_and_is_cached_apart)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    scratch_write(dir, "credentials",
                  "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s\n", 0644);
    setenv("AWS_PROFILE", "dev", 1);
    expect_key(NULL, "AKIDENV");
    expect_key("dev", "AKIDDEV");
    expect_key(NULL, "AKIDENV");
    unsetenv("AWS_PROFILE");
    expect_key("dev", "AKIDDEV");
}

Test(chain, fork_child_reuses_the_cache)
{
    counting_process("default");
    expect_key(NULL, "AKID1");
    pid_t pid = fork();
    if (pid == 0) {
        dsql_credentials *c = NULL;
        int ok = dsql_credentials_resolve(NULL, &c, NULL) == DSQL_OK &&
                 strcmp(dsql_credentials_access_key_id(c), "AKID1") == 0;
        dsql_credentials_free(c);
        _exit(ok ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(scratch_count_lines(count_path), 1);
}

static void *slow_resolve(void *arg)
{
    (void)arg;
    dsql_credentials *c = NULL;
    dsql_credentials_resolve(NULL, &c, NULL);
    dsql_credentials_free(c);
    return NULL;
}

Test(chain, fork_while_another_thread_fetches)
{
    counting_process("default");
    scratch_write(dir, "sleep", "1", 0644);
    pthread_t t;
    pthread_create(&t, NULL, slow_resolve, NULL);
    usleep(200 * 1000); /* the thread is inside the process run, the entry marked busy */
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20); /* a deadlock would hang the child: fail it instead */
        unlink(strcat(strcpy((char[700]){0}, dir), "/sleep"));
        dsql_credentials *c = NULL;
        int ok = dsql_credentials_resolve(NULL, &c, NULL) == DSQL_OK;
        dsql_credentials_free(c);
        _exit(ok ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    pthread_join(t, NULL);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child resolved on its own");
    cr_assert_eq(scratch_count_lines(count_path), 2, "parent and child each ran the process once");
}

Test(chain, debug_log_names_the_source_not_the_secret, .init = cr_redirect_stderr)
{
    setup();
    setenv("DSQLAUTH_LOG", "debug", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_SESSION_TOKEN", "SESSIONTOKENVALUE", 1);
    dsql_credentials *c = resolve_ok(NULL);
    dsql_credentials_free(c);
    fflush(stderr);
    FILE *f = cr_get_redirected_stderr();
    char log[4096] = {0};
    size_t n = fread(log, 1, sizeof log - 1, f);
    log[n] = '\0';
    cr_assert(strstr(log, "credentials for profile 'default' from the environment "
                          "(****************MPLE)") != NULL,
              "%s", log);
    cr_assert_null(strstr(log, "wJalr"));
    cr_assert_null(strstr(log, "SESSIONTOKEN"));
    cr_assert_null(strstr(log, "AKIAIOSFODNN7"));
}
