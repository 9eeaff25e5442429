"""A drill's figures: times to 50/90/99/100 % compliance, the table, the JSON, the chart."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

LEVELS = (50, 90, 99, 100)


def time_to(times: list[float], total: int, percent: int) -> float | None:
    """Seconds until ``percent`` % of ``total`` devices were compliant (None: never)."""
    if total == 0:
        return 0.0
    needed = math.ceil(total * percent / 100)
    ordered = sorted(times)
    return round(ordered[needed - 1], 3) if len(ordered) >= needed else None


@dataclass
class DrillResult:
    """What a drill measured. Times are seconds after the approval was sent."""

    devices: int
    online: int
    affected: int  # online devices that held the app when the ban was approved
    compliant: int  # online devices without the app at the end
    non_compliant: int  # online devices still holding it at the end
    t50_s: float | None
    t90_s: float | None
    t99_s: float | None
    t100_s: float | None
    app: str
    server: str
    store: str
    workers: int
    processes: int
    determination: int
    start_s: float  # enrollment and first report of the whole fleet
    errors: int
    times: list[float] = field(default_factory=list)
    server_compliance: dict[str, Any] | None = None

    @classmethod
    def measure(cls, times: list[float], *, online: int, affected: int, **rest: Any) -> DrillResult:
        levels: dict[str, Any] = {f"t{p}_s": time_to(times, affected, p) for p in LEVELS}
        return cls(
            online=online,
            affected=affected,
            compliant=online - affected + len(times),
            non_compliant=affected - len(times),
            times=sorted(round(t, 4) for t in times),
            **levels,
            **rest,
        )

    def document(self) -> dict[str, Any]:
        return asdict(self)


def write_json(result: DrillResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.document(), indent=2) + "\n")


def _seconds(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.2f} s"


def table(result: DrillResult) -> Table:
    grid = Table(title=f"Ban drill: {result.app} on {result.devices} devices ({result.store})")
    grid.add_column("measure")
    grid.add_column("value", justify="right")
    rows = [
        ("devices (online)", f"{result.devices} ({result.online})"),
        ("held the app (online)", str(result.affected)),
        *((f"{p} % compliant after", _seconds(getattr(result, f"t{p}_s"))) for p in LEVELS),
        ("compliant / non-compliant", f"{result.compliant} / {result.non_compliant}"),
        ("fleet start (enroll, first report)", f"{result.start_s:.1f} s"),
        ("server workers, simulator processes", f"{result.workers}, {result.processes}"),
        ("agent errors", str(result.errors)),
    ]
    for name, value in rows:
        grid.add_row(name, value)
    return grid


def print_table(result: DrillResult, console: Console) -> None:
    console.print(table(result))


def plot(result: DrillResult, path: Path) -> None:
    """Compliance over time (share of the online devices that held the app) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    total = max(result.affected, 1)
    xs = [0.0, *result.times]
    ys = [0.0, *((n + 1) * 100 / total for n in range(len(result.times)))]
    figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
    axes.step(xs, ys, where="post", color="#1f6feb")
    for level in LEVELS[:-1]:
        axes.axhline(level, color="#999999", linewidth=0.6, linestyle=":")
    axes.set_xlabel("seconds after approval")
    axes.set_ylabel("% of online holders compliant")
    axes.set_ylim(0, 101)
    axes.set_title(f"{result.app}: {result.affected} of {result.online} online devices held it")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
