"""How far any mixture of recorded teachers reaches on both label sources at once: the ceiling a student distilled
from them can approach, against the targets asked of the packaged models.

    python research/label_frontier.py T/*.npz --data ../shared/data/fer2013 --target default=68,80 \
        --target fast=66,78 --bench CANDIDATES/bench.json --out research/figures/label-frontier

Every recording (`edgefer teacher record`: each face's probabilities, flip-averaged) is scored on PublicTest against
FER2013's labels and against the FER+ annotators' majority (faces whose majority is not one of the seven emotions left
out). Then mixtures: the weighted mean of the recordings that score higher on FER2013's labels against the mean of
those that score higher on FER+ (w = 0, 0.05, ..., 1), and `--samples` random weightings of all recordings
(Dirichlet, seeded). The mixture weights are chosen on the same faces they are scored on, so the ceiling this prints
is an optimistic one: a mixture that misses a target here misses it on faces it was not tuned on.
`--bench` adds the int8 candidates of an `edgefer bench` run (both label sources) to the picture.
Writes frontier.md, frontier.json and frontier.png under --out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from edgefer.core.fileio import atomic_path
from edgefer.data.classes import FER2013_CLASSES
from edgefer.data.ferplus import find_ferplus_file, majority_labels
from edgefer.data.loading import load_dataset
from edgefer.errors import ModelError
from edgefer.train.distill import load_teacher


def parse_target(text: str) -> tuple[str, float, float]:
    try:
        name, values = text.split("=")
        fer2013, ferplus = (float(v) for v in values.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=FER2013,FERPLUS in percent, e.g. default=68,80")
    return name, fer2013, ferplus


def test_faces(data: str):
    """PublicTest's faces, row ids, FER2013 labels and FER+ majority (-1 where it is not one of the seven emotions)."""
    dataset = load_dataset(data)
    majority = majority_labels(dataset, find_ferplus_file(Path(data)))
    test = dataset.usage == "PublicTest"
    return dataset.images[test], dataset.row_ids[test], dataset.labels[test], majority[test]


def recorded_on(path: Path, rows: np.ndarray) -> np.ndarray:
    """A recording's probabilities of these rows on FER2013's seven classes (edgefer's own teacher lookup: an
    eight-class FER+ recording is used on the seven by name, renormalised), or one line naming what is missing."""
    try:
        teacher = load_teacher(path, len(FER2013_CLASSES), classes=FER2013_CLASSES)
        return teacher.recorded(rows).astype(np.float64)
    except ModelError as error:
        raise SystemExit(str(error)) from None


def scorer(labels: np.ndarray, majority: np.ndarray):
    voted = majority >= 0

    def score(probs: np.ndarray) -> tuple[float, float]:
        predicted = probs.argmax(axis=1)
        return (100 * float((predicted == labels).mean()),
                100 * float((predicted[voted] == majority[voted]).mean()))
    return score


def bench_points(path: Path) -> list[dict]:
    """(name, FER2013, FER+) of every artifact in an `edgefer bench` bench.json that has both label sources."""
    report = json.loads(path.read_text())
    return [{"name": a["name"], "fer2013": 100 * a["accuracy"], "ferplus": 100 * a["ferplus_majority"]["accuracy"]}
            for a in report["artifacts"] if a.get("status") == "ok" and a.get("ferplus_majority")]


