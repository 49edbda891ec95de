/* SPDX-License-Identifier: MIT */
/* test_ini.c: the ~/.aws parser (configparser's rules), shlex.split and ISO 8601 timestamps. */
#include "creds/ini.h"
#include "creds/iso8601.h"
#include "creds/shlex.h"
#include "scratch.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dsql_ini *parse_ok(const char *text)
{
    dsql_ini *ini = NULL;
    dsql_error err = {0};
    int rc = dsql_ini_parse(text, strlen(text), "f", &ini, &err);
    cr_assert_eq(rc, DSQL_OK, "parse failed: %s", err.message);
    return ini;
}

static void parse_fails(const char *text, const char *message)
{
    dsql_ini *ini = NULL;
    dsql_error err = {0};
    int rc = dsql_ini_parse(text, strlen(text), "f", &ini, &err);
    cr_assert_eq(rc, DSQL_ERR_CONFIG, "expected an error for %s", text);
    cr_assert_str_eq(err.message, message);
    cr_assert_null(ini);
}

static const char *get(const dsql_ini *ini, const char *section, const char *key)
{
    const dsql_ini_entry *e = dsql_ini_lookup(ini, dsql_ini_section_find(ini, section), key);
    return e == NULL ? NULL : e->value;
}

Test(ini, sections_keys_and_values)
{
    dsql_ini *ini = parse_ok("[default]\nRegion = us-east-1\nkey=v=w\na:b = c\n[profile dev]\n"
                             "k =   spaced value  \nempty =\n");
    cr_assert_eq(ini->nsections, 2);
    cr_assert_str_eq(ini->sections[1].name, "profile dev");
    cr_assert_str_eq(get(ini, "default", "region"), "us-east-1");
    cr_assert_str_eq(get(ini, "default", "REGION"), "us-east-1", "lookups fold case like keys");
    cr_assert_str_eq(get(ini, "default", "key"), "v=w");
    cr_assert_str_eq(get(ini, "default", "a"), "b = c", "the first '=' or ':' splits");
    cr_assert_str_eq(get(ini, "profile dev", "k"), "spaced value");
    cr_assert_str_eq(get(ini, "profile dev", "empty"), "");
    cr_assert_null(get(ini, "profile dev", "missing"));
    cr_assert_null(dsql_ini_section_find(ini, "dev"));
    dsql_ini_free(ini);
}

Test(ini, no_inline_comments)
{
    dsql_ini *ini = parse_ok("# c1\n; c2\n[default]\n   # indented\nk = a # b ; c\n");
    cr_assert_str_eq(get(ini, "default", "k"), "a # b ; c");
    dsql_ini_free(ini);
}

Test(ini, continuation_lines_and_blank_lines)
{
    dsql_ini *ini =
        parse_ok("[s]\nk = v1\n  v2\n\n   v3\n  # not part\n\nz = 1\n  b = 2\n c = 3\n");
    cr_assert_str_eq(get(ini, "s", "k"), "v1\nv2\n\nv3");
    cr_assert_str_eq(get(ini, "s", "z"), "1\nb = 2\nc = 3",
                     "deeper indentation than the key's line continues the value");
    dsql_ini_free(ini);
    /* The indent level is the key's own: an indented key's value continues only deeper. */
    ini = parse_ok("[s]\n  k = a\n b = 2\n  c=3\n   d\n");
    cr_assert_str_eq(get(ini, "s", "k"), "a");
    cr_assert_str_eq(get(ini, "s", "b"), "2\nc=3\nd");
    dsql_ini_free(ini);
}

Test(ini, nested_sub_sections)
{
    dsql_ini *ini = parse_ok("[default]\ns3 =\n  max_concurrent_requests = 20\n\n  # c\n"
                             "  Addressing_Style=path\n  dup = 1\n  dup = 2\nregion = x\n");
    const dsql_ini_entry *e = dsql_ini_lookup(ini, dsql_ini_section_find(ini, "default"), "s3");
    cr_assert_not_null(e);
    cr_assert_null(e->value);
    cr_assert_eq(e->nsub, 3);
    cr_assert_str_eq(e->sub[0].key, "max_concurrent_requests");
    cr_assert_str_eq(e->sub[0].value, "20");
    cr_assert_str_eq(e->sub[1].key, "Addressing_Style", "nested keys keep their case");
    cr_assert_str_eq(e->sub[1].value, "path");
    cr_assert_str_eq(e->sub[2].value, "2", "a repeated nested key: the last wins (a dict)");
    cr_assert_eq(e->sub[1].line, 6);
    cr_assert_str_eq(get(ini, "default", "region"), "x");
    dsql_ini_free(ini);
    /* "key =" with nothing after it is an empty string, not a sub-section. */
    ini = parse_ok("[d]\ns3 =\nregion = x\n");
    cr_assert_str_eq(get(ini, "d", "s3"), "");
    dsql_ini_free(ini);
}

