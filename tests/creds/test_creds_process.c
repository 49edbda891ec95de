/* SPDX-License-Identifier: MIT */
/* test_process.c: credential_process: JSON, errors, quoting without a shell, caps. */
#include "creds/chain.h"
#include "creds/creds.h"
#include "creds/process.h"
#include "scratch.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NOW 1795618800 /* 2026-11-25T15:00:00Z */

static char *dir;

static void setup(void)
{
    dir = scratch_dir();
    scratch_isolate_env(dir);
}

TestSuite(process, .init = setup, .timeout = 60);

/* Writes an executable script printing json and returns "'<path>'". */
static const char *script(const char *name, const char *body)
{
    static char cmd[1100];
    const char *p = scratch_write(dir, name, body, 0755);
    snprintf(cmd, sizeof cmd, "'%s'", p);
    return cmd;
}

static const char *printing(const char *json)
{
    char body[8192];
    snprintf(body, sizeof body, "#!/bin/sh\ncat <<'JSON'\n%s\nJSON\n", json);
    return script("p.sh", body);
}

static int run(const char *cmd, dsql_credentials **c, dsql_error *err)
{
    memset(err, 0, sizeof *err);
    *c = NULL;
    return dsql_creds_process_run(cmd, NOW, c, err);
}

Test(process, full_document)
{
    dsql_credentials *c;
    dsql_error err;
    int rc = run(printing("{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": "
                          "\"sec/ret+\", \"SessionToken\": \"tok\", \"Expiration\": "
                          "\"2026-11-25T16:00:00Z\"}"),
                 &c, &err);
    cr_assert_eq(rc, DSQL_OK, "%s", err.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), "AKIDPROC");
    cr_assert_str_eq(dsql_credentials_secret(c), "sec/ret+");
    cr_assert_str_eq(dsql_credentials_session_token(c), "tok");
    cr_assert_eq(dsql_credentials_expiration(c), NOW + 3600);
    cr_assert_str_eq(dsql_credentials_source(c), "credential_process");
    dsql_credentials_free(c);
}

Test(process, minimal_document_and_timestamp_forms)
{
    dsql_credentials *c;
    dsql_error err;
    cr_assert_eq(run(printing("{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": "
                              "\"S\", \"SessionToken\": null}"),
                     &c, &err),
                 DSQL_OK, "%s", err.message);
    cr_assert_not(dsql_credentials_has_session_token(c));
    cr_assert_eq(dsql_credentials_expiration(c), 0);
    dsql_credentials_free(c);
    cr_assert_eq(run(printing("{\"Version\": 1.0, \"AccessKeyId\": \"A\", \"SecretAccessKey\": "
                              "\"S\", \"Expiration\": \"2026-11-25T16:00:00.123456+00:00\"}"),
                     &c, &err),
                 DSQL_OK, "%s", err.message);
    cr_assert_eq(dsql_credentials_expiration(c), NOW + 3600);
    dsql_credentials_free(c);
}

static void fails(const char *cmd, const char *message)
{
    dsql_credentials *c;
    dsql_error err;
    int rc = run(cmd, &c, &err);
    cr_assert_neq(rc, DSQL_OK, "expected a failure: %s", message);
    cr_assert_neq(rc, DSQL_ERR_NO_CREDENTIALS, "a configured source that fails stops the chain");
    cr_assert_null(c);
    cr_assert(strstr(err.message, message) != NULL, "'%s' does not contain '%s'", err.message,
              message);
}

