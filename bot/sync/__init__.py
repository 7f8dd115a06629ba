"""First-sync status from the platform: a signed webhook, an HTTP poller, or a simulated platform.

All three end in `Engine.report_sync`, which checks the report against the connection's stored
status (no going backwards) and runs the conversation's turn and the row update in one transaction.
"""
