"""Text handling the text models share: sentences and chunks, language, aspects."""
