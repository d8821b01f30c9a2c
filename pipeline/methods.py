"""The methods table: how much fieldwork of each kind each site has, by wave.

One document is one unit of fieldwork: an interview, a survey response, an
observation session or a workshop. The tidy table counts documents by
(site, method, wave); the wide table is the one an evaluation report shows,
with sites as rows, ``<method> wave <n>`` columns and totals.
"""

from __future__ import annotations

import pandas as pd

from pipeline.tables import METHODS

TOTAL = "Total"


def _wave_key(wave: str):
    """Waves in the order every other table uses: numbers first ("2" before "10"), then named
    waves with their numbers read as numbers ("Round 2" before "Round 10")."""
    from pipeline.triangulate import natural_key

    text = str(wave)
    return (natural_key(text), text)


def site_order(sites, configured=()) -> list[str]:
    """Sites in report order: those configured (in config order) first, then the rest alphabetically.

    Examples
    --------
    >>> site_order(["b", "z", "a"], ["z"])
    ['z', 'a', 'b']
    """
    present = set(sites)
    first = [s for s in configured if s in present]
    return first + sorted(present - set(first))


def methods_table(documents: pd.DataFrame, sites=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Count fieldwork by site, method and wave.

    Parameters
    ----------
    documents : DataFrame
        The documents table (columns ``site``, ``method``, ``wave`` at least).
    sites : sequence of str, optional
        Configured site keys (``config["sites"]``), listed first in this order.
        Other sites, including programme organisations, follow alphabetically.

    Returns
    -------
    tidy : DataFrame
        Columns ``site, method, wave, count``; one row per combination present.
    wide : DataFrame
        One row per site plus a ``Total`` row; a ``site`` column, one
        ``<method> wave <n>`` column per method and wave present (methods in
        the order interview, survey, observation, workshop), and ``total``.

    Examples
    --------
    >>> docs = pd.DataFrame({"site": ["a", "a", "b"], "method": ["interview", "survey", "interview"],
    ...                      "wave": ["1", "1", "2"]})
    >>> methods_table(docs)[1].columns.tolist()
    ['site', 'interview wave 1', 'interview wave 2', 'survey wave 1', 'total']
    """
    frame = documents[["site", "method", "wave"]].astype(str)
    tidy = frame.groupby(["site", "method", "wave"], sort=False).size().reset_index(name="count")
    order = site_order(tidy["site"], sites)
    method_rank = {m: i for i, m in enumerate(METHODS)}
    tidy = tidy.assign(
        _site=tidy["site"].map({s: i for i, s in enumerate(order)}),
        _method=tidy["method"].map(lambda m: method_rank.get(m, len(METHODS))),
        _wave=tidy["wave"].map({w: i for i, w in enumerate(sorted(set(tidy["wave"]), key=_wave_key))}),
    ).sort_values(["_site", "_method", "_wave"]).drop(columns=["_site", "_method", "_wave"])
    tidy = tidy.reset_index(drop=True)
    tidy["count"] = tidy["count"].astype("int64")

    combos = sorted({(m, w) for m, w in zip(tidy["method"], tidy["wave"])},
                    key=lambda mw: (method_rank.get(mw[0], len(METHODS)), mw[0], _wave_key(mw[1])))
    columns = [f"{method} wave {wave}" for method, wave in combos]
    wide = pd.DataFrame(0, index=order, columns=columns, dtype="int64")
    for row in tidy.itertuples(index=False):
        wide.loc[row.site, f"{row.method} wave {row.wave}"] = row.count
    wide["total"] = wide.sum(axis=1)
    wide.loc[TOTAL] = wide.sum(axis=0)
    wide = wide.astype("int64").rename_axis("site").reset_index()
    return tidy, wide
