"""Scripted runs of the station (reproducible measurements); each module runs with python -m."""
