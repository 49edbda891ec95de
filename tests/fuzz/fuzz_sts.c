/* SPDX-License-Identifier: MIT */
/* fuzz_sts.c: STS response bodies (AssumeRole*, errors) through the XML reader and the parser. */
#include "fuzz.h"

#include "creds/creds.h"
#include "creds/sts.h"

#include <string.h>

static const char *const names[] = {
    "AccessKeyId", "SecretAccessKey", "SessionToken",    "Expiration", "Code",
    "Message",     "Credentials",     "AssumedRoleUser", "Arn"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    /* Each element alone: the text never grows (entities only shrink), found means found. */
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        dsql_buf b;
        dsql_buf_init(&b);
        int rc = dsql_xml_text(xml, size, names[i], &b);
        FUZZ_CHECK(rc == -1 || rc == 0 || rc == 1);
        FUZZ_CHECK(b.len <= size);
        if (rc == 1)
            FUZZ_CHECK(memmem(xml, size, names[i], strlen(names[i])) != NULL);
        dsql_buf_cleanup(&b);
    }

    /* The whole response, as a success and as an error status. */
    dsql_credentials *c = NULL;
    dsql_error err = {0};
    int rc = dsql_sts_parse_response("AssumeRole", 200, xml, size, "fuzz", &c, &err);
    if (rc == DSQL_OK) {
        FUZZ_CHECK(c != NULL);
        FUZZ_CHECK(dsql_credentials_access_key_id(c)[0] != '\0');
        FUZZ_CHECK(dsql_credentials_secret(c)[0] != '\0');
        FUZZ_CHECK(dsql_credentials_expiration(c) != 0);
        dsql_buf secret;
        dsql_buf_init(&secret);
        FUZZ_CHECK(dsql_xml_text(xml, size, "SecretAccessKey", &secret) == 1);
        FUZZ_CHECK(strcmp(secret.data, dsql_credentials_secret(c)) == 0);
        dsql_buf_cleanup(&secret);
        dsql_credentials_free(c);
    } else {
        FUZZ_CHECK(c == NULL);
        FUZZ_CHECK(rc == DSQL_ERR_CREDENTIALS || rc == DSQL_ERR_NOMEM);
        FUZZ_CHECK(rc == DSQL_ERR_NOMEM || strncmp(err.message, "STS AssumeRole: ", 16) == 0);
        /* The reason never repeats the secret key the body carried (unless the "key" is
         * words of the reason's own fixed text, such as "Credentials"). */
        static const char fixed[] = "STS AssumeRole: the response has no complete Credentials "
                                    "element; the Credentials element holds a NUL character; "
                                    "the Expiration is not an ISO 8601 time";
        dsql_buf secret;
        dsql_buf_init(&secret);
        if (dsql_xml_text(xml, size, "SecretAccessKey", &secret) == 1 && secret.len >= 8 &&
            strlen(secret.data) == secret.len && strstr(fixed, secret.data) == NULL) {
            if (strstr(err.message, secret.data) != NULL)
                fprintf(stderr, "the reason shows the secret key: %s\n", err.message);
            FUZZ_CHECK(strstr(err.message, secret.data) == NULL);
        }
        dsql_buf_cleanup(&secret);
    }
    c = NULL;
    memset(&err, 0, sizeof err);
    rc = dsql_sts_parse_response("AssumeRoleWithWebIdentity", 403, xml, size, "fuzz", &c, &err);
    FUZZ_CHECK(rc != DSQL_OK && c == NULL);
    FUZZ_CHECK(strstr(err.message, "HTTP 403") != NULL ||
               strlen(err.message) >= sizeof err.message - 1); /* may be cut at the end */
    return 0;
}
