"""The `harvester` command: wires readers, converters and the archive together, nothing more."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from archive.errors import IndexBusy
from archive.terminal import one_line, terminal_safe
from harvester.archiver import Archive
from harvester.convert import ConvertResult, convert_source
from harvester.errors import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_TRY_LATER,
    EXIT_USAGE,
    DiskFull,
    InputError,
    TryLater,
    is_disk_full,
    unexpected,
)
from harvester.jobs import SOURCE_SUFFIXES, fetch_links, import_paths, rebuild_all, source_files
from harvester.links import ArticleLink, LinkError, parse_link
from harvester.runs import Interrupted, Summary
from harvester.settings import env_number

if TYPE_CHECKING:  # httpx is imported only by the commands that fetch
    from harvester.http import HttpClient


def say(text: str, *, err: bool = False) -> None:
    """A line for people: what a page or file brought in it cannot act on a terminal."""
    click.echo(terminal_safe(text), err=err)


def fail(message: str) -> None:
    """A failure line: one line, whatever a title or file name in it holds."""
    click.echo(one_line(f"harvester: {message}"), err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wechat-archive")
def cli() -> None:
    """Archive WeChat official-account articles as Markdown, images and a searchable index."""


@cli.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each article under DIR/articles/<account>/<year>/ instead of stdout.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object a source.")
def convert(sources: tuple[Path, ...], out_dir: Path | None, as_json: bool) -> None:
    """Convert saved WeChat pages or seed-format files to Markdown, offline."""
    failed = skipped = 0
    for source in sources:
        try:
            result = convert_source(source, out_dir)
        except InputError as error:
            fail(str(error))
            failed += 1
            continue
        except OSError as error:  # --out-dir cannot be written there
            fail(f"{source}: not written: {error.strerror or error}")
            failed += 1
            continue
        except Exception as error:  # no check foresaw it: this file fails, the rest go on
            fail(unexpected(str(source), error))
            failed += 1
            continue
        if as_json:
            click.echo(json.dumps(result.record(), ensure_ascii=False))
        if result.page.kind == "document":
            skipped += 1
        elif result.markdown is None:
            fail(f"{source}: {describe_non_article(result)}")
            failed += 1
        elif out_dir is None and not as_json:
            shown = terminal_safe(result.markdown) if sys.stdout.isatty() else result.markdown
            click.echo(shown, nl=False)  # piped, the Markdown is what --out-dir writes
    if skipped:
        fail(f"{skipped} skipped: not articles")
    if not any(source.is_file() for source in sources):
        sys.exit(EXIT_USAGE)  # nothing given could be read at all
    sys.exit(EXIT_SOME_FAILED if failed else EXIT_OK)


def describe_non_article(result: ConvertResult) -> str:
    reasons = {
        "deleted": "the article was deleted by its author",
        "blocked": "the article was blocked for violating rules",
        "unavailable": "the content is temporarily unavailable",
        "expired": "the link has expired",
        "verification": "WeChat served its anti-bot verification page, not the article",
        "link": "a bare link request that was never fetched; fetch it with `harvester fetch`",
    }
    return f"{result.page.kind} page, nothing to convert ({reasons[result.page.kind]})"


def archive_option(
    command=None,
    *,
    default: str | None = "wechat-archive",
    help: str = "The archive folder (or set HARVESTER_ARCHIVE).",
):
    """`--archive DIR` (env HARVESTER_ARCHIVE), as a decorator with or without arguments."""
    option = click.option(
        "--archive",
        "archive_dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="HARVESTER_ARCHIVE",
        default=default,
        show_default=default is not None,
        help=help,
    )
    return option(command) if command is not None else option


def existing_archive(archive_dir: Path) -> Path:
    if not (archive_dir / "archive.db").is_file():
        raise InputError(f"{archive_dir}: no archive here (no archive.db); archive something first")
    return archive_dir


@cli.command()
@archive_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, type=int, help="Port to listen on.")
def serve(archive_dir: Path, host: str, port: int) -> None:
    """Browse and search the archive in Datasette (read-only)."""
    from archive.serve import serve_archive

    serve_archive(existing_archive(archive_dir), host=host, port=port)


@cli.command()
@click.argument("words", nargs=-1, required=True)
@archive_option
@click.option("--limit", default=20, show_default=True, type=int, help="Most results to show.")
def search(words: tuple[str, ...], archive_dir: Path, limit: int) -> None:
    """Full-text search of the archive (Chinese and Latin), best matches first.

    Every word must match (`harvester search PTEN 神经`); quotes are not needed.
    """
    from archive.search_cli import print_search

    print_search(existing_archive(archive_dir), " ".join(words), limit=limit)


@cli.command()
@archive_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
def accounts(archive_dir: Path, as_json: bool) -> None:
    """Per account: articles known, archived and missing, oldest and newest, the channels
    that found them, the albums found, and when each channel last worked."""
    from archive.search_cli import open_readonly
    from harvester.coverage import account_coverage, format_accounts

    db = open_readonly(existing_archive(archive_dir) / "archive.db")
    try:
        shown = format_accounts(account_coverage(db), as_json=as_json)
        if as_json:
            click.echo(shown)
        else:
            say(shown)
    finally:
        db.close()


@cli.group()
def export() -> None:
    """Export the archive to other tools."""


@export.command("hugo")
@click.argument("site_dir", type=click.Path(file_okay=False, path_type=Path))
@archive_option
def export_hugo_command(site_dir: Path, archive_dir: Path) -> None:
    """Write a Hugo site tree (content/ and static/) from the archive; only what changed."""
    from archive.hugo import export_hugo

    summary = export_hugo(existing_archive(archive_dir), site_dir)
    for problem in summary.skipped:  # each article not exported, and why
        fail(problem)
    say(str(summary))
    if summary.skipped:
        sys.exit(EXIT_SOME_FAILED)


WEB_ARCHIVES = {
    "warc": "Write the raw captures and their images as a WARC file (OUT.warc.gz), for pywb.",
    "wacz": "Write the same records as `export warc`, packaged as WACZ (ReplayWeb.page).",
}


def web_archive_command(kind: str) -> None:
    """`export warc` and `export wacz`: the same selection, two packagings."""

    @export.command(kind, help=WEB_ARCHIVES[kind])
    @click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
    @archive_option
    @click.option("--account", help="Only this account's articles (its name).")
    @click.option("--since", help="Only captures made at or after this date or time.")
    def command(out: Path, archive_dir: Path, account: str | None, since: str | None) -> None:
        from archive.wacz import export_wacz
        from archive.warc import Selection, export_warc, parse_since

        write = export_warc if kind == "warc" else export_wacz
        selection = Selection(account=account, since=parse_since(since))
        summary = write(existing_archive(archive_dir), out, selection)
        export_finish(summary.failures, summary.line(out))


for _kind in WEB_ARCHIVES:
    web_archive_command(_kind)


@export.command("epub")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@archive_option
@click.option("--account", help="The articles of this account (its name).")
@click.option("--album", help="The articles of this album (its album_id), in album order.")
@click.option("--query", help="The articles this search finds (as `harvester search`).")
def export_epub_command(
    out: Path, archive_dir: Path, account: str | None, album: str | None, query: str | None
):
    """Write an account's articles, an album's or a search's as an EPUB book (publish
    order; an album's in album order)."""
    from archive.epub import BookSelection, export_epub

    if [account, album, query].count(None) != 2:
        raise InputError("export epub: give one of --account NAME, --album ID or --query WORDS")
    selection = BookSelection(account=account, query=query, album=album)
    summary = export_epub(existing_archive(archive_dir), out, selection)
    export_finish(summary.failures, summary.line(out))


