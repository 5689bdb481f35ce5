"""The activity ledger: what happened, once (shares, clicks, applications, stages…)."""
