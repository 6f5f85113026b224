"""A cell's own database, one owner for it: how it is opened (`engine`), the
one ordered sequence of schema steps that builds it (`schema`), what every
store writes through (`store`: a transaction, upsert), and how its failures
read (`errors`).

SQLite (the default, in WAL mode) and PostgreSQL run the same code. Each room
declares its own tables, in their current shape, on `schema.metadata`:
routing's in `routing.tables`, the agents' in `agents.tables`, the leaf's
action outcomes in `cells.outcomes`. The schema steps keep their own frozen
copies of the shapes they create, so celldb imports no room.
"""
