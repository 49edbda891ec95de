#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# botocore_xcheck.py: for every case of the ~/.aws corpus, asks Debian's botocore (standard
# library + botocore only) which access key id and region it resolves, asks our chain the same
# through creds_probe, and checks that both agree with each other and with the case's expect
# file. Prints TAP. botocore never reaches the network: IMDS is disabled, the container
# variables are unset, and HOME points into the case's temporary directory.
#
# Usage: botocore_xcheck.py CORPUS_DIR PROBE_EXECUTABLE
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import botocore.session
except ImportError:
    print("Bail out! botocore is not installed (apt-get install python3-botocore)")
    sys.exit(1)


def prepare(case_dir, tmp):
    """Copies the case into tmp, replacing @DIR@ with tmp in every file."""
    for root, _dirs, names in os.walk(case_dir):
        for name in names:
            if name in ("README", "env", "expect"):
                continue
            src = os.path.join(root, name)
            dst = os.path.join(tmp, os.path.relpath(src, case_dir))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(src, "rb") as f:
                data = f.read().replace(b"@DIR@", tmp.encode())
            with open(dst, "wb") as f:
                f.write(data)
            shutil.copymode(src, dst)


def read_pairs(path, tmp):
    pairs = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line and not line.startswith("#"):
                    k, _, v = line.partition("=")
                    pairs.append((k, v.replace("@DIR@", tmp)))
    return pairs


def case_environ(tmp, env_pairs):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "HOME": tmp,
        "AWS_CONFIG_FILE": os.path.join(tmp, "config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "BOTO_CONFIG": os.path.join(tmp, "no-boto-config"),
    })
    env.pop("DSQLAUTH_LOG", None)
    env.update(dict(env_pairs))
    return env


def botocore_answer(env, profile):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        try:
            creds = botocore.session.Session(profile=profile).get_credentials()
            key = "none" if creds is None else creds.get_frozen_credentials().access_key
        except Exception as e:  # every botocore failure is "error" here
            key = "error: %s: %s" % (type(e).__name__, e)
        try:
            region = botocore.session.Session(profile=profile).get_config_variable("region")
            region = "none" if region is None else region
        except Exception as e:
            region = "error: %s: %s" % (type(e).__name__, e)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return key, region


def probe_answer(probe, env, profile):
    args = [probe] + ([profile] if profile is not None else [])
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60).stdout
    got = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return got.get("credentials", "missing"), got.get("region", "missing")


# The kind of failure on each side: botocore's exception class, our message's wording.
BOTOCORE_CLASSES = {
    "ProfileNotFound": "profile-not-found",
    "ConfigParseError": "malformed-file",
    "PartialCredentialsError": "partial-credentials",
    "CredentialRetrievalError": "process-failed",
}
OUR_CLASSES = [
    (re.compile(r"^profile '.*' not found in "), "profile-not-found"),
    (re.compile(r": line \d+: "), "malformed-file"),
    (re.compile(r"(is set but .* is not|has aws_access_key_id but no)"), "partial-credentials"),
    (re.compile(r"^credential_process: "), "process-failed"),
]


def kind(answer):
    return "error" if answer.startswith("error") else answer


def error_class(answer, botocore_side):
    if not answer.startswith("error: "):
        return None
    text = answer[len("error: "):]
    if botocore_side:
        return BOTOCORE_CLASSES.get(text.split(":", 1)[0], "other")
    for pattern, name in OUR_CLASSES:
        if pattern.search(text):
            return name
    return "other"


def main():
    corpus, probe = sys.argv[1], os.path.abspath(sys.argv[2])
    for var in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        os.environ.pop(var, None)
    cases = sorted(d for d in os.listdir(corpus) if os.path.isdir(os.path.join(corpus, d)))
    print("1..%d" % len(cases))
    failed = 0
    for n, name in enumerate(cases, 1):
        tmp = tempfile.mkdtemp(prefix="dsql-xcheck-")
        try:
            prepare(os.path.join(corpus, name), tmp)
            env_pairs = read_pairs(os.path.join(corpus, name, "env"), tmp)
            expect = dict(read_pairs(os.path.join(corpus, name, "expect"), tmp))
            profile = expect.get("profile_arg")
            env = case_environ(tmp, env_pairs)
            b_key, b_region = botocore_answer(env, profile)
            o_key, o_region = probe_answer(probe, env, profile)
            problems = []
            if kind(b_key) != kind(o_key):
                problems.append("credentials: botocore %r, ours %r" % (b_key, o_key))
            elif error_class(b_key, True) != error_class(o_key, False):
                problems.append("credentials: botocore fails as %s, ours as %s (%r)" % (
                    error_class(b_key, True), error_class(o_key, False), o_key))
            want_key = expect.get("access_key") or expect.get("credentials")
            if "error" in expect:
                want_key = "error"
            if want_key is not None and kind(o_key) != want_key:
                problems.append("credentials: expected %r, ours %r" % (want_key, o_key))
            # Where we differ from botocore on purpose the case says what botocore yields.
            b_want = expect.get("botocore_region")
            if b_want is not None:
                if b_region != b_want:
                    problems.append("region: botocore %r, case says %r" % (b_region, b_want))
            elif kind(b_region) != kind(o_region):
                problems.append("region: botocore %r, ours %r" % (b_region, o_region))
            elif error_class(b_region, True) != error_class(o_region, False):
                problems.append("region: botocore fails as %s, ours as %s (%r)" % (
                    error_class(b_region, True), error_class(o_region, False), o_region))
            want_region = expect.get("region")
            if "region_error" in expect:
                want_region = "error"
            if want_region is not None and kind(o_region) != want_region:
                problems.append("region: expected %r, ours %r" % (want_region, o_region))
            if problems:
                failed += 1
                print("not ok %d - %s" % (n, name))
                for p in problems:
                    print("#   " + p)
            else:
                print("ok %d - %s (key %s, region %s)" % (
                    n, name, error_class(o_key, False) or o_key,
                    error_class(o_region, False) or o_region))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
