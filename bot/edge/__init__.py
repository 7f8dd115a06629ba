"""The public edge of the web process: refusals as short JSON, body limits, rate limits, security headers."""
