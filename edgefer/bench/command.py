"""`edgefer bench` as the command line runs it: which bench the options ask for, its outputs and its exit status.

- crops (the default): every artifact on the test faces, scored against FER2013's labels and, where the FER+ votes
  are found, against the annotators' majority (`edgefer.bench.run`); with `--photos DIR` beside it, each TFLite
  artifact also end to end on that folder of photos (its class subfolders are the truth), in the same table;
- `--photos DIR|sample` without `--data`: whole photos by size, beside peers (`edgefer.bench.photos`);
- `--frames`: whole camera frames, per stage (`edgefer.bench.frames`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from edgefer.bench.external import check_normalize, parse_labels
from edgefer.bench.frames import FrameBenchConfig, report_frames
from edgefer.bench.options import BenchOptions
from edgefer.bench.photos import PhotoBenchConfig, pipeline_totals, report_photos, run_photo_bench
from edgefer.bench.report import table, write_outputs
from edgefer.bench.run import BenchConfig, run_bench, tta_modes
from edgefer.core.extras import require
from edgefer.errors import DataError


def bench_command(paths, options: BenchOptions, out, err) -> int:
    """Run the bench `options` ask for on `paths`; results on `out`, failures on `err` (rich consoles); exit status."""
    models = [str(p) for p in paths or []] or ["default"]
    crops_and_photos = options.photos is not None and options.photos != "sample" and options.data is not None
    if options.photos is not None and not crops_and_photos:  # photos by size, end to end
        config = PhotoBenchConfig(source=options.photos, models=models, out=options.out, peers=options.peers,
                                  threads=options.thread_counts()[0], rounds=options.rounds,
                                  data=str(options.data) if options.data else None, per_class=options.proxy_per_class)
        return report_photos(config, out.print, err.print)
    if options.frames is not None:  # whole frames
        config = FrameBenchConfig(source=options.frames, models=models, out=options.out, peers=options.peers,
                                  threads=options.thread_counts(), rounds=options.rounds,
                                  resize_backend=options.resize_backend)
        return report_frames(config, out.print, err.print)
    if not paths:
        raise DataError("no artifacts given; usage: edgefer bench RUN_OR_MODEL... (or --frames DIR, --photos DIR)")
    suffixes = {Path(p).suffix.lower() for p in paths}
    require("bench", "train", ("matplotlib",) + ((("keras",) if ".keras" in suffixes else ()))
            + (("onnxruntime",) if ".onnx" in suffixes else ()))
    return _crops(paths, options, out, err, photos=options.photos if crops_and_photos else None)


def _crops(paths, options: BenchOptions, out, err, photos: str | None) -> int:
    config = BenchConfig(paths=paths, data=str(options.data) if options.data else None, split=options.split,
                         threads=options.thread_counts(), runs=options.runs, warmup=options.warmup,
                         rounds=options.rounds, min_accuracy=options.min_accuracy, out=options.out,
                         input_size=options.input_size, normalize=check_normalize(options.normalize),
                         labels=parse_labels(options.class_names or options.labels), tta=tta_modes(options.tta),
                         label_source=options.labels_source, ferplus=str(options.ferplus) if options.ferplus else None)
    report = run_bench(config)
    if photos is not None:
        add_photo_accuracy(report, photos, Path(options.out))
    write_outputs(report.to_json(), options.out)
    out.print(table(report.to_json()))
    out.print(f"wrote {options.out}/bench.json, bench.csv, bench.md and plots", highlight=False)
    for row in report.failed():
        err.print(f"[red]{row.name}: failed:[/] {row.error or ''}", highlight=False, soft_wrap=True)
    if report.under(options.min_accuracy):
        err.print(f"[red]under --min-accuracy {options.min_accuracy:.2%}:[/] "
                  f"{', '.join(r.name for r in report.under(options.min_accuracy))}")
    return report.exit_code(options.min_accuracy)


def add_photo_accuracy(report, photos: str, out: Path) -> None:
    """Each measured TFLite row's end-to-end accuracy and per-class recall on a folder of labelled photos (the photo
    bench, one pass of each model on the files), as the row's `photos`."""
    for row in report.rows:
        if not row.ok or row.format != "tflite" or row.tta != "none" or row.kind != "edgefer":
            continue
        with tempfile.TemporaryDirectory() as scratch:
            photo_report = run_photo_bench(PhotoBenchConfig(source=photos, models=[row.path], inputs=["file"],
                                                            rounds=1, warmup=1, out=Path(scratch)))
        if photo_report.failures or not photo_report.rows:
            row.photos = {"source": photos, "error": (photo_report.failures or [{"error": "no photos"}])[0]["error"]}
            continue
        (total,) = pipeline_totals(photo_report).values()
        if total["accuracy"] is None:
            raise DataError(f"--photos {photos}: no labelled photos (class subfolders such as happy/, neutral/) to "
                            f"score; without labels use --photos alone for faces found and speed")
        row.photos = {"source": photos, "n": total["labelled"], "accuracy": total["accuracy"],
                      "macro_recall": total["macro_recall"], "recall": total["recall"]}
