"""Pages by what the user does; each module has its own `router`."""
