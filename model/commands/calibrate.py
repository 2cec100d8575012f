"""``armsrace calibrate``: estimate the decision rule on the SIPRI panel; write the estimates with their covariance."""

from __future__ import annotations

import argparse
from pathlib import Path

from model.commands import add_force

ORDER = 80
DEFAULT_SAMPLE = (1993, 2024)
"""The default estimation sample: :data:`model.analysis.calibrate.DEFAULT_SAMPLE`, repeated so that ``--help``
needs no numpy (tests/test_layers.py checks that the two agree)."""

HELP = """\
Estimate the decision rule from the SIPRI panel of the six countries with a series (North Korea
has none): the partial-adjustment demand for military expenditure

    b_it = a_i + rho b_i,t-1 + beta threat_it + phi support_it + omega war_it + e_it

pooled with country effects (linearmodels PanelOLS), Driscoll-Kraay standard errors. Threat is
the log of hostility-weighted rival spending in the theatre, support log(1 + credible allied
spending), both computed by the model from the observed year before (docs/MODEL.md); war_it marks
the war years of model/data/wars.csv (Russia 2022-2024), a control the simulated rule does not
carry (a sample without war years drops it). Writes, in
--out (default results/calibration):
  estimates.toml      coefficients, standard errors, covariance, long-run values, country effects,
                      fit and provenance (the file the model reads, see --install)
  coefficients.csv    one row per coefficient: value, se, t, long-run value and se, what identifies it
  covariance.csv      Driscoll-Kraay covariance of (rho, beta, phi, omega)
  regression.csv      the regression data (country, year, b, b_lag, threat, support, war)
  metadata.json
With --install, also replaces model/data/estimates.toml, which every run's defaults and
coefficient draws read (sweeps then refuse to --resume across the change)."""


def parse_years(text: str, option: str) -> tuple[int, int]:
    """``"1993-2024"`` -> (1993, 2024); UsageError otherwise."""
    from model.errors import UsageError

    first, sep, last = text.partition("-")
    try:
        a, b = int(first), int(last)
    except ValueError:
        a = b = None
    if not sep or a is None or b <= a:
        raise UsageError(f"The {option!r} option must look like FIRST-LAST with FIRST < LAST, "
                         f"e.g. 1993-2024. Got {text!r} instead.")
    return a, b


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="estimate the decision rule on the SIPRI panel (with its covariance)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sample", "--train", dest="sample", default=f"{DEFAULT_SAMPLE[0]}-{DEFAULT_SAMPLE[1]}",
                   metavar="FIRST-LAST",
                   help="years of the dependent variable, inclusive (default: %(default)s)")
    p.add_argument("--out", type=Path, default=Path("results") / "calibration", metavar="DIR",
                   help="output folder (default: %(default)s)")
    p.add_argument("--install", action="store_true",
                   help="also replace model/data/estimates.toml (what every run reads)")
    add_force(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from model.analysis.calibrate import calibrate
    from model.batch.store import atomic_write, metadata, staged_output, write_csv, write_json, write_text
    from model.sim.params import ESTIMATES_FILE

    sample = parse_years(args.sample, "--sample")
    t0 = time.perf_counter()
    command = f"armsrace calibrate --sample {sample[0]}-{sample[1]}"
    with staged_output(args.out, command="calibrate", force=args.force,
                       expect=("estimates.toml", "coefficients.csv", "metadata.json")) as stage:
        cal = calibrate(sample)
        write_text(cal.to_toml(command), stage / "estimates.toml")
        table = cal.coefficient_table()
        write_csv(table, stage / "coefficients.csv")
        write_csv(cal.estimate.cov, stage / "covariance.csv", index=True)
        write_csv(cal.data.reset_index(), stage / "regression.csv")
        write_json(metadata(sample=list(sample), countries=list(cal.countries)), stage / "metadata.json")
    if args.install:
        atomic_write(ESTIMATES_FILE, cal.to_toml(command + " --install"))
    e = cal.estimate
    print(f"Estimated {sample[0]}-{sample[1]} ({e.nobs} country-years, {len(cal.countries)} countries; "
          f"North Korea has no series) in {time.perf_counter() - t0:.1f} s. Within R2 {e.r2_within:.2f}, "
          f"residual sd {100 * e.resid_sd:.2f} pp.")
    print(f"{'coef':<6}{'value':>11}{'se (DK)':>11}{'t':>7}   {'long run':<20}{'value':>9}{'se':>9}")
    for r in table.itertuples():
        print(f"{r.coefficient:<6}{r.value:>11.5f}{r.se:>11.5f}{r.t:>7.2f}   "
              f"{r.long_run:<20}{r.long_run_value:>9.4f}{r.long_run_se:>9.4f}")
    print(f"wrote {args.out}/" + (f" and {ESTIMATES_FILE}" if args.install else ""))
    return 0
