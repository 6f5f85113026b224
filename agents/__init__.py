"""Service objects on agents: the agents a leaf knows (`registry`), what they
may say (`validate`), and a reference agent with a library class for writing
agents in Python (`reference`)."""