Test(ini, default_section_is_inherited)
{
    dsql_ini *ini = parse_ok("[DEFAULT]\nregion = r\nk = d\n[a]\nk = own\n[DEFAULT]\nm = n\n");
    cr_assert_eq(ini->nsections, 1, "[DEFAULT] is not a section of its own");
    cr_assert_str_eq(get(ini, "a", "region"), "r");
    cr_assert_str_eq(get(ini, "a", "k"), "own");
    cr_assert_str_eq(get(ini, "a", "m"), "n", "[DEFAULT] may be reopened");
    dsql_ini_free(ini);
}

Test(ini, section_headers_as_configparser_matches_them)
{
    dsql_ini *ini = parse_ok("[a]]\nx=1\n[[b]\ny=2\n[c]d]e\nz=3\n[ spaced ]\nw=4\n  [cont]\nv=5\n"
                             "[e]\n  [indented]\nv=5\n");
    cr_assert_not_null(dsql_ini_section_find(ini, "a]"));
    cr_assert_not_null(dsql_ini_section_find(ini, "[b"));
    cr_assert_not_null(dsql_ini_section_find(ini, "c]d"), "up to the last ']'; the rest dropped");
    cr_assert_not_null(dsql_ini_section_find(ini, " spaced "), "names are not trimmed");
    cr_assert_null(dsql_ini_section_find(ini, "cont"), "indented under a key: a continuation");
    cr_assert_str_eq(get(ini, " spaced ", "w"), "4\n[cont]");
    cr_assert_not_null(dsql_ini_section_find(ini, "indented"), "indented after a header: a header");
    dsql_ini_free(ini);
}

Test(ini, line_endings_and_unicode_white_space)
{
    /* Expected values from Python's configparser on the same bytes. */
    dsql_ini *ini = parse_ok("[a]\r\nk=v\r\nj=w\rl=m\n\xc2\xa0n\xe3\x80\x80=\xe2\x80\x83x\xc2\xa0\n"
                             "[b]\n\xc2\xa0n\xe3\x80\x80=\xe2\x80\x83x\xc2\xa0\n");
    cr_assert_str_eq(get(ini, "a", "j"), "w");
    cr_assert_str_eq(get(ini, "a", "l"), "m\nn\xe3\x80\x80=\xe2\x80\x83x",
                     "a lone CR ends a line; a line indented by NBSP continues the value");
    cr_assert_str_eq(get(ini, "b", "n"), "x", "NBSP, ideographic and em spaces are white space");
    dsql_ini_free(ini);
}

Test(ini, errors_name_the_line)
{
    parse_fails("k = v\n[a]\n", "f: line 1: text before the first [section] header");
    parse_fails("# ok\n\n[a]\nk = v\nnot a key\n",
                "f: line 5: expected 'key = value', a [section] header or a comment");
    parse_fails("[a]\n= v\n", "f: line 2: empty key before the '=' or ':'");
    parse_fails("[a]\n: v\n", "f: line 2: empty key before the '=' or ':'");
    parse_fails("[a]\nk=1\n[b]\n[a]\n",
                "f: line 4: section [a] is defined twice (first on line 1)");
    parse_fails("[a]\nKey=1\nkey=2\n",
                "f: line 3: key 'key' is defined twice in section [a] (first on line 2)");
    parse_fails("[DEFAULT]\nk=1\n[DEFAULT]\nk=2\n",
                "f: line 4: key 'k' is defined twice in section [DEFAULT] (first on line 2)");
    parse_fails("[a]\ns3 =\n  x = 1\n\n  secret-looking-line\n",
                "f: line 5: a line of a nested sub-section is not 'name = value'");
    parse_fails("[a]\r\nk=v\rbogus\r\n", "f: line 3: expected 'key = value', a [section] header "
                                         "or a comment");
    parse_fails("[a]\nk=\xff\n", "f: line 2: is not valid UTF-8");
    parse_fails("[a]\nk=\xed\xa0\x80\n", "f: line 2: is not valid UTF-8"); /* a surrogate */
    parse_fails("[a]\nk=\xc0\xaf\n", "f: line 2: is not valid UTF-8");     /* overlong */
    parse_fails("\xef\xbb\xbf[a]\n", "f: line 1: text before the first [section] header");
    parse_fails("[]\n", "f: line 1: text before the first [section] header");
}

