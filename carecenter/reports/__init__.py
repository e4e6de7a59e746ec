"""The monthly report a center sends the civil-affairs office, and a resident's monthly statement."""
