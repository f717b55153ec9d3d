"""What an optimization leaves on disk: optimization.json, results.csv, plots, best params."""

from __future__ import annotations

import csv
import json
import multiprocessing
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import optuna
import tomli_w
from optuna.trial import FrozenTrial, TrialState

from tradd.research.engine import failed_note
from tradd.research.optimize.overfitting import OverfittingReport
from tradd.research.params import ParamRange
from tradd.research.plots import heatmap_png, history_png, importance_png
from tradd.research.run_settings import WarmupInfo

TOP_N = 10
METRIC_KEYS = (
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "win_rate",
    "total_trades",
    "exposure",
    "profit_factor",
    "final_value",
)


@dataclass(frozen=True)
class TrialRow:
    number: int
    state: str
    params: dict[str, Any]
    value: float | None
    metrics: dict[str, float]
    note: str = ""


@dataclass
class Summary:
    optimization_id: str
    study: str
    storage: str
    strategy: str
    method: str
    objective: str
    symbols: list[str]
    start: str
    end: str
    space: list[ParamRange]
    rows: list[TrialRow]
    skipped_combinations: int
    ran_here: int = 0
    """Trials this process's workers finished (cooperating processes ran the rest)."""
    interrupted: bool = False
    files: dict[str, str] = field(default_factory=dict)
    overfitting: OverfittingReport | None = None
    """Deflated Sharpe of the best trial, PBO over all trials (see optimize.overfitting)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """What shaped every trial (`research.run_settings`): cash, sizing, costs, basis."""
    warmup: WarmupInfo | None = None
    data_gaps: dict[str, dict[str, object]] = field(default_factory=dict)
    """Missing sessions per symbol (`marketdata.gaps`), also warned about on the terminal."""
    screen: dict[str, Any] | None = None
    """The kernel's screen (`optimize.screen`): how many screened, confirmed, any fallback."""

    @property
    def failed_note(self) -> str | None:
        """ "N of M trials failed; first: ..." (M: every trial run), None when none failed."""
        failed = [r for r in self.rows if r.state == "failed"]
        first = failed[0].note if failed else ""
        return failed_note(len(failed), len(self.rows), first)

    @cached_property
    def ranked(self) -> list[TrialRow]:
        """Completed trials, best first (rows do not change once the summary exists)."""
        done = [r for r in self.rows if r.state == "complete" and r.value is not None]
        return sorted(done, key=lambda r: (-(r.value or 0.0), r.number))

    @cached_property
    def top(self) -> list[tuple[TrialRow, int]]:
        """The best `TOP_N` distinct parameter sets, each as its best trial and the number of
        completed trials that ran it.

        A Bayesian sampler may propose a set it already tried (the repeat reuses the earlier
        result); ranking trials would then fill the top rows with copies of one set.
        """
        trials: dict[str, int] = {}
        for row in self.ranked:
            key = _params_key(row.params)
            trials[key] = trials.get(key, 0) + 1
        best: dict[str, TrialRow] = {}
        for row in self.ranked:
            best.setdefault(_params_key(row.params), row)
            if len(best) == TOP_N:
                break
        return [(row, trials[key]) for key, row in best.items()]

    def count(self, state: str) -> int:
        return sum(1 for r in self.rows if r.state == state)


def _params_key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def rows_from_trials(trials: list[FrozenTrial]) -> list[TrialRow]:
    rows = []
    for trial in sorted(trials, key=lambda t: t.number):
        if trial.state in (TrialState.WAITING, TrialState.RUNNING):
            continue
        if trial.state == TrialState.FAIL and trial.user_attrs.get("requeued"):
            continue  # an interrupted attempt; its slot was queued again
        state = {
            TrialState.COMPLETE: "complete",
            TrialState.PRUNED: "skipped",
            TrialState.FAIL: "failed",
        }[trial.state]
        note = str(trial.user_attrs.get("error") or trial.user_attrs.get("skipped") or "")
        rows.append(
            TrialRow(
                trial.number,
                state,
                dict(trial.params),
                trial.value,
                dict(trial.user_attrs.get("metrics", {})),
                note,
            )
        )
    return rows


class PlotsStarted:
    """The report's plots, drawn by a forked process while the parent does something else
    (`start_plots`); `wait` gives their files.

    Drawing the grid's heatmap costs a second or more (matplotlib's import, then 170-odd
    labelled cells), as much as the overfitting statistics computed meanwhile."""

    def __init__(self, summary: Summary, output: Path, study: optuna.Study | None = None) -> None:
        self._summary, self._output, self._study = summary, output, study
        output.mkdir(parents=True, exist_ok=True)
        self._process = multiprocessing.get_context("fork").Process(
            target=_draw_all, args=(summary, output, study), daemon=True, name="tradd-plots"
        )
        self._process.start()

    def wait(self) -> dict[str, str]:
        """The plots' files; drawn here after all when the process failed (so a plotting
        error shows as it would without the process)."""
        self._process.join()
        if self._process.exitcode != 0:
            return _draw_all(self._summary, self._output, self._study)
        files = _plot_files(self._summary)
        if (self._output / IMPORTANCE_FILE).exists():
            files["importance"] = IMPORTANCE_FILE
        return files


IMPORTANCE_FILE = "param_importance.png"


def _draw_all(summary: Summary, output: Path, study: optuna.Study | None) -> dict[str, str]:
    """The plots, and for a Bayesian search the parameter importance (fANOVA: a second
    with matplotlib's import, so it is drawn beside the statistics too)."""
    files = _write_plots(summary, output)
    if study is not None and summary.method == "bayesian":
        write_importance(study, output, files)
    return files


