"""The building blocks every domain uses: settings, database, clock, i18n, stored files.

Nothing here imports a domain (tests/test_layers.py checks it)."""
