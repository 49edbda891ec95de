/* SPDX-License-Identifier: MIT */
/* fuzz_ini.c: ~/.aws config/credentials text through the parser and the profile lookups. */
#include "creds/ini.h"
#include "fuzz.h"

#include <string.h>

/* The profile name a config section header gives, when it has the "profile " form. */
static const char *profile_of(const char *section)
{
    if (strncmp(section, "profile ", 8) == 0)
        return section + 8;
    return section;
}

static void check_entries(const dsql_ini_entry *e, size_t n, int nested)
{
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(e[i].key != NULL);
        FUZZ_CHECK(nested || e[i].key[0] != '\0'); /* botocore takes a nested "= v" too */
        if (!nested)
            for (const char *k = e[i].key; *k != '\0'; k++)
                FUZZ_CHECK(!(*k >= 'A' && *k <= 'Z')); /* keys are lower-cased */
        if (e[i].value == NULL) {
            FUZZ_CHECK(!nested); /* one level of nesting only */
            check_entries(e[i].sub, e[i].nsub, 1);
        } else {
            FUZZ_CHECK(e[i].nsub == 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dsql_ini *ini = NULL;
    dsql_error err = {0};
    int rc = dsql_ini_parse((const char *)data, size, "fuzz", &ini, &err);
    if (rc != DSQL_OK) {
        FUZZ_CHECK(ini == NULL);
        FUZZ_CHECK(rc == DSQL_ERR_CONFIG || rc == DSQL_ERR_NOMEM);
        FUZZ_CHECK(rc != DSQL_ERR_CONFIG ||
                   strncmp(err.message, "fuzz:", 5) == 0); /* names the file */
        return 0;
    }
    FUZZ_CHECK(ini != NULL && ini->found == 1);
    check_entries(ini->defaults.entries, ini->defaults.n, 0);
    dsql_aws_files files = {.config = ini, .credentials = ini};
    for (size_t s = 0; s < ini->nsections; s++) {
        const dsql_ini_section *sec = &ini->sections[s];
        FUZZ_CHECK(sec->name != NULL);
        FUZZ_CHECK(dsql_ini_section_find(ini, sec->name) == sec); /* no section twice */
        check_entries(sec->entries, sec->n, 0);
        /* A section's own key wins over [DEFAULT]. (Lookups take names shorter than 128
         * bytes, as every key a source asks for is; longer keys are never found.) */
        for (size_t i = 0; i < sec->n; i++)
            if (strlen(sec->entries[i].key) < 128)
                FUZZ_CHECK(dsql_ini_lookup(ini, sec, sec->entries[i].key) == &sec->entries[i]);
        for (size_t i = 0; i < ini->defaults.n; i++)
            if (strlen(ini->defaults.entries[i].key) < 128)
                FUZZ_CHECK(dsql_ini_lookup(ini, sec, ini->defaults.entries[i].key) != NULL);

        /* The profile view: every lookup a credential source makes. */
        const char *name = profile_of(sec->name);
        const dsql_ini_section *p = dsql_aws_config_profile(ini, name);
        if (p != NULL) {
            FUZZ_CHECK(dsql_aws_profile_exists(&files, name));
            for (size_t i = 0; i < p->n; i++) {
                const dsql_ini *from = NULL;
                const char *v = dsql_aws_profile_get(&files, name, p->entries[i].key, &from);
                FUZZ_CHECK(v == NULL || from == ini);
            }
        }
        static const char *const keys[] = {"aws_access_key_id",
                                           "aws_secret_access_key",
                                           "aws_session_token",
                                           "region",
                                           "role_arn",
                                           "source_profile",
                                           "credential_source",
                                           "credential_process",
                                           "web_identity_token_file",
                                           "sso_session",
                                           "sso_start_url",
                                           "sso_region",
                                           "sso_account_id",
                                           "sso_role_name"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            (void)dsql_aws_profile_get(&files, name, keys[k], NULL);
        if (strncmp(sec->name, "sso-session ", 12) == 0)
            (void)dsql_aws_config_sso_session(ini, sec->name + 12);
    }
    (void)dsql_aws_config_profile(ini, "default");
    dsql_error nf = {0};
    FUZZ_CHECK(dsql_aws_profile_not_found(&files, "fuzz-missing", &nf) == DSQL_ERR_CONFIG);
    dsql_ini_free(ini);
    return 0;
}
