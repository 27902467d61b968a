#!/usr/bin/env python3
"""Speed of the NumPy CNN (training, batched inference, single-image latency), and of the
same network in PyTorch when PyTorch is importable, measured in one run on the same data.

Usage (from the project root)::

    .venv/bin/python bench/bench_model.py --quick          # ours only (no torch needed)
    .venv/bin/python bench/bench_model.py --torch-python bench/.torch-venv/bin/python
    PYTHONPATH=. bench/.torch-venv/bin/python bench/bench_model.py --profile --json b.json

The thread count (``--threads``, default: every CPU) is pinned for both libraries: the
``*_NUM_THREADS`` variables are set before NumPy is imported (OpenBLAS reads them once, at
import), and PyTorch gets ``set_num_threads(n)`` and ``set_num_interop_threads(1)``.
Each figure is the median of several timed runs after a warm-up.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
REEXEC_MARK = "BENCH_MODEL_REEXEC"
RATIO_LEGEND = (
    "speed ratio = our speed / torch speed (images/s; for latency: torch ms / our ms); "
    ">1 means we are faster"
)
#: warm-up steps, extra warm-up seconds, timed runs, seconds per run, latency calls, profile runs
MODES = {
    "quick": {
        "warmup": 2,
        "warmup_time": 0.1,
        "repeats": 3,
        "min_time": 0.2,
        "latency_warmup": 20,
        "latency_calls": 500,
        "profile_repeats": 3,
    },
    "full": {
        "warmup": 3,
        "warmup_time": 0.5,
        "repeats": 7,
        "min_time": 1.0,
        "latency_warmup": 100,
        "latency_calls": 2000,
        "profile_repeats": 10,
    },
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="threads for NumPy/BLAS and for torch (default: %(default)s)",
    )
    parser.add_argument(
        "--presets",
        default="seed,default",
        help="comma-separated preset names, or 'all' (default: %(default)s)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer and shorter runs")
    parser.add_argument("--repeats", type=int, help="timed runs per figure (median reported)")
    parser.add_argument("--min-time", type=float, help="seconds per timed throughput run")
    parser.add_argument("--latency-calls", type=int, help="single-image calls (>= 500 advised)")
    parser.add_argument("--train-batches", default="32,128", help="default: %(default)s")
    parser.add_argument("--infer-batch", type=int, default=256, help="default: %(default)s")
    parser.add_argument(
        "--data",
        choices=("auto", "mnist", "random"),
        default="auto",
        help="auto: MNIST files when on disk (never downloads), else random",
    )
    parser.add_argument("--seed", type=int, default=0, help="preset initialisation seed")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD momentum learning rate")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print forward/backward ms per layer of our network",
    )
    parser.add_argument(
        "--profile-batch",
        type=int,
        default=128,
        help="training batch of the per-layer profile (default: %(default)s)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure here")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if present")
    parser.add_argument(
        "--torch-python",
        metavar="PATH",
        help="re-run this script under that interpreter (a venv with torch,\n"
        "numpy and tqdm, e.g. bench/.torch-venv/bin/python)",
    )
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    try:
        args.train_batches = [int(b) for b in args.train_batches.split(",") if b.strip()]
    except ValueError:
        parser.error("--train-batches: comma-separated integers, e.g. 32,128")
    return args


# process set-up -----------------------------------------------------------------------
def reexec_under(python: str, argv: list[str]) -> NoReturn:
    """Run this script again under ``python`` with the project on PYTHONPATH."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--torch-python":
            skip = True
        elif not arg.startswith("--torch-python="):
            kept.append(arg)
    env = dict(os.environ)
    env[REEXEC_MARK] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    sys.stdout.flush()
    os.execve(python, [python, str(Path(__file__).resolve()), *kept], env)


def pin_threads(threads: int) -> None:
    """Set the BLAS/OpenMP thread variables; they only work before NumPy is imported."""
    if "numpy" in sys.modules:
        print(
            "warning: NumPy was imported before the thread count could be pinned; "
            "OpenBLAS may not use --threads",
            file=sys.stderr,
        )
    for var in THREAD_VARS:
        os.environ[var] = str(threads)


