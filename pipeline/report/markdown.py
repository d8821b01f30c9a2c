"""The Markdown summaries: ``reports/summary.md`` and ``reports/sites/<site>.md``.

Rendered from the Jinja2 templates in ``pipeline/report/templates/``. The
templates only lay out what is decided here: which themes lead, what their
prevalence and evidence strength are called, and which quotes illustrate them.
Every rendered document passes through the pseudonymiser before it is written.
"""

from __future__ import annotations

import functools
import math
import re
from importlib import resources
from pathlib import Path

import jinja2
import pandas as pd

from pipeline.atomic import write_text
from pipeline.quotes import NOTES_PREFIX
from pipeline.triangulate import natural_key, number_word, plural, upper_first, wave_label

METHOD_NOUNS = {"interview": ("interview", "interviews"), "survey": ("survey response", "survey responses"),
                "workshop": ("workshop", "workshops"), "observation": ("observation", "observations")}
STRENGTH_WORDS = {"strong": "strong", "moderate": "moderate", "limited": "limited", "none": "no"}


# --------------------------------------------------------------------------- Markdown text


def md_inline(text, line_start: bool = True) -> str:
    """Text safe inside a Markdown paragraph, quote or table cell.

    Line breaks become spaces; ``|`` and the characters that would start
    emphasis, code, HTML, a link or an escape are backslash-escaped, and so is
    a list or heading marker at the start when the text may open a line or a
    bullet (``line_start``; a table cell cannot, so "+9" stays as it is there).

    Examples
    --------
    >>> md_inline("a | b *c*")
    'a \\\\| b \\\\*c\\\\*'
    >>> print(md_inline("- [staff](http://x)"), md_inline("1. Funding"))
    \\- \\[staff\\](http://x) 1\\. Funding
    >>> print(md_inline("0.236"), md_inline("p < 0.001"), md_inline("<b>"))
    0.236 p < 0.001 \\<b\\>
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    text = " ".join(str(text).split())
    # "<" only where it could open HTML ("<b", "</", "<!"): "p < 0.001" stays readable.
    text = re.sub(r"([\\`*_>|\[\]]|<(?=[A-Za-z/!?]))", r"\\\1", text)
    if not line_start:
        return text
    text = re.sub(r"^([-+#])", r"\\\1", text)
    # An ordered-list marker is one only before a space: "1. Funding", not "0.236".
    return re.sub(r"^(\d+)([.)])(?=\s|$)", r"\1\\\2", text)


def md_table(rows: list[list], headers: list[str], align: list[str] | None = None) -> str:
    """A GitHub-flavoured pipe table with a header separator row.

    Parameters
    ----------
    rows : list of list
        Cell values (escaped with :func:`md_inline`).
    headers : list of str
    align : list of {"l", "r"}, optional
        Column alignment; left by default.

    Examples
    --------
    >>> print(md_table([["a|b", 1]], ["Name", "N"], ["l", "r"]))
    | Name | N |
    | :--- | ---: |
    | a\\|b | 1 |
    """
    align = align or ["l"] * len(headers)
    lines = ["| " + " | ".join(md_inline(h) for h in headers) + " |",
             "| " + " | ".join(":---" if a == "l" else "---:" for a in align) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def _cell(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.1f}" if not value.is_integer() else str(int(value))
    if value is pd.NA or value is None:
        return ""
    return md_inline(value, line_start=False) or " "


def sentence_list(items: list[str], conjunction: str = "and") -> str:
    """``["a", "b", "c"]`` → ``"a, b and c"``."""
    items = [i for i in items if i]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def count_phrase(n: int, singular: str, plural_: str | None = None) -> str:
    """``count_phrase(3, "source")`` → ``"three sources"``; numbers up to twenty in words."""
    noun = singular if n == 1 else (plural_ or singular + "s")
    return f"{number_word(n) if n else 'no'} {noun}"


def quote_blocks(quotes: list[dict]) -> str:
    """Block quotes, each followed by its attribution, separated by blank lines.

    A quote from notes (``verbatim`` false) is no block quote: it is a paragraph
    that says it is from the notes, so that it never reads as a participant's words.
    """
    blocks = []
    for quote in quotes:
        attribution = quote["attribution"] + ("" if quote.get("reviewed", True) else " (coding not yet reviewed)")
        if quote.get("verbatim", True):
            blocks.append(f"> {quote['text']}\n>\n> — {attribution}")
        else:
            # A backslash ends the line, so that the attribution is not run into the note.
            blocks.append(f"*{NOTES_PREFIX}* {quote['text']}\\\n— {attribution}")
    return "\n\n".join(blocks)


@functools.cache
def _environment() -> jinja2.Environment:
    """The templates' environment, made once so that each template is compiled once."""
    folder = resources.files("pipeline.report") / "templates"
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=False,  # Markdown, escaped explicitly with md_inline
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["md"] = md_inline
    environment.filters["upper_first"] = upper_first
    environment.globals.update(md_table=md_table, quote_blocks=quote_blocks, sentence_list=sentence_list, count_phrase=count_phrase,
                               number_word=number_word)
    return environment


