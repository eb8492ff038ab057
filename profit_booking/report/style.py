"""The report page's style sheet (inlined: the page needs no other file and no network)."""

CSS = """
:root { --ink: #1c2833; --muted: #5d6d7e; --line: #d5dbdb; --panel: #ffffff; --back: #f4f6f7;
        --gain: #1e8449; --loss: #c0392b; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--back); color: var(--ink);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { background: #1b2631; color: #fdfefe; padding: 22px 32px 18px; }
header h1 { margin: 0 0 6px; font-size: 24px; font-weight: 600; }
header .meta { color: #aeb6bf; font-size: 13px; display: flex; flex-wrap: wrap; gap: 4px 22px; }
header .meta b { color: #e5e8e8; font-weight: 500; word-break: break-all; }
main { max-width: 1500px; margin: 0 auto; padding: 20px 32px 40px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 14px; margin-bottom: 20px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }
.card .value { font-size: 26px; font-weight: 600; margin: 2px 0; font-variant-numeric: tabular-nums; }
.card .detail { color: var(--muted); font-size: 13px; }
.gain { color: var(--gain); } .loss { color: var(--loss); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px;
         margin-bottom: 18px; min-width: 0; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
.pair > .panel { margin-bottom: 18px; }
@media (max-width: 1100px) { .pair { grid-template-columns: 1fr; } }
.panel h2 { font-size: 17px; font-weight: 600; margin: 8px 8px 12px; }
.note { color: var(--muted); padding: 18px 12px; margin: 0; }
.empty { text-align: center; padding: 60px 20px; font-size: 17px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 12px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { color: var(--muted); font-weight: 600; font-size: 13px; background: #fbfcfc; }
th:first-child, td:first-child { text-align: left; word-break: break-all; white-space: normal; }
tfoot td { font-weight: 600; border-top: 2px solid var(--line); border-bottom: none; }
tbody tr:hover { background: #f8f9f9; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 0 0 24px; }
"""
