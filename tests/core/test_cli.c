/* SPDX-License-Identifier: MIT */
/* test_cli.c: dsqlauth-token as a user meets it: output, flags, errors and exit statuses. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define HOST "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"
#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

struct run {
    int status;
    char out[8192];
    char err[8192];
};

static void slurp(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
}

/* Runs dsqlauth-token with argv (NULL-terminated) in the current environment. */
static void run_tool(struct run *r, const char *const *args)
{
    const char *bin = getenv("DSQLAUTH_TOKEN_BIN");
    cr_assert_not_null(bin, "DSQLAUTH_TOKEN_BIN is not set (run through meson test)");
    char out_path[] = "/tmp/dsqlauth-cli-out-XXXXXX", err_path[] = "/tmp/dsqlauth-cli-err-XXXXXX";
    int out = mkstemp(out_path), err = mkstemp(err_path);
    cr_assert(out >= 0 && err >= 0);
    const char *argv[32] = {bin};
    int n = 1;
    for (; args[n - 1] != NULL && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, err, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ), 0);
    int st;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    lseek(out, 0, SEEK_SET);
    lseek(err, 0, SEEK_SET);
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
    close(out);
    close(err);
    unlink(out_path);
    unlink(err_path);
    posix_spawn_file_actions_destroy(&fa);
}

static void isolate(void)
{
    /* Only what a test sets: no user files, no metadata service, no stray region. */
    setenv("AWS_CONFIG_FILE", "/nonexistent/dsqlauth-test/config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/dsqlauth-test/credentials", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    unsetenv("DSQLAUTH_LOG");
    setenv("AWS_ACCESS_KEY_ID", AKID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
}

TestSuite(cli, .init = isolate);

Test(cli, prints_the_reference_token)
{
    struct run r;
    const char *args[] = {"--hostname", HOST, "--signing-time", "2026-01-02T03:04:05Z", NULL};
    run_tool(&r, args);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert_str_eq(r.out,
                     HOST "/?Action=DbConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256"
                          "&X-Amz-Credential=" AKID "%2F20260102%2Fus-east-1%2Fdsql%2F"
                          "aws4_request&X-Amz-Date=20260102T030405Z&X-Amz-Expires=900"
                          "&X-Amz-SignedHeaders=host&X-Amz-Signature="
                          "8b6d2b8ab29be458983603748d1dadf7ad5f11accec2fc0aa852a24a4298fbd5\n");
    cr_assert_str_eq(r.err, "");
}

Test(cli, admin_epoch_time_and_short_options)
{
    struct run r;
    const char *args[] = {"-H", HOST, "-a", "-t", "1767323045", "-e", "900", NULL};
    run_tool(&r, args);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.out, "Action=DbConnectAdmin&") != NULL);
    cr_assert(strstr(r.out, "X-Amz-Signature="
                            "26d1f18bf679a98140724e892e3d07d80976ff5560075d410d119ea08ce9cfa4\n"));
}

Test(cli, explicit_region_wins_over_the_hostname)
{
    struct run r;
    setenv("AWS_REGION", "eu-west-1", 1);
    const char *args[] = {"--hostname", HOST, "--region", "ap-south-1", NULL};
    run_tool(&r, args);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.out, "%2Fap-south-1%2Fdsql%2F") != NULL, "%s", r.out);
}

Test(cli, bare_cluster_id_expands_with_the_region)
{
    struct run r;
    const char *args[] = {"--hostname", "abcdefghijklmnopqrstuvwx12", "--region", "us-east-2",
                          NULL};
    run_tool(&r, args);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert_eq(strncmp(r.out, "abcdefghijklmnopqrstuvwx12.dsql.us-east-2.on.aws/?Action=", 57), 0,
                 "%s", r.out);
}

static void expect_error(const char *const *args, const char *needle)
{
    struct run r;
    run_tool(&r, args);
    cr_assert_eq(r.status, 2, "status %d, stderr: %s", r.status, r.err);
    cr_assert_str_eq(r.out, "", "printed something on stdout on failure");
    cr_assert_eq(strncmp(r.err, "dsqlauth-token: ", 16), 0, "%s", r.err);
    cr_assert(strstr(r.err, needle) != NULL, "stderr '%s' lacks '%s'", r.err, needle);
    cr_assert_null(strstr(r.err, SECRET), "the secret reached stderr");
}

Test(cli, usage_errors)
{
    const char *a[] = {NULL};
    expect_error(a, "--hostname is required");
    const char *b[] = {"--hostname", HOST, "--expires-in", "0", NULL};
    expect_error(b, "1 to 604800");
    const char *c[] = {"--hostname", HOST, "--expires-in", "604801", NULL};
    expect_error(c, "1 to 604800");
    const char *d[] = {"--hostname", HOST, "--expires-in", "15m", NULL};
    expect_error(d, "--expires-in '15m'");
    const char *e[] = {"--hostname", HOST, "--signing-time", "yesterday", NULL};
    expect_error(e, "--signing-time 'yesterday'");
    const char *f[] = {"--hostname", HOST, "--bogus", NULL};
    expect_error(f, "unknown option '--bogus'");
    const char *g[] = {"--hostname", NULL};
    expect_error(g, "needs a value");
    const char *h[] = {"--hostname", HOST, "extra", NULL};
    expect_error(h, "unexpected argument 'extra'");
    const char *i[] = {"--hostname", "not a host", "--region", "us-east-1", NULL};
    expect_error(i, "not a host name");
}

Test(cli, bad_region)
{
    const char *a[] = {"--hostname", HOST, "--region", "US East 1", NULL};
    expect_error(a, "region");
    const char *b[] = {"--hostname", "example.com", NULL};
    expect_error(b, "region");
}

Test(cli, no_credentials)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    const char *a[] = {"--hostname", HOST, NULL};
    expect_error(a, "credentials");
}

Test(cli, unknown_profile)
{
    const char *a[] = {"--hostname", HOST, "--profile", "nosuchprofile", NULL};
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    expect_error(a, "nosuchprofile");
}

Test(cli, help_and_version)
{
    struct run r;
    const char *a[] = {"--help", NULL};
    run_tool(&r, a);
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "Usage: dsqlauth-token --hostname HOST") != NULL);
    cr_assert(strstr(r.out, "--signing-time") != NULL);
    const char *b[] = {"--version", NULL};
    run_tool(&r, b);
    cr_assert_eq(r.status, 0);
    cr_assert_eq(strncmp(r.out, "dsqlauth-token 0.", 17), 0, "%s", r.out);
}

Test(cli, debug_names_the_source_without_secrets)
{
    struct run r;
    setenv("AWS_SESSION_TOKEN", "SESSIONTOKENSECRETVALUE0123456789", 1);
    const char *a[] = {"--hostname", HOST, "--debug", NULL};
    run_tool(&r, a);
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert(strstr(r.err, "env") != NULL, "debug log does not name the source: %s", r.err);
    cr_assert_null(strstr(r.err, SECRET));
    cr_assert_null(strstr(r.err, "SESSIONTOKENSECRETVALUE"));
    cr_assert_null(strstr(r.err, "X-Amz-Signature"));
}
