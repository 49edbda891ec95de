#!/usr/bin/tclsh
# SPDX-License-Identifier: MIT
# pgtcl_client.tcl: Tcl's pgtcl (pg_connect -conninfo, PQconnectdb from the package Tcl loads)
# connects with host, user and dbname only, then writes a table and reads it back.
# Usage: tclsh pgtcl_client.tcl HOST USER
package require Pgtcl

lassign $argv host user
set t compat_pgtcl_$user
if {[catch {pg_connect -conninfo "host=$host user=$user dbname=postgres"} conn]} {
    puts stderr "pgtcl: [string trim $conn]"
    exit 1
}
# q SQL: the rows of SQL as a list of lists; exits on an error.
proc q {sql} {
    global conn
    set r [pg_exec $conn $sql]
    if {[pg_result $r -status] ni {PGRES_TUPLES_OK PGRES_COMMAND_OK}} {
        puts stderr "pgtcl: [string trim [pg_result $r -error]]"
        exit 1
    }
    set rows [pg_result $r -llist]
    pg_result $r -clear
    return $rows
}
lassign [lindex [q "select current_user, current_setting('search_path')"] 0] u sp
puts "user=$u search_path=$sp"
q "drop table if exists $t"
q "create table $t (id int primary key, v text)"
q "insert into $t values (1, 'hello')"
puts "table_schema=[lindex [q "select table_schema from information_schema.tables\
    where table_name = '$t'"] 0 0]"
puts "value=[lindex [q "select v from $t"] 0 0]"
q "drop table $t"
pg_disconnect $conn
