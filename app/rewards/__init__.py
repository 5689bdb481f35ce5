"""The rewards shop: rewards admins manage, redemptions members make and editors fulfil."""
