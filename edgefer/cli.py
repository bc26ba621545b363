"""The `edgefer` command line: parses options and calls the library, nothing more.

The options of `train`, `pipeline` and `data info|show` are derived from their configuration dataclasses
(TrainConfig, PipelineConfig, DataSource: flag, default and help in each field's metadata; edgefer.cli_support).
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
from edgefer.cli_support import command_with_options, config_values, hide_flag_types, user_errors
from edgefer.core.progress import console, stdout_console
from edgefer.data.loading import DataSource
from edgefer.errors import DataError
from edgefer.export.formats import EXPORT_FORMATS
from edgefer.pipeline import PipelineConfig
from edgefer.predictor import PredictorError
from edgefer.train.backbones import BACKBONE_NAMES
from edgefer.train.config import RecordConfig, TrainConfig

hide_flag_types()

app = typer.Typer(
    help="Facial-expression recognition (FER2013) for phones and Raspberry Pis: data, train, export, bench, predict.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
data_app = typer.Typer(help="Read, inspect and sample FER2013 in any of its forms.", no_args_is_help=True)
app.add_typer(data_app, name="data")
teacher_app = typer.Typer(help="Teachers for distillation (edgefer train --teacher).", no_args_is_help=True)
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


def _expand(value: str, choices: tuple[str, ...], every: str) -> list[str]:
    if value == every:
        return list(choices)
    if value not in choices:
        raise DataError(f"expected one of {', '.join(choices + (every,))}, got {value!r}")
    return [value]


def _train(ctx: typer.Context, resume: Optional[Path] = None, **options) -> None:
    """Transfer learning with the registry's backbones; each run writes runs/<model>-<mode>[-N]/."""
    from edgefer.train.config import MODES
    from edgefer.train.summary import summary_table
    from edgefer.train.training import resume_run, train

    values = config_values(TrainConfig, options)
    if resume is not None:  # --epochs only when given: the run's own total otherwise
        given = ctx.get_parameter_source("epochs").name != "DEFAULT"
        results = [resume_run(resume, epochs=values["epochs"] if given else None)]
    else:
        results = [train(TrainConfig(**{**values, "model": name, "mode": run_mode}))
                   for name in _expand(values["model"], BACKBONE_NAMES, "all")
                   for run_mode in _expand(values["mode"], MODES, "both")]
    stdout_console.print(summary_table(results))
    if any(r.config.weights == "none" for r in results):
        stdout_console.print("note: weights none = trained from scratch, no ImageNet weights", highlight=False)


CONTEXT = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
RESUME = inspect.Parameter("resume", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[Path], default=typer.Option(
    None, "--resume", help="Continue an interrupted run folder from its last checkpoint."))
# The options are TrainConfig's fields: each flag, default and help is written once, in edgefer/train/config.py.
app.command("train")(user_errors(command_with_options(_train, TrainConfig, CONTEXT, RESUME)))


@app.command("export")
@user_errors
def export_command(
    source: Path = typer.Argument(..., help="A run folder from `edgefer train` (or its model.keras)."),
    int8: bool = typer.Option(False, "--int8", help="TFLite full-integer int8 with uint8 input/output (raw pixels in)."),
    fp16: bool = typer.Option(False, "--fp16", help="TFLite with float16 weights."),
    dynamic: bool = typer.Option(False, "--dynamic", help="TFLite dynamic-range (int8 weights, float activations)."),
    fp32: bool = typer.Option(False, "--fp32", help="TFLite float32."),
    int16x8: bool = typer.Option(False, "--int16x8", help="TFLite int8 weights + int16 activations: the remedy when int8 collapses (EfficientNet)."),
    onnx: bool = typer.Option(False, "--onnx", help="ONNX float32 (tf2onnx, opset 17, dynamic batch)."),
    onnx_int8: bool = typer.Option(False, "--onnx-int8", help="ONNX int8 (onnxruntime static quantization)."),
    all_formats: bool = typer.Option(False, "--all", help="Every format above that loads for every model: all but --int16x8 (ask for it by name)."),
    format_names: Optional[str] = typer.Option(None, "--format", help=f"Formats by name, comma-separated: {', '.join(EXPORT_FORMATS)} (the flags above are aliases)."),
    calib_samples: int = typer.Option(300, "--calib-samples", min=1, help="Training faces (stratified) used to calibrate int8."),
    check_samples: int = typer.Option(300, "--check-samples", min=1, help="Validation faces each artifact is checked on."),
    data: Optional[Path] = typer.Option(None, "--data", help="Data for calibration and checks (default: the run's own)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: export/<run-name>)."),
) -> None:
    """Quantized TFLite and ONNX artifacts, each checked against the Keras model before it is kept.

    With no format flag: --int8 and --onnx. Artifacts failing their check go to OUT/rejected/.
    """
    from edgefer.export.formats import chosen_formats
    from edgefer.export.run import export_run, results_table

    flags = {"int8": int8, "int16x8": int16x8, "fp16": fp16, "dynamic": dynamic, "fp32": fp32, "onnx": onnx,
             "onnx-int8": onnx_int8}
    folder, results = export_run(source, chosen_formats(flags, format_names, all_formats), out=out,
                                 data=str(data) if data else None, calib_samples=calib_samples,
                                 check_samples=check_samples)
    stdout_console.print(results_table(folder, results, check_samples))
    if any(r.status != "ok" for r in results):
        raise typer.Exit(1)


