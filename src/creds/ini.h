/* SPDX-License-Identifier: MIT */
/* ini.h: ~/.aws/config and ~/.aws/credentials, parsed exactly as botocore parses them. */
#ifndef DSQL_INI_H
#define DSQL_INI_H

#include "base/util.h"

/* Files larger than this are refused (DSQL_ERR_CONFIG); botocore has no cap, we keep one. */
#define DSQL_INI_MAX_SIZE (1024 * 1024)

/*
 * The parser is a transcription of what botocore's raw_config_parse gets from Python's
 * configparser.RawConfigParser() with its default settings, so a file means the same to us as
 * to the AWS CLI:
 *   - UTF-8 text (invalid UTF-8 is an error); lines end in LF, CRLF or CR;
 *   - a line whose stripped text starts with '#' or ';' is a comment; there are NO inline
 *     comments: `key = value # note` has the value "value # note";
 *   - `[name]`: a section; the name is taken verbatim between the first '[' and the last ']'
 *     of the stripped line (so `[ a ]` is " a ", text after the last ']' is ignored); `[DEFAULT]`
 *     holds defaults that every other section of the same file inherits;
 *   - `key = value` or `key: value` (the first '=' or ':' splits); keys are lower-cased,
 *     values stripped of white space;
 *   - a line indented deeper than the line that started the current key continues its value
 *     (joined with '\n'); blank lines inside a value are kept, trailing ones dropped;
 *   - a value that starts with a newline (`s3 =` followed by indented lines) is a nested
 *     sub-section of `name = value` lines (split on the first '=', names kept as written);
 *   - errors: a line before any section, a line that is neither a section, a key nor a
 *     continuation, an empty key, a section or a key (per section) defined twice, a nested
 *     line without '=', a NUL byte (botocore would accept that one; a C string cannot).
 * White space is Python's (str.isspace: ASCII space, \t \n \v \f \r, \x1c-\x1f and the Unicode
 * spaces). Key names are lower-cased in ASCII only.
 */

/* One key of a section. Contents may be secret; everything is wiped on free. */
typedef struct dsql_ini_entry {
    char *key;                  /* lower-cased (nested keys: as written) */
    char *value;                /* NULL when the value is a nested sub-section */
    struct dsql_ini_entry *sub; /* the sub-section's entries when value is NULL */
    size_t nsub;
    unsigned line; /* where the key was defined */
} dsql_ini_entry;

typedef struct dsql_ini_section {
    char *name; /* verbatim, e.g. "default", "profile dev", "sso-session corp" */
    dsql_ini_entry *entries;
    size_t n;
    size_t cap;
    unsigned line;
} dsql_ini_section;

/* A parsed file. Not thread-safe to mutate; read-only use from several threads is fine. */
typedef struct dsql_ini {
    char *path;                 /* the expanded path (for messages) */
    int found;                  /* 0: the file does not exist (then it has no sections) */
    dsql_ini_section *sections; /* in file order */
    size_t nsections;
    size_t cap;
    dsql_ini_section defaults; /* [DEFAULT] */
} dsql_ini;

/*
 * Parses len bytes of text. path only names the file in messages. On success *out is a new
 * dsql_ini (found = 1). On failure returns DSQL_ERR_CONFIG with "<path>: line N: <reason>"
 * (the reason never quotes a value, which could be a secret), or DSQL_ERR_NOMEM.
 */
DSQL_LOCAL int dsql_ini_parse(const char *text, size_t len, const char *path, dsql_ini **out,
                              dsql_error *err);

/*
 * Expands path as botocore does (os.path.expandvars, then os.path.expanduser: `~` is HOME, or
 * the password database when HOME is unset) and parses the file. A path that is not a regular
 * file gives an empty dsql_ini with found = 0 (not an error, as botocore's ConfigNotFound); a
 * file that exists but cannot be read is also empty, as configparser silently skips it (logged
 * at warn level). Larger than DSQL_INI_MAX_SIZE: DSQL_ERR_CONFIG. *out is new.
 */
