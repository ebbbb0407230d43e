"""Pure stages over records: extraction, language detection, translation."""
