"""Integrations: the company's own systems calling Relay (SCIM provisioning from the identity
provider now; single sign-on and the ATS's API later), each with its own integration tokens."""
