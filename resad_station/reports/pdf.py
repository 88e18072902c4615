"""The shift report as a PDF (reportlab): counts, trend, histogram, worst defects, alarms, labels, changes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from resad_station.reports.charts import fail_rate_trend, score_histogram
from resad_station.reports.data import ShiftData, describe_change

MAX_HISTOGRAMS = 4  # products with a histogram of their own
MAX_LISTED = 200  # rows of a long list (labels, changes); the count is always complete
THUMB = 28 * mm

_STYLES = getSampleStyleSheet()
_GRID = TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                    ("FONTSIZE", (0, 0), (-1, -1), 8), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])


def _t(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "-"


def _p(text: str, style: str = "BodyText") -> Paragraph:
    return Paragraph(escape(text), _STYLES[style])


def _table(rows: list[list], widths: list[float] | None = None) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(_GRID)
    return table


def _thumb(db, rel: str | None):
    path = db.images.path(rel) if rel else None
    if path is None or not path.is_file():
        return "file missing"
    return Image(str(path), width=THUMB, height=THUMB, kind="proportional")


def write_pdf(db, data: ShiftData, out: str | Path) -> Path:
    out = Path(out)
    story: list = []
    scope = ", ".join(x for x in (f"product {data.product}" if data.product else "all products",
                                  f"camera {data.camera}" if data.camera else "all cameras"))
    story += [_p("Shift report", "Title"), _p(f"{_t(data.since)} to {_t(data.until)}; {scope}"), Spacer(1, 4 * mm)]

    story.append(_p("Verdicts", "Heading2"))
    rows = [["verdict", "recorded inspections", "rate"]]
    rows += [[v, str(data.counts.get(v, 0)), f"{data.rate(v):.1%}"] for v in ("pass", "uncertain", "fail")]
    rows.append(["total", str(data.total), "100.0%" if data.total else "-"])
    story += [_table(rows, [40 * mm, 45 * mm, 30 * mm]),
              _p("Passes are recorded at the profile's recording.pass_sampling (a share of them), so pass counts "
                 "and rates are of recorded rows; every uncertain and failed frame is recorded."),
              Spacer(1, 2 * mm), fail_rate_trend(data.trend)]

    story.append(_p("Scores against the calibration", "Heading2"))
    for product, scores in sorted(data.scores.items())[:MAX_HISTOGRAMS]:
        cal = data.calibrations.get(product, {})
        story += [score_histogram(scores, cal, product),
                  _p(f"{product}: {len(scores)} scores, median {sorted(scores)[len(scores) // 2]:.4g}; enrollment "
                     f"good mean {cal.get('mean', float('nan')):.4g}, max {cal.get('max', float('nan')):.4g}, "
                     f"T1 {cal.get('t_uncertain', float('nan')):.4g}, T2 {cal.get('t_fail', float('nan')):.4g}")]
    if not data.scores:
        story.append(_p("No inspections in this period."))

    story.append(_p(f"Worst defects (the {len(data.worst)} highest scores)", "Heading2"))
    if data.worst:
        rows = [["image", "heatmap", "defect"]]
        for d in data.worst:
            text = (f"#{d.id} {_t(d.time)}<br/>{escape(data.products.get(d.product_id, '?'))}, camera {escape(d.camera)}"
                    f"<br/>{d.verdict}, score {d.score:.4g}<br/>label: {d.label}")
            rows.append([_thumb(db, d.image_path), _thumb(db, d.heatmap_path), Paragraph(text, _STYLES["BodyText"])])
        story.append(_table(rows, [THUMB + 4, THUMB + 4, 90 * mm]))
    else:
        story.append(_p("No defects in this period."))

    story.append(_p(f"Alarms ({len(data.alarms)})", "Heading2"))
    if data.alarms:
        rows = [["raised", "camera", "product", "acknowledged", "after", "by", "cleared"]]
        for a in data.alarms:
            after = f"{a.seconds_to_acknowledge:.0f} s" if a.seconds_to_acknowledge is not None else "not acknowledged"
            rows.append([_t(a.raised), a.camera, a.product, _t(a.acknowledged), after, a.by, _t(a.cleared)])
        story.append(_table(rows))
    if data.drift:
        story.append(_p(f"Drift warnings ({sum(e.action == 'drift_raised' for e in data.drift)} raised)", "Heading3"))
        story.append(_table([["time", "event", "message"]] + [
            [_t(e.time), e.action, Paragraph(escape(str((e.details or {}).get("message", ""))), _STYLES["BodyText"])]
            for e in data.drift[:MAX_LISTED]], [38 * mm, 25 * mm, 110 * mm]))

    story.append(_p("Reviewer labels", "Heading2"))
    confirmed, false_alarms = data.labels.get("defect", 0), data.labels.get("false_alarm", 0)
    rate = data.false_alarm_rate
    story.append(_p(f"Confirmed defects: {confirmed}. False alarms: {false_alarms}. Not reviewed: "
                    f"{data.labels.get('none', 0)}. False-alarm rate of reviewed defects: "
                    f"{'-' if rate is None else f'{rate:.1%}'}."))
    if data.labelled:
        story.append(_table([["defect", "time", "verdict", "score", "label", "reviewer"]] + [
            [f"#{d.id}", _t(d.time), d.verdict, f"{d.score:.4g}", d.label, d.reviewer or ""]
            for d in data.labelled[:MAX_LISTED]]))

    story.append(_p(f"Configuration changes ({len(data.changes)})", "Heading2"))
    if data.changes:
        story.append(_table([["time", "change"]] + [
            [_t(e.time), Paragraph(escape(describe_change(e)), _STYLES["BodyText"])] for e in data.changes[:MAX_LISTED]],
            [38 * mm, 135 * mm]))
    else:
        story.append(_p("No configuration changes in this period."))

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    SimpleDocTemplate(str(tmp), pagesize=A4, title="Shift report", leftMargin=15 * mm, rightMargin=15 * mm,
                      topMargin=15 * mm, bottomMargin=15 * mm).build(story)
    tmp.replace(out)  # never a half-written report under the asked name
    return out
