"""The neutral layer both `carecenter` and `notifications` import: column types, the clock, words."""