Test(ini, nul_byte_is_an_error)
{
    static const char text[] = "[a]\nk=v\0w\n";
    dsql_ini *ini = NULL;
    dsql_error err = {0};
    cr_assert_eq(dsql_ini_parse(text, sizeof text - 1, "f", &ini, &err), DSQL_ERR_CONFIG);
    cr_assert_str_eq(err.message, "f: line 2: contains a NUL byte");
}

Test(ini, error_messages_never_quote_values)
{
    dsql_ini *ini = NULL;
    dsql_error err = {0};
    const char *t = "[a]\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";
    cr_assert_eq(dsql_ini_parse(t, strlen(t), "f", &ini, &err), DSQL_ERR_CONFIG);
    cr_assert_null(strstr(err.message, "wJalr"));
}

Test(ini, empty_and_comment_only_files)
{
    dsql_ini *ini = parse_ok("");
    cr_assert_eq(ini->nsections, 0);
    dsql_ini_free(ini);
    ini = parse_ok("# only\n; comments\n\n");
    cr_assert_eq(ini->nsections, 0);
    dsql_ini_free(ini);
}

Test(ini, missing_file_and_directory_are_empty)
{
    char *d = scratch_dir();
    char path[512];
    dsql_ini *ini = NULL;
    snprintf(path, sizeof path, "%s/nope", d);
    cr_assert_eq(dsql_ini_load(path, &ini, NULL), DSQL_OK);
    cr_assert_eq(ini->found, 0);
    cr_assert_eq(ini->nsections, 0);
    dsql_ini_free(ini);
    cr_assert_eq(dsql_ini_load(d, &ini, NULL), DSQL_OK, "a directory is not a file");
    cr_assert_eq(ini->found, 0);
    dsql_ini_free(ini);
    cr_assert_eq(dsql_ini_load("", &ini, NULL), DSQL_OK);
    dsql_ini_free(ini);
}

Test(ini, loads_a_file)
{
    char *d = scratch_dir();
    const char *p = scratch_write(d, "config", "[default]\nregion = eu-west-1\n", 0600);
    dsql_ini *ini = NULL;
    cr_assert_eq(dsql_ini_load(p, &ini, NULL), DSQL_OK);
    cr_assert_eq(ini->found, 1);
    cr_assert_str_eq(ini->path, p);
    cr_assert_str_eq(get(ini, "default", "region"), "eu-west-1");
    dsql_ini_free(ini);
}

Test(ini, size_cap)
{
    char *d = scratch_dir();
    size_t n = DSQL_INI_MAX_SIZE + 1;
    char *big = malloc(n + 1);
    memset(big, '#', n);
    big[0] = '[';
    big[1] = 'a';
    big[2] = ']';
    big[3] = '\n';
    big[n] = '\0';
    const char *p = scratch_write(d, "config", big, 0600);
    dsql_ini *ini = NULL;
    dsql_error err = {0};
    cr_assert_eq(dsql_ini_load(p, &ini, &err), DSQL_ERR_CONFIG);
    cr_assert(strstr(err.message, "larger than 1024 KiB") != NULL, "%s", err.message);
    big[n - 1] = '\0'; /* exactly the cap is fine */
    p = scratch_write(d, "config", big, 0600);
    cr_assert_eq(dsql_ini_load(p, &ini, &err), DSQL_OK, "%s", err.message);
    dsql_ini_free(ini);
    free(big);
}