def tidy_markdown(text: str) -> str:
    """At most one blank line in a row, and one trailing newline."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# --------------------------------------------------------------------------- context


class ReportData:
    """The tables a summary is written from (already pseudonymised), with helpers for wording.

    Parameters
    ----------
    tables : dict of DataFrame
        From ``data/processed/triangulation/`` (see :data:`pipeline.triangulate.TABLE_NAMES`).
    methods : DataFrame
        ``site, method, wave, count`` (may be empty).
    config : dict
    figures : dict
        figure key → path relative to ``reports/``.
    saturation : DataFrame, optional
        ``reports/tables/saturation_summary.csv`` (empty when the saturation stage has not run).
    cooccurrence : DataFrame, optional
        ``reports/tables/cooccurrence.csv`` (empty when the cooccurrence stage has not run).
    """

    def __init__(self, tables: dict, methods: pd.DataFrame, config: dict, figures: dict,
                 saturation: pd.DataFrame | None = None, cooccurrence: pd.DataFrame | None = None):
        self.tables = tables
        self.methods = methods
        self.config = config
        self.figures = figures
        self.saturation = saturation if saturation is not None else pd.DataFrame()
        self.cooccurrence = cooccurrence if cooccurrence is not None else pd.DataFrame()
        self.tri = tables["triangulation"]
        self.code_tri = tables["triangulation_codes"]
        self.programme = self.tri[self.tri["scope"] == "programme"]
        self.site_rows = self.tri[self.tri["scope"] == "site"]
        self.quotes = tables["quotes"]
        self.noun = config.get("project", {}).get("site_noun", "site")
        self.nouns = plural(self.noun, config.get("report", {}).get("site_noun_plural"))
        matrix = tables["matrix_theme_site"]
        self.site_order = list(dict.fromkeys(matrix["site"]))
        self.site_labels = dict(zip(matrix["site"], matrix["site_label"]))
        self.include_suggested = bool(config.get("triangulate", {}).get("include_suggested", True))
        # segment codes counted that no analyst has reviewed (0 once the review is complete)
        self.unreviewed = int(pd.to_numeric(tables["matrix_code_method"]["suggested_segments"]).sum())
        self.sites_total = int(self.programme["sites_total"].dropna().iloc[0]) if len(self.programme) else 0

    def site_sources(self, site: str) -> int:
        """How many sources (people, groups, meetings) the site's evidence comes from."""
        matrix = self.tables["matrix_theme_site"]
        counts = matrix.loc[matrix["site"] == site, "sources_in_group"]
        return int(counts.max()) if len(counts) else 0

    # ---- methods

    def methods_table(self, site: str | None = None) -> str:
        methods = self.methods
        if methods.empty:
            return "_No fieldwork table was found (reports/tables/methods.csv)._"
        if site is not None:
            methods = methods[methods["site"] == site]
        counts = methods.assign(count=pd.to_numeric(methods["count"], errors="coerce").fillna(0).astype(int))
        order = [m for m in METHOD_NOUNS if m in set(counts["method"])] + sorted(
            set(counts["method"]) - set(METHOD_NOUNS))
        if site is None:
            pivot = counts.pivot_table(index="site", columns="method", values="count", aggfunc="sum", fill_value=0)
            sites = [s for s in self.site_order if s in pivot.index] + sorted(set(pivot.index) - set(self.site_order))
            # a survey response whose site was left blank is in no site
            rows = [[self.site_labels.get(s, s) or "Not given",
                     *[int(pivot.at[s, m]) if m in pivot.columns else 0 for m in order],
                     int(pivot.loc[s].sum())] for s in sites]
            rows.append(["Total", *[int(pivot[m].sum()) if m in pivot.columns else 0 for m in order],
                         int(pivot.to_numpy().sum())])
            headers = [upper_first(self.noun), *[upper_first(METHOD_NOUNS.get(m, (m, m + "s"))[1]) for m in order],
                       "Total"]
        else:
            pivot = counts.pivot_table(index="wave", columns="method", values="count", aggfunc="sum", fill_value=0)
            waves = sorted(pivot.index, key=natural_key)
            rows = [[wave_label(w), *[int(pivot.at[w, m]) if m in pivot.columns else 0 for m in order],
                     int(pivot.loc[w].sum())] for w in waves]
            headers = ["Wave", *[upper_first(METHOD_NOUNS.get(m, (m, m + "s"))[1]) for m in order], "Total"]
        return md_table(rows, headers, ["l"] + ["r"] * (len(headers) - 1))

    def fieldwork_sentence(self) -> str:
        if self.methods.empty:
            return ""
        counts = self.methods.assign(count=pd.to_numeric(self.methods["count"], errors="coerce").fillna(0))
        waves = sorted({str(w) for w in counts["wave"] if str(w)})
        sentence = f"The evidence comes from {documents_phrase(counts)}"
        if len(waves) > 1:
            sentence += f" across {number_word(len(waves))} waves of fieldwork"
        sentence += "."
        # A site listed in config.yaml without any fieldwork read is not in any count: say so.
        absent = [label for key, label in self.config.get("sites", {}).items() if key not in self.site_order]
        if absent:
            sentence += (f" No fieldwork has been read yet from {sentence_list(absent)}, listed among the "
                         f"{self.nouns} in config.yaml, so {'it is' if len(absent) == 1 else 'they are'} "
                         "not counted here.")
        return sentence

    # ---- saturation and co-occurrence

    def saturation_sentence(self, scope: str = "overall") -> str:
        """The saturation statement for the programme (``"overall"``) or one site."""
        from pipeline.saturation import saturation_statement

        frame = self.saturation if "scope" in self.saturation else pd.DataFrame(columns=["scope", "statement"])
        return md_inline(saturation_statement(frame, scope))

    def site_saturation_sentence(self) -> str:
        """How many of the sites (not programme organisations) reached saturation on their own."""
        if "scope" not in self.saturation or self.sites_total < 2:
            return ""  # one site's saturation is the programme's, already stated
        sites = self.site_order[:self.sites_total]
        rows = self.saturation[self.saturation["scope"].astype(str).isin(sites)]
        reached = [self.site_labels.get(s, s) for s in sites
                   if str(rows.loc[rows["scope"] == s, "saturated"].head(1).squeeze()).lower() == "true"]
        n = len(reached)
        if n == self.sites_total:
            where = f"all {number_word(n)} {self.nouns}" if n > 1 else f"the one {self.noun}"
        elif n == 0:
            where = f"none of the {number_word(self.sites_total)} {self.nouns}"
        else:
            where = f"{number_word(n)} of the {number_word(self.sites_total)} {self.nouns} ({sentence_list(reached)})"
        text = f"Taken one {self.noun} at a time, saturation was reached in {where}"
        if n < self.sites_total:
            text += f", so findings about a single {self.noun} rest on fewer interviews than the programme-wide ones"
        return md_inline(text + ".")

    def cooccurrence_table(self, top: int = 5) -> str:
        """The code pairs found together in the most documents, as a Markdown table."""
        pairs = self.cooccurrence
        if pairs.empty or "level" not in pairs:
            return ""
        pairs = pairs[pairs["level"] == "document"].assign(
            count=lambda f: pd.to_numeric(f["count"], errors="coerce").fillna(0).astype(int),
            jaccard=lambda f: pd.to_numeric(f["jaccard"], errors="coerce"))
        pairs = pairs[pairs["count"] > 0].sort_values(["count", "jaccard", "code_a", "code_b"],
                                                      ascending=[False, False, True, True]).head(top)
        if pairs.empty:
            return ""
        codes = self.tables["matrix_code_site"]
        label = dict(zip(codes["code_id"], codes["code_label"]))
        rows = [[label.get(r.code_a, r.code_a), label.get(r.code_b, r.code_b), int(r.count),
                 _percent_text(100 * r.jaccard)] for r in pairs.itertuples()]
        return md_table(rows, ["Code", "Found with", "Documents with both",
                               "Share of documents with either"], ["l", "l", "r", "r"])

    # ---- themes

    def ranked_themes(self, site: str | None = None) -> pd.DataFrame:
        frame = self.programme if site is None else self.site_rows[self.site_rows["site"] == site]
        frame = frame.assign(_strength=frame["evidence_strength"].map(
            {"strong": 3, "moderate": 2, "limited": 1, "none": 0}))
        return frame.sort_values(["sources", "_strength", "segments", "theme_label"],
                                 ascending=[False, False, False, True])

    def theme_table(self, site: str | None = None) -> str:
        unreviewed = self.include_suggested and self.unreviewed > 0   # a column of zeros says nothing
        rows = []
        for r in self.ranked_themes(site).itertuples():
            row = [r.theme_label]
            if site is None:
                row.append(self.prevalence(r))
            row += [int(r.sources), int(r.segments), r.methods.replace("; ", ", ") or "–",
                    r.sectors.replace("; ", ", ") or "–", r.evidence_strength]
            if unreviewed:
                row.append(int(r.suggested_segments))
            rows.append(row)
        headers = ["Theme"] + (["Where it was raised"] if site is None else []) + [
            "Sources", "Segments", "Methods", "Sectors", "Evidence"]
        if unreviewed:
            headers.append("Of which unreviewed")
        align = ["l"] + (["l"] if site is None else []) + ["r", "r", "l", "l", "l"] + (
            ["r"] if unreviewed else [])
        return md_table(rows, headers, align)

    def theme_paragraph(self, r, site: str | None = None) -> str:
        """An evaluator's sentence or two about one theme."""
        methods = [METHOD_NOUNS.get(m, (m, m + "s"))[1] for m in r.methods.split("; ") if m]
        groups = [self.people_plural(label) for label in r.sectors.split("; ") if label]
        who = count_phrase(int(r.sources), "source")
        text = f"Raised by {who} ({count_phrase(int(r.segments), 'coded segment')})"
        if site is None:
            text += f" in {self.prevalence(r)}"
        if methods:
            text += f", through {sentence_list(methods)}"
        text += "."
        if groups:
            text += f" Those raising it were {sentence_list(groups)}."
        strength = r.evidence_strength
        text += f" The evidence is {STRENGTH_WORDS.get(strength, strength)}"
        text += {"strong": ", drawing on several methods, sectors and sources.",
                 "moderate": ", with more than one source and some corroboration across methods or sectors.",
                 "limited": ", resting on few sources or a single method and sector.",
                 "none": "."}.get(strength, ".")
        if self.include_suggested and int(r.suggested_segments):
            text += (f" {upper_first(count_phrase(int(r.suggested_segments), 'segment'))} "
                     f"{'comes' if int(r.suggested_segments) == 1 else 'come'} from code suggestions "
                     "that have not yet been reviewed.")
        return md_inline(text)

    def divergence_sentence(self, r) -> str:
        verdict = getattr(r, "sector_verdict", "")
        if not isinstance(verdict, str) or not verdict or verdict.startswith("not raised"):
            return ""
        detail = (f"{_percent_text(r.group_a_percent)} of {r.group_a}, {int(r.group_a_sources)} of "
                  f"{int(r.group_a_total)}, against {_percent_text(r.group_b_percent)} of {r.group_b}, "
                  f"{int(r.group_b_sources)} of {int(r.group_b_total)}")
        return md_inline(f"Sector comparison: {verdict} ({detail}).")

    def divergence_table(self) -> str:
        rows = []
        for r in self.ranked_themes().itertuples():
            if int(r.sources) == 0:
                continue
            rows.append([r.theme_label, f"{int(r.group_a_sources)} of {int(r.group_a_total)}",
                         f"{int(r.group_b_sources)} of {int(r.group_b_total)}",
                         _p_value(r.fisher_p), r.sector_verdict])
        if not rows:
            return "_No themes have been coded yet._"
        first = self.programme.iloc[0]
        headers = ["Theme", upper_first(f"{first['group_a']} raising it"),
                   upper_first(f"{first['group_b']} raising it"), "Fisher's exact p", "Reading"]
        return md_table(rows, headers, ["l", "r", "r", "r", "l"])

    def quotes_for(self, theme_id: str, site: str | None = None) -> list[dict]:
        return self._quotes.get(("programme", theme_id, "") if site is None else ("site", theme_id, site), [])

    @functools.cached_property
    def _quotes(self) -> dict[tuple, list[dict]]:
        """(scope, theme_id, site) → its quotes in rank order, for the templates."""
        out: dict[tuple, list[dict]] = {}
        for row in self.quotes.sort_values("rank", kind="stable").itertuples():
            out.setdefault((row.scope, row.theme_id, row.site if row.scope == "site" else ""), []).append(
                {"text": md_inline(row.quote), "attribution": md_inline(row.attribution),
                 "reviewed": bool(row.reviewed), "verbatim": bool(row.verbatim)})
        return out

    def people_plural(self, sector_label: str) -> str:
        """``"Statutory sector (NHS)"`` → ``"statutory sector stakeholders (NHS)"`` (from the attribution label)."""
        from pipeline.anonymise import attribution_label

        keys = {label: key for key, label in self.config.get("sectors", {}).items()}
        label = attribution_label(keys.get(sector_label, sector_label), self.config.get("sectors", {}),
                                  self.config.get("report", {}).get("attribution"))
        head, _, tail = label.partition(" (")
        head = head if head.endswith("s") else head + "s"
        if head[:1].isupper() and head[1:2].islower():
            head = head[0].lower() + head[1:]
        return f"{head} ({tail}" if tail else head

    # ---- codes: where sites and sectors differ

    def code_where(self, r) -> str:
        """Where a code was raised, naming the sites unless it was raised everywhere.

        ``"all five partnerships"``, ``"four of the five partnerships (all but Ostleby Vale)"``,
        ``"two of the five partnerships: Sallowdene and Brackenmouth"``.
        """
        k, n = int(r.sites_with_code), self.sites_total
        named = [s for s in str(r.sites_raising).split("; ") if s]
        if k == 0 or k >= n or n < 2:
            return self.prevalence(r)
        if k == n - 1 and n >= 4:
            missing = [self.site_labels.get(s, s) for s in self.site_order[:n]
                       if self.site_labels.get(s, s) not in named]
            where = f"{number_word(k)} of the {number_word(n)} {self.nouns} (all but {sentence_list(missing)})"
        else:
            where = f"{number_word(k)} of the {number_word(n)} {self.nouns}: {sentence_list(named)}"
        return where + (", and the programme's own organisations" if self._raised_by_programme_orgs(r) else "")

    def prevalence(self, r) -> str:
        """The prevalence phrase of a theme or code row ("all five partnerships", "two of the
        five partnerships"), or who raised it when no site did. The sources column beside it
        counts the programme's own organisations too, so the phrase names them when they raised it."""
        sites_with = r.sites_with_code if hasattr(r, "sites_with_code") else r.sites_with_theme
        if int(sites_with) == 0 and int(r.sources):
            return "only the programme's own organisations"
        return r.prevalence + (" and the programme's own organisations" if self._raised_by_programme_orgs(r) else "")

    def _raised_by_programme_orgs(self, r) -> bool:
        """Whether any source of the programme's own organisations raised this theme or code row."""
        level = "code" if hasattr(r, "code_id") else "theme"
        matrix = self.tables[f"matrix_{level}_site"]
        rows = matrix[(matrix[f"{level}_id"] == getattr(r, f"{level}_id"))
                      & matrix["site"].isin(self.site_order[self.sites_total:])]
        return bool((pd.to_numeric(rows["sources"]) > 0).any())

    def code_rows(self, theme_id: str | None = None) -> pd.DataFrame:
        """Programme-wide code triangulation rows (of one theme), most sources first."""
        codes = self.code_tri[self.code_tri["scope"] == "programme"]
        if theme_id is not None:
            codes = codes[codes["theme_id"] == theme_id]
        return codes.sort_values(["sources", "segments", "code_label"], ascending=[False, False, True],
                                 kind="stable")

    def code_table(self, theme_id: str) -> str:
        """The codes of one theme: where raised, sources, evidence strength, the sector reading."""
        rows = []
        for r in self.code_rows(theme_id).itertuples():
            reading = "" if int(r.sources) == 0 else (
                f"{r.sector_verdict} ({int(r.group_a_sources)} of {int(r.group_a_total)} against "
                f"{int(r.group_b_sources)} of {int(r.group_b_total)})")
            rows.append([r.code_label, self.code_where(r), int(r.sources), r.evidence_strength, reading])
        if not rows:
            return ""
        first = self.code_tri.iloc[0]
        return md_table(rows, ["Code", "Where it was raised", "Sources", "Evidence",
                               f"Sectors ({first['group_a']} against {first['group_b']})"],
                        ["l", "l", "r", "l", "l"])

    def themes_everywhere_sentence(self) -> str:
        """How many themes every site raised: why the comparison moves to codes.

        Examples of the wording: "All five themes with any evidence were raised in
        every partnership.", "None of the four ...", "The one theme with any
        evidence was not raised in every partnership.", "No theme has any evidence yet."
        """
        raised = self.programme[self.programme["sources"] > 0]
        everywhere = int((raised["sites_with_theme"] >= self.sites_total).sum()) if self.sites_total else 0
        n = len(raised)
        if n == 0:
            return "No theme has any evidence yet."
        if n == 1:
            text = (f"The one theme with any evidence was {'' if everywhere else 'not '}raised in every "
                    f"{self.noun}.")
        elif everywhere == n:
            text = (f"{'Both' if n == 2 else 'All ' + number_word(n)} themes with any evidence were raised in "
                    f"every {self.noun}.")
        elif everywhere == 0:
            text = (f"{'Neither' if n == 2 else 'None'} of the {number_word(n)} themes with any evidence was "
                    f"raised in every {self.noun}.")
        else:
            text = (f"{upper_first(number_word(everywhere))} of the {number_word(n)} themes with any evidence "
                    f"{'was' if everywhere == 1 else 'were'} raised in every {self.noun}.")
        return md_inline(f"{text} Differences between {self.nouns} show more clearly in the codes within "
                         "the themes.")

    def site_code_contrasts(self) -> dict:
        """Codes concentrated in one or two sites, codes raised unevenly, and codes raised evenly everywhere.

        A code is concentrated when it was raised in only one or two sites, or
        when one or two sites raise it notably more often than the others
        (``site_differences_codes``: Fisher's exact test on the share of
        sources). A code raised in every site is uneven when any site raises it
        notably more or less often than the others, and even otherwise.
        """
        diff = self.tables["site_differences_codes"]
        diff = diff[diff["comparison"].isin(["more prevalent", "less prevalent"])
                    & diff["site"].isin(self.site_order[:self.sites_total])]

        def shares(rows: pd.DataFrame) -> str:
            return sentence_list([
                f"{d.site_label} ({int(d.site_sources)} of its {int(d.site_total)} sources, "
                f"{_percent_text(d.site_percent)}, against {_percent_text(d.other_percent)} "
                f"in the other {self.nouns})" for d in rows.itertuples()])

        concentrated, uneven, everywhere = [], [], []
        for r in self.code_rows().itertuples():
            if int(r.sources) == 0:
                continue
            k = int(r.sites_with_code)
            contrasts = diff[diff["code_id"] == r.code_id].sort_values("difference_points", ascending=False)
            more = contrasts[contrasts["comparison"] == "more prevalent"]
            less = contrasts[contrasts["comparison"] == "less prevalent"]
            label = f"{r.code_label} ({r.theme_label})"
            if self.sites_total >= 3 and 1 <= k <= 2:
                concentrated.append(md_inline(f"{label}: raised in {self.code_where(r)} "
                                              f"({count_phrase(int(r.sources), 'source')})."))
            elif 1 <= len(more) <= 2:
                concentrated.append(md_inline(f"{label}: raised in {self.code_where(r)}, but notably more "
                                              f"often in {shares(more)}."))
            elif self.sites_total >= 2 and k >= self.sites_total:
                if contrasts.empty:
                    everywhere.append(md_inline(f"{r.code_label} ({int(r.sources)})"))
                    continue
                parts = [f"more often in {shares(more)}"] if len(more) else []
                parts += [f"less often in {shares(less)}"] if len(less) else []
                uneven.append(md_inline(f"{label}: raised notably {'; and notably '.join(parts)}."))
        return {"concentrated": concentrated, "uneven": uneven, "everywhere": everywhere}

    def sector_code_lines(self) -> list[str]:
        """Codes that one sector group raised significantly more often than the other."""
        lines = []
        for r in self.code_rows().itertuples():
            if isinstance(r.sector_verdict, str) and r.sector_verdict.startswith("raised mainly by"):
                lines.append(md_inline(
                    f"{r.code_label} ({r.theme_label}): {r.sector_verdict}, "
                    f"{_percent_text(r.group_a_percent)} of {r.group_a} ({int(r.group_a_sources)} of "
                    f"{int(r.group_a_total)}) against {_percent_text(r.group_b_percent)} of {r.group_b} "
                    f"({int(r.group_b_sources)} of {int(r.group_b_total)}), {_p_text(r.fisher_p)}."))
        return lines

    @property
    def alpha(self) -> float:
        """``triangulate.divergence_alpha``: the significance level of every difference reported."""
        return float(self.config.get("triangulate", {}).get("divergence_alpha", 0.05))

    def sector_code_caveat(self) -> str:
        """How many of the code-level sector differences chance alone can give, as for the sites."""
        compared = int(self.code_rows()["fisher_p"].notna().sum())
        return md_inline(f"With {count_phrase(compared, 'code')} compared, {chance_phrase(compared, self.alpha)}, "
                         "so read them as leads to check in the quotes and transcripts.")

    def site_codes_line(self, theme_id: str, site: str) -> str:
        """The codes of one theme raised at one site, with their sources there."""
        items = self._site_codes.get((theme_id, site))
        return md_inline(f"Codes raised here: {'; '.join(items)}.") if items else ""

    @functools.cached_property
    def _site_codes(self) -> dict[tuple, list[str]]:
        """(theme_id, site) → its codes raised there, most sources first."""
        rows = self.code_tri[(self.code_tri["scope"] == "site") & (self.code_tri["sources"] > 0)]
        rows = rows.sort_values(["sources", "segments", "code_label"], ascending=[False, False, True], kind="stable")
        out: dict[tuple, list[str]] = {}
        for r in rows.itertuples():
            out.setdefault((r.theme_id, r.site), []).append(
                f"{r.code_label} ({count_phrase(int(r.sources), 'source')}, {r.evidence_strength})")
        return out

    # ---- sites

    def site_differences(self, site: str) -> dict:
        diff = self.tables["site_differences"]
        diff = diff[diff["site"] == site]
        more = [md_inline(f"{r.theme_label}: {int(r.site_sources)} of {int(r.site_total)} sources here "
                          f"({_percent_text(r.site_percent)}) against {_percent_text(r.other_percent)} elsewhere")
                for r in diff[diff["comparison"] == "more prevalent"].sort_values(
                    "difference_points", ascending=False).itertuples()]
        less = [md_inline(f"{r.theme_label}: {int(r.site_sources)} of {int(r.site_total)} sources here "
                          f"({_percent_text(r.site_percent)}) against {_percent_text(r.other_percent)} elsewhere")
                for r in diff[diff["comparison"] == "less prevalent"].sort_values("difference_points").itertuples()]
        codes = self.tables["site_differences_codes"]
        codes = codes[codes["site"] == site]
        # A programme organisation is compared with the sites, of which it is not one.
        others = self.nouns if site in self.site_order[self.sites_total:] else f"other {self.nouns}"

        def code_line(r) -> str:
            return md_inline(f"{r.code_label} ({r.theme_label}): {int(r.site_sources)} of {int(r.site_total)} "
                             f"sources here ({_percent_text(r.site_percent)}) against "
                             f"{_percent_text(r.other_percent)} of the {others}' sources "
                             f"({int(r.other_sources)} of {int(r.other_total)}; {_p_text(r.fisher_p)})")

        codes_more = [code_line(r) for r in codes[codes["comparison"] == "more prevalent"].sort_values(
            ["difference_points", "code_label"], ascending=[False, True]).itertuples()]
        codes_less = [code_line(r) for r in codes[codes["comparison"] == "less prevalent"].sort_values(
            ["difference_points", "code_label"]).itertuples()]
        compared = int(codes["code_id"].nunique())
        return {"more": more, "less": less, "codes_more": codes_more, "codes_less": codes_less,
                "codes_compared": count_phrase(compared, "code"), "chance": chance_phrase(compared, self.alpha)}

    # ---- waves

    @functools.cached_property
    def waves(self) -> list[str]:
        """The waves of fieldwork read, in the order they are compared (one or none: no comparison)."""
        pairs = self.tables["wave_differences"][["from_wave", "to_wave"]].astype(str).drop_duplicates()
        if len(pairs):
            return [pairs["from_wave"].iloc[0], *pairs["to_wave"]]
        return sorted({str(w) for w in self.tables["matrix_theme_wave"]["wave"]}, key=natural_key)

    def _latest_pair(self, table: str, site: str | None) -> pd.DataFrame:
        """Rows of a wave-differences table for the latest wave against the one before, in one scope."""
        frame = self.tables[table]
        frame = frame[(frame["scope"] == "programme") if site is None else (frame["site"] == site)]
        return frame[frame["to_wave"].astype(str) == self.waves[-1]]

    def wave_intro(self) -> str:
        """What each wave's fieldwork was, and why the waves' shares may not compare like for like."""
        if self.methods.empty:
            return ""
        methods = self.methods.assign(wave=self.methods["wave"].astype(str),
                                      count=pd.to_numeric(self.methods["count"], errors="coerce").fillna(0))
        # documents by method (rows) and wave (columns), every wave compared included
        counts = methods.pivot_table(index="method", columns="wave", values="count", aggfunc="sum",
                                     fill_value=0).reindex(columns=self.waves, fill_value=0)
        digits = any(number_word(int(n)).isdigit() for n in counts.to_numpy().ravel())
        parts = [f"{wave_label(w, capital=not i)} brought {documents_phrase(methods[methods['wave'] == w], digits)}"
                 for i, w in enumerate(self.waves)]
        text = f"{'; '.join(parts)}."
        order = self.tables["wave_differences"]["wave_order"].iloc[0]
        named = sentence_list([wave_label(w) for w in self.waves], "then")
        if order == "dates":
            text += f" The waves are named, so they are compared in the order of their first fieldwork: {named}."
        elif order == "names":
            text += (f" The waves are named and not all of their fieldwork is dated, so they are compared in "
                     f"alphabetical order: {named}. If that is not the order they came in, number them "
                     "(wave: 1, wave: 2).")
        sites_by_wave = methods.groupby("wave")["site"].agg(set)
        latest = sites_by_wave.get(self.waves[-1], set())
        missing = [self.site_labels.get(s, s) for s in self.site_order[:self.sites_total]
                   if s in set().union(*sites_by_wave) and s not in latest]
        if missing:
            text += (f" {wave_label(self.waves[-1])} has no fieldwork yet from {sentence_list(missing)}, so its "
                     f"shares describe the other {self.nouns} only.")
        totals = counts.sum()
        shares = counts / totals.where(totals > 0, 1)   # each wave's share of its documents by method
        if len(shares) and float((shares.max(axis=1) - shares.min(axis=1)).max()) >= 0.15:
            text += (" The waves drew on the methods in different proportions, so a change between them can "
                     "reflect who was asked and how, as well as a change in what people said.")
        return md_inline(text)

    WAVE_READINGS = {"more prevalent": "raised more often in {to}", "less prevalent": "raised less often in {to}",
                     "similar": "no clear change", "new": "first raised in {to}",
                     "no longer raised": "not raised in {to}"}

    def wave_reading(self, comparison: str, to_wave: str) -> str:
        return self.WAVE_READINGS.get(comparison, comparison).format(to=wave_label(to_wave, capital=False))

    def wave_table(self) -> str:
        """Each theme's share of every wave's sources, and the reading of the latest change."""
        diff = self.tables["wave_differences"]
        diff = diff[diff["scope"] == "programme"]
        latest = self._latest_pair("wave_differences", None).set_index("theme_id")
        shares = {}
        for r in diff.itertuples():
            shares.setdefault(r.theme_id, {})[str(r.from_wave)] = (r.from_sources, r.from_total, r.from_percent)
            shares[r.theme_id][str(r.to_wave)] = (r.to_sources, r.to_total, r.to_percent)
        rows = []
        for r in self.ranked_themes().itertuples():
            if int(r.sources) == 0 or r.theme_id not in latest.index:
                continue
            last = latest.loc[r.theme_id]
            cells = [f"{int(k)} of {int(n)} ({_percent_text(p)})" if n else "–"
                     for k, n, p in (shares[r.theme_id].get(w, (0, 0, None)) for w in self.waves)]
            change = "" if pd.isna(last["change_points"]) else f"{last['change_points']:+.0f}"
            rows.append([r.theme_label, *cells, change, _p_value(last["fisher_p"]),
                         self.wave_reading(last["comparison"], last["to_wave"])])
        if not rows:
            return ""
        before, after = wave_label(self.waves[-2], capital=False), wave_label(self.waves[-1], capital=False)
        headers = ["Theme", *[f"{wave_label(w)} sources raising it" for w in self.waves],
                   f"Change, {before} to {after} (points)", "Fisher's exact p", "Reading"]
        return md_table(rows, headers, ["l"] + ["r"] * (len(self.waves) + 2) + ["l"])

    def wave_code_lines(self, site: str | None = None) -> dict:
        """Codes raised notably more or less often in the latest wave, codes new in it, and codes it lost.

        "New" and "no longer raised" need ``triangulate.site_difference_min_sources``
        sources in the wave that has them, so that one person's remark is not a trend.
        """
        minimum = int(self.config.get("triangulate", {}).get("site_difference_min_sources", 2))
        rows = self._latest_pair("wave_differences_codes", site).sort_values(
            ["change_points", "code_label"], ascending=[False, True], kind="stable")

        def line(r, counts: str) -> str:
            return md_inline(f"{r.code_label} ({r.theme_label}): {counts}")

        def of(k, n, wave) -> str:   # "3 of 12 wave 1 sources", "1 of 1 wave 2 source"
            return f"{int(k)} of {int(n)} {wave_label(wave, capital=False)} source{'' if int(n) == 1 else 's'}"

        def shares(r) -> str:
            return (f"{of(r.from_sources, r.from_total, r.from_wave)} ({_percent_text(r.from_percent)}) against "
                    f"{int(r.to_sources)} of {int(r.to_total)} ({_percent_text(r.to_percent)}), {_p_text(r.fisher_p)}")

        out = {"more": [line(r, shares(r)) for r in rows.itertuples() if r.comparison == "more prevalent"],
               "less": [line(r, shares(r)) for r in rows[::-1].itertuples() if r.comparison == "less prevalent"],
               "new": [line(r, of(r.to_sources, r.to_total, r.to_wave)) for r in rows.itertuples()
                       if r.comparison == "new" and int(r.to_sources) >= minimum],
               "gone": [line(r, of(r.from_sources, r.from_total, r.from_wave)) for r in rows[::-1].itertuples()
                        if r.comparison == "no longer raised" and int(r.from_sources) >= minimum]}
        compared = int((rows["fisher_p"].notna() & (rows["comparison"] != "not raised")).sum())
        out["chance"] = md_inline(f"With {count_phrase(compared, 'code')} compared, "
                                  f"{chance_phrase(compared, self.alpha)}.")
        if len(rows):
            before, after = int(rows["from_total"].iloc[0]), int(rows["to_total"].iloc[0])
            out["totals"] = (f"{before} {wave_label(self.waves[-2], capital=False)} "
                             f"source{'' if before == 1 else 's'}", after)
        return out

    def site_wave_note(self, site: str) -> str:
        """Why a site's page has no comparison between waves, or ``""`` when it has one."""
        rows = self._latest_pair("wave_differences", site)
        if rows.empty:
            return ""
        first = rows.iloc[0]
        before, after = wave_label(first["from_wave"], capital=False), wave_label(first["to_wave"], capital=False)
        if not int(first["to_total"]):
            return f"No {after} fieldwork has been read yet from here."
        if not int(first["from_total"]):
            return f"There is no {before} fieldwork from here to compare {after} with."
        return ""


