#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# doctor.sh: dsqlauth-doctor against a real dsqlauth-local and the fake metadata server, one
# broken step at a time: no credentials, a failing IMDS, no region, a name that does not resolve,
# nothing listening, a CA that did not sign the server, a token for the wrong role, an expired
# token, a keys mismatch, a name the endpoint does not serve, a token for another cluster, an
# unusable schema; and the happy path as admin, as
# app, through a cluster id and through IMDS. Each asserts the exact step lines and the exit
# status; at the end every byte the doctor printed (text, --json and stderr) is searched for the
# secret keys, the session token and anything shaped like a signature.
#
# Run by `meson test --suite doctor` with DOCTOR, LOCAL, TOKEN and FAKE_AWS set. Prints TAP. Needs
# PostgreSQL's server binaries (for dsqlauth-local), openssl and /usr/bin/python3: a missing one
# is a failure, not a skip. Loopback only.
set -u

. "$(dirname "$0")/../support/tap.sh"

for v in DOCTOR LOCAL TOKEN FAKE_AWS; do
    [ -n "${!v:-}" ] || bail "$v is not set (run through meson test)"
done
for p in openssl /usr/bin/python3; do
    command -v "$p" >/dev/null || bail "$p is missing (tools/bootstrap installs it)"
done

T=$(mktemp -d /tmp/dsqlauth-doctor.XXXXXX) || bail "mktemp"
chmod 755 "$T" # as root, PostgreSQL runs as postgres and must reach the state directory
FAKE_PID=
stop_fake() {
    [ -n "$FAKE_PID" ] || return 0
    exec 8>&-
    kill "$FAKE_PID" 2>/dev/null
    wait "$FAKE_PID" 2>/dev/null
    FAKE_PID=
}
cleanup() {
    stop_fake
    "$LOCAL" stop --dir "$T/local" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
OUT=$T/out # everything the doctor printed: searched for secrets at the end
mkdir -p "$OUT" "$T/home" "$T/local"

# Distinctive secrets; the endpoint trusts this pair (a keys file made before its first start
# is kept), so the environment and the fake IMDS can both serve it.
KEYID=AKIADOCTORTEST000001
KEYRED='****************0001'
SECRET='docSECRETkey0123456789/abcdefghij+KLMNOP'
WRONG='docWRONGkey00123456789/abcdefghij+KLMNOP'
SESSION='docSESSIONtoken//IQoJb3JpZ2luX2VjE+ZGVzdA==0123456789abcdef'
SESSION_ENC=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="-_.~"))' "$SESSION")
printf '# dsqlauth-local keys\n%s %s %s\n' "$KEYID" "$SECRET" "$SESSION" >"$T/local/keys"
chmod 600 "$T/local/keys"
# Failed logins are what this suite is about: no limit on them.
"$LOCAL" start --dir "$T/local" --max-failed-logins 0 >"$T/local-start.log" 2>&1 ||
    bail "dsqlauth-local start failed: $(cat "$T/local-start.log")"
EP=dsqlauthlocaltestcluster00.dsql.us-east-1.on.aws
OTHER=zyxwvutsrqponmlkjihgfedcba.dsql.us-east-1.on.aws
PORT=$(sed -n 's/^port=//p' "$T/local/state")
CA=$T/local/ca.crt

# Only what a user of a real cluster has: credentials, region, where to connect, the CA.
unset PGHOST PGSSLMODE PGUSER PGDATABASE PGSSLROOTCERT PGPASSWORD PGOPTIONS PGAPPNAME PGSERVICE
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_REGION
unset AWS_DEFAULT_REGION AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI
unset AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_CREDENTIAL_EXPIRATION AWS_SECURITY_TOKEN
unset DSQLAUTH_DISABLE DSQLAUTH_SSLMODE DSQLAUTH_TOKEN_EXPIRES DSQLAUTH_HOSTS DSQLAUTH_LOG
unset DSQLAUTH_REGION DSQLAUTH_SCHEMA PGCONNECT_TIMEOUT
export AWS_EC2_METADATA_DISABLED=true HOME=$T/home PGSYSCONFDIR=$T/home
export AWS_ACCESS_KEY_ID=$KEYID AWS_SECRET_ACCESS_KEY=$SECRET AWS_SESSION_TOKEN=$SESSION
export AWS_REGION=us-east-1 PGHOSTADDR=127.0.0.1 PGPORT=$PORT DSQLAUTH_SSLROOTCERT=$CA
noaws=(-u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN)

