"""One module per output kind; each registers itself with @register_output."""
