"""Signed webhooks for partner clients (Standard Webhooks), sent from a transactional outbox."""
