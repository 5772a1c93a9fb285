"""The web site: server-rendered pages (Jinja2) in English and Chinese, no JavaScript needed."""
