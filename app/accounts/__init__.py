"""Members, their passkeys, invitations and sessions."""