@app.command("bench")
@user_errors
def bench_command(
    paths: Optional[list[Path]] = typer.Argument(None, help="A run folder (its model.keras + export/<run>/*), an export folder, model files (.keras/.tflite/.onnx), or a packaged model by name (default, fast, ferplus). With --frames: .tflite models or packaged names (default: the packaged default).", show_default=False),
    data: Optional[Path] = typer.Option(None, "--data", help="FER2013 in any form. Default: the embedded sample (its 140 test faces)."),
    split: str = typer.Option("PublicTest", "--split", help="Split to score on."),
    threads: str = typer.Option("1,2", "--threads", help="Thread counts for the latency runs, comma-separated."),
    runs: int = typer.Option(200, "--runs", min=1, help="Timed single-face inferences per thread count."),
    warmup: int = typer.Option(20, "--warmup", min=0, help="Untimed inferences first (in each round)."),
    rounds: int = typer.Option(3, "--rounds", min=1, help="Latency rounds: --runs is split between them and every artifact takes its turn in each, so a slow spell of the machine falls on all rows, not on one."),
    min_accuracy: Optional[float] = typer.Option(None, "--min-accuracy", help="Exit 1 if any artifact scores under this (0..1)."),
    out: Path = typer.Option(Path("bench"), "--out", help="Folder for bench.json/.csv/.md and plots (frames.json/.md with --frames)."),
    input_size: Optional[int] = typer.Option(None, "--input-size", help="External models: their input side (the face is resized to it)."),
    normalize: str = typer.Option("none", "--normalize", help="External models: 0_1, -1_1, imagenet or none."),
    class_names: Optional[str] = typer.Option(None, "--class-names", help="External models: their class names in output order, comma-separated."),
    labels: Optional[str] = typer.Option(None, "--labels", hidden=True, help="The old spelling of --class-names."),
    tta: str = typer.Option("none", "--tta", help="none, flip (each artifact also measured with flip averaging, as a row of its own: accuracy and latency), or none,flip."),
    labels_source: str = typer.Option("fer2013", "--labels-source", help="Labels to score against: fer2013, or ferplus (the FER+ majority vote, 8 classes, fer2013new.csv beside the CSV; 7-class models map onto it by name and Contempt counts as wrong for them; also reports accuracy on the faces where both label sources agree)."),
    ferplus: Optional[Path] = typer.Option(None, "--ferplus", help="With --labels-source ferplus: fer2013new.csv[.gz]; default: found beside the CSV."),
    frames: Optional[str] = typer.Option(None, "--frames", help="Time whole frames instead (decode, find faces, crop, classify) as EmotionPredictor.predict_frame runs them: a folder of images (with faces.json: faces found are scored), a video file, or 'sample' (a built-in set of VGA, 720p and portrait frames with known faces). Per frame p50/p99, ms per stage, faces found."),
    peer: Optional[str] = typer.Option(None, "--peer", help="With --frames: also time other pipelines on the same frames, comma-separated: fer (the fer package; see benchmarks/frames_vs_fer.sh), faceapi (face-api.js's expression model on edgefer's boxes; convert it once with benchmarks/faceapi_peer.py)."),
    resize_backend: Optional[str] = typer.Option(None, "--resize-backend", help="With --frames: force edgefer's resizing to pillow or numpy (default: pillow when importable)."),
    photos: Optional[str] = typer.Option(None, "--photos", help="Score whole photos instead: a folder of photos (class subfolders, e.g. Happy/, give end-to-end accuracy; faces.json gives faces found), or 'sample' (a built-in set: real photos from 36 px thumbnails to 720p, and FER2013 test faces placed into frames as a camera shows them; --data gives its faces). Per size bucket: faces found, accuracy, macro-recall, p50/p99 ms per photo as a file and as numpy RGB and BGR; --peer fer beside it. Runs on the first --threads count."),
) -> None:
    """Accuracy (batched) and batch-1 latency of every artifact on the same test faces, side by side.

    With --frames: what a whole frame costs, per stage, beside the `fer` package's pipeline (--peer fer).
    """
    from edgefer.bench.run import BenchConfig, run_bench, thread_counts, tta_modes

    if photos is not None:  # photos by size, end to end (edgefer.bench.photos)
        from edgefer.bench.photos import PhotoBenchConfig, report_photos

        config = PhotoBenchConfig(source=photos, models=[str(p) for p in paths or []] or ["default"], out=out,
                                  peers=[p.strip() for p in (peer or "").split(",") if p.strip()],
                                  threads=thread_counts(threads)[0], rounds=rounds, data=str(data) if data else None)
        raise typer.Exit(report_photos(config, stdout_console.print, console.print))
    if frames is not None:  # whole frames (edgefer.bench.frames)
        from edgefer.bench.frames import FrameBenchConfig, report_frames

        config = FrameBenchConfig(source=frames, models=[str(p) for p in paths or []] or ["default"], out=out,
                                  peers=[p.strip() for p in (peer or "").split(",") if p.strip()],
                                  threads=thread_counts(threads), rounds=rounds, resize_backend=resize_backend)
        raise typer.Exit(report_frames(config, stdout_console.print, console.print))
    if not paths:
        raise DataError("no artifacts given; usage: edgefer bench RUN_OR_MODEL... (or --frames DIR)")
    from edgefer.bench.external import check_normalize, parse_labels
    from edgefer.bench.report import table, write_outputs
    config = BenchConfig(paths=paths, data=str(data) if data else None, split=split, threads=thread_counts(threads),
                         runs=runs, warmup=warmup, rounds=rounds, min_accuracy=min_accuracy, out=out, input_size=input_size,
                         normalize=check_normalize(normalize), labels=parse_labels(class_names or labels), tta=tta_modes(tta),
                         label_source=labels_source, ferplus=str(ferplus) if ferplus else None)
    report = run_bench(config)
    write_outputs(report.to_json(), out)
    stdout_console.print(table(report.to_json()))
    stdout_console.print(f"wrote {out}/bench.json, bench.csv, bench.md and plots", highlight=False)
    for row in report.failed():
        console.print(f"[red]{row.name}: failed:[/] {row.error or ''}", highlight=False, soft_wrap=True)
    if report.under(min_accuracy):
        console.print(f"[red]under --min-accuracy {min_accuracy:.2%}:[/] {', '.join(r.name for r in report.under(min_accuracy))}")
    if report.exit_code(min_accuracy):
        raise typer.Exit(1)


