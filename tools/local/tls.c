/* SPDX-License-Identifier: MIT */
/* tls.c: certificates made with the OpenSSL API (no openssl CLI) and the front's SSL_CTX. */
#include "tls.h"

#include "sign/endpoint.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALPN_PG "postgresql"

static void ssl_msg(char *msg, size_t msglen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof buf);
    snprintf(msg, msglen, "%s%s%s", what, e ? ": " : "", buf);
    ERR_clear_error();
}

static EVP_PKEY *new_key(void)
{
    return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static X509 *new_cert(EVP_PKEY *key, const char *cn, long days)
{
    X509 *c = X509_new();
    if (c == NULL)
        return NULL;
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (bn == NULL || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) ||
        !X509_set_version(c, 2) || !X509_gmtime_adj(X509_getm_notBefore(c), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(c), days * 86400L) || !X509_set_pubkey(c, key))
        goto fail;
    X509_NAME *name = X509_get_subject_name(c);
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                    (const unsigned char *)"dsqlauth-local", -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0))
        goto fail;
    BN_free(bn);
    return c;
fail:
    BN_free(bn);
    X509_free(c);
    return NULL;
}

static int write_key(const char *path, EVP_PKEY *key)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    fchmod(fd, 0600);
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return -1;
    }
    int ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int write_cert(const char *path, X509 *cert)
{
    FILE *f = fopen(path, "we");
    if (f == NULL)
        return -1;
    int ok = PEM_write_X509(f, cert);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return NULL;
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return c;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

/* 1 if cert is signed by ca, names endpoint and is valid for at least another day. */
static int server_cert_usable(X509 *cert, X509 *ca, EVP_PKEY *cakey, const char *endpoint)
{
    (void)cakey;
    EVP_PKEY *pub = X509_get0_pubkey(ca);
    if (pub == NULL || X509_verify(cert, pub) != 1)
        return 0;
    if (X509_check_host(cert, endpoint, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) != 1)
        return 0;
    time_t tomorrow = time(NULL) + 86400;
    return X509_cmp_time(X509_get0_notAfter(cert), &tomorrow) > 0;
}

int tls_ensure_certs(const char *dir, const char *endpoint, char *msg, size_t msglen)
{
    int rc = -1;
    char ca_crt[4096], ca_key[4096], srv_crt[4096], srv_key[4096];
    snprintf(ca_crt, sizeof ca_crt, "%s/ca.crt", dir);
    snprintf(ca_key, sizeof ca_key, "%s/ca.key", dir);
    snprintf(srv_crt, sizeof srv_crt, "%s/server.crt", dir);
    snprintf(srv_key, sizeof srv_key, "%s/server.key", dir);
    X509 *ca = read_cert(ca_crt), *srv = NULL;
    EVP_PKEY *cakey = read_key(ca_key), *key = NULL;

    if (ca == NULL || cakey == NULL || X509_check_private_key(ca, cakey) != 1) {
        X509_free(ca);
        EVP_PKEY_free(cakey);
        ca = NULL;
        cakey = new_key();
        if (cakey == NULL || (ca = new_cert(cakey, "dsqlauth-local CA", 3650)) == NULL ||
            X509_set_issuer_name(ca, X509_get_subject_name(ca)) != 1 ||
            add_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
            add_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign") ||
            add_ext(ca, ca, NID_subject_key_identifier, "hash") ||
            X509_sign(ca, cakey, EVP_sha256()) == 0) {
            ssl_msg(msg, msglen, "making the local CA");
            goto out;
        }
        if (write_key(ca_key, cakey) != 0 || write_cert(ca_crt, ca) != 0) {
            snprintf(msg, msglen, "writing the CA into %s failed", dir);
            goto out;
        }
        unlink(srv_crt); /* a new CA invalidates the old server certificate */
    }

    srv = read_cert(srv_crt);
    key = read_key(srv_key);
    if (srv != NULL && key != NULL && X509_check_private_key(srv, key) == 1 &&
        server_cert_usable(srv, ca, cakey, endpoint)) {
        rc = 0;
        goto out;
    }
    X509_free(srv);
    EVP_PKEY_free(key);
    srv = NULL;
    key = new_key();
    char san[600];
    snprintf(san, sizeof san, "DNS:%s,DNS:localhost,IP:127.0.0.1", endpoint);
    if (key == NULL || (srv = new_cert(key, endpoint, 825)) == NULL ||
        X509_set_issuer_name(srv, X509_get_subject_name(ca)) != 1 ||
        add_ext(srv, ca, NID_basic_constraints, "critical,CA:FALSE") ||
        add_ext(srv, ca, NID_key_usage, "critical,digitalSignature,keyAgreement") ||
        add_ext(srv, ca, NID_ext_key_usage, "serverAuth") ||
        add_ext(srv, ca, NID_subject_alt_name, san) ||
        add_ext(srv, ca, NID_authority_key_identifier, "keyid:always") ||
        X509_sign(srv, cakey, EVP_sha256()) == 0) {
        ssl_msg(msg, msglen, "making the server certificate");
        goto out;
    }
    if (write_key(srv_key, key) != 0 || write_cert(srv_crt, srv) != 0) {
        snprintf(msg, msglen, "writing the server certificate into %s failed", dir);
        goto out;
    }
    rc = 0;
out:
    X509_free(ca);
    X509_free(srv);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(key);
    return rc;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char ours[] = "\x0a" ALPN_PG;
    unsigned char *sel;
    unsigned char sellen;
    (void)ssl;
    (void)arg;
    if (SSL_select_next_proto(&sel, &sellen, ours, sizeof ours - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL; /* PostgreSQL 17 does the same: no_application_protocol
                                            */
    *out = sel;
    *outlen = sellen;
    return SSL_TLSEXT_ERR_OK;
}

/*
 * The names this endpoint answers to: its own, localhost, and (as a connection through an AWS
 * PrivateLink interface endpoint names it) a DSQL vpce name of its region; such a client checks
 * the certificate's chain but not its name, and says which cluster in amzn-cluster-id.
 */
static int sni_check(SSL *ssl, int *alert, void *arg)
{
    const char *endpoint = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    char region[DSQL_REGION_MAX], vpce_region[DSQL_REGION_MAX];
    if (name == NULL)
        return SSL_TLSEXT_ERR_OK; /* no SNI (e.g. host=127.0.0.1): the one certificate serves */
    if (strcasecmp(name, endpoint) == 0 || strcasecmp(name, "localhost") == 0)
        return SSL_TLSEXT_ERR_OK;
    if (dsql_hostname_region(endpoint, region, sizeof region) &&
        dsql_vpce_region(name, vpce_region, sizeof vpce_region) && strcmp(region, vpce_region) == 0)
        return SSL_TLSEXT_ERR_OK;
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

SSL_CTX *tls_server_ctx(const char *dir, const char *endpoint, char *msg, size_t msglen)
{
    char crt[4096], key[4096];
    snprintf(crt, sizeof crt, "%s/server.crt", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
        SSL_CTX_use_certificate_chain_file(ctx, crt) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ssl_msg(msg, msglen, "loading the server certificate");
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* OpenSSL 3.0 fills a certificate's extension cache on first use, testing its "done" flag
     * outside the certificate's lock; fill it here, before the connection threads share it. */
    X509_check_purpose(SSL_CTX_get0_certificate(ctx), -1, 0);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* One read() a message instead of two (a record's header, then its body): what the socket
     * holds comes in at once, so callers ask SSL_has_pending, not SSL_pending, what is left. */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    SSL_CTX_set_tlsext_servername_callback(ctx, sni_check);
    SSL_CTX_set_tlsext_servername_arg(ctx, (void *)endpoint);
    return ctx;
}

int tls_alpn_is_postgresql(const SSL *ssl)
{
    const unsigned char *p;
    unsigned int n;
    SSL_get0_alpn_selected(ssl, &p, &n);
    return n == strlen(ALPN_PG) && memcmp(p, ALPN_PG, n) == 0;
}