def documents_phrase(methods: pd.DataFrame, digits: bool | None = None) -> str:
    """``"23 interviews, 44 survey responses and 2 workshops"`` from ``method, count`` rows.

    One style in one list: all in words, or all in digits when any is too large for words
    (``digits`` decides it for several lists in one sentence).
    """
    by_method = pd.to_numeric(methods["count"], errors="coerce").fillna(0).groupby(methods["method"]).sum()
    found = [(int(by_method[m]), *METHOD_NOUNS[m]) for m in METHOD_NOUNS if by_method.get(m, 0) > 0]
    if digits is None:
        digits = any(number_word(n).isdigit() for n, _, _ in found)
    return sentence_list([f"{n} {one if n == 1 else many}" if digits else count_phrase(n, one, many)
                          for n, one, many in found])


def chance_phrase(tests: int, alpha: float) -> str:
    """How many of ``tests`` comparisons at significance level ``alpha`` stand out by chance alone.

    About ``tests × alpha`` on average when nothing really differs (fewer with
    Fisher's exact test, which is conservative). It is an average, not a
    ceiling, so the page says "about" and not "up to"; and it follows the
    codebook's size and ``triangulate.divergence_alpha`` instead of always
    promising "one or two".

    Examples
    --------
    >>> chance_phrase(24, 0.05), chance_phrase(24, 0.2), chance_phrase(10, 0.05)
    ('about one such difference can be expected by chance alone', 'about five such differences can be expected by chance alone', 'one such difference can still arise by chance')
    """
    if tests * alpha < 1:   # 10 codes at 0.05: half a difference on average, not "about one"
        return "one such difference can still arise by chance"
    expected = int(tests * alpha + 0.5)
    return (f"about {number_word(expected)} such difference{'' if expected == 1 else 's'} "
            "can be expected by chance alone")