Test(process, bad_documents)
{
    fails(printing("not json"), "credential_process: the response is not valid JSON (line 1");
    fails(printing("{\"Version\": 1, \"AccessKeyId\": \"A\""), "is not valid JSON");
    fails(printing("[1]"), "credential_process: the response is not a JSON object");
    fails(printing("{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}"),
          "credential_process: Version is 2; only 1 is supported");
    fails(printing("{\"Version\": \"1\", \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}"),
          "credential_process: Version is not 1");
    fails(printing("{\"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}"),
          "credential_process: Version is missing");
    fails(printing("{\"Version\": 1, \"SecretAccessKey\": \"S\"}"),
          "credential_process: AccessKeyId is missing");
    fails(printing("{\"Version\": 1, \"AccessKeyId\": \"A\"}"),
          "credential_process: SecretAccessKey is missing");
    fails(printing("{\"Version\": 1, \"AccessKeyId\": \"\", \"SecretAccessKey\": \"S\"}"),
          "credential_process: AccessKeyId is empty");
    fails(printing("{\"Version\": 1, \"AccessKeyId\": 7, \"SecretAccessKey\": \"S\"}"),
          "credential_process: AccessKeyId is not a string");
    fails(printing("{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", "
                   "\"Expiration\": \"next week\"}"),
          "credential_process: Expiration is not an ISO 8601 time");
    fails(script("empty.sh", "#!/bin/sh\nexit 0\n"), "is not valid JSON");
}

Test(process, messages_never_carry_the_secret)
{
    dsql_credentials *c;
    dsql_error err;
    run(printing("{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"TOPSECRET\"}"),
        &c, &err);
    cr_assert_null(strstr(err.message, "TOPSECRET"));
}

Test(process, expired_credentials)
{
    fails(printing("{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", "
                   "\"Expiration\": \"2026-11-25T14:59:59Z\"}"),
          "printed expired at 2026-11-25T14:59:59Z");
    fails(printing("{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", "
                   "\"Expiration\": \"2026-11-25T15:00:00Z\"}"),
          "expired at");
}

Test(process, non_zero_exit_names_status_and_stderr)
{
    fails(script("f.sh", "#!/bin/sh\necho 'SSO session expired; run aws sso login' >&2\n"
                         "echo 'second line' >&2\nexit 3\n"),
          "exited with status 3: SSO session expired; run aws sso login");
    fails(script("g.sh", "#!/bin/sh\nprintf '\\033[31mred\\tbad\\n' >&2\nexit 1\n"),
          "exited with status 1: ?[31mred?bad");
    fails(script("h.sh", "#!/bin/sh\nexit 4\n"), "exited with status 4: (nothing on stderr)");
    fails(script("k.sh", "#!/bin/sh\nkill -9 $$\n"), "was killed by signal 9");
}

Test(process, cannot_run)
{
    fails("/nonexistent/helper --flag", "cannot run '/nonexistent/helper': No such file");
    fails("dsql-no-such-program-on-path", "cannot run 'dsql-no-such-program-on-path'");
    fails("'unterminated", "cannot be split into words (no closing quotation)");
    fails("   ", "the command is empty");
}

Test(process, arguments_are_split_like_shlex_and_never_see_a_shell)
{
    char body[2048], cmd[2048], witness[600];
    snprintf(witness, sizeof witness, "%s/pwned", dir);
    /* The script writes each argument on a line of its own to args.txt. */
    snprintf(body, sizeof body,
             "#!/bin/sh\nfor a in \"$@\"; do printf '%%s\\n' \"$a\"; done > '%s/args.txt'\n"
             "printf '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}'\n",
             dir);
    const char *p = scratch_write(dir, "dir with space/print args.sh", body, 0755);
    snprintf(cmd, sizeof cmd,
             "\"%s\" 'two words' \"$(touch %s)\" ';' 'x; touch %s' `id` $HOME a\\ b \"q\\\"q\" "
             "'*' ''",
             p, witness, witness);
    dsql_credentials *c;
    dsql_error err;
    cr_assert_eq(run(cmd, &c, &err), DSQL_OK, "%s", err.message);
    dsql_credentials_free(c);
    char path[700];
    snprintf(path, sizeof path, "%s/args.txt", dir);
    char *args = scratch_read(path);
    char expect[2048];
    snprintf(expect, sizeof expect,
             "two words\n$(touch %s)\n;\nx; touch %s\n`id`\n$HOME\na b\nq\"q\n*\n\n", witness,
             witness);
    cr_assert_str_eq(args, expect);
    cr_assert_eq(access(witness, F_OK), -1, "nothing was run by a shell");
    free(args);
}

