"""Candidate forums co-hosted by allied groups: one plan, one writer, every co-host in step."""
