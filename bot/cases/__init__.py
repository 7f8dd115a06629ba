"""Handoff cases outside the flows: business hours, when an unclaimed case's SLA falls due, and routing."""
