"""Topics, trends and competitors in brand mentions: online clustering with readable labels, emerging-topic
and crisis detection, brand and alias matching. Pure functions and small state objects: no Ray, no database."""