Test(ini, path_expansion_as_python)
{
    setenv("HOME", "/home/someone/", 1);
    setenv("XDIR", "/x", 1);
    unsetenv("NOPE_UNSET");
    struct {
        const char *in, *out;
    } t[] = {
        {"~/.aws/config", "/home/someone/.aws/config"},
        {"~", "/home/someone"},
        {"$XDIR/c", "/x/c"},
        {"${XDIR}/c", "/x/c"},
        {"$NOPE_UNSET/c", "$NOPE_UNSET/c"},
        {"${NOPE_UNSET}/c", "${NOPE_UNSET}/c"},
        {"a$/b", "a$/b"},
        {"~root/x", "/root/x"},
        {"~no-such-user-dsql/x", "~no-such-user-dsql/x"},
        {"/abs/~/x", "/abs/~/x"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char *got = dsql_expand_path(t[i].in);
        cr_assert_str_eq(got, t[i].out, "%s", t[i].in);
        free(got);
    }
    setenv("HOME", "/", 1);
    char *got = dsql_expand_path("~");
    cr_assert_str_eq(got, "/");
    free(got);
}

/* ------------------------------------------------------------------------------------------ */

Test(profiles, config_profile_map)
{
    dsql_ini *ini =
        parse_ok("[default]\nn = 1\n[profile default]\nn = 2\n[profile \"a b\"]\nn = 3\n"
                 "[profile  c]\nn = 4\n[profile d e]\nn = 5\n[profilex]\nn = 6\n"
                 "[profile 'open]\nn = 7\n[sso-session corp]\nn = 8\n[dev]\nn = 9\n"
                 "[profiles q]\nn = 10\n");
    const dsql_ini_section *s = dsql_aws_config_profile(ini, "default");
    cr_assert_str_eq(s->name, "profile default", "the later of the two wins");
    cr_assert_str_eq(dsql_aws_config_profile(ini, "a b")->name, "profile \"a b\"");
    cr_assert_str_eq(dsql_aws_config_profile(ini, "c")->name, "profile  c");
    cr_assert_null(dsql_aws_config_profile(ini, "d"), "three words: not a profile");
    cr_assert_null(dsql_aws_config_profile(ini, "d e"));
    cr_assert_null(dsql_aws_config_profile(ini, "x"));
    cr_assert_null(dsql_aws_config_profile(ini, "'open"), "bad quoting: ignored");
    cr_assert_null(dsql_aws_config_profile(ini, "dev"), "[dev] is not a config profile");
    cr_assert_str_eq(dsql_aws_config_profile(ini, "q")->name, "profiles q",
                     "botocore checks the prefix only");
    cr_assert_str_eq(dsql_aws_config_sso_session(ini, "corp")->name, "sso-session corp");
    cr_assert_null(dsql_aws_config_profile(ini, "corp"));
    dsql_ini_free(ini);
    ini = parse_ok("[profile default]\nn = 2\n[default]\nn = 1\n");
    cr_assert_str_eq(dsql_aws_config_profile(ini, "default")->name, "default");
    dsql_ini_free(ini);
}

Test(profiles, credentials_file_overrides_config)
{
    dsql_aws_files f = {
        parse_ok("[profile dev]\nregion = us-west-2\noutput = json\ns3 =\n  a = b\n"),
        parse_ok("[dev]\nregion = ap-south-1\n[profile dev]\nregion = nope\n"),
    };
    const dsql_ini *from = NULL;
    cr_assert_str_eq(dsql_aws_profile_get(&f, "dev", "region", &from), "ap-south-1");
    cr_assert_eq(from, f.credentials);
    cr_assert_str_eq(dsql_aws_profile_get(&f, "dev", "output", &from), "json");
    cr_assert_eq(from, f.config);
    cr_assert_null(dsql_aws_profile_get(&f, "dev", "s3", NULL), "nested: not a string");
    cr_assert_null(dsql_aws_profile_get(&f, "dev", "missing", NULL));
    cr_assert(dsql_aws_profile_exists(&f, "dev"));
    cr_assert(dsql_aws_profile_exists(&f, "profile dev"), "a credentials-file section name");
    cr_assert_not(dsql_aws_profile_exists(&f, "prod"));
    dsql_aws_files_cleanup(&f);
}

Test(profiles, profile_name_sources)
{
    char buf[64];
    int named, from_arg;
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_DEFAULT_PROFILE");
    cr_assert_eq(dsql_aws_profile_name(NULL, buf, sizeof buf, &named, &from_arg), 0);
    cr_assert_str_eq(buf, "default");
    cr_assert(!named && !from_arg);
    setenv("AWS_PROFILE", "", 1);
    dsql_aws_profile_name(NULL, buf, sizeof buf, &named, &from_arg);
    cr_assert_str_eq(buf, "");
    cr_assert(named && !from_arg, "set to \"\" still names a profile, as in botocore");
    setenv("AWS_PROFILE", "b", 1);
    setenv("AWS_DEFAULT_PROFILE", "a", 1);
    dsql_aws_profile_name(NULL, buf, sizeof buf, &named, &from_arg);
    cr_assert_str_eq(buf, "a");
    dsql_aws_profile_name("", buf, sizeof buf, &named, &from_arg);
    cr_assert_str_eq(buf, "a", "an empty argument is no argument");
    dsql_aws_profile_name("arg", buf, sizeof buf, &named, &from_arg);
    cr_assert_str_eq(buf, "arg");
    cr_assert(named && from_arg);
    cr_assert_eq(dsql_aws_profile_name("toolongname", buf, 4, &named, &from_arg), -1);
}

/* ------------------------------------------------------------------------------------------ */

/* Expected results generated with Python 3.11's shlex.split. */
Test(shlex, matches_python)
{
    struct {
        const char *in;
        const char *out[4];
    } t[] = {
        {"a b  c", {"a", "b", "c"}},
        {"\"two words\" x", {"two words", "x"}},
        {"'it''s'", {"its"}},
        {"a\\ b", {"a b"}},
        {"\"a\\\"b\" \"c\\\\d\" \"e\\f\"", {"a\"b", "c\\d", "e\\f"}},
        {"'a\\b'", {"a\\b"}},
        {"x\"\"y", {"xy"}},
        {"''", {""}},
        {"\"\"  \"\"", {"", ""}},
        {"a$(touch /tmp/x);b", {"a$(touch", "/tmp/x);b"}},
        {"  lead trail  ", {"lead", "trail"}},
        {"tab\tsep\nnl", {"tab", "sep", "nl"}},
        {"mix\"ed q\"uo\\'tes\\'", {"mixed quo'tes'"}},
        {"\\\\", {"\\"}},
        {"\"\\$HOME\"", {"\\$HOME"}},
        {"#notcomment x", {"#notcomment", "x"}},
        {"a'b c'd", {"ab cd"}},
        {"", {NULL}},
        {"   ", {NULL}},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        dsql_words w;
        dsql_error err = {0};
        cr_assert_eq(dsql_shlex_split(t[i].in, &w, &err), DSQL_OK, "%s: %s", t[i].in, err.message);
        size_t n = 0;
        while (n < 4 && t[i].out[n] != NULL)
            n++;
        cr_assert_eq(w.argc, n, "%s: %zu words", t[i].in, w.argc);
        for (size_t k = 0; k < n; k++)
            cr_assert_str_eq(w.argv[k], t[i].out[k], "%s word %zu", t[i].in, k);
        cr_assert_null(w.argv[n]);
        dsql_shlex_free(&w);
    }
}

Test(shlex, errors_as_python)
{
    dsql_words w;
    dsql_error err = {0};
    cr_assert_eq(dsql_shlex_split("\"unterminated", &w, &err), DSQL_ERR_INVALID);
    cr_assert_str_eq(err.message, "no closing quotation");
    cr_assert_eq(dsql_shlex_split("'x", &w, &err), DSQL_ERR_INVALID);
    cr_assert_eq(dsql_shlex_split("trail\\", &w, &err), DSQL_ERR_INVALID);
    cr_assert_str_eq(err.message, "no escaped character");
}

/* ------------------------------------------------------------------------------------------ */

Test(iso8601, accepted_forms)
{
    struct {
        const char *in;
        int64_t t;
    } t[] = {
        {"2026-11-25T15:00:00Z", 1795618800},      {"2026-11-25T15:00:00.123456Z", 1795618800},
        {"2026-11-25T15:00:00+00:00", 1795618800}, {"2026-11-25T16:30:00+01:30", 1795618800},
        {"2026-11-25T10:00:00-0500", 1795618800},  {"2026-11-25T17:00:00+02", 1795618800},
        {"2026-11-25 15:00:00z", 1795618800},      {"1970-01-01T00:00:00Z", 0},
        {"2024-02-29T00:00:00Z", 1709164800},      {"2000-03-01T00:00:00Z", 951868800},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int64_t got = -1;
        cr_assert_eq(dsql_iso8601_parse(t[i].in, &got), 0, "%s", t[i].in);
        cr_assert_eq(got, t[i].t, "%s: %lld", t[i].in, (long long)got);
    }
}

Test(iso8601, rejected_forms)
{
    const char *bad[] = {
        "2026-11-25T15:00:00", /* no offset: botocore cannot compare it either */
        "2026-11-25",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-11-25T24:00:00Z",
        "2026-11-25T15:60:00Z",
        "2026-11-25T15:00:60Z",
        "2026-11-25T15:00:00.Z",
        "2026-11-25T15:00:00Zjunk",
        "2026-11-25T15:00:00+25:00",
        "2026-11-25T15:00:00+01:60",
        "",
        "1795618800",
        "26-11-25T15:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t got = 42;
        cr_assert_eq(dsql_iso8601_parse(bad[i], &got), -1, "%s", bad[i]);
        cr_assert_eq(got, 42);
    }
    cr_assert_eq(dsql_iso8601_parse(NULL, NULL), -1);
}
