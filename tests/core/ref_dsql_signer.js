// SPDX-License-Identifier: MIT
// ref_dsql_signer.js: tokens from the AWS SDK for JavaScript's @aws-sdk/dsql-signer, as a reference.
//
// Input lines on stdin as ref_botocore.py reads them; prints one token per line. The signing
// time is fixed by replacing the global Date for the duration of each call, so the signer is
// used exactly as applications use it. With `--bench N` it instead signs N tokens with a warm
// signer and prints "<N> <seconds>" (for tools/bench). NODE_PATH must reach the package.
'use strict';
const { DsqlSigner } = require('@aws-sdk/dsql-signer');

const RealDate = Date;
function withFixedDate(epochMs, fn) {
    class FixedDate extends RealDate {
        constructor(...a) { super(...(a.length ? a : [epochMs])); }
        static now() { return epochMs; }
    }
    global.Date = FixedDate;
    return fn().finally(() => { global.Date = RealDate; });
}

async function token(f) {
    const [host, region, akid, secret, st, expires, admin, epoch] = f;
    const credentials = { accessKeyId: akid, secretAccessKey: secret };
    if (st) credentials.sessionToken = st;
    const signer = new DsqlSigner({ hostname: host, region, credentials, expiresIn: Number(expires) });
    return withFixedDate(Number(epoch) * 1000, () =>
        admin === '1' ? signer.getDbConnectAdminAuthToken() : signer.getDbConnectAuthToken());
}

async function bench(n) {
    const signer = new DsqlSigner({
        hostname: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', region: 'us-east-1',
        credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    });
    for (let i = 0; i < 2000; i++) await signer.getDbConnectAuthToken();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await signer.getDbConnectAuthToken();
    const t1 = process.hrtime.bigint();
    console.log(`${n} ${Number(t1 - t0) / 1e9}`);
}

async function main() {
    if (process.argv[2] === '--bench') return bench(Number(process.argv[3] || 100000));
    const input = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.length);
    for (const line of input) console.log(await token(line.split('\t')));
}
main().catch((e) => { console.error(`ref_dsql_signer: ${e.message}`); process.exit(1); });
