"""Service records: one per service delivered (or not), priced when recorded; months are closed."""