def export_finish(failures: list[str], line: str) -> None:
    """An export's failures (one line each), its summary line, its exit code."""
    for failure in failures:
        fail(failure)
    say(line)
    sys.exit(EXIT_SOME_FAILED if failures else EXIT_OK)


def open_client() -> HttpClient:
    """The one client, polite to WeChat, relayed where HARVESTER_RELAY says.

    HARVESTER_RATE (requests a second per host) and HARVESTER_BACKOFF (first retry
    wait, seconds) are for users fetching through their own caching relay, and tests;
    HARVESTER_DEADLINE_SECONDS is the most one request may take (default 60 s a page, 120
    an image).
    """
    from harvester.http import (
        IMAGE_HOST_CONCURRENCY,
        IMAGE_HOST_RATE,
        IMAGE_HOSTS,
        HttpClient,
        relay_from_env,
    )

    rate = env_number(os.environ, "HARVESTER_RATE") or 0.5
    image_limit = (max(rate, IMAGE_HOST_RATE), IMAGE_HOST_CONCURRENCY)
    return HttpClient(
        relay=relay_from_env(os.environ),
        requests_per_second=rate,
        host_limits=dict.fromkeys(IMAGE_HOSTS, image_limit),
        backoff_base=env_number(os.environ, "HARVESTER_BACKOFF") or 1.0,
        deadline=env_number(os.environ, "HARVESTER_DEADLINE_SECONDS"),
    )


PROGRESS_SECONDS = 60.0  # off a terminal, one progress line at most this often


def progress_reporter(total: int | None, label: str):
    """A progress bar on a terminal; off one (cron, a log file), a line now and then, so a
    long import is never silent for hours."""
    if not sys.stderr.isatty():
        every = env_number(os.environ, "HARVESTER_PROGRESS_SECONDS") or PROGRESS_SECONDS
        return contextlib.nullcontext(progress_lines(total, label, every))
    return terminal_progress(total, label)


def progress_lines(total: int | None, label: str, every: float) -> Callable[[str], None]:
    """An advance() that writes `import: 40 of 500 done` to stderr at most once per `every`
    seconds."""
    done = 0
    last = time.monotonic()

    def advance(_item: str) -> None:
        nonlocal done, last
        done += 1
        now = time.monotonic()
        if now - last >= every:
            last = now
            of = f" of {total}" if total is not None else ""
            click.echo(f"{label}: {done}{of} done", err=True)

    return advance


