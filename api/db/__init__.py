"""The API's own database: what the API keeps that no cell does, as Nova keeps
an API database. Keypairs (`keypairs`), flavors made by admins with their extra
specs and projects (`flavors`), quota limits and the reservations that make two
API processes agree on the last unit (`quotas`), and which keypair each server
booted before instances kept their key name was booted with (`keypairs.ServerKeys`).

SQLite by default (a file beside the API's config), PostgreSQL when several API
processes serve one cloud (`database_url` in [api]). Engines, transactions and
the translation of database errors are celldb's; the tables (`tables`) and
their ordered schema steps (`schema`) are the API's own.
"""
