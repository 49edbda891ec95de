// SPDX-License-Identifier: MIT
// pg_native_client.js: node's pg-native (its `libpq` addon calls PQconnectdb on libuv's thread
// pool) connects with host, user and dbname only, then writes a table and reads it back.
// Usage: node pg_native_client.js HOST USER (NODE_PATH names the installed node_modules)
'use strict';
const Client = require('pg-native');

const [host, user] = process.argv.slice(2);
const t = `compat_pg_native_${user}`;
const c = new Client();
c.connect(`host=${host} user=${user} dbname=postgres`, (err) => {
  if (err) {
    console.error('pg-native: ' + err.message.trim());
    process.exit(1);
  }
  try {
    const q = (sql, params) => c.querySync(sql, params || []);
    const r = q("select current_user as u, current_setting('search_path') as sp")[0];
    console.log(`user=${r.u} search_path=${r.sp}`);
    q(`drop table if exists ${t}`);
    q(`create table ${t} (id int primary key, v text)`);
    q(`insert into ${t} values ($1, $2)`, [1, 'hello']);
    console.log('table_schema=' + q('select table_schema from information_schema.tables ' +
                                    'where table_name = $1', [t])[0].table_schema);
    console.log('value=' + q(`select v from ${t}`)[0].v);
    q(`drop table ${t}`);
  } catch (e) {
    console.error('pg-native: ' + e.message.trim());
    process.exit(1);
  }
  c.end();
});