def load_torch(args: argparse.Namespace) -> tuple[Any, str]:
    """(bench.torch_reference or None, description)."""
    if args.no_torch:
        return None, "skipped (--no-torch)"
    try:
        import torch  # noqa: F401  (probe only)
    except ImportError:
        hint = ROOT / "bench" / ".torch-venv" / "bin" / "python"
        more = f"; try --torch-python {hint.relative_to(ROOT)}" if hint.exists() else ""
        return None, f"not available in {sys.executable}{more}"
    from bench import torch_reference

    intra, inter = torch_reference.configure_threads(args.threads)
    desc = f"{torch_reference.version()} (set_num_threads({intra}), interop threads {inter})"
    return torch_reference, desc


# formatting ---------------------------------------------------------------------------
ROW = "  {:<30}{:<7}{:>18}{:>18}{:>14}"


def fmt_ips(result: dict[str, Any] | None) -> str:
    if not result:
        return "-"
    return f"{result['images_per_s']:,.0f} ±{100 * result['spread']:.0f}%"


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def print_row(label: str, unit: str, ours: str, theirs: str, ratio: str) -> None:
    print(ROW.format(label, unit, ours, theirs, ratio), flush=True)


def describe_crosscheck(check: dict[str, Any]) -> list[str]:
    """The cross-check as a verdict line and indented detail lines."""
    verdict = "OK, same function" if check["ok"] else "MISMATCH: the ratios are not comparable"
    lines = [
        f"cross-check vs torch (same weights, batch {check['batch']}, not timed): {verdict}",
        f"  eval logits max|diff| {check['eval_logits_max_abs_diff']:.1e} "
        f"(logits up to {check['logit_scale']:.1f})",
        f"  one training-mode pass, dropout off: logits {check['train_logits_max_abs_diff']:.1e}, "
        f"loss {check['loss_abs_diff']:.1e}, worst parameter-gradient relative diff "
        f"{check['grad_max_rel_diff']:.1e} ({check['grad_worst_param']})",
    ]
    if "bias_before_bn_grad_max_abs" in check:
        lines.append(
            f"  biases feeding BatchNorm (gradient 0 in theory): |grad| <= "
            f"{check['bias_before_bn_grad_max_abs']:.0e} on both sides"
        )
    if "bn_running_stats_max_abs_diff" in check:
        lines.append(
            f"  BN running stats after that pass {check['bn_running_stats_max_abs_diff']:.1e}; "
            f"eval logits with them {check['eval_logits_after_update_max_abs_diff']:.1e}"
        )
    return lines


