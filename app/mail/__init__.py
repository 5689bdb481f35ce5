"""Outgoing mail: a row first (:class:`app.mail.tables.MailOutbox`), sent afterwards by
:func:`app.mail.service.deliver_due`."""
