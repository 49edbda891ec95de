// SPDX-License-Identifier: MIT
// libpqxx_client.cpp: libpqxx (pqxx::connection, PQconnectdb inside libpqxx) connects with host,
// user and dbname only, then writes a table in a transaction and reads it back.
// Usage: libpqxx_client HOST USER
#include <pqxx/pqxx>

#include <iostream>
#include <string>

int main(int argc, char **argv)
{
    if (argc != 3) {
        std::cerr << "usage: libpqxx_client HOST USER\n";
        return 2;
    }
    const std::string host = argv[1], user = argv[2], t = "compat_libpqxx_" + user;
    try {
        pqxx::connection c("host=" + host + " user=" + user + " dbname=postgres");
        {
            pqxx::nontransaction n(c);
            pqxx::row r = n.exec1("select current_user, current_setting('search_path')");
            std::cout << "user=" << r[0].c_str() << " search_path=" << r[1].c_str() << "\n";
            n.exec0("drop table if exists " + t);
            n.exec0("create table " + t + " (id int primary key, v text)");
        }
        {
            pqxx::work w(c); // BEGIN, INSERT, COMMIT: the row in a transaction of its own
            w.exec0("insert into " + t + " values (1, 'hello')");
            w.commit();
        }
        pqxx::nontransaction n(c);
        std::cout << "table_schema="
                  << n.exec1("select table_schema from information_schema.tables "
                             "where table_name = " + n.quote(t))[0].c_str() << "\n";
        std::cout << "value=" << n.exec1("select v from " + t)[0].c_str() << "\n";
        n.exec0("drop table " + t);
    } catch (const std::exception &e) {
        std::cerr << "libpqxx: " << e.what();
        return 1;
    }
    return 0;
}
