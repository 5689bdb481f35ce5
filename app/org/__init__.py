"""The organisation: its settings, teams and sites."""
