/* SPDX-License-Identifier: MIT */
/* checks.c: the doctor's steps, from credentials to the search_path, each the shim's own way. */
#include "checks.h"
#include "translate.h"

#include "dsqlauth-pq.h"

#include "base/log.h"
#include "creds/chain.h"
#include "creds/ini.h"
#include "shim/rewrite.h"
#include "shim/settings.h"
#include "sign/endpoint.h"
#include "token/auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PORT "5432"
#define DEFAULT_TIMEOUT 10 /* seconds, for TCP and TLS, unless PGCONNECT_TIMEOUT says */
#define MAX_ADDRS 8
#define MAX_PARAMS 12

/* The shim's analysis needs these of libpq: this program links libpq itself. */
static const dsql_pq_api pq_api = {
    .conninfo_parse = PQconninfoParse,
    .conninfo_free = PQconninfoFree,
    .freemem = PQfreemem,
    .lib_version = PQlibVersion,
};

/* What the shim signs with: libdsqlauth's one-call functions. */
static const dsql_signer signer = {
    .endpoint = dsql_auth_endpoint,
    .token = dsql_auth_token_for_host,
    .token_free = dsql_token_free,
};

/* One run's working state. Holds no secret: tokens live inside one step and are wiped there. */
struct run {
    const doctor_target *t;
    const char *kw[MAX_PARAMS + 1], *val[MAX_PARAMS + 1]; /* the caller's parameters */
    const dsql_settings *settings;
    dsql_conninfo *ci;
    int rewrite_rc;
    dsql_error rewrite_err;
    dsql_credentials *creds;
    char region[DSQL_REGION_MAX];
    struct sockaddr_storage addrs[MAX_ADDRS];
    socklen_t addrlens[MAX_ADDRS];
    int naddrs;
    int good; /* the address that accepted a TCP connection */
    PGconn *conn;
};

static const char *nonempty(const char *s)
{
    return s != NULL && *s != '\0' ? s : NULL;
}

/*
 * What libpq will use for key: the last value in the parameters it is called with (the shim's
 * rewritten ones when the rewrite went through, else the caller's), else the environment
 * variable env (may be NULL), else NULL.
 */
static const char *param(const struct run *x, const char *key, const char *env)
{
    const char *const *kw = x->kw, *const *val = x->val;
    if (x->ci != NULL && x->rewrite_rc == DSQL_OK) {
        kw = dsql_conninfo_keywords(x->ci);
        val = dsql_conninfo_values(x->ci);
    }
    const char *v = NULL;
    for (size_t i = 0; kw[i] != NULL; i++)
        if (strcmp(kw[i], key) == 0 && nonempty(val[i]) != NULL)
            v = val[i];
    return v != NULL ? v : env != NULL ? nonempty(getenv(env)) : NULL;
}

static const char *user_of(const struct run *x)
{
    const char *u = param(x, "user", "PGUSER");
    return u != NULL ? u : "admin";
}

static const char *host_of(const struct run *x)
{
    const char *h = param(x, "host", "PGHOST");
    return h != NULL ? h : x->t->host;
}

static const char *port_of(const struct run *x)
{
    const char *p = param(x, "port", "PGPORT");
    return p != NULL ? p : DEFAULT_PORT;
}

/* libpq's connect_timeout (PGCONNECT_TIMEOUT); libpq takes under 2 s as 2. */
static int timeout_seconds(const struct run *x)
{
    const char *v = param(x, "connect_timeout", "PGCONNECT_TIMEOUT");
    int n = v != NULL ? atoi(v) : 0;
    return n <= 0 ? DEFAULT_TIMEOUT : n < 2 ? 2 : n;
}

static void addr_text(const struct sockaddr_storage *a, char *out, size_t len)
{
    const void *p;
    if (a->ss_family == AF_INET6)
        p = &((const struct sockaddr_in6 *)a)->sin6_addr;
    else
        p = &((const struct sockaddr_in *)a)->sin_addr;
    if (inet_ntop(a->ss_family, p, out, (socklen_t)len) == NULL)
        snprintf(out, len, "?");
}

