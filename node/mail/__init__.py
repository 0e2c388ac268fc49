"""Email from the node: a queue in the database, sent by the delivery worker.

A message is queued in the same transaction as the change it tells about (an RSVP, an
invitation), so it is never lost and no request waits on a mail server. The worker's round
(``MailDispatcher.run_once``, one of ``DeliveryWorker.drains``) sends what is due through the
configured transport: the node's SMTP server, or, when none is set (the demo, a laptop), the
mail folder in the data directory, which admins read on the ``/mail`` page.
"""
