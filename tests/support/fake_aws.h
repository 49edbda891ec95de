/* SPDX-License-Identifier: MIT */
/* fake_aws.h: starts tests/support/fake_aws.py on a loopback port and reads what it saw. */
#ifndef DSQL_TEST_FAKE_AWS_H
#define DSQL_TEST_FAKE_AWS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct fake_server {
    pid_t pid;
    int stdin_fd; /* closing it stops the server */
    int port;
    char dir[128]; /* private temporary directory (scenario, log, files for the test) */
    char log[192];
    char base[96]; /* "http://127.0.0.1:<port>" (or "http://[::1]:<port>") */
} fake_server;

/* Starts a server with the scenario (JSON text); asserts (criterion) on failure. */
void fake_server_start(fake_server *fs, const char *scenario_json);
void fake_server_start6(fake_server *fs, const char *scenario_json);

/* Stops the server and removes its directory. Safe to call twice. */
void fake_server_stop(fake_server *fs);

/*
 * Switches the running server to the scenario's fault mode `mode` (a key of its "modes"; any
 * other name leaves only the plain routes). Atomic: each request sees the old or the new mode.
 */
void fake_server_set_mode(const fake_server *fs, const char *mode);

/* How many requests with this method and path (query excluded unless given) it has logged. */
int fake_server_count(const fake_server *fs, const char *method, const char *path);

/* The whole request log (one JSON line per request), malloc'd; the caller frees. */
char *fake_server_log(const fake_server *fs);

/* 1 if the request log contains needle anywhere, else 0. */
int fake_server_log_has(const fake_server *fs, const char *needle);

/*
 * One field of the index-th logged request (0-based): "method", "path", "body", or a header as
 * "header:<lower-case name>". A new string, NULL when there is no such request or field.
 */
char *fake_server_field(const fake_server *fs, int index, const char *name);

/* Writes text to <dir>/<name> and returns the path in a static buffer per call site use. */
const char *fake_server_write_file(const fake_server *fs, const char *name, const char *text,
                                   char *path, size_t path_len);

/*
 * Clears every AWS_* and DSQLAUTH_* variable, then sets HOME, AWS_CONFIG_FILE and
 * AWS_SHARED_CREDENTIALS_FILE into the server's directory and AWS_EC2_METADATA_DISABLED=true.
 */
void fake_isolate_env(const fake_server *fs);

/* Writes <dir>/config and <dir>/credentials (NULL: none). */
void fake_aws_files(const fake_server *fs, const char *config, const char *credentials);

/* A loopback port on which nothing listens (bound, then closed). */
int fake_unused_port(void);

/*
 * Slack allowed on top of a timeout before a test calls it late: CI is a loaded 2-core machine.
 * The scripted slow answers take 3 s or more, so a call that waited for them still fails.
 */
#define TIMING_MARGIN_MS 1000

/* Milliseconds on a monotonic clock. */
long long fake_now_ms(void);

#endif
