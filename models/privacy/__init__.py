"""Data protection helpers with no database and no Ray: finding and redacting personal identifiers in text."""
