"""Study scripts: reproducible studies run through the task runner (each point cached by its hash)."""