Test(process, stdin_is_dev_null_and_no_descriptor_leaks)
{
    /* An inheritable descriptor of ours must not reach the child. */
    int fd = open("/dev/null", O_RDONLY);
    cr_assert(dup2(fd, 57) == 57);
    const char *cmd = script("io.sh", "#!/bin/sh\nif read x; then exit 9; fi\n"
                                      "[ -e /proc/self/fd/57 ] && exit 8\n"
                                      "printf '{\"Version\": 1, \"AccessKeyId\": \"A\", "
                                      "\"SecretAccessKey\": \"S\"}'\n");
    dsql_credentials *c;
    dsql_error err;
    cr_assert_eq(run(cmd, &c, &err), DSQL_OK, "%s", err.message);
    dsql_credentials_free(c);
    close(57);
    close(fd);
}

Test(process, stdout_is_capped)
{
    /* 70 KiB of valid JSON padding: over the 64 KiB cap. The child is stopped, not waited on
     * forever, even though it would print more. */
    fails(script("big.sh", "#!/bin/sh\nprintf '{\"Version\": 1, \"Pad\": \"'\n"
                           "head -c 71680 /dev/zero | tr '\\0' x\n"
                           "printf '\", \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}'\n"
                           "exec sleep 30\n"),
          "printed more than 64 KiB; it was stopped");
    /* Just under the cap is fine. */
    dsql_credentials *c;
    dsql_error err;
    cr_assert_eq(run(script("fits.sh", "#!/bin/sh\nprintf '{\"Version\": 1, \"Pad\": \"'\n"
                                       "head -c 60000 /dev/zero | tr '\\0' x\n"
                                       "printf '\", \"AccessKeyId\": \"A\", "
                                       "\"SecretAccessKey\": \"S\"}'\n"),
                     &c, &err),
                 DSQL_OK, "%s", err.message);
    dsql_credentials_free(c);
}

Test(process, large_stderr_is_drained_not_kept)
{
    dsql_credentials *c;
    dsql_error err;
    cr_assert_eq(run(script("noisy.sh", "#!/bin/sh\nhead -c 1048576 /dev/zero | tr '\\0' e >&2\n"
                                        "printf '{\"Version\": 1, \"AccessKeyId\": \"A\", "
                                        "\"SecretAccessKey\": \"S\"}'\n"),
                     &c, &err),
                 DSQL_OK, "%s", err.message);
    dsql_credentials_free(c);
}

Test(process, source_reads_the_profile)
{
    scratch_write(dir, "config", "[profile p]\ncredential_process = /bin/false\n", 0644);
    const char *cmd = printing("{\"Version\": 1, \"AccessKeyId\": \"FROMCREDS\", "
                               "\"SecretAccessKey\": \"S\"}");
    char text[1200];
    snprintf(text, sizeof text, "[p]\ncredential_process = %s\n", cmd);
    scratch_write(dir, "credentials", text, 0644);
    dsql_aws_files f;
    cr_assert_eq(dsql_aws_files_load(&f, NULL), DSQL_OK);
    dsql_creds_ctx ctx = {.files = &f, .now = NOW};
    strcpy(ctx.profile, "p");
    dsql_credentials *c = NULL;
    dsql_error err = {0};
    cr_assert_eq(dsql_creds_source_process(&ctx, &c, &err), DSQL_OK, "%s", err.message);
    cr_assert_str_eq(dsql_credentials_access_key_id(c), "FROMCREDS",
                     "the credentials file's value overrides the config file's");
    dsql_credentials_free(c);
    strcpy(ctx.profile, "other");
    cr_assert_eq(dsql_creds_source_process(&ctx, &c, &err), DSQL_ERR_NO_CREDENTIALS);
    dsql_aws_files_cleanup(&f);
}
