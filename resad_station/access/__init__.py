"""Who may change what passes: the engineer PIN, its back-off, and the station secret."""