# the run ------------------------------------------------------------------------------
def bench_preset(name, args, cfg, measure, tref, data) -> dict[str, Any]:
    from model.fuse import fold_batchnorm
    from model.presets import build_preset

    x, y = data

    def fresh():
        return build_preset(name, args.seed)

    probe = fresh()
    spec = probe.spec()
    out: dict[str, Any] = {
        "layers": len(spec),
        "parameters": int(sum(p.size for p in probe.parameters().values())),
        "spec": spec,
        "ours": {},
        "torch": {},
        "ratio": {},
    }
    print(f"\npreset {name!r}: {out['layers']} layers, {out['parameters']:,} parameters")

    twin_reason = None
    if tref is not None:
        try:
            tref.build_twin(spec)
        except ValueError as exc:
            twin_reason = str(exc)
    use_torch = tref is not None and twin_reason is None

    def twin():
        t = tref.build_twin(spec)
        tref.copy_state(fresh(), t)
        return t

    if use_torch:
        import numpy as np  # as in main(): imported once the thread counts are pinned

        n = min(64, len(x))
        # MNIST's blank paper gives max-pool windows of exactly equal values, which each
        # engine's rounding then breaks its own way, sending a gradient to another cell
        # (gradients up to 2% apart): noise of 1e-3 removes those ties, not the check.
        jitter = np.random.default_rng(args.seed).standard_normal(x[:n].shape)
        x_check = x[:n] + (1e-3 * jitter).astype(x.dtype)
        check = tref.cross_check(fresh(), tref.build_twin(spec), x_check, y[:n])
        out["crosscheck"] = check
        for text in describe_crosscheck(check):
            print(f"  {text}")
    elif twin_reason:
        print(f"  torch twin not built: {twin_reason}")

    print_row("measurement", "unit", "ours", "torch" if use_torch else "torch (n/a)", "speed ratio")
    timing = {k: cfg[k] for k in ("warmup", "warmup_time", "repeats", "min_time")}

    def throughput(key, label, batch, ours_step, torch_step_factory, batches):
        ours = measure.time_throughput(ours_step, batches, batch, **timing)
        theirs = None
        if use_torch:
            tb = tref.to_torch(batches)
            theirs = measure.time_throughput(torch_step_factory(), tb, batch, **timing)
        ratio = theirs and ours["images_per_s"] / theirs["images_per_s"]
        out["ours"][key], out["torch"][key], out["ratio"][key] = ours, theirs, ratio
        print_row(label, "img/s", fmt_ips(ours), fmt_ips(theirs), fmt_ratio(ratio))

    for batch in args.train_batches:
        batches = measure.make_batches(x, y, batch)
        throughput(
            f"train_b{batch}",
            f"training, batch {batch}",
            batch,
            measure.train_step(fresh(), args.lr, args.threads),
            lambda: tref.train_step(twin(), args.lr),
            batches,
        )

    b = args.infer_batch
    ours_fwd = measure.eval_forward(fresh(), args.threads)

    def torch_infer_step():
        forward = tref.eval_forward(twin())
        return lambda xb, _y: forward(xb)

    throughput(
        f"infer_b{b}",
        f"inference, batch {b}",
        b,
        lambda xb, _y: ours_fwd(xb),
        torch_infer_step,
        measure.make_batches(x, y, b),
    )

    singles = [x[i : i + 1].copy() for i in range(min(64, len(x)))]
    lat = {"warmup": cfg["latency_warmup"], "calls": cfg["latency_calls"]}
    ours = measure.time_latency(measure.eval_forward(fresh(), args.threads), singles, **lat)
    theirs = None
    if use_torch:
        t_singles = [tx for tx, _ in tref.to_torch([(s, s) for s in singles])]
        theirs = measure.time_latency(tref.eval_forward(twin()), t_singles, **lat)
    out["ours"]["latency"], out["torch"]["latency"] = ours, theirs
    for stat, label in (("median_ms", "median"), ("p90_ms", "p90")):
        ratio = theirs and theirs[stat] / ours[stat]
        out["ratio"][f"latency_{stat}"] = ratio
        print_row(
            f"latency, 1 image ({label})",
            "ms",
            fmt_ms(ours[stat]),
            fmt_ms(theirs and theirs[stat]),
            fmt_ratio(ratio),
        )
    if any(kind.startswith("batchnorm") for kind in (s["type"] for s in spec)):
        # What the server runs: batch norm folded into the convs (model.fuse).
        folded_forward = measure.eval_forward(fold_batchnorm(fresh()), args.threads)
        folded = measure.time_latency(folded_forward, singles, **lat)
        out["ours"]["latency_folded"] = folded
        ratio = theirs and theirs["median_ms"] / folded["median_ms"]
        out["ratio"]["latency_folded_median_ms"] = ratio
        print_row(
            "latency, BN folded (served)",
            "ms",
            fmt_ms(folded["median_ms"]),
            fmt_ms(theirs and theirs["median_ms"]),
            fmt_ratio(ratio),
        )
    print(
        f"  (latency over {ours['calls']} calls each; throughput: median of "
        f"{cfg['repeats']} runs, ± = half the range across runs)"
    )
    if not use_torch:
        out["torch"] = None
        out["ratio"] = None
    return out


