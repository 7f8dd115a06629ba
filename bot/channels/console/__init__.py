"""The support console: staff sign in with OpenID Connect, see the queue and conversations, and act on cases."""
