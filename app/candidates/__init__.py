"""Candidates: honest click attribution, the activity ledger, applications and referrals."""
