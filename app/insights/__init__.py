"""Insights: what the programme produces, read from daily rollups of the activity ledger."""