def frontier(probs: dict[str, np.ndarray], score, samples: int, seed: int, targets) -> dict:
    names = list(probs)
    singles = {n: score(p) for n, p in probs.items()}
    fer_side = [n for n in names if singles[n][0] > singles[n][1]]
    plus_side = [n for n in names if n not in fer_side]
    sweep = []
    if fer_side and plus_side:
        a, b = np.mean([probs[n] for n in fer_side], 0), np.mean([probs[n] for n in plus_side], 0)
        sweep = [(float(w), *score(w * a + (1 - w) * b)) for w in np.linspace(0, 1, 21)]
    stack = np.stack([probs[n] for n in names])
    rng = np.random.default_rng(seed)
    mixtures = []
    for i in range(samples):
        weights = rng.dirichlet(np.full(len(names), 0.3 if i % 2 else 1.0))  # sparse and even weightings in turn
        mixtures.append((*score(np.tensordot(weights, stack, axes=1)), weights))
    every = [(f, p) for f, p, _ in mixtures] + [(f, p) for _, f, p in sweep] + list(singles.values())
    best_sum = max(every, key=sum)
    closest = {}
    for name, need_fer, need_plus in targets:
        f, p, w = max(mixtures, key=lambda m: min(m[0] - need_fer, m[1] - need_plus))
        closest[name] = {"target": [need_fer, need_plus], "fer2013": f, "ferplus": p,
                         "margin_pp": min(f - need_fer, p - need_plus),
                         "weights": {n: round(float(x), 3) for n, x in zip(names, w) if x >= 0.005}}
    return {"singles": {n: {"fer2013": f, "ferplus": p} for n, (f, p) in singles.items()},
            "fer2013_side": fer_side, "ferplus_side": plus_side,
            "sweep": [{"w_fer2013_side": w, "fer2013": f, "ferplus": p} for w, f, p in sweep],
            "samples": samples, "seed": seed, "best_sum": {"fer2013": best_sum[0], "ferplus": best_sum[1],
                                                         "sum_pp": sum(best_sum)},
            "closest_to_target": closest, "cloud": [[f, p] for f, p, _ in mixtures]}


def markdown(result: dict, bench: list[dict], command: str) -> str:
    lines = [f"Command: `{command}`", "", "PublicTest: FER2013 labels (3,589 faces) and FER+ majority (the faces whose "
             "majority is one of the seven emotions).", "", "| recording | FER2013 | FER+ majority | sum, pp |",
             "|---|---|---|---|"]
    for name, s in result["singles"].items():
        lines.append(f"| {name} | {s['fer2013']:.2f}% | {s['ferplus']:.2f}% | {s['fer2013'] + s['ferplus']:.1f} |")
    if result["sweep"]:
        lines += ["", f"Sweep: w x mean({', '.join(result['fer2013_side'])}) + (1 - w) x "
                  f"mean({', '.join(result['ferplus_side'])})", "", "| w | FER2013 | FER+ majority | sum, pp |",
                  "|---|---|---|---|"]
        lines += [f"| {s['w_fer2013_side']:.2f} | {s['fer2013']:.2f}% | {s['ferplus']:.2f}% | "
                  f"{s['fer2013'] + s['ferplus']:.1f} |" for s in result["sweep"]]
    best = result["best_sum"]
    lines += ["", f"Best sum of any mixture ({result['samples']} random weightings, seed {result['seed']}, the sweep and "
              f"the recordings): **{best['sum_pp']:.2f} pp** ({best['fer2013']:.2f}% / {best['ferplus']:.2f}%)."]
    for name, c in result["closest_to_target"].items():
        need_fer, need_plus = c["target"]
        verdict = "reached" if c["margin_pp"] >= 0 else "not reached by any mixture"
        lines.append(f"- `{name}` target {need_fer:g}% / {need_plus:g}%: {verdict}; the closest mixture "
                     f"{c['fer2013']:.2f}% / {c['ferplus']:.2f}% (margin {c['margin_pp']:+.2f} pp; weights "
                     f"{', '.join(f'{n} {w:.2f}' for n, w in c['weights'].items())})")
    if bench:
        lines += ["", "| bench candidate (int8) | FER2013 | FER+ majority | sum, pp |", "|---|---|---|---|"]
        lines += [f"| {b['name']} | {b['fer2013']:.2f}% | {b['ferplus']:.2f}% | {b['fer2013'] + b['ferplus']:.1f} |"
                  for b in bench]
    return "\n".join(lines) + "\n"