# doctor NAME [env(1) arguments...] -- [doctor arguments...]: runs the doctor, keeps its
# output in $OUT/NAME.out and .err; sets got and rc.
doctor() {
    local name=$1 envargs=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envargs+=("$1"); shift; done
    shift
    env "${envargs[@]}" "$DOCTOR" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
    rc=$?
    got=$(cat "$OUT/$name.out")
}
# lines NAME: the doctor's output is exactly the lines on standard input; a line that starts
# with '~' is an extended regular expression for its line, any other is literal.
lines() {
    local want i=0 bad=
    mapfile -t want
    mapfile -t have <<<"$got"
    if [ "${#want[@]}" -ne "${#have[@]}" ]; then
        bad="${#have[@]} lines, want ${#want[@]}"
    fi
    for ((i = 0; i < ${#want[@]}; i++)); do
        [ -n "$bad" ] && break
        if [ "${want[i]:0:1}" = "~" ]; then
            printf '%s\n' "${have[i]}" | grep -Eqx -- "${want[i]:1}" ||
                bad="line $((i + 1)): want /${want[i]:1}/"
        elif [ "${want[i]}" != "${have[i]}" ]; then
            bad="line $((i + 1)): want ${want[i]}"
        fi
    done
    if [ -z "$bad" ]; then ok "$1"; else not_ok "$1" "$bad
got:
$got"; fi
}
status() { # NAME WANT
    [ "$rc" -eq "$2" ] && ok "$1: exit status $2" || not_ok "$1: exit status $2" "got $rc"
}
skipped_after() { # STEP, then the names of the steps after it
    local step=$1
    shift
    for s in "$@"; do printf '%-12s skipped: the %s step failed\n' "$s" "$step"; done
}

OK_ENDPOINT="endpoint     ok: $EP is an Aurora DSQL endpoint name"
OK_CREDS="credentials  ok: from the environment (AWS_ACCESS_KEY_ID) for profile 'default' (access key $KEYRED); they do not expire"
OK_REGION="region       ok: us-east-1, from the endpoint name"
OK_DNS="dns          ok: not looked up: libpq connects to hostaddr 127.0.0.1 and uses $EP only for TLS (SNI and the certificate check)"
OK_TCP="tcp          ok: 127.0.0.1 port $PORT accepts connections"
OK_TLS="tls          ok: TLSv1.3 with $EP, certificate verified against CA file $CA (sslmode=verify-full)"
OK_TOKEN_ADMIN="token        ok: a DbConnectAdmin token for $EP in us-east-1, valid 900 s (not shown)"
OK_TOKEN_APP="token        ok: a DbConnect token for $EP in us-east-1, valid 900 s (not shown)"
LOGIN_ADMIN='~login        ok: connected to database postgres as admin \(server version [0-9][^)]*( \([^)]*\))?\)'
LOGIN_APP='~login        ok: connected to database postgres as app \(server version [0-9][^)]*( \([^)]*\))?\)'
GIVEN="; but a DSQL token is given as the password (PGPASSWORD or password=), and the shim logs in with that one instead"

# ---- the command line ------------------------------------------------------------------------
doctor help -- --help
expect_match "--help names every step" "^  search_path  the search_path the role's session gets$" "$got"
status "--help" 0
doctor version -- --version
expect "--version" "dsqlauth-doctor [0-9]+\.[0-9]+\.[0-9]+" "$got"
doctor nohost -u PGHOST -- 
status "no host" 2
expect "no host: says what to give" \
    "dsqlauth-doctor: name the endpoint: dsqlauth-doctor <id>\.dsql\.<region>\.on\.aws \(or set PGHOST\); see --help" \
    "$(cat "$OUT/nohost.err")"
doctor badport -- -p 70000 "$EP"
status "a port out of range" 2
doctor badopt -- --frobnicate "$EP"
status "an unknown option" 2
expect "an unknown option: named" "dsqlauth-doctor: unknown option '--frobnicate'; see --help" \
    "$(cat "$OUT/badopt.err")"

# ---- the happy paths ---------------------------------------------------------------------------
doctor admin -- "$EP"
lines "admin: every step ok" <<EOF
$OK_ENDPOINT
$OK_CREDS
$OK_REGION
$OK_DNS
$OK_TCP
$OK_TLS
$OK_TOKEN_ADMIN
$LOGIN_ADMIN
search_path  ok: "\$user", public (new tables go to public)
result: ok, all 9 steps passed
EOF
status "admin" 0

doctor app -- -U app "$EP"
lines "app: every step ok, search_path myschema" <<EOF
$OK_ENDPOINT
$OK_CREDS
$OK_REGION
$OK_DNS
$OK_TCP
$OK_TLS
$OK_TOKEN_APP
$LOGIN_APP
search_path  ok: myschema (new tables go to myschema)
result: ok, all 9 steps passed
EOF
status "app" 0

doctor app-env -u PGHOSTADDR -u PGPORT PGUSER=app -- --hostaddr 127.0.0.1 --port "$PORT" -h "$EP"
lines "app from PGUSER, --hostaddr and --port as libpq's" <<EOF
$OK_ENDPOINT
$OK_CREDS
$OK_REGION
$OK_DNS
$OK_TCP
$OK_TLS
$OK_TOKEN_APP
$LOGIN_APP
search_path  ok: myschema (new tables go to myschema)
result: ok, all 9 steps passed
EOF

doctor json -- --json -U app "$EP"
status "--json" 0
out=$(/usr/bin/python3 - "$OUT/json.out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
steps = r["steps"]
print(r["ok"], r["failed_step"], r["user"], len(steps), ",".join(s["name"] for s in steps),
      set(s["status"] for s in steps) == {"ok"}, steps[2]["facts"]["region"],
      steps[2]["facts"]["origin"], steps[1]["facts"]["source"], steps[8]["facts"]["search_path"])
PY
)
expect "--json: one object with every step and its facts" \
    "True None app 9 endpoint,credentials,region,dns,tcp,tls,token,login,search_path True us-east-1 the endpoint name env myschema" \
    "$out"

doctor cluster-id -u AWS_REGION -- --region us-east-1 dsqlauthlocaltestcluster00
lines "a cluster id with --region: its endpoint, and the region's origin" <<EOF
endpoint     ok: dsqlauthlocaltestcluster00 is a cluster id; tokens are signed for $EP
$OK_CREDS
region       ok: us-east-1, from --region: the endpoint is $EP
$OK_DNS
$OK_TCP
$OK_TLS
$OK_TOKEN_ADMIN
$LOGIN_ADMIN
search_path  ok: "\$user", public (new tables go to public)
result: ok, all 9 steps passed
EOF

# The fake metadata server: IMDSv2 token, role, then the role's credentials (which the endpoint
# trusts) or an error, by scenario.
fake_imds() { # SCENARIO-JSON: starts it, sets IMDS_URL
    stop_fake
    printf '%s' "$1" >"$T/imds.json"
    : >"$T/imds.port"
    rm -f "$T/imds.in"
    mkfifo "$T/imds.in" || bail "mkfifo"
    # It serves until its standard input closes: a FIFO this script holds open on fd 8.
    /usr/bin/python3 "$FAKE_AWS" --scenario "$T/imds.json" --log "$T/imds.log" --lifetime 120 \
        <"$T/imds.in" >"$T/imds.port" &
    FAKE_PID=$!
    exec 8>"$T/imds.in"
    for _ in $(seq 50); do [ -s "$T/imds.port" ] && break; sleep 0.1; done
    [ -s "$T/imds.port" ] || bail "fake_aws.py did not start"
    IMDS_URL=http://127.0.0.1:$(cat "$T/imds.port")
}
ROLE=/latest/meta-data/iam/security-credentials/
IMDS_TOKEN='{"method":"PUT","path":"/latest/api/token","responses":[{"body":"IMDS-TOKEN"}]}'
IMDS_ROLE='{"path":"'$ROLE'","responses":[{"body":"doctor-role"}]}'
imds=(-u AWS_EC2_METADATA_DISABLED "${noaws[@]}")
fake_imds '{"routes":['"$IMDS_TOKEN,$IMDS_ROLE"',{"path":"'$ROLE'doctor-role","responses":[{"json":{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"'$KEYID'","SecretAccessKey":"'$SECRET'","Token":"'$SESSION'","Expiration":"{{EXPIRATION}}"},"expires_in":21600}]}]}'
doctor imds-ok "${imds[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS_URL" -- "$EP"
lines "credentials from IMDS: the source and when they expire" <<EOF
$OK_ENDPOINT
~credentials  ok: from the instance metadata service \(IMDS\) for profile 'default' \(access key \*{16}0001\); they expire at [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z \(in (5 h 59|6 h 0) min\)
$OK_REGION
$OK_DNS
$OK_TCP
$OK_TLS
$OK_TOKEN_ADMIN
$LOGIN_ADMIN
search_path  ok: "\$user", public (new tables go to public)
result: ok, all 9 steps passed
EOF

# ---- one broken step at a time ----------------------------------------------------------------
doctor nocreds "${noaws[@]}" -- "$EP"
lines "no credentials: the chain's reason, the steps that need none still run" <<EOF
$OK_ENDPOINT
credentials  FAILED: no AWS credentials found for profile 'default': set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure the profile in $T/home/.aws/config or $T/home/.aws/credentials (aws configure)
$OK_REGION
$OK_DNS
$OK_TCP
$OK_TLS
$(skipped_after credentials token login search_path)
result: FAILED at credentials
EOF
status "no credentials" 1

fake_imds '{"routes":['"$IMDS_TOKEN,$IMDS_ROLE"',{"path":"'$ROLE'doctor-role","responses":[{"status":503,"body":"busy"}]}]}'
doctor imds-503 "${imds[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT="$IMDS_URL" -- "$EP"
lines "IMDS failing: its step and status" <<EOF
$OK_ENDPOINT
credentials  FAILED: IMDS: role credentials: HTTP 503
$OK_REGION
$OK_DNS
$OK_TCP
$OK_TLS
$(skipped_after credentials token login search_path)
result: FAILED at credentials
EOF
status "IMDS failing" 1

doctor noregion -u AWS_REGION -- dsqlauthlocaltestcluster00
lines "no region: what to set; what needs the region skipped" <<EOF
endpoint     ok: dsqlauthlocaltestcluster00 is a cluster id
$OK_CREDS
region       FAILED: cluster id dsqlauthlocaltestcluster00: no region: pass one (--region), set AWS_REGION, set region in profile 'default' (aws configure), or use the endpoint <id>.dsql.<region>.on.aws
dns          ok: not looked up: libpq connects to hostaddr 127.0.0.1 and uses dsqlauthlocaltestcluster00 only for TLS (SNI and the certificate check)
$OK_TCP
$(skipped_after region tls token login search_path)
result: FAILED at region
EOF
status "no region" 1

doctor notdsql -- db.example.com
lines "a host the shim would not touch" <<EOF
endpoint     FAILED: db.example.com is not an Aurora DSQL endpoint to the shim, which passes it to libpq untouched: use the cluster's endpoint <id>.dsql.<region>.on.aws or its id, or list the name in DSQLAUTH_HOSTS
$(skipped_after endpoint credentials region dns tcp tls token login search_path)
result: FAILED at endpoint
EOF

doctor dns -u PGHOSTADDR DSQLAUTH_HOSTS='*.invalid' -- nothing.invalid
lines "a name that does not resolve" <<EOF
endpoint     ok: nothing.invalid is a name listed in DSQLAUTH_HOSTS
$OK_CREDS
region       ok: us-east-1, from AWS_REGION
~dns          FAILED: nothing\.invalid (does not resolve \(Name or service not known\): check the name, or give hostaddr \(the address to connect to\) with the endpoint name as the host|could not be looked up \(.*\): this machine's DNS did not answer; check /etc/resolv\.conf and the network)
$(skipped_after dns tcp tls)
token        ok: a DbConnectAdmin token for nothing.invalid in us-east-1, valid 900 s (not shown)
$(skipped_after dns login search_path)
result: FAILED at dns
EOF
status "a name that does not resolve" 1

FREE=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
doctor tcp -- -p "$FREE" "$EP"
lines "nothing listening on the port" <<EOF
$OK_ENDPOINT
$OK_CREDS
$OK_REGION
$OK_DNS
tcp          FAILED: nothing listens on 127.0.0.1 port $FREE (Connection refused): check the port (Aurora DSQL's is 5432) and, for a tunnel (SSM or SSH port forwarding), that it is running and listening there
$(skipped_after tcp tls)
$OK_TOKEN_ADMIN
$(skipped_after tcp login search_path)
result: FAILED at tcp
EOF
status "nothing listening" 1

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=another CA" \
    -keyout "$T/other-ca.key" -out "$T/other-ca.crt" -days 2 >/dev/null 2>&1 || bail "openssl req"
doctor tls DSQLAUTH_SSLROOTCERT="$T/other-ca.crt" -- "$EP"
lines "a CA that did not sign the server: the file tried and the server's chain" <<EOF
$OK_ENDPOINT
$OK_CREDS
$OK_REGION
$OK_DNS
$OK_TCP
tls          FAILED: the server's certificate does not verify against CA file $T/other-ca.crt (unable to get local issuer certificate); the server sent: [0] CN=$EP,O=dsqlauth-local (issued by CN=dsqlauth-local CA,O=dsqlauth-local). Point DSQLAUTH_SSLROOTCERT (or PGSSLROOTCERT) at the CA that signed it (for Aurora DSQL: Amazon Root CA 1, in the system store)
$OK_TOKEN_ADMIN
$(skipped_after tls login search_path)
result: FAILED at tls
EOF
status "a CA that did not sign the server" 1

doctor tls-name -- "$OTHER"
lines "an endpoint that does not serve the name" <<EOF
endpoint     ok: $OTHER is an Aurora DSQL endpoint name
$OK_CREDS
$OK_REGION
dns          ok: not looked up: libpq connects to hostaddr 127.0.0.1 and uses $OTHER only for TLS (SNI and the certificate check)
$OK_TCP
tls          FAILED: 127.0.0.1 does not serve $OTHER (its TLS answer to the name: tlsv1 unrecognized name): the host name and where you connect (hostaddr, port, a tunnel) lead to different endpoints, or the cluster id is wrong
token        ok: a DbConnectAdmin token for $OTHER in us-east-1, valid 900 s (not shown)
$(skipped_after tls login search_path)
result: FAILED at tls
EOF

ADMIN_TOKEN=$("$LOCAL" token --dir "$T/local")
doctor wrong-role PGPASSWORD="$ADMIN_TOKEN" -- -U app "$EP"
lines "a token for the wrong role" <<EOF
$OK_ENDPOINT
$OK_CREDS
$OK_REGION
$OK_DNS
$OK_TCP
$OK_TLS
$OK_TOKEN_APP$GIVEN
login        FAILED: the token's action does not fit role app: admin needs a DbConnectAdmin token and every other role a DbConnect token. dsqlauth signs the right one for the user it connects as, so a token passed as the password (PGPASSWORD, password=) was made for another role: remove it; the token it refused is the one given as the password, not dsqlauth's: unset PGPASSWORD (or drop password=) (the server said: password authentication failed for user "app": wrong action for role app: it needs DbConnect, the token has DbConnectAdmin)
search_path  skipped: the login step failed
result: FAILED at login
EOF
status "a token for the wrong role" 1
doctor wrong-role-json PGPASSWORD="$ADMIN_TOKEN" -- --json -U app "$EP"
out=$(/usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["ok"], r["failed_step"], r["steps"][7]["facts"]["refusal"], r["steps"][8]["status"])' "$OUT/wrong-role-json.out")
expect "--json: the failed step and DSQL's answer, translated" "False login wrong-action skipped" "$out"
status "--json on failure" 1

OLD_TOKEN=$("$LOCAL" token --dir "$T/local" --signing-time $(($(date +%s) - 2000)))
doctor expired PGPASSWORD="$OLD_TOKEN" -- "$EP"
lines "an expired token" <<EOF
$OK_ENDPOINT
$OK_CREDS
$OK_REGION
$OK_DNS
$OK_TCP
$OK_TLS
$OK_TOKEN_ADMIN$GIVEN
~login        FAILED: the server found the token \(or the role session that signed it\) expired; dsqlauth signs a fresh one per connection, so check this machine's clock \(timedatectl; NTP\), DSQLAUTH_TOKEN_EXPIRES, that the credentials have not expired \(aws sts get-caller-identity\), and that no old token is passed as the password; the token it refused is the one given as the password, not dsqlauth's: unset PGPASSWORD \(or drop password=\) \(the server said: password authentication failed for user "admin": token expired 1[0-9]{3} s ago\)
search_path  skipped: the login step failed
result: FAILED at login
EOF
status "an expired token" 1

doctor mismatch AWS_SECRET_ACCESS_KEY="$WRONG" -- "$EP"
lines "keys the cluster does not accept" <<EOF
$OK_ENDPOINT
$OK_CREDS
$OK_REGION
$OK_DNS
$OK_TCP
$OK_TLS
$OK_TOKEN_ADMIN
login        FAILED: the cluster does not accept these credentials for admin: their IAM identity needs dsql:DbConnectAdmin on this cluster (check the IAM policy, the cluster's resource policy, and that the keys belong to the cluster's account: aws sts get-caller-identity) (the server said: password authentication failed for user "admin": signature mismatch)
search_path  skipped: the login step failed
result: FAILED at login
EOF
status "keys the cluster does not accept" 1

# A token for another cluster, signed with the right keys (dsqlauth-token, as a user might).
OTHER_TOKEN=$("$TOKEN" --hostname "$OTHER" --admin) || bail "dsqlauth-token failed"
doctor other-cluster PGPASSWORD="$OTHER_TOKEN" -- "$EP"
lines "a token for another cluster" <<EOF
$OK_ENDPOINT
$OK_CREDS
$OK_REGION
$OK_DNS
$OK_TCP
$OK_TLS
$OK_TOKEN_ADMIN$GIVEN
login        FAILED: the endpoint that answered is not the cluster the token names: the host name and where you connect (hostaddr, port, a tunnel) lead to different clusters, or the cluster id is wrong; check both (aws dsql get-cluster); the token it refused is the one given as the password, not dsqlauth's: unset PGPASSWORD (or drop password=) (the server said: password authentication failed for user "admin": token is for host $OTHER, not $EP)
search_path  skipped: the login step failed
result: FAILED at login
EOF

doctor schema DSQLAUTH_SCHEMA=nosuch -- -U app "$EP"
lines "a search_path with no usable schema" <<EOF
$OK_ENDPOINT
$OK_CREDS
$OK_REGION
$OK_DNS
$OK_TCP
$OK_TLS
$OK_TOKEN_APP
$LOGIN_APP
search_path  FAILED: nosuch: none of its schemas exists or is usable by app; as admin run CREATE SCHEMA nosuch; GRANT USAGE, CREATE ON SCHEMA nosuch TO app (or set DSQLAUTH_SCHEMA to a schema app may use)
result: FAILED at search_path
EOF
status "a search_path with no usable schema" 1

# ---- no secret in any output -------------------------------------------------------------------
needles=$T/needles
printf '%s\n' "$SECRET" "$WRONG" "$SESSION" "$SESSION_ENC" "X-Amz-" "$ADMIN_TOKEN" \
    "${ADMIN_TOKEN##*X-Amz-Signature=}" "$OLD_TOKEN" "${OLD_TOKEN##*X-Amz-Signature=}" \
    "$OTHER_TOKEN" "${OTHER_TOKEN##*X-Amz-Signature=}" >"$needles"
nfiles=$(find "$OUT" -type f | wc -l)
[ "$nfiles" -ge 40 ] && ok "searching all $nfiles outputs (text, --json, stderr)" ||
    not_ok "searching all $nfiles outputs (text, --json, stderr)"
hits=$(grep -laF -f "$needles" "$OUT"/* 2>/dev/null)
[ -z "$hits" ] && ok "no secret key, session token or token in any output" ||
    not_ok "no secret key, session token or token in any output" "found in: $hits"
# A signature is 64 lower-case hex digits: nothing of the kind is printed at all.
hits=$(grep -laE '[0-9a-f]{64}' "$OUT"/* 2>/dev/null)
[ -z "$hits" ] && ok "nothing shaped like a signature in any output" ||
    not_ok "nothing shaped like a signature in any output" "found in: $hits"
# The search works: the secrets are where they belong.
grep -qF "$SECRET" "$T/local/keys" && printf '%s' "$ADMIN_TOKEN" | grep -qE '[0-9a-f]{64}' &&
    ok "the search finds them where they belong" || not_ok "the search finds them where they belong"

echo "1..$n"
exit $((failed > 0))
