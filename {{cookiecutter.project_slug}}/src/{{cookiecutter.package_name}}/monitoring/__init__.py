"""After deploy: what the service records about its traffic (live/, shipped in the Bento), and what reads it."""
