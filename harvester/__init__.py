"""Getting WeChat articles in: links, HTTP, page parsing, Markdown conversion, sources, CLI."""
