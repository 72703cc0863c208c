"""Content reach: predicts a post's engagement at publish time from its text, its timing and the author's history."""
