"""The `edgefer` command line: parses options and calls the library, nothing more."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from edgefer import __version__
from edgefer.errors import DataError, EdgeferError
from edgefer.export.formats import EXPORT_FORMATS
from edgefer.predictor import PredictorError
from edgefer.progress import console, stdout_console
from edgefer.train.backbones import BACKBONE_NAMES


def _hide_flag_types() -> None:
    """Typer 0.29's rich help prints `<bool>` after every on/off flag, which reads as if it took a value."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_edgefer", False):
        return

    def display_type_rich(self, ctx):
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    display_type_rich._edgefer = True
    TyperOption.display_type_rich = display_type_rich


_hide_flag_types()

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
        except (EdgeferError, PredictorError) as error:
            console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except OSError as error:  # an output that cannot be written (read-only, under a file, disk full)
            console.print(f"[bold red]error:[/] {describe_os_error(error)}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper


def describe_os_error(error: OSError) -> str:
    """One line: the path and what went wrong, e.g. 'out/x.png: cannot write there (Not a directory)'."""
    import errno

    path = error.filename or ""
    reason = error.strerror or str(error)
    hints = {errno.ENOSPC: "the disk is full", errno.EROFS: "read-only file system",
             errno.EACCES: "permission denied", errno.ENOTDIR: "a part of the path is a file, not a folder",
             errno.EEXIST: "a file is in the way of a folder"}
    hint = hints.get(error.errno)
    detail = f"{hint} ({reason})" if hint and hint.lower() != reason.lower() else reason
    return f"{path}: cannot read or write there: {detail}" if path else f"file system error: {detail}"


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
LABELS_OPT = typer.Option("fer2013", "--labels", help="Label source: fer2013 (7 classes), ferplus (8, adds Contempt), or folders (an image tree's class folders are the classes: your own, any number).")
FERPLUS_OPT = typer.Option(None, "--ferplus", help="fer2013new.csv[.gz]; default: found beside the CSV.")
SKIP_BAD_OPT = typer.Option(False, "--skip-bad", help="Skip bad rows/files and report how many, instead of stopping.")
CACHE_DIR_OPT = typer.Option(None, "--cache-dir", help="Parse cache folder (default $EDGEFER_CACHE_DIR or ~/.cache/edgefer).")
NO_CACHE_OPT = typer.Option(False, "--no-cache", help="Parse the source again and write no cache.")


def _load(path, labels, ferplus, skip_bad, cache_dir, no_cache):
    from edgefer.data.loading import load_dataset

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
    from edgefer.data.stats import dataset_stats

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
    from edgefer.data.plots import show_dataset

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
    from edgefer.data.npz_format import save_npz
    from edgefer.data.sample import stratified_sample

    dataset = _load(path, "fer2013", None, skip_bad, cache_dir, False)
    subset = stratified_sample(dataset, {"Training": train_per_class, "PublicTest": test_per_class}, seed=seed)
    save_npz(subset, output, compress=True)
    out.print(f"wrote {len(subset):,} faces to {output}", highlight=False)


def _expand(value: str, choices: tuple[str, ...], every: str) -> list[str]:
    if value == every:
        return list(choices)
    if value not in choices:
        raise DataError(f"expected one of {', '.join(choices + (every,))}, got {value!r}")
    return [value]


@app.command("train")
@user_errors
def train_command(
    data: Optional[Path] = typer.Option(None, "--data", help="FER2013 in any form `data info` reads. Default: the embedded sample."),
    model: str = typer.Option("mobilenetv2", "--model", help=f"{', '.join(BACKBONE_NAMES)}, or all."),
    mode: str = typer.Option("simple", "--mode", help="finetune recipe: simple (frozen base + head), advanced (augmentation, then fine-tuning), or both. Ignored by the scratch recipe."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Epochs in all (advanced: head epochs + fine-tuning epochs). Default 25. With --resume: a new total (more to extend; the epochs done to finish now)."),
    img_size: Optional[int] = typer.Option(None, "--img-size", help="Side the 48x48 face is resized to inside the model (32-224). Default 224, or the packaged model's own size with --weights default/fast.", show_default=False),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="MobileNetV2 width multiplier: 0.35, 0.5, 0.75, 1.0, 1.3 or 1.4 (narrower: faster, less accurate). Default 1.0, or the packaged model's.", show_default=False),
    weights: str = typer.Option("imagenet", "--weights", help="imagenet (Keras cache, downloads if missing), none (from scratch), default, fast or ferplus (start from that packaged model: offline, knows faces already; a new head when your classes differ), a no-top weights .h5, or an earlier run's model.keras (its backbone)."),
    recipe: str = typer.Option("auto", "--recipe", help="scratch (one phase, every layer, AdamW + warm-up + cosine, label smoothing, flip/shift/erasing), finetune (head on the frozen base, then top layers unfrozen), or auto: scratch with --weights none, else finetune. The options below left unset take the recipe's defaults."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Default: scratch 128, finetune 64."),
    labels: str = LABELS_OPT,
    ferplus: Optional[Path] = FERPLUS_OPT,
    ferplus_target: str = typer.Option("majority", "--ferplus-target", help="With --labels ferplus: majority (one-hot majority label; measured 0.3 pp better) or votes (cross-entropy against each face's distribution of the 10 annotators' votes)."),
    out: Path = typer.Option(Path("runs"), "--out", help="Parent folder of the run folders."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue an interrupted run folder from its last checkpoint."),
    seed: int = typer.Option(0, "--seed", help="Seeds the split, the batch order, augmentation and initialisation."),
    learning_rate: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate (scratch, default 2e-3) or that of the head phase (finetune, default 1e-3)."),
    optimizer: Optional[str] = typer.Option(None, "--optimizer", help="adam, adamw or sgd (Nesterov momentum 0.9). Default: scratch adamw, finetune adam."),
    weight_decay: Optional[float] = typer.Option(None, "--weight-decay", min=0.0, help="Decoupled weight decay (adamw, sgd). Default: scratch 0.05."),
    warmup_epochs: Optional[int] = typer.Option(None, "--warmup-epochs", min=0, help="Epochs of linear warm-up before the cosine decay. Default: scratch 2, finetune 0."),
    augment: Optional[str] = typer.Option(None, "--augment", help="Augmentation strength: none, light (flip, +-3 px shifts), standard (flip, +-5 px shifts, random erasing), strong. Default: scratch standard, finetune light (advanced) / none (simple)."),
    fine_tune_lr: float = typer.Option(1e-4, "--fine-tune-lr", help="Learning rate of the fine-tuning phase."),
    lr_schedule: str = typer.Option("cosine", "--lr-schedule", help="cosine (each phase decays from its rate towards 0) or constant."),
    head_epochs: Optional[int] = typer.Option(None, "--head-epochs", help="Advanced: epochs on the frozen base before fine-tuning (default: a fifth)."),
    unfreeze: str = typer.Option("default", "--unfreeze", help="Advanced: top base layers to unfreeze: a number, 'all', or 'default' (about two blocks)."),
    teacher: Optional[Path] = typer.Option(None, "--teacher", help="Distil from a trained run (its model.keras), a .keras file (run as its fp32 TFLite when that agrees: faster on a CPU), or an exported .tflite/.onnx: soft targets once per epoch on the augmented faces."),
    kd_temperature: float = typer.Option(4.0, "--kd-temperature", help="With --teacher: softmax temperature of the soft targets."),
    kd_weight: float = typer.Option(0.7, "--kd-weight", min=0.0, max=1.0, help="With --teacher: weight of the teacher's loss (the rest: hard labels)."),
    teacher_tta: str = typer.Option("none", "--teacher-tta", help="With --teacher: none, or flip (the teacher's targets averaged over each face and its mirror image: a more accurate teacher, twice its pass per epoch)."),
    val_fraction: float = typer.Option(0.2, "--val-fraction", min=0.01, max=0.5, help="Share of the training split held out (stratified) for validation, model selection and early reports."),
    class_weights: bool = typer.Option(False, "--class-weights", help="Weight classes inversely to their frequency (Disgust is 1.5% of Training)."),
    label_smoothing: Optional[float] = typer.Option(None, "--label-smoothing", min=0.0, max=0.5, help="Default: scratch 0.1, finetune 0."),
    no_feature_cache: bool = typer.Option(False, "--no-feature-cache", help="Simple mode: run the frozen base every epoch instead of caching its features (slow; for comparison)."),
    distribute: bool = typer.Option(False, "--distribute", help="Data-parallel over all local GPUs (TensorFlow MirroredStrategy / JAX DataParallel); --batch-size is per device."),
    cache_dir: Optional[Path] = CACHE_DIR_OPT,
) -> None:
    """Transfer learning with MobileNetV2 / EfficientNetB0; each run writes runs/<model>-<mode>[-N]/."""
    from edgefer.train.config import TrainConfig
    from edgefer.train.training import resume_run, train

    if resume is not None:
        results = [resume_run(resume, epochs=epochs)]
    else:
        from edgefer.train.config import MODES

        results = []
        for name in _expand(model, BACKBONE_NAMES, "all"):
            for run_mode in _expand(mode, MODES, "both"):
                config = TrainConfig(
                    model=name, mode=run_mode, data=str(data) if data else None, labels=labels,
                    ferplus=str(ferplus) if ferplus else None, ferplus_target=ferplus_target, epochs=epochs or 25, img_size=img_size, alpha=alpha, weights=weights,
                    recipe=recipe, batch_size=batch_size, learning_rate=learning_rate, fine_tune_learning_rate=fine_tune_lr,
                    lr_schedule=lr_schedule, optimizer=optimizer, weight_decay=weight_decay, warmup_epochs=warmup_epochs,
                    augment=augment,
                    head_epochs=head_epochs, unfreeze=unfreeze, label_smoothing=label_smoothing,
                    class_weights=class_weights, val_fraction=val_fraction,
                    teacher=str(teacher) if teacher else None, kd_temperature=kd_temperature, kd_weight=kd_weight, kd_tta=teacher_tta, cache_features=not no_feature_cache, seed=seed, out=str(out),
                    cache_dir=str(cache_dir) if cache_dir else None, distribute=distribute,
                )
                results.append(train(config))
    out_console = stdout_console
    table = Table(title="training summary")
    for column in ("run", "model", "recipe", "size", "weights", "val acc", "test acc", "epochs", "time"):
        table.add_column(column, overflow="fold")
    for r in results:
        row = r.summary_row()
        table.add_row(row["run"], row["model"], row["recipe"], str(row["img_size"]), row["weights"],
                      f"{row['val_acc']:.2%}", f"{row['test_acc']:.2%} (n={row['test_n']:,})", str(row["epochs"]),
                      f"{row['seconds']:.0f} s")
    out_console.print(table)
    if any(r.config.weights == "none" for r in results):
        out_console.print("note: weights none = trained from scratch, no ImageNet weights", highlight=False)


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
    from edgefer.export.formats import ALL_FORMATS, DEFAULT_FORMATS
    from edgefer.export.run import export_run

    flags = {"int8": int8, "int16x8": int16x8, "fp16": fp16, "dynamic": dynamic, "fp32": fp32, "onnx": onnx,
             "onnx-int8": onnx_int8}
    named = [n.strip() for n in (format_names or "").split(",") if n.strip()]
    unknown = [n for n in named if n not in EXPORT_FORMATS]
    if unknown:
        raise typer.BadParameter(f"{', '.join(unknown)}; expected one of {', '.join(EXPORT_FORMATS)}",
                                 param_hint="--format")
    asked = [f for f in EXPORT_FORMATS if flags.get(f) or f in named]
    formats = ([f for f in EXPORT_FORMATS if f in ALL_FORMATS or f in asked] if all_formats
               else asked or list(DEFAULT_FORMATS))
    folder, results = export_run(source, formats, out=out, data=str(data) if data else None,
                                 calib_samples=calib_samples, check_samples=check_samples)
    table = Table(title=f"export to {folder}  (checked on {check_samples} validation faces against Keras)")
    for column in ("format", "file", "size MB", "agreement", "accuracy (Keras)", "status"):
        table.add_column(column, overflow="fold")
    for r in results:
        pct = lambda v: "-" if v is None else f"{v:.1%}"  # noqa: E731
        status = "[green]ok[/]" if r.status == "ok" else f"[red]failed[/]: {r.reason}"
        table.add_row(r.format, Path(r.file).name if r.file else "-", f"{r.size_mb:.2f}", pct(r.agreement),
                      f"{pct(r.accuracy)} ({pct(r.keras_accuracy)})", status)
    stdout_console.print(table)
    if any(r.status != "ok" for r in results):
        raise typer.Exit(1)


def _int_list(text: str) -> list[int]:
    try:
        values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise DataError(f"--threads {text!r}; expected positive integers separated by commas, e.g. 1,2")
    return values


def _tta_list(text: str) -> list[str]:
    """--tta for bench: the plain row always, plus one row per augmentation asked for."""
    from edgefer.predictor import TTA_MODES

    modes = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [m for m in modes if m not in TTA_MODES]
    if unknown or not modes:
        raise DataError(f"--tta {text!r}; expected {' or '.join(TTA_MODES)} (comma-separated)")
    return ["none"] + [m for m in dict.fromkeys(modes) if m != "none"]


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
    labels: Optional[str] = typer.Option(None, "--labels", help="External models: their class names in output order, comma-separated."),
    tta: str = typer.Option("none", "--tta", help="none, flip (each artifact also measured with flip averaging, as a row of its own: accuracy and latency), or none,flip."),
    labels_source: str = typer.Option("fer2013", "--labels-source", help="Labels to score against: fer2013, or ferplus (the FER+ majority vote, 8 classes, fer2013new.csv beside the CSV; 7-class models map onto it by name and Contempt counts as wrong for them; also reports accuracy on the faces where both label sources agree)."),
    ferplus: Optional[Path] = FERPLUS_OPT,
    frames: Optional[str] = typer.Option(None, "--frames", help="Time whole frames instead (decode, find faces, crop, classify) as EmotionPredictor.predict_frame runs them: a folder of images (with faces.json: faces found are scored), a video file, or 'sample' (a built-in set of VGA, 720p and portrait frames with known faces). Per frame p50/p99, ms per stage, faces found."),
    peer: Optional[str] = typer.Option(None, "--peer", help="With --frames: also time another library's whole pipeline on the same frames: fer (needs the fer package; see benchmarks/frames_vs_fer.sh)."),
    resize_backend: Optional[str] = typer.Option(None, "--resize-backend", help="With --frames: force edgefer's resizing to pillow or numpy (default: pillow when importable)."),
) -> None:
    """Accuracy (batched) and batch-1 latency of every artifact on the same test faces, side by side.

    With --frames: what a whole frame costs, per stage, beside the `fer` package's pipeline (--peer fer).
    """
    if frames is not None:
        _bench_frames(paths or [], frames, peer, _int_list(threads), rounds, out, resize_backend)
        return
    if not paths:
        raise DataError("no artifacts given; usage: edgefer bench RUN_OR_MODEL... (or --frames DIR)")
    from edgefer.bench.external import check_normalize, parse_labels
    from edgefer.bench.report import table, write_outputs
    from edgefer.bench.run import BenchConfig, run_bench

    config = BenchConfig(paths=paths, data=str(data) if data else None, split=split, threads=_int_list(threads),
                         runs=runs, warmup=warmup, rounds=rounds, min_accuracy=min_accuracy, out=out, input_size=input_size,
                         normalize=check_normalize(normalize), labels=parse_labels(labels), tta=_tta_list(tta),
                         label_source=labels_source, ferplus=str(ferplus) if ferplus else None)
    report = run_bench(config)
    write_outputs(report, out)
    stdout_console.print(table(report))
    stdout_console.print(f"wrote {out}/bench.json, bench.csv, bench.md and plots", highlight=False)
    failed = [a["name"] for a in report["artifacts"] if a["status"] != "ok"]
    for a in report["artifacts"]:
        if a["status"] != "ok":
            console.print(f"[red]{a['name']}: failed:[/] {a.get('error', '')}", highlight=False, soft_wrap=True)
    below = [a["name"] for a in report["artifacts"]
             if min_accuracy is not None and a["status"] == "ok" and a["accuracy"] < min_accuracy]
    if below:
        console.print(f"[red]under --min-accuracy {min_accuracy:.2%}:[/] {', '.join(below)}")
    if failed or below:
        raise typer.Exit(1)


def _bench_frames(paths, frames, peer, threads, rounds, out, resize_backend) -> None:
    from edgefer.bench.frames import (
        FrameBenchConfig,
        comparison_lines,
        frame_table,
        run_frame_bench,
        write_frame_outputs,
    )
    from edgefer.predictor import RESIZE_BACKENDS

    if resize_backend is not None and resize_backend not in RESIZE_BACKENDS:
        raise DataError(f"--resize-backend {resize_backend!r}; expected {' or '.join(RESIZE_BACKENDS)}")
    config = FrameBenchConfig(source=frames, models=[str(p) for p in paths] or ["default"],
                              peers=[p.strip() for p in (peer or "").split(",") if p.strip()], threads=threads,
                              rounds=rounds, out=out, resize_backend=resize_backend)
    report = run_frame_bench(config)
    write_frame_outputs(report, out)
    stdout_console.print(frame_table(report))
    for line in comparison_lines(report):
        stdout_console.print(line, highlight=False)
    stdout_console.print(f"wrote {out}/frames.json and frames.md", highlight=False)
    for failure in report.failures:
        console.print(f"[red]{failure['pipeline']} ({failure['threads']} thread(s)): failed:[/] {failure['error']}",
                      highlight=False, soft_wrap=True)
    if report.failures:
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
    model_name: Optional[str] = typer.Option(None, "--model", help="A packaged model: default (the most accurate on FER2013 labels), fast (the fastest) or ferplus (8 classes, FER+ labels); see `edgefer models`. Or a .tflite path."),
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
    """The models shipped inside edgefer (use one with `edgefer predict --model NAME`): accuracy, speed, trade-off.

    Figures come from each model's card (NAME_model.json beside it), written from a real `edgefer bench` run on the
    FER2013 PublicTest faces; latency depends on the CPU, so compare models within one bench run on yours.
    """
    from edgefer.packaged import packaged_models

    table = Table(title="packaged models: PublicTest accuracy, p50 latency at batch 1 on 1 thread (each from its card)")
    for column in ("name", "model", "MB", "accuracy", "scored on", "p50 ms", "CPU of that run"):
        table.add_column(column, overflow="fold")
    models = packaged_models()
    for model in models:
        accuracy, latency = model.accuracy, model.latency_ms()
        extensions = ", ".join(model.card.get("bench", {}).get("machine", {}).get("vector_extensions", [])) or "?"
        table.add_row(model.name, model.architecture, f"{model.path.stat().st_size / 1e6:.2f}",
                      f"{accuracy:.2%}" if accuracy is not None else "?", model.labels,
                      f"{latency:.2f}" if latency else "?", f"{model.machine} ({extensions})")
    out.print(table)
    for model in models:
        out.print(f"[bold]{model.name}[/] (measured on {model.machine}): "
                  f"{model.card.get('tradeoff') or 'no trade-off recorded'}", highlight=False)
    out.print("Use one with `edgefer predict --model NAME IMAGE...`; `default` is used when no model is given.")


@app.command("pipeline")
@user_errors
def pipeline_command(
    data: Optional[Path] = typer.Option(None, "--data", help="FER2013 in any form. Default: the embedded sample (offline, minutes)."),
    out: Path = typer.Option(Path("pipeline"), "--out", help="Folder for runs/, export/ and bench/."),
    model: str = typer.Option("mobilenetv2", "--model", help=f"{' or '.join(BACKBONE_NAMES)}."),
    img_size: Optional[int] = typer.Option(None, "--img-size", help="Input side inside the model. Default: the packaged model's (64) with --weights default, else 96.", show_default=False),
    epochs: int = typer.Option(4, "--epochs", min=2, help="Training epochs (1 head + the rest fine-tuning)."),
    weights: str = typer.Option("default", "--weights", help="default, fast or ferplus (fine-tune the packaged model: offline, learns from the first epoch), none (from scratch: the scratch recipe, every layer), imagenet, or a no-top .h5."),
    bench_runs: int = typer.Option(100, "--bench-runs", min=1, help="Timed single-face inferences per thread count."),
) -> None:
    """The whole job: train -> export int8 + ONNX -> bench -> predict, into one folder.

    With no option it runs offline on the embedded 560-face sample and fine-tunes the packaged default model
    (the finetune recipe: 1 epoch of the head on the frozen base, then the top layers), so the new model starts
    from one that knows faces. --weights none trains from scratch instead (on 336 faces: near chance). For real
    results give --data and --epochs.
    """
    from edgefer.pipeline import PipelineConfig, run_pipeline

    config = PipelineConfig(out=out, data=str(data) if data else None, model=model, img_size=img_size, epochs=epochs,
                            weights=weights, bench_runs=bench_runs)
    run_pipeline(config, lambda text: stdout_console.print(text, soft_wrap=True, highlight=False))


if __name__ == "__main__":
    app()
