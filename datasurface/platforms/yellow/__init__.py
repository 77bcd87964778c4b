"""The Yellow platform: Postgres staging, live (SCD1) and forensic (SCD2) merge tables.

The SQL core is model-independent and split one concept per module:

- `naming`: every physical name (tables, indexes, views, metadata tables).
- `projection`: model types to Postgres types; staging and merge table DDL; schema evolution.
- `hashing`: the key and all-columns row hashes, computed in SQL.
- `staging`: streaming a source table into staging, in keyset chunks.
- `merge`: set-based live and forensic merges of one batch.
- `batch_metadata`: per-platform batch table and the pydantic `BatchState`.
"""
