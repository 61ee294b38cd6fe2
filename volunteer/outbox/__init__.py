"""The transactional outbox: every message to a person (in-app notice, e-mail, SMS, WeChat
template) is written in the same transaction as the change that causes it, and sent only after
the commit by a delivery worker (``flask --app wsgi deliver``, or a thread of the web process).

A rollback sends nothing; an outage loses nothing; a worker that dies between sending and
marking a message sent sends it at most once more (at-least-once delivery).
"""
