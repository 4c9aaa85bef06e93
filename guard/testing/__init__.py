"""Real test peers: a scripted OpenAI-compatible upstream server."""
