"""The `edgefer` command line: parses options and calls the library, nothing more.

Every command's options are derived from its configuration dataclass (TrainConfig, PipelineConfig, DataSource,
ExportOptions, BenchOptions, PredictOptions, AnalyzeConfig, RecordConfig: flag, default and help in each field's
metadata; edgefer.cli_support), so a flag, its default and its help are written once.
Each command imports its stage inside its function, on purpose: `edgefer --help` and `edgefer predict` then start
without loading TensorFlow, Keras or onnxruntime (0.65 s for --help on a 2-core EPYC).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Optional

import typer

from edgefer import __version__
from edgefer.analyze.run import AnalyzeConfig
from edgefer.bench.options import BenchOptions
from edgefer.cli_support import command_with_options, config_values, hide_flag_types, user_errors
from edgefer.core.extras import require
from edgefer.core.progress import console, stdout_console
from edgefer.data.loading import DataSource
from edgefer.export.formats import ExportOptions
from edgefer.pipeline import PipelineConfig
from edgefer.predict.run import PredictOptions
from edgefer.train.config import RecordConfig, TrainConfig

hide_flag_types()

app = typer.Typer(
    help="Facial-expression recognition (FER2013) for phones and Raspberry Pis: data, train, export, bench, predict.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help is plain text: no [markup] eaten, paragraphs wrapped to the terminal
    context_settings={"max_content_width": 200},  # wrap to the terminal's width, not click's 80 columns
)
data_app = typer.Typer(help="Read, inspect and sample FER2013 in any of its forms.", no_args_is_help=True,
                       rich_markup_mode=None)
app.add_typer(data_app, name="data")
teacher_app = typer.Typer(help="Teachers for distillation (edgefer train --teacher).", no_args_is_help=True,
                          rich_markup_mode=None)
app.add_typer(teacher_app, name="teacher")

out = stdout_console  # results on stdout; progress bars and errors on stderr


def _version(value: bool) -> None:
    if value:
        print(f"edgefer {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """edgefer: on-device facial-expression recognition."""


DATA_ARG = inspect.Parameter("path", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Optional[Path], default=typer.Argument(
    None, help="fer2013.csv[.gz], a folder holding it, a Kaggle train/<class>/ test/<class>/ tree, or an edgefer .npz. "
    "Default: the embedded sample shipped with edgefer.", show_default=False))


def _keyword(name: str, annotation, option) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=option)


def _data_info(path: Optional[Path], as_json: bool, **source) -> None:
    """Counts per split and class, exact duplicates, and blank images."""
    from edgefer.data.stats import counts_table, dataset_stats, summary_lines

    dataset = DataSource(**config_values(DataSource, source)).load(path)
    stats = dataset_stats(dataset)
    if as_json:
        print(json.dumps({"load": dataset.report.__dict__, **stats.as_dict()}, indent=2))
        return
    for line in [*dataset.report.lines(), counts_table(stats), *summary_lines(stats)]:
        out.print(line, highlight=False)


def _data_show(path: Optional[Path], output: Path, img_size: int, seed: int, **source) -> None:
    """One face per class at 48x48 and at the training size, plus a class histogram, as a PNG."""
    from edgefer.data.plots import show_dataset

    dataset = DataSource(**config_values(DataSource, source)).load(path)
    for line in dataset.report.lines():
        out.print(line, highlight=False)
    out.print(f"wrote {show_dataset(dataset, output, img_size=img_size, seed=seed)}", highlight=False)


data_app.command("info")(user_errors(command_with_options(_data_info, DataSource, DATA_ARG, _keyword(
    "as_json", bool, typer.Option(False, "--json", help="Print the statistics as JSON on stdout.")))))
data_app.command("show")(user_errors(command_with_options(_data_show, DataSource, DATA_ARG, *(
    _keyword("output", Path, typer.Option(Path("fer_classes.png"), "-o", "--output", help="PNG file to write.")),
    _keyword("img_size", int, typer.Option(224, "--img-size", min=48, max=1024, help="Training input size to preview.")),
    _keyword("seed", int, typer.Option(0, "--seed", help="Which face per class is drawn."))))))
SKIP_BAD_OPT = typer.Option(False, "--skip-bad", help="Skip bad rows/files and report how many, instead of stopping.")
CACHE_DIR_OPT = typer.Option(None, "--cache-dir", help="Parse cache folder (default $EDGEFER_CACHE_DIR or ~/.cache/edgefer).")


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
    from edgefer.data.npz_format import save_npz
    from edgefer.data.sample import stratified_sample

    dataset = DataSource(skip_bad=skip_bad, cache_dir=str(cache_dir) if cache_dir else None).load(path)
    subset = stratified_sample(dataset, {"Training": train_per_class, "PublicTest": test_per_class}, seed=seed)
    save_npz(subset, output, compress=True)
    out.print(f"wrote {len(subset):,} faces to {output}", highlight=False)


def _train(ctx: typer.Context, resume: Optional[Path] = None, **options) -> None:
    """Transfer learning with the registry's backbones; each run writes runs/<model>-<mode>[-N]/."""
    require("train", "train", ("keras", "matplotlib"))
    from edgefer.train.training import train_command

    epochs_given = ctx.get_parameter_source("epochs").name != "DEFAULT"  # with --resume: the run's own total if not
    train_command(config_values(TrainConfig, options), resume, epochs_given, out)


