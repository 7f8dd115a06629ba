"""Slack: customers in DMs, mentions and Slack Connect threads; strategists' case cards in the triage channel;
agents' hand-off shortcut, /connectbot and App Home.

    convert.py   Slack payloads -> Inbound (pure)          blocks.py  Outbound -> Block Kit (pure)
    cards.py     the case card (pure)                      store.py   posts, cards, lookups
    bolt.py      the AsyncApp and its listeners (ack, then a task)
    handler.py   the tasks: turns, button presses, strategist actions
    agents.py    shortcut, modal, slash command, App Home
    routes.py    POST /slack/events (signature first)      target.py  outbox delivery to Slack
    socket.py    Socket Mode for local development
"""
