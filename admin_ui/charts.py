"""Chart layout shared by the pages: the legend under the chart, clear of the toolbar and of labels."""

from __future__ import annotations

from typing import Any

# Imported here, by an import statement, before any chart is drawn: plotly looks pandas up in
# sys.modules when it builds a figure, and while another session's thread is still importing it,
# it found a partially initialized module there ("partially initialized module 'pandas'", seen
# once on the coverage page). An import statement waits for the other thread's import to finish.
import pandas  # noqa: F401

# Plotly's toolbar shows over the chart's top right corner, where a legend goes by default: the legend
# sits along the bottom edge of the whole figure instead (its "container"), below the axis labels,
# which push the plot up as far as they need.
LEGEND = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "xanchor": "left", "x": 0}
MARGIN = {"l": 40, "r": 10, "t": 36, "b": 40}  # the top leaves room for the toolbar


def laid_out(figure: Any, height: int, **layout: Any) -> Any:
    """`figure` with the shared legend and margins (the chart's own `layout` keys on top)."""
    figure.update_layout(height=height, legend=LEGEND, margin=MARGIN, **layout)
    return figure