def _p_value(value) -> str:
    """``"0.037"``, or ``"< 0.001"`` for smaller values; ``""`` when there is none."""
    if value is None or pd.isna(value):
        return ""
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _p_text(value) -> str:
    """``"p = 0.037"``, or ``"p < 0.001"`` for smaller values."""
    shown = _p_value(value)
    if not shown:
        return "p not computed"
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def _percent_text(value) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value:.0f}%"


def method_note(config: dict) -> dict:
    """The rules behind the wording, stated at the end of every summary."""
    tri = config.get("triangulate", {})
    from pipeline.triangulate import DEFAULT_EVIDENCE_RULE, _merged

    rule = _merged(DEFAULT_EVIDENCE_RULE, tri.get("evidence", {}))
    return {
        "strong": rule["strong"], "moderate": rule["moderate"],
        "include_suggested": bool(tri.get("include_suggested", True)),
        "alpha": tri.get("divergence_alpha", 0.05),
        "site_points": tri.get("site_difference_points", 25),
    }


# --------------------------------------------------------------------------- render


def wave_context(data: ReportData, site: str | None = None) -> dict | None:
    """The "Changes between waves" section of the summary or a site's page (None with one wave)."""
    if len(data.waves) < 2:
        return None
    out = {"before": wave_label(data.waves[-2], capital=False), "after": wave_label(data.waves[-1], capital=False),
           "min_sources": int(data.config.get("triangulate", {}).get("site_difference_min_sources", 2))}
    if site is None:
        return {**out, "intro": data.wave_intro(), "table": data.wave_table(), "codes": data.wave_code_lines()}
    note = data.site_wave_note(site)
    return {**out, "note": note, "codes": {} if note else data.wave_code_lines(site)}