CONTEXT = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
RESUME = inspect.Parameter("resume", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[Path], default=typer.Option(
    None, "--resume", help="Continue an interrupted run folder from its last checkpoint."))
# The options are TrainConfig's fields: each flag, default and help is written once, in edgefer/train/config.py.
app.command("train")(user_errors(command_with_options(_train, TrainConfig, CONTEXT, RESUME)))


def _export(source: Path, **options) -> None:
    """Quantized TFLite and ONNX artifacts, each checked against the Keras model before it is kept.

    With no format flag: --int8 and --onnx. Artifacts failing their check go to OUT/rejected/.
    """
    require("export", "train", ("keras", "tensorflow", "tf2onnx", "onnx", "onnxruntime"))
    from edgefer.export.run import export_run, results_table

    config = ExportOptions(**config_values(ExportOptions, options))
    folder, results = export_run(source, config.formats(), out=config.out,
                                 data=str(config.data) if config.data else None, calib_samples=config.calib_samples,
                                 check_samples=config.check_samples)
    stdout_console.print(results_table(folder, results, config.check_samples))
    if any(r.status != "ok" for r in results):
        raise typer.Exit(1)


RUN_ARG = inspect.Parameter("source", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Path, default=typer.Argument(
    ..., help="A run folder from `edgefer train` (or its model.keras).", show_default=False))
app.command("export")(user_errors(command_with_options(_export, ExportOptions, RUN_ARG)))


def _bench(paths: Optional[list[Path]] = None, **options) -> None:
    """Accuracy (batched) and batch-1 latency of every artifact on the same test faces, side by side.

    Scored against FER2013's labels and, where fer2013new.csv is beside the data, the FER+ annotators' majority; with
    --photos DIR beside --data, also end to end on a folder of photos, all in one table. With --frames: what a whole
    frame costs, per stage; with --photos alone: whole photos by size, beside other pipelines (--peer fer,faceapi).
    """
    from edgefer.bench.command import bench_command

    raise typer.Exit(bench_command(paths, BenchOptions(**config_values(BenchOptions, options)), out, console))


PATHS_ARG = inspect.Parameter("paths", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Optional[list[Path]],
                              default=typer.Argument(None, help="A run folder (its model.keras + export/<run>/*), an "
                              "export folder, model files (.keras/.tflite/.onnx), or a packaged model by name (default, "
                              "fast, ferplus). With --frames or --photos: .tflite models or packaged names (default: the "
                              "packaged default).", show_default=False))
app.command("bench")(user_errors(command_with_options(_bench, BenchOptions, PATHS_ARG)))


def _predict(paths: Optional[list[str]] = None, **options) -> None:
    """The facial expression of every face in photos (found left to right, numbered), of face crops, or live from a
    camera.

    A photo's faces are found first; an image of at most 128 px that is one face (a face crop like FER2013's) or in
    which none is found is read whole as one face, and the output says so. --crop reads every image whole, --detect
    never does. 'sample' is a built-in phone-sized photo of five faces. Exit 2 if any image could not be read.
    """
    from edgefer.predict.run import run_predict

    run_predict(paths or [], PredictOptions(**config_values(PredictOptions, options)),
                emit=lambda line: print(line, flush=True), warn=lambda line: console.print(line, highlight=False,
                                                                                            soft_wrap=True, markup=False))


IMAGES_ARG = inspect.Parameter("paths", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Optional[list[str]],
                               default=typer.Argument(None, help="[MODEL.tflite] IMAGE...: the model is optional "
                               "(default: the packaged default model, or the one --model names); images are files or "
                               "folders of images.", show_default=False))