def start_plots(summary: Summary, output: Path, study: optuna.Study | None = None) -> PlotsStarted:
    """Start drawing the plots now (their rows are final; `summary.overfitting` is not
    needed); `write_outputs(..., plots=...)` collects them."""
    return PlotsStarted(summary, output, study)


def write_outputs(
    summary: Summary, output: Path, study: optuna.Study, *, plots: PlotsStarted | None = None
) -> dict[str, str]:
    output.mkdir(parents=True, exist_ok=True)
    files = {"json": "optimization.json", "csv": _write_csv(summary, output / "results.csv")}
    best = summary.ranked[0] if summary.ranked else None
    if best is not None:
        files["best_params"] = _write_best_toml(summary, best, output / "best_params.toml")
    files.update(plots.wait() if plots is not None else _draw_all(summary, output, study))
    summary.files = files
    _write_json(summary, output / "optimization.json")  # last: it lists every file above
    return files


def _result_entry(row: TrialRow, rank: int, trials: int) -> dict[str, Any]:
    return {
        "rank": rank,
        "trial": row.number,
        "trials_with_these_params": trials,
        "params": row.params,
        "objective": row.value,
        "metrics": row.metrics,
    }


def _write_json(summary: Summary, path: Path) -> None:
    ranked = summary.ranked
    best = ranked[0] if ranked else None
    document = {
        "optimization_id": summary.optimization_id,
        "strategy": summary.strategy,
        "method": summary.method,
        "trials": summary.count("complete"),
        "best_params": best.params if best else None,
        "best_metrics": (
            {
                "sharpe": best.metrics.get("sharpe"),
                "returns": best.metrics.get("total_return"),
                "drawdown": best.metrics.get("max_drawdown"),
                **best.metrics,
            }
            if best
            else None
        ),
        "top_10_results": [
            _result_entry(row, rank, trials)
            for rank, (row, trials) in enumerate(summary.top, start=1)
        ],
        "objective": summary.objective,
        "symbols": summary.symbols,
        "start": summary.start,
        "end": summary.end,
        "study": summary.study,
        "storage": summary.storage,
        "param_space": {r.name: list(r.values) for r in summary.space},
        "settings": summary.settings,
        "counts": {
            "complete": summary.count("complete"),
            "failed": summary.count("failed"),
            "skipped_in_search": summary.count("skipped"),
            "skipped_invalid_combinations": summary.skipped_combinations,
        },
        "failed_trials": summary.failed_note,
        "failures": [
            {"trial": r.number, "params": r.params, "error": r.note}
            for r in summary.rows
            if r.state == "failed"
        ],
        "overfitting": summary.overfitting.as_dict() if summary.overfitting else None,
        "screen": summary.screen,
        "trials_run_by_this_process": summary.ran_here,
        "interrupted": summary.interrupted,
        "warmup": asdict(summary.warmup) if summary.warmup else None,
        "data_gaps": summary.data_gaps,
        "files": summary.files,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def _write_csv(summary: Summary, path: Path) -> str:
    names = [r.name for r in summary.space]
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["trial", "state", *names, "objective", *METRIC_KEYS, "note"])
        for row in summary.rows:
            writer.writerow(
                [
                    row.number,
                    row.state,
                    *(row.params.get(n, "") for n in names),
                    "" if row.value is None else row.value,
                    *(row.metrics.get(k, "") for k in METRIC_KEYS),
                    row.note,
                ]
            )
    return path.name


def _write_best_toml(summary: Summary, best: TrialRow, path: Path) -> str:
    document = {
        "strategy": summary.strategy,
        "params": best.params,
        "source": {
            "optimization_id": summary.optimization_id,
            "trial": best.number,
            "objective": summary.objective,
            "value": best.value,
            "symbols": summary.symbols,
            "start": summary.start,
            "end": summary.end,
        },
    }
    header = (
        "# Best parameters from `tradd optimize`. A strategy in tradd.toml can use them with\n"
        f'#   params_file = "{path}"\n'
    )
    for warning in summary.overfitting.warnings if summary.overfitting else ():
        header += f"# Warning: {warning}\n"
    path.write_text(header + tomli_w.dumps(document))
    return path.name


def _plot_files(summary: Summary) -> dict[str, str]:
    """Which plots `_write_plots` draws for this summary."""
    varying = [r for r in summary.space if len(r.values) > 1]
    if summary.method == "grid" and len(varying) == 2 and summary.ranked:
        return {"heatmap": "heatmap.png"}
    if summary.method == "bayesian" and summary.ranked:
        return {"history": "optimization_history.png"}
    return {}


def _write_plots(summary: Summary, output: Path) -> dict[str, str]:
    files = _plot_files(summary)
    ranked = summary.ranked
    if "heatmap" in files:
        x, y = [r for r in summary.space if len(r.values) > 1]
        cells: dict[tuple[Any, Any], float] = {}
        for row in ranked[::-1]:  # best last, so it wins when other params vary too
            cells[(row.params[x.name], row.params[y.name])] = row.value or 0.0
        heatmap_png(
            output / "heatmap.png",
            x.name,
            y.name,
            cells,
            list(x.values),
            list(y.values),
            summary.objective,
        )
    if "history" in files:
        done = sorted(ranked, key=lambda r: r.number)
        history_png(
            output / "optimization_history.png", [r.value or 0.0 for r in done], summary.objective
        )
    return files


def write_importance(study: optuna.Study, output: Path, files: dict[str, str]) -> None:
    """fANOVA parameter importance (Bayesian runs); needs a few finished trials."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    varying = {
        n for t in complete for n in t.params if len({s.params.get(n) for s in complete}) > 1
    }
    if len(complete) < 2 or not varying:
        return
    importances = optuna.importance.get_param_importances(study, params=sorted(varying))
    importance_png(output / IMPORTANCE_FILE, importances)
    files["importance"] = IMPORTANCE_FILE