@app.command("predict")
@user_errors
def predict_command(
    paths: list[str] = typer.Argument(None, help="[MODEL.tflite] IMAGE...: the model is optional (default: the "
                                      "packaged default model, or the one --model names); images are files or folders of images.", show_default=False),
    detect: bool = typer.Option(False, "--detect", help="Find faces in full photos first (BlazeFace); a line per face."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of lines."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="TFLite interpreter threads."),
    camera: Optional[str] = typer.Option(None, "--camera", help="Live loop on camera N (or a video file) with OpenCV; prints FPS."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="With --camera: stop after this many frames."),
    save_annotated: Optional[Path] = typer.Option(None, "--save-annotated", help="Write each image with boxes and labels drawn into this folder."),
    detector: str = typer.Option("blazeface", "--detector", help="blazeface (shipped, TFLite) or haar (needs OpenCV 4.x)."),
    min_score: float = typer.Option(0.5, "--min-score", min=0.0, max=1.0, help="Face detector confidence threshold."),
    tta: str = typer.Option("none", "--tta", help="Test-time augmentation: none, or flip (average with the mirrored face: more accurate, twice the work)."),
    model_name: Optional[str] = typer.Option(None, "--model", help="A packaged model: default (the most accurate on FER2013 labels), fast (the fastest), auto (the one `edgefer models` recommends for this CPU, timed here) or ferplus (8 classes, FER+ labels). Or a .tflite path."),
    stage_times: bool = typer.Option(False, "--stage-times", help="With --camera: show where each frame's time goes (read, detector resize / invoke / NMS, crops, classifier), mean ms per stage in every report."),
) -> None:
    """Facial expression of face images, of every face in photos (--detect), or live from a camera.

    Cropped faces (like FER2013's) need no --detect; photos do. Exit 2 if any image could not be read.
    """
    from edgefer.predict.run import PredictOptions, camera_loop, expand_images, predict_images, split_model_and_images
    from edgefer.predictor import EmotionPredictor

    model, images = split_model_and_images(paths or [], model_name)
    if camera is None and not images:
        raise PredictorError("no images given; usage: edgefer predict [MODEL.tflite] IMAGE... (or --camera 0)")
    options = PredictOptions(detect=detect or camera is not None, as_json=as_json, threads=threads, detector=detector,
                             annotated_dir=save_annotated, min_score=min_score, stage_times=stage_times)
    predictor = EmotionPredictor(model, num_threads=threads, detector=detector, tta=tta)
    emit = lambda line: print(line, flush=True)  # noqa: E731
    if camera is not None:
        camera_loop(predictor, camera, options, emit, max_frames=max_frames)
        return
    if predict_images(predictor, expand_images([Path(p) for p in images]), options, emit):
        raise typer.Exit(2)


@app.command("models")
@user_errors
def models_command() -> None:
    """The models shipped inside edgefer, timed on this CPU, and the one to use here (`--model auto` picks it).

    Accuracy and labels come from each model's card (a real `edgefer bench` run on FER2013 PublicTest; NAME_model.json
    beside it, where the training and the run are described); the time per face is measured now, on this machine.
    """
    from edgefer.packaged import models_table, packaged_models
    from edgefer.predictor import auto_model, p50_ms_per_face

    models = packaged_models()
    choice = auto_model()
    here = {m.name: choice.latency_ms.get(m.name) or p50_ms_per_face(m.path, 1, 100) for m in models}  # timed once
    out.print(models_table(models, here))
    name, why = choice.reason.split(": ", 1)
    out.print(f"Recommended here: [bold]{name}[/]", highlight=False)
    out.print(f"  {why}.", highlight=False)
    out.print("Use one with --model NAME, or --model auto (EmotionPredictor(\"auto\") in Python).", highlight=False)
    out.print("ferplus answers the FER+ annotators' 8 classes (with Contempt).", highlight=False)


def _pipeline(**options) -> None:
    """The whole job: train -> export int8 + ONNX -> bench -> predict, into one folder.

    With no option it runs offline on the embedded 560-face sample and fine-tunes the packaged default model
    (the finetune recipe: 1 epoch of the head on the frozen base, then the top layers), so the new model starts
    from one that knows faces. --weights none trains from scratch instead (on 336 faces: near chance). For real
    results give --data and --epochs.
    """
    from edgefer.pipeline import run_pipeline

    config = PipelineConfig(**config_values(PipelineConfig, options))
    run_pipeline(config, lambda text: stdout_console.print(text, soft_wrap=True, highlight=False))


app.command("pipeline")(user_errors(command_with_options(_pipeline, PipelineConfig)))


def _analyze(source: str, **options) -> None:
    """What each person in a video felt, when, and for how long: faces followed across frames, emotions smoothed.

    SOURCE: a video file, a folder of frames, a camera index (0), or 'sample' (a built-in clip of three people).
    Writes OUT/faces.csv (a row per face per analysed frame: track, box, raw and smoothed probabilities),
    OUT/tracks.csv (per person: first/last time, share of time per emotion, dominant emotion), OUT/summary.json and
    OUT/timeline.png; --save-video also the annotated frames. Videos and cameras need OpenCV: pip install
    'edgefer[video]'. A person who leaves and comes back may get a new track id.
    """
    from edgefer.analyze.run import analyze

    result = analyze(AnalyzeConfig(source=source, **config_values(AnalyzeConfig, options)))
    summary = result.summary
    for track in summary["tracks"]:
        out.print(f"track {track['track']}: {track['first_s']:.1f}-{track['last_s']:.1f} s, {track['frames_seen']} "
                  f"frames, mostly {track['dominant']} ({track['share_' + track['dominant']]:.0%})", highlight=False)
    state = "" if summary["complete"] else f" (incomplete: {summary['error']})"
    out.print(f"{summary['frames_read']} frames ({summary['frames_analysed']} analysed) at {summary['fps_achieved']} "
              f"frames/s, {len(summary['tracks'])} track(s){state}", highlight=False)
    out.print("wrote " + ", ".join(str(p) for p in result.files), highlight=False)
    if not summary["complete"] and summary["frames_analysed"] == 0:
        raise typer.Exit(2)


SOURCE_ARG = inspect.Parameter("source", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str, default=typer.Argument(
    ..., help="A video file, a folder of frames, a camera index (0), or 'sample'.", show_default=False))
app.command("analyze")(user_errors(command_with_options(_analyze, AnalyzeConfig, SOURCE_ARG)))


def _teacher_record(teacher: str, output: Path, **options) -> None:
    """Record a teacher's probabilities once per face (every split, by row id) for `edgefer train --teacher OUT.npz`:
    distillation from a teacher too slow to run every epoch on a CPU (each face then gets its recorded targets
    whatever augmentation the student sees)."""
    import time

    from edgefer.data.loading import load_dataset
    from edgefer.train.distill import record_teacher

    config = RecordConfig(**config_values(RecordConfig, options)).validate()
    dataset = load_dataset(config.data, labels=config.labels)
    start = time.perf_counter()
    record_teacher(teacher, dataset, output, tta=config.tta)
    out.print(f"recorded {len(dataset.labels):,} faces ({config.tta}) of {teacher} in {time.perf_counter() - start:.0f} s "
              f"-> {output}", highlight=False)


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