def run_profile(name, args, cfg, measure, tref, data) -> dict[str, Any]:
    from model.presets import build_preset

    x, y = data
    pb, eb = args.profile_batch, args.infer_batch
    train_batches = measure.make_batches(x, y, pb, limit=8)
    eval_batches = measure.make_batches(x, y, eb, limit=4)
    singles = [x[i : i + 1].copy() for i in range(min(64, len(x)))]
    reps = cfg["profile_repeats"]
    prof = measure.profile_layers(
        build_preset(name, args.seed), train_batches, eval_batches, singles, 2, reps, args.lr
    )
    spec = build_preset(name, args.seed).spec()
    torch_cols = None
    if tref is not None:
        try:
            twin = tref.build_twin(spec)
        except ValueError:
            twin = None
        if twin is not None:
            tref.copy_state(build_preset(name, args.seed), twin)
            ttrain = tref.to_torch(train_batches)
            torch_cols = {
                "train_fwd_ms": tref.profile_forward(twin, ttrain, True, 2, reps),
                "eval_fwd_ms": tref.profile_forward(
                    twin, tref.to_torch(eval_batches), False, 2, reps
                ),
                "step_ms": tref.profile_step(twin, ttrain, args.lr, 2, reps),
            }
            prof["torch"] = torch_cols

    rows = prof["layers"]
    total = sum(r["train_fwd_ms"] + r["train_bwd_ms"] for r in rows)
    total += prof["loss_ms"] + prof["optimizer_ms"]
    print(
        f"\nper-layer profile, preset {name!r}: ours, median of {reps} passes, ms, layer by"
        " layer on the whole batch (BLAS on --threads threads; the training steps and batched"
        " inference above split the batch across threads instead)"
        + ("; torch columns: the same layer in PyTorch" if torch_cols else "")
    )
    head = "  {:<24}{:>11}{:>10}{:>10}{:>7} |{:>9}{:>9}"
    line = "  {:<24}{:>11}{:>10.2f}{:>10.2f}{:>6.1f}% |{:>9.2f}{:>9.3f}"
    extra_head = " |{:>10}{:>10}" if torch_cols else ""
    print(
        (head + extra_head).format(
            "layer",
            "out shape",
            "train fwd",
            "train bwd",
            "share",
            "eval fwd",
            "eval fwd",
            *(("torch fwd", "torch fwd") if torch_cols else ()),
        )
    )
    print(
        (head + extra_head).format(
            "",
            "",
            f"b={pb}",
            f"b={pb}",
            "",
            f"b={eb}",
            "b=1",
            *((f"b={pb}", f"b={eb}") if torch_cols else ()),
        )
    )

    for i, r in enumerate(rows):
        shape = "x".join(str(d) for d in r["out_shape"])
        share = 100 * (r["train_fwd_ms"] + r["train_bwd_ms"]) / total if total else 0.0
        text = line.format(
            r["label"],
            shape,
            r["train_fwd_ms"],
            r["train_bwd_ms"],
            share,
            r["eval_fwd_ms"],
            r["eval_fwd_one_ms"],
        )
        if torch_cols:
            text += f" |{torch_cols['train_fwd_ms'][i]:>10.2f}{torch_cols['eval_fwd_ms'][i]:>10.2f}"
        print(text)
    for label, value in (
        ("   loss (softmax CE)", prof["loss_ms"]),
        ("   optimizer step", prof["optimizer_ms"]),
    ):
        print(f"  {label:<35}{value:>10.2f}{100 * value / total:>16.1f}%")
    fwd = sum(r["train_fwd_ms"] for r in rows)
    bwd = sum(r["train_bwd_ms"] for r in rows)
    print(
        f"  {'   sum':<35}{fwd:>10.2f}{bwd:>10.2f}   (whole step {total:.2f} ms = "
        f"{1e3 * pb / total:,.0f} img/s)"
    )
    if torch_cols:
        s = torch_cols["step_ms"]
        ttotal = sum(s.values())
        print(
            f"  torch step at b={pb}: forward {s['forward']:.2f} + loss {s['loss']:.2f} + "
            f"backward {s['backward']:.2f} + optimizer {s['optimizer']:.2f} = {ttotal:.2f} ms"
            f" ({1e3 * pb / ttotal:,.0f} img/s)"
        )
    prof["step_total_ms"] = total
    return prof


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.torch_python and os.environ.get(REEXEC_MARK) != "1":
        if not Path(args.torch_python).exists():
            print(f"--torch-python: {args.torch_python} does not exist", file=sys.stderr)
            return 2
        reexec_under(args.torch_python, argv)
    pin_threads(args.threads)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    import numpy as np

    from bench import measure
    from model.presets import PRESETS

    tref, torch_desc = load_torch(args)
    cfg = dict(MODES["quick" if args.quick else "full"])
    for key in ("repeats", "min_time", "latency_calls"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    names = list(PRESETS) if args.presets == "all" else [p for p in args.presets.split(",") if p]
    unknown = [p for p in names if p not in PRESETS]
    if unknown:
        print(f"unknown preset(s) {unknown}: choose from {', '.join(PRESETS)}", file=sys.stderr)
        return 2

    pool = max(2048, args.infer_batch * 4, *(b * 4 for b in args.train_batches))
    x, y, data_desc = measure.load_data(args.data, pool, args.seed)
    blas_threads = measure.openblas_threads()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "python": f"{platform.python_version()} ({sys.executable})",
        "numpy": f"{np.__version__}, {measure.blas_description()}",
        "threads": args.threads,
        "openblas_reported_threads": blas_threads,
        "torch": torch_desc,
        "data": data_desc,
        "mode": "quick" if args.quick else "full",
        "settings": cfg,
        "load_average_start": load,
    }
    print("NumPy CNN benchmark", meta["date"])
    print(
        f"  host    {meta['host']}"
        + (f", load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}" if load else "")
    )
    print(f"  python  {meta['python']}")
    print(
        f"  numpy   {meta['numpy']}; {'/'.join(THREAD_VARS)}={args.threads}"
        f" (OpenBLAS reports {blas_threads if blas_threads is not None else '?'} thread(s))"
    )
    print(f"  torch   {torch_desc}")
    print(f"  data    {data_desc}")
    print(
        f"  mode    {meta['mode']}: warm-up, then median of {cfg['repeats']} runs of "
        f">= {cfg['min_time']} s; {cfg['latency_calls']} single-image calls"
    )
    if tref is not None:
        print(f"  {RATIO_LEGEND}")
    sys.stdout.flush()

    results: dict[str, Any] = {"meta": meta, "presets": {}}
    for name in names:
        results["presets"][name] = bench_preset(name, args, cfg, measure, tref, (x, y))

    print(
        f"\nseed article's per-example loop code: ~0.1 s per training example "
        f"(~{measure.SEED_ARTICLE_IMAGES_PER_SECOND:.0f} img/s)"
    )
    for name, res in results["presets"].items():
        parts = []
        for batch in args.train_batches:
            ips = res["ours"][f"train_b{batch}"]["images_per_s"]
            parts.append(
                f"batch {batch}: {ips:,.0f} img/s = "
                f"{ips / measure.SEED_ARTICLE_IMAGES_PER_SECOND:,.0f}x"
            )
        print(f"  ours, preset {name!r} training, " + "; ".join(parts))
    results["seed_article_images_per_s"] = measure.SEED_ARTICLE_IMAGES_PER_SECOND

    if args.profile:
        results["profile"] = {
            name: run_profile(name, args, cfg, measure, tref, (x, y)) for name in names
        }
    if load is not None:
        end = os.getloadavg()
        meta["load_average_end"] = end
        print(
            f"\nload average: {load[0]:.2f} before, {end[0]:.2f} after (1-minute, {os.cpu_count()}"
            f" CPUs; this run adds ~{args.threads} itself; a 'before' well above 0 means other"
            " work competed for the CPUs and the figures are noisy)"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=_json_default) + "\n")
        print(f"figures written to {args.json}")
    return 0


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


if __name__ == "__main__":
    sys.exit(main())
