"""The table `edgefer train` prints at the end: one row per run, what it reached and what it cost."""

from __future__ import annotations

from rich.table import Table

COLUMNS = ("run", "model", "recipe", "size", "weights", "val acc", "test acc", "epochs", "time")


def summary_table(results) -> Table:
    """A rich table of RunResults (edgefer.train.training)."""
    table = Table(title="training summary")
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    for result in results:
        row = result.summary_row()
        table.add_row(row["run"], row["model"], row["recipe"], str(row["img_size"]), row["weights"],
                      f"{row['val_acc']:.2%}", f"{row['test_acc']:.2%} (n={row['test_n']:,})", str(row["epochs"]),
                      f"{row['seconds']:.0f} s")
    return table