/* ---- endpoint: is it Aurora DSQL's to the shim, and what does the shim make of it ---------- */

static void step_endpoint(struct run *x, report_step *s)
{
    const char *host = x->t->host;
    char region[DSQL_REGION_MAX];
    if (x->settings->disabled) {
        report_set(s, STEP_FAILED,
                   "DSQLAUTH_DISABLE is set, so the shim passes every connection to libpq "
                   "untouched: unset it");
        return;
    }
    if (dsql_conninfo_target(x->ci) != DSQL_TARGET_DSQL) {
        report_set(s, STEP_FAILED,
                   "%s is not an Aurora DSQL endpoint to the shim, which passes it to libpq "
                   "untouched: use the cluster's endpoint <id>.dsql.<region>.on.aws or its id, "
                   "or list the name in DSQLAUTH_HOSTS",
                   host);
        return;
    }
    x->rewrite_rc = dsql_conninfo_rewrite(x->ci, &signer, DSQL_REWRITE_NO_TOKEN, &x->rewrite_err);
    /* A missing region (a cluster id) is the region step's to report, a TLS setting the TLS
     * step's; anything else is about the host itself. */
    if (x->rewrite_rc != DSQL_OK && x->rewrite_rc != DSQL_ERR_REGION &&
        x->rewrite_rc != DSQL_ERR_CONFIG) {
        report_set(s, STEP_FAILED, "%s", x->rewrite_err.message);
        return;
    }
    const char *kind;
    if (dsql_hostname_region(host, region, sizeof region))
        kind = "an Aurora DSQL endpoint name";
    else if (dsql_vpce_region(host, region, sizeof region))
        kind = "an AWS PrivateLink endpoint";
    else if (dsql_is_cluster_id(host))
        kind = "a cluster id";
    else
        kind = "a name listed in DSQLAUTH_HOSTS";
    report_fact_add(s, "kind", "%s", kind);
    const char *signed_for = dsql_conninfo_signed_for(x->ci);
    if (signed_for != NULL && strcmp(signed_for, host) != 0) {
        report_set(s, STEP_OK, "%s is %s; tokens are signed for %s", host, kind, signed_for);
        report_fact_add(s, "endpoint", "%s", signed_for);
    } else {
        report_set(s, STEP_OK, "%s is %s", host, kind);
        report_fact_add(s, "endpoint", "%s", host);
    }
}

/* ---- credentials: which source of the chain answered, and until when --------------------- */

static const char *source_label(const char *source)
{
    static const struct {
        const char *name, *label;
    } labels[] = {
        {"env", "the environment (AWS_ACCESS_KEY_ID)"},
        {"shared-credentials-file", "the shared credentials file"},
        {"config-file", "the config file"},
        {"custom-process", "credential_process"},
        {"assume-role", "an assumed role (role_arn)"},
        {"assume-role-with-web-identity", "a web identity token"},
        {"sso", "AWS IAM Identity Center (SSO)"},
        {"container-role", "the container credentials endpoint"},
        {"iam-role", "the instance metadata service (IMDS)"},
    };
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp(labels[i].name, source) == 0)
            return labels[i].label;
    return source;
}

static void span_text(int64_t seconds, char *out, size_t len)
{
    if (seconds < 120)
        snprintf(out, len, "%lld s", (long long)seconds);
    else if (seconds < 7200)
        snprintf(out, len, "%lld min", (long long)(seconds / 60));
    else
        snprintf(out, len, "%lld h %lld min", (long long)(seconds / 3600),
                 (long long)(seconds % 3600 / 60));
}

