"""The Faker-driven change simulator for the sandbox's customer database.

One concept per module:

- ``schema``      the customers / addresses tables of the example model
- ``operations``  the kinds of change and their weights (``--weights``)
- ``clock``       simulated time: no wall-clock value ever reaches the data
- ``ids``         deterministic ids (``c000001``, ``a000001``) continuing after existing ones
- ``fake_data``   Faker values, seeded per locale
- ``state``       the in-memory index of existing rows, in a deterministic order
- ``planner``     the next change, keeping the integrity rules
- ``writer``      idempotent SQL for a change set (safe to write again after a reconnect)
- ``connection``  one connection that retries with back-off when the database goes away
- ``integrity``   the integrity rules checked in SQL
- ``source``      which database: ``--url`` or the model's datastore source and credential
- ``progress``    progress on stderr; ``summary``: what a run did
- ``runner``      the run loop: set up, bulk-load, change, report

The command line is ``datasurface simulate`` (``datasurface/commands/simulate.py``), also
available as ``python -m simulator``.
"""
