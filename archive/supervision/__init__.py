"""Supervision (电子监察) and applicants' ratings (好差评): the figures heads of units watch.

- ``scope``: which units a caller may see (the one place to wire to accounts);
- ``workdays``: exact working days in SQL (a working-day ordinal table per query);
- ``figures``: received, accepted, on-the-spot, on-time, early, overdue … per centre,
  unit, item and clerk for any period, computed in the store with GROUP BY;
- ``alerts``: blue/yellow/red warnings as of a day, and red cards that stay on record;
- ``ratings``: one rating per case, never edited; rectification of bad ratings; export;
- ``report``: the window report and its JSON, workbook (.xlsx) and printable (.pdf) forms;
- ``sample``: a month of cases with every kind of finding, for the demo.
"""