static void step_credentials(struct run *x, report_step *s)
{
    char profile[DSQL_PROFILE_MAX] = "default";
    int named = 0, from_arg = 0;
    dsql_aws_profile_name(NULL, profile, sizeof profile, &named, &from_arg);
    report_fact_add(s, "profile", "%s", profile);
    dsql_error err = {0};
    if (dsql_credentials_resolve(NULL, &x->creds, &err) != DSQL_OK) {
        report_set(s, STEP_FAILED, "%s", err.message);
        return;
    }
    const char *source = dsql_credentials_source(x->creds);
    char key[48], expiry[160] = "they do not expire";
    dsql_redact_key_id(dsql_credentials_access_key_id(x->creds), key, sizeof key);
    int64_t exp = dsql_credentials_expiration(x->creds);
    report_fact_add(s, "source", "%s", source);
    report_fact_add(s, "access_key_id", "%s", key);
    if (exp != 0) {
        char when[32], left[48];
        time_t t = (time_t)exp;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        int64_t in = exp - (int64_t)time(NULL);
        span_text(in > 0 ? in : 0, left, sizeof left);
        snprintf(expiry, sizeof expiry, "they expire at %s (in %s%s)", when, left,
                 in < DSQL_TOKEN_EXPIRES_DEFAULT ? "; tokens end with them" : "");
        report_fact_add(s, "expires", "%s", when);
    }
    report_set(s, STEP_OK, "from %s for profile '%s' (access key %s); %s", source_label(source),
               profile, key, expiry);
}

/* ---- region: the one the shim signs for, and where it came from --------------------------- */

static void step_region(struct run *x, report_step *s)
{
    if (x->rewrite_rc == DSQL_ERR_REGION) {
        report_set(s, STEP_FAILED, "%s", x->rewrite_err.message);
        return;
    }
    const char *host = x->t->host;
    int id = dsql_is_cluster_id(host);
    const char *signed_for = dsql_conninfo_signed_for(x->ci);
    char origin[DSQL_PROFILE_MAX + 300];
    dsql_error err = {0};
    /* A cluster id: the region that made its endpoint name. Otherwise: the one its token is
     * signed with, for the name it is signed for. */
    if (dsql_auth_region(id || signed_for == NULL ? NULL : signed_for, x->region, sizeof x->region,
                         origin, sizeof origin, &err) != DSQL_OK) {
        report_set(s, STEP_FAILED, "%s", err.message);
        return;
    }
    if (strcmp(origin, "DSQLAUTH_REGION") == 0 && x->t->region_from_option)
        snprintf(origin, sizeof origin, "--region");
    report_fact_add(s, "region", "%s", x->region);
    report_fact_add(s, "origin", "%s", origin);
    if (id && signed_for != NULL)
        report_set(s, STEP_OK, "%s, from %s: the endpoint is %s", x->region, origin, signed_for);
    else
        report_set(s, STEP_OK, "%s, from %s", x->region, origin);
}

/* ---- dns ------------------------------------------------------------------------------------ */

static void step_dns(struct run *x, report_step *s)
{
    const char *host = host_of(x);
    const char *hostaddr = param(x, "hostaddr", "PGHOSTADDR");
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (hostaddr != NULL) {
        hints.ai_flags = AI_NUMERICHOST;
        int rc = getaddrinfo(hostaddr, port_of(x), &hints, &res);
        if (rc != 0) {
            report_set(s, STEP_FAILED,
                       "hostaddr %s is not a numeric IP address (%s): give the address to "
                       "connect to there, and the endpoint name as the host",
                       hostaddr, gai_strerror(rc));
            return;
        }
    } else {
        int rc = getaddrinfo(host, port_of(x), &hints, &res);
        if (rc != 0) {
            char region[DSQL_REGION_MAX];
            int endpoint = dsql_hostname_region(host, region, sizeof region);
            if (rc == EAI_AGAIN || rc == EAI_FAIL)
                report_set(s, STEP_FAILED,
                           "%s could not be looked up (%s): this machine's DNS did not answer; "
                           "check /etc/resolv.conf and the network",
                           host, gai_strerror(rc));
            else if (endpoint)
                report_set(s, STEP_FAILED,
                           "%s does not resolve (%s): no cluster with this id in %s answers to "
                           "the name; check the id and the region (aws dsql get-cluster "
                           "--identifier <id> --region %s), and for a tunnel give hostaddr",
                           host, gai_strerror(rc), region, region);
            else
                report_set(s, STEP_FAILED,
                           "%s does not resolve (%s): check the name, or give hostaddr (the "
                           "address to connect to) with the endpoint name as the host",
                           host, gai_strerror(rc));
            return;
        }
    }
    char list[512] = "";
    x->naddrs = 0;
    for (struct addrinfo *a = res; a != NULL && x->naddrs < MAX_ADDRS; a = a->ai_next) {
        memcpy(&x->addrs[x->naddrs], a->ai_addr, a->ai_addrlen);
        x->addrlens[x->naddrs] = a->ai_addrlen;
        char one[INET6_ADDRSTRLEN];
        addr_text(&x->addrs[x->naddrs], one, sizeof one);
        if (strstr(list, one) == NULL) {
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", one);
        }
        x->naddrs++;
    }
    freeaddrinfo(res);
    report_fact_add(s, "addresses", "%s", list);
    if (hostaddr != NULL)
        report_set(s, STEP_OK,
                   "not looked up: libpq connects to hostaddr %s and uses %s only for TLS (SNI "
                   "and the certificate check)",
                   list, host);
    else
        report_set(s, STEP_OK, "%s is %s", host, list);
}

