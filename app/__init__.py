"""Relay: self-hostable employee advocacy and referrals."""

import os

os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")