def render_summary(data: ReportData) -> str:
    """The programme summary, as Markdown (not yet pseudonymised)."""
    template = _environment().get_template("summary.md.j2")
    themes = []
    for r in data.ranked_themes().itertuples():
        if int(r.sources) == 0:
            continue
        paragraph = " ".join(p for p in (data.theme_paragraph(r), data.divergence_sentence(r)) if p)
        themes.append({"label": md_inline(r.theme_label), "paragraph": paragraph,
                       "codes": data.code_table(r.theme_id), "quotes": data.quotes_for(r.theme_id)})
    not_raised = [md_inline(r.theme_label) for r in data.ranked_themes().itertuples() if int(r.sources) == 0]
    sites = [{"label": md_inline(data.site_labels.get(s, s)), "file": f"sites/{site_file_name(s)}.md"}
             for s in data.site_order]
    sites, programme_orgs = sites[:data.sites_total], sites[data.sites_total:]
    text = template.render(
        project=md_inline(data.config.get("project", {}).get("name", "Programme evaluation")),
        noun=data.noun, nouns=data.nouns, sites_total=data.sites_total,
        fieldwork_sentence=md_inline(data.fieldwork_sentence()),
        methods_table=data.methods_table(), theme_table=data.theme_table(), themes=themes,
        not_raised=not_raised, divergence_table=data.divergence_table(),
        contrasts=data.site_code_contrasts(), sector_codes=data.sector_code_lines(),
        sector_code_caveat=data.sector_code_caveat(),
        themes_everywhere=data.themes_everywhere_sentence(),
        saturation=data.saturation_sentence("overall"), site_saturation=data.site_saturation_sentence(),
        cooccurrence_table=data.cooccurrence_table(), waves=wave_context(data),
        figures=data.figures, sites=sites, programme_orgs=programme_orgs, note=method_note(data.config),
        unreviewed=data.unreviewed,
    )
    return tidy_markdown(text)