/* ---- tcp ------------------------------------------------------------------------------------ */

/* A connected socket to address i within the timeout, or -1 with errno. */
static int connect_to(const struct run *x, int i)
{
    int fd = socket(x->addrs[i].ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&x->addrs[i], x->addrlens[i]) != 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n = poll(&p, 1, timeout_seconds(x) * 1000);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (n == 0 ||
            (n > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr != 0)) {
            close(fd);
            errno = n == 0 ? ETIMEDOUT : soerr;
            return -1;
        }
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = timeout_seconds(x)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static void step_tcp(struct run *x, report_step *s)
{
    const char *port = port_of(x);
    int last_errno = 0;
    char where[INET6_ADDRSTRLEN] = "";
    for (int i = 0; i < x->naddrs; i++) {
        addr_text(&x->addrs[i], where, sizeof where);
        int fd = connect_to(x, i);
        if (fd >= 0) {
            close(fd);
            x->good = i;
            report_fact_add(s, "address", "%s", where);
            report_fact_add(s, "port", "%s", port);
            report_set(s, STEP_OK, "%s port %s accepts connections", where, port);
            return;
        }
        last_errno = errno;
    }
    const char *why = strerror(last_errno);
    if (last_errno == ECONNREFUSED)
        report_set(s, STEP_FAILED,
                   "nothing listens on %s port %s (%s): check the port (Aurora DSQL's is 5432) "
                   "and, for a tunnel (SSM or SSH port forwarding), that it is running and "
                   "listening there",
                   where, port, why);
    else if (last_errno == ETIMEDOUT)
        report_set(s, STEP_FAILED,
                   "no answer from %s port %s within %d s: a firewall, security group, network "
                   "ACL or missing route drops the traffic; Aurora DSQL needs outbound TCP to "
                   "port 5432 (PGCONNECT_TIMEOUT sets the wait)",
                   where, port, timeout_seconds(x));
    else if (last_errno == ENETUNREACH || last_errno == EHOSTUNREACH || last_errno == EADDRNOTAVAIL)
        report_set(s, STEP_FAILED,
                   "no route to %s (%s): this machine has no path there (an IPv6 address on "
                   "an IPv4-only network, a VPN that is down); check the routes, or give "
                   "hostaddr with an address that is reachable",
                   where, why);
    else
        report_set(s, STEP_FAILED, "cannot connect to %s port %s (%s): check the network", where,
                   port, why);
}

/* ---- tls: the handshake libpq would make, against the CA the shim would give it ------------ */

/* "CN=x" of a name, or its one-line form. */
static void name_text(X509_NAME *name, char *out, size_t len)
{
    out[0] = '\0';
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return;
    X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
    int n = BIO_read(b, out, (int)len - 1);
    out[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

/* "[0] CN=a (issued by CN=b); [1] ..." */
static void chain_text(SSL *ssl, char *out, size_t len)
{
    out[0] = '\0';
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    int n = chain != NULL ? sk_X509_num(chain) : 0;
    for (int i = 0; i < n; i++) {
        X509 *c = sk_X509_value(chain, i);
        char subj[256], iss[256];
        name_text(X509_get_subject_name(c), subj, sizeof subj);
        name_text(X509_get_issuer_name(c), iss, sizeof iss);
        size_t k = strlen(out);
        snprintf(out + k, len - k, "%s[%d] %s (issued by %s)", i ? "; " : "", i, subj, iss);
    }
    if (n == 0)
        snprintf(out, len, "no certificate");
}

/* The DNS names a certificate is for ("a, b"), else its subject. */
static void names_of(X509 *c, char *out, size_t len)
{
    out[0] = '\0';
    GENERAL_NAMES *sans = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type != GEN_DNS)
            continue;
        const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
        size_t k = strlen(out);
        snprintf(out + k, len - k, "%s%.*s", k ? ", " : "", ASN1_STRING_length(g->d.dNSName),
                 (const char *)d);
    }
    GENERAL_NAMES_free(sans);
    if (out[0] == '\0')
        name_text(X509_get_subject_name(c), out, len);
}

static void openssl_error(char *out, size_t len)
{
    unsigned long e = ERR_get_error();
    snprintf(out, len, "%s", e != 0 ? ERR_reason_error_string(e) : "the connection was closed");
    ERR_clear_error();
}

static void step_tls(struct run *x, report_step *s)
{
    if (x->rewrite_rc == DSQL_ERR_CONFIG) {
        report_set(s, STEP_FAILED, "%s", x->rewrite_err.message);
        return;
    }
    const char *host = host_of(x);
    const char *mode = param(x, "sslmode", "PGSSLMODE");
    int rank = mode != NULL ? dsql_sslmode_rank(mode) : DSQL_SSL_PREFER;
    const char *root = param(x, "sslrootcert", "PGSSLROOTCERT");
    char home_root[1024];
    const char *home = getenv("HOME");
    if (root == NULL && home != NULL) { /* libpq's own default */
        snprintf(home_root, sizeof home_root, "%s/.postgresql/root.crt", home);
        if (access(home_root, F_OK) == 0)
            root = home_root;
    }
    /* libpq checks the chain for verify-ca and up, and for require when it has a CA file. */
    int verify = rank >= DSQL_SSL_VERIFY_CA || (rank == DSQL_SSL_REQUIRE && root != NULL);
    const char *negotiation = param(x, "sslnegotiation", "PGSSLNEGOTIATION");
    int direct = negotiation != NULL && strcmp(negotiation, "direct") == 0;
    char where[INET6_ADDRSTRLEN], ca[1100], why[256];
    addr_text(&x->addrs[x->good], where, sizeof where);
    if (root != NULL && strcmp(root, "system") == 0)
        snprintf(ca, sizeof ca, "the system CA store");
    else
        snprintf(ca, sizeof ca, "CA file %s", root != NULL ? root : "(none)");
    report_fact_add(s, "sslmode", "%s", dsql_sslmode_name(rank));
    report_fact_add(s, "ca", "%s", verify ? ca : "(not verified)");

    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    int fd = connect_to(x, x->good);
    if (fd < 0) {
        report_set(s, STEP_FAILED, "cannot connect to %s again (%s): retry", where,
                   strerror(errno));
        goto out;
    }
    if (!direct) {
        static const unsigned char ssl_request[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
        char answer = 0;
        if (write(fd, ssl_request, sizeof ssl_request) != (ssize_t)sizeof ssl_request ||
            read(fd, &answer, 1) != 1) {
            report_set(s, STEP_FAILED,
                       "%s port %s closed the connection when asked for TLS: it is not a "
                       "PostgreSQL server or Aurora DSQL endpoint; check hostaddr and port",
                       where, port_of(x));
            goto out;
        }
        if (answer != 'S') {
            report_set(s, STEP_FAILED,
                       "%s port %s does not offer TLS (it answered '%c' to the request): it is "
                       "not an Aurora DSQL endpoint; check hostaddr and port",
                       where, port_of(x), answer == 'N' ? 'N' : '?');
            goto out;
        }
    }
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        openssl_error(why, sizeof why);
        report_set(s, STEP_FAILED, "OpenSSL failed (%s)", why);
        goto out;
    }
    if (verify) {
        int loaded = root != NULL && strcmp(root, "system") == 0
                         ? SSL_CTX_set_default_verify_paths(ctx)
                         : root != NULL && SSL_CTX_load_verify_locations(ctx, root, NULL);
        if (loaded != 1) {
            openssl_error(why, sizeof why);
            report_set(s, STEP_FAILED,
                       "cannot load %s (%s): set DSQLAUTH_SSLROOTCERT to a readable PEM file "
                       "that holds the CA of the endpoint's certificate (for Aurora DSQL: "
                       "Amazon Root CA 1)",
                       ca, root != NULL ? why : "no CA given");
            goto out;
        }
    }
    /* Verified below, so that a failure can show the chain the server sent. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        openssl_error(why, sizeof why);
        report_set(s, STEP_FAILED, "OpenSSL failed (%s)", why);
        goto out;
    }
    unsigned char probe[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, probe) != 1 && inet_pton(AF_INET6, host, probe) != 1)
        SSL_set_tlsext_host_name(ssl, host);
    if (rank >= DSQL_SSL_VERIFY_FULL)
        SSL_set1_host(ssl, host);
    if (direct)
        SSL_set_alpn_protos(ssl, (const unsigned char *)"\x0apostgresql", 11);
    if (SSL_connect(ssl) != 1) {
        openssl_error(why, sizeof why);
        if (strstr(why, "unrecognized name") != NULL)
            report_set(s, STEP_FAILED,
                       "%s does not serve %s (its TLS answer to the name: %s): the host name and "
                       "where you connect (hostaddr, port, a tunnel) lead to different "
                       "endpoints, or the cluster id is wrong",
                       where, host, why);
        else
            report_set(s, STEP_FAILED,
                       "the TLS handshake with %s failed (%s): the server is not a TLS endpoint "
                       "for %s, or refused this client's TLS versions",
                       where, why, host);
        goto out;
    }
    char chain[1500];
    chain_text(ssl, chain, sizeof chain);
    report_fact_add(s, "chain", "%s", chain);
    report_fact_add(s, "protocol", "%s", SSL_get_version(ssl));
    long vr = SSL_get_verify_result(ssl);
    if (verify && vr == X509_V_ERR_HOSTNAME_MISMATCH) {
        char names[512] = "?";
        X509 *leaf = SSL_get1_peer_certificate(ssl);
        if (leaf != NULL)
            names_of(leaf, names, sizeof names);
        X509_free(leaf);
        report_set(s, STEP_FAILED,
                   "the server's certificate is for %s, not %s: connect with the cluster's "
                   "endpoint name as the host (and its address as hostaddr for a tunnel)",
                   names, host);
    } else if (verify && vr != X509_V_OK) {
        report_set(s, STEP_FAILED,
                   "the server's certificate does not verify against %s (%s); the server sent: "
                   "%s. Point DSQLAUTH_SSLROOTCERT (or PGSSLROOTCERT) at the CA that signed it "
                   "(for Aurora DSQL: Amazon Root CA 1, in the system store)",
                   ca, X509_verify_cert_error_string(vr), chain);
    } else if (verify) {
        report_set(s, STEP_OK, "%s with %s, certificate verified against %s (sslmode=%s)",
                   SSL_get_version(ssl), host, ca, dsql_sslmode_name(rank));
    } else {
        report_set(s, STEP_OK,
                   "%s with %s, certificate NOT verified (sslmode=%s): anyone on the path could "
                   "pose as the endpoint; unset DSQLAUTH_SSLMODE for verify-full",
                   SSL_get_version(ssl), host, dsql_sslmode_name(rank));
    }
out:
    if (ssl != NULL)
        SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
}

/* ---- token: the one the shim would sign, made and wiped, never shown ---------------------- */

static void step_token(struct run *x, report_step *s)
{
    const char *signed_for = dsql_conninfo_signed_for(x->ci);
    const char *user = user_of(x);
    char *token = NULL;
    dsql_error err = {0};
    if (dsql_auth_token_for_host(signed_for, user, &token, &err) != DSQL_OK) {
        report_set(s, STEP_FAILED, "%s", err.message);
        return;
    }
    const char *action =
        strstr(token, "Action=DbConnectAdmin") != NULL ? "DbConnectAdmin" : "DbConnect";
    const char *e = strstr(token, "X-Amz-Expires=");
    long expires = e != NULL ? strtol(e + 14, NULL, 10) : 0;
    dsql_token_free(token);
    report_fact_add(s, "action", "%s", action);
    report_fact_add(s, "signed_for", "%s", signed_for);
    report_fact_add(s, "expires_in", "%ld", expires);
    char note[300] = "";
    const char *pw = param(x, "password", "PGPASSWORD");
    if (pw != NULL && dsql_looks_like_token(pw))
        snprintf(note, sizeof note,
                 "; but a DSQL token is given as the password (PGPASSWORD or password=), and "
                 "the shim logs in with that one instead");
    else if (pw != NULL)
        snprintf(note, sizeof note,
                 "; the password given (PGPASSWORD or password=) is replaced by it, as the shim "
                 "does");
    report_set(s, STEP_OK, "a %s token for %s in %s, valid %ld s (not shown)%s", action, signed_for,
               x->region, expires, note);
}

/* ---- login: through the shim's own connect path ------------------------------------------- */

static void step_login(struct run *x, report_step *s)
{
    x->conn = dsql_connectdb_params(x->kw, x->val, 0);
    if (x->conn == NULL) {
        report_set(s, STEP_FAILED, "out of memory");
        return;
    }
    const char *user = user_of(x);
    if (PQstatus(x->conn) == CONNECTION_OK) {
        const char *version = PQparameterStatus(x->conn, "server_version");
        report_fact_add(s, "server_version", "%s", version != NULL ? version : "");
        report_set(s, STEP_OK, "connected to database %s as %s (server version %s)", PQdb(x->conn),
                   PQuser(x->conn), version != NULL ? version : "unknown");
        return;
    }
    const char *msg = PQerrorMessage(x->conn);
    char words[600], advice[REPORT_TEXT_MAX - 700];
    if (strncmp(msg, "dsqlauth: ", 10) == 0) {
        /* The shim's own refusal, before any I/O: its message says what to do. */
        doctor_server_words(msg + 10, words, sizeof words);
        report_set(s, STEP_FAILED, "%s", words);
        return;
    }
    doctor_server_words(msg, words, sizeof words);
    enum doctor_refusal kind = doctor_translate_login(msg, user, advice, sizeof advice);
    report_fact_add(s, "refusal", "%s", doctor_refusal_name(kind));
    report_fact_add(s, "server", "%s", words);
    const char *pw = param(x, "password", "PGPASSWORD");
    int given = pw != NULL && dsql_looks_like_token(pw);
    report_set(s, STEP_FAILED, "%s%s (the server said: %s)", advice,
               given ? "; the token it refused is the one given as the password, not "
                       "dsqlauth's: unset PGPASSWORD (or drop password=)"
                     : "",
               words);
}

/* ---- search_path: what the role's session got --------------------------------------------- */

static void step_search_path(struct run *x, report_step *s)
{
    PGresult *res = PQexec(x->conn, "select current_setting('search_path'), current_schema()");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        char words[600];
        doctor_server_words(PQerrorMessage(x->conn), words, sizeof words);
        report_set(s, STEP_FAILED, "cannot read search_path (%s)", words);
        PQclear(res);
        return;
    }
    const char *path = PQgetvalue(res, 0, 0);
    const char *user = user_of(x);
    report_fact_add(s, "search_path", "%s", path);
    if (PQgetisnull(res, 0, 1)) {
        report_set(s, STEP_FAILED,
                   "%s: none of its schemas exists or is usable by %s; as admin run CREATE "
                   "SCHEMA %s; GRANT USAGE, CREATE ON SCHEMA %s TO %s (or set DSQLAUTH_SCHEMA "
                   "to a schema %s may use)",
                   path, user, x->settings->schema, x->settings->schema, user, user);
    } else {
        report_fact_add(s, "current_schema", "%s", PQgetvalue(res, 0, 1));
        report_set(s, STEP_OK, "%s (new tables go to %s)", path, PQgetvalue(res, 0, 1));
    }
    PQclear(res);
}

/* ---- the run ------------------------------------------------------------------------------- */

int doctor_run(const doctor_target *t, report *r)
{
    /*
     * Each step runs unless a step it needs did not pass, so that one run shows every cause it
     * can: missing credentials do not hide a port nobody listens on. needs[] are indices of
     * earlier steps (-1 ends the list). TLS needs the region: a cluster id's name is known only
     * with it.
     */
    static const struct {
        const char *name;
        void (*fn)(struct run *, report_step *);
        int needs[3];
    } steps[] = {
        {"endpoint", step_endpoint, {-1}},
        {"credentials", step_credentials, {0, -1}},
        {"region", step_region, {0, -1}},
        {"dns", step_dns, {0, -1}},
        {"tcp", step_tcp, {3, -1}},
        {"tls", step_tls, {4, 2, -1}},
        {"token", step_token, {1, 2, -1}},
        {"login", step_login, {5, 6, -1}},
        {"search_path", step_search_path, {7, -1}},
    };
    const char *cause[sizeof steps / sizeof steps[0]] = {0}; /* the failed step behind each */
    struct run x;
    memset(&x, 0, sizeof x);
    x.t = t;
    x.rewrite_rc = DSQL_ERR_INVALID;
    size_t n = 0;
#define PUT(k, v)                                                                                  \
    do {                                                                                           \
        if ((v) != NULL) {                                                                         \
            x.kw[n] = (k);                                                                         \
            x.val[n++] = (v);                                                                      \
        }                                                                                          \
    } while (0)
    PUT("host", t->host);
    PUT("hostaddr", t->hostaddr);
    PUT("port", t->port);
    PUT("user", t->user);
    PUT("dbname", t->dbname);
    PUT("fallback_application_name", "dsqlauth-doctor");
#undef PUT
    snprintf(r->host, sizeof r->host, "%s", t->host);
    int rc = 1;
    x.settings = dsql_settings_acquire();
    if (x.settings == NULL ||
        dsql_conninfo_from_params(&pq_api, x.settings, x.kw, x.val, 0, &x.ci) != DSQL_OK) {
        report_set(report_begin(r, "endpoint"), STEP_FAILED, "out of memory");
        goto out;
    }
    snprintf(r->user, sizeof r->user, "%s", user_of(&x));
    const char *failed = NULL;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        report_step *s = report_begin(r, steps[i].name);
        for (const int *d = steps[i].needs; *d >= 0 && cause[i] == NULL; d++)
            cause[i] = cause[*d];
        if (cause[i] != NULL) {
            report_set(s, STEP_SKIPPED, "the %s step failed", cause[i]);
            continue;
        }
        steps[i].fn(&x, s);
        if (s->status != STEP_OK) {
            cause[i] = steps[i].name;
            if (failed == NULL)
                failed = steps[i].name;
        }
    }
    r->failed = failed != NULL;
    rc = r->failed;
out:
    if (x.conn != NULL)
        PQfinish(x.conn);
    dsql_credentials_free(x.creds);
    dsql_conninfo_free(x.ci);
    if (x.settings != NULL)
        dsql_settings_release(x.settings);
    return rc;
}
