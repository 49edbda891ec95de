<?php
// SPDX-License-Identifier: MIT
// php_pdo_client.php: PHP's PDO_PGSQL (PQconnectdb from an extension PHP loads RTLD_DEEPBIND)
// connects with host, user and dbname only, then writes a table and reads it back.
// Usage: php php_pdo_client.php HOST USER
[, $host, $user] = $argv;
$t = "compat_php_pdo_$user";
try {
    $db = new PDO("pgsql:host=$host;dbname=postgres", $user, null,
                  [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
    $row = $db->query("select current_user, current_setting('search_path')")->fetch(PDO::FETCH_NUM);
    echo "user=$row[0] search_path=$row[1]\n";
    $db->exec("drop table if exists $t");
    $db->exec("create table $t (id int primary key, v text)");
    $db->prepare("insert into $t values (?, ?)")->execute([1, 'hello']);
    $s = $db->prepare('select table_schema from information_schema.tables where table_name = ?');
    $s->execute([$t]);
    echo "table_schema=" . $s->fetchColumn() . "\n";
    echo "value=" . $db->query("select v from $t")->fetchColumn() . "\n";
    $db->exec("drop table $t");
} catch (PDOException $e) {
    fwrite(STDERR, "php-pdo: " . trim($e->getMessage()) . "\n");
    exit(1);
}
