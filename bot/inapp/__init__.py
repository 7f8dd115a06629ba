"""The in-app chat: the widget's page and its JSON API live in bot/web.py; assets live here."""
