"""Where the harvest finds articles: one module a source kind, one interface for all.

    from harvester.sources import SourceContext, make_source
    source = make_source(table, SourceContext(client=client, base_dir=config_dir))
    source.check()                       # no network; InputError naming the bad key
    for listing in source.listings():    # Listing(link, title, published_at, cover, …)
        ...

A new kind is one module here that defines a `BaseSource` subclass decorated with
`@register("<kind>")`, plus its import below.
"""

from harvester.sources import account, album, feed, mp, seed, urls, weread
from harvester.sources.base import (
    REGISTRY,
    BaseSource,
    Listing,
    Source,
    SourceConfigError,
    SourceContext,
    SourceError,
    known_kinds,
    make_source,
    register,
)
from harvester.sources.follow import followed_links

__all__ = [
    "REGISTRY",
    "BaseSource",
    "Listing",
    "Source",
    "SourceConfigError",
    "SourceContext",
    "SourceError",
    "account",
    "album",
    "feed",
    "followed_links",
    "known_kinds",
    "make_source",
    "mp",
    "register",
    "seed",
    "urls",
    "weread",
]