def render_site(data: ReportData, site: str) -> str:
    """One site's summary, as Markdown (not yet pseudonymised)."""
    template = _environment().get_template("site.md.j2")
    is_programme_org = site in data.site_order[data.sites_total:]
    themes = []
    for r in data.ranked_themes(site).itertuples():
        if int(r.sources) == 0:
            continue
        programme = data.programme[data.programme["theme_id"] == r.theme_id].iloc[0]
        themes.append({"label": md_inline(r.theme_label), "paragraph": data.theme_paragraph(r, site),
                       "codes": data.site_codes_line(r.theme_id, site),
                       # With one site, the programme's prevalence is this page's own.
                       "elsewhere": (md_inline(f"Across the programme it was raised in {data.prevalence(programme)}.")
                                     if is_programme_org or data.sites_total > 1 else ""),
                       "quotes": data.quotes_for(r.theme_id, site)})
    not_raised = [md_inline(r.theme_label) for r in data.ranked_themes(site).itertuples() if int(r.sources) == 0]
    text = template.render(
        project=md_inline(data.config.get("project", {}).get("name", "Programme evaluation")),
        site=md_inline(data.site_labels.get(site, site)), noun=data.noun, nouns=data.nouns,
        is_programme_org=is_programme_org, sites_total=data.sites_total, sources=data.site_sources(site),
        # a programme organisation is compared with the sites, not with "the other" ones
        others=f"the {data.nouns}" if is_programme_org else f"the other {data.nouns}",
        methods_table=data.methods_table(site), theme_table=data.theme_table(site), themes=themes,
        not_raised=not_raised, differences=data.site_differences(site), waves=wave_context(data, site),
        saturation=data.saturation_sentence(site),
        figures={k: "../" + v for k, v in data.figures.items()}, note=method_note(data.config),
    )
    return tidy_markdown(text)


def site_file_name(site: str) -> str:
    """``reports/sites/<site>.md``: the site key, made safe as a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(site)).strip("._") or "site"


def write_markdown(data: ReportData, root: Path, pseudonymise) -> list[Path]:
    """Render and write the summary and every site's page; return the paths written.

    Site pages from an earlier run for sites no longer in the data are removed,
    so that ``reports/sites/`` always matches the evidence.
    """
    from pipeline import paths

    root = Path(root)
    written = [root / paths.SUMMARY_MD]
    write_text(written[0], pseudonymise(render_summary(data)))
    sites_dir = root / paths.SITES_DIR
    sites_dir.mkdir(parents=True, exist_ok=True)
    wanted = {site_file_name(s) for s in data.site_order}
    for stale in sites_dir.glob("*.md"):
        if stale.name not in wanted and stale.stem not in wanted:
            stale.unlink()
    for site in data.site_order:
        target = sites_dir / f"{site_file_name(site)}.md"
        write_text(target, pseudonymise(render_site(data, site)))
        written.append(target)
    return written
