#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# perl_dbd_pg_client.pl: Perl DBI with DBD::Pg (PQconnectdb from Pg.so) connects with host, user
# and dbname only, then writes a table and reads it back. Usage: perl_dbd_pg_client.pl HOST USER
use strict;
use warnings;
use DBI;

my ($host, $user) = @ARGV;
my $t = "compat_perl_dbd_pg_$user";
my $dbh = DBI->connect("dbi:Pg:host=$host;dbname=postgres", $user, undef,
                       {RaiseError => 1, PrintError => 0, AutoCommit => 1});
my ($u, $sp) = $dbh->selectrow_array("select current_user, current_setting('search_path')");
print "user=$u search_path=$sp\n";
$dbh->do("drop table if exists $t");
$dbh->do("create table $t (id int primary key, v text)");
$dbh->do("insert into $t values (?, ?)", undef, 1, 'hello');
my ($schema) = $dbh->selectrow_array(
    'select table_schema from information_schema.tables where table_name = ?', undef, $t);
print "table_schema=$schema\n";
my ($v) = $dbh->selectrow_array("select v from $t");
print "value=$v\n";
$dbh->do("drop table $t");
$dbh->disconnect;
