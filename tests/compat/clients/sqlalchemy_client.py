#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# sqlalchemy_client.py: SQLAlchemy over psycopg2, from a URL with only user, host and database,
# creates a mapped table, writes a row through the ORM and reads it back (no SAVEPOINT, DDL and
# DML in separate transactions, as DSQL needs). Usage: sqlalchemy_client.py HOST USER
import sys

import sqlalchemy as sa
from sqlalchemy.orm import Session, declarative_base

host, user = sys.argv[1:3]
t = "compat_sqlalchemy_" + user
Base = declarative_base()


class Item(Base):
    __tablename__ = t
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    v = sa.Column(sa.Text)


try:
    engine = sa.create_engine("postgresql+psycopg2://%s@%s/postgres" % (user, host))
    with engine.connect() as c:
        row = c.execute(sa.text("select current_user, current_setting('search_path')")).one()
        print("user=%s search_path=%s" % tuple(row))
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as s, s.begin():
        s.add(Item(id=1, v="hello"))
    with engine.connect() as c:
        print("table_schema=%s" % c.execute(sa.text(
            "select table_schema from information_schema.tables where table_name = :t"),
            {"t": t}).scalar())
    with Session(engine) as s:
        print("value=%s" % s.get(Item, 1).v)
    Base.metadata.drop_all(engine)
    engine.dispose()
except sa.exc.SQLAlchemyError as e:
    sys.exit("sqlalchemy: %s" % str(getattr(e, "orig", e)).strip())
