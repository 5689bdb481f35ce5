"""Leaderboards and the wall of fame."""
