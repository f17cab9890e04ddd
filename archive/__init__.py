"""Keeping WeChat articles: files on disk, the SQLite index, the Datasette plugin."""
