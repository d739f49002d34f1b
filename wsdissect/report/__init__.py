"""``wsdissect report``: the event stream summarised for charts (``aggregate.ReportAggregator`` ->
``data.ReportData``) and rendered as one self-contained HTML page (``html.render_report``).  See docs/report.md."""
