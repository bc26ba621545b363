"""The `edgefer` command line: parses options and calls the library, nothing more."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from edgefer import __version__
from edgefer.errors import DataError, ModelError
from edgefer.progress import console, stdout_console

app = typer.Typer(
    help="Facial-expression recognition (FER2013) for phones and Raspberry Pis: data, train, export, bench, predict.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
data_app = typer.Typer(help="Read, inspect and sample FER2013 in any of its forms.", no_args_is_help=True)
app.add_typer(data_app, name="data")

out = stdout_console  # results on stdout; progress bars and errors on stderr


def user_errors(command):
    """Print user errors as one line and exit 2 instead of showing a traceback; Ctrl-C exits 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (DataError, ModelError) as error:
            console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        print(f"edgefer {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """edgefer: on-device facial-expression recognition."""


DATA_ARG = typer.Argument(
    None,
    help="fer2013.csv[.gz], a folder holding it, a Kaggle train/<class>/ test/<class>/ tree, or an edgefer .npz. "
    "Default: the embedded sample shipped with edgefer.",
    show_default=False,
)
LABELS_OPT = typer.Option("fer2013", "--labels", help="Label source: fer2013 (7 classes) or ferplus (8, adds Contempt).")
FERPLUS_OPT = typer.Option(None, "--ferplus", help="fer2013new.csv[.gz]; default: found beside the CSV.")
SKIP_BAD_OPT = typer.Option(False, "--skip-bad", help="Skip bad rows/files and report how many, instead of stopping.")
CACHE_DIR_OPT = typer.Option(None, "--cache-dir", help="Parse cache folder (default $EDGEFER_CACHE_DIR or ~/.cache/edgefer).")
NO_CACHE_OPT = typer.Option(False, "--no-cache", help="Parse the source again and write no cache.")


def _load(path, labels, ferplus, skip_bad, cache_dir, no_cache):
    from edgefer.loading import load_dataset

    return load_dataset(
        path, labels=labels, ferplus=ferplus, skip_bad=skip_bad, cache_dir=cache_dir, use_cache=not no_cache
    )


def _counts_table(stats) -> Table:
    table = Table(title="images per split and class")
    table.add_column("split")
    for name in stats.classes:
        table.add_column(name, justify="right")
    table.add_column("total", justify="right", style="bold")
    for split, counts in stats.counts.items():
        table.add_row(split, *(f"{c:,}" for c in counts), f"{stats.totals[split]:,}")
    return table


@data_app.command("info")
@user_errors
def data_info(
    path: Optional[Path] = DATA_ARG,
    labels: str = LABELS_OPT,
    ferplus: Optional[Path] = FERPLUS_OPT,
    skip_bad: bool = SKIP_BAD_OPT,
    cache_dir: Optional[Path] = CACHE_DIR_OPT,
    no_cache: bool = NO_CACHE_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print the statistics as JSON on stdout."),
) -> None:
    """Counts per split and class, exact duplicates, and blank images."""
    from edgefer.data_stats import dataset_stats

    dataset = _load(path, labels, ferplus, skip_bad, cache_dir, no_cache)
    stats = dataset_stats(dataset)
    if as_json:
        print(json.dumps({"load": dataset.report.__dict__, **stats.as_dict()}, indent=2))
        return
    for line in dataset.report.lines():
        out.print(line, highlight=False)
    out.print(_counts_table(stats))
    dup = stats.duplicates
    cross = ", ".join(f"{n:,} {split} rows have an exact copy in Training" for split, n in dup.cross_split_rows.items())
    out.print(
        f"duplicates: {dup.groups:,} groups of identical images, {dup.rows:,} rows in all; "
        f"{dup.conflicting_label_groups:,} groups with conflicting labels" + (f"; {cross}" if cross else ""),
        highlight=False,
    )
    out.print(f"blank images (one constant value): {stats.blank_images:,}, all zeros: {stats.all_zero_images:,}",
              highlight=False)


@data_app.command("show")
@user_errors
def data_show(
    path: Optional[Path] = DATA_ARG,
    output: Path = typer.Option(Path("fer_classes.png"), "-o", "--output", help="PNG file to write."),
    img_size: int = typer.Option(224, "--img-size", min=48, max=1024, help="Training input size to preview."),
    seed: int = typer.Option(0, "--seed", help="Which face per class is drawn."),
    labels: str = LABELS_OPT,
    ferplus: Optional[Path] = FERPLUS_OPT,
    skip_bad: bool = SKIP_BAD_OPT,
    cache_dir: Optional[Path] = CACHE_DIR_OPT,
    no_cache: bool = NO_CACHE_OPT,
) -> None:
    """One face per class at 48x48 and at the training size, plus a class histogram, as a PNG."""
    from edgefer.data_plots import show_dataset

    dataset = _load(path, labels, ferplus, skip_bad, cache_dir, no_cache)
    for line in dataset.report.lines():
        out.print(line, highlight=False)
    written = show_dataset(dataset, output, img_size=img_size, seed=seed)
    out.print(f"wrote {written}", highlight=False)


@data_app.command("sample")
@user_errors
def data_sample(
    path: Path = typer.Argument(..., help="Source data (any form `data info` reads)."),
    output: Path = typer.Option(..., "-o", "--output", help=".npz file to write."),
    train_per_class: int = typer.Option(60, "--train-per-class", min=0, help="Training faces per class."),
    test_per_class: int = typer.Option(20, "--test-per-class", min=0, help="PublicTest faces per class."),
    seed: int = typer.Option(0, "--seed"),
    skip_bad: bool = SKIP_BAD_OPT,
    cache_dir: Optional[Path] = CACHE_DIR_OPT,
) -> None:
    """Write a small stratified subset as an .npz that every command accepts (how the embedded sample is made)."""
    from edgefer.npz_format import save_npz
    from edgefer.sample import stratified_sample

    dataset = _load(path, "fer2013", None, skip_bad, cache_dir, False)
    subset = stratified_sample(dataset, {"Training": train_per_class, "PublicTest": test_per_class}, seed=seed)
    save_npz(subset, output, compress=True)
    out.print(f"wrote {len(subset):,} faces to {output}", highlight=False)


if __name__ == "__main__":
    app()
