<?php
// SPDX-License-Identifier: MIT
// php_pgsql_client.php: PHP's pgsql extension (pg_connect, PQconnectdb from an extension PHP
// loads RTLD_DEEPBIND) connects with host, user and dbname only, then writes a table and reads
// it back. Usage: php php_pgsql_client.php HOST USER
[, $host, $user] = $argv;
$t = "compat_php_pgsql_$user";
function fail(string $msg): never { fwrite(STDERR, "php-pgsql: " . trim($msg) . "\n"); exit(1); }
function q($c, string $sql, array $params = []) {
    $r = @pg_query_params($c, $sql, $params);
    if ($r === false) fail(pg_last_error($c));
    return $r;
}
$c = @pg_connect("host=$host user=$user dbname=postgres", PGSQL_CONNECT_FORCE_NEW);
if ($c === false) fail(error_get_last()['message'] ?? 'pg_connect failed');
$row = pg_fetch_row(q($c, "select current_user, current_setting('search_path')"));
echo "user=$row[0] search_path=$row[1]\n";
q($c, "drop table if exists $t");
q($c, "create table $t (id int primary key, v text)");
q($c, "insert into $t values ($1, $2)", [1, 'hello']);
echo "table_schema=" . pg_fetch_result(q($c,
    'select table_schema from information_schema.tables where table_name = $1', [$t]), 0, 0) . "\n";
echo "value=" . pg_fetch_result(q($c, "select v from $t"), 0, 0) . "\n";
q($c, "drop table $t");
pg_close($c);
