"""The services a center offers: names in both languages, category, unit and price (data, per center)."""