DSQL_LOCAL int dsql_ini_load(const char *path, dsql_ini **out, dsql_error *err);

/* Wipes and frees. NULL is a no-op. */
DSQL_LOCAL void dsql_ini_free(dsql_ini *ini);

/* The section with exactly this name (not [DEFAULT]), or NULL. Borrowed. */
DSQL_LOCAL const dsql_ini_section *dsql_ini_section_find(const dsql_ini *ini, const char *name);

/*
 * The entry for key (matched lower-cased) in section, falling back to the file's [DEFAULT], as
 * configparser's get() does; NULL if absent. ini may be NULL (no defaults). Borrowed.
 */
DSQL_LOCAL const dsql_ini_entry *dsql_ini_lookup(const dsql_ini *ini, const dsql_ini_section *s,
                                                 const char *key);

/* Expands a path as described for dsql_ini_load. Returns a new string, or NULL (no memory). */
DSQL_LOCAL char *dsql_expand_path(const char *path);

/* ------------------------------------------------------------------------------------------ */
/* The AWS view of the two files: profiles, as botocore's session sees them                    */
/* ------------------------------------------------------------------------------------------ */

/* The two shared files. Owned; release with dsql_aws_files_cleanup. */
typedef struct dsql_aws_files {
    dsql_ini *config;      /* AWS_CONFIG_FILE, else ~/.aws/config */
    dsql_ini *credentials; /* AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials */
} dsql_aws_files;

/*
 * Reads both files (paths from the environment as botocore: the variable when set, even to
 * "", else the default). Missing files are empty. A parse error in either fails the whole load
 * (botocore fails on it too). On failure f is left zeroed.
 */
DSQL_LOCAL int dsql_aws_files_load(dsql_aws_files *f, dsql_error *err);
DSQL_LOCAL void dsql_aws_files_cleanup(dsql_aws_files *f);

/*
 * The profile to use and whether it was named: arg when non-NULL and non-empty (named, and
 * *from_arg = 1: botocore then skips environment credentials), else AWS_DEFAULT_PROFILE, else
 * AWS_PROFILE (named when set at all, even to ""), else "default" (not named). A named profile
 * must exist in one of the files, even "default" (botocore's ProfileNotFound). Copies the name
 * into buf (truncation is an error). Returns 0 or -1.
 */
DSQL_LOCAL int dsql_aws_profile_name(const char *arg, char *buf, size_t len, int *named,
                                     int *from_arg);

/*
 * The config file's section for profile, as botocore's build_profile_map: "[default]" and
 * "[profile default]" both name "default" (when both are present the later one in the file
 * wins), "[profile NAME]" names NAME where the header splits (shlex) into exactly two words;
 * "[NAME]" alone is not a profile in the config file. NULL if none. Borrowed.
 */
DSQL_LOCAL const dsql_ini_section *dsql_aws_config_profile(const dsql_ini *config,
                                                           const char *profile);

/* The config file's "[sso-session NAME]" section (same splitting rule), or NULL. Borrowed. */
DSQL_LOCAL const dsql_ini_section *dsql_aws_config_sso_session(const dsql_ini *config,
                                                               const char *name);

/* 1 if profile exists in the config file (as above) or as a section of the credentials file. */
DSQL_LOCAL int dsql_aws_profile_exists(const dsql_aws_files *f, const char *profile);

/*
 * A profile key as botocore's session.full_config / get_scoped_config see it: the credentials
 * file's [profile] section, when it has the key, overrides the config file's profile. Returns
 * the string value (borrowed, valid while f is loaded), or NULL when absent or when the value
 * is a nested sub-section. When from is non-NULL it is set to the file the value came from.
 */
DSQL_LOCAL const char *dsql_aws_profile_get(const dsql_aws_files *f, const char *profile,
                                            const char *key, const dsql_ini **from);

/* "profile 'X' not found in <config> or <credentials>" into err; returns DSQL_ERR_CONFIG. */
DSQL_LOCAL int dsql_aws_profile_not_found(const dsql_aws_files *f, const char *profile,
                                          dsql_error *err);

#endif /* DSQL_INI_H */
