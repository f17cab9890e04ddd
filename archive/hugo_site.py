"""The fixed parts of an exported Hugo site: where things go, and the scaffold.

Pages go under content/posts/ (see `archive.names.page_relpath`), images under
static/images/. The config and layouts (`SCAFFOLD`) are created only when the site has
no Hugo config at all and are never overwritten. Every path written goes through
`inside_site`, so nothing can land outside SITE_DIR.
"""

from __future__ import annotations

from pathlib import Path

from archive.errors import InputError
from archive.files import resolve_inside, write_atomic

STATIC_IMAGES = "static/images"

CONFIG_FILES = (
    "hugo.toml",
    "hugo.yaml",
    "hugo.yml",
    "hugo.json",
    "config.toml",
    "config.yaml",
    "config.yml",
    "config.json",
)
CONFIG_DIRS = ("config",)

HUGO_TOML = """\
# Written by `harvester export hugo` for a new site; yours to edit, never overwritten.
baseURL = "/"
title = "公众号文章存档"
defaultContentLanguage = "zh"
hasCJKLanguage = true
# Pages link images as /images/...; relative URLs make that work below a sub-path
# and when the built site is opened from disk.
relativeURLs = true
canonifyURLs = false
# Archived articles are never "future" posts; keep a clock skew from hiding one.
buildFuture = true

[taxonomies]
  tag = "tags"
  category = "categories"

[markup.goldmark.renderer]
  unsafe = false
"""

BASEOF_HTML = """\
<!DOCTYPE html>
<html lang="{{ site.Language.Lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ if .IsHome }}{{ site.Title }}{{ else }}{{ .Title }} · {{ site.Title }}{{ end }}</title>
{{- with .Description }}
<meta name="description" content="{{ . }}">
{{- end }}
<style>
body { max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.7;
       font-family: system-ui, -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; }
img { max-width: 100%; height: auto; }
pre { overflow-x: auto; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .2rem .5rem; }
.meta, .terms { color: #666; font-size: .9rem; }
</style>
</head>
<body>
<header><a href="{{ site.Home.RelPermalink }}">{{ site.Title }}</a>
 · <a href="{{ "tags/" | relURL }}">标签</a>
 · <a href="{{ "categories/" | relURL }}">分类</a></header>
<main>
{{ block "main" . }}{{ end }}
</main>
</body>
</html>
"""

SINGLE_HTML = """\
{{ define "main" }}
<article>
<h1>{{ .Title }}</h1>
<p class="meta">
{{- with .Params.account }}{{ . }} · {{ end -}}
<time datetime="{{ .Date.Format "2006-01-02T15:04:05-07:00" }}">
{{- .Date.Format "2006-01-02 15:04" }}</time>
{{- with .Params.author }} · {{ . }}{{ end -}}
{{- with .Params.status }}{{ if ne . "live" }} · <strong>{{ . }}</strong>{{ end }}{{ end -}}
</p>
{{ .Content }}
<p class="terms">
{{- range .GetTerms "tags" }}<a href="{{ .RelPermalink }}">#{{ .LinkTitle }}</a> {{ end -}}
{{- range .GetTerms "categories" }}<a href="{{ .RelPermalink }}">[{{ .LinkTitle }}]</a> {{ end -}}
</p>
</article>
{{ end }}
"""

LIST_HTML = """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>
{{- range .Pages }}
<li>{{ if not .Date.IsZero }}<span class="meta">{{ .Date.Format "2006-01-02" }}</span> {{ end -}}
<a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a>
{{- with .Params.account }} <span class="meta">{{ . }}</span>{{ end }}</li>
{{- end }}
</ul>
{{ end }}
"""

INDEX_HTML = """\
{{ define "main" }}
<h1>{{ site.Title }}</h1>
{{- range (where site.RegularPages "Section" "posts").GroupByDate "2006" }}
<h2>{{ .Key }}</h2>
<ul>
{{- range .Pages }}
<li><span class="meta">{{ .Date.Format "01-02" }}</span>
<a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a>
{{- with .Params.account }} <span class="meta">{{ . }}</span>{{ end }}</li>
{{- end }}
</ul>
{{- end }}
{{ end }}
"""

SCAFFOLD = {
    "hugo.toml": HUGO_TOML,
    "layouts/_default/baseof.html": BASEOF_HTML,
    "layouts/_default/single.html": SINGLE_HTML,
    "layouts/_default/list.html": LIST_HTML,
    "layouts/index.html": INDEX_HTML,
}


def has_hugo_config(site: Path) -> bool:
    return any((site / name).exists() for name in CONFIG_FILES) or any(
        (site / name).is_dir() for name in CONFIG_DIRS
    )


def write_scaffold(site: Path) -> list[str]:
    """Config and layouts for a site with no Hugo config; existing files are kept."""
    if has_hugo_config(site):
        return []
    written = []
    for relpath, text in SCAFFOLD.items():
        path = inside_site(site, relpath)
        if path.exists() or path.is_symlink():
            continue
        write_atomic(path, text.encode("utf-8"))
        written.append(relpath)
    return written


def inside_site(root: Path, relpath: str) -> Path:
    """`relpath` under `root`; InputError (naming both) if it would leave it."""
    try:
        return resolve_inside(root, relpath)
    except ValueError as error:
        raise InputError(f"{root}: refusing to write {relpath!r} ({error})") from None


def site_root(site_dir: Path) -> Path:
    """The site folder, created if missing, as an absolute path; InputError if unusable."""
    site_dir = Path(site_dir)
    if site_dir.exists() and not site_dir.is_dir():
        raise InputError(f"{site_dir}: exists and is not a folder; give a Hugo site folder")
    try:
        site_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"{site_dir}: cannot create the site folder ({error.strerror})") from None
    return site_dir.resolve()