def plot(result: dict, bench: list[dict], targets, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6.5))
    cloud = np.array(result["cloud"])
    if len(cloud):
        ax.scatter(cloud[:, 0], cloud[:, 1], s=4, c="0.8", label="random mixtures of the recordings")
    if result["sweep"]:
        ax.plot([s["fer2013"] for s in result["sweep"]], [s["ferplus"] for s in result["sweep"]], "-", c="tab:blue",
                lw=1.2, label="FER2013-side : FER+-side mixture sweep")
    for name, s in result["singles"].items():
        ax.plot(s["fer2013"], s["ferplus"], "o", c="tab:blue", ms=4)
        ax.annotate(name, (s["fer2013"], s["ferplus"]), fontsize=7, xytext=(3, 2), textcoords="offset points")
    for b in bench:
        ax.plot(b["fer2013"], b["ferplus"], "s", c="tab:green", ms=4)
        ax.annotate(b["name"].removesuffix(".tflite"), (b["fer2013"], b["ferplus"]), fontsize=6, color="tab:green",
                    xytext=(3, -7), textcoords="offset points")
    if bench:
        ax.plot([], [], "s", c="tab:green", ms=4, label="int8 candidates (bench)")
    best = result["best_sum"]["sum_pp"]
    xs = np.array(ax.get_xlim())
    ax.plot(xs, best - xs, ":", c="k", lw=1, label=f"FER2013 + FER+ = {best:.1f} pp (best mixture)")
    for (name, need_fer, need_plus), colour in zip(targets, ("tab:red", "tab:orange", "tab:purple")):
        ax.plot([need_fer, need_fer, xs[1]], [ax.get_ylim()[1], need_plus, need_plus], "--", c=colour, lw=1.2,
                label=f"{name} target: >= {need_fer:g}% and >= {need_plus:g}%")
    ax.set_xlim(*xs)
    ax.set_xlabel("PublicTest, FER2013 labels (%)")
    ax.set_ylabel("PublicTest, FER+ majority (%)")
    ax.set_title("Both label sources: what mixtures of the recorded teachers reach")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=130)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recordings", nargs="+", type=Path, help="edgefer teacher record .npz files")
    parser.add_argument("--data", default="../shared/data/fer2013", help="FER2013 with fer2013new.csv beside it")
    parser.add_argument("--target", action="append", type=parse_target, default=[],
                        help="NAME=FER2013,FERPLUS in percent (repeatable)")
    parser.add_argument("--bench", type=Path, help="an edgefer bench bench.json whose artifacts to add")
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    _, rows, labels, majority = test_faces(args.data)
    probs = {path.stem: recorded_on(path, rows) for path in args.recordings}
    result = frontier(probs, scorer(labels, majority), args.samples, args.seed, args.target)
    bench = bench_points(args.bench) if args.bench else []
    folders = {path.parent for path in args.recordings}
    folder = folders.pop() if len(folders) == 1 else None
    everyone = folder is not None and set(args.recordings) == set(folder.glob("*.npz"))
    named = [f"{folder}/*.npz ({len(args.recordings)} files)"] if everyone else [str(p) for p in args.recordings]
    command = "python research/label_frontier.py " + " ".join(
        named + [f"--data {args.data}"] +
        [f"--target {n}={f:g},{p:g}" for n, f, p in args.target] + ([f"--bench {args.bench}"] if args.bench else []) +
        [f"--samples {args.samples}", f"--seed {args.seed}", f"--out {args.out}"])
    args.out.mkdir(parents=True, exist_ok=True)
    text = markdown(result, bench, command)
    for name, content in (("frontier.md", text),
                          ("frontier.json", json.dumps({**result, "bench": bench, "command": command}, indent=1))):
        with atomic_path(args.out / name) as tmp:
            tmp.write_text(content)
    plot(result, bench, args.target, args.out / "frontier.png")
    print(text)
    print(f"wrote {args.out}/frontier.md, frontier.json, frontier.png")


if __name__ == "__main__":
    main()