@contextlib.contextmanager
def terminal_progress(total: int | None, label: str):
    from rich.markup import escape
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=total)

        def advance(item: str) -> None:
            shown = escape(terminal_safe(item)[-40:])  # a title's `[/]` is no markup
            bar.update(task, advance=1, description=f"{label} {shown}")

        yield advance


def finish(summary: Summary, archive: Archive) -> None:
    """Every failure in one line on stderr, the summary line, and the exit code: 1 when
    something failed or an image is missing (the rest was done), else 0."""
    for failure in summary.failures:
        fail(failure)
    say(f"{summary.line()} (archive: {archive.root})")
    archive.close()
    sys.exit(EXIT_SOME_FAILED if summary.incomplete else EXIT_OK)


def read_links(arguments: tuple[str, ...]) -> tuple[list[ArticleLink], list[str]]:
    """Parsed links and one error line for each argument (or stdin line) that is not a link."""
    texts = []
    for argument in arguments:
        if argument == "-":
            texts += [
                line.strip() for line in sys.stdin if line.strip() and not line.startswith("#")
            ]
        else:
            texts.append(argument)
    links, errors = [], []
    for text in texts:
        try:
            links.append(parse_link(text))
        except LinkError as error:
            errors.append(str(error))
    return list({link.key: link for link in links}.values()), errors


@cli.command()
@click.argument("urls", nargs=-1, required=True)
@archive_option
@click.option("--refresh", is_flag=True, help="Fetch again articles already archived.")
def fetch(urls: tuple[str, ...], archive_dir: Path, refresh: bool) -> None:
    """Fetch articles by link (long or short; `-` reads links from stdin) and archive them."""
    links, errors = read_links(urls)
    if not links:
        for error in errors or ["no links given (standard input had none)"]:
            fail(error)
        sys.exit(EXIT_USAGE)
    archive = Archive.open(archive_dir)
    archived = [] if refresh else [link for link in links if archive.has_link(link)]
    links = [link for link in links if link not in archived]
    with open_client() as client, progress_reporter(len(links), "fetch") as advance:
        summary = fetch_links(archive, client, links, progress=advance, unusable=errors)
    if archived:
        summary.counts["already archived (use --refresh to check again)"] = len(archived)
    finish(summary, archive)


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@archive_option
@click.option("--no-images", is_flag=True, help="Keep image links remote; download nothing.")
def import_command(paths: tuple[Path, ...], archive_dir: Path, no_images: bool) -> None:
    """Import seed-format files (or saved pages, or this program's own Markdown), and
    folders of them, into the archive."""
    if not any(path.exists() for path in paths):
        for path in paths:
            fail(f"{path}: no such file or folder")
        sys.exit(EXIT_USAGE)
    files = list(source_files(paths))  # a path that does not exist is one failure
    if not any(path.exists() for path in files):
        shown = ", ".join(map(str, paths))
        suffixes = ", ".join(SOURCE_SUFFIXES)
        raise InputError(f"{shown}: no files to import (none ending {suffixes})")
    archive = Archive.open(archive_dir)
    client = contextlib.nullcontext(None) if no_images else open_client()
    with client as http, progress_reporter(len(files), "import") as advance:
        summary = import_paths(archive, http, files, progress=advance)
    finish(summary, archive)


@cli.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="HARVESTER_CONFIG",
    default="harvester.toml",
    show_default=True,
    help="The harvest config (TOML).",
)
@archive_option(
    default=None,
    help="The archive folder (default: the config's `archive`, else ./wechat-archive).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary for monitoring.")
def harvest(config_path: Path, archive_dir: Path | None, as_json: bool) -> None:
    """The cron job: ask every configured source, archive what is new."""
    from harvester.harvest import run_harvest

    sys.exit(run_harvest(config_path, archive_dir, as_json=as_json))


@cli.command()
@archive_option
def rebuild(archive_dir: Path) -> None:
    """Re-convert every article from its stored raw HTML, without the network."""
    archive = Archive.open(existing_archive(archive_dir))
    count = archive.db.execute("SELECT count(*) FROM articles").fetchone()[0]
    with progress_reporter(count, "rebuild") as advance:
        summary = rebuild_all(archive, progress=advance)
    finish(summary, archive)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, standalone_mode=False, prog_name="harvester")
    except click.exceptions.Abort as abort:
        cause = abort.__cause__ or abort.__context__
        fail(cause.message() if isinstance(cause, Interrupted) else "aborted")
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(EXIT_USAGE)
    except InputError as error:
        fail(str(error))
        sys.exit(EXIT_USAGE)
    except TryLater as error:
        fail(str(error))
        sys.exit(EXIT_TRY_LATER)
    except IndexBusy as error:
        fail(str(error))
        sys.exit(EXIT_TRY_LATER)
    except DiskFull as error:
        fail(str(error))
        sys.exit(error.exit_code)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(EXIT_OK)
    except (OSError, sqlite3.Error) as error:
        if not is_disk_full(error):  # outside a run: opening the archive, an export
            raise
        where = "the archive index" if isinstance(error, sqlite3.Error) else "a file"
        fail(str(DiskFull(getattr(error, "filename", None) or where)))
        sys.exit(EXIT_USAGE)


if __name__ == "__main__":
    main()
