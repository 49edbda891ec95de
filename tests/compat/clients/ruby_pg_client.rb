#!/usr/bin/ruby
# SPDX-License-Identifier: MIT
# ruby_pg_client.rb: ruby-pg (PQconnectStartParams and a PQconnectPoll loop in its extension)
# connects with host, user and dbname only, then writes a table and reads it back.
# Usage: ruby_pg_client.rb HOST USER
require 'pg'

host, user = ARGV
t = "compat_ruby_pg_#{user}"
begin
  conn = PG.connect(host: host, user: user, dbname: 'postgres')
  u, sp = conn.exec("select current_user, current_setting('search_path')").values[0]
  puts "user=#{u} search_path=#{sp}"
  conn.exec("drop table if exists #{t}")
  conn.exec("create table #{t} (id int primary key, v text)")
  conn.exec_params("insert into #{t} values ($1, $2)", [1, 'hello'])
  puts 'table_schema=' + conn.exec_params(
    'select table_schema from information_schema.tables where table_name = $1', [t]).getvalue(0, 0)
  puts 'value=' + conn.exec("select v from #{t}").getvalue(0, 0)
  conn.exec("drop table #{t}")
  conn.close
rescue PG::Error => e
  abort "ruby-pg: #{e.message.strip}"
end