app.command("predict")(user_errors(command_with_options(_predict, PredictOptions, IMAGES_ARG)))


@app.command("models")
@user_errors
def models_command() -> None:
    """The models shipped inside edgefer, timed on this CPU, and the one to use here (`--model auto` picks it).

    Accuracy and labels come from each model's card (real `edgefer bench` runs; NAME_model.json beside it, where the
    training and the runs are described); the time per face is measured now, on this machine.
    """
    from edgefer.packaged import print_models

    print_models(out)


def _pipeline(**options) -> None:
    """The whole job: train -> export int8 + ONNX -> bench -> predict, into one folder.

    With no option it runs offline on the embedded 560-face sample and fine-tunes the packaged default model
    (the finetune recipe: 1 epoch of the head on the frozen base, then the top layers), so the new model starts
    from one that knows faces. --weights none trains from scratch instead (on 336 faces: near chance). For real
    results give --data and --epochs.
    """
    require("pipeline", "train")
    from edgefer.pipeline import run_pipeline

    config = PipelineConfig(**config_values(PipelineConfig, options))
    run_pipeline(config, lambda text: stdout_console.print(text, soft_wrap=True, highlight=False))


app.command("pipeline")(user_errors(command_with_options(_pipeline, PipelineConfig)))


def _analyze(sources: list[str], **options) -> None:
    """What each person in a video felt, when, and for how long: faces followed across frames, emotions smoothed.

    SOURCE: a video file, a folder of frames, a camera index (0), a URL, or 'sample' (a built-in clip of three
    people). One source writes into OUT: faces.csv (a row per face per analysed frame: track, box, raw and smoothed
    probabilities), tracks.csv (per person: first/last time, share of time per emotion, dominant emotion, thumbnail),
    summary.json, timeline.png and track_<id>.jpg; --save-video also the annotated frames. Several sources (files,
    folders of videos, globs, a .txt list of paths or URLs) get a folder each under OUT, written whole, and OUT/index.csv
    and OUT/summary.json for the batch; --workers runs them in parallel, --engine ray on a Ray cluster, and the same
    command run again skips what is done. A file is smoothed both ways (no lag), a camera causally. Videos and cameras
    need OpenCV: pip install -e '.[video]'. A person who leaves and comes back may get a new track id.
    """
    from edgefer.analyze.batch import batch_command, expand_sources
    from edgefer.analyze.run import analyze_command

    values = config_values(AnalyzeConfig, options)
    expanded, batch = expand_sources(sources)
    if batch:
        raise typer.Exit(batch_command(expanded, AnalyzeConfig(source="", **values), out))
    raise typer.Exit(analyze_command(AnalyzeConfig(source=expanded[0], **values), out))


SOURCE_ARG = inspect.Parameter("sources", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=list[str],
                               default=typer.Argument(..., help="Video files, folders (of videos, or of frames), globs, "
                               "a .txt list of paths/URLs, a camera index (0), or 'sample'.", show_default=False))
app.command("analyze")(user_errors(command_with_options(_analyze, AnalyzeConfig, SOURCE_ARG)))


def _teacher_record(teacher: str, output: Path, **options) -> None:
    """Record a teacher's probabilities once per face (every split, by row id) for `edgefer train --teacher OUT.npz`:
    distillation from a teacher too slow to run every epoch on a CPU (each face then gets its recorded targets
    whatever augmentation the student sees)."""
    from edgefer.train.distill import record_command

    record_command(teacher, output, RecordConfig(**config_values(RecordConfig, options)).validate(), out)


teacher_app.command("record")(user_errors(command_with_options(_teacher_record, RecordConfig, *(
    inspect.Parameter("teacher", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str, default=typer.Argument(
        ..., help="What --teacher takes: a run folder, a .keras file, an exported .tflite/.onnx, or a packaged model's "
        ".tflite.", show_default=False)),
    inspect.Parameter("output", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Path, default=typer.Argument(
        ..., help="The .npz to write (atomically).", show_default=False))))))


def write_reference(path: str = "docs/cli.md") -> None:
    """Write the CLI reference page (`python -m edgefer.cli --write-reference docs/cli.md`)."""
    from edgefer.cli_support import cli_reference
    from edgefer.core.fileio import write_text

    write_text(path, cli_reference(app))
    print(f"wrote {path}")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--write-reference"]:
        write_reference(*sys.argv[2:3])
    else:
        app()
