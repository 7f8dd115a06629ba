"""The in-app chat: the widget's JSON API and its page."""
