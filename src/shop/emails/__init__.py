"""Customer emails: one handler per outbox event of API.md's email table, with its templates."""
